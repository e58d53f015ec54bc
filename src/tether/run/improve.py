"""`tether improve`: the closed loop on the student's mistakes, like `fill` is on concept gaps.

Each round: probe the latest student on its training rows (`evaluate/probe.py`), spend the round's budget on the
facts it missed (`run/mistakes.py`), filter, mix the next training generation (accumulating over the anchor),
train a student on it and probe again. The probe questions stay those of the first round's mix, so rounds are
compared on the same facts. It stops when the probe accuracy stops rising (the new rows did not teach what the
old ones missed: more of the same would not either), when the student knows every probed fact, or after `rounds`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tether.evaluate.probe import run_probe
from tether.evaluate.runner import student_target
from tether.filters.stage import run_filters
from tether.mix.mixer import build_mix
from tether.mix.store import MixManifest, mix_rows, resolve_mix
from tether.run.mistakes import generate_for_mistakes
from tether.seeds.holdout import VALIDATION, fixed_holdout
from tether.train.sft import find_student, students_dir, train_student
from tether.workspace.store import Workspace


@dataclass
class ImproveRound:
    round: int
    generation: int  # the training generation this round's rows entered
    calls: int  # teacher calls for generation (filters' calls not counted)
    rows: int  # rows generated
    mix_rows: int
    student: str
    probe_known: int
    probe_n: int


@dataclass
class ImproveReport:
    start_known: int
    probe_n: int
    stopped: str  # all_known | no_gain | rounds
    rounds: list[ImproveRound] = field(default_factory=list)


def _probe(ws: Workspace, meta: dict, rows: list, mix: MixManifest, limit: int) -> dict:
    target, base_dir, adapter_dir = student_target(meta, students_dir(ws.store))
    return run_probe(ws, target, rows, mix.id, limit=limit, base_dir=base_dir, adapter_dir=adapter_dir)


def improve(
    ws: Workspace,
    budget: int,
    rounds: int,
    steps: int | None = None,
    *,
    student_dir: Path | None = None,
    on_round: Callable[[str, dict], None] | None = None,
) -> ImproveReport:
    """Run the loop with `budget` teacher calls for generation per round; `steps`: optimizer steps of each
    student (default: train.max_steps). `on_round(stage, info)` as each step of a round finishes."""
    cfg = ws.config
    tcfg = cfg.train if steps is None else cfg.train.model_copy(update={"max_steps": steps})
    meta = find_student(ws.store)  # the latest `tether train` run
    first = resolve_mix(ws, meta["mix"])
    probe_rows = mix_rows(ws, first)
    probe = _probe(ws, meta, probe_rows, first, cfg.eval.probe)
    start = probe["summary"]["known"]
    report = ImproveReport(start_known=start, probe_n=probe["summary"]["n"], stopped="rounds")
    if on_round:
        on_round("probe", probe["summary"])
    known, generation = start, first.generation
    for rnd in range(1, rounds + 1):
        if known >= probe["summary"]["n"]:
            report.stopped = "all_known"
            break
        generation += 1
        gen = generate_for_mistakes(ws, budget, generation)
        run_filters(ws)
        mixed = build_mix(ws, generation)
        if on_round:
            on_round("mix", {"generation": generation, "rows": len(mixed.train), "generated": len(gen.rows)})
        validation = fixed_holdout(ws).part(VALIDATION)
        trained = train_student(mixed.train, validation, tcfg, students_dir(ws.store), mix_id=mixed.manifest.id,
                                generation=generation, student_dir=student_dir)  # fmt: skip
        probe = _probe(ws, trained.meta, probe_rows, first, cfg.eval.probe)
        now = probe["summary"]["known"]
        calls, n = gen.usage.get("calls", 0), probe["summary"]["n"]
        row = ImproveRound(rnd, generation, calls, len(gen.rows), len(mixed.train), trained.meta["id"], now, n)
        report.rounds.append(row)
        if on_round:
            on_round("probe", probe["summary"])
        if now <= known:
            report.stopped = "no_gain"
            break
        known = now
    return report
