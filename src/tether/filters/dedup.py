"""Deduplication filters: exact (sha256, here), near (MinHash LSH, `filters.minhash`) and semantic (embedding
cosine, `filters.semantic`).

All three share one contract:

* The compared text is `normalize(question) + " || " + normalize(answer)`: a row is a duplicate only when both
  halves match, so one question with two different answers is two rows.
* Human rows are never judged (None), but they are already present: a synthetic row that duplicates one is dropped
  as `duplicates_seed`, naming the human row.
* Duplicate synthetic rows form clusters (union-find over verified pairs). The best-scored member (highest
  `scores["judge"]`, ties to the first in input order) is kept; the rest are dropped as `exact_duplicate` /
  `near_duplicate` (MinHash and embedding filters alike), naming the kept row.
* Rows an earlier filter dropped are ignored (None) and never represent a cluster.
* With `reference` (held-out evaluation questions), a synthetic row whose *question* matches one is dropped as
  `heldout_leak`; that check compares questions only.

A dedup filter decides over the whole set at once, so it reads the rows as a `DedupRows`: ids, flags and the
compared texts as arrays, not Record objects. The streaming stage (`filters.streaming`) builds one batch by batch
from Parquet; `judge(records)` builds one from a list. Nothing here holds O(n^2) memory: candidates come from
hashing (sha256, LSH bands) or from similarity blocks of bounded size, and verified pairs go into a union-find.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from tether.filters.base import KEEP, VerdictColumn
from tether.records import Record, Verdict
from tether.text import normalize

if TYPE_CHECKING:
    from tether.filters.registry import BuildContext

SEP = " || "
TEXT_CHUNK = 65_536  # texts materialised as Python strings at a time


def dedup_text(rec: Record) -> str:
    """The text every dedup filter compares: normalised question and answer, joined by a marker token."""
    return normalize(rec.question()) + SEP + normalize(rec.answer())


def snippet(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


# ---------------------------------------------------------------------------------------------------- the rows


@dataclass
class DedupRows:
    """What a dedup filter reads of the rows it judges. About 30 bytes per row plus the compared texts (in Arrow
    buffers, not Python objects), so a million rows fit in a few hundred MB."""

    ids: pa.ChunkedArray
    human: np.ndarray  # bool
    kept: np.ndarray  # bool: no verdict drops the row so far (human rows included)
    judge: np.ndarray  # float64: scores["judge"], 0 where absent
    texts: pa.ChunkedArray  # dedup_text of kept rows, null for the others
    questions: pa.ChunkedArray | None  # normalised question of live rows, when the filter checks references

    def __len__(self) -> int:
        return len(self.human)

    @property
    def live(self) -> np.ndarray:
        """Rows a filter judges: synthetic and not yet dropped."""
        return self.kept & ~self.human

    def id(self, i: int) -> str:
        return self.ids[int(i)].as_py()

    def text(self, i: int) -> str:
        return self.texts[int(i)].as_py()

    def iter_texts(self, idx: np.ndarray, column: str = "texts") -> Iterator[list[str]]:
        """The texts (or questions) of rows `idx`, as lists of at most TEXT_CHUNK strings."""
        col = getattr(self, column)
        for start in range(0, len(idx), TEXT_CHUNK):
            yield col.take(pa.array(idx[start : start + TEXT_CHUNK], type=pa.int64())).to_pylist()

    @classmethod
    def of_records(cls, records: Sequence[Record], questions: bool = False) -> DedupRows:
        b = DedupRowsBuilder(questions)
        b.add_records(records)
        return b.build()


class DedupRowsBuilder:
    """Collects `DedupRows` batch by batch."""

    def __init__(self, questions: bool = False):
        self.questions = questions
        self._ids: list[pa.Array] = []
        self._texts: list[pa.Array] = []
        self._qs: list[pa.Array] = []
        self._human: list[np.ndarray] = []
        self._kept: list[np.ndarray] = []
        self._judge: list[np.ndarray] = []

    def add(
        self,
        ids: Sequence[str] | pa.Array,
        human: Sequence[bool],
        kept: Sequence[bool],
        judge: Sequence[float],
        qa: Sequence[tuple[str, str] | None],
    ) -> None:
        """One batch: `qa` holds (question, answer) of each kept row, None for the others."""
        human_a, kept_a = np.asarray(human, dtype=bool), np.asarray(kept, dtype=bool)
        self._ids.append(ids if isinstance(ids, pa.Array) else pa.array(ids, type=pa.string()))
        self._human.append(human_a)
        self._kept.append(kept_a)
        self._judge.append(np.asarray(judge, dtype=np.float64))
        texts = [normalize(p[0]) + SEP + normalize(p[1]) if k and p else None for p, k in zip(qa, kept_a, strict=True)]
        self._texts.append(pa.array(texts, type=pa.large_string()))
        if self.questions:
            live = kept_a & ~human_a
            self._qs.append(pa.array([normalize(p[0]) if x and p else None for p, x in zip(qa, live, strict=True)],
                                     type=pa.large_string()))  # fmt: skip

    def add_records(self, records: Sequence[Record]) -> None:
        """One batch, from Records as they stand (their verdicts so far decide which are kept)."""
        kept = [r.kept for r in records]
        self.add(
            [r.id for r in records],
            [r.origin == "human" for r in records],
            kept,
            [r.scores.get("judge", 0.0) for r in records],
            [(r.question(), r.answer()) if k else None for r, k in zip(records, kept, strict=True)],
        )

    def build(self) -> DedupRows:
        def cat(parts: list[np.ndarray], dtype) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        return DedupRows(
            ids=pa.chunked_array(self._ids, type=pa.string()),
            human=cat(self._human, bool),
            kept=cat(self._kept, bool),
            judge=cat(self._judge, np.float64),
            texts=pa.chunked_array(self._texts, type=pa.large_string()),
            questions=pa.chunked_array(self._qs, type=pa.large_string()) if self.questions else None,
        )


class SetFilter:
    """A filter that decides over the whole set (the dedup filters): `decide(rows)` on a `DedupRows`;
    `judge(records)` is the same decision on a list of records."""

    name: str
    needs_questions = False

    def decide(self, rows: DedupRows) -> VerdictColumn:
        raise NotImplementedError

    def judge(self, records: list[Record]) -> list[Verdict | None]:
        return self.decide(DedupRows.of_records(records, self.needs_questions)).to_list()


# ---------------------------------------------------------------------------------------------------- clustering


def participants(rows: DedupRows, leaks: dict[int, str]) -> np.ndarray:
    """Indices of the rows that take part in clustering: kept, and not already dropped as leaks."""
    part = rows.kept.copy()
    if leaks:
        part[np.fromiter(leaks, dtype=np.int64, count=len(leaks))] = False
    return np.flatnonzero(part)


def collapse(rows: DedupRows, idx: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Group identical texts among rows `idx`: one representative per distinct text (in input order), plus
    (representative, copy) pairs."""
    if len(idx) == 0:
        return idx, []
    keys = np.fromiter((digest(t)[:16] for part in rows.iter_texts(idx) for t in part), dtype="S16", count=len(idx))
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rep_pos = first[inverse.reshape(-1)]
    copy_pos = np.flatnonzero(rep_pos != np.arange(len(idx)))
    copies = list(zip(idx[rep_pos[copy_pos]].tolist(), idx[copy_pos].tolist(), strict=True))
    return idx[np.sort(first)], copies


def resolve(
    rows: DedupRows,
    pairs: Iterable[tuple[int, int]],
    leaks: dict[int, str],
    reason: str,
    describe: Callable[[int, int], str],
) -> VerdictColumn:
    """Turn verified duplicate pairs (row indices) into verdicts.

    `pairs` may only involve rows that take part (kept rows, not in `leaks`). `describe(dropped, kept)` writes
    the detail of a dropped row, naming the row it duplicates.
    """
    out = VerdictColumn(len(rows))
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while (p := parent.get(x, x)) != x:
            parent[x] = parent.get(p, p)  # path halving
            x = p
        return x

    for i, j in pairs:
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
        parent.setdefault(int(i), int(i))
        parent.setdefault(int(j), int(j))
    for i, detail in leaks.items():
        out.set(i, Verdict(keep=False, reason="heldout_leak", detail=detail))
    part = participants(rows, leaks)
    out.codes[part[~rows.human[part]]] = KEEP  # a synthetic row in no pair is kept; human rows are not judged
    clusters: dict[int, list[int]] = {}
    for i in sorted(parent):
        clusters.setdefault(find(i), []).append(i)
    for members in clusters.values():  # members are in input order
        synthetic = [i for i in members if not rows.human[i]]
        humans = [i for i in members if rows.human[i]]
        if humans:
            for i in synthetic:
                out.set(i, Verdict(keep=False, reason="duplicates_seed", detail=describe(i, humans[0])))
            continue
        if not synthetic:
            continue
        best = max(synthetic, key=lambda i: (rows.judge[i], -i))
        for i in synthetic:
            if i != best:
                out.set(i, Verdict(keep=False, reason=reason, detail=describe(i, best)))
    return out


# ---------------------------------------------------------------------------------------------------- exact


class ExactDedup(SetFilter):
    """Identical normalised question+answer (sha256). Cheap; run it before the near/semantic filters."""

    name = "exact_dedup"

    def __init__(self, reference: Sequence[str] = ()):
        self.reference: dict[bytes, int] = {}
        for k, q in enumerate(reference):
            if text := normalize(q):
                self.reference.setdefault(digest(text), k)
        self._ref_text = list(reference)
        self.needs_questions = bool(self.reference)

    @classmethod
    def from_config(cls, ctx: BuildContext) -> ExactDedup:
        return cls(reference=ctx.heldout if ctx.cfg.filters.near_dedup.heldout_leakage else [])

    def decide(self, rows: DedupRows) -> VerdictColumn:
        leaks: dict[int, str] = {}
        if self.reference:
            live = np.flatnonzero(rows.live)
            at = 0
            for part in rows.iter_texts(live, "questions"):
                for q in part:
                    k = self.reference.get(digest(q))
                    if k is not None:
                        leaks[int(live[at])] = f"question equals reference #{k}: {snippet(self._ref_text[k])!r}"
                    at += 1
        _, pairs = collapse(rows, participants(rows, leaks))
        return resolve(rows, pairs, leaks, "exact_duplicate", lambda _i, k: f"same text as {rows.id(k)}")
