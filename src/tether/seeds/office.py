"""Read Word (.docx) and PowerPoint (.pptx) files into text with their structure.

Why not convert to HTML first (mammoth): the structure we need is in the file's own markup, and reading it
directly keeps what HTML conversion loses or invents. A Word heading is a paragraph style ("Heading 2", or a
custom style based on one, or an outline level); a list item carries its numbering level and format; a table is
rows of cells, written one row per line as " | "-joined cells like the HTML reader's tables, so a question can
ask about one row. Page headers and footers live in separate parts of the file and are never read, which is the
running-header removal a PDF needs done by construction. A slide deck is paged like a PDF (one form feed per
slide, text/pages.py) with each slide's title as its heading, so a row's lineage names its slide.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any

from tether.seeds.readers import Parsed, _close, _push
from tether.text.pages import PAGE_END

log = logging.getLogger(__name__)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97-2003 files and password-protected Office files
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.I)
_LIST_STYLE_LEVEL = re.compile(r"^List(?: Bullet| Number| Continue)? ([2-9])$")
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class OfficeUnreadable(Exception):
    """A Word or PowerPoint file that yields no document: the message is the one-line reason."""


def _load(data: bytes, kind: str, ext: str, opener: Callable[[IO[bytes]], Any], package_error: type[Exception]):
    """The file opened by its library (`opener`), or OfficeUnreadable with a reason: what it is instead when it is
    no Office Open XML zip, else what the library could not parse."""
    if data.startswith(_OLE_MAGIC):
        raise OfficeUnreadable(
            f"encrypted or legacy {kind} file (an OLE container, not a {ext} zip): save it unprotected as {ext}"
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise OfficeUnreadable(f"not a {kind} {ext} file (not a zip archive; truncated or renamed?)")
    try:
        return opener(io.BytesIO(data))
    except (package_error, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise OfficeUnreadable(f"broken {ext}: {type(e).__name__}: {str(e)[:160]}") from e


class _Text:
    """Blocks joined by blank lines, with heading marks for the sections."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.marks: list[tuple[list[str], int]] = [([], 0)]
        self.stack: list[tuple[int, str]] = []
        self.title = ""

    def block(self, text: str, sep: str = "\n\n") -> None:
        text = text.strip("\n")
        if not text.strip():
            return
        if self.parts and not self.parts[-1].endswith("\f\n"):
            self.parts.append(sep)
            self.length += len(sep)
        self.parts.append(text)
        self.length += len(text)

    def heading(self, level: int, text: str) -> None:
        text = " ".join(text.split())
        if not text:
            return
        self.block(text)
        self.marks.append((_push(self.stack, level, text), self.length - len(text)))
        self.title = self.title or text

    def page_end(self) -> None:
        self.parts.append(PAGE_END)
        self.length += len(PAGE_END)

    def parsed(self, fallback_title: str, paged: bool = False) -> Parsed:
        text = "".join(self.parts).rstrip("\n\f") + "\n"
        return Parsed(self.title or fallback_title, text, _close(self.marks, len(text)), paged=paged)


# --- Word ---------------------------------------------------------------------------------------------------


def _heading_level(paragraph) -> int | None:  # paragraph: docx.text.paragraph.Paragraph
    """1-9 for a heading, 0 for the document's Title (above its Heading 1), None for body text."""
    style = paragraph.style
    while style is not None:
        name = style.name or ""
        if name.lower() == "title":
            return 0
        m = _HEADING_STYLE.match(name)
        if m:
            return int(m.group(1))
        style = style.base_style
    ppr = paragraph._p.pPr
    level = ppr.find(f"{_W}outlineLvl") if ppr is not None else None
    if level is not None and (val := level.get(f"{_W}val", "")).isdigit() and int(val) < 9:
        return int(val) + 1
    return None


def _num_pr(paragraph):
    """The paragraph's numbering (its own, else its style's): (numId, level) or None."""
    for ppr in (paragraph._p.pPr, paragraph.style.element.pPr if paragraph.style is not None else None):
        num = ppr.numPr if ppr is not None else None
        if num is not None and num.numId is not None and num.numId.val:
            level = num.ilvl.val if num.ilvl is not None else 0
            # Word's own "List Bullet 2", "List Number 3" styles nest by style, each with a list of its own
            m = _LIST_STYLE_LEVEL.search(paragraph.style.name or "") if paragraph.style is not None else None
            return num.numId.val, level or (int(m.group(1)) - 1 if m else 0)
    return None


def _number_formats(document) -> dict[tuple[int, int], str]:
    """(numId, level) -> numFmt ("bullet", "decimal", ...) from the numbering part."""
    try:
        root = document.part.numbering_part.element
    except (KeyError, NotImplementedError) as e:  # a document without lists has no numbering part
        log.debug("no numbering part: %s", e)
        return {}
    abstract = {}
    for a in root.iter(f"{_W}abstractNum"):
        fmts = {}
        for lvl in a.iter(f"{_W}lvl"):
            fmt = lvl.find(f"{_W}numFmt")
            fmts[int(lvl.get(f"{_W}ilvl", "0"))] = fmt.get(f"{_W}val", "decimal") if fmt is not None else "decimal"
        abstract[a.get(f"{_W}abstractNumId")] = fmts
    out = {}
    for num in root.iter(f"{_W}num"):
        ref = num.find(f"{_W}abstractNumId")
        for level, fmt in abstract.get(ref.get(f"{_W}val") if ref is not None else None, {}).items():
            out[(int(num.get(f"{_W}numId", "0")), level)] = fmt
    return out


def _body_blocks(document) -> Iterator:
    """Paragraphs and tables in document order, including those inside content controls (w:sdt)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    def walk(element):
        for child in element.iterchildren():
            if child.tag == f"{_W}p":
                yield Paragraph(child, document)
            elif child.tag == f"{_W}tbl":
                yield Table(child, document)
            elif child.tag == f"{_W}sdt":
                content = child.find(f"{_W}sdtContent")
                if content is not None:
                    yield from walk(content)

    yield from walk(document.element.body)


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is returned once per grid column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def read_docx(data: bytes, fallback_title: str) -> Parsed:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    document = _load(data, "Word", ".docx", docx.Document, PackageNotFoundError)
    formats = _number_formats(document)
    out = _Text()
    counters: dict[tuple[int, int], int] = {}
    in_list = False
    for block in _body_blocks(document):
        if isinstance(block, Table):
            out.block("\n".join(_table_rows(block)))
            in_list = False
            continue
        text = block.text.strip()
        level = _heading_level(block)
        if level is not None:
            out.heading(level, text)
            in_list = False
            continue
        num = _num_pr(block)
        if num is None:
            out.block(text)
            in_list = False
            continue
        num_id, depth = num
        for key in [k for k in counters if k[0] == num_id and k[1] > depth]:
            del counters[key]  # a deeper list restarts under each item of this level
        counters[(num_id, depth)] = counters.get((num_id, depth), 0) + 1
        fmt = formats.get((num_id, depth), "bullet")
        marker = "-" if fmt in ("bullet", "none") else f"{counters[(num_id, depth)]}."
        out.block("  " * depth + f"{marker} {text}", sep="\n" if in_list else "\n\n")
        in_list = True
    core_title = (document.core_properties.title or "").strip()
    parsed = out.parsed(fallback_title)
    parsed.title = core_title or parsed.title
    return parsed


# --- PowerPoint ---------------------------------------------------------------------------------------------


def read_pptx(data: bytes, fallback_title: str) -> Parsed:
    import pptx
    from pptx.exc import PackageNotFoundError

    deck = _load(data, "PowerPoint", ".pptx", pptx.Presentation, PackageNotFoundError)
    out = _Text()
    for n, slide in enumerate(deck.slides):
        if n:
            out.page_end()
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
        out.heading(1, title or f"Slide {n + 1}")
        shapes = sorted(
            (s for s in slide.shapes if s is not title_shape), key=lambda s: ((s.top or 0) // 20000, s.left or 0)
        )
        for shape in shapes:
            if shape.has_text_frame:
                lines = [
                    "  " * p.level + ("- " if p.level or len(shape.text_frame.paragraphs) > 1 else "") + p.text.strip()
                    for p in shape.text_frame.paragraphs
                    if p.text.strip()
                ]
                out.block("\n".join(lines))
            elif getattr(shape, "has_table", False) and shape.has_table:
                rows = [" | ".join(" ".join(c.text.split()) for c in row.cells) for row in shape.table.rows]
                out.block("\n".join(r for r in rows if r.strip(" |")))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                out.block(f"Notes: {notes}")
    parsed = out.parsed(fallback_title, paged=True)
    parsed.title = (deck.core_properties.title or "").strip() or parsed.title
    return parsed
