"""The notebook reads as a lesson a beginner finishes: every section marked core or optional where its heading is, a
core path short enough for about 45 minutes, one rule for re-running, the appendices after the summary, the drawing
page's export beside "Your own digit", six exercises along the core path and 12-15 review questions at the end."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "MNIST-NN.ipynb"
CORE_WORDS = 4_000  # about 45 minutes of prose, with the exercises and the cells' outputs to read
RULE = "run the cell you changed and every cell below it"
HEADING = re.compile(r"^## (.+?) \((core|optional)\)$")
SUBSECTION = re.compile(r"^### (.+?) \((core|optional)\)$")  # a marked part of a section, to its next heading


def sections(cells) -> list[tuple[str, str, list]]:
    """(title, mark, cells) for each level-2 section, the cells before the first under the title "intro"."""
    found = [("intro", "core", [])]
    for cell in cells:
        parts = re.split(r"(?m)^(?=##)", cell.source) if cell.cell_type == "markdown" else [cell.source]
        for part in parts:
            if cell.cell_type == "markdown" and part.startswith("## "):
                heading = part.splitlines()[0]
                match = HEADING.match(heading)
                found.append((match.group(1), match.group(2), []) if match else (heading, None, []))
            elif cell.cell_type == "markdown" and (match := SUBSECTION.match(part.partition("\n")[0])):
                found.append((f"{found[-1][0]}: {match.group(1)}", match.group(2), []))
            found[-1][2].append((cell.cell_type, part))
    return found


def words(parts) -> int:
    return sum(len(text.split()) for kind, text in parts if kind == "markdown")


NB = nbformat.read(NOTEBOOK, as_version=4)
SECTIONS = sections(NB.cells)
TITLES = [title for title, _, _ in SECTIONS]


def test_every_section_is_marked_and_the_core_path_is_short():
    assert len(SECTIONS) >= 20
    assert [title for title, mark, _ in SECTIONS if mark is None] == []  # each heading says core or optional
    core = sum(words(parts) for _, mark, parts in SECTIONS if mark == "core")
    optional = sum(words(parts) for _, mark, parts in SECTIONS if mark == "optional")
    assert core <= CORE_WORDS, f"the core path has {core:,} words of prose"
    assert optional > 1_000  # the rest is there, marked optional


def test_the_appendices_follow_the_summary_and_the_tests_are_one_of_them():
    summary = TITLES.index("Summary")
    assert TITLES.index("Review questions") > summary
    appendices = [i for i, title in enumerate(TITLES) if title.startswith("Appendix")]
    assert len(appendices) == 2 and min(appendices) > TITLES.index("Review questions")
    assert all(SECTIONS[i][1] == "optional" for i in appendices)
    assert "tested" in TITLES[appendices[-1]] and "accuracy" in TITLES[appendices[0]]
    numbered = [i for i, title in enumerate(TITLES) if re.match(r"\d+\. ", title)]
    assert max(numbered) < summary


def test_the_drawing_page_export_sits_with_your_own_digit_which_says_to_use_it():
    [own] = [parts for title, _, parts in SECTIONS if title.endswith("Your own digit")]
    assert any(kind == "code" and "save_weights_script" in text for kind, text in own)
    assert any(kind == "markdown" and "weights.js" in text and "drawing page" in text for kind, text in own)
    elsewhere = [title for title, _, parts in SECTIONS for kind, text in parts if "save_weights_script" in text]
    assert len(elsewhere) == 1


def test_one_rule_for_rerunning_stated_once_at_the_start():
    intro = " ".join(text for kind, text in SECTIONS[0][2] if kind == "markdown")
    assert RULE in intro
    prose = "\n".join(cell.source for cell in NB.cells if cell.cell_type == "markdown")
    for other in ("run the notebook again from", "then every cell from", "run that cell, and run", "run section 2"):
        assert other not in prose, other


def test_six_exercises_on_the_core_path_and_review_questions_at_the_end():
    turns = [title for title, mark, parts in SECTIONS for kind, text in parts if "**Your turn" in text]
    assert len(turns) >= 6
    assert all(dict((t, m) for t, m, _ in SECTIONS)[title] == "core" for title in turns)
    [review] = [parts for title, _, parts in SECTIONS if title == "Review questions"]
    questions = re.findall(r"(?m)^\d+\. .+\?", "\n".join(text for _, text in review))
    assert 12 <= len(questions) <= 15
