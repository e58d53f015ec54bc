"""Rewordings of kept rows: a fact asked in several wordings, each answered with its parent's checked answer.

Why: a small student that learned a fact as the answer to one question rarely recalls it when asked in other
words. Measured on the example domain (README, Evaluation; student SmolLM2-135M): rows stating 36 held-out answers,
one question each, moved held-out accuracy from 0.04 to 0.06, while three teacher rewordings of each held-out
question taught it 0.42 of them. Sampling a second question for the same sentence (`questions_per_fact: 2`) mostly
wrote the same question again. A rewording is asked for explicitly, from the `rephrase` template.

A rewording keeps its parent's answer word for word: the parent already passed every filter (its answer is the
chunk's sentence, checked), the question asks for the same information, so one teacher call makes a row (a
rephrasing of a seed answers again, two calls) and the answer cannot drift. The rewording is checked as any
paraphrase is: not empty, not the question handed back, and keeping at least `MIN_PARAPHRASE_OVERLAP` of its
content words (below that, small teachers wrote another question). The rows then go through the filters like any
others; the leakage check follows their lineage (strategy `reword` restates its parent).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from tether.generate.job import GenContext, Job, failed_record, job_record
from tether.records import Record
from tether.text import normalize, support

STRATEGY = "reword"
# a row made from a kept new question's text; rephrasings and rewordings are not reworded again (a rewording of a
# rewording drifts further from the fact, and the parent already has its wordings)
REWORDABLE = frozenset({"new_question", "augment_answers", "multi_hop"})


def rewordable(rows: Iterable[Record]) -> list[Record]:
    """Synthetic rows a rewording may start from: kept by every verdict, a question and an answer, a strategy that
    wrote its own question or answer (`REWORDABLE`), and not a preference pair's rejected side."""
    return [
        r
        for r in rows
        if r.origin == "synthetic"
        and r.strategy in REWORDABLE
        and r.kind in ("qa", "preference")
        and all(v.keep for v in r.verdicts.values())
        and r.question().strip()
        and r.answer().strip()
    ]


def reword_jobs(rows: Sequence[Record], per_row: int, done: Counter[str] | None = None) -> list[Job]:
    """`per_row` rewordings of each row, breadth first (every row's first before any row's second), numbered after
    the rewordings a row already has (`done`: parent id -> count), so every request is new."""
    done = done or Counter()
    return [
        Job(STRATEGY, done[r.id] + k, seed=r, concept=r.concepts[0] if r.concepts else None)
        for k in range(per_row)
        for r in rows
    ]


async def run_reword(ctx: GenContext, job: Job) -> Record:
    """One rewording of `job.seed` (a kept row), answered with that row's answer (see the module docstring)."""
    from tether.generate.strategies import MIN_PARAPHRASE_OVERLAP, Paraphrase  # strategies imports this module

    parent = job.seed
    assert parent is not None
    q = parent.question()
    t = ctx.templates["rephrase"]
    base = {"strategy": STRATEGY, "parents": [parent.id], "source": parent.source, "concepts": parent.concepts}
    comp = await ctx.client.chat(
        t.render(domain=ctx.domain, question=q, variant=job.index + 1),
        schema=Paraphrase,
        sample=job.index,
        tag=f"reword:{t.hash}",
    )
    meta = {"template": f"rephrase:{t.hash}", "reworded": q[:300]}
    if parent.meta.get("focus"):
        meta["focus"] = parent.meta["focus"]
    if comp.parsed is None:
        return failed_record(ctx, job, q, comp, STRATEGY, meta=meta, **base)
    new_q = comp.parsed["question"].strip()
    if not new_q or normalize(new_q) == normalize(q):
        comp.error, comp.error_detail = "rephrase_unchanged", "the rewording is empty or the question handed back"
        return failed_record(ctx, job, new_q or q, comp, STRATEGY, meta=meta, **base)
    kept_words = support(q, new_q)
    if kept_words < MIN_PARAPHRASE_OVERLAP:
        comp.error = "rephrase_drifted"
        comp.error_detail = f"keeps {kept_words:.0%} of the question's content words (< {MIN_PARAPHRASE_OVERLAP:.0%})"
        return failed_record(ctx, job, new_q, comp, STRATEGY, meta=meta, **base)
    return job_record(
        ctx, job, kind="qa", prompt=new_q, response=parent.answer(), scores=dict(parent.scores), meta=meta, **base
    )
