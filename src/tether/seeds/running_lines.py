"""Running headers, footers and page numbers of a paged document: lines at a page's edge that repeat across pages.

Why: a printed manual repeats "Chapter 3: Utilities" or "User Guide" at the top of every page and a page number
at the top or bottom. Left in, they land in the middle of sentences that run across pages and become chunk text
that gets concepts and questions. This is the repeated-line logic of seeds/boilerplate.py applied to the pages of
one document instead of the documents of one folder, with two changes a printed page needs:
- only a page's first and last EDGE_LINES lines are candidates (a running header never sits mid-page);
- a page number is no part of the line ("Chapter 3: Utilities 6" and "... 7" are one header), and a line that
  is nothing but a page number ("12", "- 12 -", "Page 12 of 40", "xii") goes wherever it sits at an edge.

It works on plain lines in reading order, so bench/pdf_extraction.py applies the same rule to every library.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from tether.seeds.boilerplate import find_repeated, normalise
from tether.seeds.readers import Parsed, Section

EDGE_LINES = 2  # a page's first and last lines with text: where running headers and footers sit
MIN_PAGES = 3  # an edge line repeated on at least this many pages is a running header or footer...
FOLIO_MIN_SHARE = 0.2  # printed page numbers in step with the page index on this share of pages are page numbers
MIN_PAGES_NUMBERED = 2  # ...or on this many when it carries a page number ("Chapter 2: Naming 3", "... 4")

_PAGE_NUMBER = re.compile(
    r"^[\s\-–—|•·]*(?:page\s+|p\.\s*)?(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:/|of)\s*\d{1,4})?[\s\-–—|•·]*$",
    re.IGNORECASE,
)
_NUMBER_AT_END = re.compile(r"\s(\d{1,4})\s*$")
_NUMBER_AT_ENDS = re.compile(r"^\s*(?:page\s+)?\d{1,4}\s+|\s+(?:page\s+)?\d{1,4}\s*$", re.IGNORECASE)


def is_page_number(line: str) -> bool:
    return bool(line.strip()) and bool(_PAGE_NUMBER.match(line.strip()))


def running_key(line: str) -> str:
    """The line as compared across pages: without a page number at either end, normalised as boilerplate does."""
    return normalise(_NUMBER_AT_ENDS.sub(" ", line))


def _edge_indices(lines: list[str]) -> list[int]:
    filled = [i for i, ln in enumerate(lines) if ln.strip()]
    return sorted(set(filled[:EDGE_LINES] + filled[-EDGE_LINES:]))


def _folio_lines(pages: list[list[str]], edges: list[list[int]]) -> set[tuple[int, int]]:
    """Edge lines ending (or starting) with the page's printed number: "4.5. Building Formulas 37" on a page
    whose number is 37 heads that page alone, so it never repeats; but the printed numbers run in step with the
    page index (a constant offset on many pages), which no sentence's number does."""
    found: list[tuple[int, int, int]] = []
    for p, (lines, idx) in enumerate(zip(pages, edges, strict=True)):
        for i in idx:
            m = _NUMBER_AT_END.search(lines[i])  # at the end only: "2 Naming" may open printed page 2
            if m:
                found.append((p, i, p - int(m.group(1))))
    offsets = Counter(off for _, _, off in {(p, off): (p, 0, off) for p, _, off in found}.values())
    common = {off for off, n in offsets.items() if n >= max(MIN_PAGES, FOLIO_MIN_SHARE * len(pages))}
    return {(p, i) for p, i, off in found if off in common}


@dataclass
class RunningLines:
    """Per page, the indices of the lines to drop; and each distinct header/footer with the pages it left."""

    drop: list[set[int]]
    removed: Counter[str] = field(default_factory=Counter)
    page_numbers: int = 0


def find_running_lines(
    pages: list[list[str]], min_pages: int = MIN_PAGES, keep: frozenset[tuple[int, int]] = frozenset()
) -> RunningLines:
    """Headers, footers and page numbers among `pages` (each a list of lines in reading order); the lines in
    `keep` (page, line), such as headings found from bookmarks, are never dropped."""
    edges = [[i for i in _edge_indices(lines) if (p, i) not in keep] for p, lines in enumerate(pages)]
    as_docs = []  # each page's edge lines as one "document", so boilerplate counts pages as it counts documents
    for lines, idx in zip(pages, edges, strict=True):
        text = "\n".join(running_key(lines[i]) for i in idx) + "\n"
        as_docs.append(Parsed("", text, [Section([], 0, len(text))]))
    repeated = find_repeated(as_docs, 0.0, min_pages).lines if len(pages) >= min_pages else {}
    # the same words with a different number at one end on two pages: a chapter's running header
    numbered: dict[str, set[str]] = {}
    for lines, idx in zip(pages, edges, strict=True):
        for i in idx:
            m = _NUMBER_AT_ENDS.search(lines[i])
            if m and (key := running_key(lines[i])):
                numbered.setdefault(key, set()).add(m.group(0).strip())
    repeated.update({k: len(v) for k, v in numbered.items() if len(v) >= MIN_PAGES_NUMBERED})
    folio = _folio_lines(pages, edges)
    out = RunningLines([set() for _ in pages])
    for p, (lines, idx) in enumerate(zip(pages, edges, strict=True)):
        for i in idx:
            key = running_key(lines[i])
            if is_page_number(lines[i]):
                out.drop[p].add(i)
                out.page_numbers += 1
            elif key and (key in repeated or (p, i) in folio):
                out.drop[p].add(i)
                out.removed[key] += 1
    return out
