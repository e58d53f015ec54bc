"""What one teacher call is asked to do (`Job`), what every call shares (`GenContext`), and the row a job makes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tether.config import GenerateConfig
from tether.documents import Chunk
from tether.generate.style import AnswerStyle
from tether.llm.client import TeacherClient
from tether.llm.types import Completion
from tether.prompts.templates import Template
from tether.records import Record, Teacher, Verdict


@dataclass
class Job:
    strategy: str  # augment / rephrase / new_questions / multi_hop
    index: int  # sample (augment) or variant (rephrase, new questions) number: part of the cache key
    seed: Record | None = None
    chunk: Chunk | None = None
    concept: str | None = None
    cot: bool = False
    preference: bool = False
    examples: list[Record] = field(default_factory=list)  # few-shot seeds for new questions
    focus: str = ""  # new questions: the chunk's sentence this question is about (text/focus.py)
    second: Chunk | None = None  # multi_hop: the second passage (`chunk` is the first)
    focus2: str = ""  # multi_hop: the second passage's sentence


@dataclass
class GenContext:
    client: TeacherClient
    templates: dict[str, Template]
    g: GenerateConfig
    domain: str
    teacher: Teacher
    run_id: str
    generation: int
    chunks: dict[str, Chunk]
    style: AnswerStyle = field(default_factory=lambda: AnswerStyle("free", 25, 60))

    def seed_chunk(self, seed: Record) -> Chunk | None:
        if not self.g.answer_with_context or seed.source is None or seed.source.chunk_id is None:
            return None
        return self.chunks.get(seed.source.chunk_id)


def spread(i: int, share: float) -> bool:
    """True for about `share` of consecutive indices, evenly spread (not all at the start)."""
    return math.floor((i + 1) * share) > math.floor(i * share)


def extractive(ctx: GenContext, chunk: Chunk | None) -> bool:
    """Extractive answers need a text to copy from; without one the answer is free (and checked against the seed)."""
    return ctx.style.mode == "extractive" and chunk is not None


def job_record(ctx: GenContext, job: Job, **fields: object) -> Record:
    """The synthetic row a job made, with the provenance every strategy's rows carry."""
    meta = {"job_index": str(job.index), **{k: str(v) for k, v in (fields.pop("meta", None) or {}).items()}}
    if job.concept:
        meta["target_concept"] = job.concept
    return Record(
        origin="synthetic", teacher=ctx.teacher, run_id=ctx.run_id, generation=ctx.generation, meta=meta, **fields
    )


def failed_record(ctx: GenContext, job: Job, prompt: str, comp: Completion, step: str, **fields: object) -> Record:
    """A job's row when the teacher's reply failed at `step`: what came back, with a `generate` verdict saying why."""
    verdict = Verdict(keep=False, reason=comp.error or "failed", detail=f"{step}: {comp.error_detail or ''}".strip())
    meta = {**(fields.pop("meta", None) or {}), "failed_step": step, "finish_reason": comp.finish_reason or ""}
    return job_record(ctx, job, prompt=prompt, response=comp.text, verdicts={"generate": verdict}, meta=meta, **fields)
