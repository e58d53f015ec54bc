"""Commands for training sets: `mix`, `mixes`, `export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tether.cli.common import WorkspaceOpt, open_workspace


def mix(
    generation: Annotated[int, typer.Option("--generation", "-g", help="Training generation to assemble.")] = 1,
    workspace: WorkspaceOpt = Path("."),
    mode: Annotated[
        str | None, typer.Option(help="accumulate (default) | replace (collapse experiments only).")
    ] = None,
    ceiling: Annotated[
        float | None, typer.Option(help="Maximum synthetic share for this mix (default: mix.ceiling).")
    ] = None,
    no_ceiling: Annotated[bool, typer.Option("--no-ceiling", help="No synthetic ceiling for this mix.")] = False,
    version: Annotated[str, typer.Option(help="Dataset version to draw rows from.")] = "head",
    reset_holdout: Annotated[
        bool, typer.Option("--reset-holdout", help="Choose the holdout again (ends comparability across generations).")
    ] = False,
    out: Annotated[Path | None, typer.Option("--export", help="Also export the mix into this folder.")] = None,
) -> None:
    """Assemble generation G's training set: human anchor + kept synthetic rows, leak-checked, under the ceiling."""
    from tether.cli.render.console import console
    from tether.cli.render.mix import export_report, mix_report
    from tether.errors import ConfigError
    from tether.mix.assemble import MODES
    from tether.mix.mixer import build_mix

    if mode is not None and mode not in MODES:
        raise ConfigError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    if no_ceiling and ceiling is not None:
        raise ConfigError("give --ceiling or --no-ceiling, not both")
    cap: float | str | None = None if no_ceiling else ("config" if ceiling is None else ceiling)
    ws = open_workspace(workspace)
    with console.status("mixing (holdout, leakage check, ceiling)…"):
        res = build_mix(ws, generation, mode=mode, ceiling=cap, version=version, reset_holdout=reset_holdout)  # type: ignore[arg-type]
    mix_report(res)
    if out is not None:
        from tether.mix.export_mix import export_mix

        export_report(export_mix(ws, res.manifest, out))
    else:
        console.print(f"next: tether export -w {ws.root} --out DIR   (or tether train)")
    ws.close()


def mixes(workspace: WorkspaceOpt = Path(".")) -> None:
    """List the stored training sets: generation, mode, rows, AI share, anchor, leaks removed, ceiling drops."""
    from tether.cli.render.mix import mixes_table
    from tether.mix.store import list_mixes

    ws = open_workspace(workspace)
    mixes_table(list_mixes(ws))
    ws.close()


def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files into.")],
    mix_id: Annotated[str, typer.Argument(help="Mix id or prefix (default: the latest).")] = "latest",
    workspace: WorkspaceOpt = Path("."),
    generation: Annotated[int | None, typer.Option("--generation", "-g", help="The latest mix of G.")] = None,
    formats: Annotated[
        str, typer.Option("--format", "-f", help="Comma-separated: parquet, openai, sharegpt, alpaca.")
    ] = "parquet,openai,sharegpt,alpaca",
    system: Annotated[str | None, typer.Option(help="System prompt put before every conversation.")] = None,
) -> None:
    """Export a mix as Parquet (datasets), OpenAI chat JSONL, ShareGPT and Alpaca JSON, with its data card."""
    from tether.cli.render.mix import export_report
    from tether.mix.export_mix import export_mix
    from tether.mix.store import resolve_mix

    ws = open_workspace(workspace)
    man = resolve_mix(ws, mix_id, generation)
    fmts = [f.strip() for f in formats.split(",") if f.strip()]
    export_report(export_mix(ws, man, out, fmts, system))
    ws.close()
