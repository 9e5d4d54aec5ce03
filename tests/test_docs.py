"""The README is a front page whose numbers are the committed benchmark's, and every link in it and docs/ resolves."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks import bench, publish
from conftest import SHARED_MNIST

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|<img[^>]*\bsrc=\"([^\"]+)\"")


def _committed() -> dict:
    return json.loads((ROOT / "benchmarks" / "results" / "cpu-2core.json").read_text())


def _targets(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold commands, not links
    return [a or b for a, b in LINK.findall(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_resolves(page):
    local = [t for t in _targets(page) if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    assert local or page != README, "the README links to nothing local"
    missing = [t for t in local if not (page.parent / t.split("#")[0]).exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_the_link_check_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text('[ok](page.md) ![figure](images/none.png) <img src="gone.png"> [web](https://example.org)\n')
    assert _targets(page) == ["page.md", "images/none.png", "gone.png", "https://example.org"]


def test_the_readme_is_a_short_front_page_with_a_figure_and_commands_that_fit_80_columns():
    text = README.read_text()
    assert len(text.encode()) <= 12_000
    first_screen = text[: text.index("\n## ", text.index("\n## ") + 1)]  # up to the second section
    assert re.search(r"!\[[^\]]+\]\(images/[\w.-]+\.png\)", first_screen), "no figure on the first screen"
    for block in re.findall(r"```\w*\n(.*?)```", text, flags=re.S):
        assert max(len(line) for line in block.splitlines()) <= 80, block
    for phrase in ("shared/", "target", "honestly", "we have not", "lent to this work"):
        assert phrase not in text.lower(), phrase
    assert "LICENSE" in text and "CC BY-SA" in text  # the code's licence and the data's


def test_the_readme_results_are_the_committed_benchmark():
    committed = _committed()
    assert bench.headline(committed) in README.read_text()
    assert committed["table"] in (ROOT / "docs" / "benchmark.md").read_text()


NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?(?:%| s\b|×(?!\d))")  # a percentage, a time in seconds or a ratio (not 28×28)


def _unknown_numbers(text: str, committed: dict) -> list[str]:
    """Percentages, seconds and ratios in `text` (outside code blocks) that the committed benchmark does not report."""
    known = {"98.06%"} | set(NUMBER.findall(committed["table"] + bench.headline(committed)))  # + the original's
    known |= {f"{stat:.1f} s" for s in committed["summary"].values() for stat in s["train_seconds"].values()}
    return [n for n in NUMBER.findall(re.sub(r"```.*?```", "", text, flags=re.S)) if n not in known]


def test_every_measured_number_in_the_readme_is_one_the_benchmark_reports():
    text = README.read_text()
    assert NUMBER.findall(text), "the README quotes no result"
    assert not _unknown_numbers(text, _committed())


def test_the_number_check_catches_a_drifted_number():
    committed = _committed()
    fast = f"{100 * committed['summary']['fast']['test_accuracy']['median']:.2f}%"
    text = README.read_text()
    assert fast in text
    assert _unknown_numbers(text.replace(fast, "98.99%", 1), committed) == ["98.99%"]


def test_publishing_the_committed_results_changes_nothing(tmp_path):
    """The README's and docs' tables are what benchmarks/publish.py makes of the committed results."""
    for path in (
        "README.md",
        "docs/benchmark.md",
        "benchmarks/results/cpu-2core.json",
    ):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    publish.publish(tmp_path)
    assert (tmp_path / "README.md").read_text() == README.read_text()
    assert (tmp_path / "docs" / "benchmark.md").read_text() == (ROOT / "docs" / "benchmark.md").read_text()


def test_publishing_names_a_missing_marker():
    with pytest.raises(ValueError, match="no <!-- headline -->"):
        publish.fill("no markers here", "headline", "table")
    assert publish.fill("a\n<!-- t -->\nold\n<!-- /t -->\nb", "t", "new") == "a\n<!-- t -->\nnew\n<!-- /t -->\nb"


# --- every number in the README, from where it comes -----------------------------------------------------------------

TOKEN = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")  # a date, 104,938, 98.28


def _prose(text: str) -> str:
    """The README as a reader reads its claims: without code blocks, inline code, link targets and addresses."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"https?://\S+", "", text)


def _sources(committed: dict) -> dict[str, str]:
    """Each number the README may quote, with where it comes from."""
    import mnist_ann
    from mnist_ann import data, images
    from mnist_ann.model import HIDDEN, NUM_CLASSES
    from mnist_ann.recipes import RECIPES

    model = mnist_ann.build_model()
    known = {token: "the committed benchmark (make bench)" for token in TOKEN.findall(bench.headline(committed))}
    known |= {f"{model.count_params():,}": "the network's parameter count"}
    known |= {str(units): "the network's layers" for units in (data.PIXELS, *HIDDEN, NUM_CLASSES)}
    for recipe in RECIPES.values():
        known |= {str(recipe.epochs): "a recipe's epochs", str(recipe.batch_size): "a recipe's batch size"}
    (fit, _), (val, _) = data.training_split(np.zeros((60_000, data.SIDE, data.SIDE), np.uint8), np.zeros(60_000))
    known |= {f"{len(fit):,}": "the training split", f"{len(val):,}": "the validation split"}
    known |= {str(images.BOX): "MNIST's box (images.BOX)", str(data.SIDE): "MNIST's side (data.SIDE)"}
    known |= {f"{math.log(10):.2f}": "log 10, the untrained loss", "98.06": "the original write-up, cited by name"}
    known |= {version: "the Pythons make supports" for version in re.findall(r"3\.1\d", _makefile_supported())}
    locked = sum("==" in line for line in (ROOT / "requirements-dev.lock").read_text().splitlines())
    known |= {str(locked): "the packages requirements-dev.lock pins"}
    if SHARED_MNIST.is_dir():
        size = sum(path.stat().st_size for path in SHARED_MNIST.glob("*.gz")) / 1e6
        known |= {str(round(size)): "the four MNIST files' size in MB"}
    known |= {"4,000": "the core path's limit (tests/test_lesson.py)", "256": "SHA-256", "3.0": "CC BY-SA 3.0"}
    notebook = (ROOT / "notebooks" / "MNIST-NN.ipynb").read_text()
    first, mistakes = re.search(r"np\.arange\((\d+)\), mistakes\[:(\d+)\]", notebook).groups()
    known |= {first: "the notebook's predictions figure", mistakes: "the notebook's predictions figure"}
    known |= {
        str(digit): "a digit the drawing page's screenshot draws" for digit in re.findall(r"DIGITS\[(\d)\]", _browser())
    }
    return known


def _makefile_supported() -> str:
    return re.search(r"^SUPPORTED := (.*)$", (ROOT / "Makefile").read_text(), re.M).group(1)


def _browser() -> str:
    return (ROOT / "tests" / "browser.py").read_text()


def _unsourced(text: str, committed: dict) -> list[str]:
    known = _sources(committed)
    return [token for token in TOKEN.findall(_prose(text)) if token not in known]


@pytest.mark.skipif(
    not SHARED_MNIST.is_dir(), reason="the MNIST files' size is read from the files beside this checkout"
)
def test_every_number_in_the_readme_comes_from_something_committed():
    assert _unsourced(README.read_text(), _committed()) == []


def test_the_source_check_catches_a_number_with_no_source():
    text = README.read_text()
    assert "155 packages" in text
    before = set(_unsourced(text, _committed()))
    assert set(_unsourced(text.replace("155 packages", "156 packages"), _committed())) - before == {"156"}
    assert set(_unsourced(text + "\nIt installs in 40 s.\n", _committed())) - before == {"40"}


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {_slug(heading) for heading in re.findall(r"^#+ (.+)$", text, flags=re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_anchor_a_page_links_to_is_a_heading_there(page):
    linked = [t for t in _targets(page) if "#" in t and not re.match(r"[a-z]+:", t)]
    for target in linked:
        path, anchor = target.split("#", 1)
        file = page.parent / path if path else page
        if file.suffix == ".md":
            assert anchor in _anchors(file), f"{page.name} links to #{anchor}, which {file.name} has no heading for"


def test_the_anchor_check_knows_githubs_slugs():
    assert _slug("Running it with other settings") == "running-it-with-other-settings"
    assert _slug("8. Train with `model.fit` (core)") == "8-train-with-modelfit-core"
