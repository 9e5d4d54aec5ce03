"""How the `long` recipe was chosen: `augmented` trained longer, or taught by a convolutional network, judged on the
validation set only, within ten minutes a run on the benchmark's machine.

    python -m benchmarks.choose_long --seeds 3        (one line per candidate; the test set is never read)
"""

from __future__ import annotations

import functools
import sys

from benchmarks.choose_augmented import choose
from benchmarks.search import search_main

# Changes to `long`; the last is `long`. The first learns from a teacher (`mnist_ann.build_teacher`, trained first on
# the same deskewed, bent batches) its answers softened at temperature 2, in place of the labels.
CANDIDATES = {
    "taught: 15 teacher epochs, temperature 2, 100 epochs": dict(epochs=100, teacher_epochs=15, temperature=2.0),
    "200 epochs": dict(epochs=200),
    "400 epochs": dict(epochs=400),
}


def main(argv: list[str] | None = None) -> int:
    choose_long = functools.partial(choose, candidates=CANDIDATES, base="long")
    return search_main(choose_long, __doc__.splitlines()[0], default_seeds=3, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
