"""Main-content extraction for HTML: keep the page's text, drop its navigation, menus and footers.

Why: the stdlib reader (readers.read_html) keeps every visible string, so a site export's navigation bar, menu
and footer become chunks of their own that then get concepts, questions and coverage like real text. trafilatura
(the extractor datatrove uses for web text) scores blocks by text and link density and keeps the main content.

Its XML output keeps the structure the chunker needs: headings (`<head rend="h2">`), paragraphs, lists, tables and
code blocks. We turn that into the same `Parsed` shape the stdlib reader produces, so chunking is unchanged.

Pages where trafilatura finds too little are read by the stdlib parser instead, and the caller is told why: on a
tiny page trafilatura's last resort is a whole-page dump that flattens headings, lists and tables into one
paragraph, which is worse than the full-page text it would replace.

A page that marks its main content (`<main>`, `role="main"`) is read from that element instead (marked_main):
trafilatura judges link-dense text to be navigation, so API references whose signatures are all links lose real
text with it (bench/html_extraction.py, rustdoc std/fs: 61% of <main> kept by trafilatura alone).
`ingest.html_main_content: false` keeps whole pages and leaves the template to repeated-line removal.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from tether.seeds.readers import Parsed, _close, _push, read_html

log = logging.getLogger(__name__)

# trafilatura's own MIN_EXTRACTED_SIZE: below it, it stops trusting its extractors and dumps the whole page
MIN_MAIN_CHARS = 250
# Below this share of a page of at least MIN_SHARE_OF_CHARS, extraction has misread the page's layout (seen: a
# 92,000-character table of the Rust reference's test-summary.html, dropped for its 264 characters of key help):
# keep the full text, which repeated-line removal still cleans
MIN_MAIN_SHARE = 0.05
MIN_SHARE_OF_CHARS = 2000
# trafilatura's balance: "recall" (favor_recall), "balanced" or "precision". bench/html_extraction.py: balanced and
# precision drop the headings and lists of simple pages whose content sits directly in <body> (all three HTML pages
# of examples/brindlemoor); recall keeps them, and on the Rust book and reference removes every menu chunk while
# keeping 99.8% / 97.6% of the pages' <main> text (what it drops: link-dense grammar and index lists)
FOCUS = "recall"
# a page's own <main> / role="main" goes first (see marked_main); bench/html_extraction.py turns it off to measure
# trafilatura alone
PREFER_MARKED_MAIN = True


@dataclass
class HtmlRead:
    parsed: Parsed
    fallback: str | None  # why the full-page (stdlib) text was kept; None when main content was used
    removed_lines: int  # full-page lines the main content does not contain
    removed_chars: int
    full: Parsed  # the stdlib reader's full-page text: the yardstick for the above, and what repeated-line
    # removal counts lines in (a menu line is in every page, even where extraction already took it out)


class _Builder:
    """Accumulate text blocks with the same separators as the stdlib reader: a blank line between blocks,
    one newline between list items and table rows."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.len = 0
        self.marks: list[tuple[list[str], int]] = [([], 0)]
        self.stack: list[tuple[int, str]] = []
        self.verbatim: list[tuple[int, int]] = []
        self.title = ""

    def _emit(self, s: str, gap: int) -> int:
        if self.len:
            s = "\n" * gap + s
        self.parts.append(s)
        start = self.len + len(s) - len(s.lstrip("\n"))
        self.len += len(s)
        return start

    def block(self, s: str, gap: int = 2) -> None:
        if s.strip():
            self._emit(s, gap)

    def heading(self, level: int, s: str) -> None:
        if not s:
            return
        start = self._emit(s, 2)
        self.marks.append((_push(self.stack, level, s), start))
        self.title = self.title or (s if level == 1 else "")

    def code(self, s: str, gap: int = 2) -> None:
        s = s.strip("\n").rstrip()
        if s.strip():
            start = self._emit(s, gap)
            self.verbatim.append((start, start + len(s)))

    def parsed(self, title: str) -> Parsed:
        text = "".join(self.parts) + "\n"
        return Parsed(title or self.title, text, _close(self.marks, len(text)), self.verbatim)


_LB = "\x00"  # stands for <lb/> (a <br>) until whitespace is collapsed


def _raw(el) -> str:  # el: lxml element
    pieces = [el.text or ""]
    for child in el:
        pieces.append(_LB if child.tag == "lb" else _raw(child))
        pieces.append(child.tail or "")
    return "".join(pieces)


def _inline(el) -> str:
    """Text of an element, whitespace collapsed as a browser renders it (source line wraps are not breaks), one
    line per <br>."""
    return "\n".join(" ".join(line.split()) for line in _raw(el).split(_LB) if line.strip())


def _is_block(el) -> bool:
    """Whether a child of a list item starts a block of its own (trafilatura writes inline and block code alike as
    <code>; a block has line breaks)."""
    return el.tag in ("list", "table") or (el.tag == "code" and "\n" in "".join(el.itertext()).strip())


def _item(item, out: _Builder, gap: int) -> int:
    """One list item in document order: its text as '- ...', a nested list or code block where it occurs, text
    after that on lines of its own. Returns the gap for what follows."""
    pieces = [item.text or ""]
    bullet = "- "

    def flush() -> None:
        nonlocal gap, bullet, pieces
        text = " ".join("".join(pieces).split())
        if text:
            out.block(bullet + text, gap)
            bullet, gap = "", 1
        pieces = []

    for child in item:
        if _is_block(child):
            flush()
            _element(child, out, 1)
            gap, bullet = 1, ""
        else:
            pieces.append(" " + _raw(child) + " " if child.tag == "p" else _raw(child))
        pieces.append(child.tail or "")
    flush()
    return gap


def _element(el, out: _Builder, gap: int = 2) -> None:
    tag = el.tag
    if tag == "head":
        m = re.fullmatch(r"h([1-6])", el.get("rend", ""))
        out.heading(int(m.group(1)) if m else 2, " ".join(_inline(el).split()))
    elif tag == "list":
        for item in el:
            if item.tag == "item":
                _item(item, out, gap)
                gap = 1
    elif tag == "table":
        for row in el.iter("row"):
            cells = [" ".join(_inline(c).split()) for c in row if c.tag == "cell"]
            if any(cells):
                out.block(" | ".join(cells), gap)
                gap = 1
    elif tag == "code":
        out.code("".join(el.itertext()), gap)
    elif tag == "quote" and any(c.tag in ("p", "list", "table", "code", "head") for c in el):
        for child in el:
            _element(child, out, gap)
    else:
        out.block(_inline(el), gap)


def extract_main(html: str, title: str, focus: str | None = None) -> Parsed | None:
    """The page's main content as `Parsed`, or None when trafilatura finds nothing."""
    focus = focus or FOCUS
    import trafilatura  # imported here: ~0.1 s that only HTML ingestion needs
    from lxml import etree

    tree = trafilatura.load_html(html)
    if tree is None:
        return None
    # trafilatura drops <figure> as an image container unless images are kept, and with it the code listings and
    # captions that documentation puts in figures; read them as ordinary blocks
    for el in tree.iter("figure"):
        el.tag = "div"
    for el in tree.iter("figcaption"):
        el.tag = "p"
    xml = trafilatura.extract(
        tree,
        output_format="xml",
        include_tables=True,
        include_formatting=False,
        include_links=True,  # kept for the text only: without it trafilatura drops list items that hold links
        include_images=False,
        include_comments=False,
        deduplicate=False,
        favor_precision=focus == "precision",
        favor_recall=focus == "recall",
    )
    if not xml:
        return None
    main = etree.fromstring(xml.encode("utf-8")).find("main")
    if main is None:
        return None
    out = _Builder()
    for el in main:
        _element(el, out)
    return out.parsed(title) if out.len else None


def _norm(s: str) -> str:
    return " ".join(s.split())


def marked_main(html: str, title: str) -> Parsed | None:
    """The text of the page's one `<main>` element (or `role="main"`), read by the stdlib reader; None if the page
    marks no main content, or several, or too little.

    Why first: a page that marks its main content is the author saying where it is. Generated documentation
    (mdBook, rustdoc, Sphinx's `role="main"`) always marks it, and trafilatura's link-density scoring reads API
    signatures made of links as navigation (rustdoc std/fs: 61% of <main> kept by trafilatura, all of it here).
    Whatever template text sits inside <main> is left to repeated-line removal."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        doc = lxml_html.fromstring(html)
    except (etree.ParserError, ValueError) as e:
        log.info("no <main> read from %s: %s", title, e)
        return None
    found = doc.xpath("//main | //*[@role='main']")
    outer = [el for el in found if not any(a in found for a in el.iterancestors())]
    if len(outer) != 1:
        return None
    parsed = read_html(etree.tostring(outer[0], encoding="unicode", method="html"), title)
    if len(parsed.text.strip()) < MIN_MAIN_CHARS:
        return None
    parsed.title = title
    return parsed


def read_html_main(html: str, fallback_title: str) -> HtmlRead:
    """The page's marked <main>, else main content when trafilatura finds enough of it, else the stdlib reader's
    full-page text with the reason.

    The stdlib reader always runs: it supplies the <title>, the fallback, and the yardstick for what was removed."""
    full = read_html(html, fallback_title)
    try:
        main = (marked_main(html, full.title) if PREFER_MARKED_MAIN else None) or extract_main(html, full.title)
    except Exception as e:  # a parser bug must not lose the page: keep the full text and say why
        log.warning("trafilatura failed on %s: %s", fallback_title, e)
        return HtmlRead(full, f"main-content extraction failed ({type(e).__name__}: {e})", 0, 0, full)
    got = len(main.text.strip()) if main else 0
    whole = len(full.text.strip())
    why = None
    if got < MIN_MAIN_CHARS:
        why = "found no main content" if not got else f"found only {got} characters (< {MIN_MAIN_CHARS})"
    elif whole >= MIN_SHARE_OF_CHARS and got < MIN_MAIN_SHARE * whole:
        why = f"kept only {got} of {whole} characters (< {MIN_MAIN_SHARE:.0%})"
    if why:
        return HtmlRead(full, f"main-content extraction {why}; kept the full-page text", 0, 0, full)
    assert main is not None
    kept = _norm(main.text)
    lines = [ln for ln in full.text.splitlines() if ln.strip() and _norm(ln) not in kept]
    return HtmlRead(main, None, len(lines), sum(len(ln) for ln in lines), full)
