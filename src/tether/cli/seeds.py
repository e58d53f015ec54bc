"""Commands for the human side of the data: `ingest` (documents and seed examples) and `audit` (seed coverage)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tether.cli.common import WorkspaceOpt, open_workspace


def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders (md, rst, txt, html, jsonl, csv). Default: sources in tether.yaml."),
    ] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Read documents and seed examples into a new dataset version (accumulates onto the latest)."""
    from tether.cli.render.console import console
    from tether.cli.render.seeds import ingest_summary
    from tether.seeds.stage import run_ingest

    ws = open_workspace(workspace)
    with Progress(
        TextColumn("ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def on_file(p: Path) -> None:
            bar.update(task, advance=1, description=p.name)

        rep = run_ingest(ws, list(paths or []), on_file=on_file)
    ingest_summary(rep, str(ws.store / "runs" / f"{rep.run_id}.jsonl"))
    ws.close()


def audit(
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[str, typer.Option(help="Version id or prefix.")] = "head",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Seed coverage against the ontology: concepts with 0, 1-2 and 3+ seeds, and documents covering the gaps."""
    from tether.cli.render.console import console
    from tether.cli.render.seeds import audit_table, no_ontology
    from tether.measure.context import best_matcher
    from tether.seeds.audit_stage import run_audit

    ws = open_workspace(workspace)
    res = run_audit(ws, version, best_matcher)
    if res.report is None:
        no_ontology(res, ws.root)
        ws.close()
        return
    if res.matcher_note:
        console.print(f"[yellow]{res.matcher_note}[/]")
    if as_json:
        sys.stdout.write(res.report.model_dump_json(indent=2) + "\n")
    else:
        audit_table(res.report)
        console.print(f"[dim]report saved to {res.path}[/]")
    ws.close()
