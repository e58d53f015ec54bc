"""Judge calibration with planted negatives: how well each filter tells true rows from false ones, measured.

Planted true rows are the seeds' own answers; planted false rows are the same answers with numbers shifted,
answers swapped between seeds of other documents or of the same document, or cut off (`planted.py`). Each filter
judges every planted row on its own (not as a funnel), and we report the true-positive rate (true rows kept), the
false-positive rate (false rows kept) and the AUC. Model filters are measured on what the model says, every row
asked (grounding's lexical shortcut is switched off), and their result decides their trust (`trust.py`).
Deterministic filters are measured alongside, free, so the user sees what the model adds.

User-labelled rows (`--labels`: question, answer, label good/bad) join the planted ones with their labels.
"""

from __future__ import annotations

import contextlib
import copy
from collections import defaultdict
from collections.abc import Collection
from pathlib import Path

from pydantic import BaseModel

from tether.config import CalibrationConfig
from tether.config.yamlconf import read_text_file
from tether.errors import TetherError
from tether.filters.base import row_chunk
from tether.filters.consistency import EvidenceFinder
from tether.filters.judged import GroundingFilter, LLMJudge
from tether.filters.planted import MIN_SEEDS, PLANTED_TEACHER, Planted, no_seeds_note, plant, sample_balanced
from tether.filters.registry import MODEL_FILTERS, BuildContext, build_context, build_filters, judge_config
from tether.filters.sequential import futile, rounds, settled
from tether.filters.trust import (
    MIN_ANSWERED,
    CalibrationStore,
    FilterCalibration,
    classify,
    filter_method,
    judge_key,
)
from tether.llm.client import TeacherError
from tether.llm.teacher import open_teacher
from tether.records import Record, Source
from tether.seeds.tabular import read_jsonl
from tether.workspace.store import Workspace


class FilterScore(BaseModel):
    filter: str
    model: bool
    true_rows: int
    false_rows: int
    tpr: float
    fpr: float
    auc: float
    false_dropped_by_kind: dict[str, float]
    state: str = ""  # model filters: uninformative / informative / trusted
    unjudged: int = 0  # rows the filter gave no judgement on (no chunk, unparsable answer, ...)
    seeds: int = 0  # model filters: seeds planted rows were asked from before its state was settled


class CalibrationReport(BaseModel):
    judge: str
    seeds: int
    planted: dict[str, int]  # kind -> rows
    filters: list[FilterScore]


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a true row scores above a false row), ties counting half (Mann-Whitney); 0.5 when either side is empty."""
    if not pos or not neg:
        return 0.5
    ranked = sorted([(s, 1) for s in pos] + [(s, 0) for s in neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # average 1-based rank of the tie group
        rank_sum += mid * sum(1 for _, y in ranked[i:j] if y)
        i = j
    n1, n0 = len(pos), len(neg)
    return round((rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0), 4)


def score_filter(
    name: str, model: bool, planted: list[Planted], kept: list[bool | None], scores: list[float]
) -> FilterScore:
    pos = [s for p, s, k in zip(planted, scores, kept, strict=True) if p.truth and k is not None]
    neg = [s for p, s, k in zip(planted, scores, kept, strict=True) if not p.truth and k is not None]
    t_keep = [k for p, k in zip(planted, kept, strict=True) if p.truth and k is not None]
    f_keep = [k for p, k in zip(planted, kept, strict=True) if not p.truth and k is not None]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for p, k in zip(planted, kept, strict=True):
        if not p.truth and k is not None:
            by_kind[p.kind].append(not k)
    return FilterScore(
        filter=name,
        model=model,
        true_rows=len(t_keep),
        false_rows=len(f_keep),
        tpr=round(sum(t_keep) / max(1, len(t_keep)), 4),
        fpr=round(sum(f_keep) / max(1, len(f_keep)), 4),
        auc=auc(pos, neg),
        false_dropped_by_kind={k: round(sum(v) / len(v), 4) for k, v in sorted(by_kind.items())},
        unjudged=sum(1 for k in kept if k is None),
    )


def fresh(planted: list[Planted]) -> list[Record]:
    """Copies without verdicts or scores: each filter judges the rows on its own."""
    out = []
    for p in planted:
        r = copy.deepcopy(p.record)
        r.verdicts, r.scores = {}, {}
        out.append(r)
    return out


def run_deterministic(f, planted: list[Planted]) -> FilterScore:
    verdicts = f.judge(fresh(planted))
    kept = [None if v is None else v.keep for v in verdicts]
    return score_filter(f.name, False, planted, kept, [1.0 if k else 0.0 for k in kept])


async def grounding_votes(f: GroundingFilter, planted: list[Planted], on_done=None) -> tuple[list, list[float]]:
    """The model's own verdict on every row: 1 supported with a verified quote, 0.5 no usable judgement, 0 not
    supported (scores), and kept = supported with a verified quote (None: no chunk to judge against)."""
    rows = fresh(planted)
    assert f.client is not None

    async def one(r: Record) -> float | None:
        chunk = row_chunk(r, f.chunks)
        if chunk is None:
            return None
        opinion, _ = await f.ask(r, chunk)
        return {True: 1.0, None: 0.5, False: 0.0}[opinion]

    got = await f.client.map([lambda r=r: one(r) for r in rows], on_done=on_done)
    return [None if s is None else s == 1.0 for s in got], [0.0 if s is None else s for s in got]


async def judge_votes(f: LLMJudge, planted: list[Planted], on_done=None) -> tuple[list, list[float]]:
    """Rubric scores (unscored = 0); kept = score at or above the threshold. Scores only: no rationale is read."""
    rows = fresh(planted)
    got = await f.client.map([lambda r=r: f.judged(r, brief=True) for r in rows], on_done=on_done)
    return [kept for _, _, kept in got], [float(s) if s is not None else 0.0 for s, _, _ in got]


async def run_grounding(f: GroundingFilter, planted: list[Planted], on_done=None) -> FilterScore:
    kept, scores = await grounding_votes(f, planted, on_done)
    return score_filter(f.name, True, planted, kept, scores)


async def run_judge(f: LLMJudge, planted: list[Planted], on_done=None) -> FilterScore:
    kept, scores = await judge_votes(f, planted, on_done)
    return score_filter(f.name, True, planted, kept, scores)


def as_calibration(s: FilterScore, judge: str, template: str, cfg: CalibrationConfig) -> FilterCalibration:
    s.state = classify(s.auc, s.fpr, cfg)
    return FilterCalibration(
        filter=s.filter,
        judge=judge,
        template=template,
        true_rows=s.true_rows,
        false_rows=s.false_rows,
        tpr=s.tpr,
        fpr=s.fpr,
        auc=s.auc,
        state=s.state,
        false_dropped_by_kind=s.false_dropped_by_kind,
    )


def load_labels(path: Path) -> list[Planted]:
    """jsonl rows with question, answer and label (good/bad, true/false, 1/0) as planted rows; rows without a
    usable label are ignored. They carry no source: the caller matches them to chunks like seeds."""
    tab = read_jsonl(read_text_file(path, "labels file"))
    out = []
    for s in tab.seeds:
        label = str(s.extra.get("label", "")).strip().lower()
        if label not in ("good", "bad", "true", "false", "1", "0"):
            continue
        rec = Record(
            kind="qa",
            prompt=s.question or "",
            response=s.answer or "",
            origin="synthetic",
            teacher=PLANTED_TEACHER,
            strategy="planted:labelled",
            meta={"planted": "labelled", "line": str(s.line)},
        )
        out.append(Planted(rec, label in ("good", "true", "1"), "labelled", f"label:{s.line}"))
    return out


def one_class(planted: list[Planted]) -> str | None:
    """Why these rows cannot calibrate: with one class only every AUC reads 0.5, marking a working judge
    uninformative (not asked). None when both true and false rows are present."""
    true = sum(p.truth for p in planted)
    if true and true < len(planted):
        return None
    return f"calibration needs both true and false rows, got {true} true and {len(planted) - true} false"


async def calibrate(ws: Workspace, labels: Path | None = None, progress=None) -> CalibrationReport:
    """Plant true and false rows from the head's seeds (+ labelled rows), score them with every filter that can
    judge them alone, and store the model filters' results as their trust. `progress(client, n, name)` is a
    context manager factory yielding an on_done callback."""
    head = ws.head()
    if head is None:
        raise TetherError(f"{ws.root} has no versions yet: run `tether ingest` first")
    async with open_teacher(judge_config(ws.config), ws.store / "cache.sqlite") as client:
        return await calibrate_with(build_context(ws, head, ws.human_records(head), client), labels, progress)


def uncalibrated(ctx: BuildContext, names: Collection[str]) -> list[str]:
    """The model filters of `names` with no stored calibration for the context's judge and their template."""
    assert ctx.client is not None and ctx.store is not None
    store = CalibrationStore(ctx.store)
    j = ctx.cfg.filters.judge
    return [
        n
        for n in names
        if store.get(judge_key(n, ctx.client.identity, filter_method(n, ctx.templates[n].hash, j))) is None
    ]


async def calibrate_missing(
    ctx: BuildContext, progress=None, on_done=None, unneeded: Collection[str] = ()
) -> CalibrationReport | None:
    """Calibrate before filtering when an enabled model filter has no calibration for this judge and template
    (and `filters.calibration.auto` is on, and trust is decided by calibration). `ctx` needs its judge client
    and workspace store. Filters in `unneeded` will ask the model about no row of this run: calibrating them
    would cost minutes (grounding: 58 calls, 4.3 min of a 10-minute quickstart) and decide nothing, so they stay
    uncalibrated until a run needs them."""
    cfg = ctx.cfg
    if not cfg.filters.calibration.auto or cfg.filters.judge.trust != "calibrated":
        return None
    enabled = [n for n in MODEL_FILTERS if n in cfg.filters.enabled and n not in unneeded]
    seeds = [r for r in ctx.records if r.origin == "human"]
    if not enabled or len(seeds) < MIN_SEEDS or one_class(sample_balanced(plant(seeds), cfg.filters.calibration.seeds)):
        return None  # nothing to plant from: the funnel says so (filters/stage.py) and the judge stays veto-only
    missing = uncalibrated(ctx, enabled)
    if not missing:
        return None
    rep = await calibrate_with(ctx, None, progress, missing)
    if on_done:
        on_done(rep)
    return rep


async def calibrate_with(
    ctx: BuildContext, labels: Path | None, progress, names: Collection[str] = MODEL_FILTERS
) -> CalibrationReport:
    cfg, client = ctx.cfg, ctx.client
    assert client is not None and ctx.store is not None
    cal_cfg = cfg.filters.calibration
    seeds = [r for r in ctx.records if r.origin == "human"]
    if len(seeds) < MIN_SEEDS and labels is None:
        raise TetherError(
            f"{no_seeds_note(list(MODEL_FILTERS))}: planted rows are built from seed examples; ingest at least "
            f"{MIN_SEEDS}, or pass --labels with question/answer rows you labelled good or bad"
        )
    planted = sample_balanced(plant(seeds), cal_cfg.seeds) if len(seeds) >= MIN_SEEDS else []
    if labels is not None:
        finder = EvidenceFinder(ctx.chunks, match_source=True)
        for p in load_labels(labels):
            chunk, _ = finder.chunk_for(p.record)
            if chunk is not None:
                p.record.source = Source(doc_id=chunk.doc_id, chunk_id=chunk.chunk_id, start=chunk.start, end=chunk.end)
            planted.append(p)
    if why := one_class(planted):
        raise TetherError(f"{why}: add seed examples or labelled rows of the missing kind")
    t = ctx.templates
    grounding = GroundingFilter(client, t["grounding"], ctx.domain, ctx.chunks, 1.01, cfg.filters.grounding.lexical_min)
    # the judge measured is the one `tether filter` will ask, its score read the same way (expected, greedy or
    # votes: calibrated apart, under its own method hash)
    judge = LLMJudge.of(cfg.filters.judge, client, t["judge"], ctx.domain, ctx.chunks)
    ident = f"{client.identity.model}@{client.identity.digest or '-'}"
    models = {"grounding": (grounding, grounding_votes), "judge": (judge, judge_votes)}
    models = {n: m for n, m in models.items() if n in names}
    votes: dict[str, tuple[list[Planted], list, list[float]]] = {n: ([], [], []) for n in models}
    calls = {n: [0, 0] for n in models}  # asked, failed
    used: dict[str, int] = {}  # seeds each model filter was measured on
    open_ = list(models)
    seed_ids = list(dict.fromkeys(p.seed_id for p in planted if p.kind != "labelled"))
    batches = rounds(seed_ids, cal_cfg) or [[]]
    most = sum(len(b) for b in batches)  # seeds the rounds would plant from, all of them asked
    asked_rows: list[Planted] = []
    for k, batch in enumerate(batches):
        take = set(batch)
        rows = [p for p in planted if p.seed_id in take or (k == 0 and p.kind == "labelled")]
        asked_rows += rows
        seen = len({p.seed_id for p in asked_rows if p.kind != "labelled"})
        for name in list(open_):
            f, ask = models[name]
            asked, failed = client.stats.requests, client.stats.failed_calls
            label = f"calibrate {name}" + (f" (seeds {seen - len(batch) + 1}-{seen})" if len(batches) > 1 else "")
            with progress(client, len(rows), label) if progress else contextlib.nullcontext() as done:
                kept, sc = await ask(f, rows, on_done=done)
            calls[name][0] += client.stats.requests - asked
            calls[name][1] += client.stats.failed_calls - failed
            acc = votes[name]
            acc[0].extend(rows), acc[1].extend(kept), acc[2].extend(sc)
            used[name] = seen
            s = score_filter(name, True, *acc)
            if settled(s.auc, s.fpr, s.true_rows, s.false_rows, cal_cfg) is not None:
                open_.remove(name)  # its state cannot change with more rows: stop paying for them
            elif futile(s.auc, s.fpr, s.true_rows, s.false_rows, seen, most, cal_cfg):
                open_.remove(name)  # no number of rows left would settle it: the point estimate decides now
        if not open_:
            break
    scores = [run_deterministic(f, asked_rows) for f in build_filters(ctx, ["validity", "facts"])]
    store = CalibrationStore(ctx.store)
    for name in models:
        sc = score_filter(name, True, *votes[name])
        sc.seeds = used.get(name, 0)
        method = filter_method(name, t[name].hash, cfg.filters.judge)
        cal = as_calibration(sc, ident, method, cal_cfg)
        cal.asked, cal.answered = calls[name][0], calls[name][0] - calls[name][1]
        if not cal.measured():
            raise TeacherError(
                f"calibration of {name}: the judge answered {cal.answered} of {cal.asked} calls (at least "
                f"{MIN_ANSWERED:.0%} needed to measure it); nothing stored. Check it with `tether teacher check`"
            )
        store.save(judge_key(name, client.identity, method), cal)
        scores.append(sc)
    planted = asked_rows
    kinds: dict[str, int] = defaultdict(int)
    for p in planted:
        kinds[p.kind] += 1
    n_seeds = len({p.seed_id for p in planted if p.kind != "labelled"})
    report = CalibrationReport(judge=ident, seeds=n_seeds, planted=dict(kinds), filters=scores)
    (ctx.store / "reports" / "judge-calibration.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return report
