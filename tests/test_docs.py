"""The docs: the benchmark index is up to date and every relative link resolves."""

from __future__ import annotations

import re
from pathlib import Path

from robust_util import ROOT, load_script

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def doc_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def relative_links(page: Path) -> list[str]:
    """Targets of the page's Markdown links and images that point inside the repository."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code is not a link
    targets = [m.group(1) for m in LINK.finditer(text)]
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]


def test_benchmark_index_is_up_to_date():
    bench_index = load_script("bench_index")
    assert (ROOT / "docs" / "benchmarks.md").read_text() == bench_index.index(), (
        "docs/benchmarks.md is stale: run python scripts/bench_index.py"
    )
    assert bench_index.main(["--check"]) == 0


def test_benchmark_index_lists_every_page_with_a_headline():
    bench_index = load_script("bench_index")
    text = bench_index.index()
    for page in sorted((ROOT / "docs" / "bench").glob("*.md")):
        title, headline = bench_index.title_and_headline(page)
        assert f"| [{title}](bench/{page.name}) | {headline} |" in text
        assert headline, f"{page.name} states no headline result"


def test_check_fails_on_a_stale_index(monkeypatch, tmp_path):
    bench_index = load_script("bench_index")
    stale = tmp_path / "benchmarks.md"
    stale.write_text("# Benchmarks\n")
    monkeypatch.setattr(bench_index, "INDEX", stale)
    monkeypatch.setattr(bench_index, "ROOT", tmp_path)
    assert bench_index.main(["--check"]) == 1
    assert bench_index.main([]) == 0 and stale.read_text() == bench_index.index()
    assert bench_index.main(["--check"]) == 0


def test_relative_links_in_readme_and_docs_resolve():
    broken = []
    for page in doc_pages():
        for target in relative_links(page):
            path = target.split("#", 1)[0]
            if path and not (page.parent / path).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_link_finder_sees_links_and_skips_urls_and_code(tmp_path):
    page = tmp_path / "p.md"
    page.write_text(
        "[a](x.md) ![img](img/y.png) [web](https://e.org) [top](#t)\n"
        '```\n[not](code.md)\n```\n[b](z.md#part "title")\n'
    )
    assert relative_links(page) == ["x.md", "img/y.png", "z.md#part"]
