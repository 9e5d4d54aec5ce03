"""Files a repository is expected to have, and its public address kept in one place with every copy agreeing."""

from __future__ import annotations

import re
import shutil
import subprocess
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


def test_the_notebook_installs_from_the_repository_and_links_to_its_pages():
    url, owner, name = repository()
    notebook = nbformat.read(ROOT / "notebooks" / "MNIST-NN.ipynb", as_version=4)
    install = next(c.source for c in notebook.cells if c.cell_type == "code")
    assert re.findall(r'"git\+(https://github\.com/[^"]+)"', install) == [url]
    text = "\n".join(c.source for c in notebook.cells)
    pages = PYPROJECT["project"]["urls"]["Documentation"]
    assert pages == f"https://{owner}.github.io/{name}/"
    assert re.findall(rf"https://{owner}\.github\.io/[\w./-]*", text) == [pages + "draw/"]
    assert re.findall(r"https://raw\.githubusercontent\.com/([\w.-]+)/([\w.-]+)/", text) == [(owner, name)]


def test_the_drawing_page_links_to_the_repositorys_notebook():
    url, _, _ = repository()
    page = (ROOT / "docs" / "draw" / "index.html").read_text()
    assert re.findall(r'href="(https://github\.com/[^"]+)"', page) == [f"{url}/blob/main/notebooks/MNIST-NN.ipynb"]


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


def test_the_project_urls_are_the_repositorys():
    url, _, _ = repository()
    urls = PYPROJECT["project"]["urls"]
    assert urls["Homepage"] == url and urls["Issues"] == f"{url}/issues"


def test_the_licence_is_the_mit_licence_pyproject_names():
    assert PYPROJECT["project"]["license"] == "MIT" and PYPROJECT["project"]["license-files"] == ["LICENSE"]
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in licence


def test_make_refuses_an_unsupported_python_in_one_sentence(tmp_path):
    for name in ("Makefile", "requirements-dev.lock", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    old = tmp_path / "python3.10"  # answers like a Python 3.10: its version, and False to the version check
    old.write_text('#!/bin/sh\nif [ "$1" = --version ]; then echo "Python 3.10.13"; else exit 1; fi\n')
    old.chmod(0o755)
    result = subprocess.run(
        ["make", ".venv/.installed", f"PYTHON={old}"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and not (tmp_path / ".venv").exists()
    [sentence] = [line for line in result.stderr.splitlines() if line.startswith("make: ")][:1]
    assert (
        sentence
        == f"make: {old} is Python 3.10.13; mnist-ann needs Python 3.11, 3.12 or 3.13: pass PYTHON=python3.12, say."
    )


def test_every_copy_of_the_sites_address_in_the_readme_and_docs_is_the_documented_one():
    _, owner, _ = repository()
    pages = PYPROJECT["project"]["urls"]["Documentation"]
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for address in re.findall(rf"https://{owner}\.github\.io/[\w./-]*", path.read_text()):
            assert address.startswith(pages), f"{path.name} links to {address}, not under {pages}"
    assert f"]({pages}draw/)" in (ROOT / "README.md").read_text()
