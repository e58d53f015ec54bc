"""Clustering primitives in plain numpy: k-means++ with restarts, silhouette, k selection, adjusted Rand index,
group smoothing of vectors and the grouping of cluster centres into coherent parents (ontology drafts use them).

Why no sklearn/scipy: the core install stays small (see DESIGN.md §2) and these are ~150 lines. Everything is
deterministic given `seed` (one `numpy.random.Generator` drives every restart in order), so an ontology draft
is reproducible from the same chunks.

Silhouette uses cosine distance by default because the vectors are L2-normalised sentence embeddings, where
cosine is the meaningful geometry; k-means itself runs in Euclidean space, which on unit vectors orders points
exactly as cosine does (|x - c|² = 2 - 2·cos for unit c, and nearly so for centroids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import comb, log

import numpy as np


@dataclass
class KMeansResult:
    labels: np.ndarray  # (n,) int, cluster index per row
    centers: np.ndarray  # (k, d)
    inertia: float  # sum of squared distances to the assigned centre
    n_iter: int


def _sq_dist(x: np.ndarray, x_sq: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(n, k) squared Euclidean distances, clipped at 0 against rounding."""
    d = x_sq[:, None] - 2.0 * (x @ c.T) + (c * c).sum(axis=1)[None, :]
    return np.maximum(d, 0.0)


def kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007; 2 + ln k trials per centre, as sklearn does):
    spreads the initial centres so a few restarts suffice."""
    n = x.shape[0]
    x_sq = (x * x).sum(axis=1)
    trials = 2 + int(log(k))
    centers = np.empty((k, x.shape[1]), dtype=x.dtype)
    centers[0] = x[rng.integers(n)]
    closest = _sq_dist(x, x_sq, centers[:1])[:, 0]
    for j in range(1, k):
        total = closest.sum()
        if total <= 0:  # fewer distinct points than k: any point will do
            cand = rng.integers(n, size=trials)
        else:
            cand = np.searchsorted(np.cumsum(closest), rng.random(trials) * total)
            cand = np.minimum(cand, n - 1)
        d_cand = np.minimum(closest[None, :], _sq_dist(x, x_sq, x[cand]).T)
        best = int(np.argmin(d_cand.sum(axis=1)))
        centers[j] = x[cand[best]]
        closest = d_cand[best]
    return centers


def kmeans(
    x: np.ndarray, k: int, n_init: int = 8, max_iter: int = 100, seed: int = 0, tol: float = 1e-6
) -> KMeansResult:
    """Lloyd's k-means from `n_init` k-means++ starts; the run with the lowest inertia wins.

    An emptied cluster is re-seeded with the point farthest from its centre, so the result always has k
    non-empty clusters when there are at least k distinct points.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k={k} must be between 1 and the number of points ({n})")
    rng = np.random.default_rng(seed)
    x_sq = (x * x).sum(axis=1)
    best: KMeansResult | None = None
    for _ in range(n_init):
        centers = kmeans_plus_plus(x, k, rng)
        labels = np.full(n, -1)
        it = 0
        while it < max_iter:
            it += 1
            d = _sq_dist(x, x_sq, centers)
            new = d.argmin(axis=1)
            counts = np.bincount(new, minlength=k)
            for j in np.flatnonzero(counts == 0):
                far = int(d[np.arange(n), new].argmax())
                new[far] = j
                d[far] = 0.0
                counts = np.bincount(new, minlength=k)
            by = np.argsort(new, kind="stable")  # sum each cluster's rows (all non-empty now) in one pass
            moved = np.add.reduceat(x[by], np.searchsorted(new[by], np.arange(k)), axis=0) / counts[:, None]
            shift = float(((moved - centers) ** 2).sum())
            centers = moved
            if np.array_equal(new, labels) or shift <= tol:
                labels = new
                break
            labels = new
        inertia = float(_sq_dist(x, x_sq, centers)[np.arange(n), labels].sum())
        if best is None or inertia < best.inertia - 1e-12:
            best = KMeansResult(labels=labels, centers=centers, inertia=inertia, n_iter=it)
    assert best is not None
    return best


def _distances(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    if metric == "cosine":
        an = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
        return np.maximum(1.0 - an @ bn.T, 0.0)
    if metric == "euclidean":
        return np.sqrt(_sq_dist(a, (a * a).sum(axis=1), b))
    raise ValueError(f"unknown metric {metric!r} (cosine, euclidean)")


def silhouette_samples(
    x: np.ndarray,
    labels: np.ndarray,
    metric: str = "cosine",
    rows: np.ndarray | None = None,
    block: int = 1024,
) -> np.ndarray:
    """Silhouette s(i) = (b - a) / max(a, b) for each row in `rows` (all by default), against all points.

    a: mean distance to the other members of its cluster; b: the smallest mean distance to another cluster.
    A point alone in its cluster scores 0 (Rousseeuw's convention, as sklearn). Computed in row blocks through
    a one-hot matrix product, so memory is O(block · n), not O(n²).
    """
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels)
    uniq, lab = np.unique(labels, return_inverse=True)
    k = len(uniq)
    if k < 2:
        raise ValueError("silhouette needs at least 2 clusters")
    rows = np.arange(len(x)) if rows is None else np.asarray(rows)
    onehot = np.zeros((len(x), k))
    onehot[np.arange(len(x)), lab] = 1.0
    sizes = onehot.sum(axis=0)
    out = np.empty(len(rows))
    for s in range(0, len(rows), block):
        idx = rows[s : s + block]
        sums = _distances(x[idx], x, metric) @ onehot  # (b, k) summed distance to each cluster
        own = lab[idx]
        own_size = sizes[own]
        a = sums[np.arange(len(idx)), own] / np.maximum(own_size - 1, 1)
        means = sums / sizes[None, :]
        means[np.arange(len(idx)), own] = np.inf
        b = means.min(axis=1)
        sil = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
        out[s : s + block] = np.where(own_size > 1, sil, 0.0)
    return out


def silhouette_score(
    x: np.ndarray, labels: np.ndarray, metric: str = "cosine", sample_size: int | None = 2000, seed: int = 0
) -> float:
    """Mean silhouette; above `sample_size` points, the mean over a seeded random sample of rows (each still
    measured against every point), which keeps a k sweep over thousands of chunks cheap."""
    n = len(x)
    rows = None
    if sample_size is not None and n > sample_size:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=sample_size, replace=False))
    return float(silhouette_samples(x, labels, metric, rows).mean())


@dataclass
class KSelection:
    k: int
    result: KMeansResult
    curve: dict[int, float] = field(default_factory=dict)  # k -> mean silhouette
    tolerance: float = 0.01


def select_k(
    x: np.ndarray,
    k_values: list[int] | range,
    tolerance: float = 0.01,
    n_init: int = 8,
    seed: int = 0,
    metric: str = "cosine",
) -> KSelection:
    """Run k-means for each k and keep the *smallest* k whose mean silhouette is within `tolerance` of the best.

    Why the tie-break: on sentence embeddings the silhouette curve is flat near its top, and a slightly higher
    score at a larger k is usually noise that splits a topic in two; a user can merge less easily than split.
    """
    ks = sorted({int(k) for k in k_values if 2 <= k < len(x)})
    if not ks:
        raise ValueError(f"no k in {list(k_values)} fits {len(x)} points")
    curve: dict[int, float] = {}
    results: dict[int, KMeansResult] = {}
    for k in ks:
        res = kmeans(x, k, n_init=n_init, seed=seed)
        results[k] = res
        curve[k] = silhouette_score(x, res.labels, metric=metric, seed=seed)
    best = max(curve.values())
    chosen = min(k for k in ks if curve[k] >= best - tolerance)
    return KSelection(k=chosen, result=results[chosen], curve=curve, tolerance=tolerance)


def adjusted_rand_index(a: list | np.ndarray, b: list | np.ndarray) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985) between two labelings of the same items: 1 for identical
    partitions (up to renaming), about 0 for independent ones, negative when worse than chance."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"labelings differ in length: {a.shape} vs {b.shape}")
    n = len(a)
    if n < 2:
        return 1.0
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.int64)
    np.add.at(table, (ai, bi), 1)
    pairs = sum(comb(int(v), 2) for v in table.ravel())
    rows = sum(comb(int(v), 2) for v in table.sum(axis=1))
    cols = sum(comb(int(v), 2) for v in table.sum(axis=0))
    expected = rows * cols / comb(n, 2)
    top = (rows + cols) / 2
    if top == expected:  # both trivial (all one cluster or all singletons): identical by convention
        return 1.0
    return float((pairs - expected) / (top - expected))


def smooth_by_group(x: np.ndarray, group: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """Each unit row plus `weight` × the normalised mean of its group's rows, re-normalised.

    Used with the document as the group: a chunk is a fragment, and its document says much about its topic.
    A group of one row is unchanged."""
    means = np.zeros((int(group.max()) + 1, x.shape[1]))
    np.add.at(means, group, x)
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    out = x + weight * means[group]
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def coherent_groups(
    centers: np.ndarray, min_silhouette: float = 0.25, tolerance: float = 0.02, seed: int = 0
) -> tuple[list[np.ndarray], dict[int, float]]:
    """Group cluster centres into coarser groups, keeping only the groups worth naming.

    k-means over the normalised centres, the number of groups by `select_k`'s rule; a group is kept when it has
    2+ members whose mean silhouette among the centres is ≥ `min_silhouette` (Kaufman & Rousseeuw read below
    0.25 as "no substantial structure": a forced group of unrelated clusters is worse than none).
    Returns the kept groups (member indices) and the silhouette curve over the number of groups."""
    cn = centers / np.maximum(np.linalg.norm(centers, axis=1, keepdims=True), 1e-12)
    if len(cn) < 4:
        return [], {}
    sel = select_k(cn, range(2, len(cn) // 2 + 1), tolerance, seed=seed)
    sil = silhouette_samples(cn, sel.result.labels)
    groups = [np.flatnonzero(sel.result.labels == g) for g in range(sel.k)]
    return [m for m in groups if len(m) >= 2 and sil[m].mean() >= min_silhouette], sel.curve
