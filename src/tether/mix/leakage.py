"""The leakage check run before every mix: training rows that would let a student see a holdout question.

What leaks is a *question with its answer*, not a fact. Synthetic rows exist to teach the documents' facts, and
the held-out questions ask about those same facts, so a row that states a held-out fact in answer to a different
question is the training working, not a leak; removing every such row would strip the training set of the very
knowledge the evaluation measures. A row leaks when it asks a holdout question again:

* **lineage** — it was generated from a held-out seed by a strategy that restates its parent's question
  (answer augmentation, rephrasing), directly or through such rows;
* **exact** — same normalised question;
* **minhash** — near-identical wording: word 3-gram Jaccard of the questions >= `minhash_threshold` (MinHash LSH,
  borderline pairs verified exactly);
* **embedding** — a paraphrase: question cosine >= `embedding_threshold` (0.88: paraphrases measured 0.90-0.97,
  other questions on the same topic 0.46-0.82);
* **answer** — a looser paraphrase that also gives the held-out answer verbatim: question cosine >=
  `answer_threshold` and the row's answer contains the held-out answer or one of its aliases (as a whole-word
  phrase of at least two words, or one word of five characters or more: "3" is in too many answers to mean
  anything).

Human rows are checked too (a seed that duplicates a held-out question leaks as surely as a generated one).
The first matcher that fires names the leak; each leak names the holdout row it matches.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tether.config.training import LeakageConfig
from tether.embed.embedder import Embedder
from tether.embed.search import best_match
from tether.filters.dedup import snippet
from tether.filters.minhash import reference_matches
from tether.generate.strategies import RESTATING
from tether.records import Record
from tether.text import normalize

REASON = "holdout_leak"
MATCHERS = ("lineage", "exact", "minhash", "embedding", "answer")
_BLOCK = 4096  # rows compared with the holdout at a time in the answer check


@dataclass(frozen=True)
class Leak:
    matcher: str
    holdout_id: str
    detail: str


def _label(h: Record) -> str:
    return f"{h.meta.get('holdout', 'holdout')} {h.meta.get('heldout_id') or h.id[:12]} {snippet(h.question())!r}"


def answer_forms(h: Record) -> list[str]:
    """The held-out answer and its aliases, normalised, keeping only forms specific enough to mean a copy."""
    forms = [h.answer(), *json.loads(h.meta.get("aliases", "[]"))]
    out = []
    for f in dict.fromkeys(normalize(f) for f in forms):
        words = f.split()
        if len(words) >= 2 or (len(words) == 1 and len(words[0]) >= 5):
            out.append(f)
    return out


def _restates(row: Record, held: set[str], by_id: Mapping[str, Record], depth: int = 0) -> str | None:
    """The holdout id this row's question was restated from, following restating strategies up the lineage."""
    if row.strategy not in RESTATING or depth > 32:
        return None
    for p in row.parents:
        if p in held:
            return p
        parent = by_id.get(p)
        if parent is not None and (found := _restates(parent, held, by_id, depth + 1)):
            return found
    return None


def find_leaks(
    rows: Sequence[Record],
    holdout: Sequence[Record],
    embedder: Embedder | None,
    cfg: LeakageConfig,
    by_id: Mapping[str, Record] | None = None,
) -> dict[int, Leak]:
    """{row index: leak} for the rows that ask a holdout question. `by_id`: every record of the version (to follow
    lineage through intermediate rows); `embedder` None skips the two embedding matchers (said by the caller)."""
    if not rows or not holdout:
        return {}
    held_ids = {h.id for h in holdout}
    hq = [normalize(h.question()) for h in holdout]
    leaks: dict[int, Leak] = {}

    def add(i: int, matcher: str, k: int, how: str) -> None:
        if i not in leaks:
            leaks[i] = Leak(matcher, holdout[k].id, f"{matcher}: {how} {_label(holdout[k])}")

    index = {h.id: k for k, h in enumerate(holdout)}
    by_id = by_id or {r.id: r for r in rows}
    for i, r in enumerate(rows):
        if r.id in held_ids:
            add(i, "exact", index[r.id], "is")
        elif (src := _restates(r, held_ids, by_id)) is not None:
            add(i, "lineage", index[src], "generated from")

    first: dict[str, int] = {}
    for k, q in enumerate(hq):
        first.setdefault(q, k)
    questions = [normalize(r.question()) for r in rows]
    for i, q in enumerate(questions):
        if i not in leaks and q in first:
            add(i, "exact", first[q], "same question as")

    todo = [i for i in range(len(rows)) if i not in leaks]
    found = reference_matches([questions[i] for i in todo], hq, cfg.minhash_threshold, ngram=3)
    for a, (sim, k) in found.items():
        add(todo[a], "minhash", k, f"question jaccard {sim:.2f} with")

    if embedder is None:
        return leaks
    todo = [i for i in range(len(rows)) if i not in leaks]
    if not todo:
        return leaks
    h_emb = np.ascontiguousarray(embedder.embed(hq), dtype=np.float32)
    q_emb = np.ascontiguousarray(embedder.embed([questions[i] for i in todo]), dtype=np.float32)
    sims, ids = best_match(q_emb, h_emb)
    for a, (s, k) in enumerate(zip(sims.tolist(), ids.tolist(), strict=True)):
        if s >= cfg.embedding_threshold:
            add(todo[a], "embedding", k, f"question cosine {s:.3f} with")

    forms = [answer_forms(h) for h in holdout]
    for start in range(0, len(todo), _BLOCK):
        block = q_emb[start : start + _BLOCK] @ h_emb.T
        for a, row_sims in enumerate(block, start):
            i = todo[a]
            if i in leaks:
                continue
            cands = np.flatnonzero(row_sims >= cfg.answer_threshold)
            if not len(cands):
                continue
            answer = f" {normalize(rows[i].answer())} "
            for k in sorted(cands.tolist(), key=lambda k: -row_sims[k]):
                hit = next((f for f in forms[k] if f" {f} " in answer), None)
                if hit is not None:
                    add(i, "answer", k, f"answer states {hit!r}, question cosine {row_sims[k]:.3f} with")
                    break
    return leaks


def without_leaks(
    rows: Sequence[Record],
    holdout: Sequence[Record],
    embedder: Embedder | None,
    cfg: LeakageConfig,
    by_id: Mapping[str, Record] | None = None,
) -> tuple[list[Record], dict[int, Leak]]:
    """(the rows that ask no holdout question, in order; {index in `rows`: leak} for the others)."""
    leaks = find_leaks(rows, holdout, embedder, cfg, by_id)
    return [r for i, r in enumerate(rows) if i not in leaks], leaks


def leak_counts(leaks: Mapping[int, Leak]) -> dict[str, int]:
    """Leaks by matcher, every matcher listed (a zero is information: that check ran and found nothing)."""
    c = Counter(leak.matcher for leak in leaks.values())
    return {m: c.get(m, 0) for m in MATCHERS}
