"""The project's site, for GitHub Pages: the README as its front page, the notebook rendered with its figures, the
docs pages, the figures and the drawing page, all in one folder (`make site`; the GitHub workflow deploys it).

    python -m tools.site build/site

Links between them are rewritten to the site's own pages (README.md -> index.html, docs/X.md -> docs/X.html, the
notebook -> notebook.html, docs/draw/ -> draw/); a link to any other file of the repository goes to that file on
GitHub, at the address in pyproject.toml's [project.urls], the one place it is kept.
"""

from __future__ import annotations

import argparse
import html
import posixpath
import re
import shutil
import sys
import tomllib
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "notebooks/MNIST-NN.ipynb"
ATTRIBUTE = re.compile(r'(\b(?:href|src)=")([^"]*)(")')
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; max-width: 56rem;
       margin: 0 auto; padding: 1rem; line-height: 1.5; }
nav { display: flex; flex-wrap: wrap; gap: 1rem; padding-bottom: 0.6rem; border-bottom: 1px solid #ddd; }
img { max-width: 100%; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 0.2rem 0.5rem; }
"""


def repository(root: Path = ROOT) -> str:
    """The repository's public address, from pyproject.toml's [project.urls]."""
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def site_path(repo_path: str) -> str | None:
    """Where a file of the repository is on the site, or None when the site does not carry it."""
    if repo_path == "README.md":
        return "index.html"
    if repo_path == NOTEBOOK:
        return "notebook.html"
    if repo_path == "docs/draw" or repo_path.startswith("docs/draw/"):
        rest = repo_path.removeprefix("docs/draw").lstrip("/")
        return "draw/" + (rest or "index.html")
    if repo_path.startswith("docs/") and repo_path.endswith(".md"):
        return repo_path.removesuffix(".md") + ".html"
    if repo_path.startswith("images/"):
        return repo_path
    return None


def rewrite(target: str, page: str, out_page: str, repo_url: str, root: Path = ROOT) -> str:
    """A link `target` written in repository file `page`, as it must read on the site page `out_page`."""
    if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#") or not target:
        return target
    path, _, anchor = target.partition("#")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), path)).rstrip("/")
    on_site = site_path(resolved)
    if on_site is None:
        where = "blob" if (root / resolved).is_file() else "tree"
        return f"{repo_url}/{where}/main/{resolved}" + (f"#{anchor}" if anchor else "")
    relative = posixpath.relpath(on_site, posixpath.dirname(out_page) or ".")
    return relative + (f"#{anchor}" if anchor else "")


def _page(title: str, body: str, out_page: str) -> str:
    up = posixpath.relpath(".", posixpath.dirname(out_page) or ".")
    links = [
        ("index.html", "Home"),
        ("notebook.html", "The notebook"),
        ("draw/index.html", "Draw a digit"),
        ("docs/benchmark.html", "Benchmark"),
    ]
    nav = " ".join(f'<a href="{posixpath.join(up, href)}">{name}</a>' for href, name in links)
    return (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{html.escape(title)}</title>\n'
        f'<link rel="icon" href="data:,">\n<style>{STYLE}</style>\n</head>\n<body>\n<nav>{nav}</nav>\n<main>\n'
        f"{body}\n</main>\n</body>\n</html>\n"
    )


def render_markdown(page: str, out_page: str, repo_url: str, root: Path = ROOT) -> str:
    """The Markdown file `page` of the repository as a site page, its links rewritten."""
    text = (root / page).read_text()
    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    body = ATTRIBUTE.sub(
        lambda m: m.group(1) + rewrite(html.unescape(m.group(2)), page, out_page, repo_url, root) + m.group(3), body
    )
    title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), "mnist-ann")
    return _page(title, body, out_page)


def render_notebook(root: Path = ROOT) -> str:
    """The committed notebook as HTML, outputs and figures included, as nbconvert renders it."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(root / NOTEBOOK, as_version=4)
    body, _ = HTMLExporter(template_name="classic").from_notebook_node(notebook)
    return body


def build(out: str | Path, root: Path = ROOT) -> Path:
    """Write the site into `out` (replaced whole: built in a temporary folder beside it, then renamed)."""
    out = Path(out)
    building = out.with_name(out.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    repo_url = repository(root)
    pages = {"README.md": "index.html"} | {
        f"docs/{path.name}": f"docs/{path.stem}.html" for path in sorted((root / "docs").glob("*.md"))
    }
    for page, out_page in pages.items():
        (building / out_page).parent.mkdir(parents=True, exist_ok=True)
        (building / out_page).write_text(render_markdown(page, out_page, repo_url, root))
    (building / "notebook.html").write_text(render_notebook(root))
    shutil.copytree(root / "images", building / "images")
    shutil.copytree(root / "docs" / "draw", building / "draw")
    (building / ".nojekyll").write_text("")  # serve the files as they are
    shutil.rmtree(out, ignore_errors=True)
    building.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="build/site", help="the folder to write (default: %(default)s)")
    args = parser.parse_args(argv)
    out = build(args.out)
    print(f"wrote the site to {out}: open {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
