"""Read a PDF into text with its structure: reading order, headings, paragraphs, and the page of every character.

What a chunk of a PDF needs to be worth a question: whole sentences (lines joined into paragraphs, words split by
a line-end hyphen joined again), no running headers, footers or page numbers in the middle of them, the section
it belongs to (headings from the PDF's bookmarks when it has them, else from font sizes), and the page it sits on
(text/pages.py: a form feed ends each page in the stored text). Pages that are images without a text layer
(scans) are counted and reported; there is no OCR here.

The library is PDFium through pypdfium2 (Apache-2.0 / BSD-3): bench/pdf_extraction.py measured it 13x faster
than pypdf and 26x faster than pdfminer.six with the same text, and it exposes what the structure needs (text
runs with boxes and font sizes, bookmarks with their target position, image objects, a clear password error).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import pypdfium2 as pdfium

from tether.seeds.pdf_headings import Headings, find_headings
from tether.seeds.pdf_layout import Line, image_cover, page_runs, reading_order
from tether.seeds.readers import Parsed, _close, _push
from tether.seeds.running_lines import find_running_lines
from tether.text.pages import PAGE_BREAK

log = logging.getLogger(__name__)

SCANNED_MAX_CHARS = 20  # a page with fewer characters of text...
SCANNED_MIN_COVER = 0.5  # ...and an image over at least half of it is a scan without a text layer
PARAGRAPH_GAP = 0.8  # vertical space between two lines, in font sizes, that starts a new paragraph
_SENTENCE_END = re.compile(r"[.!?:;]['\")\]]?$")
_BULLET = re.compile(r"^\s*(?:[•◦▪▸‣∙·*–—-]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+\S")  # a list item starts a new line
# a table of contents' or an index's entry: "2.1 Naming . . . . . 3"
_TOC_LEADER = re.compile(r"(?:\.\s?){5,}\s*(?:\d+|[ivxlcdm]+)\b", re.I)
_WORDS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_PDFIUM_ERRORS = {
    pdfium.raw.FPDF_ERR_PASSWORD: "encrypted: it needs a password to open (save an unprotected copy to ingest it)",
    pdfium.raw.FPDF_ERR_SECURITY: "encrypted with an unsupported security handler (save an unprotected copy)",
    pdfium.raw.FPDF_ERR_FORMAT: "broken PDF: its structure cannot be read (PDFium: data format error)",
    pdfium.raw.FPDF_ERR_FILE: "cannot be opened as a PDF (PDFium: file error)",
}


class PdfUnreadable(Exception):
    """A PDF that yields no document: the message is the one-line reason reported for the skipped file."""


@dataclass
class PdfRead:
    parsed: Parsed
    pages: int
    scanned: list[int] = field(default_factory=list)  # 1-based pages that are images without a text layer
    furniture_lines: int = 0  # running headers, footers and page numbers removed
    furniture_chars: int = 0
    headings_from: str = "none"  # "bookmarks", "font sizes" or "none"
    running: dict[str, int] = field(default_factory=dict)  # header/footer line -> pages it was removed from


def open_pdf(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        reason = _PDFIUM_ERRORS.get(getattr(e, "err_code", None), f"cannot be read by PDFium ({e})")
        if getattr(e, "err_code", None) == pdfium.raw.FPDF_ERR_FORMAT and b"%%EOF" not in data[-2048:]:
            reason = "truncated or broken PDF: it ends without the %%EOF marker (cut off in a download or copy?)"
        raise PdfUnreadable(reason) from e


def read_pdf(data: bytes, fallback_title: str) -> PdfRead:
    """The PDF's text, sections and page breaks; raises PdfUnreadable with the reason when there is none."""
    if b"%PDF-" not in data[:1024]:
        raise PdfUnreadable("not a PDF: no %PDF- header in its first 1024 bytes")
    pdf = open_pdf(data)
    try:
        pages: list[list[Line]] = []
        scanned: list[int] = []
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            lines = reading_order(page_runs(textpage))
            if sum(len(ln.text) for ln in lines) < SCANNED_MAX_CHARS and image_cover(page) >= SCANNED_MIN_COVER:
                scanned.append(i + 1)
            pages.append(lines)
            textpage.close()
            page.close()
        heads = find_headings(pdf, pages)
        title = _metadata_title(pdf)
    finally:
        pdf.close()
    running = find_running_lines([[ln.text for ln in lines] for lines in pages], keep=frozenset(heads.levels))
    for p, lines in enumerate(pages):  # a table of contents' entries: the bookmarks or headings carry them
        running.drop[p].update(j for j, ln in enumerate(lines) if _TOC_LEADER.search(ln.text))
    parsed = _Writer(pages, running.drop, heads).write()
    parsed.title = title or _cover_title(pages) or heads.first_title or fallback_title
    return PdfRead(
        parsed,
        len(pages),
        scanned,
        sum(len(d) for d in running.drop),
        sum(len(pages[p][j].text) for p, d in enumerate(running.drop) for j in d),
        heads.source,
        dict(running.removed.most_common()),
    )


def _metadata_title(pdf: pdfium.PdfDocument) -> str:
    """The document's own title, unless it is a tool's placeholder ("untitled", "Microsoft Word - x.docx")."""
    title = " ".join((pdf.get_metadata_dict().get("Title") or "").split())
    if not title or re.search(r"untitled|^microsoft word|\.(docx?|tex|dvi|indd|pdf)$", title, re.I):
        return ""
    return title[:200]


def _cover_title(pages: list[list[Line]]) -> str:
    """The largest line of the first page with text: a title page's title, a paper's title (its running header
    too, when the title repeats at the top of every page)."""
    for lines in pages:
        kept = [ln for ln in lines if sum(ch.isalpha() for ch in ln.text) >= 2]
        if kept:
            return max(kept, key=lambda ln: ln.size).text.strip()[:120]
    return ""


def _vocabulary(pages: list[list[Line]]) -> set[str]:
    return {w.casefold() for lines in pages for ln in lines for w in _WORDS.findall(ln.text.replace("\x02", "-"))}


class _Writer:
    """Lines → text: paragraphs joined, hyphenation undone, headings as their own paragraphs and section marks,
    a form feed at every page's end."""

    def __init__(self, pages: list[list[Line]], drop: list[set[int]], heads: Headings) -> None:
        self.pages = [[ln for j, ln in enumerate(lines) if j not in d] for lines, d in zip(pages, drop, strict=True)]
        # heading positions in the kept lines
        self.levels: dict[tuple[int, int], int] = {}
        self.continued: set[tuple[int, int]] = set()
        for p, (lines, d) in enumerate(zip(pages, drop, strict=True)):
            new_index = {j: k for k, j in enumerate(j for j in range(len(lines)) if j not in d)}
            for (hp, j), level in heads.levels.items():
                if hp == p and j in new_index:
                    self.levels[(p, new_index[j])] = level
                    self.continued.update((p, new_index[m]) for m in heads.continued.get((hp, j), []) if m in new_index)
        self.vocab = _vocabulary(self.pages)
        # a page of short lines (a table, a list) has its own right edge far left of the text's: measure wrapping
        # against the document's usual right edge instead
        rights = sorted(ln.region_right for lines in self.pages for ln in lines if ln.region == 0)
        usual = rights[len(rights) // 2] if rights else 0.0
        for lines in self.pages:
            for ln in lines:
                if ln.region == 0:
                    ln.region_right = max(ln.region_right, usual)
        self.parts: list[str] = []
        self.marks: list[tuple[list[str], int]] = [([], 0)]
        self.stack: list[tuple[int, str]] = []

    @property
    def length(self) -> int:
        return sum(len(s) for s in self.parts)

    def _trim_end(self) -> None:
        """Drop trailing spaces and newlines (never a page break) before writing a separator."""
        while self.parts:
            last = self.parts[-1].rstrip(" \n")
            if last:
                self.parts[-1] = last
                return
            self.parts.pop()

    def _new_block(self) -> None:
        """A blank line before a new paragraph or heading; one newline right after a page break."""
        self._trim_end()
        if self.parts:
            self.parts.append("\n" if self.parts[-1].endswith(PAGE_BREAK) else "\n\n")

    def write(self) -> Parsed:
        prev: Line | None = None  # the last body line written, when a next line may continue its paragraph
        prev_page = -1
        for p, lines in enumerate(self.pages):
            carry = False  # this page's first line continues the last page's paragraph
            if p:
                self._trim_end()
                first = lines[0] if lines else None
                carry = (
                    prev is not None
                    and first is not None
                    and prev_page == p - 1
                    and (p, 0) not in self.levels
                    and _continues(prev, first)
                )
                if not carry:
                    self.parts.append(PAGE_BREAK if self.parts and self.parts[-1].endswith(PAGE_BREAK) else "\n\f")
                    prev = None
            for j, line in enumerate(lines):
                if (p, j) in self.continued:
                    continue
                if (p, j) in self.levels:
                    self._heading(p, j, line)
                    prev = None
                    continue
                if prev is None:
                    self._new_block()
                    self.parts.append(_plain(line.text))
                else:
                    self._join(prev, line, page_break=carry and j == 0)
                prev, prev_page = line, p
        self._trim_end()
        text = "".join(self.parts) + "\n"
        return Parsed("", text, _close(self.marks, len(text)), paged=True)

    def _heading(self, p: int, j: int, line: Line) -> None:
        self._new_block()
        extra = [self.pages[p][m].text for m in range(j + 1, len(self.pages[p])) if (p, m) in self.continued]
        title = " ".join(_plain(t).strip() for t in [line.text, *extra])
        self.marks.append((_push(self.stack, self.levels[(p, j)], title), self.length))
        self.parts.append(title)

    def _join(self, prev: Line, line: Line, page_break: bool) -> None:
        """Write `line` after `prev`: joined into its paragraph (a line-end hyphen undone unless the document
        spells the word with a hyphen), on a new line, or after a blank line."""
        text = _plain(line.text)
        sep = " " if page_break else _separator(prev, line)
        last = self.parts[-1]
        stem = re.search(r"([^\W\d_]+)-$", last)
        word = re.match(r"[^\W\d_]+", text)
        if sep == " " and stem and word:
            sep = ""
            if word.group(0)[0].islower():
                hyphenated = f"{stem.group(1)}-{word.group(0)}".casefold()
                keep = hyphenated in self.vocab and (stem.group(1) + word.group(0)).casefold() not in self.vocab
                self.parts[-1] = last if keep else last[:-1]
        if not page_break:
            self.parts.append(sep + text)
        elif sep:  # the page ends between two words: the form feed takes the place of the space
            self.parts.append(PAGE_BREAK + text)
        else:  # ...or inside a word: after the word
            token, _, rest = text.partition(" ")
            self.parts.append(token + PAGE_BREAK + rest)


def _plain(text: str) -> str:
    return text[:-1] + "-" if text.endswith("\x02") else text.replace("\x02", "-")


def _fills(line: Line, after: Line | None = None) -> bool:
    """Whether `line` was wrapped: it reaches its region's right edge, or (ragged right) the first word of the
    line `after` it would not have fitted at its end."""
    slack = line.region_right - line.right
    if slack <= 1.5 * max(line.size, 1.0):
        return True
    if after is None or not after.text.strip():
        return False
    char_width = (after.right - after.left) / max(len(after.text), 1)
    return slack < (len(after.text.split()[0]) + 1) * char_width


def _separator(prev: Line, line: Line) -> str:
    if line.region != prev.region or abs(line.size - prev.size) > 1.0:
        return "\n\n"
    if _BULLET.match(line.text):
        return "\n"
    if " | " in prev.text or " | " in line.text:  # table rows stay one per line
        return "\n\n" if prev.bottom - line.top > PARAGRAPH_GAP * max(line.size, 1.0) else "\n"
    if prev.bottom - line.top > PARAGRAPH_GAP * max(line.size, 1.0):
        return "\n\n"
    if _fills(prev, line) and line.left < prev.left + 2 * max(line.size, 1.0):
        return " "
    indented = line.left > line.region_left + 0.8 * max(line.size, 1.0)
    if _SENTENCE_END.search(prev.text) and indented:
        return "\n\n"
    return "\n"


def _continues(prev: Line, first: Line) -> bool:
    """Whether the first line of a page continues the paragraph the last page ended in."""
    if abs(first.size - prev.size) > 1.0 or not _fills(prev, first) or _SENTENCE_END.search(prev.text):
        return False
    start = first.text.lstrip()[:1]
    return start.islower() or prev.text.endswith(("-", "\x02"))
