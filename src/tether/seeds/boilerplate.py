"""Remove lines that repeat across many documents of one source folder: headers, footers, navigation.

Why: a site export or a set of generated pages repeats its template on every page ("Prev | Up | Home | Next",
"Keyboard shortcuts", "Copyright ..."). Main-content extraction catches most of it in HTML, but not in markdown,
reStructuredText or text exports, nor on pages too small for it. A line that recurs verbatim in a large share of a
folder's documents is template, not a fact of one document; left in, it becomes chunk text that gets concepts and
questions, and its many copies outweigh real text in coverage.

What is never removed, because it repeats without being template:
- lines inside code blocks (`Parsed.verbatim`): "fn main() {" is in half the pages of a programming book;
- lines without a letter: "}", "-----" (a reStructuredText or setext heading underline), table rules;
- a heading, unless everything under it goes too: "## Penalties" heads real text in many documents, while a
  "Keyboard shortcuts" heading over only template lines is template itself.

Every distinct line removed is returned with the number of documents it was found in, for the run log.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from tether.seeds.readers import Parsed, Section

_MARKERS = re.compile(r"^(?:#{1,6}\s+|[-*+\u2022]\s+)")
_ADORNMENT = re.compile(r"^\s*([=\-~^\"'`#*+:._])\1*\s*$")


def normalise(line: str) -> str:
    """Compare lines the way a reader sees them: case, spacing, list bullets and heading marks do not matter."""
    s = " ".join(line.split()).casefold()
    s = _MARKERS.sub("", s)
    return s.rstrip("#").strip()


@dataclass
class _Line:
    start: int
    end: int  # including its newline
    key: str  # normalised text; "" for lines that are never candidates (blank, no letter, in a code block)
    code: bool = False  # inside a code block
    heading_of: int | None = None  # index of the section this line is the heading of


def _in_span(starts: list[int], start: int, end: int) -> range:
    """Indices of the lines (by their sorted start offsets) that begin in [start, end)."""
    return range(bisect.bisect_left(starts, start), bisect.bisect_left(starts, end))


def _lines(parsed: Parsed) -> list[_Line]:
    text = parsed.text
    out: list[_Line] = []
    pos = 0
    verbatim = sorted(parsed.verbatim)
    v = 0
    for raw in text.splitlines(keepends=True):
        start, pos = pos, pos + len(raw)
        while v < len(verbatim) and verbatim[v][1] <= start:
            v += 1
        in_code = v < len(verbatim) and verbatim[v][0] <= start < verbatim[v][1]
        key = "" if in_code or not any(ch.isalpha() for ch in raw) else normalise(raw)
        out.append(_Line(start, pos, key, in_code))
    # the heading line of each section: the first of its opening lines that reads as its heading
    starts = [ln.start for ln in out]
    for si, sec in enumerate(parsed.sections):
        if not sec.heading:
            continue
        want = normalise(sec.heading[-1])
        opening = [out[j] for j in _in_span(starts, sec.start, sec.end) if text[out[j].start : out[j].end].strip()][:3]
        for ln in opening:  # 3: a reStructuredText overline, the title, its underline
            if ln.key == want:
                ln.heading_of = si
                break
    return out


@dataclass
class RepeatedLines:
    """Lines found in at least `threshold` of `docs` documents, with the number of documents holding each."""

    docs: int
    threshold: int
    lines: dict[str, int] = field(default_factory=dict)


def find_repeated(docs: list[Parsed], min_share: float, min_docs: int) -> RepeatedLines:
    """Lines in at least max(min_docs, ceil(min_share * len(docs))) of the documents."""
    threshold = max(min_docs, math.ceil(min_share * len(docs)))
    counts: Counter[str] = Counter()
    for p in docs:
        counts.update({ln.key for ln in _lines(p) if ln.key})
    if len(docs) < threshold:
        return RepeatedLines(len(docs), threshold)
    return RepeatedLines(len(docs), threshold, {k: n for k, n in counts.items() if n >= threshold})


@dataclass
class Stripped:
    parsed: Parsed
    lines: int  # non-blank lines removed
    chars: int  # characters of those lines (without their newlines)
    removed: set[str] = field(default_factory=set)  # their normalised text


EDGE_LINES = 3  # a page's first and last lines: where a header or footer line sits alone


def _drop_flags(parsed: Parsed, lines: list[_Line], repeated: dict[str, int]) -> list[bool]:
    """Which lines go: repeated lines that sit in a block of repeated lines or at the page's edge; headings only
    with all that is under them.

    A repeated line alone inside the text is a label the text uses ("Filename: src/main.rs" before a third of the
    Rust book's listings, "Note"), not template: menus and footers come as blocks of lines, and a single-line
    navigation bar sits at the top or bottom of the page."""
    freq = [bool(ln.key) and ln.key in repeated for ln in lines]
    # neighbours are the nearest lines with text, skipping heading underlines
    solid = [i for i, ln in enumerate(lines) if _text(parsed, ln).strip() and not _ADORNMENT.match(_text(parsed, ln))]
    solid_set = set(solid)
    starts = [ln.start for ln in lines]
    drop = [False] * len(lines)
    for k, i in enumerate(solid):
        if not freq[i] or lines[i].heading_of is not None:
            continue
        edge = k < EDGE_LINES or k >= len(solid) - EDGE_LINES
        block = (k > 0 and freq[solid[k - 1]]) or (k + 1 < len(solid) and freq[solid[k + 1]])
        drop[i] = edge or block
    for i, ln in enumerate(lines):
        if ln.heading_of is None or not freq[i]:
            continue
        sec = parsed.sections[ln.heading_of]
        around = [j for j in _in_span(starts, sec.start, sec.end) if j != i]
        body = [j for j in around if j in solid_set]
        if all(drop[j] for j in body):  # nothing but template under it: the heading is template too
            drop[i] = True
            for j in around:  # with its underline / overline
                if abs(j - i) == 1 and _ADORNMENT.match(_text(parsed, lines[j])):
                    drop[j] = True
    return drop


def _text(parsed: Parsed, ln: _Line) -> str:
    return parsed.text[ln.start : ln.end]


def strip_repeated(parsed: Parsed, repeated: dict[str, int]) -> Stripped:
    """`parsed` without the repeated lines, sections and code spans moved to match; runs of blank lines left by
    a removal are collapsed to one."""
    if not repeated:
        return Stripped(parsed, 0, 0)
    lines = _lines(parsed)
    drop = _drop_flags(parsed, lines, repeated)
    if not any(drop):
        return Stripped(parsed, 0, 0)
    text = parsed.text
    removed: list[tuple[int, int]] = []  # old spans cut out, in order
    n_lines = n_chars = 0
    keys: set[str] = set()
    last_blank = True  # start of text counts as blank: no leading blank lines
    for ln, d in zip(lines, drop, strict=True):
        blank = not text[ln.start : ln.end].strip() and "\f" not in text[ln.start : ln.end]  # page ends stay
        if d:
            n_lines += 1
            n_chars += len(text[ln.start : ln.end].rstrip("\n"))
            keys.add(ln.key)
        if d or (blank and last_blank and not ln.code):
            removed.append((ln.start, ln.end))
            continue
        last_blank = blank
    kept = []
    prev = 0
    for s, e in removed:
        kept.append(text[prev:s])
        prev = e
    kept.append(text[prev:])
    new_text = "".join(kept)

    def move(pos: int) -> int:
        return pos - sum(min(e, pos) - s for s, e in removed if s < pos)

    gone = [
        parsed.sections[ln.heading_of].heading
        for ln, d in zip(lines, drop, strict=True)
        if d and ln.heading_of is not None
    ]
    sections = []
    for sec in parsed.sections:
        start, end = move(sec.start), move(sec.end)
        if end > start and new_text[start:end].strip():
            sections.append(Section(_without(sec.heading, gone), start, end))
    if sections:  # sections tile the text: the first starts at 0, each ends where the next begins
        sections[0].start = 0
        for a, b in itertools.pairwise(sections):
            a.end = b.start
        sections[-1].end = len(new_text)
    verbatim = [(move(s), move(e)) for s, e in parsed.verbatim if move(e) > move(s)]
    return Stripped(Parsed(parsed.title, new_text, sections, verbatim), n_lines, n_chars, keys - {""})


def _without(path: list[str], gone: list[list[str]]) -> list[str]:
    """A heading path minus the removed headings above it."""
    for g in sorted(gone, key=len, reverse=True):
        if len(path) >= len(g) and path[: len(g)] == g:
            path = g[:-1] + path[len(g) :]
    return path


@dataclass
class CleanReport:
    """What one ingest removed as boilerplate, over the documents it added (for the summary, log and manifest)."""

    chars_read: int = 0  # text of the added documents before any removal (HTML: the full-page text)
    html_pages: int = 0
    html_fallbacks: list[tuple[str, str]] = field(default_factory=list)  # (path, why the full page was kept)
    main_lines: int = 0  # removed by main-content extraction
    main_chars: int = 0
    repeated_lines: int = 0  # removed as lines repeated across a folder's documents
    repeated_chars: int = 0
    repeated: dict[str, dict[str, int]] = field(default_factory=dict)  # folder -> {line: documents it left}
    chunks_merged: int = 0
    paged_docs: int = 0  # PDFs and slide decks
    furniture_lines: int = 0  # their running headers, footers, page numbers, table-of-contents lines removed
    furniture_chars: int = 0
    furniture: dict[str, dict[str, int]] = field(default_factory=dict)  # path -> {header/footer: pages}

    @property
    def chars_removed(self) -> int:
        return self.main_chars + self.repeated_chars + self.furniture_chars


@dataclass
class ReadDoc:
    """A document read but not yet added: repeated-line removal needs every document of its folder first."""

    shown: str
    fmt: str
    parsed: Parsed
    raw: bytes
    folder: str | None  # source folder, for repeated-line removal; None for rows of a jsonl/csv file
    read_chars: int = 0  # text before removal (HTML: the full-page text)
    main_lines: int = 0  # removed by main-content extraction
    main_chars: int = 0
    fallback: str | None = None  # why an HTML page's full text was kept
    full: Parsed | None = None  # HTML read for main content: the full-page text, where template lines are counted
    repeated_lines: int = 0  # removed as repeated across the folder
    repeated_chars: int = 0
    furniture_lines: int = 0  # a PDF's running headers, footers and page numbers (seeds/running_lines.py)
    furniture_chars: int = 0
    furniture: dict[str, int] = field(default_factory=dict)  # header/footer line -> pages it was removed from


def remove_repeated(docs: list[ReadDoc], min_share: float, min_docs: int, report: CleanReport) -> None:
    """Strip the lines repeated across each source folder's documents, in place; record what was found."""
    by_folder: dict[str, list[ReadDoc]] = {}
    for d in docs:
        if d.folder is not None:
            by_folder.setdefault(d.folder, []).append(d)
    for folder, group in by_folder.items():
        distinct = {d.raw: d.full or d.parsed for d in group}  # a copied file counts once
        found = find_repeated(list(distinct.values()), min_share, min_docs)
        if not found.lines:
            continue
        removed: Counter[str] = Counter()
        for d in group:
            got = strip_repeated(d.parsed, found.lines)
            d.parsed = got.parsed
            d.repeated_lines, d.repeated_chars = got.lines, got.chars
            removed.update(got.removed)
        if removed:
            report.repeated[folder] = dict(removed.most_common())
