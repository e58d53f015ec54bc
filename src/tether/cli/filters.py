"""Commands for the quality filters: `filter` (the funnel) and `judge calibrate` (what each filter may decide)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tether.cli.common import WorkspaceOpt, open_workspace


def filter_(
    workspace: WorkspaceOpt = Path("."),
    engine: Annotated[
        str,
        typer.Option(help="local, or ray: row filters, MinHash and embeddings on Ray Data (pip install -e '.[ray]')."),
    ] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: a local one).")] = None,
) -> None:
    """Run the quality filters in order; prints the funnel (rows in, dropped per filter and reason, rows out).
    Rows stream through in Parquet batches, so the set's size is bounded by disk, not memory."""
    from tether.cli.render.console import console
    from tether.cli.render.filters import calibration_report, funnel_step, funnel_table, funnel_trust, rows_progress
    from tether.cli.render.teacher import teacher_progress
    from tether.filters.stage import run_filters
    from tether.run.engines import open_engine

    chosen = open_engine(engine, address)
    ws = open_workspace(workspace)

    def calibrated(rep) -> None:
        console.print("[bold]The judge has no calibration yet: measured it on planted rows first[/]")
        calibration_report(rep, ws.config.filters.calibration, ws.config.filters.judge)

    rep = run_filters(
        ws,
        on_step=funnel_step,
        progress=lambda client, n, name: teacher_progress(client, n, name, console),
        on_trust=funnel_trust,
        on_calibrated=calibrated,
        engine=chosen,
        rows_progress=rows_progress,
    )
    funnel_table(rep, str(ws.store / "runs"))
    ws.close()


judge_app = typer.Typer(help="The LLM judge used by `tether filter`.")


@judge_app.command("calibrate")
def judge_calibrate(
    workspace: WorkspaceOpt = Path("."),
    labels: Annotated[Path | None, typer.Option(help="jsonl with question, answer, label (good/bad).")] = None,
) -> None:
    """Score planted true and false rows (built from the seeds) with every filter: TPR, FPR and AUC per filter.

    The results decide what grounding and the judge may do in `tether filter` (veto only, or also rescue)."""
    import asyncio

    from tether.cli.render.console import console
    from tether.cli.render.filters import calibration_report
    from tether.cli.render.teacher import teacher_progress
    from tether.filters.calibration import calibrate

    ws = open_workspace(workspace)
    rep = asyncio.run(
        calibrate(ws, labels, progress=lambda client, n, name: teacher_progress(client, n, name, console))
    )
    calibration_report(rep, ws.config.filters.calibration, ws.config.filters.judge)
    ws.close()
