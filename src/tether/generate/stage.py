"""`tether plan` and `tether generate` over a workspace.

Planning reads the head version (seeds, chunks), the ontology (for gap-aware targeting) and the templates, and
forecasts the run without touching the teacher. A workspace with documents and no seeds is a supported start:
the plan then asks only for new questions from the chunks (planner.py). Generating executes the same
deterministic jobs through the cached teacher client under a hard call budget, and writes a new version that
accumulates onto the head.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from tether.config import TetherConfig
from tether.documents import Chunk
from tether.engine.seam import LOCAL, Engine
from tether.errors import TetherError
from tether.filters.registry import domain_name
from tether.generate.forecast import Forecast, load_speed, make_forecast, save_speed
from tether.generate.jobs import build_jobs, seeded_chunks
from tether.generate.measured import MIN_ROWS, FilterForecast, filter_forecast, measured_rates
from tether.generate.multi_hop import find_links
from tether.generate.planner import Plan, make_plan
from tether.generate.strategies import GenContext, Job, run_job
from tether.generate.style import AnswerStyle, answer_mode, seed_style
from tether.generate.unanswerable import false_premise_rows
from tether.llm.accounting import UsageStats
from tether.llm.client import TeacherClient, TeacherError
from tether.llm.teacher import open_teacher, planned_identity_of
from tether.llm.types import TeacherIdentity
from tether.measure.context import best_matcher
from tether.prompts.context import context_block
from tether.prompts.templates import Template, load_templates
from tether.records import Record, Teacher, records_to_table
from tether.seeds.audit import seed_concepts
from tether.seeds.holdout import fixed_holdout
from tether.seeds.ontology import load_ontology
from tether.text.focus import fact_bearing
from tether.workspace.lineage import lineage_for
from tether.workspace.store import Manifest, Workspace, new_run_id

BARREN_RATE = 0.05  # a strategy that kept less than this share of its rows (measured here) gets no planner share


@dataclass
class Prepared:
    head: Manifest
    seeds: list[Record]
    chunks: dict[str, Chunk]
    plan: Plan
    jobs: list[Job]
    templates: dict[str, Template]
    forecast: Forecast
    domain: str
    style: AnswerStyle
    filters: FilterForecast
    kept_source: str  # where the "kept after filters" numbers come from
    false_premise: int = 0  # false-premise rows asked for (generate.unanswerable x seeds), made without a call


def teacher_record(ident: TeacherIdentity) -> Teacher:
    """The `Record.teacher` of rows a teacher with this identity writes (the endpoint is not part of it)."""
    return Teacher(model=ident.model, digest=ident.digest, version=ident.version, quant=ident.quant)


def weak_teacher(cfg: TetherConfig) -> bool:
    """generate.weak_teacher, or by default: the embedded teacher is weak."""
    return cfg.generate.weak_teacher if cfg.generate.weak_teacher is not None else cfg.teacher.embedded_mode


def planned_identity(ws: Workspace) -> TeacherIdentity:
    """The teacher's identity without starting it (for the forecast's measured speed)."""
    return planned_identity_of(ws.config.teacher)


def uncovered_share(seeds: list[Record], chunks: list[Chunk]) -> float:
    """Share of the fact-bearing chunks that no seed was taken from (the planner's floor for new questions)."""
    seeded = seeded_chunks(seeds)
    facts = [c for c in chunks if fact_bearing(c.text)]
    return sum(c.chunk_id not in seeded for c in facts) / len(facts) if facts else 0.0


def prepare(ws: Workspace, budget: int) -> Prepared:
    if budget < 1:
        raise TetherError("--budget must be at least 1 teacher call")
    cfg = ws.config
    head = ws.head()
    if head is None:
        raise TetherError(f"{ws.root} has no versions yet: run `tether ingest` first")
    # validation seeds never reach the teacher: a row restating one would only be removed as a holdout leak
    validation = set(fixed_holdout(ws, save=False).holdout.validation)
    seeds = [r for r in ws.human_records(head) if r.id not in validation]
    chunks = ws.chunks(head)
    g = cfg.generate
    weak = weak_teacher(cfg)
    mode = answer_mode(g.answers, weak)
    rates = measured_rates(ws)
    barren = {
        s: f"kept {rate:.0%} of {rates.rows[s]} rows in filter version {(rates.version or '')[:12]}"
        for s, rate in rates.keep.items()
        if rate < BARREN_RATE
    }
    uncovered = uncovered_share(seeds, chunks)

    def plan_for(links: int | None) -> Plan:
        try:
            return make_plan(
                budget,
                len(seeds),
                g,
                weak,
                have_chunks=bool(chunks),
                extractive=mode == "extractive",
                barren=barren,
                uncovered=uncovered,
                links=links,
            )
        except ValueError as e:
            raise TetherError(str(e)) from None

    plan, links = plan_for(None), []
    if plan.rows("multi_hop"):  # the chunk pairs are looked for only when the mix gives multi-hop questions rows
        links = find_links(chunks)
        plan = plan_for(len(links))
    chunk_concepts: dict[str, list[str]] = {}
    seed_counts: Counter[str] = Counter()
    domain = cfg.project
    if cfg.ontology is not None:
        onto = load_ontology(cfg.ontology)
        domain = onto.domain or domain
        matcher, _ = best_matcher(ws, onto, chunks)  # the reason, if keywords only, is logged
        for s, cs in zip(seeds, seed_concepts(seeds, matcher, set(onto.names())), strict=True):
            s.concepts = sorted(set(s.concepts) | cs)  # concepts flow into synthetic rows and prompts
            seed_counts.update(cs)
        chunk_concepts = dict(zip([c.chunk_id for c in chunks], matcher.match([c.text for c in chunks]), strict=True))
    jobs = build_jobs(plan, seeds, chunks, g, chunk_concepts, dict(seed_counts), links)
    templates = load_templates(g.templates)
    by_id = {c.chunk_id: c for c in chunks}
    context = {}
    if g.answer_with_context:
        for s in seeds:
            if s.source and s.source.chunk_id in by_id:
                context[s.id] = context_block(by_id[s.source.chunk_id])
    style = seed_style(seeds, mode)
    speed = load_speed(ws.store, planned_identity(ws))
    fc = make_forecast(plan, jobs, templates, domain, cfg.teacher, g.best_of, g.self_check, speed, context, style)
    for sp in plan.strategies:
        if sp.strategy in rates.keep:
            sp.kept_rows = round(sp.rows * rates.keep[sp.strategy])
    if rates.version is None:
        kept_source = "typical rates (assumed: no filter run in this workspace yet)"
    else:
        measured = ", ".join(f"{s} {rates.keep[s]:.0%} of {rates.rows[s]}" for s in rates.keep) or "too few rows"
        kept_source = f"measured in filter version {rates.version[:12]}: {measured}"
        typical = [sp.strategy for sp in plan.strategies if sp.rows and sp.strategy not in rates.keep]
        if typical:
            kept_source += f"; typical rates for {', '.join(typical)} (fewer than {MIN_ROWS} of its rows measured)"
    filters = filter_forecast(ws, sum(sp.rows for sp in plan.strategies), seeds, rates, plan.rows("new_questions"))
    wanted = round(g.unanswerable * len(seeds))  # at most: only seeds whose question names something count
    return Prepared(head, seeds, by_id, plan, jobs, templates, fc, domain, style, filters, kept_source, wanted)


@contextlib.asynccontextmanager
async def gen_context(
    ws: Workspace, generation: int = 1, need_seeds: bool = True
) -> AsyncIterator[tuple[GenContext, list[Record]]]:
    """A started teacher wrapped as a generation context, plus the head's seeds (for calibration commands, which
    compare with human answers and so need seeds; `need_seeds=False` for a caller that generates from chunks)."""
    cfg = ws.config
    head = ws.head()
    if head is None:
        raise TetherError(f"{ws.root} has no versions yet: run `tether ingest` first")
    seeds = ws.human_records(head)
    if need_seeds and not seeds:
        raise TetherError(
            "no seed examples in the workspace: this measures the teacher against human answers, so it needs some "
            "(generation does not: `tether plan` / `tether generate` work from documents alone)"
        )
    chunks = {c.chunk_id: c for c in ws.chunks(head)}
    async with open_teacher(cfg.teacher, ws.store / "cache.sqlite") as client:
        ident = client.identity
        teacher = teacher_record(ident)
        templates = load_templates(cfg.generate.templates)
        g = cfg.generate
        style = seed_style(seeds, answer_mode(g.answers, weak_teacher(cfg)))
        yield (
            GenContext(client, templates, g, domain_name(cfg), teacher, new_run_id(), generation, chunks, style),
            seeds,
        )


@dataclass
class GenerateReport:
    manifest: Manifest
    created: bool
    new: list[Record]
    usage: dict


ProgressFactory = Callable[[TeacherClient, int], AbstractContextManager[Callable[[Any], None]]]


async def run_jobs(
    ctx: GenContext, jobs: list[Job], progress: ProgressFactory | None
) -> tuple[list[Record], UsageStats]:
    """Every job through the context's client (one row per job, failures included), and the run's accounting."""
    with progress(ctx.client, len(jobs)) if progress else contextlib.nullcontext(None) as on_done:
        rows = await ctx.client.map([lambda j=j: run_job(ctx, j) for j in jobs], on_done=on_done)
    return rows, ctx.client.finish_stats()


def run_job_list(
    ws: Workspace, jobs: list[Job], budget: int, generation: int, progress: ProgressFactory | None = None
) -> tuple[list[Record], dict, str]:
    """(rows, usage, run id): jobs built outside the planner (gap filling, a probe's misses) through the teacher
    under `budget` calls."""

    async def go() -> tuple[list[Record], dict, str]:
        async with gen_context(ws, generation, need_seeds=False) as (ctx, _):
            ctx.client.budget = budget
            rows, stats = await run_jobs(ctx, jobs, progress)
            return rows, stats.as_dict(), ctx.run_id

    return asyncio.run(go())


async def _execute(
    ws: Workspace, prep: Prepared, budget: int, generation: int, run_id: str, progress: ProgressFactory | None
) -> tuple[list[Record], dict]:
    cfg = ws.config
    async with open_teacher(cfg.teacher, ws.store / "cache.sqlite") as client:
        client.budget = budget
        ident = client.identity
        teacher = teacher_record(ident)
        ctx = GenContext(
            client, prep.templates, cfg.generate, prep.domain, teacher, run_id, generation, prep.chunks, prep.style
        )
        rows, stats = await run_jobs(ctx, prep.jobs, progress)
        save_speed(ws.store, ident, stats.completion_tokens, stats.busy_s)
        return rows, stats.as_dict()


def commit_generated(
    ws: Workspace, head: Manifest, new: list[Record], run_id: str, stage: str, notes: dict, usage: dict
) -> tuple[Manifest, bool, list[Record]]:
    """Log every generation-time drop, then write the rows not already in `head` as a new version accumulating onto
    it (other tables carried forward). Returns (version, created, fresh rows); with no fresh row, `head`.

    A generation none of whose teacher calls was answered (`usage`, the run's accounting) is not committed: it
    raises, and the next run resumes from the cache. The local client raises earlier when the teacher dies; this
    also covers rows that come back from Ray actors."""
    if usage.get("requests") and not usage.get("answers") and not usage.get("cache_hits"):
        kinds = ", ".join(f"{k} x{n}" for k, n in Counter(usage.get("errors") or {}).most_common(3))
        raise TeacherError(
            f"generation failed: none of its {usage['requests']} teacher calls was answered ({kinds}); "
            "nothing committed"
        )
    ws.log_all(
        run_id,
        (
            {
                "event": "drop",
                "id": r.id,
                "strategy": r.strategy,
                "filter": name,
                "reason": v.reason,
                "detail": v.detail,
            }
            for r in new
            for name, v in r.verdicts.items()
            if not v.keep
        ),
    )
    # re-read rather than reuse a caller's rows: prepare() tags seeds with matched concepts for prompting, and
    # stored human rows must stay exactly as ingested
    old = ws.read_table(head, "records")  # Arrow: a version may hold millions of rows
    known = set(old.column("id").to_pylist())
    fresh = [r for r in new if r.id not in known]
    if not fresh:
        ws.log(run_id, "no_change", rows=len(new))
        return head, False, []
    tables = {
        "records": pa.concat_tables([old, records_to_table(fresh)]),
        **{name: ref for name, ref in head.tables.items() if name != "records"},  # unchanged: carried forward
    }
    notes = {**notes, "new_rows": len(fresh)}
    man, created = ws.commit(stage, tables, [head.id], run_id, notes=notes, usage=usage)
    if created:
        ws.lineage.add(*lineage_for(man.id, fresh))
    ws.log(run_id, "version", id=man.id, created=created, **notes)
    return man, created, fresh


def run_generate(
    ws: Workspace,
    prep: Prepared,
    generation: int = 1,
    progress: ProgressFactory | None = None,
    *,
    engine: Engine = LOCAL,
) -> GenerateReport:
    """Execute a prepared plan; the plan's budget is a hard cap on teacher calls. An engine with a `generate` hook
    (Ray: `tether.engine.ray`) runs the same jobs there; otherwise they run here, on asyncio."""
    budget = prep.plan.budget
    run_id = new_run_id()
    fixed_holdout(ws)  # the holdout the plan left out of the prompts is fixed from the first generation on
    if engine.generate is not None:
        with engine.session():
            new, usage = engine.generate(ws, prep, budget, generation, run_id)
    else:
        new, usage = asyncio.run(_execute(ws, prep, budget, generation, run_id, progress))
    corpus = [c.text for c in prep.chunks.values()]
    declined = false_premise_rows(prep.seeds, corpus, ws.config.generate.unanswerable, run_id, generation)
    new = [*new, *declined]
    notes = {
        "budget": budget,
        "generation": generation,
        "br": prep.plan.br if prep.plan.br is not None else "unbounded (no seeds)",
        "mix": ", ".join(f"{s.strategy}={s.share:.2f}" for s in prep.plan.strategies),
        "engine": engine.name,
        "unanswerable": len(declined),  # false-premise rows, made without a teacher call
        # the forecast the plan was made with, so reports can show plan against actual
        "planned_calls": prep.forecast.calls,
        "planned_tokens": prep.forecast.prompt_tokens + prep.forecast.completion_tokens,
        "planned_seconds": round(prep.forecast.seconds, 1) if prep.forecast.seconds is not None else "unknown",
        "planned_cost": round(prep.forecast.cost, 6),
    }
    man, created, _ = commit_generated(ws, prep.head, new, run_id, "generate", notes, usage)
    return GenerateReport(man, created, new, usage)
