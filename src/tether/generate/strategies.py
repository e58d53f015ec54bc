"""The generation strategies as stages: jobs in, synthetic records (with full provenance) out.

Every job yields exactly one record. When the teacher fails (transport error, unparsable JSON, budget spent) the
record still exists, carrying what came back and a `generate` verdict with the reason: a failed row is visible
in the funnel, never silently missing.
"""

from __future__ import annotations

from pydantic import BaseModel

from tether.documents import Chunk
from tether.generate.job import GenContext, Job, extractive, failed_record, job_record
from tether.generate.multi_hop import run_multi_hop
from tether.generate.questions import (
    asks_for_focus,
    copied_example,
    new_question_messages,
    not_a_question,
    shown_questions,
)
from tether.llm.types import Completion
from tether.prompts.context import context_block
from tether.records import Record, Source, Verdict
from tether.text import normalize, support
from tether.text.sentences import snap_to_text

# A paraphrase must keep at least this share of the seed question's content words (names, numbers, key nouns);
# below it, weak teachers have usually written a different question (often copying the prompt's example).
MIN_PARAPHRASE_OVERLAP = 0.34
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
            return failed_record(ctx, job, q, comp, "cot", kind="cot", meta=meta, **base)
        final = snapped(ctx, comp.parsed["answer"], chunk, meta)
        if final is None:
            return _not_in_text(ctx, job, q, comp.parsed["answer"], meta, kind="cot", **base)
        return job_record(
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
        return failed_record(ctx, job, question, ans, "answer", meta=meta, **base)
    final = snapped(ctx, ans.text, chunk, meta)
    if final is None:
        return _not_in_text(ctx, job, question, ans.text, meta, **base)
    return job_record(ctx, job, kind="qa", prompt=question, response=final, meta=meta, **base)


def _not_in_text(ctx: GenContext, job: Job, question: str, text: str, meta: dict, **fields: object) -> Record:
    """An extractive answer that is no sentence of its chunk: kept as a row with the reason, never as an answer."""
    verdict = Verdict(keep=False, reason="not_in_text", detail=meta.get("extractive"))
    return job_record(
        ctx, job, prompt=question, response=text.strip(), verdicts={"generate": verdict}, meta=meta, **fields
    )


def paraphrase_problem(question: str, paraphrase: str) -> tuple[str, str] | None:
    """Why `paraphrase` is no usable rewording of `question` (error, detail), or None: empty or the question handed
    back, or keeping less than `MIN_PARAPHRASE_OVERLAP` of its content words."""
    if not paraphrase or normalize(paraphrase) == normalize(question):
        return "rephrase_unchanged", "paraphrase is empty or identical to the seed"
    kept_words = support(question, paraphrase)
    if kept_words < MIN_PARAPHRASE_OVERLAP:
        limit = f"{MIN_PARAPHRASE_OVERLAP:.0%}"
        return "rephrase_drifted", f"keeps {kept_words:.0%} of the seed's content words (< {limit})"
    return None


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
        return failed_record(ctx, job, q, comp, "rephrase", meta=meta, **base)
    new_q = comp.parsed["question"].strip()
    if (problem := paraphrase_problem(q, new_q)) is not None:  # before paying for an answer to the wrong question
        comp.error, comp.error_detail = problem
        return failed_record(ctx, job, new_q or q, comp, "rephrase", meta=meta, **base)
    return await _answered(ctx, job, new_q, ctx.seed_chunk(seed), meta, base)


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
        unnamed = f"(new question from chunk {chunk.chunk_id})"
        return failed_record(ctx, job, unnamed, comp, "new_question", meta=meta, **base)
    meta["finish_reason"] = comp.finish_reason or ""
    q = comp.parsed["question"].strip()
    # checked before paying for a self-check
    if (copied := copied_example(q, shown_questions(t, job.examples, ctx.templates))) is not None:
        comp.error, comp.error_detail = "copied_example", f"the question repeats an example of the prompt: {copied}"
        return failed_record(ctx, job, q, comp, "new_question", meta=meta, **base)
    focus = meta.get("focus", "")
    if (why := not_a_question(q, focus)) is not None:
        comp.error, comp.error_detail = "not_a_question", why
        return failed_record(ctx, job, q, comp, "new_question", meta=meta, **base)
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
            return job_record(
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
    return job_record(ctx, job, kind="qa", prompt=q, response=a, verdicts=verdicts, scores=scores, meta=meta, **base)


RUNNERS = {
    "augment": run_augment,
    "rephrase": run_rephrase,
    "new_questions": run_new_question,
    "multi_hop": run_multi_hop,
}


async def run_job(ctx: GenContext, job: Job) -> Record:
    return await RUNNERS[job.strategy](ctx, job)
