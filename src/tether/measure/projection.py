"""The 2-D map: real and synthetic rows projected onto two principal axes, coloured by concept.

PCA (fitted on the concept centroids when there are concepts), not UMAP: it is exact, deterministic, needs only
numpy, and distances along its axes mean the same everywhere, so "the synthetic cloud sits off to one side" is a
true statement about the embeddings. UMAP would add numba and a few hundred MB for prettier clusters whose
spacing cannot be read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def pca_2d(x: np.ndarray, fit: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(points projected on the top-2 principal axes, share of variance each axis explains).

    The axes are fitted on `fit` when given (e.g. the concepts' centroids), else on `x` itself."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return np.zeros((0, 2)), np.zeros(2)
    ref = x if fit is None else np.asarray(fit, dtype=np.float64)
    mean = ref.mean(axis=0)
    _, s, vt = np.linalg.svd(ref - mean, full_matrices=False)
    axes = vt[:2]
    if axes.shape[0] < 2:  # one point, or all identical: a degenerate but drawable map
        axes = np.vstack([axes, np.zeros((2 - axes.shape[0], x.shape[1]))])
    var = s**2
    explained = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    return (x - mean) @ axes.T, np.pad(explained, (0, 2 - len(explained)))


def concept_axes_fit(embeddings: np.ndarray, concept: list[str]) -> np.ndarray | None:
    """The concepts' centroids, to fit the map's axes on when there are at least 3 concepts.

    A plain PCA of MiniLM vectors over a domain of ~18 concepts explains ~6 % of the variance per axis and draws
    one blur; the principal axes of the concept centroids spread the concepts apart (the between-concept
    directions, as in the first step of a linear discriminant analysis) while staying a linear, exact projection.
    """
    names = sorted({c for c in concept if c})
    if len(names) < 3:
        return None
    labels = np.array(concept)
    return np.vstack([embeddings[labels == n].mean(axis=0) for n in names])


def concept_map(
    path: Path,
    embeddings: np.ndarray,
    origin: list[str],
    concept: list[str],
    title: str = "",
) -> Path:
    """Save the map as a PNG: one colour per concept; human rows as circles, synthetic as crosses, chunks as dots.

    `origin[i]` is "human", "synthetic" or "chunk"; `concept[i]` the row's main concept ("" for none)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fit = concept_axes_fit(np.asarray(embeddings, dtype=np.float64), concept)
    pts, explained = pca_2d(embeddings, fit)
    what = "of the concept centroids' variance" if fit is not None else "of variance"
    names = sorted({c for c in concept if c})
    cmap = plt.get_cmap("tab20", max(len(names), 1))
    colour = {n: cmap(i) for i, n in enumerate(names)}
    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    style = {
        "chunk": {"marker": ".", "s": 18, "alpha": 0.35},
        "human": {"marker": "o", "s": 34, "alpha": 0.9, "edgecolors": "black", "linewidths": 0.4},
        "synthetic": {"marker": "x", "s": 26, "alpha": 0.8, "linewidths": 1.0},
    }
    origins = np.array(origin)
    concepts = np.array(concept)
    for kind, kw in style.items():
        for name in [*names, ""]:
            sel = (origins == kind) & (concepts == name)
            if sel.any():
                ax.scatter(pts[sel, 0], pts[sel, 1], color=colour.get(name, (0.6, 0.6, 0.6, 1.0)), **kw)
    handles = [plt.Line2D([], [], marker="s", linestyle="", color=colour[n], label=n.replace("_", " ")) for n in names]
    handles += [
        plt.Line2D([], [], marker=m, linestyle="", color="black", label=label)
        for m, label in (("o", "human"), ("x", "synthetic"), (".", "chunk"))
    ]
    ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_xlabel(f"axis 1 ({explained[0]:.0%} {what})")
    ax.set_ylabel(f"axis 2 ({explained[1]:.0%} {what})")
    ax.set_title(title or "rows and chunks by concept (PCA of MiniLM embeddings)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
