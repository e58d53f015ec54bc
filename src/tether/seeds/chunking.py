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


def split_span(text: str, start: int, end: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans of at most `size` covering text[start:end], consecutive spans sharing ~`overlap` chars."""
    spans: list[tuple[int, int]] = []
    cur = start
    while cur < end:
        stop = end if end - cur <= size else _best_break(text, cur + size // 2, cur + size)
        spans.append((cur, stop))
        if stop >= end:
            break
        nxt = stop
        if overlap > 0:
            back = max(cur + 1, stop - overlap)
            # begin the overlap at a word start so chunks do not open mid-word
            m = re.search(r"\s", text[back:stop])
            nxt = back + m.end() if m and back + m.end() < stop else back
        cur = max(nxt, cur + 1)
    return spans


def chunk_document(doc_id: str, parsed: Parsed, size: int, overlap: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for sec in _merge_small(parsed.text, parsed.sections):
        for s, e in split_span(parsed.text, sec.start, sec.end, size, overlap):
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
