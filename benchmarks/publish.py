"""Put the committed benchmark results into the README and docs/benchmark.md, between their markers.

    python -m benchmarks.publish        (the last step of `make bench`)

Each block between `<!-- NAME -->` and `<!-- /NAME -->` is replaced by what the results say now: "headline" in the
README (bench.headline) and "bench-table" in docs/benchmark.md. The files are rewritten atomically.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchmarks.bench import headline
from mnist_ann.files import write_text_atomically

ROOT = Path(__file__).resolve().parents[1]


def fill(text: str, name: str, content: str) -> str:
    """`text` with the block between the markers `name` replaced by `content`; a clear error if they are missing."""
    pattern = re.compile(rf"(<!-- {name} -->\n).*?(\n<!-- /{name} -->)", flags=re.S)
    if not pattern.search(text):
        raise ValueError(
            f"no <!-- {name} --> ... <!-- /{name} --> block to fill; add the two markers on their own lines."
        )
    return pattern.sub(lambda m: m.group(1) + content + m.group(2), text, count=1)


def publish(root: Path = ROOT) -> None:
    results = root / "benchmarks" / "results"
    bench = json.loads((results / "cpu-2core.json").read_text())
    readme, docs = root / "README.md", root / "docs" / "benchmark.md"
    write_text_atomically(readme, fill(readme.read_text(), "headline", headline(bench)))
    write_text_atomically(docs, fill(docs.read_text(), "bench-table", bench["table"]))


if __name__ == "__main__":
    publish()
