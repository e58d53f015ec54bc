"""Near duplicates by MinHash LSH (rensa sketches, numpy banding), under the dedup contract of `filters.dedup`.

Signatures are one uint32 matrix (num_perm columns), not one object per text: a million texts take 512 MB at
128 permutations. Candidates are rows whose signatures agree on a whole band (bands x rows = num_perm, chosen by
`optimal_bands`); a band's rows are hashed to one uint64 and sorted, so equal bands are neighbours. Each candidate
is verified (`_Verifier`) before it joins a cluster, so a hash collision costs a comparison, never a wrong drop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from tether.filters.base import VerdictColumn
from tether.filters.dedup import DedupRows, SetFilter, collapse, participants, resolve, snippet
from tether.text import normalize

if TYPE_CHECKING:
    from tether.filters.registry import BuildContext

Verify = Literal["estimate", "exact"]
# (false-positive, false-negative) weights for choosing LSH bands x rows. Recall-heavy: a missed duplicate is lost
# for good, while a false candidate costs one verification. Measured (bench/dedup.py, 100k texts, threshold 0.7):
# 0.5/0.5 with estimate-only verification gave recall 0.89 / precision 0.96; these weights with exact verification
# of borderline pairs gave 1.00 / 1.00 at 8x datasketch's speed.
RECALL_WEIGHTS = (0.05, 0.95)
_CHUNK = 8192  # texts sketched at a time: bounds the transient shingle lists
_PAIRS = 65_536  # candidate pairs verified at a time


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


def signatures(texts: Iterable[str], num_perm: int, ngram: int, seed: int) -> np.ndarray:
    """The MinHash signature of each text, one uint32 row per text (rensa, word `ngram`-shingles)."""
    from rensa import RMinHash

    parts: list[np.ndarray] = []
    batch: list[list[str]] = []

    def flush() -> None:
        rows = RMinHash.digests_from_token_sets(batch, num_perm, seed)  # lists, not one object per text
        parts.append(np.asarray(rows, dtype=np.uint32).reshape(len(rows), num_perm))
        batch.clear()

    for t in texts:
        batch.append(shingles(t, ngram))
        if len(batch) == _CHUNK:
            flush()
    if batch:
        flush()
    return np.concatenate(parts) if parts else np.zeros((0, num_perm), dtype=np.uint32)


class _Verifier:
    """Accept an LSH candidate when its similarity reaches the threshold.

    "estimate": the MinHash Jaccard estimate (the share of equal signature values) decides; its standard error is
    sqrt(J(1-J)/num_perm), about 0.04 at J=0.7 with 128 permutations, so pairs within ~0.08 of the threshold are
    decided partly by chance. "exact": the estimate decides only pairs clearly (> 4 standard errors) above or below
    the threshold; the borderline ones are settled by the exact Jaccard of their shingle sets.
    """

    def __init__(self, threshold: float, num_perm: int, ngram: int, verify: Verify):
        if verify not in ("estimate", "exact"):
            raise ValueError(f"verify must be 'estimate' or 'exact', got {verify!r}")
        self.threshold, self.ngram, self.exact = threshold, ngram, verify == "exact"
        self.margin = 4.0 * math.sqrt(threshold * (1.0 - threshold) / num_perm) + 1.0 / num_perm

    def decide(self, est: float, text_a: str, text_b: str) -> float | None:
        """The verdict on one candidate pair from its MinHash estimate (and, when borderline, its texts)."""
        if self.exact and abs(est - self.threshold) <= self.margin:
            est = jaccard(shingles(text_a, self.ngram), shingles(text_b, self.ngram))
        return est if est >= self.threshold else None

    def pairs(
        self,
        cand: np.ndarray,
        sig_a: np.ndarray,
        sig_b: np.ndarray,
        text_a: Callable[[int], str],
        text_b: Callable[[int], str],
    ) -> Iterator[tuple[int, int, float]]:
        """Verified (a, b, similarity) among candidate rows `cand` (m x 2: a row of sig_a, a row of sig_b)."""
        for start in range(0, len(cand), _PAIRS):
            a, b = cand[start : start + _PAIRS, 0], cand[start : start + _PAIRS, 1]
            est = (sig_a[a] == sig_b[b]).mean(axis=1)
            sure = est > self.threshold + self.margin if self.exact else est >= self.threshold
            for x in np.flatnonzero(sure):
                yield int(a[x]), int(b[x]), float(est[x])
            if self.exact:
                for x in np.flatnonzero(~sure & (est >= self.threshold - self.margin)):
                    sim = self.decide(float(est[x]), text_a(int(a[x])), text_b(int(b[x])))
                    if sim is not None:
                        yield int(a[x]), int(b[x]), sim


def band_keys(sig: np.ndarray, band: int, rows: int) -> np.ndarray:
    """One uint64 per signature for its `band`-th slice of `rows` values (FNV-1a over the values). Two slices
    that differ may share a key: that only adds a candidate, which verification rejects."""
    key = np.full(len(sig), 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    for c in range(band * rows, (band + 1) * rows):
        key = (key ^ sig[:, c].astype(np.uint64)) * prime
    return key


def _equal_key_pairs(key: np.ndarray) -> np.ndarray:
    """(i, j), i < j, of the positions sharing a key (m x 2, int64)."""
    order = np.argsort(key, kind="stable")
    k = key[order]
    brk = np.flatnonzero(k[1:] != k[:-1]) + 1
    starts, ends = np.r_[0, brk], np.r_[brk, len(k)]
    lens = ends - starts
    two = starts[lens == 2]
    out = [np.stack([order[two], order[two + 1]], axis=1)]
    for s, e in zip(starts[lens > 2].tolist(), ends[lens > 2].tolist(), strict=True):
        members = np.sort(order[s:e])
        ii, jj = np.triu_indices(len(members), 1)
        out.append(np.stack([members[ii], members[jj]], axis=1))
    pairs = np.concatenate(out).astype(np.int64)
    pairs.sort(axis=1)
    return pairs


def band_candidates(sig: np.ndarray, bands: int) -> np.ndarray:
    """Distinct (i, j), i < j, of signatures equal on at least one band."""
    n, rows = len(sig), sig.shape[1] // bands
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    codes = np.unique(np.concatenate([_encode(_equal_key_pairs(band_keys(sig, b, rows)), n) for b in range(bands)]))
    return np.stack([codes // n, codes % n], axis=1)


def _encode(pairs: np.ndarray, n: int) -> np.ndarray:
    return pairs[:, 0] * n + pairs[:, 1]


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
    sig = signatures(texts, num_perm, ngram, seed)
    check = _Verifier(threshold, num_perm, ngram, verify)
    return {(i, j) for i, j, _ in check.pairs(band_candidates(sig, bands), sig, sig, texts.__getitem__,
                                                texts.__getitem__)}  # fmt: skip


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
    reaches `threshold` (candidates share a band with the reference, verified as in `near_duplicate_pairs`)."""
    if not queries or not refs:
        return {}
    bands, rows = optimal_bands(threshold, num_perm, *weights)
    ref_sig = signatures(refs, num_perm, ngram, seed)
    ref_keys = [band_keys(ref_sig, b, rows) for b in range(bands)]
    by_key: list[dict[int, list[int]]] = [{} for _ in range(bands)]  # per band: key -> references holding it
    for b, keys in enumerate(ref_keys):
        for r, k in enumerate(keys.tolist()):
            by_key[b].setdefault(k, []).append(r)
    check = _Verifier(threshold, num_perm, ngram, verify)
    found: dict[int, tuple[float, int]] = {}
    for start in range(0, len(queries), _CHUNK * 8):
        part = queries[start : start + _CHUNK * 8]
        q_sig = signatures(part, num_perm, ngram, seed)
        cand = []
        for b in range(bands):
            qk = band_keys(q_sig, b, rows)
            for q in np.flatnonzero(np.isin(qk, ref_keys[b])).tolist():
                cand.extend((q, r) for r in by_key[b][int(qk[q])])
        if not cand:
            continue
        pairs = np.unique(np.asarray(cand, dtype=np.int64), axis=0)
        for a, k, sim in check.pairs(pairs, q_sig, ref_sig, part.__getitem__, refs.__getitem__):
            best = found.get(start + a)
            if best is None or (sim, -k) > (best[0], -best[1]):
                found[start + a] = (sim, k)
    return found


class MinHashDedup(SetFilter):
    """Near duplicates: Jaccard of word n-gram shingles >= threshold, found by MinHash LSH and verified.

    `weights` (false-positive, false-negative) pick the LSH bands (see `optimal_bands`); `verify` says how a
    candidate pair is confirmed (see `_Verifier`). Identical texts are collapsed before the LSH so that many copies
    of one text cost O(copies), not O(copies^2). `near_pairs` (an engine's hook, e.g. Ray Data's
    `tether.engine.ray.dedup.ray_near_pairs`) finds the pairs elsewhere; the clusters and verdicts are the same.
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
        near_pairs: Callable[..., dict[tuple[int, int], float]] | None = None,
    ):
        self.threshold, self.num_perm, self.ngram, self.seed = threshold, num_perm, ngram, seed
        self.near_pairs = near_pairs
        if verify not in ("estimate", "exact"):
            raise ValueError(f"verify must be 'estimate' or 'exact', got {verify!r}")
        self.weights, self.verify = weights, verify
        self.bands, self.rows = optimal_bands(threshold, num_perm, *weights)
        self.reference = [r for r in reference if normalize(r)]
        self.needs_questions = bool(self.reference)

    @classmethod
    def from_config(cls, ctx: BuildContext) -> MinHashDedup:
        d = ctx.cfg.filters.near_dedup
        reference = ctx.heldout if d.heldout_leakage else []
        return cls(
            threshold=d.threshold,
            num_perm=d.num_perm,
            ngram=d.ngram,
            reference=reference,
            near_pairs=ctx.engine.near_pairs,
        )

    def _leaks(self, rows: DedupRows) -> dict[int, str]:
        live = np.flatnonzero(rows.live)
        if not self.reference or not len(live):
            return {}
        questions = [q for part in rows.iter_texts(live, "questions") for q in part]
        found = reference_matches(
            questions,
            [normalize(r) for r in self.reference],
            self.threshold,
            self.num_perm,
            self.ngram,
            self.seed,
            weights=self.weights,
            verify=self.verify,
        )
        return {
            int(live[a]): f"question matches reference #{k} (jaccard {sim:.2f}): {snippet(self.reference[k])!r}"
            for a, (sim, k) in found.items()
        }

    def decide(self, rows: DedupRows) -> VerdictColumn:
        leaks = self._leaks(rows)
        reps, copies = collapse(rows, participants(rows, leaks))
        if self.near_pairs is not None:
            return self._decide_elsewhere(rows, leaks, reps, copies)
        sig = signatures((t for part in rows.iter_texts(reps) for t in part), self.num_perm, self.ngram, self.seed)
        check = _Verifier(self.threshold, self.num_perm, self.ngram, self.verify)
        text = lambda a: rows.text(reps[a])  # noqa: E731 - a position in reps -> its text
        near = check.pairs(band_candidates(sig, self.bands), sig, sig, text, text)
        pairs = [*copies, *((int(reps[a]), int(reps[b])) for a, b, _ in near)]
        rep_of = {copy: rep for rep, copy in copies}

        def sig_of(i: int) -> np.ndarray:  # reps are in input order: a row's position by binary search
            return sig[int(np.searchsorted(reps, rep_of.get(i, i)))]

        def describe(i: int, k: int) -> str:  # estimated against the row named, which may be reached via a chain
            return f"duplicate of {rows.id(k)} (estimated jaccard {float((sig_of(i) == sig_of(k)).mean()):.2f})"

        return resolve(rows, pairs, leaks, "near_duplicate", describe)

    def _decide_elsewhere(self, rows: DedupRows, leaks, reps, copies) -> VerdictColumn:
        """The same verdicts with the pairs found by the engine's `near_pairs` hook."""
        import pyarrow as pa

        assert self.near_pairs is not None
        texts = rows.texts.take(pa.array(reps, type=pa.int64()))
        near = self.near_pairs(texts, self.threshold, self.num_perm, self.ngram, self.seed, self.bands, self.verify)
        pairs = [*copies, *((int(reps[a]), int(reps[b])) for a, b in near)]
        sims = {(int(reps[a]), int(reps[b])): s for (a, b), s in near.items()}
        sims.update({(a, b): 1.0 for a, b in copies})

        def describe(i: int, k: int) -> str:
            sim = sims.get((min(i, k), max(i, k)))
            how = f"verified jaccard {sim:.2f}" if sim is not None else "same cluster"
            return f"duplicate of {rows.id(k)} ({how})"

        return resolve(rows, pairs, leaks, "near_duplicate", describe)
