"""What every command module shares: the `--workspace` and `--budget` options, and opening a workspace with its
config checked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder (made by `tether init`).")]
BudgetOpt = Annotated[int, typer.Option("--budget", "-b", help="Teacher calls to spend (cache hits are free).")]


def open_workspace(workspace: Path):
    from tether.workspace.store import Workspace

    ws = Workspace.open(workspace)
    ws.config  # noqa: B018 - fail early, with the one-line config error, before any work
    return ws
