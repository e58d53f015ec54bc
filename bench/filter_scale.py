"""`tether filter`'s deterministic funnel at scale: wall time and peak memory on N synthetic rows, per engine.

Rows: N short synthetic Q/A records (one in 20 a near-copy of another, one in 50 an exact copy), built in the
child process that measures them. The funnel: validity, rules, exact dedup, MinHash near-dup (the filters
`tether filter` runs before any model filter), through `apply_filters`, the function the stage uses. Peak memory is
the child's maximum resident set (`ru_maxrss`), so the records themselves are counted: today every row is a
Python object for the whole stage, which is what streaming record batches (issue 13) will change. On the Ray engine
the per-row filters and MinHash run on Ray Data, and the driver still holds every row.

Run: `python bench/filter_scale.py [--n 1000000] [--engine local|ray]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

WORDS = [f"w{i}" for i in range(5000)]


def child(n: int, engine: str) -> dict:
    from tether.config import TetherConfig
    from tether.filters.dedup import ExactDedup, MinHashDedup
    from tether.filters.rules import RulesFilter
    from tether.filters.stage import apply_filters
    from tether.filters.validity import ValidityFilter
    from tether.records import Record, Teacher

    rng = random.Random(0)
    t = Teacher(model="m")
    t0 = time.perf_counter()
    rows = []
    for i in range(n):
        if i % 50 == 49:
            src = rows[rng.randrange(len(rows))]
            q, a = src.prompt, src.response
        elif i % 20 == 19:
            src = rows[rng.randrange(len(rows))]
            words = src.response.split()
            words[rng.randrange(len(words))] = "changed"
            q, a = src.prompt, " ".join(words)
        else:
            q = "What about " + " ".join(rng.choice(WORDS) for _ in range(8)) + "?"
            a = " ".join(rng.choice(WORDS) for _ in range(24)) + "."
        rows.append(Record(prompt=q, response=a, origin="synthetic", teacher=t, meta={"i": str(i)}))
    built = time.perf_counter() - t0
    cfg = TetherConfig()
    filters = [
        ValidityFilter(language=None),  # the rows are made-up words: no language check
        RulesFilter(),
        ExactDedup(),
        MinHashDedup(threshold=cfg.filters.near_dedup.threshold, ngram=3, engine=engine),
    ]
    t0 = time.perf_counter()
    if engine == "ray":
        from tether.engine.ray_engine import ray_session

        with ray_session(None):
            steps = asyncio.run(apply_filters(rows, filters, engine="ray"))
    else:
        steps = asyncio.run(apply_filters(rows, filters))
    seconds = time.perf_counter() - t0
    return {
        "n": n,
        "engine": engine,
        "build_s": round(built, 1),
        "filter_s": round(seconds, 1),
        "kept": sum(r.kept for r in rows),
        "dropped": {s.name: sum(s.dropped.values()) for s in steps},
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--engine", choices=("local", "ray"), default="local")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.n, a.engine)))
        return
    p = subprocess.run([sys.executable, __file__, "--child", "--n", str(a.n), "--engine", a.engine],
                       capture_output=True, text=True)  # fmt: skip
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        raise SystemExit(p.stderr[-2000:])
    r = json.loads(lines[-1])
    print(
        f"{r['n']:,} rows, engine {r['engine']}: built in {r['build_s']} s; validity + rules + exact + MinHash "
        f"in {r['filter_s']} s; kept {r['kept']:,}; dropped {r['dropped']}"
    )
    print(f"peak memory (rows included): {r['peak_rss_gb']} GB, {r['peak_rss_gb'] * 1e9 / r['n']:.0f} bytes per row")


if __name__ == "__main__":
    main()
