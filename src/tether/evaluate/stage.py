"""`tether eval`: factual accuracy of a model on the held-out questions, stored and cached per (model, adapter,
holdout).

Every held-out question is answered once (greedy, fixed prompt) and scored against the answer and each accepted
alias: exact match, "contains" (the reply states the answer: generative students answer in sentences) and token
F1, after normalisation; optionally the judge's "same fact?". Results are broken down by edge vs typical cases and
by concept, with bootstrap confidence intervals, plus perplexity of the gold answers for local models. A result
is stored in `.tether/evals/<key>.json`; the same (model, adapter, holdout, settings) is read back, not re-run.
Results carry the training generation of the model they measure, which is what `tether eval --history` and the
collapse monitor read.

Beside them the student is asked questions the documents do not answer (`eval.unanswerable`: held-out questions
with an invented entity, and held-out rows marked `"answerable": false`; evaluate/unanswerable.py). They count
in no accuracy; the share of them the student answers instead of declining is the hallucination rate.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from tether.errors import TetherError
from tether.evaluate.abstention import PROMPT as ABSTENTION_PROMPT
from tether.evaluate.abstention import judged_abstentions
from tether.evaluate.metrics import bootstrap_ci, score_answer
from tether.evaluate.monitor import EvalPoint
from tether.evaluate.runner import Target, answer_all, judge_same_fact
from tether.evaluate.unanswerable import Unanswerable, abstains, build_unanswerable
from tether.records import Record, content_hash
from tether.seeds.holdout import EVALUATION, FixedHoldout, fixed_holdout
from tether.workspace.store import Workspace

EVALS = "evals"
ABSTENTION_PROMPT_HASH = content_hash(ABSTENTION_PROMPT, n=12)
METRICS = ("contains", "exact", "f1")


def golds(r: Record) -> list[str]:
    return [r.answer(), *json.loads(r.meta.get("aliases", "[]"))]


def eval_rows(held: FixedHoldout) -> list[Record]:
    """The evaluation part of the workspace's fixed holdout; one clear error when there is none."""
    rows = held.part(EVALUATION)
    if not rows:
        raise TetherError(
            "no held-out questions to evaluate on: set `heldout:` in tether.yaml to a JSONL of question/answer rows "
            "(with optional aliases, edge, concepts), then `tether mix --reset-holdout` if a holdout was already fixed"
        )
    return rows


def answerable(r: Record) -> bool:
    """A held-out row the documents answer (rows marked `"answerable": false` are asked for the hallucination rate)."""
    return r.meta.get("answerable") != "false"


def unanswerable_questions(ws: Workspace, rows: list[Record]) -> list[Unanswerable]:
    """The questions no document answers: held-out `rows` marked `"answerable": false` as written, then up to
    `eval.unanswerable` of the other held-out questions with an invented entity, checked against the chunks."""
    own = [Unanswerable(r.question(), "", "", r.meta.get("heldout_id", r.id)) for r in rows if not answerable(r)]
    limit = ws.config.eval.unanswerable
    head = ws.head()
    if limit == 0 or head is None:
        return own
    corpus = [c.headed for c in ws.chunks(head)]
    asked = [(r.meta.get("heldout_id", r.id), r.question()) for r in rows if answerable(r)]
    return own + build_unanswerable(asked, corpus, limit)


def _key(target: Target, holdout_object: str, ws: Workspace, unanswerable: list[Unanswerable]) -> str:
    e, t = ws.config.eval, ws.config.train
    settings = {
        "target": target.key(),
        "holdout": holdout_object,
        "max_new_tokens": e.max_new_tokens,
        "system": t.system,
        "judge": e.judge,
    }
    if unanswerable:
        settings["unanswerable"] = content_hash([u.question for u in unanswerable], n=16)
        if e.judge:  # a stored result from before the judge also read abstentions is not this evaluation
            settings["abstention"] = ABSTENTION_PROMPT_HASH
    return content_hash(settings, n=16)


def hallucination(items: list[dict], resamples: int) -> dict:
    """Share of the unanswerable questions answered instead of declined, with its interval; and the share of the
    answerable ones declined (a student that declines everything is not a cure)."""
    asked = [it for it in items if not it.get("answerable", True)]
    out: dict = {"n": len(asked)}
    if asked:
        mean, lo, hi = bootstrap_ci([0.0 if it["abstained"] else 1.0 for it in asked], n_resamples=resamples)
        out.update(rate=mean, low=lo, high=hi)
    answerable = [it for it in items if it.get("answerable", True)]
    if answerable:
        out["declined_answerable"] = sum(it["abstained"] for it in answerable) / len(answerable)
    return out


def _summary(items: list[dict], metric: str, resamples: int) -> dict:
    out: dict = {"n": len(items)}
    for m in (*METRICS, "judge"):
        vals = [it["scores"][m] for it in items if it["scores"].get(m) is not None]
        if vals:
            mean, lo, hi = bootstrap_ci(vals, n_resamples=resamples)
            out[m] = {"mean": mean, "low": lo, "high": hi, "n": len(vals)}
    out["accuracy"] = out.get(metric, {}).get("mean")
    return out


def summarise(items: list[dict], metric: str, resamples: int) -> dict:
    """Overall, edge, typical and per-concept accuracy (headline `metric`) with intervals."""
    edge = [it for it in items if it["edge"]]
    typical = [it for it in items if not it["edge"]]
    concepts = sorted({c for it in items for c in it["concepts"]})
    return {
        "all": _summary(items, metric, resamples),
        "edge": _summary(edge, metric, resamples) if edge else {"n": 0},
        "typical": _summary(typical, metric, resamples) if typical else {"n": 0},
        "by_concept": {c: _summary([it for it in items if c in it["concepts"]], metric, resamples) for c in concepts},
    }


def run_eval(
    ws: Workspace,
    target: Target,
    *,
    base_dir: Path | None = None,
    adapter_dir: Path | None = None,
    endpoint=None,
    on_done: Callable[[int], None] | None = None,
    force: bool = False,
) -> dict:
    """Evaluate a local model (`base_dir` [+ `adapter_dir`]) or an `endpoint` (a TeacherConfig); returns the stored
    result (read back from the cache when the same evaluation ran before)."""
    cfg = ws.config
    held = fixed_holdout(ws)  # fixed by the first evaluation at the latest: later ones compare on the same rows
    held_rows = eval_rows(held)
    unanswerable = unanswerable_questions(ws, held_rows)
    rows = [r for r in held_rows if answerable(r)]  # the others are in `unanswerable`
    key = _key(target, held.holdout.table.object, ws, unanswerable)
    path = ws.store / EVALS / f"{key}.json"
    if path.is_file() and not force:
        return json.loads(path.read_text("utf-8"))
    questions = [r.question() for r in rows] + [u.question for u in unanswerable]
    started = time.monotonic()
    perplexity = None
    answers, model = answer_all(
        questions,
        target,
        system=cfg.train.system,
        max_new_tokens=cfg.eval.max_new_tokens,
        batch_size=cfg.eval.batch_size,
        cache=ws.store / "cache.sqlite",
        base_dir=base_dir,
        adapter_dir=adapter_dir,
        endpoint=endpoint,
        on_done=on_done,
    )
    if model is not None:  # a local model also gives the perplexity of the gold answers
        perplexity = model.perplexity([(r.question(), r.answer()) for r in rows], cfg.train.system, cfg.eval.batch_size)
    answers, declined = answers[: len(rows)], answers[len(rows) :]
    judged: list[float | None] = [None] * len(rows)
    judge_cfg = cfg.filters.judge.endpoint or cfg.teacher  # asked only with eval.judge
    if cfg.eval.judge:
        judged = judge_same_fact(
            judge_cfg,
            ws.store / "cache.sqlite",
            [(r.question(), r.answer(), a) for r, a in zip(rows, answers, strict=True)],
        )
    items = []
    for r, a, j in zip(rows, answers, judged, strict=True):
        scores = score_answer(a, golds(r))
        scores["judge"] = j
        items.append(
            {
                "heldout_id": r.meta.get("heldout_id", r.id),
                "question": r.question(),
                "golds": golds(r),
                "prediction": a,
                "scores": scores,
                "edge": r.meta.get("edge") == "true",
                "concepts": list(r.concepts),
                "abstained": abstains(a),
            }
        )
    extra = []
    for u, a in zip(unanswerable, declined, strict=True):
        extra.append(
            {
                "heldout_id": u.heldout_id,
                "question": u.question,
                "answerable": False,
                "invented": u.invented,
                "replaced": u.replaced,
                "prediction": a,
                "abstained": abstains(a, u.invented or None),
            }
        )
    abstention_judge = None
    if cfg.eval.judge and extra:  # the judge reads the replies the patterns took for answers, once calibrated
        originals = {r.meta.get("heldout_id", r.id): r.answer() for r in held_rows}
        abstention_judge = judged_abstentions(judge_cfg, ws.store / "cache.sqlite", extra, originals)
    hallucinated = hallucination(items + extra, cfg.eval.bootstrap)
    if abstention_judge is not None:
        hallucinated["judge"] = abstention_judge
    result = {
        "key": key,
        "target": asdict(target),
        "holdout_object": held.holdout.table.object,
        "metric": cfg.eval.metric,
        "settings": {"max_new_tokens": cfg.eval.max_new_tokens, "system": cfg.train.system, "judge": cfg.eval.judge},
        "summary": summarise(items, cfg.eval.metric, cfg.eval.bootstrap),
        "hallucination": hallucinated,
        "perplexity": perplexity,
        "items": items,
        "unanswerable_items": extra,
        "seconds": round(time.monotonic() - started, 1),
        "created_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(result, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return result


def stored_evals(ws: Workspace) -> list[dict]:
    root = ws.store / EVALS
    found = [json.loads(p.read_text("utf-8")) for p in root.glob("*.json")] if root.is_dir() else []
    return sorted(found, key=lambda r: r["created_at"])


def history_points(ws: Workspace, metric: str | None = None) -> list[EvalPoint]:
    """One point per evaluated generation (the latest result of each), for the collapse monitor; evaluations of
    endpoints and models without a generation are not part of a training history."""
    metric = metric or ws.config.eval.metric
    latest: dict[int, dict] = {}
    for res in stored_evals(ws):
        g = res["target"].get("generation")
        if g is not None and res["target"]["kind"] != "endpoint":
            latest[g] = res
    points = []
    for g, res in sorted(latest.items()):
        s = res["summary"]
        points.append(
            EvalPoint(
                generation=g,
                accuracy=s["all"][metric]["mean"],
                perplexity=res.get("perplexity"),
                edge_accuracy=s["edge"].get(metric, {}).get("mean"),
                typical_accuracy=s["typical"].get(metric, {}).get("mean"),
                n=s["all"]["n"],
                label=res["target"].get("label") or res["target"]["model"],
                hallucination=(res.get("hallucination") or {}).get("rate"),
            )
        )
    return points
