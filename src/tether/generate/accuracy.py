"""How far to trust the teacher, measured on the human seeds before trusting it.

Answer a sample of seed questions with the teacher (as generation does) and score them against the human
answers. "Your teacher is ~X % accurate on this domain" tells a user whether to switch. (How far to trust the
judge is `calibration.py`.)
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from tether.generate.strategies import GenContext, answer
from tether.records import Record
from tether.text import content_tokens


def token_f1(pred: str, gold: str) -> float:
    p, g = content_tokens(pred), content_tokens(gold)
    if not p or not g:
        return 0.0
    common = len(p & g)
    return 0.0 if common == 0 else 2 * common / (len(p) + len(g))


def key_facts(text: str) -> set[str]:
    """Numbers, times, form codes and capitalised names: the facts a short answer must carry."""
    facts = set(re.findall(r"\b\d+(?:[.:]\d+)?\b", text))
    facts |= {m.lower() for m in re.findall(r"\b[A-Z]{2,}-?\d*\b", text)}
    return facts


def fact_recall(pred: str, gold: str) -> float | None:
    facts = key_facts(gold)
    if not facts:
        return None
    return len(facts & key_facts(pred)) / len(facts)


class AccuracyItem(BaseModel):
    seed_id: str
    question: str
    human: str
    teacher: str
    f1: float
    fact_recall: float | None
    error: str | None = None


class TeacherAccuracy(BaseModel):
    teacher: str
    n: int
    mean_f1: float
    fact_recall: float | None  # over seeds whose answer holds a number/code
    items: list[AccuracyItem]

    @property
    def headline(self) -> float:
        return self.fact_recall if self.fact_recall is not None else self.mean_f1


def sample_seeds(seeds: list[Record], n: int) -> list[Record]:
    """A deterministic spread over the seeds (every k-th), not the first n."""
    if n >= len(seeds):
        return list(seeds)
    step = len(seeds) / n
    return [seeds[int(i * step)] for i in range(n)]


async def estimate_teacher_accuracy(ctx: GenContext, seeds: list[Record], n: int) -> TeacherAccuracy:
    picked = sample_seeds(seeds, n)

    async def one(s: Record) -> AccuracyItem:
        comp, _ = await answer(ctx, s.question(), ctx.seed_chunk(s), sample=0)
        text = comp.text.strip()
        return AccuracyItem(
            seed_id=s.id,
            question=s.question(),
            human=s.answer(),
            teacher=text,
            f1=round(token_f1(text, s.answer()), 4),
            fact_recall=fact_recall(text, s.answer()),
            error=comp.error,
        )

    items = await ctx.client.map([lambda s=s: one(s) for s in picked])
    recalls = [i.fact_recall for i in items if i.fact_recall is not None]
    return TeacherAccuracy(
        teacher=ctx.teacher.model,
        n=len(items),
        mean_f1=round(sum(i.f1 for i in items) / max(1, len(items)), 4),
        fact_recall=round(sum(recalls) / len(recalls), 4) if recalls else None,
        items=items,
    )
