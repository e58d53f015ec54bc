"""Ingest files and folders into documents, chunks and human seed records.

Robustness is the point: a folder of real documents always holds something odd (an empty file, a PDF, a Latin-1
export, a 2 GB dump). Each such file is skipped with a reason that lands in the run log and the summary; nothing
crashes and nothing vanishes without a line saying why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tether.config import IngestConfig
from tether.documents import Chunk, Document
from tether.records import Record
from tether.seeds.boilerplate import CleanReport, ReadDoc, remove_repeated
from tether.seeds.chunking import chunk_document, merge_short
from tether.seeds.discovery import Skip, discover, display_path
from tether.seeds.html_main import read_html_main
from tether.seeds.isolated import BINARY_FORMATS, BinaryRead, IsolatedReader
from tether.seeds.readers import READERS, read_text
from tether.seeds.seed_source import qa_text, resolve_source, seed_record
from tether.seeds.tabular import RawSeed, TabularResult, read_csv, read_jsonl
from tether.text.pages import PAGED_FORMATS, format_pages

EXTENSIONS = {
    ".md": "md",
    ".markdown": "md",
    ".rst": "rst",
    ".txt": "txt",
    ".text": "txt",
    ".html": "html",
    ".htm": "html",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
}
SNIFF_BYTES = 8192


@dataclass
class Ingested:
    documents: list[Document] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    seeds: list[Record] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)  # whole files, and single bad rows ("file:line")
    inputs: list[dict] = field(default_factory=list)  # {path, sha256, bytes} of every file read
    unchanged: int = 0  # documents and seeds already in the workspace from an earlier ingest
    cleaning: CleanReport = field(default_factory=CleanReport)  # boilerplate removed from the added documents


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def check_file(path: Path, raw: bytes | None, size: int, cfg: IngestConfig) -> str | None:
    """Reason to skip the file, or None when it is readable text of a supported format."""
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        supported = ", ".join(sorted({v for v in EXTENSIONS.values()}))
        return f"unsupported format '{path.suffix or '(none)'}' (supported: {supported})"
    if fmt not in cfg.formats:
        return f"format '{fmt}' not enabled (ingest.formats)"
    if size == 0:
        return "empty file"
    if size > cfg.max_file_mb * 1024 * 1024:
        return f"too large: {size / 1024 / 1024:.1f} MB > ingest.max_file_mb={cfg.max_file_mb:g}"
    assert raw is not None
    head = raw[:SNIFF_BYTES]
    if fmt in BINARY_FORMATS:
        return None  # their reader checks what they are (seeds/isolated.py)
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary content (NUL bytes), not a text document"
    return None


def ingest(
    paths: Iterable[Path],
    cfg: IngestConfig,
    known_docs: Iterable[Document] = (),
    known_chunks: Iterable[Chunk] = (),
    known_seed_ids: Iterable[str] = (),
    on_file: Callable[[Path], None] | None = None,
) -> Ingested:
    """Read `paths`; documents already known (same bytes) are reported as duplicates, not added twice."""
    out = Ingested()
    paths = list(paths)
    files = discover(paths, out.skipped, cfg.follow_symlinks)
    roots = [p.resolve() for p in paths if p.is_dir()]
    read: list[ReadDoc] = []
    previous = {d.doc_id: d for d in known_docs}
    doc_by_hash = dict(previous)
    pending_seeds: list[tuple[RawSeed, str]] = []
    with IsolatedReader(cfg.file_timeout_s) as binary_reader:
        _read_files(files, roots, cfg, out, read, pending_seeds, binary_reader, on_file)
    if cfg.boilerplate_min_docs_share is not None:
        remove_repeated(read, cfg.boilerplate_min_docs_share, cfg.boilerplate_min_docs, out.cleaning)
    for doc in read:
        _add_document(out, previous, doc_by_hash, doc, cfg)

    all_docs = list(doc_by_hash.values())
    chunks_by_doc: dict[str, list[Chunk]] = {}
    for c in [*known_chunks, *out.chunks]:
        chunks_by_doc.setdefault(c.doc_id, []).append(c)
    before, seen = set(known_seed_ids), set()
    for raw_seed, seed_file in pending_seeds:
        source, how = resolve_source(raw_seed, qa_text(raw_seed), all_docs, chunks_by_doc)
        rec = seed_record(raw_seed, seed_file, source, how)
        if rec.id in seen:
            out.skipped.append(
                Skip(f"{seed_file}:{raw_seed.line}", "duplicate seed (identical example already ingested)")
            )
            continue
        if rec.id in before:
            seen.add(rec.id)
            out.unchanged += 1
            continue
        seen.add(rec.id)
        out.seeds.append(rec)
    return out


def _read_files(
    files: list[Path],
    roots: list[Path],
    cfg: IngestConfig,
    out: Ingested,
    read: list[ReadDoc],
    pending_seeds: list[tuple[RawSeed, str]],
    binary_reader: IsolatedReader,
    on_file: Callable[[Path], None] | None,
) -> None:
    """Read each file into `read` (documents) or `pending_seeds`; each one that yields nothing into out.skipped."""
    for path in files:
        if on_file:
            on_file(path)
        shown = display_path(path)
        try:
            size = path.stat().st_size
            raw = path.read_bytes() if 0 < size <= cfg.max_file_mb * 1024 * 1024 else None
        except OSError as e:
            out.skipped.append(Skip(shown, f"cannot read: {e.strerror or e}"))
            continue
        reason = check_file(path, raw, size, cfg)
        if reason:
            out.skipped.append(Skip(shown, reason))
            continue
        assert raw is not None
        out.inputs.append({"path": shown, "sha256": hashlib.sha256(raw).hexdigest(), "bytes": size})
        if EXTENSIONS[path.suffix.lower()] in BINARY_FORMATS:
            fmt = EXTENSIONS[path.suffix.lower()]
            doc = _binary_doc(path, shown, fmt, raw, roots, binary_reader.read(raw, fmt, path.stem), out.skipped)
            if doc is not None:
                read.append(doc)
            continue
        try:
            text = _decode(raw).replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError as e:
            out.skipped.append(
                Skip(
                    shown,
                    f"not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}); convert it, "
                    f"e.g. iconv -f latin1 -t utf-8",
                )
            )
            continue
        if not text.strip():
            out.skipped.append(Skip(shown, "empty (whitespace only)"))
            continue
        fmt = EXTENSIONS[path.suffix.lower()]
        if fmt in ("jsonl", "csv"):
            tab: TabularResult = read_jsonl(text) if fmt == "jsonl" else read_csv(text)
            for line, why in tab.row_errors:
                out.skipped.append(Skip(f"{shown}:{line}", why))
            pending_seeds.extend((s, shown) for s in tab.seeds)
            for rd in tab.docs:
                row_path = shown if len(tab.docs) == 1 else f"{shown}:{rd.line}"
                parsed = read_text(rd.text, rd.title or row_path)
                if rd.title:
                    parsed.title = rd.title
                read.append(ReadDoc(row_path, fmt, parsed, rd.text.encode("utf-8"), None, len(parsed.text)))
            if not tab.seeds and not tab.docs and not tab.row_errors:
                out.skipped.append(Skip(shown, "no rows"))
            continue
        doc = _read_doc(path, shown, fmt, text, raw, roots, cfg)
        if not doc.parsed.text.strip():
            out.skipped.append(Skip(shown, "no text after removing markup"))
            continue
        read.append(doc)


def _binary_doc(
    path: Path, shown: str, fmt: str, raw: bytes, roots: list[Path], got: BinaryRead, skipped: list[Skip]
) -> ReadDoc | None:
    """A PDF/Word/PowerPoint file's document, or None with its reason in `skipped`. Scanned PDF pages (images
    without a text layer) are reported by page, as bad rows of a jsonl file are by line."""
    if got.parsed is None:
        skipped.append(Skip(shown, got.skip or "cannot be read"))
        return None
    ocr = "no OCR here: run it through OCR first (e.g. ocrmypdf) to ingest them"
    has_text = bool(got.parsed.text.replace("\f", "").strip())
    if got.scanned and not has_text:
        skipped.append(Skip(shown, f"no text layer: all {got.pages} pages are scanned images ({ocr})"))
        return None
    if not has_text:
        skipped.append(Skip(shown, f"no text in any of its {got.pages} pages" if got.pages else "no text"))
        return None
    if got.scanned:
        runs = _page_runs(got.scanned)
        skipped.append(
            Skip(
                f"{shown} {', '.join(format_pages(a, b) for a, b in runs)}",
                f"{len(got.scanned)} of {got.pages} pages are scanned images without a text layer: their text is "
                f"not ingested ({ocr})",
            )
        )
    return ReadDoc(
        shown,
        fmt,
        got.parsed,
        raw,
        _source_folder(path, roots),
        len(got.parsed.text) + got.furniture_chars,
        furniture_lines=got.furniture_lines,
        furniture_chars=got.furniture_chars,
        furniture=got.running,
    )


def _page_runs(pages: list[int]) -> list[tuple[int, int]]:
    """[3, 4, 5, 9] -> [(3, 5), (9, 9)]"""
    runs: list[tuple[int, int]] = []
    for p in pages:
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs


def _source_folder(path: Path, roots: list[Path]) -> str:
    """The folder given to ingest that holds `path` (a site export's template repeats across its subfolders),
    else the file's own folder (files named one by one, e.g. by a shell glob)."""
    resolved = path.resolve()
    for root in roots:
        if root in resolved.parents:
            return display_path(root)
    return display_path(path.parent)


def _read_doc(path: Path, shown: str, fmt: str, text: str, raw: bytes, roots: list[Path], cfg: IngestConfig) -> ReadDoc:
    folder = _source_folder(path, roots)
    if fmt == "html" and cfg.html_main_content:
        got = read_html_main(text, path.stem)
        return ReadDoc(
            shown,
            fmt,
            got.parsed,
            raw,
            folder,
            len(got.full.text),
            got.removed_lines,
            got.removed_chars,
            got.fallback,
            got.full,
        )
    parsed = READERS[fmt](text, path.stem)
    return ReadDoc(shown, fmt, parsed, raw, folder, len(parsed.text))


def _add_document(
    out: Ingested, previous: dict[str, Document], doc_by_hash: dict[str, Document], d: ReadDoc, cfg: IngestConfig
) -> None:
    doc_id = hashlib.sha256(d.raw).hexdigest()[:20]
    if doc_id in previous and previous[doc_id].path == d.shown:
        out.unchanged += 1  # the same file, ingested before
        return
    if doc_id in doc_by_hash:
        out.skipped.append(Skip(d.shown, f"duplicate document (same content as {doc_by_hash[doc_id].path})"))
        return
    parsed = d.parsed
    doc = Document(doc_id=doc_id, path=d.shown, format=d.fmt, title=parsed.title, text=parsed.text, n_bytes=len(d.raw))
    doc_by_hash[doc_id] = doc
    out.documents.append(doc)
    chunks = chunk_document(doc_id, parsed, cfg.chunk_size, cfg.chunk_overlap)
    chunks, merged = merge_short(parsed.text, chunks, cfg.chunk_size, cfg.min_chunk_chars)
    out.chunks.extend(chunks)
    rep = out.cleaning
    rep.chars_read += d.read_chars
    rep.main_lines += d.main_lines
    rep.main_chars += d.main_chars
    rep.repeated_lines += d.repeated_lines
    rep.repeated_chars += d.repeated_chars
    rep.chunks_merged += merged
    if d.fmt in PAGED_FORMATS:
        rep.paged_docs += 1
        rep.furniture_lines += d.furniture_lines
        rep.furniture_chars += d.furniture_chars
        if d.furniture:
            rep.furniture[d.shown] = d.furniture
    if d.fmt == "html":
        rep.html_pages += 1
        if d.fallback:
            rep.html_fallbacks.append((d.shown, d.fallback))
