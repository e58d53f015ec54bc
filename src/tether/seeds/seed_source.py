"""Where a seed example comes from: the chunk of the corpus that holds its answer, and the seed record itself.

A seed names its source (a document path, optionally a span) or is matched to the chunk whose words best cover
its question and answer; the facts checks later compare synthetic rows made from it against that source.
"""

from __future__ import annotations

from pathlib import Path

from tether.documents import Chunk, Document
from tether.records import Record, Source
from tether.seeds.tabular import RawSeed
from tether.text import content_tokens, stem_support, support
from tether.text.facts import Evidence, extract_facts


def best_chunk(text: str, chunks: list[Chunk], answer: str | None = None) -> tuple[Chunk | None, float]:
    """Chunk whose words best cover `text` (share of text's word stems found in the chunk and its headings); with
    `answer`, the chunk that also holds most of the answer's checkable facts (numbers, names, codes) wins ties and
    near-ties. Stems, not words: "overwriting your assignment" is stated as "overwrites all previous assignments",
    and exact words had matched that seed to the section's opening chunk. Returns the chunk and the share of
    `text`'s words it holds."""
    if not chunks or not content_tokens(text):
        return None, 0.0
    facts = extract_facts(answer) if answer else []

    def score(c: Chunk) -> float:
        s = stem_support(text, c.headed)
        if facts:
            s += 1 - len(Evidence.of(c.text).unsupported(facts)) / len(facts)
        return s

    chunk = max(chunks, key=score)
    return chunk, support(text, chunk.text)


def source_span(answer: str, chunk: Chunk, doc_chunks: list[Chunk]) -> Source:
    """The seed's source: its chunk, widened over the neighbouring chunk when the answer's facts span both (a fee in
    one section, the size it applies to in the next), so checks against the source see every fact."""
    src = Source(doc_id=chunk.doc_id, chunk_id=chunk.chunk_id, start=chunk.start, end=chunk.end)
    facts = extract_facts(answer)
    missing = Evidence.of(chunk.text).unsupported(facts)
    if not missing:
        return src
    ordered = sorted(doc_chunks, key=lambda c: c.start)
    i = ordered.index(chunk)
    for other in (ordered[i + 1] if i + 1 < len(ordered) else None, ordered[i - 1] if i > 0 else None):
        if other is not None and len(Evidence.of(chunk.text, other.text).unsupported(facts)) < len(missing):
            return src.model_copy(update={"start": min(chunk.start, other.start), "end": max(chunk.end, other.end)})
    return src


AUTO_SOURCE_MIN = 0.5  # share of answer words a chunk must hold to be named a seed's source automatically


def resolve_source(
    raw: RawSeed, qa_text: str, docs: list[Document], chunks_by_doc: dict[str, list[Chunk]]
) -> tuple[Source | None, str]:
    """Source of a seed: the named document (best chunk in it), else the best chunk overall if it clearly holds
    the answer. Returns (source, how) where how is given / auto / unresolved:<why>."""
    if raw.source:
        want = Path(str(raw.source)).as_posix().lstrip("./")
        hits = [d for d in docs if d.path == want or d.path.endswith("/" + want)]
        if len(hits) == 1:
            doc = hits[0]
            doc_chunks = chunks_by_doc.get(doc.doc_id, [])
            chunk, _ = best_chunk(qa_text, doc_chunks, answer_text(raw))
            if chunk is None:
                return Source(doc_id=doc.doc_id), "given"
            src = source_span(answer_text(raw), chunk, doc_chunks)
            return src, "given" if src.end == chunk.end and src.start == chunk.start else "given (spans 2 chunks)"
        why = "no ingested document matches" if not hits else f"{len(hits)} documents match"
        return None, f"unresolved: source '{raw.source}': {why}"
    all_chunks = [c for cs in chunks_by_doc.values() for c in cs]
    chunk, score = best_chunk(qa_text, all_chunks)
    if chunk is not None and score >= AUTO_SOURCE_MIN:
        return Source(doc_id=chunk.doc_id, chunk_id=chunk.chunk_id, start=chunk.start, end=chunk.end), "auto"
    return None, "unresolved: no chunk clearly holds the answer"


def seed_record(raw: RawSeed, seed_file: str, source: Source | None, how: str) -> Record:
    meta = {"seed_file": seed_file, "line": str(raw.line), "source_match": how, **raw.extra}
    text: dict = {"messages": raw.messages} if raw.messages else {"prompt": raw.question, "response": raw.answer}
    return Record(kind="qa", origin="human", strategy="seed", source=source, concepts=raw.concepts, meta=meta, **text)


def answer_text(raw: RawSeed) -> str:
    if raw.messages:
        return " ".join(m.content for m in raw.messages if m.role == "assistant")
    return raw.answer or ""


def qa_text(raw: RawSeed) -> str:
    """Question and answer together: a terse answer ('07:40') is only locatable with its question."""
    if raw.messages:
        return " ".join(m.content for m in raw.messages if m.role in ("user", "assistant"))
    return f"{raw.question or ''} {raw.answer or ''}"
