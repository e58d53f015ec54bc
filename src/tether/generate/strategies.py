"""The generation strategies as stages: jobs in, synthetic records (with full provenance) out.

Every job yields exactly one record. When the teacher fails (transport error, unparsable JSON, budget spent) the
record still exists, carrying what came back and a `generate` verdict with the reason: a failed row is visible
in the funnel, never silently missing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from pydantic import BaseModel

from tether.config import GenerateConfig
from tether.documents import Chunk
from tether.generate.style import AnswerStyle
from tether.llm.client import TeacherClient
from tether.llm.types import Completion
from tether.prompts.context import context_block
from tether.prompts.templates import Template, demonstrations
from tether.records import Record, Source, Teacher, Verdict
from tether.text import content_tokens, normalize, support, words
from tether.text.focus import focus_for, whole_chunk
from tether.text.sentences import snap_to_text

# A paraphrase must keep at least this share of the seed question's content words (names, numbers, key nouns);
# below it, weak teachers have usually written a different question (often copying the prompt's example).
MIN_PARAPHRASE_OVERLAP = 0.34
# A new question sharing this share of an example question's content words (each way) is that example copied: weak
# teachers copy the prompt's first example (measured here: SmolLM2-135M, 11 of 13 documents-only questions were
# the style guide's first example; with seeds as examples, 5 of 6 were a seed's question).
COPY_OVERLAP = 0.8
# Strategies whose rows ask their parent seed's question again (same words, or a paraphrase): a row made from a
# held-out seed by one of these is that seed's question in training (`tether.mix.leakage`).
RESTATING = frozenset({"augment_answers", "rephrase"})


class Paraphrase(BaseModel):
    question: str


class QA(BaseModel):
    question: str
    answer: str


class Reasoned(BaseModel):
    reasoning: str
    answer: str


class Check(BaseModel):
    answerable: bool
    evidence: str = ""


@dataclass
class Job:
    strategy: str  # augment / rephrase / new_questions
    index: int  # sample (augment) or variant (rephrase, new questions) number: part of the cache key
    seed: Record | None = None
    chunk: Chunk | None = None
    concept: str | None = None
    cot: bool = False
    preference: bool = False
    examples: list[Record] = field(default_factory=list)  # few-shot seeds for new questions
    focus: str = ""  # new questions: the chunk's sentence this question is about (text/focus.py)


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


def _record(ctx: GenContext, job: Job, **fields: object) -> Record:
    meta = {"job_index": str(job.index), **{k: str(v) for k, v in (fields.pop("meta", None) or {}).items()}}
    if job.concept:
        meta["target_concept"] = job.concept
    return Record(
        origin="synthetic", teacher=ctx.teacher, run_id=ctx.run_id, generation=ctx.generation, meta=meta, **fields
    )


def _failed(ctx: GenContext, job: Job, prompt: str, comp: Completion, step: str, **fields: object) -> Record:
    verdict = Verdict(keep=False, reason=comp.error or "failed", detail=f"{step}: {comp.error_detail or ''}".strip())
    meta = {**(fields.pop("meta", None) or {}), "failed_step": step, "finish_reason": comp.finish_reason or ""}
    return _record(ctx, job, prompt=prompt, response=comp.text, verdicts={"generate": verdict}, meta=meta, **fields)


def extractive(ctx: GenContext, chunk: Chunk | None) -> bool:
    """Extractive answers need a text to copy from; without one the answer is free (and checked against the seed)."""
    return ctx.style.mode == "extractive" and chunk is not None


async def answer(ctx: GenContext, question: str, chunk: Chunk | None, sample: int) -> tuple[Completion, dict]:
    """Answer a question in the seeds' style (extractive: a sentence copied from the chunk, checked and snapped by
    the caller); with best_of > 1 sample several and keep the best supported by the chunk."""
    name = "answer_extract" if extractive(ctx, chunk) else "answer"
    t = ctx.templates[name]
    fields = {"domain": ctx.domain, "question": question, "context_block": context_block(chunk)}
    if name == "answer":
        fields["length_hint"] = ctx.style.hint()
    msgs = t.render(**fields)
    limit = ctx.style.max_tokens(ctx.client.cfg.max_tokens)
    # copying wants the model's most likely reading, not a sampled one; free answers keep the configured sampling
    sampling = {"temperature": 0.0} if name == "answer_extract" else {}
    comps = [
        await ctx.client.chat(
            msgs, sample=sample * ctx.g.best_of + j, tag=f"{name}:{t.hash}", max_tokens=limit, **sampling
        )
        for j in range(ctx.g.best_of)
    ]
    ok = [c for c in comps if c.ok and c.text.strip()]
    meta = {"answer_template": f"{name}:{t.hash}", "answer_mode": "extractive" if name == "answer_extract" else "free"}
    if not ok:
        return comps[0], meta
    if len(comps) > 1:
        scores = [support(c.text, chunk.text) if chunk else 0.0 for c in ok]
        best = max(range(len(ok)), key=lambda k: scores[k])
        meta["best_of"] = f"{len(comps)} (scores {', '.join(f'{s:.2f}' for s in scores)})"
        return ok[best], meta
    return ok[0], meta


def snapped(ctx: GenContext, text: str, chunk: Chunk | None, meta: dict) -> str | None:
    """In extractive mode: the answer as words of the chunk (None when it is not in it; `meta` says why)."""
    if not extractive(ctx, chunk):
        return text.strip()
    assert chunk is not None
    out, how = snap_to_text(text, chunk.text)
    meta["extractive"] = how
    if out is not None and out != text.strip():
        meta["teacher_answer"] = text.strip()[:300]
    return out


async def run_augment(ctx: GenContext, job: Job) -> Record:
    seed = job.seed
    assert seed is not None
    q, chunk = seed.question(), ctx.seed_chunk(seed)
    base = {"strategy": "augment_answers", "parents": [seed.id], "source": seed.source, "concepts": seed.concepts}
    if job.cot:
        t = ctx.templates["answer_cot"]
        msgs = t.render(domain=ctx.domain, question=q, context_block=context_block(chunk), length_hint=ctx.style.hint())
        comp = await ctx.client.chat(msgs, schema=Reasoned, sample=job.index, tag=f"cot:{t.hash}")
        meta = {"template": f"answer_cot:{t.hash}", "finish_reason": comp.finish_reason or ""}
        if comp.parsed is None:
            return _failed(ctx, job, q, comp, "cot", kind="cot", meta=meta, **base)
        final = snapped(ctx, comp.parsed["answer"], chunk, meta)
        if final is None:
            return _not_in_text(ctx, job, q, comp.parsed["answer"], meta, kind="cot", **base)
        return _record(
            ctx,
            job,
            kind="cot",
            prompt=q,
            response=final,
            reasoning=comp.parsed["reasoning"],
            meta=meta,
            **base,
        )
    return await _answered(ctx, job, q, chunk, {}, base)


async def _answered(ctx: GenContext, job: Job, question: str, chunk: Chunk | None, meta: dict, base: dict) -> Record:
    """Answer `question` and make the row: a qa record, or the failed answer with its verdict."""
    ans, ameta = await answer(ctx, question, chunk, job.index)
    meta = {"template": ameta["answer_template"], **ameta, **meta, "finish_reason": ans.finish_reason or ""}
    if not ans.ok:
        return _failed(ctx, job, question, ans, "answer", meta=meta, **base)
    final = snapped(ctx, ans.text, chunk, meta)
    if final is None:
        return _not_in_text(ctx, job, question, ans.text, meta, **base)
    return _record(ctx, job, kind="qa", prompt=question, response=final, meta=meta, **base)


def _not_in_text(ctx: GenContext, job: Job, question: str, text: str, meta: dict, **fields: object) -> Record:
    """An extractive answer that is no sentence of its chunk: kept as a row with the reason, never as an answer."""
    verdict = Verdict(keep=False, reason="not_in_text", detail=meta.get("extractive"))
    return _record(
        ctx, job, prompt=question, response=text.strip(), verdicts={"generate": verdict}, meta=meta, **fields
    )


async def run_rephrase(ctx: GenContext, job: Job) -> Record:
    seed = job.seed
    assert seed is not None
    q = seed.question()
    t = ctx.templates["rephrase"]
    base = {"strategy": "rephrase", "parents": [seed.id], "source": seed.source, "concepts": seed.concepts}
    comp = await ctx.client.chat(
        t.render(domain=ctx.domain, question=q, variant=job.index + 1),
        schema=Paraphrase,
        sample=job.index,
        tag=f"rephrase:{t.hash}",
    )
    meta = {"template": f"rephrase:{t.hash}"}
    if comp.parsed is None:
        return _failed(ctx, job, q, comp, "rephrase", meta=meta, **base)
    new_q = comp.parsed["question"].strip()
    if not new_q or normalize(new_q) == normalize(q):
        comp.error, comp.error_detail = "rephrase_unchanged", "paraphrase is empty or identical to the seed"
        return _failed(ctx, job, new_q or q, comp, "rephrase", meta=meta, **base)
    kept_words = support(q, new_q)
    if kept_words < MIN_PARAPHRASE_OVERLAP:  # checked before paying for an answer to the wrong question
        comp.error = "rephrase_drifted"
        comp.error_detail = f"keeps {kept_words:.0%} of the seed's content words (< {MIN_PARAPHRASE_OVERLAP:.0%})"
        return _failed(ctx, job, new_q, comp, "rephrase", meta=meta, **base)
    return await _answered(ctx, job, new_q, ctx.seed_chunk(seed), meta, base)


def examples_block(examples: list[Record], templates: dict[str, Template]) -> tuple[str, str | None]:
    """(text for new_question's {examples}, the style guide's "style_guide:<hash>" when it stood in).

    The one place few-shot examples are made: the seeds when a job has any, else the built-in (or overridden)
    style guide, so a project with no seeds still shows the teacher what a good pair looks like."""
    if examples:
        return "\n".join(f"- Q: {e.question()}\n  A: {e.answer()}" for e in examples), None
    guide = templates["style_guide"]
    return guide.text.strip(), f"style_guide:{guide.hash}"


def shows_examples(t: Template) -> bool:
    """Whether a new_question wording shows example pairs (the seeds', or the style guide without seeds). The
    built-in one shows none: small teachers copied them (text/focus.py)."""
    return "{examples}" in t.text


def job_focus(job: Job) -> str:
    """The sentence of its chunk a new-question job asks about."""
    assert job.chunk is not None
    return job.focus or focus_for(job.chunk.text, job.index)


def question_template(job: Job, extractive_answers: bool) -> str:
    """The template a new-question job is asked with: `new_question_extract` when its answer is its focus sentence
    (extractive answers, with a real sentence to ask about: the teacher writes only the question), else
    `new_question` (a question and its answer)."""
    assert job.chunk is not None
    if extractive_answers and not whole_chunk(job_focus(job), job.chunk.text):
        return "new_question_extract"
    return "new_question"


def asks_for_focus(ctx: GenContext, job: Job) -> bool:
    """Whether the job's answer is its focus sentence: the teacher then writes only the question."""
    return question_template(job, extractive(ctx, job.chunk)) == "new_question_extract"


def new_question_messages(ctx: GenContext, job: Job) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The prompt of a new-question job, and the templates it used (for the row's meta).

    With extractive answers the teacher sees three demonstrated statement→question turns, then the chunk and the
    statement: Qwen2.5-Coder-0.5B handed back the statement itself as the "question" for 5 of 12 sentences with
    the instruction-only wording and for none with the demonstrations, and the shared demonstration prefix is
    reused from llama.cpp's cache on every call (1.9 s instead of 2.8 s a call; measured in the note of
    issue 20)."""
    assert job.chunk is not None
    concept_line = f"Focus on this topic: {job.concept}.\n" if job.concept else ""
    focus = job_focus(job)
    if asks_for_focus(ctx, job):
        t = ctx.templates["new_question_extract"]
        msgs = t.render(domain=ctx.domain, chunk=job.chunk.text, focus=focus, concept_line=concept_line)
        return msgs, {"template": f"new_question_extract:{t.hash}", "focus": focus}
    t = ctx.templates["new_question"]
    examples, guide = examples_block(job.examples, ctx.templates) if shows_examples(t) else ("", None)
    msgs = t.render(
        domain=ctx.domain,
        chunk=job.chunk.text,
        focus=focus,
        examples=examples,
        concept_line=concept_line,
        variant=job.index + 1,
        length_hint=ctx.style.hint(),
    )
    meta = {"template": f"new_question:{t.hash}", "focus": focus}
    if guide:
        meta["examples"] = guide
    return msgs, meta


_ASKS = re.compile(
    r"^(who|whom|whose|what|which|when|where|why|how|is|are|was|were|do|does|did|can|could|may|must|"
    r"should|will|would|has|have|had)\b",
    re.IGNORECASE,
)


def not_a_question(question: str, focus: str) -> str | None:
    """Why a new question is no question about its focus sentence (None when it is one): small teachers hand back
    the focus sentence, a statement, or a question about the prompt itself in the question field."""
    q = question.strip()
    if focus and normalize(q).rstrip("?") == normalize(focus).rstrip("?"):
        return "the question field repeats the focus sentence"
    if not q.endswith("?") and not _ASKS.match(q):
        return f"not phrased as a question: '{q[:80]}'"
    if not q.endswith("?") and len(words(q)) < 6:  # "What does the 'z'": cut short
        return f"a question cut short: '{q[:80]}'"
    if focus and not content_tokens(q) & content_tokens(focus):
        # SmolLM2-135M wrote "How to answer a question using JSON" for a sentence about library membership
        return f"shares no word with the sentence it was written for: '{q[:80]}'"
    return None


def copied_example(question: str, shown: list[str]) -> str | None:
    """The example question shown in the prompt (a seed's, the style guide's, or a template's demonstration) that
    `question` repeats."""
    mine = content_tokens(question)
    for q in shown:
        theirs = content_tokens(q)
        if normalize(q) == normalize(question):
            return q
        if mine and theirs and len(mine & theirs) >= COPY_OVERLAP * max(len(mine), len(theirs)):
            return q
    return None


def shown_questions(t: Template, examples: list[Record], templates: dict[str, Template]) -> list[str]:
    """The example questions a new-question prompt put before the teacher."""
    shown = demonstrations(t)
    if shows_examples(t):
        if examples:
            shown += [e.question() for e in examples]
        else:
            lines = templates["style_guide"].text.splitlines()
            shown += [m.group(1) for line in lines if (m := re.match(r"\s*-?\s*Q:\s*(.+)", line))]
    return shown


async def run_new_question(ctx: GenContext, job: Job) -> Record:
    chunk = job.chunk
    assert chunk is not None
    msgs, meta = new_question_messages(ctx, job)
    focused = asks_for_focus(ctx, job)
    t = ctx.templates["new_question_extract" if focused else "new_question"]
    source = Source(doc_id=chunk.doc_id, chunk_id=chunk.chunk_id, start=chunk.start, end=chunk.end)
    base = {
        "strategy": "new_question",
        "parents": [chunk.chunk_id, *(e.id for e in job.examples)],
        "source": source,
        "concepts": [job.concept] if job.concept else [],
    }
    # a question only when its answer is the focus sentence: half the tokens of a question and an answer
    comp = await ctx.client.chat(msgs, schema=Paraphrase if focused else QA, sample=job.index, tag=meta["template"])
    if comp.parsed is None:
        return _failed(ctx, job, f"(new question from chunk {chunk.chunk_id})", comp, "new_question", meta=meta, **base)
    meta["finish_reason"] = comp.finish_reason or ""
    q = comp.parsed["question"].strip()
    # checked before paying for a self-check
    if (copied := copied_example(q, shown_questions(t, job.examples, ctx.templates))) is not None:
        comp.error, comp.error_detail = "copied_example", f"the question repeats an example of the prompt: {copied}"
        return _failed(ctx, job, q, comp, "new_question", meta=meta, **base)
    focus = meta.get("focus", "")
    if (why := not_a_question(q, focus)) is not None:
        comp.error, comp.error_detail = "not_a_question", why
        return _failed(ctx, job, q, comp, "new_question", meta=meta, **base)
    if focused:
        # the question was written for this sentence: it is the answer, in the text's own words
        a: str | None = focus
        meta["extractive"] = "the focus sentence"
    else:
        a = snapped(ctx, comp.parsed["answer"], chunk, meta)
    if a is None:
        return _not_in_text(ctx, job, q, comp.parsed["answer"], meta, kind="qa", **base)
    verdicts: dict[str, Verdict] = {}
    scores = {"lexical_support": round(support(a, chunk.text), 4)}
    if ctx.g.self_check:
        ct = ctx.templates["self_check"]
        check = await ctx.client.chat(
            ct.render(domain=ctx.domain, chunk=chunk.text, question=q, answer=a),
            schema=Check,
            temperature=0.0,
            tag=f"self_check:{ct.hash}",
        )
        meta["self_check_template"] = f"self_check:{ct.hash}"
        if check.parsed is None:
            verdicts["self_check"] = Verdict(keep=False, reason=check.error or "failed", detail=check.error_detail)
        elif not check.parsed["answerable"]:
            verdicts["self_check"] = Verdict(
                keep=False, reason="not_answerable_from_chunk", detail=check.parsed.get("evidence") or None
            )
        else:
            verdicts["self_check"] = Verdict(keep=True, detail=check.parsed.get("evidence") or None)
    if job.preference:
        rej, _ = await answer(ctx, q, None, job.index)  # same question without the text: the dispreferred answer
        if rej.ok and normalize(rej.text) != normalize(a):
            return _record(
                ctx,
                job,
                kind="preference",
                prompt=q,
                response=a,
                rejected=rej.text.strip(),
                verdicts=verdicts,
                scores=scores,
                meta={**meta, "rejected": "answer_without_context"},
                **base,
            )
        meta["preference"] = f"no rejected answer ({rej.error or 'identical to chosen'})"
    return _record(ctx, job, kind="qa", prompt=q, response=a, verdicts=verdicts, scores=scores, meta=meta, **base)


RUNNERS = {"augment": run_augment, "rephrase": run_rephrase, "new_questions": run_new_question}


async def run_job(ctx: GenContext, job: Job) -> Record:
    return await RUNNERS[job.strategy](ctx, job)
