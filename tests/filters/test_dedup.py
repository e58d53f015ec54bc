"""Dedup filters: exact, MinHash (rensa) and embedding; planted near-duplicates check the hashing end to end."""

from __future__ import annotations

import random
import zlib

import numpy as np
import pytest

from tether.embed import search
from tether.embed.search import cosine_pairs
from tether.filters.dedup import ExactDedup
from tether.filters.minhash import MinHashDedup, jaccard, near_duplicate_pairs, optimal_bands, s_curve, shingles
from tether.filters.semantic import EmbeddingDedup
from tether.records import Message, Record, Verdict
from tether.text import normalize

pytest.importorskip("rensa")


def syn(q: str, a: str, judge: float = 0.0, **kw) -> Record:
    return Record(prompt=q, response=a, origin="synthetic", scores={"judge": judge}, **kw)


def human(q: str, a: str) -> Record:
    return Record(prompt=q, response=a, origin="human")


def reasons(verdicts: list[Verdict | None]) -> list[str | None]:
    return [None if v is None else (v.reason or "keep") for v in verdicts]


# a question/answer long enough that changing its last word keeps the 5-gram Jaccard of the pair far above 0.8
LONG_Q = "how do i renew a resident parking permit for zone a before it expires at the end of the month"
LONG_A = (
    "renew it at the town hall with form br 17 and proof of address the fee is 23 marks per year and the new "
    "permit is valid from the first day of the following month in zone a and zone b only"
)


class ToyEmbedder:
    """Hashed bag of words (crc32 buckets), L2-normalised: deterministic across processes."""

    dim = 256

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.split():
                out[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


# ------------------------------------------------------------------------------------------------ banding


def test_optimal_bands_splits_num_perm_and_centres_the_curve():
    bands, rows = optimal_bands(0.8, 128)
    assert bands * rows == 128
    assert abs((1 / bands) ** (1 / rows) - 0.8) < 0.1  # S-curve midpoint near the threshold
    for t in (0.5, 0.6, 0.7, 0.8, 0.9):
        b, r = optimal_bands(t, 128)
        assert b * r == 128 and 0 < s_curve(t, b, r) < 1
    # a higher threshold never asks for fewer rows per band
    rows_by_t = [optimal_bands(t, 128)[1] for t in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)]
    assert rows_by_t == sorted(rows_by_t)
    # weighting misses more moves the curve left: more bands, higher candidate probability at the threshold
    b_bal = optimal_bands(0.7, 128)[0]
    b_rec, r_rec = optimal_bands(0.7, 128, fp_weight=0.05, fn_weight=0.95)
    assert b_rec > b_bal and s_curve(0.7, b_rec, r_rec) > 0.99
    assert optimal_bands(0.5, 7)[0] * optimal_bands(0.5, 7)[1] == 7
    with pytest.raises(ValueError):
        optimal_bands(1.0, 128)


def test_shingles_fall_back_for_short_texts():
    assert shingles("a b c d", 3) == ["a b c", "b c d"]
    assert shingles("a b", 5) == ["a b"]
    assert shingles("", 5) == [""]
    assert jaccard(["x", "y"], ["y", "z"]) == pytest.approx(1 / 3)


# ------------------------------------------------------------------------------------------------ planted pairs


def planted_corpus(n: int, planted: int, seed: int = 7) -> tuple[list[str], list[tuple[int, int]]]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = sorted({"".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(3000)})
    texts = [" ".join(rng.choices(vocab, k=rng.randint(45, 55))) for _ in range(n)]
    pairs = []
    for src in rng.sample(range(n), planted):
        words = texts[src].split()
        for pos in rng.sample(range(len(words)), rng.randint(1, 3)):
            words[pos] = rng.choice(vocab)
        texts.append(" ".join(words))
        pairs.append((src, len(texts) - 1))
    return texts, pairs


@pytest.mark.parametrize(
    ("threshold", "weights", "verify"),
    [(0.5, (0.5, 0.5), "estimate"), (0.7, (0.05, 0.95), "exact")],
)
def test_planted_near_duplicates_recall_and_precision(threshold, weights, verify):
    ngram = 3
    texts, planted = planted_corpus(2000, 200)
    found = near_duplicate_pairs(texts, threshold, 128, ngram, seed=1, weights=weights, verify=verify)
    sets = [set(shingles(t, ngram)) for t in texts]

    def true_j(i, j):
        return jaccard(sets[i], sets[j])

    target = [p for p in planted if true_j(*p) >= threshold]
    assert len(target) >= 100
    recall = sum(p in found for p in target) / len(target)
    precision = sum(true_j(i, j) >= threshold for i, j in found) / max(len(found), 1)
    assert recall >= 0.99, recall
    assert precision >= 0.99, precision
    assert all(i < j for i, j in found)


# ------------------------------------------------------------------------------------------------ exact


def test_exact_dedup_normalises_and_keeps_the_best_scored():
    rows = [
        syn("What is the fee?", "23 marks.", judge=0.5),
        syn("what is the FEE", "23   marks", judge=0.9),
        syn("What  is the fee!!", "23 Marks", judge=0.9),  # ties with row 1: the first one wins
        syn("What is the fee?", "41 marks."),  # same question, other answer: not a duplicate
    ]
    verdicts = ExactDedup().judge(rows)
    assert reasons(verdicts) == ["exact_duplicate", "keep", "exact_duplicate", "keep"]
    assert rows[1].id in verdicts[0].detail and rows[1].id in verdicts[2].detail


def test_exact_dedup_messages_rows_use_last_turns():
    chat = Record(
        messages=[Message(role="user", content="What is the fee?"), Message(role="assistant", content="23 marks.")],
        origin="synthetic",
    )
    assert reasons(ExactDedup().judge([syn("what is the fee", "23 marks", judge=1), chat])) == [
        "keep",
        "exact_duplicate",
    ]


def test_human_rows_are_never_dropped_but_count_as_present():
    rows = [syn("What is the fee?", "23 marks.", judge=1.0), human("what is the fee", "23 marks"), human("Q?", "A.")]
    for filt in (ExactDedup(), MinHashDedup(), EmbeddingDedup(ToyEmbedder(), backend="numpy")):
        verdicts = filt.judge(rows)
        assert verdicts[1] is None and verdicts[2] is None
        assert verdicts[0].reason == "duplicates_seed" and rows[1].id in verdicts[0].detail


def test_already_dropped_rows_are_ignored():
    dropped = syn("What is the fee?", "23 marks.", judge=1.0, verdicts={"rules": Verdict(keep=False, reason="x")})
    rows = [dropped, syn("what is the fee", "23 marks", judge=0.2), syn("WHAT is the fee", "23 marks", judge=0.1)]
    for filt in (ExactDedup(), MinHashDedup(), EmbeddingDedup(ToyEmbedder(), backend="numpy")):
        verdicts = filt.judge(rows)
        dup = "exact_duplicate" if filt.name == "exact_dedup" else "near_duplicate"
        assert reasons(verdicts) == [None, "keep", dup]
        assert rows[1].id in verdicts[2].detail  # the dropped row never represents the cluster


def test_heldout_leak_exact_and_near():
    reference = ["How do I renew a resident parking permit for zone A before it expires at the end of the month?"]
    exact_copy = syn(reference[0].upper(), "At the town hall.")
    near_copy = syn(LONG_Q.replace("month", "year"), "At the town hall, with form BR-17.")
    unrelated = syn("Where is the library?", "On Mill Street.")
    rows = [exact_copy, near_copy, unrelated, human(reference[0], "At the town hall.")]

    assert reasons(ExactDedup(reference=reference).judge(rows)) == ["heldout_leak", "keep", "keep", None]
    verdicts = MinHashDedup(threshold=0.7, reference=reference).judge(rows)
    assert reasons(verdicts) == ["heldout_leak", "heldout_leak", "keep", None]
    assert "reference #0" in verdicts[1].detail and "jaccard" in verdicts[1].detail
    # the leaking row is dropped for the leak, not as a duplicate of the human row
    assert reasons(EmbeddingDedup(ToyEmbedder(), threshold=0.9, reference=reference).judge(rows))[0] == "heldout_leak"


# ------------------------------------------------------------------------------------------------ MinHash filter


def test_minhash_clusters_keep_the_best_member():
    rows = [
        syn(LONG_Q, LONG_A, judge=0.3),
        syn(LONG_Q, LONG_A.removesuffix("only") + "too", judge=0.8),
        syn(LONG_Q.capitalize() + "?", LONG_A.replace("23 marks", "23 marks,"), judge=0.1),  # exact after normalise
        syn("Where is the library?", "On Mill Street, next to the bakery."),
        syn(LONG_Q, "Ask the library."),  # same question, different answer
    ]
    verdicts = MinHashDedup(threshold=0.8).judge(rows)
    assert reasons(verdicts) == ["near_duplicate", "keep", "near_duplicate", "keep", "keep"]
    assert rows[1].id in verdicts[0].detail and "jaccard" in verdicts[0].detail
    assert rows[1].id in verdicts[2].detail


def test_minhash_many_identical_copies_are_cheap_and_clustered():
    rows = [syn(LONG_Q, LONG_A, judge=float(i == 500)) for i in range(1000)]
    rows = [r.model_copy(update={"id": f"r{i}"}) for i, r in enumerate(rows)]
    verdicts = MinHashDedup().judge(rows)
    assert [i for i, v in enumerate(verdicts) if v.keep] == [500]
    assert all(v.keep or "r500" in v.detail for v in verdicts)


def test_minhash_verify_mode_is_checked():
    with pytest.raises(ValueError):
        near_duplicate_pairs(["a b c"], verify="maybe")
    with pytest.raises(ValueError):
        MinHashDedup(verify="maybe")


# ------------------------------------------------------------------------------------------------ embeddings


def test_embedding_dedup_with_toy_embedder():
    rows = [
        syn("Where is the library?", "On Mill Street next to the bakery.", judge=0.2),
        syn("Where is the library", "Next to the bakery, on Mill Street.", judge=0.7),  # same bag of words
        syn("How much is a permit?", "23 marks a year."),
    ]
    verdicts = EmbeddingDedup(ToyEmbedder(), threshold=0.95, backend="numpy").judge(rows)
    assert reasons(verdicts) == ["near_duplicate", "keep", "keep"]
    assert rows[1].id in verdicts[0].detail and "cosine" in verdicts[0].detail


def brute_pairs(emb: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    sims = emb @ emb.T
    return {(i, j) for i in range(len(emb)) for j in range(i + 1, len(emb)) if sims[i, j] >= threshold}


def test_cosine_pairs_blocks_match_brute_force(monkeypatch):
    texts, _ = planted_corpus(150, 30)
    emb = ToyEmbedder().embed([normalize(t) for t in texts])
    want = brute_pairs(emb, 0.8)
    assert want
    monkeypatch.setattr(search, "_block_rows", lambda n, budget=0: 7)
    assert {(i, j) for i, j, _ in cosine_pairs(emb, 0.8, backend="numpy")} == want


def test_faiss_backend_matches_numpy():
    pytest.importorskip("faiss")
    texts, _ = planted_corpus(150, 30)
    emb = ToyEmbedder().embed(texts)
    assert {(i, j) for i, j, _ in cosine_pairs(emb, 0.8, backend="faiss")} == brute_pairs(emb, 0.8)
    rows = [syn(t[:40], t[40:], judge=k % 3) for k, t in enumerate(texts)]
    ref = [t[:40] for t in texts[:5]]
    numpy_v = EmbeddingDedup(ToyEmbedder(), threshold=0.8, reference=ref, backend="numpy").judge(rows)
    faiss_v = EmbeddingDedup(ToyEmbedder(), threshold=0.8, reference=ref, backend="faiss").judge(rows)
    assert reasons(numpy_v) == reasons(faiss_v)


def test_hnsw_pairs_count_from_either_end_and_match_the_exact_pairs():
    """The approximate path (used above 50k rows) finds the exact path's pairs, each once as (i < j), even when
    only the search from the higher-numbered row reaches the other."""
    import numpy as np

    from tether.embed.search import _faiss, _hnsw_pairs, cosine_pairs

    faiss = _faiss()
    if faiss is None:
        pytest.skip("faiss not installed")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 64)).astype(np.float32)
    src = x[rng.integers(0, 3000, 300)]
    x = np.vstack([x, src + 0.05 * rng.standard_normal(src.shape).astype(np.float32)])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    exact = {(i, j) for i, j, _ in cosine_pairs(x, 0.95, backend="numpy")}
    approx = [(i, j) for i, j, _ in _hnsw_pairs(faiss, x, 0.95)]
    assert all(i < j for i, j in approx) and len(approx) == len(set(approx))
    assert len(set(approx) & exact) / len(exact) >= 0.99
