"""The Ray Data engine: the seam's hooks (`tether.engine.seam.Engine`) filled with Ray implementations of the same
stage functions. `ray` itself is imported only when a hook runs, so this package imports without Ray installed."""

from __future__ import annotations

from tether.engine.ray.dedup import ray_near_pairs
from tether.engine.ray.embed import cluster_embedder
from tether.engine.ray.filters import ray_row_pass
from tether.engine.ray.session import ray_session
from tether.engine.ray.teacher import ray_generate
from tether.engine.seam import Engine


def ray_engine(address: str | None = None, actors: int = 2, num_cpus: int | None = None) -> Engine:
    """Teacher calls on `actors` Ray actors; per-row filters, MinHash and the embedder as Ray Data tasks; a local
    cluster (of `num_cpus` CPUs, default all) unless `address` names one."""

    def generate(ws, prep, budget, generation, run_id):
        return ray_generate(ws, prep, budget, generation, run_id, actors)

    return Engine(
        name="ray",
        session=lambda: ray_session(address, num_cpus),
        row_pass=ray_row_pass,
        near_pairs=ray_near_pairs,
        embedder=cluster_embedder,
        generate=generate,
    )
