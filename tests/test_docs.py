"""The README is a front page whose numbers are the committed benchmark's, and every link in it and docs/ resolves."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from benchmarks import bench, publish

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
