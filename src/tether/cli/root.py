"""The `tether` Typer app: every command module's commands, registered in the order `tether --help` lists them,
the `--version` option, and `main()` (the console script), which turns a `TetherError` into one line on stderr and
its exit code."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tether import __version__
from tether.cli import filters, generate, measure, mix, probe, run, seeds, train, workspace
from tether.errors import TetherError

app = typer.Typer(
    help="tether: synthetic training data for domain LLM fine-tuning, with provenance and fact checks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

app.command()(workspace.init)
app.command()(seeds.ingest)
app.command()(seeds.audit)
app.command()(workspace.versions)
app.command()(workspace.lineage)
app.command()(generate.plan)
app.command()(generate.generate)
app.command("filter")(filters.filter_)
app.command("import")(generate.import_)
app.command()(workspace.show)
app.add_typer(generate.teacher_app, name="teacher")
app.add_typer(filters.judge_app, name="judge")
app.command()(measure.report)
app.command()(measure.measure)
app.command()(measure.diff)
app.command()(measure.fill)
app.add_typer(measure.ontology_app, name="ontology")
app.command()(mix.mix)
app.command()(mix.mixes)
app.command()(mix.export)
app.command()(train.train)
app.command("eval")(train.eval_)
app.command()(train.compare)
app.command()(probe.probe)
app.command()(probe.improve)
app.command("run")(run.run)


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
        from tether.cli.render.console import err_console

        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
