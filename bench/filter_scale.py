"""`tether filter`'s deterministic funnel at scale: wall time and peak memory on N synthetic rows, per engine.

Rows: N short synthetic Q/A records (one in 20 a near-copy of another, one in 50 an exact copy), written to a
records Parquet file by one process. Each measured run is a fresh process over that file, running validity,
rules, exact dedup and MinHash near-dup (the filters `tether filter` runs before any model filter):

* `memory`: the baseline, the way the stage worked before streaming: every row read into a Record, then
  `apply_filters` over the list, then the table written;
* `stream`: the funnel `tether filter` runs now (`filters.streaming`): Parquet batches in, verdict columns between
  passes, batches out;
* `ray`: the same funnel with the row filters in Ray tasks reading the file through Ray Data and MinHash pairs
  found on Ray (a local cluster on this machine).

Peak memory: the measuring process's maximum RSS, and for Ray also the peak of the driver plus every process it
started (raylet, workers; sampled every 0.2 s, so shared object-store pages may be counted more than once).

Run: `python bench/filter_scale.py [--n 1000000] [--modes memory,stream,ray]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

WORDS = [f"w{i}" for i in range(5000)]


def make(n: int, path: Path) -> None:
    import pyarrow.parquet as pq

    from tether.records import RECORD_SCHEMA, Record, Teacher, records_to_table

    rng = random.Random(0)
    t = Teacher(model="m")
    qa: list[tuple[str, str]] = []
    with pq.ParquetWriter(path, RECORD_SCHEMA, compression="zstd") as w:
        batch = []
        for i in range(n):
            if i % 50 == 49:
                q, a = qa[rng.randrange(len(qa))]
            elif i % 20 == 19:
                q, a = qa[rng.randrange(len(qa))]
                words = a.split()
                words[rng.randrange(len(words))] = "changed"
                a = " ".join(words)
            else:
                q = "What about " + " ".join(rng.choice(WORDS) for _ in range(8)) + "?"
                a = " ".join(rng.choice(WORDS) for _ in range(24)) + "."
            qa.append((q, a))
            batch.append(Record(prompt=q, response=a, origin="synthetic", teacher=t, meta={"i": str(i)}))
            if len(batch) == 50_000:
                w.write_table(records_to_table(batch))
                batch = []
        if batch:
            w.write_table(records_to_table(batch))


class TreePeak:
    """Peak summed RSS of this process and all its descendants, sampled."""

    def __init__(self) -> None:
        import psutil

        self.me, self.peak, self._stop = psutil.Process(), 0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.2):
            total = 0
            for p in [self.me, *self.me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    continue  # a worker that exited between listing and reading
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        self._stop.set()
        self._t.join()
        return self.peak


def child(path: Path, mode: str) -> dict:
    import pyarrow.parquet as pq

    from tether.config import TetherConfig
    from tether.filters.dedup import ExactDedup
    from tether.filters.minhash import MinHashDedup
    from tether.filters.rules import RulesFilter
    from tether.filters.stage import apply_filters, funnel_steps
    from tether.filters.streaming import Funnel, write_records_file
    from tether.filters.validity import ValidityFilter
    from tether.records import read_records, write_records
    from tether.run.engines import open_engine

    cfg = TetherConfig()
    engine = open_engine("ray" if mode == "ray" else "local")
    filters = [
        ValidityFilter(language=None),  # the rows are made-up words: no language check
        RulesFilter(),
        ExactDedup(),
        MinHashDedup(threshold=cfg.filters.near_dedup.threshold, ngram=3, near_pairs=engine.near_pairs),
    ]
    tree = TreePeak()
    out = path.with_suffix(f".{mode}.out")
    t0 = time.perf_counter()
    if mode == "memory":
        rows = read_records(path)
        steps = asyncio.run(apply_filters(rows, filters))
        write_records(out, rows)
        kept = sum(r.kept for r in rows)
    else:
        with engine.session():
            funnel = Funnel.open(path, filters, row_pass=engine.row_pass)
            write, close = write_records_file(out)
            asyncio.run(funnel.run(write))
            close()
        steps = funnel_steps(funnel.state, filters)
        kept = int((funnel.state.synthetic & funnel.state.kept()).sum())
    seconds = time.perf_counter() - t0
    tree_peak = tree.stop()
    return {
        "n": pq.ParquetFile(path).metadata.num_rows,
        "mode": mode,
        "seconds": round(seconds, 1),
        "kept": kept,
        "dropped": {s.name: sum(s.dropped.values()) for s in steps},
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "tree_peak_gb": round(tree_peak / 1e9, 2),
    }


def _run(args: list[str]) -> str:
    p = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(p.stderr[-3000:])
    return p.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--modes", default="memory,stream,ray", help="comma-separated: memory, stream, ray")
    ap.add_argument("--child", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    ap.add_argument("--make", metavar="PATH", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.make:
        make(a.n, Path(a.make))
        return
    if a.child:
        print(json.dumps(child(Path(a.child[0]), a.child[1])))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.parquet"
        t0 = time.perf_counter()
        _run(["--n", str(a.n), "--make", str(path)])
        print(
            f"{a.n:,} rows written to Parquet in {time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.0f} MB)"
        )
        results = []
        for mode in a.modes.split(","):
            out = _run(["--child", str(path), mode])
            r = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
            results.append(r)
            per_row = r["peak_gb"] * 1e9 / r["n"]
            print(
                f"{mode:>6}: {r['seconds']:7.1f} s  peak {r['peak_gb']:5.2f} GB ({per_row:,.0f} B/row)"
                f"  with children {r['tree_peak_gb']:5.2f} GB  kept {r['kept']:,}  dropped {r['dropped']}",
                flush=True,
            )
        base = next((r for r in results if r["mode"] == "memory"), None)
        if base:
            for r in results:
                if r is not base:
                    print(
                        f"{r['mode']} vs memory: time {r['seconds'] / base['seconds']:.2f}x, "
                        f"peak {r['peak_gb'] / base['peak_gb']:.2f}x, same funnel: {r['dropped'] == base['dropped']}"
                    )


if __name__ == "__main__":
    main()
