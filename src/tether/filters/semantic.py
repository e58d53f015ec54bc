"""Semantic near-duplicates: cosine similarity of embeddings, under the dedup contract of `filters.dedup`.

Also the cosine primitives other stages reuse (coverage, leakage): `cosine_pairs` over one set, `best_match` of
queries against references. Both hold O(n * block) similarities at a time, never the n x n matrix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from tether.filters.base import VerdictColumn
from tether.filters.dedup import DedupRows, SetFilter, participants, resolve, snippet

if TYPE_CHECKING:
    from tether.filters.registry import BuildContext


class Embedder(Protocol):
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        ...


def _faiss():
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def _block_rows(n: int, budget: int = 1 << 24) -> int:
    """Rows per similarity block so that a block of n columns holds about `budget` floats (64 MB)."""
    return max(1, min(max(n, 1), budget // max(n, 1)))


HNSW_ABOVE = 50_000  # rows; below, an exact flat index (measured: 100k x 384 flat ~102 s, HNSW 65-77 s)


def _hnsw_pairs(faiss, emb: np.ndarray, threshold: float, k: int = 16) -> Iterator[tuple[int, int, float]]:
    """Approximate: each row's k nearest neighbours by HNSW, kept when at or above the threshold. A duplicate
    cluster larger than k is still joined, through chains of neighbours, by the union-find that reads the pairs."""
    index = faiss.IndexHNSWFlat(emb.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efSearch = max(128, 4 * k)
    index.add(emb)
    seen: set[tuple[int, int]] = set()
    for start in range(0, len(emb), 8192):
        sims, ids = index.search(emb[start : start + 8192], k + 1)
        for a in range(len(ids)):
            i = start + a
            for s, j in zip(sims[a].tolist(), ids[a].tolist(), strict=True):
                # a pair counts from either end: the graph search from i can miss j while the one from j finds i
                pair = (min(i, j), max(i, j))
                if j >= 0 and j != i and s >= threshold and pair not in seen:
                    seen.add(pair)
                    yield pair[0], pair[1], s


def cosine_pairs(emb: np.ndarray, threshold: float, backend: str = "auto") -> Iterator[tuple[int, int, float]]:
    """(i, j, cosine), i < j, for rows of `emb` (L2-normalised) with dot product >= threshold, block by block."""
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    n = len(emb)
    faiss = _faiss() if backend in ("auto", "faiss") else None
    if backend == "faiss" and faiss is None:
        raise ImportError("backend='faiss' but faiss is not installed")
    step = _block_rows(n)
    if faiss is not None and n > HNSW_ABOVE:
        yield from _hnsw_pairs(faiss, emb, threshold)
        return
    if faiss is not None and n:
        index = faiss.IndexFlatIP(emb.shape[1])
        index.add(emb)
        for start in range(0, n, step):
            lims, sims, ids = index.range_search(emb[start : start + step], float(np.nextafter(threshold, -1)))
            for a in range(len(lims) - 1):
                i = start + a
                for s, j in zip(sims[lims[a] : lims[a + 1]], ids[lims[a] : lims[a + 1]], strict=True):
                    if j > i and s >= threshold:
                        yield i, int(j), float(s)
        return
    for start in range(0, n, step):
        block = emb[start : start + step] @ emb[start:].T  # columns from `start`: only the upper triangle
        rows, cols = np.nonzero(block >= threshold)
        for a, b in zip(rows.tolist(), cols.tolist(), strict=True):
            if b > a:
                yield start + a, start + b, float(block[a, b])


def best_match(queries: np.ndarray, refs: np.ndarray, backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """For each query row: (best cosine, index of the best reference row)."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    refs = np.ascontiguousarray(refs, dtype=np.float32)
    faiss = _faiss() if backend in ("auto", "faiss") else None
    if faiss is not None:
        index = faiss.IndexFlatIP(refs.shape[1])
        index.add(refs)
        sims, ids = index.search(queries, 1)
        return sims[:, 0], ids[:, 0]
    best = np.empty(len(queries), dtype=np.float32)
    arg = np.empty(len(queries), dtype=np.int64)
    step = _block_rows(len(refs))
    for start in range(0, len(queries), step):
        block = queries[start : start + step] @ refs.T
        arg[start : start + step] = block.argmax(axis=1)
        best[start : start + step] = block.max(axis=1)
    return best, arg


class EmbeddingDedup(SetFilter):
    """Semantic duplicates: cosine similarity of embeddings (dot product of L2-normalised rows) >= threshold.

    Uses faiss (exact inner-product index up to HNSW_ABOVE rows, HNSW above) when importable, else numpy in row
    blocks. `backend` forces one ("faiss" / "numpy").
    """

    name = "embedding_dedup"
    batch = 4096  # texts per embedder call

    def __init__(
        self,
        embedder: Embedder,
        threshold: float = 0.95,
        reference: Sequence[str] = (),
        backend: Literal["auto", "faiss", "numpy"] = "auto",
        leak_threshold: float | None = None,
    ):
        from tether.text import normalize

        self.embedder, self.threshold, self.backend = embedder, threshold, backend
        self.leak_threshold = threshold if leak_threshold is None else leak_threshold
        self.reference = [r for r in reference if normalize(r)]
        self.needs_questions = bool(self.reference)
        self._ref_emb: np.ndarray | None = None

    @classmethod
    def from_config(cls, ctx: BuildContext) -> EmbeddingDedup:
        from tether.measure.context import CACHE_NAME
        from tether.measure.embedder import open_embedder

        d = ctx.cfg.filters.embedding_dedup
        cache = ctx.store / CACHE_NAME if ctx.store is not None else None  # the vectors `tether measure` reuses
        actors = None
        if ctx.engine == "ray":  # the model on an actor per CPU of the cluster, behind the driver's cache
            import ray

            actors = max(1, int(ray.cluster_resources().get("CPU", 1)))
        embedder = open_embedder(ctx.cfg.measure.embedder, cache, ray_actors=actors)
        reference = ctx.heldout if d.heldout_leakage else []
        flt = cls(embedder, threshold=d.threshold, reference=reference, leak_threshold=d.leak_threshold)
        if actors:
            flt.batch = 65_536  # one Ray job per call: give each enough texts to spread over the actors
        return flt

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        parts = [self.embedder.embed(texts[s : s + self.batch]) for s in range(0, len(texts), self.batch)]
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def _embed_rows(self, rows: DedupRows, idx: np.ndarray, column: str = "texts") -> np.ndarray:
        parts = [self._embed(texts) for texts in rows.iter_texts(idx, column)]
        return np.vstack(parts) if parts else self._embed([])

    def _leaks(self, rows: DedupRows) -> dict[int, str]:
        from tether.text import normalize

        live = np.flatnonzero(rows.live)
        if not self.reference or not len(live):
            return {}
        if self._ref_emb is None:
            self._ref_emb = self._embed([normalize(r) for r in self.reference])
        sims, ids = best_match(self._embed_rows(rows, live, "questions"), self._ref_emb, self.backend)
        return {
            int(live[a]): f"question matches reference #{k} (cosine {s:.3f}): {snippet(self.reference[k])!r}"
            for a, (s, k) in enumerate(zip(sims.tolist(), ids.tolist(), strict=True))
            if s >= self.leak_threshold
        }

    def decide(self, rows: DedupRows) -> VerdictColumn:
        leaks = self._leaks(rows)
        idx = participants(rows, leaks)
        emb = self._embed_rows(rows, idx)
        pos = {int(i): a for a, i in enumerate(idx)}
        pairs = ((idx[a], idx[b]) for a, b, _ in cosine_pairs(emb, self.threshold, self.backend))

        def describe(i: int, k: int) -> str:
            return f"duplicate of {rows.id(k)} (cosine {float(emb[pos[i]] @ emb[pos[k]]):.3f})"

        return resolve(rows, pairs, leaks, "near_duplicate", describe)
