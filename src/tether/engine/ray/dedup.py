"""MinHash near-duplicates on Ray Data: signatures, banding and verification as distributed steps.

The local filter (`filters.minhash`) sketches every text into one signature matrix, bands it and verifies the
candidates in one process. Here each step is a Ray Data operation, so no process holds every signature:

1. `map_batches`: the MinHash signature of each text (rensa, the same seed and permutations as the local filter),
   kept with its text as Arrow (`materialize`: the later steps read it twice);
2. `map_batches`: one small row per (text, band): the band's key (`band_keys`, the local filter's hash) and the
   text's index, 16 bytes. An earlier form carried the text and signature on every band row: 32 bands made a
   million rows a 26 GB shuffle;
3. `groupby(key).map_groups`: every pair inside a bucket, then `groupby([a, b])` for distinct candidate pairs;
4. two hash joins (Ray Data joins run on polars) bring each candidate its two signatures and texts, and a
   `map_batches` verifies it exactly as the local filter does (`_Verifier`: the estimate, and the exact shingle
   Jaccard for borderline pairs).

Only verified pairs (two ints and a float each) return to the driver, where a union-find makes the clusters. A
bucket holding k texts costs k^2/2 candidates, as in any banded LSH; identical texts (which share every bucket)
are collapsed before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from tether.engine.ray.session import require_ray
from tether.filters.minhash import _Verifier, band_keys, signatures


def _signatures(num_perm: int, ngram: int, seed: int):
    def sign(batch: pa.Table) -> pa.Table:
        sig = signatures(batch["text"].to_pylist(), num_perm, ngram, seed)
        return batch.append_column("sig", pa.array([row.tobytes() for row in sig], type=pa.binary()))

    return sign


def _matrix(col, num_perm: int) -> np.ndarray:
    return np.frombuffer(b"".join(col), dtype=np.uint32).reshape(len(col), num_perm)


def _band_rows(bands: int, rows: int, num_perm: int):
    def banded(batch: dict) -> dict:
        sig = _matrix(batch["sig"], num_perm)
        keys = np.concatenate([band_keys(sig, b, rows) for b in range(bands)])
        # the band index goes into the key too: equal slices of different bands are not candidates by themselves
        keys = keys ^ np.repeat(np.arange(bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15), len(sig))
        return {"key": keys, "i": np.tile(np.asarray(batch["i"], dtype=np.int64), bands)}

    return banded


def _bucket_pairs(group: dict) -> dict:
    idx = np.unique(np.asarray(group["i"], dtype=np.int64))
    if len(idx) < 2:
        return {"a": np.zeros(0, dtype=np.int64), "b": np.zeros(0, dtype=np.int64)}
    ii, jj = np.triu_indices(len(idx), 1)
    return {"a": idx[ii], "b": idx[jj]}


def _verify(threshold: float, num_perm: int, ngram: int, verify: str):
    check = _Verifier(threshold, num_perm, ngram, verify)  # type: ignore[arg-type]

    def verified(batch: dict) -> dict:
        a, b = np.asarray(batch["a"], dtype=np.int64), np.asarray(batch["b"], dtype=np.int64)
        sig_a, sig_b = _matrix(batch["sig_a"], num_perm), _matrix(batch["sig_b"], num_perm)
        texts_a, texts_b = batch["text_a"], batch["text_b"]
        cand = np.stack([np.arange(len(a)), np.arange(len(a))], axis=1)
        out = list(check.pairs(cand, sig_a, sig_b, lambda x: str(texts_a[x]), lambda x: str(texts_b[x])))
        return {"a": np.asarray([a[x] for x, _, _ in out], dtype=np.int64),
                "b": np.asarray([b[x] for x, _, _ in out], dtype=np.int64),
                "sim": np.asarray([s for _, _, s in out], dtype=np.float64)}  # fmt: skip

    return verified


def ray_near_pairs(
    texts: pa.Array | pa.ChunkedArray | Sequence[str],
    threshold: float,
    num_perm: int,
    ngram: int,
    seed: int,
    bands: int,
    verify: str,
) -> dict[tuple[int, int], float]:
    """{(i, j): similarity}, i < j, of the texts whose verified Jaccard reaches `threshold`, computed on Ray."""
    require_ray()
    import ray.data as rd

    if len(texts) < 2:
        return {}
    rows = num_perm // bands
    # Arrow in: the texts go to the object store as Arrow buffers, not as one Python dict per row
    ds = rd.from_arrow(pa.table({"i": pa.array(np.arange(len(texts), dtype=np.int64)), "text": texts}))
    # plain tasks, not actor pools: actors hold a CPU each for their lifetime, and pools would wait on each other
    sigs = ds.map_batches(_signatures(num_perm, ngram, seed), batch_format="pyarrow").materialize()
    keys = sigs.map_batches(_band_rows(bands, rows, num_perm), batch_format="numpy")
    cand = keys.groupby("key").map_groups(_bucket_pairs, batch_format="numpy").groupby(["a", "b"]).count().materialize()
    if cand.count() == 0:
        return {}
    parts = max(1, min(64, cand.count() // 50_000 + 1))
    left = sigs.rename_columns({"i": "a", "text": "text_a", "sig": "sig_a"})
    right = sigs.rename_columns({"i": "b", "text": "text_b", "sig": "sig_b"})
    joined = (
        cand.select_columns(["a", "b"])
        .join(left, "inner", num_partitions=parts, on=("a",))
        .join(right, "inner", num_partitions=parts, on=("b",))
    )
    verified = joined.map_batches(_verify(threshold, num_perm, ngram, verify), batch_format="numpy")
    out: dict[tuple[int, int], float] = {}
    for batch in verified.iter_batches(batch_format="numpy", batch_size=None):
        for a, b, s in zip(batch["a"], batch["b"], batch["sim"], strict=True):
            out[(int(a), int(b))] = float(s)
    return out
