"""Files a repository is expected to have, and its public address kept in one place with every copy agreeing."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
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


# --- layering: no import cycle, and nothing happens at import ------------------------------------------------------

PACKAGES = ("mnist_ann", "benchmarks")


def _module_names() -> dict[str, Path]:
    names = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Which of the project's modules each one imports, at the top or inside a function; `from mnist_ann import x`
    counts as importing the module x is loaded from (mnist_ann's lazy names included)."""
    import mnist_ann

    lazy = {name: f"mnist_ann.{module}" for module, names in mnist_ann._WHERE.items() for name in names}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    edges.add(full if full in modules else lazy.get(alias.name, node.module))
        graph[name] = {edge for edge in edges if edge in modules and edge != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each as the path that closes it (depth-first search)."""
    found, done = [], set()

    def visit(node, path):
        if node in path:
            found.append(path[path.index(node) :] + [node])
            return
        if node in done:
            return
        for edge in sorted(graph[node]):
            visit(edge, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def test_no_import_cycle_among_the_projects_modules():
    modules = _module_names()
    graph = import_graph(modules)
    assert "mnist_ann.app.runs" in graph["mnist_ann.app.callbacks"]  # the scan sees imports inside functions too
    assert "mnist_ann.plots" in graph["mnist_ann.app.runs"]  # and `from mnist_ann import plots`
    assert cycles(graph) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]  # the search finds a cycle


STATE = """
import importlib, json, logging, os, sys, warnings
for name in ("numpy", "matplotlib.pyplot", "keras", "tensorflow", "sklearn.metrics", "pooch", "PIL.Image", "scipy"):
    importlib.import_module(name)

def state():
    import matplotlib
    levels = {{name: logger.level for name, logger in logging.root.manager.loggerDict.items()
              if isinstance(logger, logging.Logger)}}
    return {{"env": dict(os.environ), "levels": levels, "root": logging.root.level, "warnings": len(warnings.filters),
            "rc": {{key: repr(value) for key, value in matplotlib.rcParams.items()}}}}

changed = {{}}
for module in {modules!r}:
    before = state()
    importlib.import_module(module)
    after = state()
    levels = {{name: level for name, level in after["levels"].items() if before["levels"].get(name, 0) != level}}
    diff = {{key: after[key] for key in ("env", "root", "warnings", "rc") if after[key] != before[key]}}
    if levels or diff:
        changed[module] = sorted(levels) + sorted(diff)
print(json.dumps(changed))
"""


def _changed_by_import(modules: list[str], extra_path: Path | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), str(extra_path or "")]))}
    result = subprocess.run(
        [sys.executable, "-c", STATE.format(modules=modules)], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_any_module_changes_no_process_wide_state(tmp_path):
    modules = [name for name in _module_names() if not name.endswith("__main__")]
    assert _changed_by_import(modules) == {}
    (tmp_path / "noisy.py").write_text('import logging\nlogging.getLogger("matplotlib.font_manager").setLevel(40)\n')
    assert _changed_by_import(["noisy"], tmp_path) == {"noisy": ["matplotlib.font_manager"]}  # the check sees it
