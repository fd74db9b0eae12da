"""Write docs/benchmarks.md: an index of docs/bench/*.md with each page's headline result.

    python scripts/bench_index.py           # rewrite docs/benchmarks.md
    python scripts/bench_index.py --check   # exit 1 if docs/benchmarks.md is stale

A page's title is its first ``# `` heading; its headline is the paragraph that starts with
``**Result.**`` (or, failing that, the first sentence of its first paragraph).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "docs" / "bench"
INDEX = ROOT / "docs" / "benchmarks.md"
RESULT = "**Result.**"

HEADER = """# Benchmarks

Measured figures live in [docs/bench/](bench/), one page per benchmark, each naming the command
that produced it and the CPU it ran on. This index is written by `python scripts/bench_index.py`;
`tests/test_docs.py` fails when it is stale.

| benchmark | headline result |
|---|---|
"""


def paragraphs(text: str) -> list[str]:
    """Blocks of text separated by blank lines, lines joined by spaces, code fences dropped."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return [" ".join(b.split()) for b in re.split(r"\n\s*\n", text) if b.strip()]


def title_and_headline(page: Path) -> tuple[str, str]:
    """(title, one-line headline) of a benchmark page."""
    text = page.read_text()
    titles = [ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")]
    if not titles:
        raise SystemExit(f"{page.relative_to(ROOT)} has no '# ' title line")
    blocks = [b for b in paragraphs(text) if not b.startswith(("#", "<!--", "|"))]
    results = [b for b in blocks if b.startswith(RESULT)]
    if results:
        headline = results[0][len(RESULT) :].strip()
    elif blocks:
        headline = re.split(r"(?<=\.)\s", blocks[0], maxsplit=1)[0]
    else:
        headline = ""
    return titles[0], headline.replace("|", "\\|")


def index() -> str:
    """The text of docs/benchmarks.md."""
    rows = []
    for page in sorted(BENCH.glob("*.md")):
        title, headline = title_and_headline(page)
        rows.append(f"| [{title}](bench/{page.name}) | {headline} |\n")
    return HEADER + "".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the index is stale")
    args = ap.parse_args(argv)
    text = index()
    if args.check:
        if not INDEX.is_file() or INDEX.read_text() != text:
            print(f"{INDEX.relative_to(ROOT)} is stale: run python scripts/bench_index.py")
            return 1
        return 0
    INDEX.write_text(text)
    print(f"wrote {INDEX.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
