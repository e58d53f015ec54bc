"""Page numbers of a span of a paged document's text (PDF pages, PowerPoint slides).

Why the page lives in the text: a PDF document's stored text holds a form feed (U+000C) where each page ends, as
pdftotext writes it, so every character span (a chunk, a seed's source, a synthetic row's source) names its pages
without a second table that could drift from the text. A page that ends at a paragraph's end ends with
"\\n\\f\\n"; a paragraph that runs onto the next page keeps its sentence whole and carries the form feed in place of
the space after the page's last word. An empty page (a scanned image) is still one form feed, so counting stays
right.
"""

from __future__ import annotations

PAGE_BREAK = "\f"
PAGE_END = "\n\f\n"  # a page that ends where a paragraph ends
PAGED_FORMATS = {"pdf": ("p.", "pp."), "pptx": ("slide", "slides")}


def page_of(text: str, offset: int) -> int:
    """1-based page number of the character at `offset`."""
    return 1 + text.count(PAGE_BREAK, 0, max(0, offset))


def page_range(text: str, start: int, end: int) -> tuple[int, int]:
    """First and last page of text[start:end] (leading and trailing whitespace and page breaks do not count)."""
    span = text[start:end]
    lead = len(span) - len(span.lstrip())
    body = span.strip()
    first = page_of(text, start + lead)
    return first, first + body.count(PAGE_BREAK)


def format_pages(first: int, last: int, fmt: str = "pdf") -> str:
    """'p. 12' or 'pp. 12–13' (slides: 'slide 3', 'slides 3–4')."""
    one, many = PAGED_FORMATS.get(fmt, PAGED_FORMATS["pdf"])
    return f"{one} {first}" if first == last else f"{many} {first}–{last}"


def span_pages(fmt: str, text: str, start: int | None, end: int | None) -> str:
    """' p. 12' for a span of a paged document, '' for other formats or a span-less source."""
    if fmt not in PAGED_FORMATS or start is None or end is None:
        return ""
    return " " + format_pages(*page_range(text, start, end), fmt=fmt)


def page_count(text: str) -> int:
    return 1 + text.count(PAGE_BREAK)


def source_label(source, docs: dict) -> str:  # source: tether.records.Source | None; docs: doc_id -> Document
    """Where a row's source lies, for people: "manual.pdf p. 12 [chars 3400-4500]"; '' without a source."""
    if source is None:
        return ""
    doc = docs.get(source.doc_id)
    if doc is None:
        return f"document {source.doc_id}"
    where = span_pages(doc.format, doc.text, source.start, source.end)
    chars = f" [chars {source.start}-{source.end}]" if source.start is not None else ""
    return f"{doc.path}{where}{chars}"
