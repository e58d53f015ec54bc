"""Did tether's data make the student know more? `tether compare` at several teacher budgets, one table.

For each budget this makes a fresh workspace on the domain, runs the main job (`tether run`: ingest, audit,
generate, filter, measure, mix) with the embedded teacher, then `tether compare`: students trained on (a) the human
rows only, (b) human + kept synthetic rows, (c) human + every synthetic row, unfiltered, all with the same
optimizer steps, evaluated on the same held-out questions with paired bootstrap intervals. Beside accuracy it
reports how many held-out answers some training row states: the facts a student could have learned.

Workspaces of larger budgets start from the previous one's request cache and judge calibration (same requests,
same answers), so budget 300 after 100 pays for 200 new calls. Everything is kept under `--out`.

Target (issue 20): at the largest budget, (b) - (a) >= +0.10 with the 95 % interval above 0, and (b) >= (c).
Printed as PASS / FAIL; the curve over budgets is the result either way.

Run: `python bench/helped.py [--budgets 100 300 1000] [--model qwen2.5-coder-1.5b] [--steps 60]
[--mix new_questions=1] [--domain examples/brindlemoor] [--out bench/out/helped]` (needs the train extra and the
teacher's packages; on 2 cores about 10 min per 100 calls plus 12 min per comparison).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CARRY = ("cache.sqlite", "calibration.json")  # what a larger budget's workspace reuses from the previous one


def tether(*args: str) -> float:
    """Run a tether command, stream its output, stop on failure; returns seconds."""
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "tether.cli", *args])
    if p.returncode != 0:
        sys.exit(f"tether {' '.join(args)} exited {p.returncode}")
    return time.monotonic() - t0


def workspace(root: Path, domain: Path, budget: int, model: str, prev: Path | None, mix: dict[str, float]) -> Path:
    w = root / f"budget-{budget}"
    if w.exists():
        shutil.rmtree(w)
    tether("init", str(w), "--domain", str(domain))
    cfg_path = w / "tether.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg.setdefault("teacher", {}).setdefault("embedded", {})["model"] = model
    cfg.setdefault("run", {})["budget"] = budget
    if mix:
        cfg.setdefault("generate", {})["mix"] = mix
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    if prev is not None:
        (w / ".tether").mkdir(exist_ok=True)
        for name in CARRY:
            if (prev / ".tether" / name).is_file():
                shutil.copy2(prev / ".tether" / name, w / ".tether" / name)
    return w


def latest_compare(w: Path) -> dict:
    files = sorted((w / ".tether" / "compare").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 300, 1000])
    ap.add_argument("--model", default="qwen2.5-coder-1.5b", help="teacher.embedded.model")
    ap.add_argument("--mix", nargs="*", default=[], help="generate.mix as STRATEGY=SHARE (new_questions=1)")
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps per student (default: eval.compare_steps)")
    ap.add_argument("--domain", type=Path, default=ROOT / "examples" / "brindlemoor")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "helped")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    mix = {k: float(v) for k, v in (m.split("=", 1) for m in a.mix)}
    rows, prev = [], None
    for budget in sorted(a.budgets):
        w = workspace(a.out, a.domain.resolve(), budget, a.model, prev, mix)
        run_s = tether("run", "-w", str(w))
        cmp_s = tether("compare", "-w", str(w), "--generation", "1", *(["--steps", str(a.steps)] if a.steps else []))
        rep = latest_compare(w)
        rows.append((budget, rep, run_s, cmp_s))
        prev = w
    print(f"\n== did the data help? {a.model} teacher, mix {mix or 'planned'}, domain {a.domain.name}, contains")
    print(
        "budget | synthetic kept/all | answers stated a/b/c | accuracy base a b c | b-a [95% CI] | c-a | run, compare"
    )
    for budget, rep, run_s, cmp_s in rows:
        acc = {arm: v["mean"] for arm, v in rep["accuracy"].items()}  # each arm: mean and bootstrap interval
        st, d, syn = rep["answers_stated"], rep["differences"], rep["synthetic_rows"]
        ba, ca = d["kept-human"], d["unfiltered-human"]
        print(
            f"{budget} | {syn['kept']}/{syn['unfiltered']} | "
            f"{st['human']}/{st['kept']}/{st['unfiltered']} of {rep['questions']} | "
            f"{acc['base']:.2f} {acc['human']:.2f} {acc['kept']:.2f} {acc['unfiltered']:.2f} | "
            f"{ba['diff']:+.2f} [{ba['low']:+.2f}, {ba['high']:+.2f}] | {ca['diff']:+.2f} | "
            f"{run_s / 60:.1f} min, {cmp_s / 60:.1f} min"
        )
    budget, rep, _, _ = rows[-1]
    ba = rep["differences"]["kept-human"]
    kept, unfiltered = rep["accuracy"]["kept"]["mean"], rep["accuracy"]["unfiltered"]["mean"]
    ok = ba["diff"] >= 0.10 and ba["low"] > 0 and kept >= unfiltered
    print(
        f"(b) - (a) at budget {budget}: {ba['diff']:+.2f} [{ba['low']:+.2f}, {ba['high']:+.2f}] (target >= +0.10, "
        f"interval above 0), (b) {kept:.2f} vs (c) {unfiltered:.2f}: {'PASS' if ok else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
