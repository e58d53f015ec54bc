"""`tether run`: the configured pipeline end to end, one stage after another.

ingest → audit → generate → filter → measure → [fill] → mix → [train → eval] → report. This module owns the stage
list (each stage's name, the config it reads, how its output is identified, whether it is on), skips the finished
ones by fingerprint (`tether.run.state`), and says what `--from STAGE` (re-run a stage and everything after it) and
`--until STAGE` (stop after it) mean. It runs no stage itself: the caller hands in the `Runners`. The CLI hands in
its own commands, so a stage under `tether run` is the same command a user would type (same code, same output).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tether.config import TetherConfig
from tether.errors import TetherError
from tether.evaluate.stage import stored_evals
from tether.mix.store import list_mixes
from tether.report import write_report
from tether.run.state import RunState, StageRecord, files_fingerprint, fingerprint
from tether.train.sft import list_students
from tether.workspace.store import Workspace

STAGE_NAMES = ("ingest", "audit", "generate", "filter", "measure", "fill", "mix", "train", "eval")


@dataclass(frozen=True)
class Runners:
    """What runs each stage, given the workspace folder and the `run:` settings its fingerprint holds."""

    ingest: Callable[[Path], None]  # the configured sources
    audit: Callable[[Path], None]
    generate: Callable[[Path, int, int], None]  # (root, budget, generation)
    filter: Callable[[Path], None]
    measure: Callable[[Path], None]
    fill: Callable[[Path, int], None]  # (root, generation)
    mix: Callable[[Path, int], None]  # (root, generation)
    train: Callable[[Path, int], None]  # (root, generation)
    eval_base: Callable[[Path], None]  # the untrained base student
    eval_student: Callable[[Path], None]  # the latest trained student


@dataclass
class Stage:
    name: str
    config: Callable[[Workspace], object]  # the config it reads (JSON-able): part of its fingerprint
    run: Callable[[Path, TetherConfig], None]  # (root, config): the stage itself
    output: Callable[[Workspace], str]  # what it produced (an id)
    enabled: Callable[[TetherConfig], bool] = lambda cfg: True


def _head(ws: Workspace) -> str:
    h = ws.head()
    return h.id if h else ""


def _cfg(*sections: str) -> Callable[[Workspace], dict]:
    def get(ws: Workspace) -> dict:
        c = ws.config.model_dump(mode="json")
        return {s: c[s] for s in sections}

    return get


def _ingest_cfg(ws: Workspace) -> dict:
    c = ws.config
    return {**_cfg("sources", "ingest")(ws), "files": files_fingerprint([*c.sources.docs, *c.sources.seeds])}


def _audit_cfg(ws: Workspace) -> dict:
    c = ws.config
    onto = files_fingerprint([c.ontology]) if c.ontology else None
    held = files_fingerprint([c.heldout]) if c.heldout else None
    return {**_cfg("audit", "measure")(ws), "ontology": onto, "heldout": held}


def _generate_cfg(ws: Workspace) -> dict:
    return {**_cfg("generate", "teacher")(ws), "budget": ws.config.run.budget, "generation": ws.config.run.generation}


def _mix_cfg(ws: Workspace) -> dict:
    return {**_cfg("mix")(ws), "generation": ws.config.run.generation}


def _latest_mix(ws: Workspace) -> str:
    return list_mixes(ws)[-1].id


def _latest_student(ws: Workspace) -> str:
    own = [m for m in list_students(ws.store) if not m.get("label")]  # not the comparison's students
    return own[-1]["id"]


def _evaluated(ws: Workspace) -> str:
    return stored_evals(ws)[-1]["key"]


def stages(runners: Runners, train: bool = False) -> list[Stage]:
    """The stages in order; `train` (the --train flag) switches training and evaluation on for this run."""

    def run_generate(root: Path, cfg: TetherConfig) -> None:
        runners.generate(root, cfg.run.budget, cfg.run.generation)

    def run_eval(root: Path, cfg: TetherConfig) -> None:
        runners.eval_base(root)
        if train or cfg.run.train:
            runners.eval_student(root)

    return [
        Stage("ingest", _ingest_cfg, lambda root, cfg: runners.ingest(root), _head),
        Stage("audit", _audit_cfg, lambda root, cfg: runners.audit(root), lambda ws: "audited"),
        Stage("generate", _generate_cfg, run_generate, _head),
        Stage("filter", _cfg("filters", "teacher"), lambda root, cfg: runners.filter(root), _head),
        Stage("measure", _cfg("measure"), lambda root, cfg: runners.measure(root), _head),
        Stage(
            "fill",
            _cfg("fill", "generate", "teacher", "filters"),
            lambda root, cfg: runners.fill(root, cfg.run.generation),
            _head,
            enabled=lambda cfg: cfg.run.fill,
        ),
        Stage("mix", _mix_cfg, lambda root, cfg: runners.mix(root, cfg.run.generation), _latest_mix),
        Stage(
            "train",
            _cfg("train"),
            lambda root, cfg: runners.train(root, cfg.run.generation),
            _latest_student,
            enabled=lambda cfg: train or cfg.run.train,
        ),
        Stage("eval", _cfg("eval", "train"), run_eval, _evaluated, enabled=lambda cfg: train or cfg.run.eval),
    ]


def enabled_stages(cfg: TetherConfig, runners: Runners, train: bool = False) -> list[Stage]:
    """The stages this config (and the --train flag) switches on, in order."""
    return [s for s in stages(runners, train) if s.enabled(cfg)]


def check_bounds(from_stage: str | None, until: str | None) -> None:
    """`--from` and `--until` name a stage, or are not given."""
    for opt, val in (("--from", from_stage), ("--until", until)):
        if val is not None and val not in STAGE_NAMES:
            raise TetherError(f"{opt} must be one of {', '.join(STAGE_NAMES)}, got {val!r}")


def _open(root: Path) -> Workspace:
    ws = Workspace.open(root)
    ws.config  # noqa: B018 - fail early, with the one-line config error
    return ws


def run_stages(
    ws: Workspace,
    todo: list[Stage],
    from_stage: str | None,
    until: str | None,
    on_skip: Callable[[int, int, str, StageRecord], None],
    on_start: Callable[[int, int, str], None],
    on_report: Callable[[Path], None],
) -> None:
    """Run `todo` in order from `from_stage` (every stage before it must have run here once) up to `until`, then
    write the report (not after `--until`). Without `--from`, a stage whose fingerprint (its name, the previous
    stage's output, the config it reads) is unchanged is skipped. `ws` is closed while each stage runs (the stage
    opens the workspace itself) and at the end. The callbacks see the stage's position (1-based) and count."""
    root = ws.root
    state = RunState(ws.store)
    names = [s.name for s in todo]
    start = names.index(from_stage) if from_stage in names else 0
    stop = names.index(until) + 1 if until in names else len(todo)
    upstream = ""
    for k, st in enumerate(todo[:stop]):
        ws.reload_config()
        fp = fingerprint(st.name, upstream, st.config(ws))
        prior = state.stages.get(st.name)
        if k < start:
            if prior is None:
                raise TetherError(f"--from {from_stage}: stage {st.name} has never run here; run without --from first")
            upstream = prior.output
            continue
        done = state.done(st.name, fp) if from_stage is None else None  # --from re-runs from its stage on
        if done is not None:
            on_skip(k + 1, len(todo), st.name, done)
            upstream = done.output
            continue
        on_start(k + 1, len(todo), st.name)
        cfg = ws.config  # as reloaded for this stage
        ws.close()
        st.run(root, cfg)
        ws = _open(root)
        out = st.output(ws)
        state.record(st.name, fp, out)
        upstream = out
    if until is None:
        on_report(write_report(ws))
    ws.close()
