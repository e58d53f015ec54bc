"""Commands for the workspace itself: `init`, `versions`, `lineage` (a row's ancestry) and `show` (example rows)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from tether.cli.common import WorkspaceOpt, open_workspace
from tether.errors import WorkspaceError


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
    domain: Annotated[
        Path | None,
        typer.Option(
            help="A domain folder (docs/, seeds/, ontology.yaml, heldout/) "
            "to point the config at, e.g. examples/brindlemoor."
        ),
    ] = None,
    project: Annotated[str | None, typer.Option(help="Project name (default: the folder name).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing tether.yaml.")] = False,
) -> None:
    """Create a workspace: tether.yaml plus the .tether/ store."""
    from tether.cli.render.console import console
    from tether.config import render_default_config
    from tether.workspace.store import Workspace

    if domain is not None and not (domain / "ontology.yaml").is_file():
        raise WorkspaceError(f"--domain {domain}: expected {domain / 'ontology.yaml'} (and docs/, seeds/)")
    text = render_default_config(project or directory.resolve().name, domain, directory)
    ws = Workspace.init(directory, text, force=force)
    console.print(f"[green]initialised[/] {ws.root} (edit {ws.root / 'tether.yaml'}; next: tether ingest -w {ws.root})")


def versions(workspace: WorkspaceOpt = Path(".")) -> None:
    """List dataset versions with their counts."""
    from tether.cli.render.console import console
    from tether.cli.render.workspace import versions_table

    ws = open_workspace(workspace)
    mans = ws.versions()
    if not mans:
        console.print("no versions yet (run `tether ingest`)")
    else:
        versions_table(mans)
    ws.close()


def lineage(
    row_id: Annotated[str, typer.Argument(help="Row, chunk or document id (a unique prefix is enough).")],
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the chain as JSON.")] = False,
) -> None:
    """Print the chain from a row back to its human seed(s), source chunk and document."""
    from dataclasses import asdict

    from tether.cli.render.console import console
    from tether.cli.render.workspace import lineage_tree

    ws = open_workspace(workspace)
    hits = ws.lineage.find(row_id)
    if not hits:
        raise WorkspaceError(f"no row, chunk or document with id '{row_id}' in {ws.root}")
    if len(hits) > 1:
        raise WorkspaceError(f"id prefix '{row_id}' is ambiguous ({', '.join(h.id[:16] for h in hits)}…)")
    steps = ws.lineage.ancestry(hits[0].id)
    mixes = ws.lineage.mixes_of(hits[0].id)
    if as_json:
        out = {"chain": [asdict(s) for s in steps], "mixes": [{"mix": m, "generation": g} for m, g in mixes]}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        lineage_tree(steps)
        if mixes:
            console.print("in training sets: " + ", ".join(f"generation {g} (mix {m[:12]})" for m, g in mixes))
        if not any(s.node.type == "document" for s in steps):
            console.print("[yellow]this chain reaches no document[/] (the seed named no source and none matched)")
    ws.close()


def show(
    workspace: WorkspaceOpt = Path("."),
    dropped: Annotated[
        str | None, typer.Option(help="Reason (e.g. ungrounded) or filter:reason; 'all' for any.")
    ] = None,
    version: Annotated[str, typer.Option(help="Version id or prefix.")] = "head",
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 5,
) -> None:
    """Show example rows: kept ones, or those dropped for a reason."""
    import numpy as np
    import pyarrow.compute as pc

    from tether.cli.render.workspace import show_rows
    from tether.records import dropped_mask, kept_mask, table_to_records
    from tether.text.pages import source_label

    ws = open_workspace(workspace)
    table = ws.read_table(ws.manifest(version), "records")  # Arrow; only the rows printed become Records
    synthetic = pc.equal(table.column("origin"), "synthetic").to_numpy(zero_copy_only=False)
    match = kept_mask(table) if dropped is None else dropped_mask(table, dropped)
    idx = np.flatnonzero(synthetic & match)
    rows = table_to_records(table.take(idx[:limit]))
    docs = {d.doc_id: d for d in ws.documents(ws.manifest(version))} if any(r.source for r in rows) else {}
    show_rows(rows, limit, dropped, total=len(idx), sources={r.id: source_label(r.source, docs) for r in rows})
    ws.close()
