"""`tether filter`: run the enabled filters in order over the head version and write a new version.

All enabled filters' old verdicts are cleared first and recomputed (teacher calls come from the cache), so a
re-run with a changed threshold gives exactly what a first run with that threshold would. Rows are never removed:
the new version holds every row, kept or dropped, with its verdicts; the funnel counts each dropped row once, at
the first filter that dropped it (generation-time verdicts count as the "generate" stage).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

from pydantic import BaseModel

from tether.config import TetherConfig
from tether.errors import TetherError
from tether.generate.templates import load_templates
from tether.llm.client import TeacherClient
from tether.llm.teacher import open_teacher
from tether.records import Record, records_to_table
from tether.seeds.audit import load_heldout
from tether.seeds.documents import Chunk
from tether.seeds.ontology import load_ontology
from tether.workspace.store import Manifest, Workspace, new_run_id

TEACHER_FILTERS = {"judge", "grounding"}
GENERATION_VERDICTS = ("generate", "self_check")


class FunnelStep(BaseModel):
    name: str
    rows_in: int
    dropped: dict[str, int]  # reason -> rows

    @property
    def rows_out(self) -> int:
        return self.rows_in - sum(self.dropped.values())


class FilterReport(BaseModel):
    version: str
    created: bool
    synthetic: int
    steps: list[FunnelStep]
    kept: int
    usage: dict = {}


def domain_name(cfg: TetherConfig) -> str:
    if cfg.ontology is not None:
        return load_ontology(cfg.ontology).domain or cfg.project
    return cfg.project


def build_filters(cfg: TetherConfig, chunks: dict[str, Chunk], client: TeacherClient | None) -> list[Any]:
    """The enabled filters, in order (imports are local: the sandbox and dedup modules are only loaded if used)."""
    f = cfg.filters
    templates = load_templates(cfg.generate.templates)
    heldout = [q for q, _ in load_heldout(cfg.heldout)] if cfg.heldout and f.near_dedup.heldout_leakage else []
    domain = domain_name(cfg)
    out: list[Any] = []
    for name in f.enabled:
        if name == "validity":
            from tether.filters.validity import ValidityFilter

            out.append(ValidityFilter(f.validity.language, f.validity.min_answer_chars))
        elif name == "rules":
            from tether.filters.rules import RulesFilter

            r = f.rules
            out.append(
                RulesFilter(
                    r.question_chars, r.answer_chars, r.must_match, r.must_not_match, r.answer_format, r.json_schema
                )
            )
        elif name == "exact_dedup":
            from tether.filters.dedup import ExactDedup

            out.append(ExactDedup(reference=heldout))
        elif name == "near_dedup":
            from tether.filters.dedup import MinHashDedup

            d = f.near_dedup
            out.append(MinHashDedup(threshold=d.threshold, num_perm=d.num_perm, ngram=d.ngram, reference=heldout))
        elif name == "embedding_dedup":
            raise TetherError(
                "filters.enabled: embedding_dedup needs the MiniLM embedder, which lands with the "
                "diversity stage; use near_dedup for now"
            )
        elif name == "grounding":
            from tether.filters.judged import GroundingFilter

            g = f.grounding
            out.append(
                GroundingFilter(
                    client if g.use_teacher else None,
                    templates["grounding"],
                    domain,
                    chunks,
                    g.lexical_pass,
                    g.lexical_min,
                )
            )
        elif name == "judge":
            from tether.filters.judged import LLMJudge

            assert client is not None
            out.append(LLMJudge(client, templates["judge"], domain, chunks, f.judge.threshold, f.judge.keep_unscored))
        elif name == "code":
            from tether.filters.sandbox import CodeValidator

            c = f.code
            out.append(
                CodeValidator(
                    timeout_s=c.timeout_s,
                    memory_mb=c.memory_mb,
                    max_output_kb=c.max_output_kb,
                    tests=c.tests,
                    required=c.required,
                )
            )
        elif name == "sql":
            from tether.filters.sql import SqlValidator

            s = f.sql
            assert s.database is not None
            out.append(
                SqlValidator(
                    s.database,
                    timeout_s=s.timeout_s,
                    reference_field=s.reference_field,
                    compare=s.compare,
                    required=s.required,
                )
            )
    return out


def generation_step(records: list[Record]) -> FunnelStep:
    synthetic = [r for r in records if r.origin == "synthetic"]
    dropped: Counter[str] = Counter()
    for r in synthetic:
        for name in GENERATION_VERDICTS:
            v = r.verdicts.get(name)
            if v is not None and not v.keep:
                dropped[f"{name}:{v.reason}"] += 1
                break
    return FunnelStep(name="generate", rows_in=len(synthetic), dropped=dict(dropped))


async def apply_filters(records: list[Record], filters: list[Any], on_step=None, progress=None) -> list[FunnelStep]:
    """Run `filters` in order. `on_step(step)` after each; `progress(name, total)` is a context manager factory
    yielding an on_done callback, used for the filters that call the teacher."""
    # forget what the enabled filters said last time, verdicts and scores alike: dedup keeps the best-scored
    # duplicate, so a judge score left over from a previous run would change which row it keeps
    names = {f.name for f in filters}
    score_keys = {k for f in filters for k in getattr(f, "scores", ())}
    for r in records:
        for n in names:
            r.verdicts.pop(n, None)
        for k in score_keys:
            r.scores.pop(k, None)
    steps = [generation_step(records)]
    for f in filters:
        rows_in = sum(1 for r in records if r.origin == "synthetic" and r.kept)
        if hasattr(f, "ajudge"):
            with progress(f.name, len(records)) if progress else contextlib.nullcontext(None) as on_done:
                verdicts = await f.ajudge(records, on_done=on_done)
        else:
            verdicts = f.judge(records)
        if len(verdicts) != len(records):
            raise RuntimeError(f"filter {f.name} returned {len(verdicts)} verdicts for {len(records)} rows")
        dropped: Counter[str] = Counter()
        for r, v in zip(records, verdicts, strict=True):
            if v is not None:
                r.verdicts[f.name] = v
                if not v.keep:
                    dropped[v.reason or "?"] += 1
        steps.append(FunnelStep(name=f.name, rows_in=rows_in, dropped=dict(dropped)))
        if on_step:
            on_step(steps[-1])
    return steps


def run_filters(ws: Workspace, on_step=None, progress=None) -> FilterReport:
    cfg = ws.config
    head: Manifest | None = ws.head()
    if head is None:
        raise TetherError(f"{ws.root} has no versions yet: run `tether ingest` and `tether generate` first")
    records = ws.records(head)
    chunks = {c.chunk_id: c for c in ws.chunks(head)}
    run_id = new_run_id()
    needs_teacher = bool(TEACHER_FILTERS & set(cfg.filters.enabled)) and (
        "judge" in cfg.filters.enabled or cfg.filters.grounding.use_teacher
    )

    async def go() -> tuple[list[FunnelStep], dict]:
        async with contextlib.AsyncExitStack() as stack:
            client = None
            if needs_teacher:
                client = await stack.enter_async_context(open_teacher(cfg.teacher, ws.store / "cache.sqlite"))
            bar = (lambda name, n: progress(client, n, name)) if progress and client else None
            steps = await apply_filters(records, build_filters(cfg, chunks, client), on_step, bar)
            return steps, (client.finish_stats().as_dict() if client else {})

    steps, usage = asyncio.run(go())
    ws.log_all(
        run_id,
        (
            {"event": "drop", "id": r.id, "filter": name, "reason": v.reason, "detail": v.detail}
            for r in records
            for name, v in r.verdicts.items()
            if not v.keep and name not in GENERATION_VERDICTS
        ),
    )
    kept = sum(1 for r in records if r.origin == "synthetic" and r.kept)
    # chunks and documents are unchanged: carried forward by reference
    tables = {**head.tables, "records": records_to_table(records)}
    notes = {"synthetic": steps[0].rows_in, "kept": kept, "filters": ", ".join(cfg.filters.enabled)}
    man, created = ws.commit("filter", tables, [head.id], run_id, notes=notes, usage=usage)
    return FilterReport(
        version=man.id, created=created, synthetic=steps[0].rows_in, steps=steps, kept=kept, usage=usage
    )
