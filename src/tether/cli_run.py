"""`tether run`: the configured pipeline end to end, one stage after another, each shown as it runs.

ingest → audit → generate → filter → measure → [fill] → mix → [train → eval] → report. Each stage is the same
command a user would type (same code, same output); this module only orders them, skips the finished ones by
fingerprint (`tether.run.state`), and prints the forecast of a dry run. `--from STAGE` re-runs a stage and
everything after it; `--until STAGE` stops after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from tether.cli_common import WorkspaceOpt, open_workspace
from tether.errors import TetherError


@dataclass
class Stage:
    name: str
    config: Callable  # ws -> the config it reads (JSON-able)
    run: Callable  # (root, config) -> None: the command itself
    output: Callable  # ws -> what it produced (an id)
    enabled: Callable = lambda cfg: True


def _head(ws) -> str:
    h = ws.head()
    return h.id if h else ""


def _cfg(*sections: str) -> Callable:
    def get(ws):
        c = ws.config.model_dump(mode="json")
        return {s: c[s] for s in sections}

    return get


def _stages(train: bool = False, engine: str = "local", address: str | None = None) -> list[Stage]:
    """The stages in order; `train` (the --train flag) switches training and evaluation on for this run."""
    from tether import cli, cli_measure, cli_mix, cli_train
    from tether.run.state import files_fingerprint

    def ingest_cfg(ws):
        c = ws.config
        return {**_cfg("sources", "ingest")(ws), "files": files_fingerprint([*c.sources.docs, *c.sources.seeds])}

    def audit_cfg(ws):
        c = ws.config
        onto = files_fingerprint([c.ontology]) if c.ontology else None
        held = files_fingerprint([c.heldout]) if c.heldout else None
        return {**_cfg("audit", "measure")(ws), "ontology": onto, "heldout": held}

    def latest_mix(ws):
        from tether.mix.store import list_mixes

        return list_mixes(ws)[-1].id

    def latest_student(ws):
        from tether.train.sft import list_students

        own = [m for m in list_students(ws.store) if not m.get("label")]  # not the comparison's students
        return own[-1]["id"]

    def evaluated(ws):
        from tether.evaluate.stage import stored_evals

        return stored_evals(ws)[-1]["key"]

    def run_eval(root: Path, cfg) -> None:
        cli_train.eval_(workspace=root, base=True)
        if train or cfg.run.train:
            cli_train.eval_(workspace=root, student="latest")

    gen = lambda ws: ws.config.run.generation  # noqa: E731
    return [
        Stage("ingest", ingest_cfg, lambda root, cfg: cli.ingest(paths=None, workspace=root), _head),
        Stage("audit", audit_cfg, lambda root, cfg: cli.audit(workspace=root), lambda ws: "audited"),
        Stage(
            "generate",
            lambda ws: {**_cfg("generate", "teacher")(ws), "budget": ws.config.run.budget, "generation": gen(ws)},
            lambda root, cfg: cli.generate(
                budget=cfg.run.budget,
                workspace=root,
                generation=cfg.run.generation,
                engine=engine,
                address=address,
            ),
            _head,
        ),
        Stage(
            "filter",
            _cfg("filters", "teacher"),
            lambda root, cfg: cli.filter_(workspace=root, engine=engine, address=address),
            _head,
        ),
        Stage("measure", _cfg("measure"), lambda root, cfg: cli_measure.measure(workspace=root), _head),
        Stage(
            "fill",
            _cfg("fill", "generate", "teacher", "filters"),
            lambda root, cfg: cli_measure.fill(workspace=root, generation=cfg.run.generation),
            _head,
            enabled=lambda cfg: cfg.run.fill,
        ),
        Stage(
            "mix",
            lambda ws: {**_cfg("mix")(ws), "generation": gen(ws)},
            lambda root, cfg: cli_mix.mix(generation=cfg.run.generation, workspace=root),
            latest_mix,
        ),
        Stage(
            "train",
            _cfg("train"),
            lambda root, cfg: cli_train.train(workspace=root, generation=cfg.run.generation),
            latest_student,
            enabled=lambda cfg: train or cfg.run.train,
        ),
        Stage("eval", _cfg("eval", "train"), run_eval, evaluated, enabled=lambda cfg: train or cfg.run.eval),
    ]


STAGE_NAMES = ("ingest", "audit", "generate", "filter", "measure", "fill", "mix", "train", "eval")


def run(
    workspace: WorkspaceOpt = Path("."),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and forecast; spend nothing.")] = False,
    from_stage: Annotated[str | None, typer.Option("--from", help="Re-run this stage and all after it.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Stop after this stage.")] = None,
    train: Annotated[
        bool, typer.Option("--train", help="Also train and evaluate a student (run.train / run.eval for this run).")
    ] = False,
    engine: Annotated[str, typer.Option(help="local, or ray: teacher stages on Ray Data actors.")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: a local one).")] = None,
) -> None:
    """The configured pipeline end to end; finished stages are skipped, a crashed run resumes from its cache."""
    from tether.console import console
    from tether.run.state import RunState, fingerprint

    for opt, val in (("--from", from_stage), ("--until", until)):
        if val is not None and val not in STAGE_NAMES:
            raise TetherError(f"{opt} must be one of {', '.join(STAGE_NAMES)}, got {val!r}")
    ws = open_workspace(workspace)
    root = ws.root
    if dry_run:
        from tether.cli_run_plan import dry_run as show

        show(ws, [s for s in _stages(train, engine, address) if s.enabled(ws.config)], RunState(ws.store))
        ws.close()
        return
    state = RunState(ws.store)
    stages = [s for s in _stages(train, engine, address) if s.enabled(ws.config)]
    names = [s.name for s in stages]
    start = names.index(from_stage) if from_stage in names else 0
    stop = names.index(until) + 1 if until in names else len(stages)
    upstream = ""
    for k, st in enumerate(stages[:stop]):
        ws.reload_config()
        fp = fingerprint(st.name, upstream, st.config(ws))
        prior = state.stages.get(st.name)
        if k < start:
            if prior is None:
                raise TetherError(f"--from {from_stage}: stage {st.name} has never run here; run without --from first")
            upstream = prior.output
            continue
        done = state.done(st.name, fp) if from_stage is None else None  # --from re-runs from its stage on
        label = f"[bold cyan][{k + 1}/{len(stages)}] {st.name}[/]"
        if done is not None:
            console.print(f"{label} [dim]skipped: unchanged since {done.finished_at} (output {done.output[:12]})[/]")
            upstream = done.output
            continue
        console.rule(label)
        cfg = ws.config  # as reloaded for this stage
        ws.close()
        st.run(root, cfg)
        ws = open_workspace(root)
        out = st.output(ws)
        state.record(st.name, fp, out)
        upstream = out
    if until is None:
        from tether.report import write_report

        path = write_report(ws)
        console.rule("[bold cyan]report[/]")
        console.print(f"report: {path}")
    ws.close()


def register(app: typer.Typer) -> None:
    app.command("run")(run)
