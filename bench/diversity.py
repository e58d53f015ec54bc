"""Diversity metrics and the embedder: tether's blockwise DCScore / Vendi against full-matrix numpy, and throughput.

    python bench/diversity.py [--sizes 1000 5000 20000] [--vendi-baseline-max 5000] [--sentences 2000]

1. DCScore (τ = 1 and 0.1, cosine kernel) and Vendi (q = 1) on clustered 384-d float32 data (200 random centres,
   Gaussian noise, so neither metric sits at a bound). For each n, in the same run:

   * tether      `tether.measure.dcscore` / `vendi` (float64, row blocks of ~4M kernel entries; Vendi through the
                 d x d Gram matrix when d < n);
   * tether f32  `dcscore(..., dtype=np.float32)`: the matrix product in float32, softmax sums in float64;
   * baseline    the straightforward numpy: K = X Xᵀ (float64), K/τ, subtract row max, exp, divide by row sums,
                 trace; Vendi as eigvalsh of the n x n K / n. The n x n eigensolve is O(n³): it is run only up to
                 `--vendi-baseline-max` rows (5,000 by default; 20,000 would take many minutes on 2 cores).

   Peak memory is tracemalloc's peak of traced allocations during the call (numpy reports its array buffers to
   tracemalloc), the input array excluded. Times include tracemalloc's small per-allocation overhead, alike for
   all contenders. Values must agree with the baseline to 1e-6 relative (float64 contenders), 1e-5 (f32).
   Target: tether's DCScore peak <= 1/10 of the baseline's at n = 20,000.

2. Embedder throughput on `--sentences` realistic sentences of mixed length (examples/brindlemoor/docs split into
   sentences, repeated if needed): `OnnxMiniLM` (the default backend) and, when sentence-transformers imports,
   `SentenceTransformerMiniLM`, with the cosine agreement between the two. One warm-up call first (model load and
   first-run allocation are not counted). Target: >= 250 sentences/s with the default on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import re
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tether.measure.diversity import dcscore, vendi

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "examples" / "brindlemoor" / "docs"
DIM, CENTRES, TAUS = 384, 200, (1.0, 0.1)


def clustered(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CENTRES, DIM))
    x = centres[rng.integers(0, CENTRES, n)] + 0.8 * rng.standard_normal((n, DIM))
    return x.astype(np.float32)


# ------------------------------------------------------------------------------------------- full-matrix baseline


def baseline_dcscore(x: np.ndarray, tau: float) -> float:
    x = x.astype(np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    k = x @ x.T / tau
    k = k - k.max(axis=1, keepdims=True)
    p = np.exp(k)
    p = p / p.sum(axis=1, keepdims=True)
    return float(np.trace(p))


def baseline_vendi(x: np.ndarray) -> float:
    x = x.astype(np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    lam = np.clip(np.linalg.eigvalsh(x @ x.T / len(x)), 0, None)
    lam = lam[lam > 0] / lam.sum()
    return float(np.exp(-(lam * np.log(lam)).sum()))


# ---------------------------------------------------------------------------------------------------- measuring


def traced(fn: Callable[[np.ndarray], float], x: np.ndarray) -> tuple[float, float, int]:
    """(fn(x), seconds, peak bytes allocated during the call)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    value = fn(x)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return value, seconds, peak


def metrics_bench(sizes: list[int], vendi_max: int) -> list[tuple[str, bool]]:
    print(f"clustered data: {CENTRES} centres, {DIM}-d float32; peak = tracemalloc peak during the call\n")
    head = (
        f"{'n':>7} {'metric':<15}{'contender':<11}{'value':>12}{'time s':>9}{'peak MB':>10}{'t/base':>8}{'mem/base':>9}"
    )
    print(head)
    print("-" * len(head))
    checks: list[tuple[str, bool]] = []
    for n in sizes:
        x = clustered(n)
        runs: list[tuple[str, str, Callable[[np.ndarray], float], float]] = []
        for tau in TAUS:
            name = f"DCScore τ={tau:g}"
            runs += [
                (name, "baseline", lambda x, t=tau: baseline_dcscore(x, t), 1e-6),
                (name, "tether", lambda x, t=tau: dcscore(x, tau=t), 1e-6),
                (name, "tether f32", lambda x, t=tau: dcscore(x, tau=t, dtype=np.float32), 1e-5),
            ]
        if n <= vendi_max:
            runs.append(("Vendi", "baseline", baseline_vendi, 1e-6))
        runs.append(("Vendi", "tether", vendi, 1e-6))
        base: dict[str, tuple[float, float, int]] = {}
        for metric, who, fn, rel in runs:
            value, seconds, peak = traced(fn, x)
            ratio_t = ratio_m = ""
            if who == "baseline":
                base[metric] = (value, seconds, peak)
            elif metric in base:
                bv, bs, bp = base[metric]
                ratio_t, ratio_m = f"{seconds / bs:.2f}", f"{peak / bp:.3f}"
                ok = abs(value - bv) <= rel * abs(bv)
                checks.append((f"n={n:,} {metric} {who}: {value:.8g} vs baseline {bv:.8g} (rel {rel:g})", ok))
                if n == max(sizes) and who == "tether" and metric.startswith("DCScore"):
                    checks.append(
                        (
                            f"n={n:,} {metric} peak memory {peak / bp:.3f} of the baseline's (target <= 0.1)",
                            peak * 10 <= bp,
                        )
                    )
            else:
                ratio_t = ratio_m = "(no base)"
            print(
                f"{n:>7,} {metric:<15}{who:<11}{value:>12.6g}{seconds:>9.3f}{peak / 1e6:>10.1f}{ratio_t:>8}{ratio_m:>9}"
            )
        print()
    return checks


# ---------------------------------------------------------------------------------------------------- embedder


def sentences(count: int) -> list[str]:
    """Sentences from the example domain's documents, markup dropped, repeated up to `count`."""
    found: list[str] = []
    for path in sorted(DOCS.iterdir()):
        text = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))
        for line in text.splitlines():
            line = re.sub(r"^[\s#*=\-+`>|.]+", "", line).strip()
            found += [s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if len(s.split()) >= 3]
    if not found:
        raise SystemExit(f"no sentences found under {DOCS}")
    return [found[i % len(found)] for i in range(count)]


def embedder_bench(count: int) -> list[tuple[str, bool]]:
    from tether.embed.embedder import OnnxMiniLM, SentenceTransformerMiniLM

    texts = sentences(count)
    unique = len(set(texts))
    words = [len(t.split()) for t in texts]
    print(
        f"embedder: {count:,} sentences ({unique:,} distinct, {min(words)}-{max(words)} words, "
        f"median {int(np.median(words))}), {os.cpu_count()} cores"
    )
    contenders: dict[str, Callable[[], object]] = {"onnx int8 (default)": OnnxMiniLM}
    try:
        import sentence_transformers  # noqa: F401
    except ImportError as e:
        print(f"  sentence-transformers: not importable ({e.name}); skipped, no cosine agreement measured")
    else:
        contenders["sentence-transformers"] = SentenceTransformerMiniLM
    vectors: dict[str, np.ndarray] = {}
    rates: dict[str, float] = {}
    for name, build in contenders.items():
        model = build()
        model.embed(texts[:64])  # warm-up
        start = time.perf_counter()
        vectors[name] = model.embed(texts)
        rates[name] = count / (time.perf_counter() - start)
        print(f"  {name:<22}{rates[name]:>8.0f} sentences/s")
    if len(vectors) == 2:
        a, b = vectors.values()
        cos = (a * b).sum(axis=1)
        print(f"  cosine agreement: min {cos.min():.4f}, mean {cos.mean():.4f}, p1 {np.quantile(cos, 0.01):.4f}")
    rate = rates["onnx int8 (default)"]
    return [(f"embedder: default {rate:.0f} sentences/s (target >= 250)", rate >= 250)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000, 20_000])
    ap.add_argument("--vendi-baseline-max", type=int, default=5_000, help="largest n for the n x n eigensolve")
    ap.add_argument("--sentences", type=int, default=2_000)
    ap.add_argument("--skip-embedder", action="store_true")
    args = ap.parse_args()
    checks = metrics_bench(args.sizes, args.vendi_baseline_max)
    if not args.skip_embedder:
        checks += embedder_bench(args.sentences)
    print()
    for line, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {line}")


if __name__ == "__main__":
    main()
