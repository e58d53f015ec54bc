"""How far to trust the teacher and its judge, measured on the human seeds before trusting either.

* Teacher accuracy: answer a sample of seed questions with the teacher (as generation does) and score them
  against the human answers. "Your teacher is ~X % accurate on this domain" tells a user whether to switch.
* Judge calibration: score the human seeds (assumed correct) with the judge; a judge that fails good answers
  will also throw away good synthetic rows. With a user-labelled file, also precision/recall against labels.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from tether.config import read_text_file
from tether.filters.judged import LLMJudge
from tether.generate.strategies import GenContext, answer
from tether.records import Record
from tether.seeds.tabular import read_jsonl
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


class JudgeCalibration(BaseModel):
    threshold: int
    seeds: int
    seed_scores: dict[str, int]  # score -> count ("none" for unscored)
    seed_pass_rate: float  # share of human answers the judge would keep
    labelled: int = 0
    precision: float | None = None  # of "keep" against the user's labels
    recall: float | None = None
    agreement: float | None = None


def load_labels(path: Path) -> list[tuple[Record, bool]]:
    """jsonl rows with question, answer and label (good/bad, true/false, 1/0)."""
    tab = read_jsonl(read_text_file(path, "labels file"))
    out = []
    for s in tab.seeds:
        label = str(s.extra.get("label", "")).strip().lower()
        if label not in ("good", "bad", "true", "false", "1", "0"):
            continue
        rec = Record(kind="qa", prompt=s.question or "", response=s.answer or "", origin="synthetic")
        out.append((rec, label in ("good", "true", "1")))
    return out


async def calibrate_judge(
    judge: LLMJudge, seeds: list[Record], labelled: list[tuple[Record, bool]]
) -> JudgeCalibration:
    scores = await judge.client.map([lambda s=s: judge.score(s) for s in seeds])
    counts: dict[str, int] = {}
    for sc, _ in scores:
        counts[str(sc) if sc is not None else "none"] = counts.get(str(sc) if sc is not None else "none", 0) + 1
    passed = sum(1 for sc, _ in scores if sc is not None and sc >= judge.threshold)
    cal = JudgeCalibration(
        threshold=judge.threshold,
        seeds=len(seeds),
        seed_scores=dict(sorted(counts.items())),
        seed_pass_rate=round(passed / max(1, len(seeds)), 4),
    )
    if labelled:
        got = await judge.client.map([lambda r=r: judge.score(r) for r, _ in labelled])
        pred = [sc is not None and sc >= judge.threshold for sc, _ in got]
        gold = [g for _, g in labelled]
        tp = sum(p and g for p, g in zip(pred, gold, strict=True))
        cal.labelled = len(gold)
        cal.precision = round(tp / max(1, sum(pred)), 4)
        cal.recall = round(tp / max(1, sum(gold)), 4)
        cal.agreement = round(sum(p == g for p, g in zip(pred, gold, strict=True)) / len(gold), 4)
    return cal
