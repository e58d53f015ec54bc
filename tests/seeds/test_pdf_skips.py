"""Every reason a PDF (or Office file) is skipped, as one line in the ingest's skip list: never a traceback, never
a hang."""

from __future__ import annotations

from pathlib import Path

from tests.pdf_factory import blank_pdf, encrypted_pdf, manual_pdf, scanned_pdf
from tether.config import IngestConfig
from tether.seeds.ingest import ingest
from tether.seeds.isolated import IsolatedReader


def reasons(folder: Path, **cfg) -> dict[str, str]:
    res = ingest([folder], IngestConfig(**cfg))
    return {s.path.rsplit("/", 1)[-1]: s.reason for s in res.skipped}


def test_each_unreadable_pdf_is_one_reasoned_skip(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    good = manual_pdf(docs / "good.pdf").read_bytes()
    encrypted_pdf(docs / "locked.pdf")
    (docs / "cut.pdf").write_bytes(good[: len(good) // 2])  # a download that stopped half way
    (docs / "renamed.pdf").write_bytes(b"PK\x03\x04 a zip file named .pdf" + bytes(200))
    scanned_pdf(docs / "scan.pdf")
    blank_pdf(docs / "blank.pdf")
    got = reasons(docs)
    assert got == {
        "locked.pdf": "encrypted: it needs a password to open (save an unprotected copy to ingest it)",
        "cut.pdf": "truncated or broken PDF: it ends without the %%EOF marker (cut off in a download or copy?)",
        "renamed.pdf": "not a PDF: no %PDF- header in its first 1024 bytes",
        "scan.pdf": "no text layer: all 1 pages are scanned images (no OCR here: run it through OCR first "
        "(e.g. ocrmypdf) to ingest them)",
        "blank.pdf": "no text in any of its 1 pages",
    }


def test_scanned_pages_of_a_text_pdf_are_reported_by_page(tmp_path: Path) -> None:
    scanned_pdf(tmp_path / "report.pdf", text_pages=2)  # pages 1-2 text, 3 scanned, 4 text
    res = ingest([tmp_path / "report.pdf"], IngestConfig())
    assert len(res.documents) == 1
    [skip] = res.skipped
    assert skip.path.endswith("report.pdf p. 3")
    assert skip.reason.startswith("1 of 4 pages are scanned images without a text layer: their text is not ingested")
    text = res.documents[0].text
    assert text.count("\f") == 3  # the scanned page still counts: later pages keep their numbers
    assert "approved on 3 March" in text.rsplit("\f", 1)[1]


def test_size_limit_and_time_limit(tmp_path: Path) -> None:
    manual_pdf(tmp_path / "big.pdf")
    assert reasons(tmp_path, max_file_mb=0.001)["big.pdf"].startswith("too large: 0.0 MB > ingest.max_file_mb=0.001")
    # a reader that takes too long is stopped, and the next file gets a fresh one
    with IsolatedReader(timeout_s=0.001) as slow:
        got = slow.read((tmp_path / "big.pdf").read_bytes(), "pdf", "big")
        assert got.parsed is None
        assert got.skip.startswith("took longer than ingest.file_timeout_s=0.001 s to read: stopped")
        slow.timeout_s = 60
        again = slow.read((tmp_path / "big.pdf").read_bytes(), "pdf", "big")
        assert again.parsed is not None and again.pages == 4


def test_a_reader_that_dies_skips_only_the_file_it_was_reading(tmp_path: Path) -> None:
    """The child process dies as a PDFium crash would (killed, no answer): that file is skipped with a reason,
    the next file gets a new reader."""
    data = manual_pdf(tmp_path / "manual.pdf").read_bytes()
    with IsolatedReader(timeout_s=60) as reader:
        assert reader.read(data, "pdf", "manual").parsed is not None  # starts the child
        assert reader._proc is not None
        reader._proc.kill()
        reader._proc.wait(5)
        dead = reader.read(data, "pdf", "manual")
        assert dead.parsed is None and dead.skip is not None and "document reader crashed" in dead.skip
        assert reader.read(data, "pdf", "manual").parsed is not None  # a fresh reader for the next file


def test_pdf_ingest_does_not_change_other_formats(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("# Notes\n\nThe ferry leaves at 06:50 every weekday morning.\n")
    manual_pdf(tmp_path / "manual.pdf")
    with_pdf = ingest([tmp_path], IngestConfig())
    alone = ingest([tmp_path / "notes.md"], IngestConfig())
    md = [c for c in with_pdf.chunks if c.doc_id == alone.documents[0].doc_id]
    assert [(c.start, c.end, c.text) for c in md] == [(c.start, c.end, c.text) for c in alone.chunks]
    assert {d.format for d in with_pdf.documents} == {"md", "pdf"}
