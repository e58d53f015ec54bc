"""Commands for synthetic rows and their teacher: `plan`, `generate`, `import`, `teacher check`, `teacher accuracy`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tether.cli.common import BudgetOpt, WorkspaceOpt, open_workspace
from tether.errors import TetherError


def plan(budget: BudgetOpt, workspace: WorkspaceOpt = Path(".")) -> None:
    """Dry-run forecast: strategy mix from the budget ratio, calls, tokens, rows, time and cost. Spends nothing."""
    from tether.cli.render.generate import plan_report
    from tether.generate.stage import prepare

    ws = open_workspace(workspace)
    plan_report(prepare(ws, budget))
    ws.close()


def generate(
    budget: BudgetOpt,
    workspace: WorkspaceOpt = Path("."),
    generation: Annotated[int, typer.Option(help="Training generation these rows enter.")] = 1,
    engine: Annotated[str, typer.Option(help="local (asyncio) or ray (Ray Data actors: pip install -e '.[ray]').")] = (
        "local"
    ),
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: a local one).")] = None,
    actors: Annotated[int, typer.Option(help="Ray engine: teacher actors (the in-flight cap is shared).")] = 2,
    target: Annotated[
        str,
        typer.Option(
            help="plan: the planner's strategy mix | mistakes: paraphrases and new questions for the facts the "
            "latest `tether probe` found the student missing."
        ),
    ] = "plan",
) -> None:
    """Generate synthetic rows with the planned strategies; writes a new version (never exceeds the budget)."""
    from tether.cli.render.console import console
    from tether.cli.render.generate import generate_report, plan_report
    from tether.cli.render.teacher import teacher_progress
    from tether.generate.stage import prepare, run_generate
    from tether.run.engines import open_engine

    if target not in ("plan", "mistakes"):
        raise TetherError(f"--target {target!r}: use plan (the planner's mix) or mistakes (after `tether probe`)")
    if target == "mistakes":
        from tether.cli.render.probe import mistakes_report
        from tether.run.mistakes import generate_for_mistakes

        if engine != "local":
            raise TetherError("--target mistakes runs on the local engine (its jobs are few: one per missed fact)")
        ws = open_workspace(workspace)
        rep = generate_for_mistakes(ws, budget, generation, lambda c, n: teacher_progress(c, n, "generate", console))
        mistakes_report(rep)
        ws.close()
        return
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
    from tether.cli.render.generate import import_summary
    from tether.generate.imported import run_import

    ws = open_workspace(workspace)
    rep = run_import(ws, file, teacher, teacher_version, generation)
    import_summary(rep, str(ws.store / "runs" / f"{rep.run_id}.jsonl"))
    ws.close()


teacher_app = typer.Typer(help="The teacher LLM: embedded llama.cpp or any OpenAI-compatible endpoint.")


@teacher_app.command("check")
def teacher_check(
    workspace: WorkspaceOpt = Path("."),
    prompt: Annotated[str, typer.Option(help="Prompt to send.")] = "In one sentence: what is a bylaw?",
) -> None:
    """Start or reach the configured teacher, send one prompt, and show its identity, answer and speed."""
    import asyncio

    from tether.cli.render.teacher import teacher_check_report
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

    from tether.cli.render.generate import accuracy_report
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
