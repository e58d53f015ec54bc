"""The engine seam: one small object of hooks, chosen once where the pipeline is assembled.

Why a seam and not an engine name: a stage that receives the string "ray" must know how Ray does its work, so every
stage with a distributed form grew an `if engine == "ray": from tether.engine.ray... import ...` branch and the
name was validated in several places. Now a stage receives an `Engine` and calls a hook where it has one; a hook
left `None` means "do it in this process", which is what `LOCAL` does everywhere. The Ray engine
(`tether.engine.ray.ray_engine`) fills the hooks with Ray Data implementations of the same functions, and the
local-vs-Ray equality tests hold each pair to the same rows and verdicts. Stage packages import this module only,
never `tether.engine.ray` or `ray` (import-linter enforces it in CI).

The hooks are typed loosely on purpose: this module sits below every stage, so it cannot name their types.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Engine:
    """`session()` is entered around a stage's work (Ray: a cluster for the stage, shut down after). Hooks:

    * `row_pass(funnel, row_filters)`: judge the per-row filters over a records file (`filters.streaming.Funnel`);
    * `near_pairs(texts, threshold, num_perm, ngram, seed, bands, verify) -> {(i, j): jaccard}`: MinHash pairs;
    * `embedder(cfg) -> Embedder`: the embedding model, behind the driver's vector cache (`embed.embedder`);
    * `generate(ws, prep, budget, generation, run_id) -> (rows, usage)`: a prepared generation plan's jobs.
    """

    name: str = "local"
    session: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext
    row_pass: Callable[..., None] | None = None
    near_pairs: Callable[..., dict[tuple[int, int], float]] | None = None
    embedder: Callable[[Any], Any] | None = None
    generate: Callable[..., tuple[list[Any], dict]] | None = None


LOCAL = Engine()
