"""Deduplication filters: exact (sha256), near (MinHash LSH, via rensa) and semantic (embedding cosine).

All three share one contract:

* The compared text is `normalize(question) + " || " + normalize(answer)`: a row is a duplicate only when both
  halves match, so one question with two different answers is two rows.
* Human rows are never judged (None), but they are already present: a synthetic row that duplicates one is dropped
  as `duplicates_seed`, naming the human row.
* Duplicate synthetic rows form clusters (union-find over verified pairs). The best-scored member (highest
  `scores["judge"]`, ties to the first in input order) is kept; the rest are dropped as `exact_duplicate` /
  `near_duplicate` (MinHash and embedding filters alike), naming the kept row.
* Rows an earlier filter dropped are ignored (None) and never represent a cluster.
* With `reference` (held-out evaluation questions), a synthetic row whose *question* matches one is dropped as
  `heldout_leak`; that check compares questions only.

Nothing here holds O(n^2) memory: candidates come from hashing (sha256, LSH bands) or from similarity blocks of
bounded size, and verified pairs are streamed into the union-find.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from tether.records import Record, Verdict
from tether.text import normalize

if TYPE_CHECKING:
    from rensa import RMinHash

    from tether.filters.registry import BuildContext

SEP = " || "
Verify = Literal["estimate", "exact"]
# (false-positive, false-negative) weights for choosing LSH bands x rows. Recall-heavy: a missed duplicate is lost
# for good, while a false candidate costs one verification. Measured (bench/dedup.py, 100k texts, threshold 0.7):
# 0.5/0.5 with estimate-only verification gave recall 0.89 / precision 0.96; these weights with exact verification
# of borderline pairs gave 1.00 / 1.00 at 8x datasketch's speed.
RECALL_WEIGHTS = (0.05, 0.95)
_CHUNK = 8192  # rows sketched / queried per batch: bounds the transient shingle and candidate lists


def dedup_text(rec: Record) -> str:
    """The text every dedup filter compares: normalised question and answer, joined by a marker token."""
    return normalize(rec.question()) + SEP + normalize(rec.answer())


def _score(rec: Record) -> float:
    return rec.scores.get("judge", 0.0)


def _snippet(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


# ---------------------------------------------------------------------------------------------------- clustering


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _resolve(
    records: list[Record],
    pairs: Iterable[tuple[int, int]],
    leaks: dict[int, str],
    reason: str,
    describe: Callable[[int, int], str],
) -> list[Verdict | None]:
    """Turn verified duplicate pairs (record indices) into verdicts.

    `pairs` may only involve rows that take part (kept rows, not in `leaks`). `describe(dropped, kept)` writes
    the detail of a dropped row, naming the row it duplicates.
    """
    uf = _UnionFind(len(records))
    for i, j in pairs:
        uf.union(i, j)
    clusters: dict[int, list[int]] = {}
    for i, rec in enumerate(records):
        if rec.kept and i not in leaks:
            clusters.setdefault(uf.find(i), []).append(i)

    out: list[Verdict | None] = [None] * len(records)
    for i, detail in leaks.items():
        out[i] = Verdict(keep=False, reason="heldout_leak", detail=detail)
    for members in clusters.values():  # members are in input order
        synthetic = [i for i in members if records[i].origin == "synthetic"]
        humans = [i for i in members if records[i].origin == "human"]
        if humans:
            for i in synthetic:
                out[i] = Verdict(keep=False, reason="duplicates_seed", detail=describe(i, humans[0]))
            continue
        if not synthetic:
            continue
        best = max(synthetic, key=lambda i: (_score(records[i]), -i))
        for i in synthetic:
            out[i] = Verdict(keep=True) if i == best else Verdict(keep=False, reason=reason, detail=describe(i, best))
    return out


def _live(rec: Record) -> bool:
    return rec.origin == "synthetic" and rec.kept


def _collapse(texts: dict[int, str]) -> tuple[list[int], list[tuple[int, int]]]:
    """Group identical texts: one representative index per distinct text, plus (representative, copy) pairs."""
    first: dict[bytes, int] = {}
    copies: list[tuple[int, int]] = []
    for i, text in texts.items():
        key = hashlib.sha256(text.encode("utf-8")).digest()
        if key in first:
            copies.append((first[key], i))
        else:
            first[key] = i
    return list(first.values()), copies


# ---------------------------------------------------------------------------------------------------- exact


class ExactDedup:
    """Identical normalised question+answer (sha256). Cheap; run it before the near/semantic filters."""

    name = "exact_dedup"

    def __init__(self, reference: Sequence[str] = ()):
        self.reference: dict[bytes, int] = {}
        for k, q in enumerate(reference):
            if text := normalize(q):
                self.reference.setdefault(hashlib.sha256(text.encode("utf-8")).digest(), k)
        self._ref_text = list(reference)

    @classmethod
    def from_config(cls, ctx: BuildContext) -> ExactDedup:
        return cls(reference=ctx.heldout if ctx.cfg.filters.near_dedup.heldout_leakage else [])

    def judge(self, records: list[Record]) -> list[Verdict | None]:
        leaks: dict[int, str] = {}
        if self.reference:
            for i, rec in enumerate(records):
                if _live(rec):
                    k = self.reference.get(hashlib.sha256(normalize(rec.question()).encode("utf-8")).digest())
                    if k is not None:
                        leaks[i] = f"question equals reference #{k}: {_snippet(self._ref_text[k])!r}"
        texts = {i: dedup_text(r) for i, r in enumerate(records) if r.kept and i not in leaks}
        _, pairs = _collapse(texts)
        return _resolve(records, pairs, leaks, "exact_duplicate", lambda _i, k: f"same text as {records[k].id}")


# ---------------------------------------------------------------------------------------------------- MinHash


def s_curve(s: float, bands: int, rows: int) -> float:
    """Probability that two sets with Jaccard `s` share at least one LSH band."""
    return 1.0 - (1.0 - s**rows) ** bands


def _integrate(f: Callable[[float], float], a: float, b: float, steps: int = 512) -> float:
    """Midpoint rule; the integrands are smooth polynomials, so a few hundred steps is plenty."""
    if b <= a:
        return 0.0
    h = (b - a) / steps
    return h * sum(f(a + (k + 0.5) * h) for k in range(steps))


def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) with bands * rows == num_perm minimising the weighted false-positive + false-negative area.

    False-positive area: integral over s in [0, threshold] of P(candidate | s); false-negative area: integral over
    [threshold, 1] of 1 - P(candidate | s). Only exact divisors of num_perm are allowed (rensa's LSH requires it),
    so the choice is coarse: for num_perm 128 the S-curve midpoints (1/b)^(1/r) are 0.42, 0.71, 0.88, 0.96, ...
    Raising `fn_weight` moves the curve left (more candidates, fewer misses); candidates are verified afterwards,
    so a false positive costs a comparison while a false negative is a duplicate that stays.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    if num_perm < 1:
        raise ValueError(f"num_perm must be positive, got {num_perm}")
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        if num_perm % bands:
            continue
        rows = num_perm // bands
        fp = _integrate(lambda s, b=bands, r=rows: s_curve(s, b, r), 0.0, threshold)
        fn = _integrate(lambda s, b=bands, r=rows: 1.0 - s_curve(s, b, r), threshold, 1.0)
        err = fp_weight * fp + fn_weight * fn
        if best is None or err < best[0]:
            best = (err, bands, rows)
    assert best is not None
    return best[1], best[2]


def shingles(text: str, n: int) -> list[str]:
    """Word n-grams of whitespace-split text; a text of n words or fewer is one shingle (itself, maybe "")."""
    words = text.split()
    if len(words) <= n:
        return [" ".join(words)]
    return list(map(" ".join, zip(*(words[k:] for k in range(n)), strict=False)))


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    """Exact Jaccard similarity of two shingle collections (as sets)."""
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 1.0


def _sketch(texts: Sequence[str], num_perm: int, ngram: int, seed: int) -> list[RMinHash]:
    from rensa import RMinHash

    out: list[RMinHash] = []
    for start in range(0, len(texts), _CHUNK):
        batch = [shingles(t, ngram) for t in texts[start : start + _CHUNK]]
        out.extend(RMinHash.from_token_sets(batch, num_perm, seed))
    return out


class _Verifier:
    """Accept an LSH candidate when its similarity reaches the threshold.

    "estimate": the MinHash Jaccard estimate decides (standard error sqrt(J(1-J)/num_perm), about 0.04 at J=0.7
    with 128 permutations, so pairs within ~0.08 of the threshold are decided partly by chance).
    "exact": the estimate decides only pairs clearly (> 4 standard errors) above or below the threshold; the
    borderline ones are settled by the exact Jaccard of their shingle sets.
    """

    def __init__(
        self,
        hs_a: list[RMinHash],
        texts_a: Sequence[str],
        hs_b: list[RMinHash],
        texts_b: Sequence[str],
        threshold: float,
        num_perm: int,
        ngram: int,
        verify: Verify,
    ):
        if verify not in ("estimate", "exact"):
            raise ValueError(f"verify must be 'estimate' or 'exact', got {verify!r}")
        self.hs_a, self.texts_a, self.hs_b, self.texts_b = hs_a, texts_a, hs_b, texts_b
        self.threshold, self.ngram, self.exact = threshold, ngram, verify == "exact"
        self.margin = 4.0 * math.sqrt(threshold * (1.0 - threshold) / num_perm) + 1.0 / num_perm

    def __call__(self, i: int, j: int) -> float | None:
        """Similarity of a[i] and b[j] when it reaches the threshold, else None."""
        return self.decide(self.hs_a[i].jaccard(self.hs_b[j]), self.texts_a[i], self.texts_b[j])

    def decide(self, est: float, text_a: str, text_b: str) -> float | None:
        """The verdict on one candidate pair from its MinHash estimate (and, when borderline, its texts): shared
        with the Ray engine, which computes estimates from signatures it holds itself."""
        if self.exact and abs(est - self.threshold) <= self.margin:
            est = jaccard(shingles(text_a, self.ngram), shingles(text_b, self.ngram))
        return est if est >= self.threshold else None


def _lsh(hs: list[RMinHash], threshold: float, num_perm: int, bands: int):
    from rensa import RMinHashLSH

    lsh = RMinHashLSH(threshold, num_perm, bands)
    for start in range(0, len(hs), _CHUNK):
        lsh.insert_many(hs[start : start + _CHUNK], start)
    return lsh


def _self_pairs(
    hs: list[RMinHash], texts: Sequence[str], threshold: float, num_perm: int, ngram: int, bands: int, verify: Verify
) -> Iterator[tuple[int, int, float]]:
    """Verified (i, j, similarity), i < j, among sketched texts, streamed batch by batch."""
    lsh = _lsh(hs, threshold, num_perm, bands)
    check = _Verifier(hs, texts, hs, texts, threshold, num_perm, ngram, verify)
    for start in range(0, len(hs), _CHUNK):
        for i, cands in enumerate(lsh.query_all(hs[start : start + _CHUNK]), start):
            for j in cands:
                if j > i and (sim := check(i, j)) is not None:
                    yield i, j, sim


def near_duplicate_pairs(
    texts: list[str],
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    seed: int = 1,
    *,
    weights: tuple[float, float] = RECALL_WEIGHTS,
    verify: Verify = "exact",
) -> set[tuple[int, int]]:
    """All pairs (i, j), i < j, of texts whose Jaccard over word `ngram`-shingles reaches `threshold`.

    Texts are shingled as given (whitespace split): pass `normalize`d text, as the filters do. Candidates come from
    MinHash LSH with `optimal_bands(threshold, num_perm, *weights)`, then are verified (see `verify`).
    """
    bands, _ = optimal_bands(threshold, num_perm, *weights)
    hs = _sketch(texts, num_perm, ngram, seed)
    return {(i, j) for i, j, _ in _self_pairs(hs, texts, threshold, num_perm, ngram, bands, verify)}


def reference_matches(
    queries: Sequence[str],
    refs: Sequence[str],
    threshold: float,
    num_perm: int = 128,
    ngram: int = 5,
    seed: int = 1,
    *,
    weights: tuple[float, float] = RECALL_WEIGHTS,
    verify: Verify = "exact",
) -> dict[int, tuple[float, int]]:
    """{query index: (similarity, best reference index)} for queries whose word-shingle Jaccard with some reference
    reaches `threshold` (LSH over the references, candidates verified as in `near_duplicate_pairs`)."""
    if not queries or not refs:
        return {}
    bands, _ = optimal_bands(threshold, num_perm, *weights)
    ref_hs = _sketch(refs, num_perm, ngram, seed)
    q_hs = _sketch(queries, num_perm, ngram, seed)
    lsh = _lsh(ref_hs, threshold, num_perm, bands)
    check = _Verifier(q_hs, queries, ref_hs, refs, threshold, num_perm, ngram, verify)
    found: dict[int, tuple[float, int]] = {}
    for start in range(0, len(q_hs), _CHUNK):
        for a, cands in enumerate(lsh.query_all(q_hs[start : start + _CHUNK]), start):
            hits = [(sim, k) for k in cands if (sim := check(a, k)) is not None]
            if hits:
                found[a] = max(hits, key=lambda h: (h[0], -h[1]))
    return found


class MinHashDedup:
    """Near duplicates: Jaccard of word n-gram shingles >= threshold, found by MinHash LSH (rensa) and verified.

    `weights` (false-positive, false-negative) pick the LSH bands (see `optimal_bands`); `verify` says how a
    candidate pair is confirmed (see `_Verifier`). Identical texts are collapsed before the LSH so that many copies
    of one text cost O(copies), not O(copies^2).
    """

    name = "near_dedup"

    def __init__(
        self,
        threshold: float = 0.8,
        num_perm: int = 128,
        ngram: int = 5,
        reference: Sequence[str] = (),
        seed: int = 1,
        weights: tuple[float, float] = RECALL_WEIGHTS,
        verify: Verify = "exact",
        engine: Literal["local", "ray"] = "local",
    ):
        self.threshold, self.num_perm, self.ngram, self.seed = threshold, num_perm, ngram, seed
        self.engine = engine
        if verify not in ("estimate", "exact"):
            raise ValueError(f"verify must be 'estimate' or 'exact', got {verify!r}")
        self.weights, self.verify = weights, verify
        self.bands, self.rows = optimal_bands(threshold, num_perm, *weights)
        self.reference = [r for r in reference if normalize(r)]

    @classmethod
    def from_config(cls, ctx: BuildContext) -> MinHashDedup:
        d = ctx.cfg.filters.near_dedup
        reference = ctx.heldout if d.heldout_leakage else []
        engine = "ray" if ctx.engine == "ray" else "local"
        return cls(threshold=d.threshold, num_perm=d.num_perm, ngram=d.ngram, reference=reference, engine=engine)

    def _leaks(self, records: list[Record]) -> dict[int, str]:
        live = [i for i, r in enumerate(records) if _live(r)]
        if not self.reference or not live:
            return {}
        found = reference_matches(
            [normalize(records[i].question()) for i in live],
            [normalize(r) for r in self.reference],
            self.threshold,
            self.num_perm,
            self.ngram,
            self.seed,
            weights=self.weights,
            verify=self.verify,
        )
        return {
            live[a]: f"question matches reference #{k} (jaccard {sim:.2f}): {_snippet(self.reference[k])!r}"
            for a, (sim, k) in found.items()
        }

    def judge(self, records: list[Record]) -> list[Verdict | None]:
        leaks = self._leaks(records)
        texts = {i: dedup_text(r) for i, r in enumerate(records) if r.kept and i not in leaks}
        reps, copies = _collapse(texts)
        rep_texts = [texts[i] for i in reps]
        if self.engine == "ray":
            return self._judge_on_ray(records, leaks, reps, copies, rep_texts)
        hs = _sketch(rep_texts, self.num_perm, self.ngram, self.seed)
        near = _self_pairs(hs, rep_texts, self.threshold, self.num_perm, self.ngram, self.bands, self.verify)
        pairs = [*copies, *((reps[a], reps[b]) for a, b, _ in near)]
        sketch = {i: hs[a] for a, i in enumerate(reps)}
        sketch.update((copy, sketch[rep]) for rep, copy in copies)

        def describe(i: int, k: int) -> str:  # estimated against the row named, which may be reached via a chain
            return f"duplicate of {records[k].id} (estimated jaccard {sketch[i].jaccard(sketch[k]):.2f})"

        return _resolve(records, pairs, leaks, "near_duplicate", describe)

    def _judge_on_ray(self, records, leaks, reps, copies, rep_texts) -> list[Verdict | None]:
        """The same verdicts with the pairs found on Ray Data (`tether.engine.ray_dedup`)."""
        from tether.engine.ray_dedup import ray_near_pairs

        near = ray_near_pairs(rep_texts, self.threshold, self.num_perm, self.ngram, self.seed, self.bands, self.verify)
        pairs = [*copies, *((reps[a], reps[b]) for a, b in near)]
        sims = {(reps[a], reps[b]): s for (a, b), s in near.items()}
        sims.update({(a, b): 1.0 for a, b in copies})

        def describe(i: int, k: int) -> str:
            sim = sims.get((min(i, k), max(i, k)))
            how = f"verified jaccard {sim:.2f}" if sim is not None else "same cluster"
            return f"duplicate of {records[k].id} ({how})"

        return _resolve(records, pairs, leaks, "near_duplicate", describe)


# ---------------------------------------------------------------------------------------------------- embeddings


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


class EmbeddingDedup:
    """Semantic duplicates: cosine similarity of embeddings (dot product of L2-normalised rows) >= threshold.

    Uses faiss (exact inner-product index) when importable, else numpy in row blocks; both hold O(n * block)
    similarities at a time. `backend` forces one ("faiss" / "numpy").
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
        self._ref_emb: np.ndarray | None = None

    @classmethod
    def from_config(cls, ctx: BuildContext) -> EmbeddingDedup:
        from tether.measure.context import CACHE_NAME
        from tether.measure.embedder import open_embedder

        d = ctx.cfg.filters.embedding_dedup
        cache = ctx.store / CACHE_NAME if ctx.store is not None else None  # the vectors `tether measure` reuses
        embedder = open_embedder(ctx.cfg.measure.embedder, cache)
        reference = ctx.heldout if d.heldout_leakage else []
        return cls(embedder, threshold=d.threshold, reference=reference, leak_threshold=d.leak_threshold)

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        parts = [self.embedder.embed(texts[s : s + self.batch]) for s in range(0, len(texts), self.batch)]
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def _leaks(self, records: list[Record]) -> dict[int, str]:
        live = [i for i, r in enumerate(records) if _live(r)]
        if not self.reference or not live:
            return {}
        if self._ref_emb is None:
            self._ref_emb = self._embed([normalize(r) for r in self.reference])
        q_emb = self._embed([normalize(records[i].question()) for i in live])
        sims, ids = best_match(q_emb, self._ref_emb, self.backend)
        return {
            live[a]: f"question matches reference #{k} (cosine {s:.3f}): {_snippet(self.reference[k])!r}"
            for a, (s, k) in enumerate(zip(sims.tolist(), ids.tolist(), strict=True))
            if s >= self.leak_threshold
        }

    def judge(self, records: list[Record]) -> list[Verdict | None]:
        leaks = self._leaks(records)
        idx = [i for i, r in enumerate(records) if r.kept and i not in leaks]
        emb = self._embed([dedup_text(records[i]) for i in idx])
        pos = {i: a for a, i in enumerate(idx)}
        pairs = ((idx[a], idx[b]) for a, b, _ in cosine_pairs(emb, self.threshold, self.backend))

        def describe(i: int, k: int) -> str:
            return f"duplicate of {records[k].id} (cosine {float(emb[pos[i]] @ emb[pos[k]]):.3f})"

        return _resolve(records, pairs, leaks, "near_duplicate", describe)
