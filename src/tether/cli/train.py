"""Commands for students: `train`, `eval`, `compare`; training deps load only when used."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tether.cli.common import WorkspaceOpt, open_workspace
from tether.errors import TetherError


def train(
    workspace: WorkspaceOpt = Path("."),
    generation: Annotated[int | None, typer.Option("--generation", "-g", help="Train on the latest mix of G.")] = None,
    mix_id: Annotated[str, typer.Option("--mix", help="Mix id or prefix (default: the latest).")] = "latest",
    max_steps: Annotated[int | None, typer.Option(help="Optimizer steps (default: train.max_steps / epochs).")] = None,
) -> None:
    """LoRA SFT of the student on a mix, validated on the real-only holdout; the adapter is saved with its mix id."""
    from tether.cli.render.console import console
    from tether.cli.render.train import train_progress, train_report
    from tether.mix.store import mix_rows, resolve_mix
    from tether.seeds.holdout import VALIDATION, fixed_holdout
    from tether.train.sft import students_dir, train_student

    ws = open_workspace(workspace)
    man = resolve_mix(ws, mix_id, generation)
    cfg = ws.config.train
    if max_steps is not None:
        cfg = cfg.model_copy(update={"max_steps": max_steps})
    rows = mix_rows(ws, man)
    validation = fixed_holdout(ws).part(VALIDATION)
    console.print(
        f"training on mix {man.id[:12]} (generation {man.generation}): {len(rows)} rows, "
        f"{len(validation)} validation rows (real only)"
    )
    with train_progress() as on_progress:
        res = train_student(
            rows, validation, cfg, students_dir(ws.store), mix_id=man.id, generation=man.generation,
            on_progress=on_progress,
        )  # fmt: skip
    train_report(res)
    console.print(f"next: tether eval --student {res.meta['id'][:12]} -w {ws.root}")
    ws.close()


def eval_(
    workspace: WorkspaceOpt = Path("."),
    student: Annotated[str | None, typer.Option(help="A trained student (id prefix, or 'latest').")] = None,
    base: Annotated[bool, typer.Option("--base", help="The untrained base student (train.student).")] = False,
    teacher: Annotated[bool, typer.Option("--teacher", help="The configured teacher (embedded or endpoint).")] = False,
    base_url: Annotated[str | None, typer.Option(help="Any OpenAI-compatible endpoint, e.g. vLLM.")] = None,
    model: Annotated[str | None, typer.Option(help="The endpoint's model name (with --base-url).")] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Accuracy and perplexity by generation, with flags.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Evaluate again even if a stored result exists.")] = False,
) -> None:
    """Factual accuracy on the held-out questions (exact / contains / F1, edge vs typical, per concept), perplexity."""
    from tether.cli.render.train import eval_progress, eval_report, history_report
    from tether.evaluate.runner import Target
    from tether.evaluate.stage import eval_rows, history_points, run_eval

    ws = open_workspace(workspace)
    cfg = ws.config
    if history:
        from tether.evaluate.monitor import collapse_flags

        points = history_points(ws)
        history_report(points, collapse_flags(points, cfg.eval.collapse.acc_drop, cfg.eval.collapse.ppl_band))
        ws.close()
        return
    chosen = sum([student is not None, base, teacher, base_url is not None])
    if chosen != 1:
        raise TetherError("say what to evaluate: one of --student ID, --base, --teacher, --base-url URL --model NAME")
    from tether.seeds.holdout import fixed_holdout

    n = len(eval_rows(fixed_holdout(ws)))
    with eval_progress(n) as on_done:
        if teacher or base_url:
            endpoint = cfg.teacher
            if base_url:
                if not model:
                    raise TetherError("--base-url needs --model (the endpoint's model name)")
                endpoint = cfg.teacher.model_copy(update={"base_url": base_url, "model": model})
            target = Target("endpoint", endpoint.model, label="teacher" if teacher else base_url or "")
            res = run_eval(ws, target, endpoint=endpoint, on_done=on_done, force=force)
        elif base:
            from tether.train.student import resolve_student

            base_dir, sid = resolve_student(cfg.train.student)
            res = run_eval(ws, Target("base", sid, label="base", generation=0), base_dir=base_dir, on_done=on_done,
                           force=force)  # fmt: skip
        else:
            from tether.evaluate.runner import student_target
            from tether.train.sft import find_student, students_dir

            target, base_dir, adapter_dir = student_target(find_student(ws.store, student or "latest"),
                                                           students_dir(ws.store))  # fmt: skip
            res = run_eval(ws, target, base_dir=base_dir, adapter_dir=adapter_dir, on_done=on_done, force=force)
    eval_report(res)
    ws.close()


def compare(
    workspace: WorkspaceOpt = Path("."),
    generation: Annotated[
        int | None, typer.Option("--generation", "-g", help="Compare on the latest mix of G.")
    ] = None,
    steps: Annotated[
        int | None, typer.Option(help="Optimizer steps per student (default: eval.compare_steps).")
    ] = None,
) -> None:
    """Did the synthetic data help? Students on human rows, human + kept, human + all unfiltered; same steps, seed."""
    from tether.cli.render.console import console
    from tether.cli.render.train import compare_report, train_progress
    from tether.evaluate.compare import run_compare

    ws = open_workspace(workspace)
    with train_progress() as on_progress:
        rep = run_compare(ws, generation, steps, on_stage=lambda s: console.print(f"[bold]·[/] {s}"),
                          on_progress=on_progress)  # fmt: skip
    compare_report(rep)
    ws.close()
