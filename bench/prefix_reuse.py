"""The embedded teacher's prefix reuse: the same generation jobs, spread out vs grouped by chunk, calls per minute.

llama.cpp keeps the last prompt's computed state and re-evaluates only what the next prompt does not share with it
(its log says "N prefix-match hit, remaining M prompt tokens to eval"). tether's chunk-reading templates start
with one system message and the chunk, and `generate.jobs.by_chunk` puts the calls on one chunk next to each
other. This runs one plan's jobs through the embedded server twice from an empty cache, in the planner's spread
order with 6 jobs in flight (what adaptive concurrency settled at before) and grouped by chunk with one job
at a time (`teacher.embedded.in_flight`), and reports calls/min and the share of prompt tokens the server did
not recompute.

Run: `python bench/prefix_reuse.py [--model qwen2.5-coder-0.5b] [--budget 40] [--domain examples/brindlemoor]`
(about 2 x 2 minutes on 2 cores with the 0.5B; `--mix new_questions=1` for the jobs that share chunks
most). Needs the model's part packages (README, The teacher).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tether.generate.jobs import by_chunk, interleave  # noqa: E402
from tether.generate.stage import gen_context, prepare  # noqa: E402
from tether.generate.strategies import run_job  # noqa: E402
from tether.seeds.stage import run_ingest  # noqa: E402
from tether.workspace.store import Workspace  # noqa: E402

_HIT = re.compile(r"(\d+) prefix-match hit, remaining (\d+) prompt tokens")


def server_log() -> Path:
    return Path(tempfile.gettempdir()) / f"tether-llama-{os.getpid()}.log"


async def one_pass(ws: Workspace, jobs, in_flight: int) -> dict:
    (ws.store / "cache.sqlite").unlink(missing_ok=True)
    ws.config.teacher.embedded.in_flight = in_flight
    async with gen_context(ws) as (ctx, _):
        before = server_log().read_text(errors="replace") if server_log().exists() else ""
        t0 = time.perf_counter()
        rows = await ctx.client.map([lambda j=j: run_job(ctx, j) for j in jobs])
        secs = time.perf_counter() - t0
        log = server_log().read_text(errors="replace")[len(before) :]
        stats = ctx.client.finish_stats()
    hits = [(int(a), int(b)) for a, b in _HIT.findall(log)]
    reused, fresh = sum(a for a, _ in hits), sum(b for _, b in hits)
    fails = Counter(r.verdicts["generate"].reason for r in rows if "generate" in r.verdicts)
    return {
        "rows": f"{len(rows) - sum(fails.values())} of {len(rows)} rows past generation "
        + (f"({', '.join(f'{k} {n}' for k, n in fails.most_common())})" if fails else ""),
        "calls": stats.requests,
        "seconds": round(secs, 1),
        "calls_per_min": round(60 * stats.requests / secs, 1),
        "prompt_reused": round(reused / max(1, reused + fresh), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--domain", type=Path, default=ROOT / "examples" / "brindlemoor")
    ap.add_argument("--mix", default=None, help="e.g. new_questions=1 (default: the planner's mix)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg: dict = {"project": args.domain.name, "teacher": {"embedded": {"model": args.model}}}
        if args.mix:
            cfg["generate"] = {"mix": {k: float(v) for k, v in (p.split("=") for p in args.mix.split(","))}}
        if (args.domain / "ontology.yaml").exists():
            cfg["ontology"] = str(args.domain / "ontology.yaml")
        ws = Workspace.init(Path(tmp) / "w", yaml.safe_dump(cfg))
        run_ingest(ws, [args.domain / "docs", args.domain / "seeds"])
        prep = prepare(ws, args.budget)
        grouped = prep.jobs
        strategies = ("augment", "rephrase", "new_questions")
        spread = interleave([[j for j in grouped if j.strategy == s] for s in strategies])
        print(
            f"{len(grouped)} jobs ({args.model}, budget {args.budget}, {args.domain.name}, mix {args.mix or 'planner'})"
        )
        passes = (
            ("spread, 6 in flight (before)", spread, 6),
            ("by chunk, 1 in flight", by_chunk(spread), 1),
            ("by chunk, 2 in flight", by_chunk(spread), 2),
        )
        for name, jobs, in_flight in passes:
            r = asyncio.run(one_pass(ws, jobs, in_flight))
            print(
                f"{name:>30}: {r['calls']} calls in {r['seconds']} s = {r['calls_per_min']} calls/min; "
                f"prompt tokens reused {r['prompt_reused']:.0%}; {r['rows']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
