"""`tether probe`: ask a trained student its own training rows back and list the facts it did not learn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tether.cli.common import WorkspaceOpt, open_workspace
from tether.errors import TetherError


def probe(
    workspace: WorkspaceOpt = Path("."),
    student: Annotated[str, typer.Option(help="A trained student (id prefix, or 'latest').")] = "latest",
    base_url: Annotated[str | None, typer.Option(help="Probe an OpenAI-compatible endpoint instead.")] = None,
    model: Annotated[str | None, typer.Option(help="The endpoint's model name (with --base-url).")] = None,
    mix_id: Annotated[
        str | None, typer.Option("--mix", help="Mix whose rows are asked (default: the student's own).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Probe questions at most (default: eval.probe).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Ask again even if a stored result exists.")] = False,
) -> None:
    """Which facts of its training rows the student does not state when asked (next: generate --target mistakes)."""
    from tether.cli.render.probe import probe_report
    from tether.cli.render.train import eval_progress
    from tether.evaluate.probe import run_probe
    from tether.evaluate.runner import Target
    from tether.mix.store import mix_rows, resolve_mix

    ws = open_workspace(workspace)
    cfg = ws.config
    n = limit or cfg.eval.probe
    if base_url is not None:
        if not model:
            raise TetherError("--base-url needs --model (the endpoint's model name)")
        man = resolve_mix(ws, mix_id or "latest")
        endpoint = cfg.teacher.model_copy(update={"base_url": base_url, "model": model})
        with eval_progress(n) as on_done:
            res = run_probe(ws, Target("endpoint", model, label=base_url), mix_rows(ws, man), man.id, limit=n,
                            endpoint=endpoint, on_done=on_done, force=force)  # fmt: skip
    else:
        from tether.evaluate.runner import student_target
        from tether.train.sft import find_student, students_dir

        meta = find_student(ws.store, student)
        man = resolve_mix(ws, mix_id or meta["mix"])
        target, base_dir, adapter_dir = student_target(meta, students_dir(ws.store))
        with eval_progress(n) as on_done:
            res = run_probe(ws, target, mix_rows(ws, man), man.id, limit=n, base_dir=base_dir, adapter_dir=adapter_dir,
                            on_done=on_done, force=force)  # fmt: skip
    probe_report(res, str(ws.root))
    ws.close()


def improve(
    budget: Annotated[int, typer.Option(help="Teacher calls for generation per round.")],
    workspace: WorkspaceOpt = Path("."),
    rounds: Annotated[int, typer.Option(help="Rounds at most (each trains a student).")] = 3,
    steps: Annotated[int | None, typer.Option(help="Optimizer steps per student (default: train.max_steps).")] = None,
) -> None:
    """Probe the latest student, generate for its mistakes, filter, mix, train, probe again; stop when it stops
    learning."""
    from tether.cli.render.probe import improve_progress, improve_report
    from tether.run.improve import improve as run_improve

    ws = open_workspace(workspace)
    improve_report(run_improve(ws, budget, rounds, steps, on_round=improve_progress))
    ws.close()
