"""Boilerplate removal at ingest: main-content extraction (HTML), repeated-line removal (every text format) and
merging of chunks too short to carry a fact. Real components on planted corpora, no network."""

from __future__ import annotations

import json
from pathlib import Path

from tether.config import IngestConfig
from tether.documents import Chunk
from tether.seeds.boilerplate import find_repeated, strip_repeated
from tether.seeds.chunking import chunk_document, merge_short
from tether.seeds.ingest import ingest
from tether.seeds.readers import read_markdown

NAV = ["Home", "Permits", "Fees", "Contact us"]
FOOTER = "Brindlemoor Town Council, Moot Hall, Market Square 1. All rights reserved."

TOPICS = {
    "parking": ("Resident Parking", "A resident permit costs 23 marks per year and is valid in zone A and zone B."),
    "harbour": ("Harbour Moorings", "A swing mooring on Lake Vessary costs 290 marks for the whole season."),
    "library": ("Library Hours", "The library on Wicker Street opens at 09:30 and closes at 18:00 on weekdays."),
    "market": ("Market Stalls", "A standard market pitch of 3 m by 3 m costs 21 marks per market day."),
    "trees": ("Tree Protection", "Felling a protected tree without consent carries a penalty of 2,400 marks."),
    "water": ("Water Bills", "A late payment charge of 9 marks is added to any bill unpaid after 28 days."),
}


def _page(key: str) -> str:
    title, fact = TOPICS[key]
    nav = " | ".join(f'<a href="{n.lower().replace(" ", "-")}.html">{n}</a>' for n in NAV)
    body = (
        f"<p>{fact} This page explains the rules the town council set for {title.lower()} in Brindlemoor, "
        f"who to ask at the Moot Hall, and which form to fill in before the deadline.</p>"
        f"<h2>Applying</h2><p>Applications for {title.lower()} are made on the council's form at the Civic "
        f"Counter, which is open every weekday morning. Decisions are posted within 14 days of the application.</p>"
    )
    return (
        f"<html><head><title>{title} - Brindlemoor</title></head><body>"
        f'<header><nav class="menu">{nav}</nav></header>'
        f"<main><article><h1>{title}</h1>{body}</article></main>"
        f"<footer><p>{FOOTER}</p></footer></body></html>"
    )


def _site(root: Path, ext: str = "html") -> Path:
    site = root / "site"
    site.mkdir()
    for key in TOPICS:
        if ext == "html":
            (site / f"{key}.html").write_text(_page(key))
        else:
            title, fact = TOPICS[key]
            text = (
                f"[Home](index.md) | [Permits](permits.md) | [Fees](fees.md)\n\n# {title}\n\n{fact}\n\n"
                f"## Penalties\n\nPenalties for {title.lower()} are set by bylaw {len(key)}.\n\n"
                f"```\nform = council_form()\n```\n\n{FOOTER}\n"
            )
            (site / f"{key}.md").write_text(text)
    return site


def _all_text(chunks: list[Chunk]) -> str:
    return "\n".join(c.text for c in chunks)


def test_nav_and_footer_are_gone_and_content_stays(tmp_path: Path) -> None:
    site = _site(tmp_path)
    for cfg in (IngestConfig(), IngestConfig(html_main_content=False)):  # trafilatura; repeated lines alone
        res = ingest([site], cfg)
        text = _all_text(res.chunks)
        assert len(res.documents) == len(TOPICS)
        assert "Contact us" not in text and "Permits | Fees" not in text
        assert "All rights reserved" not in text
        for title, fact in TOPICS.values():
            assert fact in text and title in text
        for c in res.chunks:  # spans still index the stored text
            doc = next(d for d in res.documents if d.doc_id == c.doc_id)
            assert doc.text[c.start : c.end] == c.text


def test_repeated_lines_in_markdown_keep_headings_code_and_rare_lines(tmp_path: Path) -> None:
    res = ingest([_site(tmp_path, "md")], IngestConfig())
    text = _all_text(res.chunks)
    assert "[Home](index.md)" not in text and "All rights reserved" not in text
    assert text.count("## Penalties") == len(TOPICS)  # a heading over real text stays
    assert text.count("form = council_form()") == len(TOPICS)  # code lines are never template
    assert "bylaw 7" in text and "bylaw 5" in text
    assert ["Resident Parking", "Penalties"] in [c.heading for c in res.chunks]
    assert res.cleaning.repeated_lines == 2 * len(TOPICS)


def test_threshold_share_and_minimum_documents() -> None:
    docs = [read_markdown(f"Shared line\n\nOwn text {i}\n", "x") for i in range(2)]
    assert not find_repeated(docs, 0.3, 3).lines  # 2 documents: below the minimum of 3
    docs += [read_markdown(f"Own text {i}\n", "x") for i in range(2, 10)]
    assert not find_repeated(docs, 0.3, 3).lines  # in 2 of 10 documents: < 30 %
    docs += [read_markdown("Shared line\n\nMore\n", "x")]
    found = find_repeated(docs, 0.25, 3)
    assert found.lines == {"shared line": 3} and found.threshold == 3


def test_a_lone_repeated_label_inside_the_text_stays() -> None:
    """'Filename: src/main.rs' repeats across a third of a book's pages as a caption, not as template."""
    text = (
        "# T\n\nIntro sentence one.\n\nMore text here.\n\nFilename: src/main.rs\n\nBody text.\n\nEnd one.\n\nEnd two.\n"
    )
    parsed = read_markdown(text, "x")
    got = strip_repeated(parsed, {"filename: src/main.rs": 40})
    assert got.lines == 0 and got.parsed.text == text
    edge = strip_repeated(read_markdown("Filename: src/main.rs\n\n" + text, "x"), {"filename: src/main.rs": 40})
    assert edge.lines == 1 and edge.parsed.text == text  # at the page's edge it is a header line


def test_short_chunk_without_a_sentence_merges_into_its_sibling() -> None:
    md = (
        "# Fees\n\n## Cards\n\n"
        + "A library card is free for every resident of the town and lasts five years. " * 3
        + "\n\n## Charges\n\n- Late return: 2 marks per day\n- Lost card: 5 marks\n- Printing: 1 mark\n\n"
        "## Hours\n\nThe desk is open from 09:00 to 17:00 on weekdays.\n"
    )
    parsed = read_markdown(md, "x")
    chunks = chunk_document("doc", parsed, 1200, 150)
    assert [c.heading[-1] for c in chunks] == ["Cards", "Charges", "Hours"]
    merged, n = merge_short(parsed.text, chunks, 1200, 200)
    assert n == 1 and len(merged) == 2
    # 'Charges' (a list, no sentence) joins 'Cards' (the one before, same parent); 'Hours' is short but a sentence
    first, hours = merged
    assert first.heading == ["Fees"] and "Lost card: 5 marks" in first.text and "free for every" in first.text
    assert first.text == parsed.text[first.start : first.end] and first.chunk_id == Chunk.make_id("doc", *_span(first))
    assert hours.chunk_id == chunks[2].chunk_id  # untouched chunks keep their ids
    again, _ = merge_short(parsed.text, chunk_document("doc", parsed, 1200, 150), 1200, 200)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in merged]
    # the size limit holds: no neighbour fits in 250 characters, so nothing merges
    small = chunk_document("doc", parsed, 250, 40)
    assert all(len(c.text) <= 250 for c in merge_short(parsed.text, small, 250, 200)[0])


def _span(c: Chunk) -> tuple[int, int]:
    return c.start, c.end


def test_ingest_reports_what_was_removed(tmp_path: Path) -> None:
    site = _site(tmp_path)
    res = ingest([site], IngestConfig(html_main_content=False))
    c = res.cleaning
    nav_line = " | ".join(NAV)
    assert c.repeated_lines == 2 * len(TOPICS)  # the menu line and the footer line of every page
    assert c.repeated_chars == len(TOPICS) * (len(nav_line) + len(FOOTER))
    assert list(c.repeated.values()) == [{nav_line.casefold(): 6, FOOTER.casefold(): 6}]
    assert c.main_chars == 0 and c.chars_read > c.chars_removed > 0

    main = ingest([site], IngestConfig()).cleaning
    assert main.html_pages == len(TOPICS) and not main.html_fallbacks
    assert main.main_chars >= len(TOPICS) * len(FOOTER)  # the footer at least, on every page
    assert main.chars_removed == main.main_chars + main.repeated_chars


def test_tiny_page_falls_back_to_the_full_text_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "tiny.html").write_text("<html><body><h1>Ferry</h1><p>The ferry leaves at 06:50.</p></body></html>")
    res = ingest([tmp_path / "tiny.html"], IngestConfig())
    assert "The ferry leaves at 06:50." in res.documents[0].text
    ((path, why),) = res.cleaning.html_fallbacks
    assert path.endswith("tiny.html") and why.startswith("main-content extraction found only")


def test_ingest_stage_logs_and_records_the_removal(tmp_path: Path) -> None:
    from tether.config import render_default_config
    from tether.seeds.stage import run_ingest
    from tether.workspace.store import Workspace

    site = _site(tmp_path)
    ws = Workspace.init(tmp_path / "w", render_default_config("demo", None, tmp_path / "w"))
    rep = run_ingest(ws, [site])
    assert rep.manifest is not None
    notes = rep.manifest.notes
    assert notes["boilerplate_chars_removed"] == rep.result.cleaning.chars_removed > 0
    assert notes["chunks_merged"] == rep.result.cleaning.chunks_merged
    log = [json.loads(line) for line in next((ws.store / "runs").glob("*.jsonl")).read_text().splitlines()]
    assert any(e["event"] == "boilerplate" for e in log)


def test_a_heading_over_only_template_goes_with_its_underline() -> None:
    from tether.seeds.readers import read_rst

    template = "Site menu\n---------\n\nHome\n\nSearch\n\n"
    text = f"Harbour\n=======\n\n{template}Moorings\n--------\n\nA mooring costs 310 marks per season.\n"
    parsed = read_rst(text, "x")
    got = strip_repeated(parsed, {"site menu": 9, "home": 9, "search": 9, "moorings": 9})
    assert "Site menu" not in got.parsed.text and "---------\n\nHome" not in got.parsed.text
    assert "Moorings\n--------" in got.parsed.text  # repeated, but real text stands under it
    assert got.parsed.text.startswith("Harbour\n=======\n\nMoorings")
    assert [s.heading for s in got.parsed.sections] == [["Harbour"], ["Harbour", "Moorings"]]
    for s in got.parsed.sections:
        assert 0 <= s.start < s.end <= len(got.parsed.text)
