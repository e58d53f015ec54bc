"""`tether compare`: did the synthetic data help? Three students, one budget, one seed, one holdout.

(a) human rows only (the mix's anchor), (b) the mix: human + kept synthetic rows, (c) human + every synthetic row
the teacher wrote for generations <= G, unfiltered. Each is trained for the same number of optimizer steps from
the same student with the same seed, then evaluated on the same held-out questions; the base student is
evaluated too. Differences come with paired bootstrap intervals over the held-out questions (the same question
answered by two students is one paired observation), and per concept as wins and losses.

(c) skips the quality filters, not the leakage check: a held-out question in its training set would measure
memorisation of the test, not the value of unfiltered data. Nor does (c) get the ceiling, which is part of the
filtered arm's policy. What (c) against (b) shows is what the filters are worth; (b) against (a), what the kept
synthetic rows are worth.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

from tether.embed.embedder import workspace_embedder
from tether.errors import TetherError
from tether.evaluate.metrics import contains_answer, normalize_answer, paired_bootstrap
from tether.evaluate.runner import Target
from tether.evaluate.stage import golds, run_eval
from tether.generate.unanswerable import STRATEGY as UNANSWERABLE
from tether.mix.assemble import assemble
from tether.mix.export import check_exportable
from tether.mix.leakage import without_leaks
from tether.mix.store import MixManifest, mix_rows, resolve_mix
from tether.records import Record, content_hash
from tether.seeds.holdout import fixed_holdout
from tether.text import stem_support
from tether.train.sft import students_dir, train_student
from tether.train.student import resolve_student
from tether.workspace.store import Workspace

ARMS = ("human", "kept", "unfiltered")
# (b) without its false-premise rows (strategy `unanswerable`): trained only when the mix holds some, so that
# (b) against it shows what declining an invented name costs in accuracy and saves in hallucination (issue 23)
ANSWERABLE = "answerable"
ARM_TITLES = {
    "base": "base student (no training)",
    "human": "(a) human rows only",
    ANSWERABLE: "(b-) human + kept synthetic, no false-premise rows",
    "kept": "(b) human + kept synthetic",
    "unfiltered": "(c) human + all synthetic, unfiltered",
}
PAIRS = (("human", "kept"), ("human", "unfiltered"), ("unfiltered", "kept"))


def _usable(r: Record) -> bool:
    """A row a student can be trained on: a question and a non-empty answer (generation failures have none)."""
    if not r.question().strip() or not r.answer().strip():
        return False
    try:
        check_exportable([r], None)
    except TetherError:
        return False
    return True


def arm_rows(ws: Workspace, mix: MixManifest) -> dict[str, list[Record]]:
    """The training sets of the comparison, all drawn from the mix's version and checked against the holdout: three,
    and (b) without its false-premise rows when it holds some."""
    train = mix_rows(ws, mix)
    human = [r for r in train if r.origin == "human"]
    held = fixed_holdout(ws, save=False)
    records = [r for r in ws.records(mix.version) if r.id not in held.holdout.ids]
    asm = assemble(records, mix.generation, "accumulate")
    synthetic = [records[i] for i in asm.synthetic if _usable(records[i])]
    unfiltered, _ = without_leaks(
        synthetic, held.rows, workspace_embedder(ws), ws.config.mix.leakage, {r.id: r for r in records}
    )
    arms = {"human": human, "kept": train, "unfiltered": human + unfiltered}
    if any(r.strategy == UNANSWERABLE for r in train):
        arms[ANSWERABLE] = [r for r in train if r.strategy != UNANSWERABLE]
    return arms


def _hallucinated(result: dict) -> list[float]:
    """Per unanswerable question of an evaluation: 1 when the student answered instead of declining."""
    return [0.0 if it["abstained"] else 1.0 for it in result.get("unanswerable_items") or []]


# A row states a held-out answer only when it is about the question's subject: its question and answer hold at
# least this share of the held-out question's word stems. The answer alone is not enough: held-out answers are
# often a number with a bare-number alias ("3 councillors", alias "3"), and "3" is in many answers about other
# things. Measured on the example domain (budget-300 workspace): human rows 26 held-out answers "stated" by the
# answer alone, 0 about the question's subject; kept 36 -> 6; unfiltered 52 -> 24. Read by hand, the stricter
# count's hits state the asked fact (one exception in 24: the Appeal Panel's "3 councillors" for a ward's).
ABOUT_SUBJECT = 0.5


def stated(rows: list[Record], questions: list[Record]) -> list[bool]:
    """Per held-out question: does some training row state its answer (the answer or an alias contained in a row's
    answer, by the evaluation's own normalisation) about the question's subject (`ABOUT_SUBJECT`)? Those are the
    facts a student could have learned from its rows."""
    answers = [normalize_answer(r.answer()) for r in rows]
    return [
        any(
            contains_answer(a, golds(q)) and stem_support(q.question(), f"{r.question()} {r.answer()}") >= ABOUT_SUBJECT
            for r, a in zip(rows, answers, strict=True)
        )
        for q in questions
    ]


def answers_stated(rows: list[Record], questions: list[Record]) -> int:
    """How many held-out answers some training row states. Accuracy beyond this count is guessing or prior
    knowledge; far below it, the student did not learn what it was shown."""
    return sum(stated(rows, questions))


def _paired(a: dict, b: dict, metric: str, resamples: int) -> dict:
    xa = [it["scores"][metric] for it in a["items"]]
    xb = [it["scores"][metric] for it in b["items"]]
    return paired_bootstrap(xa, xb, n_resamples=resamples)


def _concepts(results: dict[str, dict], metric: str) -> dict[str, dict]:
    """Per concept: each arm's accuracy, and (b) - (a), (c) - (a) in questions gained (+) or lost (-)."""
    out: dict[str, dict] = {}
    base = results["human"]["items"]
    for k, item in enumerate(base):
        for c in item["concepts"] or ["(none)"]:
            row = out.setdefault(c, {"n": 0, **{arm: 0.0 for arm in results}})
            row["n"] += 1
            for arm, res in results.items():
                row[arm] += res["items"][k]["scores"][metric]
    for row in out.values():
        row["kept_vs_human"] = round(row["kept"] - row["human"], 3)
        row["unfiltered_vs_human"] = round(row["unfiltered"] - row["human"], 3)
        for arm in results:
            row[arm] = row[arm] / row["n"]
    return dict(sorted(out.items()))


def run_compare(
    ws: Workspace,
    generation: int | None = None,
    steps: int | None = None,
    *,
    student_dir: Path | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[dict], None] | None = None,
) -> dict:
    """Train and evaluate the three students (and the base); store and return the comparison."""
    cfg = ws.config
    mix = resolve_mix(ws, "latest", generation)
    steps = steps or cfg.eval.compare_steps
    tcfg = cfg.train.model_copy(update={"max_steps": steps, "early_stopping_patience": None})
    arms = arm_rows(ws, mix)
    held = fixed_holdout(ws)
    validation, questions = held.part("validation"), held.part("evaluation")
    base_dir, student_id = (student_dir, str(student_dir)) if student_dir else resolve_student(cfg.train.student)
    metric, resamples = cfg.eval.metric, cfg.eval.bootstrap

    def say(msg: str) -> None:
        if on_stage:
            on_stage(msg)

    say(f"evaluating {ARM_TITLES['base']}")
    results = {"base": run_eval(ws, Target("base", student_id, label="base"), base_dir=base_dir)}
    runs = {}
    trained_arms = [a for a in ARM_TITLES if a in arms]
    pairs = [*PAIRS, (ANSWERABLE, "kept")] if ANSWERABLE in arms else list(PAIRS)
    for arm in trained_arms:
        say(f"training {ARM_TITLES[arm]}: {len(arms[arm])} rows, {steps} steps")
        run = train_student(
            arms[arm],
            validation,
            tcfg,
            students_dir(ws.store),
            mix_id=f"{mix.id}:{arm}",
            generation=mix.generation,
            label=f"compare:{arm}",
            on_progress=on_progress,
            student_dir=student_dir,
        )
        runs[arm] = run.meta
        say(f"evaluating {ARM_TITLES[arm]}")
        target = Target("adapter", student_id, adapter=run.meta["id"], label=f"compare:{arm}")
        results[arm] = run_eval(ws, target, base_dir=base_dir, adapter_dir=run.dir)
    trained = {a: results[a] for a in trained_arms}
    every = ("base", *trained_arms)
    hallucinated = {a: _hallucinated(results[a]) for a in every}
    report = {
        "mix": mix.id,
        "generation": mix.generation,
        "steps": steps,
        "seed": tcfg.seed,
        "student": student_id,
        "metric": metric,
        "rows": {a: len(arms[a]) for a in trained_arms},
        "synthetic_rows": {a: sum(r.origin == "synthetic" for r in arms[a]) for a in trained_arms},
        "false_premise_rows": {a: sum(r.strategy == UNANSWERABLE for r in arms[a]) for a in trained_arms},
        "answers_stated": {a: answers_stated(arms[a], questions) for a in trained_arms},
        "questions": len(results["base"]["items"]),
        "accuracy": {a: results[a]["summary"]["all"].get(metric) for a in every},
        "edge": {a: results[a]["summary"]["edge"].get(metric) for a in every},
        "typical": {a: results[a]["summary"]["typical"].get(metric) for a in every},
        "perplexity": {a: results[a].get("perplexity") for a in every},
        "hallucination": {a: results[a].get("hallucination") for a in every},
        "differences": {f"{b}-{a}": _paired(results[a], results[b], metric, resamples) for a, b in pairs},
        # paired over the same unanswerable questions; negative: the second arm hallucinates less
        "hallucination_differences": {
            f"{b}-{a}": paired_bootstrap(hallucinated[a], hallucinated[b], n_resamples=resamples)
            for a, b in pairs
            if hallucinated[a]
        },
        "by_concept": _concepts(trained, metric),
        "training": {
            a: {k: runs[a][k] for k in ("id", "steps", "train_loss", "best_eval_loss", "seconds")} for a in trained_arms
        },
        "evals": {a: results[a]["key"] for a in every},
        "created_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    cid = content_hash({k: report[k] for k in ("mix", "steps", "seed", "student", "evals")}, n=16)
    report["id"] = cid
    root = ws.store / "compare"
    root.mkdir(exist_ok=True)
    tmp = root / f"{cid}.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
    os.replace(tmp, root / f"{cid}.json")
    return report
