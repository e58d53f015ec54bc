"""Filters that ask the teacher: the rubric judge (1-5 with rationale) and grounding against the source chunk.

Grounding is where knowledge collapse is stopped: an answer its own source chunk does not support is a
hallucination, and training on it teaches the student wrong facts. A cheap lexical check settles clear cases
(most of the answer's words are in the chunk) before any teacher call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from tether.filters.base import live
from tether.generate.strategies import context_block
from tether.generate.templates import Template
from tether.llm.client import TeacherClient
from tether.records import Record, Verdict
from tether.seeds.documents import Chunk
from tether.text import support


class JudgeScore(BaseModel):
    rationale: str = ""
    score: int = Field(ge=1, le=5)


class Supported(BaseModel):
    supported: bool
    quote: str = ""


def source_chunk(rec: Record, chunks: dict[str, Chunk]) -> Chunk | None:
    return chunks.get(rec.source.chunk_id) if rec.source and rec.source.chunk_id else None


class LLMJudge:
    name = "judge"
    scores = ("judge",)  # scores this filter writes (cleared with its verdicts before a re-run)

    def __init__(
        self,
        client: TeacherClient,
        template: Template,
        domain: str,
        chunks: dict[str, Chunk],
        threshold: int = 3,
        keep_unscored: bool = True,
    ):
        self.client, self.t, self.domain, self.chunks = client, template, domain, chunks
        self.threshold = threshold
        self.keep_unscored = keep_unscored

    async def score(self, rec: Record) -> tuple[int | None, str]:
        """(score, rationale), or (None, why the judge gave no score)."""
        msgs = self.t.render(
            domain=self.domain,
            question=rec.question(),
            answer=rec.answer(),
            context_block=context_block(source_chunk(rec, self.chunks)),
        )
        comp = await self.client.chat(msgs, schema=JudgeScore, temperature=0.0, tag=f"judge:{self.t.hash}")
        if comp.parsed is None:
            return None, f"{comp.error}: {comp.error_detail or ''}".strip()
        return comp.parsed["score"], comp.parsed["rationale"]

    async def one(self, rec: Record) -> Verdict:
        score, why = await self.score(rec)
        if score is None:
            return Verdict(
                keep=self.keep_unscored, reason="" if self.keep_unscored else "judge_failed", detail=f"unscored ({why})"
            )
        rec.scores["judge"] = float(score)
        if score < self.threshold:
            return Verdict(keep=False, reason="low_judge_score", detail=f"{score}/5: {why}"[:300])
        return Verdict(keep=True, detail=f"{score}/5")

    async def ajudge(self, records: list[Record], on_done: Callable[[Any], None] | None = None) -> list[Verdict | None]:
        async def go(r: Record) -> Verdict | None:
            return await self.one(r) if live(r) else None

        return await self.client.map([lambda r=r: go(r) for r in records], on_done=on_done)


class GroundingFilter:
    name = "grounding"
    scores = ("lexical_support",)

    def __init__(
        self,
        client: TeacherClient | None,
        template: Template,
        domain: str,
        chunks: dict[str, Chunk],
        lexical_pass: float = 0.8,
        lexical_min: float = 0.5,
    ):
        self.client, self.t, self.domain, self.chunks = client, template, domain, chunks
        self.lexical_pass = lexical_pass  # at or above: supported without asking the teacher
        self.lexical_min = lexical_min  # without a teacher: below this, ungrounded

    async def one(self, rec: Record, chunk: Chunk) -> Verdict:
        s = support(rec.answer(), chunk.text)
        rec.scores["lexical_support"] = round(s, 4)
        if s >= self.lexical_pass:
            return Verdict(keep=True, detail=f"lexical support {s:.2f}")
        if self.client is None:
            ok = s >= self.lexical_min
            return Verdict(keep=ok, reason="" if ok else "ungrounded", detail=f"lexical support {s:.2f} (no judge)")
        msgs = self.t.render(domain=self.domain, chunk=chunk.text, question=rec.question(), answer=rec.answer())
        comp = await self.client.chat(msgs, schema=Supported, temperature=0.0, tag=f"grounding:{self.t.hash}")
        if comp.parsed is None:  # no entailment verdict: fall back on the lexical evidence, and say so
            ok = s >= self.lexical_min
            return Verdict(
                keep=ok,
                reason="" if ok else "ungrounded",
                detail=f"lexical support {s:.2f}; judge failed ({comp.error})",
            )
        if comp.parsed["supported"]:
            return Verdict(keep=True, detail=f"judge: supported; lexical {s:.2f}")
        return Verdict(keep=False, reason="ungrounded", detail=f"judge: not supported by its chunk; lexical {s:.2f}")

    async def ajudge(self, records: list[Record], on_done: Callable[[Any], None] | None = None) -> list[Verdict | None]:
        async def go(r: Record) -> Verdict | None:
            chunk = source_chunk(r, self.chunks)
            return await self.one(r, chunk) if live(r) and chunk is not None else None

        if self.client is None:
            return [await go(r) for r in records]
        return await self.client.map([lambda r=r: go(r) for r in records], on_done=on_done)
