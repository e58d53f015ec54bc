"""Near-duplicate detection: tether (rensa MinHash + LSH) vs datasketch (MinHash + MinHashLSH), same run, same data.

    python bench/dedup.py [--n 100000] [--planted 10000] [--threshold 0.7] [--verify exact|estimate] [--fn-weight 0.95]

Data: `--n` texts of 45-55 words drawn from a seeded vocabulary of 5,000 invented words; `--planted` of them are
copies of distinct other texts with 1-3 random word substitutions. Both tools get the same texts and the same word
shingles (`tether.filters.minhash.shingles`), num_perm=128, the same LSH weights (tether splits bands*rows == 128,
datasketch picks its own bands*rows <= 128 from those weights) and the same verification of LSH candidates: the
MinHash estimate >= threshold, or with `--verify exact` the exact shingle Jaccard for estimates within 4 standard
errors of the threshold.

Shingles are word 3-grams, not the filter's default 5-grams: one substituted word removes up to n shingles, so with
5-grams only about 46% of planted pairs keep Jaccard >= 0.7 (3-grams: about 80%), and the recall target would be
measured on a minority of the planted pairs.

Timing covers texts -> verified pair set (shingling, sketching, LSH, verification), not data generation.
Peak memory: each tool runs in a fresh child process (multiprocessing "spawn") that regenerates the data and then
reports its own `resource.getrusage(RUSAGE_SELF).ru_maxrss`: the peak RSS of that whole process, interpreter and
input texts included ("base" is the same figure just before the tool starts). RUSAGE_CHILDREN in the parent was not
used because it reports the maximum over all finished children, which would mix the two tools.

Recall: planted pairs whose true Jaccard (exact, on the shingle sets) >= threshold that were found. Precision: found
pairs whose true Jaccard >= threshold. Targets (issue): >= 4x faster than datasketch, recall >= 0.99, precision
>= 0.99, tether peak memory <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import random
import resource
import time

from tether.filters.minhash import jaccard, near_duplicate_pairs, optimal_bands, shingles

NUM_PERM, NGRAM, SEED, CHUNK = 128, 3, 1, 8192


def corpus(n: int, planted: int, seed: int = 0) -> tuple[list[str], list[tuple[int, int]]]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = sorted({"".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(5200)})[:5000]
    texts = [" ".join(rng.choices(vocab, k=rng.randint(45, 55))) for _ in range(n - planted)]
    pairs = []
    for src in rng.sample(range(len(texts)), planted):
        words = texts[src].split()
        for pos in rng.sample(range(len(words)), rng.randint(1, 3)):
            words[pos] = rng.choice([w for w in rng.sample(vocab, 2) if w != words[pos]])
        texts.append(" ".join(words))
        pairs.append((src, len(texts) - 1))
    order = list(range(len(texts)))
    rng.shuffle(order)
    where = {old: new for new, old in enumerate(order)}
    return [texts[i] for i in order], [tuple(sorted((where[a], where[b]))) for a, b in pairs]


def run_tether(texts: list[str], args: argparse.Namespace) -> set[tuple[int, int]]:
    weights = (1 - args.fn_weight, args.fn_weight)
    return near_duplicate_pairs(texts, args.threshold, NUM_PERM, NGRAM, SEED, weights=weights, verify=args.verify)


def run_datasketch(texts: list[str], args: argparse.Namespace) -> set[tuple[int, int]]:
    from datasketch import MinHash, MinHashLSH

    t = args.threshold
    margin = 4 * math.sqrt(t * (1 - t) / NUM_PERM) + 1 / NUM_PERM
    sketches: list[MinHash] = []
    for start in range(0, len(texts), CHUNK):  # chunked like tether, so shingle lists never all live at once
        batch = [[s.encode() for s in shingles(x, NGRAM)] for x in texts[start : start + CHUNK]]
        sketches.extend(MinHash.bulk(batch, num_perm=NUM_PERM, seed=SEED))
    lsh = MinHashLSH(threshold=t, num_perm=NUM_PERM, weights=(1 - args.fn_weight, args.fn_weight))
    with lsh.insertion_session() as session:
        for i, m in enumerate(sketches):
            session.insert(i, m, check_duplication=False)
    found = set()
    for i, m in enumerate(sketches):
        for j in lsh.query(m):
            if j > i:
                est = m.jaccard(sketches[j])
                if args.verify == "exact" and abs(est - t) <= margin:
                    est = jaccard(shingles(texts[i], NGRAM), shingles(texts[j], NGRAM))
                if est >= t:
                    found.add((i, j))
    return found


TOOLS = {"tether": run_tether, "datasketch": run_datasketch}


def child(tool: str, args: argparse.Namespace, out: mp.Queue) -> None:
    texts, _ = corpus(args.n, args.planted, args.seed)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    found = TOOLS[tool](texts, args)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.put((seconds, base * 1024, peak * 1024, sorted(found)))  # ru_maxrss is in KiB on Linux


def measure(tool: str, args: argparse.Namespace) -> tuple[float, int, int, list[tuple[int, int]]]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=child, args=(tool, args, out))
    proc.start()
    result = out.get()  # before join: a child blocks on a full pipe until its result is read
    proc.join()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--planted", type=int, default=10_000)
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--verify", choices=("estimate", "exact"), default="exact")
    ap.add_argument("--fn-weight", type=float, default=0.95, help="LSH false-negative weight (false-positive: 1-w)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    texts, planted = corpus(args.n, args.planted, args.seed)
    sets: dict[int, frozenset[str]] = {}

    def true_j(i: int, j: int) -> float:
        for k in (i, j):
            if k not in sets:
                sets[k] = frozenset(shingles(texts[k], NGRAM))
        return jaccard(sets[i], sets[j])

    target = {p for p in planted if true_j(*p) >= args.threshold}
    bands, rows = optimal_bands(args.threshold, NUM_PERM, 1 - args.fn_weight, args.fn_weight)
    print(
        f"{len(texts):,} texts, {len(planted):,} planted pairs, {len(target):,} with true Jaccard >= "
        f"{args.threshold} ({NGRAM}-gram shingles); num_perm {NUM_PERM}, tether LSH {bands}x{rows}, "
        f"fn weight {args.fn_weight}, verify {args.verify}"
    )

    results = {}
    print(f"{'tool':<11}{'time s':>9}{'peak MB':>9}{'base MB':>9}{'pairs':>9}{'recall':>9}{'precision':>10}")
    for tool in TOOLS:
        seconds, base, peak, found = measure(tool, args)
        recall = sum(p in target for p in found) / max(len(target), 1)
        precision = sum(true_j(i, j) >= args.threshold for i, j in found) / max(len(found), 1)
        results[tool] = (seconds, peak, recall, precision)
        print(
            f"{tool:<11}{seconds:>9.2f}{peak / 1e6:>9.0f}{base / 1e6:>9.0f}{len(found):>9,}{recall:>9.4f}"
            f"{precision:>10.4f}"
        )

    seconds, peak, recall, precision = results["tether"]
    speedup = results["datasketch"][0] / seconds
    checks = [
        (f"speed: {speedup:.1f}x faster than datasketch (target >= 4x)", speedup >= 4),
        (f"recall: {recall:.4f} (target >= 0.99)", recall >= 0.99),
        (f"precision: {precision:.4f} (target >= 0.99)", precision >= 0.99),
        (f"peak memory: {peak / 1e9:.2f} GB (target <= 1.5 GB)", peak <= 1.5e9),
    ]
    for line, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {line}")


if __name__ == "__main__":
    main()
