"""Every benchmark in one run, with one table of results at the end.

Each benchmark still measures its own baseline in its own run and prints its ratios (see its docstring). This
script runs them one after another as subprocesses (so one's memory does not weigh on the next), keeps their full
output in `bench/out/<name>.txt`, and prints the lines that state a target or a ratio (PASS / FAIL / "x"), plus
the benchmarks that do not exist yet, so a gap is listed, not hidden.

Run: `python bench/run_all.py [--quick]` (`--quick`: smaller sizes, minutes instead of tens of minutes).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# peers in their own venvs: CURATOR_PYTHON / DISTILABEL_PYTHON name their interpreters (see bench/peers.py)
PEER_ARGS = [
    arg
    for flag, env in (("--curator-python", "CURATOR_PYTHON"), ("--distilabel-python", "DISTILABEL_PYTHON"))
    if env in os.environ
    for arg in (flag, os.environ[env])
]
BENCHES = {
    # name: (full args, quick args)
    "teacher_throughput": ([], ["--n", "500", "--repeats", "1", "--embedded-calls", "20"]),
    "generate_stage": ([], ["--n", "600"]),
    "dedup": ([], ["--n", "20000", "--planted", "2000"]),
    "diversity": ([], ["--sizes", "1000", "5000", "--sentences", "500"]),
    "embedded_batched": (["--n", "16"], ["--n", "8", "--max-tokens", "32"]),
    "engines": ([], ["--n", "3000"]),
    "embedding_dedup": ([], ["--n", "20000", "--planted", "1000"]),
    "peers": (PEER_ARGS, PEER_ARGS),
    "filter_scale": (["--n", "1000000"], ["--n", "100000"]),
    # the embedded teacher end to end plus three trained students: about 30 min per budget on 2 cores
    "helped": (["--budgets", "100", "400"], ["--budgets", "40", "--steps", "20"]),
}
RESULT = re.compile(r"PASS|FAIL|\d\.\d+x|ratio|/ floor|/raw|no venv")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    summary: list[tuple[str, str, float]] = []
    for name, (full, quick) in BENCHES.items():
        args = [sys.executable, str(HERE / f"{name}.py"), *(quick if a.quick else full)]
        print(f"== {name}: {' '.join(args[2:]) or '(defaults)'}", flush=True)
        t0 = time.monotonic()
        p = subprocess.run(args, capture_output=True, text=True)
        secs = time.monotonic() - t0
        (out_dir / f"{name}.txt").write_text(p.stdout + p.stderr, encoding="utf-8")
        lines = [ln.strip() for ln in p.stdout.splitlines() if RESULT.search(ln)]
        if p.returncode != 0:
            lines.append(f"exited {p.returncode}: {(p.stderr.strip().splitlines() or ['?'])[-1]}")
        for ln in lines or ["(no result line; see the output file)"]:
            summary.append((name, ln, secs))
    print("\n" + "=" * 100)
    print(f"{'benchmark':<22}{'seconds':>8}  result")
    last = None
    for name, line, secs in summary:
        print(f"{name if name != last else '':<22}{f'{secs:.0f}' if name != last else '':>8}  {line}")
        last = name
    print(f"\nfull outputs in {out_dir}/")


if __name__ == "__main__":
    main()
