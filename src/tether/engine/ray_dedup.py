"""MinHash near-duplicates on Ray Data: signatures, banding and bucket verification as distributed steps.

The local filter sketches every text, fills one LSH index and queries it from one process. Here the same three
steps are Ray Data operations, so no node holds all signatures:

1. `map_batches`: the MinHash signature of each text (rensa, the same seed and permutations as the local filter);
2. `map_batches`: one row per (text, band) whose key hashes the band's slice of the signature (the same bands x
   rows split as the local LSH, from `optimal_bands`);
3. `groupby(key).map_groups`: every pair inside a bucket, verified as the local filter verifies it (the signature
   estimate, and the exact shingle Jaccard for borderline pairs: `_Verifier.decide`).

Only verified pairs (two ints and a float each) return to the driver, where a union-find makes the clusters: the
pair list is small next to the texts, and the clusters decide which row each dropped row names. A bucket holding k
texts costs k^2/2 checks, as in any banded LSH; identical texts (which share every bucket) are collapsed before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from tether.engine.ray_engine import require_ray
from tether.filters.minhash import _Verifier, shingles


def _signatures(num_perm: int, ngram: int, seed: int):
    def signatures(batch: dict) -> dict:
        from rensa import RMinHash

        hs = RMinHash.from_token_sets([shingles(str(t), ngram) for t in batch["text"]], num_perm, seed)
        batch["sig"] = np.asarray([h.digest() for h in hs], dtype=np.uint32)
        return batch

    return signatures


def _bands(bands: int, rows: int):
    def banded(batch: dict) -> dict:
        keys, idx, texts, sigs = [], [], [], []
        for i, text, sig in zip(batch["i"], batch["text"], batch["sig"], strict=True):
            for b in range(bands):
                part = np.ascontiguousarray(sig[b * rows : (b + 1) * rows]).tobytes()
                keys.append(hashlib.blake2b(bytes([b % 256, b // 256]) + part, digest_size=8).hexdigest())
                idx.append(i)
                texts.append(text)
                sigs.append(sig)
        return {"key": np.asarray(keys), "i": np.asarray(idx), "text": np.asarray(texts, dtype=object),
                "sig": np.asarray(sigs, dtype=np.uint32).reshape(len(sigs), -1)}  # fmt: skip

    return banded


def _bucket_pairs(threshold: float, num_perm: int, ngram: int, verify: str):
    check = _Verifier(threshold, num_perm, ngram, verify)

    def bucket_pairs(group: dict) -> dict:
        a_out, b_out, s_out = [], [], []
        order = np.argsort(group["i"], kind="stable")
        idx, texts, sigs = group["i"][order], group["text"][order], group["sig"][order]
        for x in range(len(idx)):
            for y in range(x + 1, len(idx)):
                if idx[x] == idx[y]:
                    continue
                est = float(np.mean(sigs[x] == sigs[y]))
                sim = check.decide(est, str(texts[x]), str(texts[y]))
                if sim is not None:
                    a_out.append(int(idx[x]))
                    b_out.append(int(idx[y]))
                    s_out.append(sim)
        return {"a": np.asarray(a_out, dtype=np.int64), "b": np.asarray(b_out, dtype=np.int64),
                "sim": np.asarray(s_out, dtype=np.float64)}  # fmt: skip

    return bucket_pairs


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
    # plain tasks, not actor pools: actors hold a CPU each for their lifetime, and three pools on a small cluster
    # would wait on each other
    banded = ds.map_batches(_signatures(num_perm, ngram, seed)).map_batches(_bands(bands, rows))
    pairs = banded.groupby("key").map_groups(_bucket_pairs(threshold, num_perm, ngram, verify), batch_format="numpy")
    out: dict[tuple[int, int], float] = {}
    for batch in pairs.iter_batches(batch_format="numpy", batch_size=None):
        for a, b, s in zip(batch["a"], batch["b"], batch["sim"], strict=True):
            out[(int(a), int(b))] = float(s)
    return out
