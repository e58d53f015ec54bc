"""Training rows that decline a false premise: the `unanswerable` strategy.

A student trained only on questions the documents answer learns that every question has an answer, and answers one
about a ward, a form or an API function that does not exist as confidently as a real one (issue 23; the held-out
hallucination rate measures it). These rows teach the other reply. Each takes a training seed's question and
changes its most specific name to a near-miss that no chunk of the corpus mentions (`tether.text.invented`:
"Quayside ward" → "Quayford ward", "form RT-7" → "form RT-79"), and answers by saying so and then what the
documents do say about the real one, in the seed's own words:

    Q: How many councillors does Quayford ward elect?
    A: There is no Quayford ward in the documents. About Quayside ward, they say: Quayside ward elects three
       councillors.

Made without a teacher call, so they cost no budget and are the same in every run: the invented name is checked
absent from every chunk, and the rest of the answer is the human seed's answer (the facts filter checks it against
the seed's chunk like any row). Seeds are taken in an order fixed by their ids, `generate.unanswerable` of them
(a share of the training seeds; validation seeds are never used).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from tether import __version__
from tether.filters.base import ASSERTS, answer_digest
from tether.records import Record, Teacher
from tether.text.invented import inventions

STRATEGY = "unanswerable"
# who wrote these rows: tether's own rule, not a model (provenance must not credit the teacher)
RULE_TEACHER = Teacher(model="tether:false-premise", version=__version__)
DECLINE = "There is no {invented} in the documents."
# near-misses of one seed at most: a second and third name teach the reply, not the one invented word
MAX_VARIANTS = 3


def declined(invented: str, replaced: str) -> str:
    """The start of a false-premise row's answer: the premise declined, and the real name it stands beside. It
    asserts nothing a chunk must hold (the invented name is in none; the real one is the seed's)."""
    return f"{DECLINE.format(invented=invented)} About {replaced}, they say:"


def _order(seed: Record) -> str:
    return hashlib.sha256(f"unanswerable:{seed.id}".encode()).hexdigest()


def false_premise_rows(
    seeds: Sequence[Record], corpus: Sequence[str], share: float, run_id: str = "", generation: int = 1
) -> list[Record]:
    """Up to round(share * seeds) rows from the seeds whose question names something the invention can change: one
    per such seed, then (share above their count) a second near-miss of each, and so on, at most MAX_VARIANTS."""
    want = round(share * len(seeds))
    rows: list[Record] = []
    # one lazy stream of near-misses per seed, drawn breadth first: a seed's later ones only when the share asks
    streams = [(s, inventions(s.question(), corpus)) for s in sorted(seeds, key=_order) if s.question() and s.answer()]
    for _ in range(MAX_VARIANTS):
        live = []
        for seed, stream in streams:
            if len(rows) >= want:
                return rows
            made = next(stream, None)
            if made is not None:
                rows.append(_row(seed, *made, run_id, generation))
                live.append((seed, stream))
        streams = live
    return rows


def _row(seed: Record, new_q: str, replaced: str, invented: str, run_id: str, generation: int) -> Record:
    prefix = declined(invented, replaced)
    return Record(
        prompt=new_q,
        response=f"{prefix} {seed.answer().strip()}",
        origin="synthetic",
        teacher=RULE_TEACHER,
        strategy=STRATEGY,
        parents=[seed.id],
        source=seed.source,
        concepts=list(seed.concepts),
        generation=generation,
        run_id=run_id,
        # `declined`: the words that deny the premise; the facts filter and grounding check the rest of the answer
        # (the seed's), the question filter lets the invented name through (it was checked absent from every chunk);
        # ASSERTS: what is left is the seed's human answer word for word, which grounding need not ask about
        meta={"replaced": replaced, "invented": invented, "declined": prefix, ASSERTS: answer_digest(seed.answer())},
    )
