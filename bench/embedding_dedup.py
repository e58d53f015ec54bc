"""Semantic near-duplicates: tether's `cosine_pairs` against a plain faiss flat index, same vectors, same run.

Vectors: clustered 384-d unit vectors (MiniLM's size) with planted near-duplicates (a row plus small noise,
cosine ~0.97). Above `HNSW_ABOVE` rows tether switches from an exact flat range search to an HNSW graph
(approximate, much faster): the question is how much faster, and what recall of the exact pairs it keeps.

* baseline: `faiss.IndexFlatIP` over all rows, `range_search` of every row at the threshold (exact);
* tether: `tether.embed.search.cosine_pairs` (flat in blocks below the switch, HNSW above it).

Prints time, pairs, recall against the exact pairs, and the speed ratio.

Run: `python bench/embedding_dedup.py [--n 100000] [--planted 5000] [--threshold 0.95]`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tether.embed.search import HNSW_ABOVE, cosine_pairs

DIM, CENTRES = 384, 200


def vectors(n: int, planted: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CENTRES, DIM)).astype(np.float32)
    x = centres[rng.integers(0, CENTRES, n - planted)] + 1.2 * rng.standard_normal((n - planted, DIM)).astype(
        np.float32
    )
    src = x[rng.integers(0, n - planted, planted)]
    x = np.vstack([x, src + 0.12 * rng.standard_normal(src.shape).astype(np.float32)])
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def flat_pairs(x: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    import faiss

    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    out: set[tuple[int, int]] = set()
    for start in range(0, len(x), 8192):
        lims, sims, ids = index.range_search(x[start : start + 8192], float(np.nextafter(threshold, -1)))
        for a in range(len(lims) - 1):
            i = start + a
            for s, j in zip(sims[lims[a] : lims[a + 1]], ids[lims[a] : lims[a + 1]], strict=True):
                if j > i and s >= threshold:
                    out.add((i, int(j)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--planted", type=int, default=5_000)
    ap.add_argument("--threshold", type=float, default=0.95)
    a = ap.parse_args()
    x = vectors(a.n, a.planted)
    t0 = time.perf_counter()
    exact = flat_pairs(x, a.threshold)
    t_flat = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = {(i, j) for i, j, _ in cosine_pairs(x, a.threshold)}
    t_ours = time.perf_counter() - t0
    recall = len(ours & exact) / len(exact) if exact else 1.0
    path = "HNSW" if a.n > HNSW_ABOVE else "flat, in blocks"
    print(f"n={a.n:,} {DIM}-d, {a.planted:,} planted near-duplicates, cosine >= {a.threshold}")
    print(f"faiss flat (exact)   {t_flat:8.2f} s  {len(exact):>7,} pairs")
    print(f"tether ({path:<15}) {t_ours:8.2f} s  {len(ours):>7,} pairs, recall {recall:.4f}")
    print(f"\ntether / flat time = {t_ours / t_flat:.2f}x; recall {recall:.4f} (target >= 0.99): "
          f"{'PASS' if recall >= 0.99 else 'FAIL'}")  # fmt: skip


if __name__ == "__main__":
    main()
