"""Do the filters keep true rows and drop false ones? Planted rows, the embedded teacher, current vs legacy filters.

    python bench/filter_truth.py                       # example domain, current and legacy filters
    python bench/filter_truth.py --no-legacy --domain /tmp/pyref   # any domain folder (docs/, seeds/)

True rows are the seed answers, lightly reworded (facts untouched); false rows are the same answers with numbers
shifted, swapped with another document's seed, swapped with another question of the same document, or cut off
(`tether.filters.planted`). The held-out set is never used. Each filter set runs as a funnel over all planted rows
with the embedded teacher (grounding and judge ask it; model filters are calibrated first, as `tether filter`
does). Dedup filters are left out: a reworded seed *is* a near-duplicate of its seed, which says nothing about
truth. The legacy filters are those of git ref `--legacy-ref` (the commit before the truth filters), run from a
git worktree in a subprocess over a workspace of their own, in the same run, so the gain is visible.

Target with the embedded teacher on the example domain: false rows dropped >= 0.95, true rows kept >= 0.80.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LEGACY_REF = "926014a"  # last commit before fact consistency, verified quotes and calibrated trust
DEDUP = {"exact_dedup", "near_dedup", "embedding_dedup"}

LEGACY_SCRIPT = r"""
import asyncio, json, sys
from pathlib import Path
from tether.workspace.store import Workspace
from tether.records import Record
from tether.filters.stage import build_filters, apply_filters
from tether.llm.teacher import open_teacher
ws = Workspace.open(Path(sys.argv[1]))
rows = [Record.model_validate(r) for r in json.loads(Path(sys.argv[2]).read_text())]
cfg = ws.config
cfg.filters.enabled = [n for n in cfg.filters.enabled if n not in ("exact_dedup", "near_dedup")]
chunks = {c.chunk_id: c for c in ws.chunks(ws.head())}
async def go():
    async with open_teacher(cfg.teacher, ws.store / "cache.sqlite") as client:
        await apply_filters(rows, build_filters(cfg, chunks, client))
        return client.finish_stats().as_dict()
usage = asyncio.run(go())
print(json.dumps({"names": cfg.filters.enabled, "usage": usage,
                  "verdicts": [{n: [v.keep, v.reason] for n, v in r.verdicts.items()} for r in rows]}))
"""


def planted_rows(ws, seed_parent: bool = False) -> list:
    """Planted rows; with `seed_parent`, each names its seed as parent, as an augmented or rephrased row does (the
    seed's answer is then evidence, and its facts must be shared); without, they stand alone like new questions."""
    from tether.filters.planted import plant

    seeds = [r for r in ws.records(ws.head()) if r.origin == "human"]
    planted = plant(seeds, reworded=True)
    if seed_parent:
        for p in planted:
            p.record = p.record.model_copy(update={"parents": [p.seed_id], "id": ""})
            p.record.id = p.record.compute_id()
    return planted


def score(planted: list, verdicts: list[dict], names: list[str]) -> dict:
    """Per filter (charged to the first that drops a row) and overall: true kept, false dropped, per false kind."""
    out: dict = {"by_filter": {}, "kinds": defaultdict(lambda: [0, 0])}
    n_true = sum(1 for p in planted if p.truth)
    n_false = len(planted) - n_true
    first_drop = []
    for v in verdicts:
        first = next((n for n in names if n in v and not v[n][0]), None)
        first_drop.append(first)
    for n in names:
        t = sum(1 for p, f in zip(planted, first_drop, strict=True) if p.truth and f == n)
        f_ = sum(1 for p, f in zip(planted, first_drop, strict=True) if not p.truth and f == n)
        out["by_filter"][n] = (t / max(1, n_true), f_ / max(1, n_false))
    for p, f in zip(planted, first_drop, strict=True):
        if not p.truth:
            out["kinds"][p.kind][0] += f is not None
            out["kinds"][p.kind][1] += 1
    out["true_kept"] = sum(1 for p, f in zip(planted, first_drop, strict=True) if p.truth and f is None) / n_true
    out["false_dropped"] = sum(1 for p, f in zip(planted, first_drop, strict=True) if not p.truth and f) / n_false
    return out


def run_current(ws, planted: list) -> tuple[list[dict], list[str], dict, list[str]]:
    import copy

    from tether.filters.calibration import calibrate_missing
    from tether.filters.registry import build_context, build_filters, judge_config
    from tether.filters.stage import apply_filters
    from tether.llm.teacher import open_teacher

    cfg = ws.config
    names = [n for n in cfg.filters.enabled if n not in DEDUP]
    head = ws.head()
    records = ws.records(head)
    rows = [copy.deepcopy(p.record) for p in planted]

    async def go():
        async with open_teacher(judge_config(cfg), ws.store / "cache.sqlite") as client:
            ctx = build_context(ws, head, records, client)
            await calibrate_missing(ctx)
            filters = build_filters(ctx, names)
            await apply_filters(rows, filters)
            return client.finish_stats().as_dict(), [t.note for t in ctx.trusts.values()]

    usage, trust = asyncio.run(go())
    return [{n: [v.keep, v.reason] for n, v in r.verdicts.items()} for r in rows], names, usage, trust


def run_legacy(domain: Path, planted: list, workdir: Path, ref: str) -> tuple[list[dict], list[str], dict]:
    tree = workdir / f"legacy-{ref}"
    if not tree.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref], check=True,
                       capture_output=True)  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    ws_dir = workdir / "legacy-ws"
    if not (ws_dir / "tether.yaml").exists():
        cli = [sys.executable, "-c", "from tether.cli import main; main()"]
        subprocess.run([*cli, "init", str(ws_dir), "--domain", str(domain)], env=env, check=True, capture_output=True)
        subprocess.run([*cli, "ingest", "-w", str(ws_dir)], env=env, check=True, capture_output=True)
    rows_file = workdir / "planted.json"
    rows_file.write_text(json.dumps([p.record.model_dump(mode="json") for p in planted]))
    res = subprocess.run([sys.executable, "-c", LEGACY_SCRIPT, str(ws_dir), str(rows_file)], env=env,
                         capture_output=True, text=True)  # fmt: skip
    if res.returncode != 0:
        raise SystemExit(f"legacy run failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return out["verdicts"], out["names"], out["usage"]


def report(title: str, planted: list, s: dict, usage: dict, secs: float) -> None:
    n_true = sum(1 for p in planted if p.truth)
    print(f"\n== {title}  ({n_true} true rows, {len(planted) - n_true} false rows; {secs:.0f} s, "
          f"{usage.get('calls', 0)} teacher calls sent, {usage.get('cache_hits', 0)} cache hits)")  # fmt: skip
    print(f"  {'filter':<12} {'true dropped':>13} {'false dropped':>14}")
    for n, (t, f) in s["by_filter"].items():
        print(f"  {n:<12} {t:>13.2f} {f:>14.2f}")
    kinds = ", ".join(f"{k} {a / b:.2f}" for k, (a, b) in sorted(s["kinds"].items()))
    print(f"  false dropped by kind: {kinds}")
    print(f"  overall: true kept {s['true_kept']:.2f}, false dropped {s['false_dropped']:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--domain", type=Path, default=ROOT / "examples" / "brindlemoor")
    ap.add_argument("--workdir", type=Path, default=None, help="keep workspaces (and teacher caches) here")
    ap.add_argument("--legacy-ref", default=LEGACY_REF)
    ap.add_argument("--no-legacy", action="store_true")
    args = ap.parse_args()
    from tether.config import render_default_config
    from tether.seeds.stage import run_ingest
    from tether.workspace.store import Workspace

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="filter-truth-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ws_dir = workdir / "current-ws"
    if (ws_dir / "tether.yaml").exists():
        ws = Workspace.open(ws_dir)
    else:
        ws = Workspace.init(ws_dir, render_default_config("bench", args.domain.resolve(), ws_dir))
        run_ingest(ws, [])
    planted = planted_rows(ws)
    kinds = defaultdict(int)
    for p in planted:
        kinds[p.kind] += 1
    print(f"domain {args.domain} ({yaml.safe_load((args.domain / 'ontology.yaml').read_text()).get('domain', '')}): "
          f"planted {dict(kinds)}; workdir {workdir}")  # fmt: skip
    if not args.no_legacy:
        t0 = time.monotonic()
        try:
            verdicts, names, usage = run_legacy(args.domain.resolve(), planted, workdir, args.legacy_ref)
        finally:
            if args.workdir is None:  # a throwaway workdir: unregister its worktree too
                tree = workdir / f"legacy-{args.legacy_ref}"
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True
                )
        report(f"legacy filters ({args.legacy_ref})", planted, score(planted, verdicts, names), usage,
               time.monotonic() - t0)  # fmt: skip
    t0 = time.monotonic()
    verdicts, names, usage, trust = run_current(ws, planted)
    s = score(planted, verdicts, names)
    report("current filters, rows standing alone (like new questions and imports)", planted, s, usage,
           time.monotonic() - t0)  # fmt: skip
    for line in trust:
        print(f"  {line}")
    t0 = time.monotonic()
    answers = planted_rows(ws, seed_parent=True)
    verdicts, names, usage, _ = run_current(ws, answers)
    report("current filters, answers to a seed's question (augment, rephrase: the seed is the parent)", answers,
           score(answers, verdicts, names), usage, time.monotonic() - t0)  # fmt: skip
    print(f"true kept {s['true_kept']:.2f}")
    print(f"false dropped {s['false_dropped']:.2f}")


if __name__ == "__main__":
    main()
