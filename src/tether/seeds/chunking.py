"""Split a parsed document into chunks that stay inside one section and break at natural boundaries.

Why section-aware: a chunk is the context a teacher writes a question from and the evidence a grounding check
compares an answer to; mixing two sections in one chunk invites answers that no single passage supports.
Breaks prefer paragraph > line > sentence > word, and never cut a word unless a single word exceeds the size.
"""

from __future__ import annotations

import re

from tether.documents import Chunk
from tether.seeds.readers import Parsed, Section

MIN_SECTION_BODY = 60  # a heading with less body than this merges into the section after it

_BREAKS = (re.compile(r"\n[ \t]*\n"), re.compile(r"\n"), re.compile(r"[.!?][)\"']?\s"), re.compile(r"\s"))
# a paged document (Parsed.paged) breaks first where a page ends at a paragraph's end (text/pages.py), anywhere
# the first one past an eighth of the window, and the next chunk starts on the new page without overlap: a chunk inside
# one page names one page. A page break inside a paragraph is a space to the patterns above.
_PAGE_END = re.compile(r"\n\f+\n?")


def _merge_small(text: str, sections: list[Section]) -> list[Section]:
    out: list[Section] = []
    carry: int | None = None
    for sec in sections:
        body = text[sec.start : sec.end].strip()
        first_nl = body.find("\n")
        content = body[first_nl + 1 :].strip() if first_nl >= 0 and sec.heading else body
        start = carry if carry is not None else sec.start
        if len(content) < MIN_SECTION_BODY and sec is not sections[-1]:
            carry = start
            continue
        carry = None
        out.append(Section(sec.heading, start, sec.end))
    return out


def _best_break(text: str, lo: int, hi: int) -> int:
    """Offset just after the best boundary in text[lo:hi], or hi if there is none."""
    window = text[lo:hi]
    for pattern in _BREAKS:
        hits = list(pattern.finditer(window))
        if hits:
            return lo + hits[-1].end()
    return hi


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_span(text: str, start: int, end: int, size: int, overlap: int, paged: bool = False) -> list[tuple[int, int]]:
    """Character spans of at most `size` covering text[start:end], consecutive spans sharing ~`overlap` chars."""
    spans: list[tuple[int, int]] = []
    cur = start
    while cur < end:
        page_end = None
        if end - cur > size and paged:
            m = _PAGE_END.search(text, cur + size // 8, cur + size)
            page_end = m.end() if m else None
        stop = end if end - cur <= size else page_end or _best_break(text, cur + size // 2, cur + size)
        spans.append((cur, stop))
        if stop >= end:
            break
        nxt = stop
        if overlap > 0 and page_end is None:
            back = max(cur + 1, stop - overlap)
            # begin the overlap at a word start so chunks do not open mid-word
            m = re.search(r"\s", text[back:stop])
            nxt = back + m.end() if m and back + m.end() < stop else back
        cur = max(nxt, cur + 1)
    return spans


def chunk_document(doc_id: str, parsed: Parsed, size: int, overlap: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for sec in _merge_small(parsed.text, parsed.sections):
        for s, e in split_span(parsed.text, sec.start, sec.end, size, overlap, parsed.paged):
            s, e = _trim(parsed.text, s, e)
            if e <= s:
                continue
            chunks.append(
                Chunk(
                    chunk_id=Chunk.make_id(doc_id, s, e),
                    doc_id=doc_id,
                    start=s,
                    end=e,
                    heading=sec.heading,
                    text=parsed.text[s:e],
                )
            )
    return chunks


# a sentence: a run without line breaks or table/menu bars ("|") that ends in . ! or ?
_SENTENCES = re.compile(r"[^.!?\n|]+[.!?]+[)\"'”’]?(?=\s|$)")
SENTENCE_WORDS = 4  # "Registration lasts 3 years." is the shortest kind of fact this keeps


def carries_fact(chunk: Chunk) -> bool:
    """Whether a short chunk says something on its own: beyond its heading it holds a sentence of at least
    SENTENCE_WORDS words (numbers count, two must have letters).

    A number alone is no sign of a fact ("Chapter 8", "Page 3 of 12", "v1.2" are navigation), so it is not enough;
    a short list of amounts without a sentence merges into its neighbour, which costs granularity, never text."""
    body = chunk.text
    if chunk.heading:
        first, _, rest = body.partition("\n")
        if chunk.heading[-1] in first:
            body = rest
    for s in _SENTENCES.findall(body):
        words = re.findall(r"\w+", s)
        if len(words) >= SENTENCE_WORDS and sum(any(ch.isalpha() for ch in w) for w in words) >= 2:
            return True
    return False


def _common(a: list[str], b: list[str]) -> list[str]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def merge_short(text: str, chunks: list[Chunk], size: int, min_chars: int) -> tuple[list[Chunk], int]:
    """Merge each of one document's chunks (its text: `text`) that is shorter than `min_chars` and carries no
    fact into a neighbour.

    Why: a lone heading, a label ("Note"), a menu remnant or the tail of a split section gives a teacher nothing to
    ask about, yet counts as a chunk to cover. The neighbour chosen shares the most of its section path (the same
    section, then a sibling), the one before on a tie (residue trails what it belongs to); the merge happens only
    when the joined span still fits `size`, so chunk_size stays a hard limit. The merged chunk spans both (its id
    follows from that span, so it is as stable as any other) and is headed by the two paths' common part.
    Returns the chunks in document order and the number of merges."""
    out = sorted(chunks, key=lambda c: c.start)
    merges = 0
    i = 0
    while i < len(out):
        c = out[i]
        if len(c.text) >= min_chars or carries_fact(c):
            i += 1
            continue
        best: tuple[tuple[int, bool], int] | None = None
        for j in (i - 1, i + 1):
            if 0 <= j < len(out):
                lo, hi = min(c.start, out[j].start), max(c.end, out[j].end)
                if hi - lo <= size:
                    key = (len(_common(c.heading, out[j].heading)), j < i)
                    if best is None or key > best[0]:
                        best = (key, j)
        if best is None:
            i += 1
            continue
        j = best[1]
        a, b = out[min(i, j)], out[max(i, j)]
        lo, hi = min(a.start, b.start), max(a.end, b.end)
        merged = Chunk(
            chunk_id=Chunk.make_id(c.doc_id, lo, hi),
            doc_id=c.doc_id,
            start=lo,
            end=hi,
            heading=_common(a.heading, b.heading),
            text=text[lo:hi],
        )
        out[min(i, j) : max(i, j) + 1] = [merged]
        merges += 1
        i = max(0, min(i, j) - 1)  # the merged chunk may itself still be short: look again from before it
    return out, merges
