"""`tether filter`: run the enabled filters in order over the head version and write a new version.

All enabled filters' old verdicts are cleared first and recomputed (teacher calls come from the cache), so a
re-run with a changed threshold gives exactly what a first run with that threshold would. Rows are never removed:
the new version holds every row, kept or dropped, with its verdicts; the funnel counts each dropped row once, at
the first filter that dropped it (generation-time verdicts count as the "generate" stage).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from tether.documents import Chunk
from tether.engine.seam import LOCAL, Engine
from tether.errors import TetherError
from tether.filters.base import DROP, asserts_seed, chunk_of, forget, without_declined, write_verdicts
from tether.filters.calibration import calibrate_missing, uncalibrated
from tether.filters.planted import MIN_SEEDS, no_seeds_note
from tether.filters.registry import MODEL_FILTERS, BuildContext, build_context, build_filters, judge_config, needs_model
from tether.filters.streaming import GENERATION_VERDICTS, Funnel, FunnelState, columns_qa, write_records_file
from tether.llm.teacher import open_teacher
from tether.records import Record, kept_mask
from tether.text import support
from tether.workspace.store import Manifest, Workspace, new_run_id


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
    trust: list[str] = []  # one line per model filter: what its verdicts may do, and why


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


def funnel_of(records: list[Record], filter_names: list[str]) -> list[FunnelStep]:
    """The funnel of a stored version, rebuilt from its verdicts: each synthetic row is charged to the first stage
    (generation, then the filters in run order) that dropped it, as `tether filter` printed it."""
    steps = [generation_step(records)]
    alive = [r for r in records if r.origin == "synthetic" and not _dropped_by(r, GENERATION_VERDICTS)]
    for name in filter_names:
        dropped: Counter[str] = Counter()
        survivors = []
        for r in alive:
            v = r.verdicts.get(name)
            if v is not None and not v.keep:
                dropped[v.reason or "?"] += 1
            else:
                survivors.append(r)
        steps.append(FunnelStep(name=name, rows_in=len(alive), dropped=dict(dropped)))
        alive = survivors
    return steps


def _dropped_by(r: Record, names: tuple[str, ...]) -> bool:
    return any((v := r.verdicts.get(n)) is not None and not v.keep for n in names)


async def apply_filters(records: list[Record], filters: list[Any], on_step=None, progress=None) -> list[FunnelStep]:
    """Run `filters` in order over rows held in memory (the library call, and the reference the streaming funnel
    of `tether filter` is tested against). `on_step(step)` after each; `progress(name, total)` is a context manager
    factory yielding an on_done callback, used for the filters that call the teacher."""
    forget(records, {f.name for f in filters}, {k for f in filters for k in getattr(f, "scores", ())})
    steps = [generation_step(records)]
    for f in filters:
        rows_in = sum(1 for r in records if r.origin == "synthetic" and r.kept)
        if hasattr(f, "ajudge"):
            asks = getattr(getattr(f, "trust", None), "ask", True)  # an advisory judge is not asked: no bar
            with progress(f.name, len(records)) if progress and asks else contextlib.nullcontext(None) as on_done:
                verdicts = await f.ajudge(records, on_done=on_done)
        else:
            verdicts = f.judge(records)
        write_verdicts(f.name, records, verdicts)
        dropped = Counter(v.reason or "?" for v in verdicts if v is not None and not v.keep)
        steps.append(FunnelStep(name=f.name, rows_in=rows_in, dropped=dict(dropped)))
        if on_step:
            on_step(steps[-1])
    return steps


def uncalibratable(name: str) -> str:
    return (
        f"{no_seeds_note([name])}; add {MIN_SEEDS}+ seed examples, or `tether judge calibrate --labels FILE` "
        "with rows you labelled good/bad"
    )


def funnel_steps(state: FunnelState, filters: list[Any]) -> list[FunnelStep]:
    """The funnel from a streamed run's columns: each synthetic row charged to the first stage that dropped it."""
    steps = [FunnelStep(name="generate", rows_in=int(state.synthetic.sum()), dropped=dict(state.generation_drops))]
    alive = state.synthetic & state.base_kept
    for f in filters:
        col = state.said.get(f.name)
        if col is None:
            break
        drops = col.codes == DROP
        reasons = Counter((col.notes.get(int(i), ("", None))[0] or "?") for i in np.flatnonzero(drops))
        steps.append(FunnelStep(name=f.name, rows_in=int(alive.sum()), dropped=dict(reasons)))
        alive &= ~drops
    return steps


UNASKED = {
    "grounding": "grounding: not calibrated (yet): every answer of this run is supported word for word by its chunk "
    "(lexical support >= {lexical_pass:g}), so no row needs the model; the first run that has such a row calibrates it",
    "judge": "judge: not calibrated (yet): this run has no synthetic row to judge",
}


def unasked_model_filters(source: Path, ctx: BuildContext) -> list[str]:
    """Enabled model filters with no calibration yet that would ask the model about no row of `source`:
    calibrating them now would cost minutes (grounding: 58 calls, 4.3 min of a 10-minute quickstart whose
    extractive answers it never asks about) and decide nothing."""
    f = ctx.cfg.filters
    if ctx.client is None or ctx.store is None:
        return []
    enabled = [n for n in MODEL_FILTERS if n in f.enabled and (n != "grounding" or f.grounding.use_teacher)]
    todo = uncalibrated(ctx, enabled)
    if not todo:
        return []
    needed = model_work(source, ctx.chunks, f.grounding.lexical_pass)
    return [n for n in todo if n not in needed]


def model_work(source: Path, chunks: dict[str, Chunk], lexical_pass: float, batch_rows: int = 16_384) -> set[str]:
    """Which model filters would ask the model about some row of the records file `source`: the judge, any live
    synthetic row; grounding, only one with a chunk and word support below `lexical_pass` (extractive answers,
    sentences of their chunk, never are) that does not assert only its seed's answer (false-premise rows). Read
    from the Parquet columns batch by batch, as the funnel reads them (no Records), stopping once both are known
    to be needed."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    found: set[str] = set()
    columns = ["origin", "prompt", "response", "messages", "source", "verdicts", "meta"]
    for batch in pq.ParquetFile(source).iter_batches(batch_size=batch_rows, columns=columns):
        table = pa.Table.from_batches([batch])
        synthetic = pc.equal(table.column("origin"), "synthetic").to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(synthetic & kept_mask(table))
        if not len(rows):
            continue
        found.add("judge")
        prompts, responses = table.column("prompt").to_pylist(), table.column("response").to_pylist()
        messages, sources = table.column("messages").to_pylist(), table.column("source").to_pylist()
        metas = table.column("meta").to_pylist()
        for i in rows:
            src = sources[i]
            meta = dict(metas[i] or [])
            chunk = chunk_of(src["chunk_id"] if src else None, meta, chunks)  # both passages of a multi-hop row
            answer = columns_qa(prompts[i], responses[i], messages[i])[1]
            answer = without_declined(answer, meta)
            if asserts_seed(meta, answer):
                continue  # grounding keeps it unasked (GroundingFilter.one)
            if chunk is not None and support(answer, chunk.text) < lexical_pass:
                found.add("grounding")
                return found
    return found


def run_filters(
    ws: Workspace,
    on_step=None,
    progress=None,
    on_trust=None,
    on_calibrated=None,
    engine: Engine = LOCAL,
    rows_progress=None,
) -> FilterReport:
    """Filter the head version into a new one, streaming its records in Parquet batches (`filters.streaming`).
    A model filter with no calibration for its judge and template is calibrated first (filters.calibration.auto;
    `on_calibrated(report)` then). `on_trust(lines)` is called once the filters are built, before any row is
    judged, with what each model filter's verdicts may do. `on_step(step)` as each filter finishes. `engine`'s hooks
    run the row filters, MinHash and the embedder elsewhere (Ray Data: `tether.engine.ray`), inside its session.
    `rows_progress(label, total)`: a context manager yielding `advance(rows)`, for each pass over the rows."""
    cfg = ws.config
    head: Manifest | None = ws.head()
    if head is None:
        raise TetherError(f"{ws.root} has no versions yet: run `tether ingest` and `tether generate` first")
    if "records" not in head.tables:
        raise TetherError(f"version {head.id[:12]} has no records: run `tether generate` first")
    source = ws.object_path(head.tables["records"])
    seeds = ws.human_records(head)
    run_id = new_run_id()
    out = ws.store / "objects" / f"filter-{run_id}.parquet.tmp"
    write, close = write_records_file(out)

    def write_and_log(table: pa.Table) -> None:
        write(table)
        ws.log_all(
            run_id,
            (
                {"event": "drop", "id": rid, "filter": v["filter"], "reason": v["reason"], "detail": v["detail"]}
                for rid, vs in zip(table["id"].to_pylist(), table["verdicts"].to_pylist(), strict=True)
                for v in vs
                if not v["keep"] and v["filter"] not in GENERATION_VERDICTS
            ),
        )

    async def go() -> tuple[FunnelState, list[Any], dict, list[str]]:
        async with contextlib.AsyncExitStack() as stack:
            client = None
            if needs_model(cfg):
                client = await stack.enter_async_context(open_teacher(judge_config(cfg), ws.store / "cache.sqlite"))
            ctx = build_context(ws, head, seeds, client, engine)
            unneeded: list[str] = []
            if client is not None:
                unneeded = unasked_model_filters(source, ctx)
                await calibrate_missing(ctx, progress, on_calibrated, unneeded)
            filters = build_filters(ctx)  # after calibration: each model filter reads its trust as it is built
            if len(seeds) < MIN_SEEDS:
                for name, t in ctx.trusts.items():
                    if t.state == "uncalibrated":  # its note says to calibrate, which cannot plant from no seeds
                        ctx.trusts[name] = dataclasses.replace(t, note=uncalibratable(name))
            # a filter left uncalibrated because this run gives it nothing to ask says so, instead of "veto only"
            lexical_pass = cfg.filters.grounding.lexical_pass
            trust = [
                UNASKED[n].format(lexical_pass=lexical_pass) if n in unneeded else t.note for n, t in ctx.trusts.items()
            ]
            if on_trust:
                on_trust(trust)
            bar = (lambda name, n: progress(client, n, name)) if progress and client else None
            funnel = Funnel.open(source, filters, progress=bar, row_pass=engine.row_pass, rows_progress=rows_progress)

            def step_done(name: str) -> None:
                if on_step:
                    on_step(next(s for s in funnel_steps(funnel.state, filters) if s.name == name))

            await funnel.run(write_and_log, step_done)
            return funnel.state, filters, (client.finish_stats().as_dict() if client else {}), trust

    try:
        with engine.session():
            state, filters, usage, trust = asyncio.run(go())
        rows, counts = close()
    except BaseException:
        close()
        out.unlink(missing_ok=True)
        raise
    steps = funnel_steps(state, filters)
    kept = int((state.synthetic & state.kept()).sum())
    # chunks and documents are unchanged: carried forward by reference
    tables = {**head.tables, "records": ws.put_file(out, rows)}
    notes = {"synthetic": steps[0].rows_in, "kept": kept, "filters": ", ".join(cfg.filters.enabled)}
    man, created = ws.commit("filter", tables, [head.id], run_id, notes=notes, usage=usage, counts=counts)
    return FilterReport(
        version=man.id, created=created, synthetic=steps[0].rows_in, steps=steps, kept=kept, usage=usage, trust=trust
    )
