"""Which lines of a PDF are headings, and at what level: from its bookmarks, else from its font sizes.

Why both: the bookmarks (the outline a PDF viewer shows in its sidebar) are the author's own table of contents,
with levels and target pages, and LaTeX, texinfo, Word and most documentation tools write them. A PDF without
bookmarks still sets its headings larger than its body text. Bookmarks are used when enough of them are found on
their target pages (a title that is not on the page cannot mark where its section starts); the font sizes
otherwise.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field

import pypdfium2 as pdfium

from tether.seeds.pdf_layout import Line
from tether.seeds.running_lines import is_page_number

log = logging.getLogger(__name__)

MIN_BOOKMARKS_FOUND = 0.5  # share of bookmarks found on their page for the bookmarks to define the sections
HEADING_MIN_RATIO = 1.15  # a heading's font is at least this much larger than the body's...
HEADING_MAX_SHARE = 0.15  # ...a heading size holds at most this share of the text...
HEADING_MAX_MEAN_CHARS = 80  # ...in short lines
HEADING_MAX_CHARS = 150
MAX_LEVELS = 3
_NUMBERING = re.compile(r"^(?:(?:chapter|appendix|section|part)\s+)?(?:\d+|[A-Z])(?:\.\d+)*\.?\s+(?=\S)", re.I)


@dataclass
class Headings:
    levels: dict[tuple[int, int], int] = field(default_factory=dict)  # (page index, line index) -> level, 1 = top
    continued: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # a heading wrapped over more lines
    source: str = "none"  # bookmarks / font sizes / none
    first_title: str = ""


def heading_key(text: str) -> str:
    """Compare a bookmark's title with a line: without section numbering, punctuation, spacing or case."""
    return re.sub(r"\W+", "", _NUMBERING.sub("", text.strip())).casefold()


def _plain_key(text: str) -> str:
    """The same with any numbering kept: "R and statistics" is no section "R" titled "and statistics"."""
    return re.sub(r"\W+", "", text).casefold()


def _bookmarks(pdf: pdfium.PdfDocument) -> list[tuple[int, str, int, float | None]]:
    """(level from 1, title, page index, target y or None) of every bookmark that targets a page."""
    out = []
    try:
        for item in pdf.get_toc(max_depth=8):
            dest = item.get_dest()
            index = dest.get_index() if dest is not None else None
            if index is None or not (0 <= index < len(pdf)):
                continue
            mode, pos = dest.get_view()
            y = pos[1] if mode == pdfium.raw.PDFDEST_VIEW_XYZ and len(pos) > 1 and pos[1] else None
            out.append((item.level + 1, item.get_title() or "", index, y))
    except pdfium.PdfiumError as e:  # a broken outline: the text is still readable, headings come from fonts
        log.info("PDF bookmarks unreadable (%s): headings from font sizes", e)
        return []
    return out


def _find_title(
    lines: list[Line], key: str, plain: str, y: float | None, taken: set[int]
) -> tuple[int, list[int]] | None:
    """The line (and the lines it wraps onto) that reads as the bookmark title (`key`; `plain`: with its numbering
    kept, which the line may number further: "1.3 R and statistics"), nearest to `y`."""
    hits: list[tuple[float, int, list[int]]] = []
    for i, line in enumerate(lines):
        if i in taken:
            continue
        got, more = heading_key(line.text), []
        j = i
        while got != key and key.startswith(got) and got and j + 1 < len(lines) and len(more) < 3:
            j += 1
            got += heading_key(lines[j].text)
            more.append(j)
        if got == key or (not more and _plain_key(line.text).endswith(plain) and plain):
            hits.append((abs(line.top - y) if y is not None else float(i), i, more))
    if not hits:
        return None
    _, i, more = min(hits)
    return i, more


def from_bookmarks(marks: list[tuple[int, str, int, float | None]], pages: list[list[Line]]) -> Headings:
    out = Headings(source="bookmarks")
    taken: dict[int, set[int]] = {}
    for level, title, index, y in marks:
        key = heading_key(title)
        if not key:
            continue
        for p in (index, index + 1):  # a target at a page's foot may open the section on the next page
            if p >= len(pages):
                break
            found = _find_title(pages[p], key, _plain_key(title), y if p == index else None, taken.setdefault(p, set()))
            if found:
                i, more = found
                out.levels[(p, i)] = level
                if more:
                    out.continued[(p, i)] = more
                taken[p].update([i, *more])
                out.first_title = out.first_title or (title.strip() if level == 1 else "")
                break
    return out


def from_font_sizes(pages: list[list[Line]]) -> Headings:
    chars: Counter[float] = Counter()
    count: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            chars[line.size] += len(line.text)
            count[line.size] += 1
    if not chars:
        return Headings()
    total = sum(chars.values())
    body = chars.most_common(1)[0][0]
    sizes = sorted(
        (
            s
            for s in chars
            if s >= body * HEADING_MIN_RATIO
            and chars[s] <= HEADING_MAX_SHARE * total
            and chars[s] / count[s] <= HEADING_MAX_MEAN_CHARS
        ),
        reverse=True,
    )
    out = Headings(source="font sizes" if sizes else "none")
    rank = {s: min(i + 1, MAX_LEVELS) for i, s in enumerate(sizes)}
    for p, lines in enumerate(pages):
        open_at: int | None = None
        for i, line in enumerate(lines):
            text = line.text.strip()
            is_head = (
                line.size in rank
                and len(text) <= HEADING_MAX_CHARS
                and sum(ch.isalpha() for ch in text) >= 2
                and not is_page_number(text)
            )
            if not is_head:
                open_at = None
                continue
            prev = lines[open_at] if open_at is not None else None
            if prev is not None and prev.size == line.size and prev.bottom - line.top < line.size:
                out.continued.setdefault((p, open_at), []).append(i)  # the heading wraps onto this line
                continue
            out.levels[(p, i)] = rank[line.size]
            out.first_title = out.first_title or (text if rank[line.size] == 1 else "")
            open_at = i
    return out


def find_headings(pdf: pdfium.PdfDocument, pages: list[list[Line]]) -> Headings:
    marks = _bookmarks(pdf)
    if marks:
        got = from_bookmarks(marks, pages)
        if len(got.levels) >= MIN_BOOKMARKS_FOUND * len(marks):
            return got
        log.info(
            "only %d of %d PDF bookmarks found on their pages: headings from font sizes", len(got.levels), len(marks)
        )
    return from_font_sizes(pages)
