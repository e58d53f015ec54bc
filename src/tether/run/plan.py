"""`tether run --dry-run`: what each stage would do and what it would cost, spending no model call.

Generation and the filters are forecast by the planner (calls, tokens, time and cost, from measured speed and funnel
rates where this workspace has them). Fill is bounded by its budget. Training is forecast from the seconds per step
of this workspace's last training run (or 2 s/step, measured for the embedded student on 2 CPU cores), and
evaluation by the number of held-out questions. A workspace with no version yet is ingested first: ingesting reads
files and calls no model, and the planner needs the seeds and chunks it counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from tether.generate.stage import Prepared, prepare
from tether.run.pipeline import Stage
from tether.run.state import RunState, fingerprint
from tether.seeds.stage import run_ingest
from tether.train.sft import list_students
from tether.workspace.store import Workspace

CPU_SECONDS_PER_STEP = 2.0  # SmolLM2-135M, LoRA r=8, batch 4x256, 2 cores (README)


@dataclass
class StageForecast:
    stage: str
    state: str  # "run" or "skip (unchanged)"
    forecast: str


@dataclass
class DryRun:
    stages: list[StageForecast]  # the pipeline's stages in order, then the report
    prep: Prepared | None  # generation's plan and forecast, when generation is among the stages
    ingested: str | None = None  # the version ingested first to count seeds and chunks (a workspace with none)


def _train_forecast(ws: Workspace) -> str:
    cfg = ws.config.train
    runs = [m for m in list_students(ws.store) if m.get("steps")]
    per_step = runs[-1]["seconds"] / runs[-1]["steps"] if runs else CPU_SECONDS_PER_STEP
    source = "measured in this workspace" if runs else "typical for the embedded student on 2 CPU cores"
    steps = cfg.max_steps or "epochs-bound"
    time = f"~{per_step * cfg.max_steps / 60:.1f} min" if cfg.max_steps else f"{per_step:.1f} s/step"
    return f"no teacher calls; {steps} steps, {time} ({source})"


def _filter_forecast(prep: Prepared) -> str:
    """Filter calls from the planner; their tokens, time and cost at generation's per-call averages (judge and
    grounding prompts carry a chunk, a question and an answer: about the size of a generation prompt)."""
    f, fc = prep.filters, prep.forecast
    calls = f.calls + f.calibration_calls
    note = f"~{calls} teacher calls ({f.source})"
    if calls and fc.calls:
        per = calls / fc.calls
        note += f", ~{round((fc.prompt_tokens + fc.completion_tokens) * per):,} tokens"
        note += f", ~{fc.seconds * per / 60:.1f} min" if fc.seconds else ""
        note += f", cost {fc.cost * per:.4f}" if fc.cost else ""
    return note


def forecast(ws: Workspace, stages: list[Stage]) -> DryRun:
    """Each stage's state (run, or skip when its fingerprint is unchanged) and forecast; ingests first where the
    workspace has no version (no model call)."""
    state = RunState(ws.store)
    cfg = ws.config
    ingested = None
    if ws.head() is None:
        run_ingest(ws, [])
        ingested = ws.head().id
    rows = []
    upstream = ""
    prep = None
    for st in stages:
        fp = fingerprint(st.name, upstream, st.config(ws))
        done = state.done(st.name, fp)
        upstream = done.output if done else f"(new {st.name})"
        status = "skip (unchanged)" if done else "run"
        if st.name == "generate":
            prep = prepare(ws, cfg.run.budget)
            fc = prep.forecast
            note = f"~{fc.calls} teacher calls, {fc.prompt_tokens + fc.completion_tokens:,} tokens"
            note += f", ~{fc.seconds / 60:.1f} min" if fc.seconds else ""
            note += f", cost {fc.cost:.4f}" if fc.cost else ""
        elif st.name == "filter" and prep is not None:
            note = _filter_forecast(prep)
        elif st.name == "fill":
            note = f"at most {cfg.fill.budget} teacher calls (fill.budget), {cfg.fill.rounds} rounds"
        elif st.name == "train":
            note = _train_forecast(ws)
        elif st.name == "eval":
            judge = " + 1 judge call each" if cfg.eval.judge else ""
            trained = any(x.name == "train" for x in stages)
            note = f"held-out questions answered by the base{' and trained' if trained else ''} student{judge}"
        else:
            note = "no model calls"
        rows.append(StageForecast(st.name, status, note))
    rows.append(StageForecast("report", "run", "no model calls: one HTML file"))
    return DryRun(rows, prep, ingested)
