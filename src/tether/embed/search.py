"""Cosine search over L2-normalised embeddings: every pair above a threshold in one set (`cosine_pairs`: semantic
dedup) and each query's best reference (`best_match`: coverage, leakage, the question filter's chunk margin).

Both hold O(n * block) similarities at a time, never the n x n matrix; faiss is used when importable (an exact
inner-product index, HNSW above HNSW_ABOVE rows), numpy in row blocks otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


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
