"""PDF reading: real manuals nobody on the project wrote, and generated layouts a test must control."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pdf_factory import manual_pdf, two_column_pdf
from tether.config import IngestConfig
from tether.documents import Document
from tether.seeds.chunking import chunk_document
from tether.seeds.ingest import ingest
from tether.seeds.pdf import read_pdf
from tether.seeds.readers import Parsed, Section
from tether.text.pages import format_pages, page_of, page_range, span_pages

# real manuals this machine kind installs (Debian's libtasn1-doc and shared-mime-info packages): texinfo and
# DocBook output with bookmarks, running headers and page numbers
LIBTASN1 = Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf")
MIME_SPEC = Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")
real = pytest.mark.skipif(not LIBTASN1.is_file(), reason="libtasn1-doc is not installed (apt-get install libtasn1-doc)")


def by_text(doc_text: str, sentence: str) -> int:
    at = doc_text.find(sentence)
    assert at >= 0, f"{sentence!r} not in the text"
    return page_of(doc_text, at)


@real
def test_real_manual_keeps_pages_headings_and_drops_running_headers() -> None:
    got = read_pdf(LIBTASN1.read_bytes(), "libtasn1")
    text = got.parsed.text
    assert got.pages == 36 and text.count("\f") == 35
    assert got.headings_from == "bookmarks"
    headings = [" > ".join(s.heading) for s in got.parsed.sections]
    assert "2 ASN.1 structure handling > 2.1 ASN.1 syntax" in headings
    assert "3 Utilities > 3.2 Invoking asn1Coding" in headings
    # pdftotext -f 9 -l 9 prints this sentence: its page is 9; "en-/coding" was hyphenated at the line end
    assert by_text(text, "will generate a assign.out file, containing the DER encoding of") == 9
    # the running headers ("Chapter 3: Utilities 6") and the table of contents' dotted lines are gone
    assert "Chapter 3: Utilities" not in text and ". . . . ." not in text
    assert got.running["chapter 3: utilities"] >= 2
    assert got.parsed.title == "Libtasn1"


@real
def test_real_pdfs_ingest_into_chunks_that_name_their_pages() -> None:
    res = ingest([LIBTASN1, MIME_SPEC], IngestConfig())
    assert not res.skipped
    docs = {d.doc_id: d for d in res.documents}
    assert {d.format for d in docs.values()} == {"pdf"}
    labels = []
    for c in res.chunks:
        doc = docs[c.doc_id]
        assert doc.text[c.start : c.end] == c.text
        first, last = page_range(doc.text, c.start, c.end)
        assert (first == last) == ("\f" not in c.text.strip())  # a chunk crosses a page only where it says so
        labels.append(span_pages(doc.format, doc.text, c.start, c.end))
    assert sum(label.startswith(" p. ") for label in labels) >= 0.85 * len(labels)
    chunk = next(c for c in res.chunks if "assign.out file, containing the DER encoding" in c.text)
    assert span_pages("pdf", docs[chunk.doc_id].text, chunk.start, chunk.end) == " p. 9"
    assert chunk.heading == ["3 Utilities", "3.2 Invoking asn1Coding"]
    assert res.cleaning.furniture_lines > 100 and res.cleaning.paged_docs == 2


def test_two_column_page_reads_each_column_in_order(tmp_path: Path) -> None:
    text = read_pdf(two_column_pdf(tmp_path / "two.pdf").read_bytes(), "two").parsed.text
    left = text.find("Apples grow on trees in temperate climates and are harvested in autumn by hand.")
    right = text.find("Bees pollinate the blossoms in spring and a single hive serves about one acre")
    assert text.startswith("Orchard Notes: Apples and Bees\n")
    assert 0 < left < text.find("the fruit ripens evenly across the whole tree.") < right


@pytest.mark.parametrize("outline", [False, True])
def test_headers_footers_hyphens_headings_and_tables(tmp_path: Path, outline: bool) -> None:
    got = read_pdf(manual_pdf(tmp_path / "m.pdf", outline=outline).read_bytes(), "m")
    text = got.parsed.text
    assert got.headings_from == ("bookmarks" if outline else "font sizes")
    assert [s.heading for s in got.parsed.sections] == [
        ["1 Installing the widget"],
        ["2 Maintenance"],
        ["3 Spare parts"],
    ]
    assert "ACME Widget Manual" not in text and "- 2 -" not in text  # running header and page numbers
    assert got.furniture_lines == 8
    assert "before sensor calibration starts." in text  # "calibra-" / "tion" joined on one page
    # the paragraph runs from page 2 onto page 3: the sentence stays whole, the page break replaces a space
    assert "the warranty. Maintenance\fvisits are billed at 85 euros each." in text
    assert by_text(text, "Maintenance\fvisits") == 2 and by_text(text, "visits are billed") == 3
    assert "Part | Price\nFilter F-20 | 12 euros\nSeal S-7 | 4 euros" in text  # table rows, one per line
    assert got.parsed.title == "ACME Widget Manual"


def test_chunks_break_at_page_ends_without_overlap() -> None:
    pages = [f"First page sentence number {i} is here." for i in range(3)]
    body = "\n\f\n".join(" ".join([p] * 12) for p in pages) + "\n"
    parsed = Parsed("t", body, [Section([], 0, len(body))], paged=True)
    chunks = chunk_document("d", parsed, size=600, overlap=100)
    doc = Document(doc_id="d", path="x.pdf", format="pdf", title="t", text=body, n_bytes=1)
    spans = [span_pages(doc.format, doc.text, c.start, c.end) for c in chunks]
    assert spans == [" p. 1", " p. 2", " p. 3"]
    # the same text, not paged, overlaps and crosses pages as before
    plain = chunk_document("d", Parsed("t", body, [Section([], 0, len(body))]), size=600, overlap=100)
    assert [c.start for c in plain] != [c.start for c in chunks]


def test_page_labels() -> None:
    text = "one\n\f\ntwo words\fthree\n\f\n\f\nfive"
    assert page_of(text, 0) == 1 and page_of(text, text.index("three")) == 3
    assert page_range(text, text.index("two"), text.index("three") + 5) == (2, 3)
    assert page_range(text, 0, text.index("two")) == (1, 1)  # the page break at its end does not count
    assert format_pages(12, 12) == "p. 12" and format_pages(12, 13) == "pp. 12–13"
    assert format_pages(3, 3, "pptx") == "slide 3"
    assert span_pages("md", text, 0, 5) == "" and span_pages("pdf", text, None, None) == ""
