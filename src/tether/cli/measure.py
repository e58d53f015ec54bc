"""Commands for diversity and coverage: `measure`, `diff`, `fill`, `ontology suggest`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from tether.cli.common import WorkspaceOpt, open_workspace
from tether.errors import TetherError


def measure(
    version: Annotated[str, typer.Argument(help="Version id or prefix.")] = "head",
    workspace: WorkspaceOpt = Path("."),
    no_map: Annotated[bool, typer.Option("--no-map", help="Skip the 2-D map PNG.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the measurement as JSON.")] = False,
) -> None:
    """Diversity (DCScore, Vendi, distinct-n), embedding and concept coverage of a version; stored in its manifest."""
    from tether.cli.render.console import console
    from tether.cli.render.measure import measurement_report
    from tether.measure.stage import measure_version

    ws = open_workspace(workspace)
    with console.status("measuring…") as status:
        m = measure_version(ws, version, draw_map=not no_map, note=lambda s: status.update(s))
    if as_json:
        sys.stdout.write(m.model_dump_json(indent=2) + "\n")
    else:
        measurement_report(m)
    ws.close()


def diff(
    v1: Annotated[str, typer.Argument(help="The earlier version (id or prefix).")],
    v2: Annotated[str, typer.Argument(help="The later version.")] = "head",
    workspace: WorkspaceOpt = Path("."),
    show_all: Annotated[bool, typer.Option("--all", help="Also list unchanged metrics.")] = False,
) -> None:
    """Deltas of metrics and counts between two versions (unmeasured versions are measured first)."""
    from tether.cli.render.console import console
    from tether.cli.render.measure import diff_report
    from tether.measure.stage import diff as run_diff

    ws = open_workspace(workspace)
    with console.status("measuring…"):
        a, b, deltas = run_diff(ws, v1, v2)
    diff_report(a, b, deltas, show_all)
    ws.close()


def fill(
    workspace: WorkspaceOpt = Path("."),
    per_concept: Annotated[int | None, typer.Option(help="Rows every concept should reach (fill.per_concept).")] = None,
    budget: Annotated[int | None, typer.Option("--budget", "-b", help="Teacher calls for the whole loop.")] = None,
    rounds: Annotated[int | None, typer.Option(help="Rounds at most (fill.rounds).")] = None,
    generation: Annotated[int, typer.Option(help="Training generation these rows enter.")] = 1,
) -> None:
    """Generate new questions aimed at uncovered and thin concepts, filter, re-measure; until every concept has
    enough kept rows or the budget is spent. Says why a concept stays thin."""
    from tether.cli.render.console import console
    from tether.cli.render.measure import fill_filtered, fill_report, fill_round
    from tether.cli.render.teacher import teacher_progress
    from tether.run.fill import run_fill

    ws = open_workspace(workspace)

    def progress(client, n, name="fill"):
        return teacher_progress(client, n, name, console)

    rep = run_fill(
        ws, per_concept, budget, rounds, generation, progress=progress, on_round=fill_round, on_filter=fill_filtered
    )
    fill_report(rep)
    (ws.store / "reports" / "fill-latest.json").write_text(rep.model_dump_json(indent=2), encoding="utf-8")
    ws.close()


ontology_app = typer.Typer(help="The domain ontology: concepts the dataset must cover.")


@ontology_app.command("suggest")
def ontology_suggest(
    workspace: WorkspaceOpt = Path("."),
    k: Annotated[int | None, typer.Option(help="Number of concepts (default: chosen by silhouette).")] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write it (default: <workspace>/ontology.yaml).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Draft an ontology from the ingested documents: clusters of chunk embeddings, named from their headings and
    distinctive terms. Written for you to edit; set as `ontology:` in tether.yaml when none is configured."""
    from tether.cli.render.console import console
    from tether.cli.render.measure import suggestion_report
    from tether.config import CONFIG_NAME, set_null_path
    from tether.embed.embedder import workspace_embedder
    from tether.measure.suggest import suggest_ontology, write_ontology_yaml

    ws = open_workspace(workspace)
    head = ws.head()
    if head is None:
        raise TetherError(f"{ws.root} has no versions yet: run `tether ingest` with your documents first")
    path = out or ws.root / "ontology.yaml"
    if path.exists() and not force:
        raise TetherError(f"{path} exists: pass --force to overwrite it, or --out to write elsewhere")
    with console.status("clustering chunks…"):
        sug = suggest_ontology(ws.chunks(head), ws.documents(head), workspace_embedder(ws), k=k)
    write_ontology_yaml(sug, path, force=True)
    suggestion_report(sug, path)
    if ws.config.ontology is None and set_null_path(ws.root / CONFIG_NAME, "ontology", path):
        ws.reload_config()
        console.print(f"set `ontology: {os.path.relpath(path.resolve(), ws.root.resolve())}` in tether.yaml")
    console.print(f"next: edit {path}, then tether audit -w {ws.root}")
    ws.close()


def report(
    version: Annotated[str, typer.Argument(help="Version id or prefix.")] = "head",
    workspace: WorkspaceOpt = Path("."),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="HTML file to write.")] = None,
) -> None:
    """One self-contained HTML report: funnel, provenance, coverage, diversity, budget, judge, students."""
    from tether.cli.render.console import console
    from tether.report import write_report

    ws = open_workspace(workspace)
    path = write_report(ws, version, out)
    console.print(f"report: {path} (one file, opens offline)")
    ws.close()
