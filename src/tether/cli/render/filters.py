"""Rendering for `filter` and `judge calibrate`: the funnel as it runs and its table, the filters' calibration."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tether.cli.render.console import console
from tether.cli.render.teacher import usage_summary


def funnel_trust(lines: list[str]) -> None:
    """The top of the funnel: what each model filter's verdicts may do, and why."""
    for line in lines:
        style = "yellow" if ("UNINFORMATIVE" in line or "uncalibrated" in line) else "dim"
        console.print(f"[{style}]{line}[/]", highlight=False)


@contextlib.contextmanager
def rows_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A bar over a funnel pass's rows (gone when the pass ends): `advance(rows)` after each batch. Off when output
    is not a terminal: a transient bar leaves only a blank line in a log."""
    with Progress(
        TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
        transient=True, disable=not console.is_terminal,
    ) as bar:  # fmt: skip
        task = bar.add_task(label, total=total)
        yield lambda rows: bar.update(task, advance=rows)


def funnel_step(step) -> None:  # step: tether.filters.stage.FunnelStep, printed as each filter finishes
    n = sum(step.dropped.values())
    console.print(f"[dim]{step.name}: {step.rows_in} in, {n} dropped, {step.rows_out} out[/]")


def funnel_table(rep, runs_dir: str) -> None:  # rep: tether.filters.stage.FilterReport
    t = Table(title=f"Filter funnel ({rep.synthetic} synthetic rows; human seeds are never filtered)")
    for col in ("stage", "rows in", "dropped", "rows out", "reasons"):
        t.add_column(col, justify="left" if col in ("stage", "reasons") else "right")
    for s in rep.steps:
        n = sum(s.dropped.values())
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(s.dropped.items(), key=lambda kv: -kv[1])) or "-"
        t.add_row(s.name, str(s.rows_in), str(n), str(s.rows_out), reasons)
    console.print(t)
    console.print(
        f"[bold]kept {rep.kept} of {rep.synthetic}[/] synthetic rows; dropped rows stay in the version with "
        f"their verdicts (`tether show --dropped REASON`; log in {runs_dir}/)"
    )
    if rep.usage:
        usage_summary(rep.usage)
    console.print(f"version {rep.version}" + ("" if rep.created else " (unchanged)"))


def calibration_report(rep, cfg, judge_cfg) -> None:  # rep: CalibrationReport, cfg: CalibrationConfig, JudgeConfig
    kinds = ", ".join(f"{k} {n}" for k, n in rep.planted.items())
    t = Table(title=f"Filters on planted rows from {rep.seeds} seeds ({kinds}); judge model {rep.judge}")
    for col in ("filter", "uses", "true kept (TPR)", "false kept (FPR)", "AUC", "false dropped, by kind", "verdict"):
        t.add_column(col, justify="right" if col in ("true kept (TPR)", "false kept (FPR)", "AUC") else "left")
    for f in rep.filters:
        state = f.state or "-"
        style = {"uninformative": "bold red", "trusted": "green", "informative": "yellow"}.get(state, "dim")
        by_kind = ", ".join(f"{k} {v:.0%}" for k, v in f.false_dropped_by_kind.items())
        t.add_row(
            f.filter,
            "model" if f.model else "rules",
            f"{f.tpr:.0%}",
            f"{f.fpr:.0%}",
            f"{f.auc:.2f}",
            by_kind,
            f"[{style}]{state}[/]",
        )
    console.print(t)
    early = [f"{f.filter} after {f.seeds}" for f in rep.filters if f.model and 0 < f.seeds < rep.seeds]
    if early:
        console.print(f"settled early (its AUC interval already fixed its state), seeds asked: {', '.join(early)}")
    j = judge_cfg
    fate = "not asked" if j.uninformative == "advisory" else "may only veto"
    console.print(
        f"AUC < {cfg.min_auc:g}: uninformative ({fate}, filters.judge.uninformative: {j.uninformative}); "
        f"AUC >= {cfg.trust_auc:g} with false kept <= {cfg.max_fpr:.0%}: trusted (may veto, and rescue rows the "
        f"evidence rejects); otherwise informative (may only veto)."
    )
    for f in rep.filters:
        if f.state == "uninformative":
            console.print(
                f"[bold red]{f.filter} is uninformative with this model[/]: its verdicts barely separate true from "
                f"false rows, so `tether filter` {'does not ask it' if fate == 'not asked' else 'lets it veto only'}; "
                f"a stronger model as filters.judge.endpoint would be calibrated on its own."
            )
