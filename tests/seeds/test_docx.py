"""Word and PowerPoint files: headings, lists and tables kept; broken files skipped with a reason."""

from __future__ import annotations

from pathlib import Path

import docx
import pptx
from pptx.util import Inches
from typer.testing import CliRunner

from tests.pdf_factory import manual_pdf
from tether.cli import app
from tether.config import IngestConfig
from tether.seeds.ingest import ingest
from tether.text.pages import span_pages


def word_file(path: Path) -> Path:
    d = docx.Document()
    d.core_properties.title = "Harbour Handbook"
    d.add_heading("Harbour Handbook", 0)
    d.add_heading("Mooring", 1)
    d.add_paragraph("Boats under 8 metres moor at the east pier. The mooring fee is 310 marks a season.")
    d.add_paragraph("Bring the registration papers.", style="List Number")
    d.add_paragraph("Pay the fee at the harbour office.", style="List Number")
    d.add_paragraph("Cash is accepted.", style="List Bullet 2")
    d.add_heading("Fees", 2)
    table = d.add_table(rows=4, cols=2)
    fees = [("Item", "Fee"), ("Mooring", "310 marks"), ("Winter storage", "95 marks"), ("Crane lift", "40 marks")]
    for r, (item, fee) in enumerate(fees):
        table.cell(r, 0).text, table.cell(r, 1).text = item, fee
    d.add_heading("Safety", 1)
    d.add_paragraph("Life jackets are required for children under 12 on every pier.")
    section = d.sections[0]
    section.header.paragraphs[0].text = "Harbour Handbook - internal"  # a running header: never read
    d.save(str(path))
    return path


def slide_deck(path: Path) -> Path:
    deck = pptx.Presentation()
    for title, points in [
        ("Opening hours", ["The office opens at 07:40.", "It closes at 16:00 on Fridays."]),
        ("Fees", ["Mooring costs 310 marks a season."]),
    ]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = points[0]
        for p in points[1:]:
            body.add_paragraph().text = p
    slide = deck.slides[1]
    rows = slide.shapes.add_table(2, 2, Inches(1), Inches(5), Inches(4), Inches(1)).table
    for r, (a, b) in enumerate([("Item", "Fee"), ("Storage", "95 marks")]):
        rows.cell(r, 0).text, rows.cell(r, 1).text = a, b
    deck.save(str(path))
    return path


def test_word_headings_lists_and_tables(tmp_path: Path) -> None:
    res = ingest([word_file(tmp_path / "handbook.docx")], IngestConfig(min_chunk_chars=0))
    assert not res.skipped
    [doc] = res.documents
    assert doc.format == "docx" and doc.title == "Harbour Handbook"
    assert "1. Bring the registration papers.\n2. Pay the fee at the harbour office.\n  - Cash is accepted." in doc.text
    assert "Item | Fee\nMooring | 310 marks\nWinter storage | 95 marks\nCrane lift | 40 marks" in doc.text
    assert "internal" not in doc.text  # the page header lives in another part of the file
    headings = {tuple(c.heading) for c in res.chunks}
    assert ("Harbour Handbook", "Mooring", "Fees") in headings
    assert ("Harbour Handbook", "Safety") in headings
    fees = next(c for c in res.chunks if "Winter storage" in c.text)
    assert fees.heading == ["Harbour Handbook", "Mooring", "Fees"]
    assert span_pages(doc.format, doc.text, fees.start, fees.end) == ""  # Word files have no fixed pages


def test_slides_are_pages_with_their_titles(tmp_path: Path) -> None:
    res = ingest([slide_deck(tmp_path / "talk.pptx")], IngestConfig(min_chunk_chars=0))
    [doc] = res.documents
    assert doc.text.count("\f") == 1
    fee = next(c for c in res.chunks if "310 marks" in c.text)
    assert fee.heading == ["Fees"] and span_pages("pptx", doc.text, fee.start, fee.end) == " slide 2"
    assert "Item | Fee\nStorage | 95 marks" in doc.text


def test_broken_office_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "old.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    (tmp_path / "cut.docx").write_bytes(word_file(tmp_path / "x.docx").read_bytes()[:3000])
    (tmp_path / "x.docx").unlink()
    (tmp_path / "notes.pptx").write_text("not a slide deck at all")
    res = ingest([tmp_path], IngestConfig())
    got = {s.path.rsplit("/", 1)[-1]: s.reason for s in res.skipped}
    assert got == {
        "old.docx": "encrypted or legacy Word file (an OLE container, not a .docx zip): save it unprotected as .docx",
        "cut.docx": "not a Word .docx file (not a zip archive; truncated or renamed?)",
        "notes.pptx": "not a PowerPoint .pptx file (not a zip archive; truncated or renamed?)",
    }


def test_show_and_lineage_print_the_page(tmp_path: Path) -> None:
    """End to end through the CLI: ingest a PDF, import a row about page 3, and both commands name the page."""
    runner = CliRunner()
    docs = tmp_path / "docs"
    docs.mkdir()
    manual_pdf(docs / "manual.pdf")
    ws = tmp_path / "w"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    out = runner.invoke(app, ["ingest", str(docs), "-w", str(ws)])
    assert out.exit_code == 0, out.output
    assert "running headers, footers, page numbers and contents lines of 1 PDFs" in out.output
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        '{"question": "When does the service hotline answer?", "answer": "From 8:00 to 17:00 on weekdays.", '
        '"source": "docs/manual.pdf"}\n'
    )
    imported = runner.invoke(app, ["import", str(rows), "--teacher", "person", "-w", str(ws)])
    assert imported.exit_code == 0, imported.output
    shown = runner.invoke(app, ["show", "-w", str(ws)])
    # the row's chunk is section 2 (pages 2-3) with the short parts table of page 4 merged into it (a chunk
    # without a sentence joins its neighbour): the span says so
    assert "/docs/manual.pdf pp. 2–4 [chars" in shown.output, shown.output
    row_id = shown.output.split("\n\n")[1].split()[0]
    lineage = runner.invoke(app, ["lineage", row_id[:12], "-w", str(ws)])
    assert "/docs/manual.pdf pp. 2–4 § (no heading)" in " ".join(lineage.output.split()), lineage.output
