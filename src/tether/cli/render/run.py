"""Rendering for `tether run`: each stage as it starts or is skipped, the report's path, and the dry run's plan."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from tether.cli.render.console import console
from tether.cli.render.generate import plan_report
from tether.run.plan import DryRun
from tether.run.state import StageRecord


def _label(position: int, total: int, name: str) -> str:
    return f"[bold cyan][{position}/{total}] {name}[/]"


def stage_skipped(position: int, total: int, name: str, done: StageRecord) -> None:
    label = _label(position, total, name)
    console.print(f"{label} [dim]skipped: unchanged since {done.finished_at} (output {done.output[:12]})[/]")


def stage_started(position: int, total: int, name: str) -> None:
    console.rule(_label(position, total, name))


def report_written(path: Path) -> None:
    console.rule("[bold cyan]report[/]")
    console.print(f"report: {path}")


def dry_run_report(plan: DryRun) -> None:
    if plan.ingested:
        console.print(f"[dim]ingested to count seeds and chunks (no model call): version {plan.ingested[:12]}[/]")
    t = Table(title="tether run --dry-run: the plan (nothing is spent)")
    for col in ("stage", "state", "forecast"):
        t.add_column(col)
    for s in plan.stages:
        t.add_row(s.stage, s.state, s.forecast)
    console.print(t)
    if plan.prep is not None:
        plan_report(plan.prep)
