"""What every filter is: a named judgement over a batch of records, one verdict (or None) per row.

Filters never delete. A verdict is written into `Record.verdicts[name]`; "kept" is a view (no dropping verdict).
Filters run in a configured order and skip rows an earlier filter already dropped, so the funnel reads like a
funnel: each row is charged to the first filter that dropped it.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from tether.documents import Chunk
from tether.records import Record, Verdict


class Filter(Protocol):
    name: str

    def judge(self, records: list[Record]) -> list[Verdict | None]: ...


class AsyncFilter(Protocol):
    """A filter that asks the teacher (judge, grounding): same contract, awaited."""

    name: str

    async def ajudge(self, records: list[Record]) -> list[Verdict | None]: ...


def asserted(rec: Record) -> str:
    """The row's answer without the words that decline a false premise (`meta["declined"]`: "There is no Quayford
    ward in the documents. About Quayside ward, they say:"): the part of the answer the documents must support."""
    return without_declined(rec.answer(), rec.meta)


def without_declined(answer: str, meta: dict[str, str]) -> str:
    """`asserted` over an answer and its row's meta (as the funnel reads them from Parquet columns)."""
    declined = meta.get("declined")
    return answer.replace(declined, "").strip() if declined else answer


# meta key of a row whose asserted part is its parent seed's human answer, word for word (false-premise rows); its
# value is that answer's digest, so an answer edited since (or a row that merely claims it) is not taken on trust.
# The human anchor is never filtered, so grounding keeps such a row without asking a model about it.
ASSERTS = "asserts_seed_answer"


def answer_digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()[:16]


def asserts_seed(meta: dict[str, str], asserted_text: str) -> bool:
    """Does a row (its `meta` and its `asserted` text) assert only its seed's human answer, unchanged since the row
    was made?"""
    digest = meta.get(ASSERTS)
    return digest is not None and digest == answer_digest(asserted_text)


# meta key of a row that needs two passages (`multi_hop`): the chunk id of its second one, beside `source`
SECOND_CHUNK = "second_chunk"


def row_chunk(rec: Record, chunks: dict[str, Chunk]) -> Chunk | None:
    """The text a row's answer must stand on: its source chunk, joined with its second passage when it has one
    (a question that needs two), so every filter that reads "the chunk" reads both."""
    return chunk_of(rec.source.chunk_id if rec.source else None, rec.meta, chunks)


def chunk_of(chunk_id: str | None, meta: dict[str, str], chunks: dict[str, Chunk]) -> Chunk | None:
    """`row_chunk` from a row's source chunk id and meta (as the funnel reads them from Parquet columns)."""
    first = chunks.get(chunk_id) if chunk_id else None
    second = chunks.get(meta.get(SECOND_CHUNK, ""))
    if first is None or second is None or second.chunk_id == first.chunk_id:
        return first
    return first.model_copy(
        update={"chunk_id": f"{first.chunk_id}+{second.chunk_id}", "text": f"{first.text}\n\n{second.text}"}
    )


def live(rec: Record) -> bool:
    """Rows a filter should look at: synthetic and not yet dropped (human rows are the anchor, never filtered)."""
    return rec.origin == "synthetic" and rec.kept


def forget(records: list[Record], names: set[str], score_keys: set[str]) -> None:
    """Remove what the filters about to run said last time, verdicts and scores alike: dedup keeps the
    best-scored duplicate, so a judge score left over from a previous run would change which row it keeps."""
    for r in records:
        for n in names:
            r.verdicts.pop(n, None)
        for k in score_keys:
            r.scores.pop(k, None)


def write_verdicts(name: str, records: list[Record], verdicts: list[Verdict | None]) -> None:
    """A filter's verdicts onto the rows it judged, one per row (None: not judged)."""
    if len(verdicts) != len(records):
        raise RuntimeError(f"filter {name} returned {len(verdicts)} verdicts for {len(records)} rows")
    for r, v in zip(records, verdicts, strict=True):
        if v is not None:
            r.verdicts[name] = v


NONE, KEEP, DROP = 0, 1, 2  # VerdictColumn codes


class VerdictColumn:
    """One filter's verdicts on every row of a set, held as a byte per row plus the text of the verdicts that have
    any (a drop's reason, a keep's detail): what the streaming stage keeps of a filter while it works on the next
    batch, small enough for millions of rows."""

    def __init__(self, n: int):
        import numpy as np

        self.codes = np.zeros(n, dtype=np.int8)
        self.notes: dict[int, tuple[str, str | None]] = {}

    def __len__(self) -> int:
        return len(self.codes)

    def set(self, i: int, v: Verdict | None) -> None:
        if v is None:
            self.codes[i] = NONE
            self.notes.pop(i, None)
            return
        self.codes[i] = KEEP if v.keep else DROP
        if v.reason or v.detail is not None:
            self.notes[i] = (v.reason, v.detail)
        else:
            self.notes.pop(i, None)

    def get(self, i: int) -> Verdict | None:
        code = self.codes[i]
        if code == NONE:
            return None
        reason, detail = self.notes.get(i, ("", None))
        # built from values a Verdict already held: no need to validate them again (a third of a pass's time)
        return Verdict.model_construct(keep=bool(code == KEEP), reason=reason, detail=detail)

    def to_list(self) -> list[Verdict | None]:
        return [self.get(i) for i in range(len(self.codes))]
