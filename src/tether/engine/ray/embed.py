"""Sentence embeddings on Ray Data: an actor pool, each actor loading the configured embedder once.

`RayEmbedder` has the `Embedder` interface, so it goes where a local model would: inside the workspace's vector
cache (`CachedEmbedder`), which stays on the driver. Texts already embedded come from the cache; only the missing
ones travel to the actors, as Arrow, and their vectors come back in order. A multi-node cluster needs nothing
shared for this: the model comes from the PyPI package installed on every node, and the cache is the driver's.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tether.config import EmbedderConfig
from tether.embed.embedder import open_embedder
from tether.engine.ray.session import require_ray

BATCH = 256  # texts per actor call


class _EmbedActor:
    def __init__(self, cfg: EmbedderConfig):

        self.embedder = open_embedder(cfg)  # no cache: the driver's cache already answered what it could

    def __call__(self, batch: dict) -> dict:
        vecs = self.embedder.embed([str(t) for t in batch["text"]])
        return {"i": batch["i"], "vec": np.asarray(vecs, dtype=np.float32)}


class RayEmbedder:
    """Embeds on `actors` Ray actors (the cluster must be up: `ray_session`)."""

    def __init__(self, cfg: EmbedderConfig, actors: int = 2, dim: int = 384):
        require_ray()
        self.cfg, self.actors, self.dim = cfg, actors, dim

    def embed(self, texts: list[str]) -> np.ndarray:
        import ray.data as rd

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ds = rd.from_arrow(pa.table({"i": np.arange(len(texts), dtype=np.int64), "text": pa.array(texts)}))
        out = ds.map_batches(
            _EmbedActor, fn_constructor_args=(self.cfg,), batch_size=BATCH, concurrency=self.actors,
            batch_format="numpy",
        )  # fmt: skip
        vecs: np.ndarray | None = None
        for batch in out.iter_batches(batch_format="numpy", batch_size=None):
            if vecs is None:
                self.dim = batch["vec"].shape[1]
                vecs = np.zeros((len(texts), self.dim), dtype=np.float32)
            vecs[batch["i"]] = batch["vec"]
        assert vecs is not None
        return vecs


def cluster_embedder(cfg: EmbedderConfig) -> RayEmbedder:
    """The model on one actor per CPU of the running cluster (inside `ray_session`)."""
    ray = require_ray()
    return RayEmbedder(cfg, actors=max(1, int(ray.cluster_resources().get("CPU", 1))))
