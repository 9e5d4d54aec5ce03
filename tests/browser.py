"""Drive the drawing page (docs/draw/) in Chromium with Playwright: draw strokes as a person would, read the answer.

Used by tests/test_draw_page.py, and by `make run` to take the page's screenshot for the README and the notebook:

    python tests/browser.py --screenshot images/draw-page.png   # a hand-drawn 7 and the network's answer
    python tests/browser.py --read                               # how many of the stroke digits below it reads right

Chromium is Debian's `chromium` package (or $MNIST_ANN_CHROMIUM); Playwright's own browser download is not needed.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "draw" / "index.html"
CHROMIUM_ENV = "MNIST_ANN_CHROMIUM"
# As root in a container Chromium needs --no-sandbox; the rest keep it from reaching for the network at start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The Chromium to drive: $MNIST_ANN_CHROMIUM, else `chromium` (or `chromium-browser`) on the PATH."""
    return os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright):
    """Chromium, headless, from the path above."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


# --- digits as pen strokes, in a unit square (x right, y down) ---------------------------------------------------


def _arc(cx, cy, rx, ry, start, end, points=24):
    return [
        (
            cx + rx * math.cos(math.radians(start + (end - start) * i / points)),
            cy + ry * math.sin(math.radians(start + (end - start) * i / points)),
        )
        for i in range(points + 1)
    ]


# Each digit is a list of strokes, each stroke a list of points, as a person might write it.
DIGITS = {
    0: [_arc(0.5, 0.5, 0.3, 0.46, -90, 275)],
    1: [[(0.4, 0.15), (0.58, 0.02), (0.55, 0.98)]],
    2: [_arc(0.5, 0.3, 0.3, 0.26, 200, 370) + [(0.2, 0.97), (0.86, 0.97)]],
    3: [_arc(0.47, 0.26, 0.3, 0.23, 200, 450) + _arc(0.47, 0.73, 0.33, 0.25, -90, 150)],
    4: [[(0.62, 0.02), (0.12, 0.66), (0.88, 0.66)], [(0.66, 0.3), (0.66, 0.98)]],
    5: [[(0.82, 0.03), (0.28, 0.03), (0.22, 0.45)] + _arc(0.5, 0.68, 0.32, 0.29, -130, 150)],
    6: [_arc(0.9, 0.55, 0.62, 0.53, 235, 180, 10) + _arc(0.5, 0.72, 0.3, 0.25, 180, 540)],
    7: [[(0.12, 0.04), (0.88, 0.04), (0.38, 0.98)]],
    8: [_arc(0.5, 0.26, 0.26, 0.23, 90, 450) + _arc(0.5, 0.73, 0.3, 0.25, -90, 270)],
    9: [_arc(0.5, 0.3, 0.28, 0.26, 0, 360) + [(0.78, 0.3), (0.72, 0.98)]],
}

# Where to draw them on the 280x280 canvas: (left, top, size) in canvas pixels: large in the middle, small in a corner.
PLACES = [(40, 20, 200), (150, 140, 110)]


def settle(page) -> None:
    """Wait for the page to have drawn and answered: two animation frames."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def draw(page, strokes, left: float, top: float, size: float) -> None:
    """Draw `strokes` (unit-square points) with the mouse, scaled to `size` canvas pixels at (left, top)."""
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 280  # CSS pixels per canvas pixel

    def at(point):
        return box["x"] + (left + point[0] * size) * scale, box["y"] + (top + point[1] * size) * scale

    for stroke in strokes:
        page.mouse.move(*at(stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*at(point))
        page.mouse.up()
    settle(page)


def answer(page) -> int | None:
    """The digit the page shows as its answer, or None when it shows none."""
    digit = page.locator("#answer").get_attribute("data-digit")
    return int(digit) if digit else None


def read_rate(page) -> tuple[int, int, list[str]]:
    """Draw every digit of DIGITS at every place of PLACES: how many were read right, of how many, and the misses."""
    right, misses = 0, []
    for digit, strokes in DIGITS.items():
        for place in PLACES:
            page.click("#clear")
            draw(page, strokes, *place)
            read = answer(page)
            right += read == digit
            if read != digit:
                misses.append(f"{digit} drawn at {place} read as {read}")
    return right, len(DIGITS) * len(PLACES), misses


def screenshot(path: str | os.PathLike, chromium=None) -> Path:
    """Open the page, draw a 7 and save a screenshot of the page to `path` (through a temporary file); in `chromium`,
    a launched browser, or in one launched for it."""
    from mnist_ann.files import replaced_atomically

    if chromium is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            launched = launch(playwright)
            try:
                return screenshot(path, launched)
            finally:
                launched.close()
    page = chromium.new_page(viewport={"width": 1000, "height": 620})
    page.goto(PAGE.as_uri())
    draw(page, DIGITS[7], 50, 30, 190)
    with replaced_atomically(path) as tmp:
        page.screenshot(path=str(tmp), full_page=True)
    page.close()
    return Path(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the page with a drawn 7")
    parser.add_argument("--read", action="store_true", help="report how many of the stroke digits the page reads")
    args = parser.parse_args(argv)
    if chromium_path() is None:
        print(f"no Chromium found: install Debian's chromium package or set ${CHROMIUM_ENV}.", file=sys.stderr)
        return 1
    if args.screenshot:
        print(f"wrote {screenshot(args.screenshot)}")
    if args.read:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page()
            page.goto(PAGE.as_uri())
            right, total, misses = read_rate(page)
            browser.close()
        print(f"read {right} of {total} stroke digits right" + "".join(f"\n  {miss}" for miss in misses))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # mnist_ann from this checkout
    sys.exit(main())
