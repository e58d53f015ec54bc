"""`tether run`: the configured pipeline end to end (`tether.run.pipeline`), each stage shown as it runs.

Each stage is the command a user would type (same code, same output): this module hands those commands to the
pipeline as its runners, and renders what the pipeline reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tether.cli.common import WorkspaceOpt, open_workspace


def _runners(engine: str, address: str | None):
    """The commands that run each stage, with this run's engine for the teacher stages."""
    from tether.cli import filters, generate, measure, mix, seeds, train
    from tether.run.pipeline import Runners

    return Runners(
        ingest=lambda root: seeds.ingest(paths=None, workspace=root),
        audit=lambda root: seeds.audit(workspace=root),
        generate=lambda root, budget, generation: generate.generate(
            budget=budget, workspace=root, generation=generation, engine=engine, address=address
        ),
        filter=lambda root: filters.filter_(workspace=root, engine=engine, address=address),
        measure=lambda root: measure.measure(workspace=root),
        fill=lambda root, generation: measure.fill(workspace=root, generation=generation),
        mix=lambda root, generation: mix.mix(generation=generation, workspace=root),
        train=lambda root, generation: train.train(workspace=root, generation=generation),
        eval_base=lambda root: train.eval_(workspace=root, base=True),
        eval_student=lambda root: train.eval_(workspace=root, student="latest"),
    )


def run(
    workspace: WorkspaceOpt = Path("."),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and forecast; spend nothing.")] = False,
    from_stage: Annotated[str | None, typer.Option("--from", help="Re-run this stage and all after it.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Stop after this stage.")] = None,
    train: Annotated[
        bool, typer.Option("--train", help="Also train and evaluate a student (run.train / run.eval for this run).")
    ] = False,
    engine: Annotated[str, typer.Option(help="local, or ray: teacher stages on Ray Data actors.")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: a local one).")] = None,
) -> None:
    """The configured pipeline end to end; finished stages are skipped, a crashed run resumes from its cache."""
    from tether.cli.render.run import report_written, stage_skipped, stage_started
    from tether.run.pipeline import check_bounds, enabled_stages, run_stages

    check_bounds(from_stage, until)
    ws = open_workspace(workspace)
    todo = enabled_stages(ws.config, _runners(engine, address), train)
    if dry_run:
        from tether.cli.render.run import dry_run_report
        from tether.run.plan import forecast

        dry_run_report(forecast(ws, todo))
        ws.close()
        return
    run_stages(ws, todo, from_stage, until, on_skip=stage_skipped, on_start=stage_started, on_report=report_written)
