"""Semantic near-duplicates: cosine similarity of embeddings, under the dedup contract of `filters.dedup`.

The cosine search itself (`cosine_pairs`, `best_match`) lives in `tether.embed.search`, shared with coverage and
leakage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from tether.embed.embedder import CACHE_NAME, Embedder, open_embedder
from tether.embed.search import best_match, cosine_pairs
from tether.filters.base import VerdictColumn
from tether.filters.dedup import DedupRows, SetFilter, participants, resolve, snippet
from tether.text import normalize

if TYPE_CHECKING:
    from tether.filters.registry import BuildContext


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
        self.embedder, self.threshold, self.backend = embedder, threshold, backend
        self.leak_threshold = threshold if leak_threshold is None else leak_threshold
        self.reference = [r for r in reference if normalize(r)]
        self.needs_questions = bool(self.reference)
        self._ref_emb: np.ndarray | None = None

    @classmethod
    def from_config(cls, ctx: BuildContext) -> EmbeddingDedup:

        d = ctx.cfg.filters.embedding_dedup
        cache = ctx.store / CACHE_NAME if ctx.store is not None else None  # the vectors `tether measure` reuses
        remote = ctx.engine.embedder  # e.g. the model on an actor per CPU of a Ray cluster, behind the driver's cache
        embedder = open_embedder(ctx.cfg.measure.embedder, cache, remote=remote)
        reference = ctx.heldout if d.heldout_leakage else []
        flt = cls(embedder, threshold=d.threshold, reference=reference, leak_threshold=d.leak_threshold)
        if remote is not None:
            flt.batch = 65_536  # one remote job per call: give each enough texts to spread over the actors
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
