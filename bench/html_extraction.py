"""HTML ingestion before/after boilerplate removal, on real documentation pages (run by hand; prints tables).

    python bench/html_extraction.py [FOLDER ...] [--limit 300] [--show 3]

Default folders: the Rust book and reference shipped with rustup (mdBook sites: a menu bar, a theme menu, a
keyboard-help box and page arrows around each page's text). Each folder is ingested as one source (its .html files,
sorted, at most --limit, without print.html, the whole book on one page).

Modes:
- before: the stdlib reader, no repeated-line removal, no short-chunk merging (ingestion as it was);
- stdlib+lines: the stdlib reader with repeated-line removal and merging (what non-HTML formats get);
- trafilatura/<focus>: main-content extraction with favor_precision, neither (balanced), or favor_recall, then
  repeated-line removal and merging;
- <main>|trafilatura: the default: the page's own <main> element when it marks one, else trafilatura/recall
  (the "recall" below is then partly circular: <main> is also the ground truth; what it shows is what trafilatura
  alone loses on pages that do mark their content).

Ground truth comes from the pages' own markup: mdBook puts a page's text in <main>, and everything else (menus,
help box, arrows) outside it. Columns:
- nav chunks: chunks whose lines are mostly (>= 50% of characters) navigation: a line (or every ' | '-separated
  part of it) is the text of a link outside <main> (mdBook's own page arrows are icons, so few lines qualify);
- outside chunks: chunks mostly (>= 50% of characters) made of lines not found in the page's <main> text;
- recall: share of <main>'s text blocks (p, li, h1-h6, td, th, dt, dd, figcaption, pre) found in the stored text,
  by characters, over all pages (big pages weigh more) and as the mean of the pages' shares; lost: pages missing at
  least one block of 40+ characters;
- spot: hand-picked sentences (SPOT) found; first/last_p: the first and last paragraph (60+ characters) of each
  page's <main> found;
- ms/page: time to read a page (the stdlib parser alone, or trafilatura alone, without the stdlib pass that
  read_html_main also runs for the title and the report).
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass
from pathlib import Path

from lxml import html as lxml_html

from tether.config import IngestConfig
from tether.documents import Chunk
from tether.seeds import html_main
from tether.seeds.ingest import ingest
from tether.seeds.readers import read_html

RUST = Path.home() / ".rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html"
BLOCKS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "dt", "dd", "figcaption", "pre")
SEPARATE = (*BLOCKS, "br", "div", "ul", "ol", "dl", "tr", "table", "section", "nav", "header", "footer", "main")


# sentences read on the pages by hand, to spot-check that extraction keeps prose
SPOT = {
    "ch08-01-vectors.html": "Vectors allow you to store more than one value in a single data structure",
    "ch09-02-recoverable-errors-with-result.html": "operator eliminates a lot of boilerplate",
    "ch04-01-what-is-ownership.html": "Ownership is a set of rules that govern how a Rust program manages memory",
    "const_eval.html": "Recursively defining constants is not allowed",
    "items.html": "is a component of a crate",
    "destructors.html": "When an initialized variable or temporary goes out of scope",
}


def norm(s: str) -> str:
    """Words only: list bullets, table bars and spacing differ between readers and do not matter here."""
    return " ".join(re.findall(r"\w+", s.casefold()))


@dataclass
class Truth:
    main_text: str  # normalised text of <main>
    blocks: list[str]  # normalised text blocks inside <main>
    paras: list[str]  # normalised <p> inside <main>
    links: set[str]  # normalised texts of the links outside <main>: the site's navigation


def truth(page: Path) -> Truth | None:
    tree = lxml_html.fromstring(page.read_bytes())
    main = tree.find(".//main")
    if main is None:
        return None
    for el in tree.iter(*SEPARATE):  # words meet across these, not across inline tags (<a>borrow</a>s)
        el.text, el.tail = " " + (el.text or ""), " " + (el.tail or "")
    blocks = [norm(el.text_content()) for el in main.iter(*BLOCKS)]
    inside = set(main.iter("a"))
    links = {norm(a.text_content()) for a in tree.iter("a") if a not in inside}
    paras = [norm(p.text_content()) for p in main.iter("p")]
    return Truth(norm(main.text_content()), [b for b in blocks if b], paras, links - {""})


def _share(chunk: Chunk, is_bad) -> float:
    lines = [ln for ln in chunk.text.splitlines() if ln.strip()]
    total = sum(len(ln) for ln in lines) or 1
    return sum(len(ln) for ln in lines if is_bad(norm(ln))) / total


def link_like(line: str, t: Truth) -> bool:
    parts = [p.strip().removeprefix("- ") for p in line.split("|")]
    return all(p in t.links for p in parts if p) and any(parts)


def pages_of(folder: Path, limit: int) -> list[Path]:
    pages = sorted(p for p in folder.glob("*.html") if p.name != "print.html")
    return pages[:limit]


def run_mode(pages: list[Path], truths: dict[str, Truth | None], cfg: IngestConfig, focus: str | None) -> dict:
    if focus:
        html_main.FOCUS = focus
    t0 = time.perf_counter()
    res = ingest(pages, cfg)
    wall = time.perf_counter() - t0
    docs = {d.doc_id: d for d in res.documents}
    nav = outside = 0
    found = total = lost_pages = 0
    per_page: list[float] = []
    spot_hit = spot_all = edge_hit = edge_all = 0
    for c in res.chunks:
        t = truths.get(docs[c.doc_id].path)
        if t is None:
            continue
        nav += _share(c, lambda ln, t=t: link_like(ln, t)) >= 0.5
        outside += _share(c, lambda ln, t=t: ln not in t.main_text) >= 0.5
    for d in docs.values():
        t = truths.get(d.path)
        if t is None:
            continue
        text = norm(d.text)
        missing = [b for b in t.blocks if b not in text]
        page_total = sum(len(b) for b in t.blocks)
        page_found = page_total - sum(len(b) for b in missing)
        found += page_found
        total += page_total
        per_page.append(page_found / page_total if page_total else 1.0)
        name = d.path.rsplit("/", 1)[-1]
        if name in SPOT:
            spot_all += 1
            spot_hit += norm(SPOT[name]) in text
        paras = [b for b in t.paras if len(b) >= 60]
        for b in paras[:1] + paras[-1:]:
            edge_all += 1
            edge_hit += b in text
        lost_pages += any(len(b) >= 40 for b in missing)
    cl = res.cleaning
    return {
        "docs": len(res.documents),
        "chunks": len(res.chunks),
        "nav": nav,
        "outside": outside,
        "recall": found / total if total else 1.0,
        "page_recall": sum(per_page) / len(per_page) if per_page else 1.0,
        "spot": f"{spot_hit}/{spot_all}",
        "first_last": f"{edge_hit}/{edge_all}",
        "lost": lost_pages,
        "chars": sum(len(d.text) for d in res.documents),
        "main_rm": cl.main_chars,
        "lines_rm": cl.repeated_chars,
        "merged": cl.chunks_merged,
        "fallback": len(cl.html_fallbacks),
        "wall": wall,
        "res": res,
    }


def time_readers(pages: list[Path]) -> tuple[float, float]:
    texts = [(p.read_text(encoding="utf-8"), p.stem) for p in pages]
    t0 = time.perf_counter()
    for text, stem in texts:
        read_html(text, stem)
    t1 = time.perf_counter()
    for text, stem in texts:
        html_main.extract_main(text, stem)
    t2 = time.perf_counter()
    return (t1 - t0) / len(texts) * 1000, (t2 - t1) / len(texts) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folders", nargs="*", type=Path, default=[RUST / "book", RUST / "reference"])
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--show", type=int, default=0, help="print this many flagged chunks per mode")
    args = ap.parse_args()
    before = IngestConfig(html_main_content=False, boilerplate_min_docs_share=None, min_chunk_chars=0)
    lines_only = IngestConfig(html_main_content=False)
    modes = [
        ("before", before, None),
        ("stdlib+lines", lines_only, None),
        ("trafilatura/precision", IngestConfig(), "precision"),
        ("trafilatura/balanced", IngestConfig(), "balanced"),
        ("trafilatura/recall", IngestConfig(), "recall"),
        ("<main>|trafilatura", IngestConfig(), "recall"),  # the default: the page's <main>, else trafilatura
    ]
    default_focus = html_main.FOCUS
    for folder in args.folders:
        pages = pages_of(folder, args.limit)
        truths = {}
        for p in pages:
            from tether.seeds.ingest import display_path

            truths[display_path(p)] = truth(p)
        with_main = sum(t is not None for t in truths.values())
        print(f"\n{folder}: {len(pages)} pages ({with_main} with a <main> element, the ground truth)")
        head = "mode                    docs chunks  nav  outside  recall  /page  lost  chars_kept  main_rm  lines_rm"
        print(head + "  merged  fallback  s   spot  first/last_p")
        for name, cfg, focus in modes:
            html_main.PREFER_MARKED_MAIN = name.startswith("<main>")
            r = run_mode(pages, truths, cfg, focus)
            print(
                f"{name:<22} {r['docs']:>5} {r['chunks']:>6} {r['nav']:>4} {r['outside']:>8} {r['recall']:>7.3f} "
                f"{r['page_recall']:>6.3f} "
                f"{r['lost']:>5} {r['chars']:>11,} {r['main_rm']:>8,} {r['lines_rm']:>9,} {r['merged']:>7} "
                f"{r['fallback']:>9} {r['wall']:>3.1f} {r['spot']:>6} {r['first_last']:>13}"
            )
            if args.show:
                docs = {d.doc_id: d for d in r["res"].documents}
                shown = 0
                for c in r["res"].chunks:
                    t = truths.get(docs[c.doc_id].path)
                    if t is None or shown >= args.show:
                        continue
                    kind = (
                        "outside"
                        if _share(c, lambda ln, t=t: ln not in t.main_text) >= 0.5
                        else "nav"
                        if _share(c, lambda ln, t=t: link_like(ln, t)) >= 0.5
                        else None
                    )
                    if kind:
                        shown += 1
                        print(f"    {kind} [{docs[c.doc_id].path.rsplit('/', 1)[-1]}] {c.text[:150]!r}")
        html_main.FOCUS = default_focus
        stdlib_ms, traf_ms = time_readers(pages)
        print(f"time per page: stdlib parser {stdlib_ms:.1f} ms, trafilatura ({default_focus}) {traf_ms:.1f} ms")


if __name__ == "__main__":
    main()
