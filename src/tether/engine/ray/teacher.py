"""The Ray Data engine for teacher stages: the same jobs and the same `run_job` as the local engine, on actors.

Why actors of our own and not `ray.data.llm`: its HTTP processor sends one request at a time per actor, so a pool
of 4 actors keeps 4 requests in flight where a vLLM server wants hundreds. Here every actor holds one
`TeacherClient` (aiohttp, adaptive concurrency, retries, the request cache) and runs its batch of jobs with
`client.map`, so an actor keeps `max_in_flight / actors` requests in flight and the pool keeps the configured
total. The call budget is one counter actor that every client asks before each call, so the budget holds across
actors and nodes.

Shared state a multi-node user must provide:
* the request cache (`.tether/cache.sqlite`) on a filesystem every node mounts (sqlite in WAL mode with a busy
  timeout takes concurrent writers from several processes; on NFS, use one node or a local copy per node and merge);
* the teacher endpoint reachable from every node (the embedded teacher is started once by the driver and its
  loopback address is only reachable on the driver's node: for several nodes, point `teacher.base_url` at a
  served model).

Rows come back to the driver, which commits them exactly as the local engine does: lineage, run log, version.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.engine.ray.session import require_ray
from tether.errors import TetherError
from tether.generate.stage import Prepared, teacher_record
from tether.generate.strategies import GenContext, run_job
from tether.llm.cache import RequestCache
from tether.llm.client import TeacherClient
from tether.llm.teacher import teacher_endpoint
from tether.records import Record
from tether.workspace.store import Workspace


@dataclass
class ActorSpec:
    """Everything an actor needs to rebuild the generation context (pickled once, shipped to every actor)."""

    teacher_cfg: Any  # TeacherConfig (the endpoint itself is `base_url`)
    base_url: str
    identity: Any  # TeacherIdentity
    cache_path: Path | None
    templates: Any
    g: Any
    domain: str
    teacher: Any  # records.Teacher
    run_id: str
    generation: int
    chunks: Any
    style: Any
    in_flight: int  # in flight in all: `run_jobs_ray` gives each actor its share
    budget: Any  # the CallBudget actor handle (set by `run_jobs_ray`), or None


class CallBudget:
    """One counter for the whole run: `take()` is True while calls remain."""

    def __init__(self, total: int):
        self.left = total

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


class TeacherActor:
    """map_batches callable: a batch of pickled jobs in, a batch of pickled rows (and usage deltas) out."""

    def __init__(self, spec: bytes):
        self.spec: ActorSpec = pickle.loads(spec)
        self.client = None
        self.ctx = None
        self.lock = asyncio.Lock()

    async def _open(self):
        s = self.spec
        cfg = s.teacher_cfg.model_copy(
            update={"concurrency": s.teacher_cfg.concurrency.model_copy(update={"max_in_flight": s.in_flight})}
        )
        cache = RequestCache(s.cache_path) if s.cache_path is not None else None
        self.client = TeacherClient(cfg, s.base_url, s.identity, cache)
        await self.client.__aenter__()
        if s.budget is not None:
            handle = s.budget

            async def gate() -> bool:
                return await handle.take.remote()

            self.client.budget_gate = gate
        self.ctx = GenContext(
            self.client, s.templates, s.g, s.domain, s.teacher, s.run_id, s.generation, s.chunks, s.style
        )

    async def __call__(self, batch: dict) -> Any:
        import numpy as np

        async with self.lock:
            if self.client is None:
                await self._open()
        before = self.client.stats.as_dict()
        jobs = [pickle.loads(b) for b in batch["job"]]
        try:
            rows = await self.client.map([lambda j=j: run_job(self.ctx, j) for j in jobs])
        except TetherError as e:  # exceptions reach the driver as Ray tracebacks: send the line back as data
            n = len(jobs)
            yield {
                "index": np.asarray(batch["index"]),
                "row": np.asarray([b""] * n, dtype=object),
                "usage": np.asarray([pickle.dumps({"fatal": str(e)})] + [b""] * (n - 1), dtype=object),
            }
            return
        after = self.client.stats.as_dict()
        delta = {k: after[k] - before[k] for k in ("requests", "calls", "cache_hits", "answers", "retries",
                                                   "prompt_tokens", "completion_tokens")}  # fmt: skip
        errors = Counter(after["errors"]) - Counter(before["errors"])
        usage = pickle.dumps({**delta, "errors": dict(errors)})
        yield {
            "index": np.asarray(batch["index"]),
            "row": np.asarray([pickle.dumps(r) for r in rows], dtype=object),
            "usage": np.asarray([usage] + [b""] * (len(rows) - 1), dtype=object),
        }


def run_jobs_ray(ray, spec: ActorSpec, jobs: list, actors: int, budget: int | None, batch_size: int = 64):
    """(rows in job order, usage dict) of `jobs` run on `actors` TeacherActors."""
    import ray.data as rd

    spec = dataclasses.replace(
        spec,
        budget=ray.remote(CallBudget).remote(budget) if budget is not None else None,
        in_flight=max(1, spec.in_flight // actors),  # the caller's total, shared by the actors
    )
    ds = rd.from_items([{"index": i, "job": pickle.dumps(j)} for i, j in enumerate(jobs)])
    out = ds.map_batches(
        TeacherActor,
        fn_constructor_kwargs={"spec": pickle.dumps(spec)},
        concurrency=actors,
        batch_size=batch_size,
        batch_format="numpy",
    )
    rows: dict[int, Any] = {}
    usage: Counter = Counter()
    errors: Counter = Counter()
    for batch in out.iter_batches(batch_format="numpy", batch_size=None):
        for i, row, u in zip(batch["index"], batch["row"], batch["usage"], strict=True):
            d = pickle.loads(u) if u else {}
            if "fatal" in d:  # an actor's client stopped (a dead teacher): its one line, not Ray's traceback
                raise TetherError(d["fatal"])
            rows[int(i)] = pickle.loads(row)
            if d:
                errors.update(d.pop("errors"))
                usage.update(d)
    if len(rows) != len(jobs):
        raise TetherError(f"the Ray engine returned {len(rows)} rows for {len(jobs)} jobs")
    return [rows[i] for i in range(len(jobs))], {**usage, "errors": dict(errors), "engine": f"ray ({actors} actors)"}


def ray_generate(
    ws: Workspace, prep: Prepared, budget: int, generation: int, run_id: str, actors: int
) -> tuple[list[Record], dict]:
    """The seam's `generate` hook: a prepared plan's jobs on `actors` TeacherActors (inside `ray_session`)."""
    ray = require_ray()
    cfg = ws.config
    with teacher_endpoint(cfg.teacher) as (base_url, ident):
        spec = ActorSpec(
            teacher_cfg=cfg.teacher,
            base_url=base_url,
            identity=ident,
            cache_path=ws.store / "cache.sqlite",
            templates=prep.templates,
            g=cfg.generate,
            domain=prep.domain,
            teacher=teacher_record(ident),
            run_id=run_id,
            generation=generation,
            chunks=prep.chunks,
            style=prep.style,
            in_flight=cfg.teacher.concurrency.max_in_flight,
            budget=None,
        )
        return run_jobs_ray(ray, spec, prep.jobs, actors, budget)
