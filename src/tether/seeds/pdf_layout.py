"""One PDF page's text as lines in reading order, each with its box and font size (PDFium through pypdfium2).

Why geometry and not the text PDFium hands out in content-stream order: the stream order is whatever the
producing program wrote. A two-column page may be written line by line across both columns, and then "the text"
alternates between two unrelated sentences. PDFium gives the text as runs (rectangles of text on one line in one
style); we find the columns from where the runs sit, group runs into lines, and read each column top to bottom.
The font size of each line is kept because headings are where a PDF without bookmarks marks its structure.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

# a gutter between two columns: no more than this share of the page's characters may cross it...
GUTTER_MAX_CROSSING = 0.12
# ...each column holds at least this share of the characters and COLUMN_MIN_LINES lines...
COLUMN_MIN_SHARE = 0.2
COLUMN_MIN_LINES = 5
# ...and its lines fill it (median line width / column width): a table's cells leave a gap too, but its cells are
# short, and reading a table column by column would tear its rows apart
COLUMN_MIN_FILL = 0.6
CELL_GAP = 2.0  # a horizontal gap of this many font sizes between two runs of a line separates table cells
_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st"}


@dataclass
class Run:
    left: float
    bottom: float
    right: float
    top: float
    text: str
    size: float

    @property
    def middle(self) -> float:
        return (self.bottom + self.top) / 2


@dataclass
class Line:
    text: str
    left: float
    bottom: float
    right: float
    top: float
    size: float  # font size of most of its characters
    region: int  # 0: full width, 1: left column, 2: right column
    region_left: float  # the left and right edges of the text of its region on this page: a line reaching the
    region_right: float  # right edge is a wrapped line, one ending short ends its paragraph (or is a table row)


def _clean(text: str) -> str:
    text = text.replace("\r", "").replace("\n", " ")
    for lig, plain in _LIGATURES.items():
        text = text.replace(lig, plain)
    return text


def page_runs(textpage: pdfium.PdfTextPage) -> list[Run]:
    """The text runs of a page with their boxes and font sizes (PDF points, origin bottom left)."""
    runs: list[Run] = []
    for i in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(i)
        text = _clean(textpage.get_text_bounded(left, bottom, right, top))
        if not text.strip():
            continue
        index = textpage.get_index(left + 0.5, (bottom + top) / 2, 2.0, 2.0)
        size = pdfium_c.FPDFText_GetFontSize(textpage, index) if index is not None and index >= 0 else 0.0
        runs.append(Run(left, bottom, right, top, text, round(size or (top - bottom), 1)))
    return runs


def _group_lines(runs: list[Run]) -> list[list[Run]]:
    """Runs on one baseline band form a line; lines top to bottom, runs left to right."""
    lines: list[list[Run]] = []
    for run in sorted(runs, key=lambda r: (-r.top, r.left)):
        line = lines[-1] if lines else None
        if line is not None:
            lo, hi = min(r.bottom for r in line), max(r.top for r in line)
            if lo <= run.middle <= hi or (
                run.top - run.bottom > 0
                and lo <= run.top
                and run.bottom <= hi
                and (min(hi, run.top) - max(lo, run.bottom)) >= 0.5 * min(hi - lo, run.top - run.bottom)
            ):
                line.append(run)
                continue
        lines.append([run])
    return [sorted(line, key=lambda r: r.left) for line in lines]


def _gutter(runs: list[Run]) -> float | None:
    """The x of the gap between two text columns, or None for a one-column page."""
    if len(runs) < 2 * COLUMN_MIN_LINES:
        return None
    x0, x1 = min(r.left for r in runs), max(r.right for r in runs)
    total = sum(len(r.text) for r in runs)
    xs = [x0 + (x1 - x0) * (0.3 + 0.4 * i / 100) for i in range(101)]
    crossing = [sum(len(r.text) for r in runs if r.left < x < r.right) for x in xs]
    fewest = min(crossing)
    if fewest > GUTTER_MAX_CROSSING * total:
        return None
    # the middle of the widest stretch with the fewest crossings: a title that ends inside the gap still
    # crosses its middle, so it reads as a full-width line and not as part of the left column
    stretches: list[list[int]] = []
    for i, n in enumerate(crossing):
        if n == fewest:
            if stretches and stretches[-1][-1] == i - 1:
                stretches[-1].append(i)
            else:
                stretches.append([i])
    widest = max(stretches, key=len)
    gx = (xs[widest[0]] + xs[widest[-1]]) / 2
    for side in ([r for r in runs if r.right <= gx], [r for r in runs if r.left >= gx]):
        lines = _group_lines(side)
        if len(lines) < COLUMN_MIN_LINES or sum(len(r.text) for r in side) < COLUMN_MIN_SHARE * total:
            return None
        width = max(r.right for r in side) - min(r.left for r in side)
        median = statistics.median(line[-1].right - line[0].left for line in lines)
        if width <= 0 or median < COLUMN_MIN_FILL * width:
            return None
    return gx


def _join(runs: list[Run]) -> str:
    """The line's text; runs far apart (a table's cells, a label set off to the right) are joined with " | ",
    as the HTML reader writes table rows."""
    out = runs[0].text
    for prev, run in itertools.pairwise(runs):
        gap = run.left - prev.right
        if gap > CELL_GAP * max(run.size, 1.0):
            out = out.rstrip() + " | " + run.text.lstrip()
            continue
        if gap > 0.2 * max(run.size, 1.0) and not out.endswith(" ") and not run.text.startswith(" "):
            out += " "
        out += run.text
    return " ".join(out.split()) if "  " in out else out.strip()


def _to_line(runs: list[Run], region: int, bounds: tuple[float, float]) -> Line:
    by_size: dict[float, int] = {}
    for r in runs:
        by_size[r.size] = by_size.get(r.size, 0) + len(r.text)
    size = max(by_size, key=lambda s: (by_size[s], s))
    return Line(
        _join(runs),
        min(r.left for r in runs),
        min(r.bottom for r in runs),
        max(r.right for r in runs),
        max(r.top for r in runs),
        size,
        region,
        *bounds,
    )


def _bounds(runs: list[Run]) -> tuple[float, float]:
    return (min(r.left for r in runs), max(r.right for r in runs)) if runs else (0.0, 0.0)


def reading_order(runs: list[Run]) -> list[Line]:
    """Lines in reading order: on a two-column page, full-width lines (titles, headers, a figure caption) split the
    page into bands, and each band is read left column first, then right column."""
    if not runs:
        return []
    gx = _gutter(runs)
    if gx is None:
        bounds = _bounds(runs)
        return [_to_line(line, 0, bounds) for line in _group_lines(runs)]
    left = [r for r in runs if r.right <= gx]
    right = [r for r in runs if r.left >= gx]
    full = [r for r in runs if r.left < gx < r.right]
    # a title that ends inside the gutter reaches past the left column's edge with nothing beside it: full width
    edge = sorted(r.right for r in left)[int(0.9 * (len(left) - 1))] if left else gx
    wide = [r for r in left if r.right > edge + 1.5 * r.size and not any(o.bottom < r.middle < o.top for o in right)]
    if wide:
        left = [r for r in left if r not in wide]
        full = sorted(full + wide, key=lambda r: -r.top)
    lb, rb, fb = _bounds(left), _bounds(right), _bounds(runs)
    out: list[Line] = []
    cuts = [max(r.top for r in runs) + 1.0]
    full_lines = _group_lines(full)
    for line in full_lines:
        cuts.append(max(r.top for r in line))
    cuts.append(min(r.bottom for r in runs) - 1.0)
    # band k lies between cut k and cut k+1; the full-width line k (if any) opens band k+1
    for k in range(len(cuts) - 1):
        if 0 < k <= len(full_lines):
            out.append(_to_line(full_lines[k - 1], 0, fb))
        hi, lo = cuts[k], cuts[k + 1]
        for side, region, bounds in ((left, 1, lb), (right, 2, rb)):
            band = [r for r in side if lo < r.middle <= hi]
            out.extend(_to_line(line, region, bounds) for line in _group_lines(band))
    return out


def image_cover(page: pdfium.PdfPage) -> float:
    """Share of the page's area covered by its largest image: a scanned page is one image and no text."""
    width, height = page.get_size()
    area = max(width * height, 1.0)
    best = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        best = max(best, max(0.0, right - left) * max(0.0, top - bottom) / area)
    return min(best, 1.0)
