"""The `tether` command line: parse arguments, call the stage, render the result. No logic lives here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tether import __version__
from tether.cli_common import WorkspaceOpt, open_workspace
from tether.errors import TetherError, WorkspaceError

app = typer.Typer(
    help="tether: synthetic training data for domain LLM fine-tuning, with provenance and fact checks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
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
    from tether.config import render_default_config
    from tether.console import console
    from tether.workspace.store import Workspace

    if domain is not None and not (domain / "ontology.yaml").is_file():
        raise WorkspaceError(f"--domain {domain}: expected {domain / 'ontology.yaml'} (and docs/, seeds/)")
    text = render_default_config(project or directory.resolve().name, domain, directory)
    ws = Workspace.init(directory, text, force=force)
    console.print(f"[green]initialised[/] {ws.root} (edit {ws.root / 'tether.yaml'}; next: tether ingest -w {ws.root})")


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders (md, rst, txt, html, jsonl, csv). Default: sources in tether.yaml."),
    ] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Read documents and seed examples into a new dataset version (accumulates onto the latest)."""
    from tether.console import console, ingest_summary
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


@app.command()
def audit(
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[str, typer.Option(help="Version id or prefix.")] = "head",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Seed coverage against the ontology: concepts with 0, 1-2 and 3+ seeds, and documents covering the gaps."""
    from tether.console import audit_table, console
    from tether.measure.context import best_matcher
    from tether.seeds.audit import audit as run_audit
    from tether.seeds.audit import load_heldout
    from tether.seeds.ontology import load_ontology

    ws = open_workspace(workspace)
    cfg = ws.config
    man = ws.manifest(version)
    records = ws.records(man)
    if cfg.ontology is None:
        console.print(
            f"[yellow]no ontology configured[/]: {sum(r.origin == 'human' for r in records)} seeds, "
            f"{len(ws.chunks(man))} chunks. Draft one from the documents with "
            f"`tether ontology suggest -w {ws.root}` (writes ontology.yaml and sets `ontology:` in tether.yaml), "
            "edit it, then run the audit again."
        )
        ws.close()
        return
    onto = load_ontology(cfg.ontology)
    heldout = load_heldout(cfg.heldout) if cfg.heldout else None
    chunks = ws.chunks(man)
    matcher, why = best_matcher(ws, onto, chunks)
    if why:
        console.print(f"[yellow]{why}[/]")
    rep = run_audit(
        man.id,
        onto,
        matcher,
        [r for r in records if r.origin == "human"],
        chunks,
        ws.documents(man),
        cfg.audit.well_covered,
        heldout,
        synthetic=[r for r in records if r.origin == "synthetic"],
        thin=cfg.measure.concepts.thin,
    )
    out = ws.store / "reports" / f"audit-{man.id}.json"
    out.write_text(rep.model_dump_json(indent=2), encoding="utf-8")
    if as_json:
        sys.stdout.write(rep.model_dump_json(indent=2) + "\n")
    else:
        audit_table(rep)
        console.print(f"[dim]report saved to {out}[/]")
    ws.close()


@app.command()
def versions(workspace: WorkspaceOpt = Path(".")) -> None:
    """List dataset versions with their counts."""
    from tether.console import console, versions_table

    ws = open_workspace(workspace)
    mans = ws.versions()
    if not mans:
        console.print("no versions yet (run `tether ingest`)")
    else:
        versions_table(mans)
    ws.close()


@app.command()
def lineage(
    row_id: Annotated[str, typer.Argument(help="Row, chunk or document id (a unique prefix is enough).")],
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the chain as JSON.")] = False,
) -> None:
    """Print the chain from a row back to its human seed(s), source chunk and document."""
    from dataclasses import asdict

    from tether.console import console, lineage_tree

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


BudgetOpt = Annotated[int, typer.Option("--budget", "-b", help="Teacher calls to spend (cache hits are free).")]


@app.command()
def plan(budget: BudgetOpt, workspace: WorkspaceOpt = Path(".")) -> None:
    """Dry-run forecast: strategy mix from the budget ratio, calls, tokens, rows, time and cost. Spends nothing."""
    from tether.console import plan_report
    from tether.generate.stage import prepare

    ws = open_workspace(workspace)
    plan_report(prepare(ws, budget))
    ws.close()


@app.command()
def generate(
    budget: BudgetOpt,
    workspace: WorkspaceOpt = Path("."),
    generation: Annotated[int, typer.Option(help="Training generation these rows enter.")] = 1,
    engine: Annotated[str, typer.Option(help="local (asyncio) or ray (Ray Data actors: pip install -e '.[ray]').")] = (
        "local"
    ),
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: a local one).")] = None,
    actors: Annotated[int, typer.Option(help="Ray engine: teacher actors (the in-flight cap is shared).")] = 2,
) -> None:
    """Generate synthetic rows with the planned strategies; writes a new version (never exceeds the budget)."""
    from tether.console import console, generate_report, plan_report
    from tether.generate.stage import prepare, run_generate
    from tether.llm.progress import teacher_progress
    from tether.run.engines import open_engine

    chosen = open_engine(engine, address, actors)
    ws = open_workspace(workspace)
    prep = prepare(ws, budget)
    plan_report(prep, brief=True)
    rep = run_generate(
        ws,
        prep,
        generation,
        progress=lambda client, n: teacher_progress(client, n, "generate", console),
        engine=chosen,
    )
    generate_report(rep, str(ws.store / "runs"))
    ws.close()


@app.command("filter")
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
    from tether.console import calibration_report, console, funnel_step, funnel_table, funnel_trust, rows_progress
    from tether.filters.stage import run_filters
    from tether.llm.progress import teacher_progress
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


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="OpenAI chat JSONL, ShareGPT/Alpaca JSON, or JSONL/CSV/Parquet with question/answer.")
    ],
    teacher: Annotated[str, typer.Option(help="The model that wrote the rows (recorded on every row).")],
    teacher_version: Annotated[str | None, typer.Option(help="Its version or revision, if known.")] = None,
    generation: Annotated[int, typer.Option(help="Training generation these rows enter.")] = 1,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Import synthetic rows made elsewhere as synthetic rows (strategy=imported), matched to chunks like seeds."""
    from tether.console import import_summary
    from tether.generate.imported import run_import

    ws = open_workspace(workspace)
    rep = run_import(ws, file, teacher, teacher_version, generation)
    import_summary(rep, str(ws.store / "runs" / f"{rep.run_id}.jsonl"))
    ws.close()


@app.command()
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

    from tether.console import show_rows
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


teacher_app = typer.Typer(help="The teacher LLM: embedded llama.cpp or any OpenAI-compatible endpoint.")
app.add_typer(teacher_app, name="teacher")


@teacher_app.command("check")
def teacher_check(
    workspace: WorkspaceOpt = Path("."),
    prompt: Annotated[str, typer.Option(help="Prompt to send.")] = "In one sentence: what is a bylaw?",
) -> None:
    """Start or reach the configured teacher, send one prompt, and show its identity, answer and speed."""
    import asyncio

    from tether.console import teacher_check_report
    from tether.llm.teacher import check_teacher

    ws = open_workspace(workspace)
    client, comp = asyncio.run(check_teacher(ws.config.teacher, ws.store / "cache.sqlite", prompt))
    teacher_check_report(client, comp)
    ws.close()


@teacher_app.command("accuracy")
def teacher_accuracy(
    workspace: WorkspaceOpt = Path("."),
    sample: Annotated[int, typer.Option(help="Seed questions to answer.")] = 20,
) -> None:
    """Answer a sample of seed questions with the teacher and score them against the human answers."""
    import asyncio

    from tether.console import accuracy_report
    from tether.generate.accuracy import estimate_teacher_accuracy
    from tether.generate.stage import gen_context

    ws = open_workspace(workspace)

    async def go():
        async with gen_context(ws) as (ctx, seeds):
            return await estimate_teacher_accuracy(ctx, seeds, sample)

    rep = asyncio.run(go())
    (ws.store / "reports" / "teacher-accuracy.json").write_text(rep.model_dump_json(indent=2))
    accuracy_report(rep)
    ws.close()


judge_app = typer.Typer(help="The LLM judge used by `tether filter`.")
app.add_typer(judge_app, name="judge")


@judge_app.command("calibrate")
def judge_calibrate(
    workspace: WorkspaceOpt = Path("."),
    labels: Annotated[Path | None, typer.Option(help="jsonl with question, answer, label (good/bad).")] = None,
) -> None:
    """Score planted true and false rows (built from the seeds) with every filter: TPR, FPR and AUC per filter.

    The results decide what grounding and the judge may do in `tether filter` (veto only, or also rescue)."""
    import asyncio

    from tether.console import calibration_report, console
    from tether.filters.calibration import calibrate
    from tether.llm.progress import teacher_progress

    ws = open_workspace(workspace)
    rep = asyncio.run(
        calibrate(ws, labels, progress=lambda client, n, name: teacher_progress(client, n, name, console))
    )
    calibration_report(rep, ws.config.filters.calibration, ws.config.filters.judge)
    ws.close()


from tether.cli_measure import register as _register_measure  # noqa: E402 - commands defined in their own module
from tether.cli_mix import register as _register_mix  # noqa: E402
from tether.cli_run import register as _register_run  # noqa: E402
from tether.cli_train import register as _register_train  # noqa: E402

_register_measure(app)
_register_mix(app)
_register_train(app)
_register_run(app)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"tether {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    pass


def main() -> None:
    try:
        app()
    except TetherError as e:
        from tether.console import err_console

        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
