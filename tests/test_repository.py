"""Files a repository is expected to have, and its public address kept in one place with every copy agreeing."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def repository() -> tuple[str, str, str]:
    """The address in [project.urls], and its owner and name."""
    url = PYPROJECT["project"]["urls"]["Repository"]
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", url)
    assert match, f"[project.urls] Repository {url!r} is not https://github.com/OWNER/NAME"
    return url, match.group(1), match.group(2)


def test_the_notebooks_install_cell_installs_from_the_repository():
    url, _, _ = repository()
    setup = next(
        c.source
        for c in nbformat.read(ROOT / "notebooks" / "MNIST-NN.ipynb", as_version=4).cells
        if c.cell_type == "code"
    )
    assert re.findall(r'MNIST_ANN_SOURCE = "([^"]+)"', setup) == [f"git+{url}"]


def test_the_readme_badges_open_the_notebook_of_the_repository():
    _, owner, name = repository()
    readme = (ROOT / "README.md").read_text()
    colab = re.findall(r"https://colab\.research\.google\.com/github/([\w.-]+)/([\w.-]+)/blob/main/(\S+?)\)", readme)
    binder = re.findall(r"https://mybinder\.org/v2/gh/([\w.-]+)/([\w.-]+)/main\?labpath=(\S+?)\)", readme)
    assert colab == [(owner, name, "notebooks/MNIST-NN.ipynb")]
    assert binder == [(owner, name, "notebooks%2FMNIST-NN.ipynb")]


def test_the_citation_names_the_repository_and_the_licence():
    url, _, _ = repository()
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.findall(r'^repository-code: "([^"]+)"$', citation, flags=re.M) == [url]
    assert re.search(r"^cff-version: 1\.2\.0$", citation, flags=re.M) and "license: MIT" in citation
    assert f"version: {PYPROJECT['project']['version']}" in citation


def test_the_licence_is_the_mit_licence_pyproject_names():
    assert PYPROJECT["project"]["license"] == "MIT"
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in licence
