"""What does the student need to learn a fact from its training rows? Training settings against held-out accuracy.

`tether compare` answers "did the data help?" for one training recipe. This bench asks the question under it:
given one training set (an arm of the comparison: `human` or `kept`), which recipe makes the student state
held-out answers? Each variant overrides `train.*` keys (learning rate, LoRA rank and modules, steps, full
fine-tune), trains from the same student and seed, and is evaluated on the same held-out questions. Beside
accuracy it prints the final training loss (a student that has not memorised its rows, loss near 3, cannot
recall them) and accuracy on the questions whose answer some training row states (the learnable ones).

Run: `python bench/student_sweep.py -w WORKSPACE [--arm kept] [--variant 'learning_rate=1e-3,steps=120' ...]`
(needs the train extra; on 2 cores about 2-4 s per step plus 2 min per evaluation).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tether.evaluate.compare import arm_rows, stated
from tether.evaluate.runner import Target
from tether.evaluate.stage import run_eval
from tether.mix.holdout import fixed_holdout
from tether.mix.store import resolve_mix
from tether.train.sft import students_dir, train_student
from tether.train.student import resolve_student
from tether.workspace.store import Workspace

ALL_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
DEFAULT_VARIANTS = [
    "learning_rate=2e-4,steps=60",  # tether compare's recipe before this bench
    "learning_rate=1e-3,steps=60",
    "learning_rate=1e-3,steps=60,modules=all,r=16",
    "learning_rate=1e-3,steps=150,modules=all,r=16",
]


def parse_variant(spec: str, base):
    """'learning_rate=1e-3,steps=120,modules=all,r=16,full=1' -> the TrainConfig."""
    upd, lora, steps = {}, {}, 60
    for part in filter(None, spec.split(",")):
        k, v = part.split("=", 1)
        if k == "steps":
            steps = int(v)
        elif k == "learning_rate":
            upd["learning_rate"] = float(v)
        elif k == "modules":
            lora["target_modules"] = ALL_MODULES if v == "all" else v.split("+")
        elif k == "r":
            lora["r"], lora["alpha"] = int(v), 2 * int(v)
        elif k == "keep":
            upd["keep"] = v
        elif k == "full":
            upd["full_finetune"] = v not in ("0", "false")
        else:
            raise SystemExit(f"unknown variant key {k!r} in {spec!r}")
    if lora:
        upd["lora"] = base.lora.model_copy(update=lora)
    upd.update(max_steps=steps, early_stopping_patience=None)
    return base.model_copy(update=upd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-w", "--workspace", type=Path, required=True)
    ap.add_argument("--arm", default="kept", choices=["human", "kept", "unfiltered"])
    ap.add_argument("--generation", type=int, default=1)
    ap.add_argument("--variant", action="append", help="comma-separated train overrides (repeatable)")
    a = ap.parse_args()
    ws = Workspace.open(a.workspace)
    mix = resolve_mix(ws, "latest", a.generation)
    rows = arm_rows(ws, mix)[a.arm]
    held = fixed_holdout(ws)
    questions = held.part("evaluation")
    learnable = {q.question() for q, known in zip(questions, stated(rows, questions), strict=True) if known}
    base_dir, student_id = resolve_student(ws.config.train.student)
    print(f"arm {a.arm}: {len(rows)} rows; {len(learnable)} of {len(questions)} held-out answers stated in them")
    out = []
    for spec in a.variant or DEFAULT_VARIANTS:
        cfg = parse_variant(spec, ws.config.train)
        t0 = time.monotonic()
        run = train_student(
            rows, held.part("validation"), cfg, students_dir(ws.store), mix_id=f"{mix.id}:{a.arm}",
            generation=mix.generation, label=f"sweep:{a.arm}:{spec}",
        )  # fmt: skip
        target = Target("adapter", student_id, adapter=run.meta["id"], label=f"sweep:{spec}")
        res = run_eval(ws, target, base_dir=base_dir, adapter_dir=run.dir)
        items = res["items"]
        acc = sum(it["scores"]["contains"] for it in items) / len(items)
        hit = [it["scores"]["contains"] for it in items if it["question"] in learnable]
        evals = run.meta["eval_history"]
        out.append((spec, run.meta, acc, sum(hit), len(hit), evals, time.monotonic() - t0))
        print(
            f"{spec}: accuracy {acc:.2f}, learnable {sum(hit):.0f}/{len(hit)}, "
            f"mean train loss {run.meta['train_loss']:.2f}, "
            f"validation {evals[0]['eval_loss'] if evals else float('nan'):.2f} -> {run.meta['best_eval_loss']:.2f} "
            f"(best), kept {run.meta.get('kept', 'best')}, {time.monotonic() - t0:.0f} s",
            flush=True,
        )
    print("\nvariant | steps | mean train loss | best validation loss | accuracy | learnable recalled | seconds")
    for spec, meta, acc, hit, n, _evals, secs in out:
        print(f"{spec} | {meta['steps']} | {meta['train_loss']:.2f} | {meta['best_eval_loss']:.2f} | {acc:.2f} | "
              f"{hit:.0f}/{n} | {secs:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
