"""The site `make site` builds for GitHub Pages: every page and link in it works, and the drawing page on it reads a
drawn digit, in Chromium over HTTP as Pages serves it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import browser
import pytest
from test_draw_page import chromium, serving  # noqa: F401 (the module's Chromium, skipped without it unless CI=true)

from tools import site

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


@pytest.mark.parametrize(
    "target, page, out_page, expected",
    [
        ("docs/benchmark.md", "README.md", "index.html", "docs/benchmark.html"),
        ("docs/draw/index.html", "README.md", "index.html", "draw/index.html"),
        ("notebooks/MNIST-NN.ipynb", "README.md", "index.html", "notebook.html"),
        ("images/curves.png", "README.md", "index.html", "images/curves.png"),
        ("../README.md", "docs/data.md", "docs/data.html", "../index.html"),
        ("../notebooks/MNIST-NN.ipynb", "docs/notebook.md", "docs/notebook.html", "../notebook.html"),
        ("draw.md#what-it-shows", "docs/notebook.md", "docs/notebook.html", "draw.html#what-it-shows"),
        ("../mnist_ann/epochs.py", "docs/layout.md", "docs/layout.html", f"{REPOSITORY}/blob/main/mnist_ann/epochs.py"),
        ("LICENSE", "README.md", "index.html", f"{REPOSITORY}/blob/main/LICENSE"),
        ("https://keras.io", "README.md", "index.html", "https://keras.io"),
    ],
)
def test_links_go_to_the_sites_own_pages_or_to_the_repository_on_github(target, page, out_page, expected):
    assert site.rewrite(target, page, out_page, site.repository()) == expected


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The site, built into a temporary folder and served on 127.0.0.1 as GitHub Pages serves it; its address."""
    with serving(site.build(tmp_path_factory.mktemp("site") / "site")) as address:
        yield address


LINKS = """() => [...document.querySelectorAll('a[href], img[src], script[src], link[href]')]
    .map(e => e.href || e.src)"""


def test_every_internal_link_of_the_site_resolves(chromium, built):  # noqa: F811
    context = chromium.new_context()
    page = context.new_page()
    host = urlparse(built).netloc
    to_visit, seen, broken = [urljoin(built, "index.html")], set(), []
    while to_visit:
        url = to_visit.pop()
        if url in seen:
            continue
        seen.add(url)
        response = context.request.get(url)
        if response.status != 200:
            broken.append(url)
            continue
        if url.endswith(".html") or url.endswith("/"):
            page.goto(url)
            for link in page.evaluate(LINKS):
                parsed = urlparse(link)
                if parsed.netloc == host:
                    to_visit.append(urldefrag(link).url)
    pages = {urlparse(url).path for url in seen if url.endswith(".html")}
    assert {"/index.html", "/notebook.html", "/draw/index.html", "/docs/benchmark.html"} <= pages, pages
    assert len(pages) >= 11 and broken == []


def test_the_drawing_page_on_the_site_reads_a_drawn_digit(chromium, built):  # noqa: F811
    page = chromium.new_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(urljoin(built, "draw/"))
    browser.settle(page)
    browser.draw(page, browser.DIGITS[3], 40, 20, 200)
    assert browser.answer(page) == 3 and errors == []


def test_the_readme_links_to_the_site_and_its_drawing_page_at_the_documented_address():
    documentation = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Documentation"]
    readme = (ROOT / "README.md").read_text()
    assert f"]({documentation})" in readme and f"]({documentation}draw/)" in readme
