"""Dry-run forecast: calls, tokens, rows, time and cost of a plan, before any teacher call is made.

Prompt tokens come from rendering the real prompts (characters / 4); completion tokens from typical lengths per
prompt kind (capped by max_tokens). Time uses this workspace's measured teacher speed when a previous run
recorded one, else a documented estimate for the embedded teacher, else is left unknown.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from tether.config import TeacherConfig
from tether.generate.job import Job
from tether.generate.planner import Plan
from tether.generate.questions import examples_block, job_focus, question_template
from tether.generate.style import AnswerStyle
from tether.llm.types import TeacherIdentity
from tether.prompts.templates import Template

# completion tokens per call; an extractive new question is the question alone (measured: 21 tokens a call, 563 calls
# of the 0.5B on the example domain), the free one a question and its answer
TYPICAL_COMPLETION = {
    "answer": 80,
    "answer_cot": 180,
    "rephrase": 30,
    "new_question": 100,
    "new_question_extract": 25,
    "self_check": 40,
}
# SmolLM2-135M Q4_1 on 2 quiet cores (DESIGN.md): prompt ~390 tok/s, generation ~140 tok/s
EMBEDDED_PROMPT_TPS, EMBEDDED_GEN_TPS = 390.0, 140.0
SPEED_FILE = "teacher_speed.json"


class StrategyForecast(BaseModel):
    strategy: str
    rows: int
    calls: int
    kept_rows: int
    prompt_tokens: int
    completion_tokens: int


class Forecast(BaseModel):
    strategies: list[StrategyForecast]
    seconds: float | None
    speed_source: str
    cost: float

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.strategies)

    @property
    def prompt_tokens(self) -> int:
        return sum(s.prompt_tokens for s in self.strategies)

    @property
    def completion_tokens(self) -> int:
        return sum(s.completion_tokens for s in self.strategies)


def _tok(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) for m in messages) // 4 + 4 * len(messages)


def _job_tokens(
    job: Job,
    t: dict[str, Template],
    domain: str,
    best_of: int,
    self_check: bool,
    max_tokens: int,
    context: dict[str, str],
    hint: str = "",
    answer_tokens: int | None = None,
    extractive: bool = False,
) -> tuple[int, int]:
    """(prompt, completion) tokens of one job; `context` maps seed ids to the reference text they are answered with."""
    comp = {k: min(v, max_tokens) for k, v in TYPICAL_COMPLETION.items()}
    if answer_tokens:
        comp["answer"] = min(comp["answer"], answer_tokens)
    if job.strategy in ("augment", "rephrase"):
        assert job.seed is not None
        q = job.seed.question()
        ctx = context.get(job.seed.id, "")
        ans_p = _tok(t["answer"].render(domain=domain, question=q, context_block=ctx, length_hint=hint))
        if job.strategy == "augment" and job.cot:
            return ans_p, comp["answer_cot"]
        p, c = ans_p * best_of, comp["answer"] * best_of
        if job.strategy == "rephrase":
            p += _tok(t["rephrase"].render(domain=domain, question=q, variant=1))
            c += comp["rephrase"]
        return p, c
    assert job.chunk is not None
    if job.strategy == "multi_hop":
        assert job.second is not None
        msgs = t["multi_hop"].render(
            domain=domain, chunk=job.chunk.text, chunk2=job.second.text, focus=job.focus, focus2=job.focus2
        )
        return _tok(msgs), comp["new_question_extract"]  # the question alone, as for an extractive new question
    examples, _ = examples_block(job.examples, t)
    focus, name = job_focus(job), question_template(job, extractive)
    p = _tok(
        t[name].render(
            domain=domain,
            chunk=job.chunk.text,
            focus=focus,
            examples=examples,
            concept_line="",
            variant=1,
            length_hint=hint,
        )
    )
    c = comp[name]
    if self_check:
        p += _tok(t["self_check"].render(domain=domain, chunk=job.chunk.text, question="q", answer="a")) + 60
        c += comp["self_check"]
    if job.preference:
        p += 60
        c += comp["answer"]
    return p, c


def speed_key(identity: TeacherIdentity) -> str:
    return f"{identity.model}@{identity.digest or '-'}"


def load_speed(store: Path, identity: TeacherIdentity) -> float | None:
    """Measured completion tokens per wall second for this teacher, from earlier runs in the workspace."""
    try:
        return json.loads((store / SPEED_FILE).read_text())[speed_key(identity)]["completion_tps"]
    except (OSError, json.JSONDecodeError, KeyError):
        return None


def save_speed(store: Path, identity: TeacherIdentity, completion_tokens: int, busy_s: float) -> None:
    if completion_tokens < 50 or busy_s <= 0:
        return  # too little to measure (e.g. a run served from the cache)
    path = store / SPEED_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        data = {}
    data[speed_key(identity)] = {"completion_tps": round(completion_tokens / busy_s, 2)}
    path.write_text(json.dumps(data, indent=2))


def make_forecast(
    plan: Plan,
    jobs: list[Job],
    templates: dict[str, Template],
    domain: str,
    teacher: TeacherConfig,
    best_of: int,
    self_check: bool,
    measured_tps: float | None,
    context: dict[str, str],
    style: AnswerStyle | None = None,
) -> Forecast:
    rows = []
    hint = style.hint() if style else ""
    answer_tokens = min(TYPICAL_COMPLETION["answer"], 2 * style.median_words) if style else None
    extractive = style is not None and style.mode == "extractive"
    for sp in plan.strategies:
        mine = [j for j in jobs if j.strategy == sp.strategy]
        toks = [
            _job_tokens(
                j, templates, domain, best_of, self_check, teacher.max_tokens, context, hint, answer_tokens, extractive
            )
            for j in mine
        ]
        rows.append(
            StrategyForecast(
                strategy=sp.strategy,
                rows=sp.rows,
                calls=sp.calls,
                kept_rows=sp.kept_rows,
                prompt_tokens=sum(p for p, _ in toks),
                completion_tokens=sum(c for _, c in toks),
            )
        )
    p_tok, c_tok = sum(r.prompt_tokens for r in rows), sum(r.completion_tokens for r in rows)
    if measured_tps:
        seconds, source = c_tok / measured_tps, f"measured here: {measured_tps:.0f} completion tok/s"
    elif teacher.embedded_mode:
        seconds = p_tok / EMBEDDED_PROMPT_TPS + c_tok / EMBEDDED_GEN_TPS
        source = (
            f"estimate for the embedded teacher on 2 cores ({EMBEDDED_PROMPT_TPS:.0f} prompt / "
            f"{EMBEDDED_GEN_TPS:.0f} completion tok/s); measured after the first run"
        )
    else:
        seconds, source = None, "unknown until a first run measures this endpoint"
    cost = (p_tok * teacher.price_per_mtok_prompt + c_tok * teacher.price_per_mtok_completion) / 1e6
    return Forecast(strategies=rows, seconds=seconds, speed_source=source, cost=cost)
