"""The drawing page (docs/draw/) in a real browser: Chromium, driven by Playwright with pointer and touch events.

Without Chromium these tests are skipped with one line saying how to install it; under CI=true a missing Chromium
fails instead, so that CI cannot pass without running them.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import io
import os
import random
import threading
from pathlib import Path

import browser
import numpy as np
import pytest
from PIL import Image

from conftest import SHARED_MNIST
from mnist_ann.export import load_weights_script, network_from_weights
from mnist_ann.images import digit_steps

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "docs" / "draw" / "weights.js"
NOTEBOOK = ROOT / "notebooks" / "MNIST-NN.ipynb"


def _missing() -> str | None:
    if browser.chromium_path() is None:
        return "Chromium is not installed (apt-get install chromium, or set $MNIST_ANN_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (make installs it from requirements-dev.lock)"
    return None


@pytest.fixture(scope="module")
def chromium():
    reason = _missing()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the drawing page's browser tests.")
    if reason:
        pytest.skip(f"{reason}; the drawing page's browser tests are skipped.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = browser.launch(playwright)
        yield launched
        launched.close()


@contextlib.contextmanager
def serving(folder: Path):
    """`folder` served over HTTP on 127.0.0.1, as GitHub Pages serves it; its address, ending in /."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def served():
    """docs/ served over HTTP: the drawing page's address."""
    with serving(ROOT / "docs") as address:
        yield address + "draw/"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def open_page(chromium, url: str | None = None, **context):
    """A new page with the drawing page loaded, and the list its console errors and page errors go to."""
    page = chromium.new_context(**context).new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url or browser.PAGE.as_uri())
    browser.settle(page)
    return page, errors


def canvas_pixels(page) -> np.ndarray:
    """The drawing canvas's own RGBA pixels, as the page reads them (through a lossless PNG of the canvas)."""
    url = page.evaluate("() => document.getElementById('pad').toDataURL('image/png')")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as image:
        return np.asarray(image.convert("RGBA"))


def page_input(page) -> np.ndarray | None:
    values = page.evaluate("() => mnistPage.page.input && Array.from(mnistPage.page.input)")
    return None if values is None else np.array(values, dtype=np.float32).reshape(28, 28)


# --- (a) the forward pass -------------------------------------------------------------------------


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="the MNIST files are not beside this checkout")
def test_the_pages_network_gives_keras_probabilities_on_200_test_images(chromium):
    from mnist_ann.data import load_mnist, preprocess

    _, (x_test, _) = load_mnist(SHARED_MNIST)
    images = preprocess(x_test[:200])
    keras_probabilities = network_from_weights(load_weights_script(WEIGHTS)).predict(images, verbose=0)
    page, errors = open_page(chromium)
    probabilities = np.array(
        page.evaluate(
            "images => images.map(x => Array.from(mnistPage.forward(mnistPage.page.layers, x).at(-1)))",
            images.tolist(),
        )
    )
    np.testing.assert_allclose(probabilities, keras_probabilities, rtol=0, atol=1e-5)
    assert (probabilities.argmax(axis=1) == keras_probabilities.argmax(axis=1)).all() and errors == []


# --- (b) the preparation --------------------------------------------------------------------------


def test_drawn_strokes_are_prepared_exactly_as_digit_steps_prepares_the_canvas_anywhere_and_at_any_size(chromium):
    """Random strokes at random places and sizes, drawn with pointer events: the page's 28x28 input equals
    mnist_ann.images.digit_steps applied to the canvas's own pixels within 1e-6 (the two do the same integer and
    float32 arithmetic; Pillow's Lanczos resize is written out in the page)."""
    page, errors = open_page(chromium)
    rng = random.Random(7)
    for trial in range(12):
        page.click("#clear")
        size = rng.uniform(15, 270)
        left, top = rng.uniform(0, 280 - size), rng.uniform(0, 280 - size)
        strokes = [[(rng.random(), rng.random()) for _ in range(rng.randint(2, 6))] for _ in range(rng.randint(1, 3))]
        browser.draw(page, strokes, left, top, size)
        expected = digit_steps(Image.fromarray(canvas_pixels(page), "RGBA"))["centred in 28x28"]
        np.testing.assert_allclose(page_input(page), expected, rtol=0, atol=1e-6, err_msg=f"trial {trial}")
    assert errors == []


def test_the_pages_resize_is_pillows_lanczos(chromium):
    page, _ = open_page(chromium)
    rng = np.random.default_rng(3)
    for _ in range(30):
        height, width = (int(v) for v in rng.integers(1, 200, 2))
        image = (rng.random((height, width)) * 255).astype(np.uint8)
        scale = 20 / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        expected = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
        resized = page.evaluate(
            "([pixels, w, h, ow, oh]) => Array.from(mnistPage.resizeLanczos(Uint8Array.from(pixels), w, h, ow, oh))",
            [image.ravel().tolist(), width, height, *size],
        )
        np.testing.assert_array_equal(np.array(resized, dtype=np.uint8).reshape(size[1], size[0]), expected)


# --- (c) reading ------------------------------------------------------------------------------------


def test_digits_drawn_as_strokes_are_read_right(chromium):
    """Ten hand-made stroke digits, each drawn large in the middle and small in a corner (20 drawings): the rate is
    reported by `python tests/browser.py --read`; the committed network reads all of them, and this asks for 18."""
    page, errors = open_page(chromium)
    right, total, misses = browser.read_rate(page)
    assert total == 20 and right >= 18, misses
    assert errors == []


# --- the inside panel: what pushes the answer ----------------------------------------------------


def test_what_each_neuron_adds_sums_with_the_biases_to_the_winning_digits_score(chromium):
    """The page's `pushes`, checked against the network's own last-layer sum computed here in NumPy: what the
    first-layer neurons add, plus what the biases add along the same paths, is z3 for that digit."""
    layers = load_weights_script(WEIGHTS)
    (W1, b1), (W2, b2), (W3, b3) = ((layer["kernel"].astype(np.float64), layer["bias"]) for layer in layers)
    page, errors = open_page(chromium)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.random(784) * (rng.random(784) < 0.2)  # a sparse, ink-like input
        h1 = np.maximum(x @ W1 + b1, 0)
        h2 = np.maximum(h1 @ W2 + b2, 0)
        z3 = h2 @ W3 + b3
        for digit in (int(z3.argmax()), int(z3.argmin())):
            added = np.array(
                page.evaluate(
                    """([x, digit]) => {
                        const layers = mnistPage.page.layers;
                        return Array.from(mnistPage.pushes(layers, mnistPage.forward(layers, x), digit));
                    }""",
                    [x.tolist(), digit],
                )
            )
            through_biases = b2 @ np.where(h2 > 0, W3[:, digit], 0) + b3[digit]
            assert added.shape == (128,) and (added[h1 <= 0] == 0).all()
            assert added.sum() + through_biases == pytest.approx(z3[digit], abs=1e-4)
    assert errors == []


def test_the_panel_shows_other_neurons_for_another_digit_on_one_colour_scale(chromium):
    page, errors = open_page(chromium)
    shown = {}
    for digit in (0, 1, 7):
        page.click("#clear")
        browser.draw(page, browser.DIGITS[digit], 40, 20, 200)
        assert browser.answer(page) == digit
        shown[digit] = page.eval_on_selector_all("#neurons figure", "figures => figures.map(f => f.dataset.unit)")
        assert 0 < len(shown[digit]) <= 8
        assert page.inner_text("#scale").startswith("±")
    assert shown[0] != shown[1] != shown[7] != shown[0]
    assert len(set(shown[0]) & set(shown[1])) < len(shown[0])  # not the same neurons in another order
    assert errors == []


# --- (d) Clear, and a blank canvas ----------------------------------------------------------------


def test_a_blank_page_shows_no_answer_and_clear_removes_it(chromium):
    page, errors = open_page(chromium)
    assert browser.answer(page) is None and page.inner_text("#answer") == "Draw a digit" and page_input(page) is None
    browser.draw(page, browser.DIGITS[4], 40, 20, 200)
    assert browser.answer(page) == 4 and page.locator("#neurons figure").count() > 0
    page.click("#clear")
    browser.settle(page)
    assert browser.answer(page) is None and page.inner_text("#answer") == "Draw a digit" and page_input(page) is None
    assert (canvas_pixels(page)[..., :3] == 255).all()  # the canvas is white again
    heights = page.eval_on_selector_all("#bars .bar", "bars => bars.map(bar => bar.style.height)")
    assert heights == ["0%"] * 10 and page.locator("#neurons figure").count() == 0
    assert errors == []


# --- (e) touch, on a phone-sized screen -----------------------------------------------------------


def _finger(page, digit: int) -> None:
    """Draw `digit` with a finger (touch events) on the page's drawing area, wherever the layout put it."""
    box = page.locator("#pad").bounding_box()
    session = page.context.new_cdp_session(page)
    scale = box["width"] / 280
    for stroke in browser.DIGITS[digit]:
        points = [(box["x"] + (50 + x * 180) * scale, box["y"] + (30 + y * 200) * scale) for x, y in stroke]
        path = [points[0]] + [
            (a[0] + (b[0] - a[0]) * t / 8, a[1] + (b[1] - a[1]) * t / 8)
            for a, b in zip(points, points[1:], strict=False)
            for t in range(1, 9)
        ]
        for kind, (x, y) in [("touchStart", path[0])] + [("touchMove", point) for point in path[1:]]:
            session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    browser.settle(page)


def test_a_finger_draws_on_a_phone_sized_screen(chromium):
    page, errors = open_page(chromium, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    box = page.locator("#pad").bounding_box()
    assert box["width"] <= 390 and box["x"] >= 0
    _finger(page, 7)
    assert (canvas_pixels(page)[..., :3] < 128).any()  # the finger drew
    assert browser.answer(page) == 7
    assert page.evaluate("() => window.scrollY") == 0  # and did not scroll the page
    assert errors == []


@pytest.mark.parametrize("width, height", [(390, 844), (360, 640)])
def test_on_a_phone_the_drawing_the_answer_and_the_bars_are_all_in_view_while_drawing(chromium, width, height):
    page, errors = open_page(chromium, viewport={"width": width, "height": height}, has_touch=True, is_mobile=True)
    _finger(page, 4)
    assert browser.answer(page) == 4 and page.evaluate("() => window.scrollY") == 0
    for part in ("#pad", "#answer", "#bars", "#bars .value >> nth=0", ".labels"):
        box = page.locator(part).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (part, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (part, box)
    assert errors == []


def test_each_bar_shows_its_percentage_without_hovering(chromium):
    page, errors = open_page(chromium)
    assert page.eval_on_selector_all("#bars .value", "values => values.map(v => v.textContent)") == [""] * 10
    browser.draw(page, browser.DIGITS[2], 40, 20, 200)
    shown = page.eval_on_selector_all("#bars .value", "values => values.map(v => v.textContent)")
    probabilities = page.evaluate("() => Array.from(mnistPage.page.outputs.at(-1))")
    assert shown == [f"{round(100 * p)}%" for p in probabilities]
    assert shown[2] == max(shown, key=lambda text: int(text[:-1])) and errors == []


# --- (f) no console errors, from disk and over HTTP ------------------------------------------------


@pytest.mark.parametrize("where", ["file", "http"])
def test_no_console_errors_from_disk_or_over_http(chromium, served, where):
    page, errors = open_page(chromium, served if where == "http" else None)
    browser.draw(page, browser.DIGITS[3], 40, 20, 200)
    assert browser.answer(page) == 3
    page.click("#clear")
    assert errors == []


# --- the weights are the notebook's, and the screenshot is of this page --------------------------------


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="the MNIST files are not beside this checkout")
def test_the_committed_weights_are_the_notebooks_network():
    """The page's weights, loaded back into Keras, score the committed notebook's test accuracy."""
    import re

    import nbformat

    from mnist_ann.data import load_mnist
    from mnist_ann.evaluation import evaluate

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    notebook_accuracy = float(re.search(r"test accuracy: (0\.\d{4})", printed).group(1))
    _, (x_test, y_test) = load_mnist(SHARED_MNIST)
    _, accuracy = evaluate(network_from_weights(load_weights_script(WEIGHTS)), x_test, y_test)
    assert round(accuracy, 4) == notebook_accuracy
    assert f"test accuracy {notebook_accuracy:.4f}" in WEIGHTS.read_text()  # the note the notebook wrote
    assert WEIGHTS.stat().st_size <= 500_000


def test_the_screenshot_shows_an_answer(chromium, tmp_path):
    path = browser.screenshot(tmp_path / "page.png", chromium)
    with Image.open(path) as image:
        assert image.width == 1000 and image.height >= 600
        pixels = np.asarray(image.convert("L"))
    assert (pixels < 64).mean() > 0.01  # ink, text and the 28x28 input: not a blank page
