"""`tether fill`: generate until the concept gaps are filled, not until a volume target is hit.

Each round measures concept coverage (human rows + kept synthetic rows per concept), asks the teacher for new
questions grounded in the chunks mapped to every concept still below `per_concept`, runs the filters, and
measures again. It stops when every concept reaches the target, when the call budget is spent, or after
`rounds`; a concept left thin is reported with the reason: no chunk maps to it, its rows were all dropped
(with the filters' reasons), or the budget ran out.

Questions asked per missing row follow the measured keep rate of earlier rounds (first round: `oversample`), so
a weak teacher whose rows mostly fail the fact checks is asked more often rather than the loop stalling.
Resumable like every stage: job indices continue from the rows already in the workspace, and a crashed round's
teacher calls come back from the cache when it is run again.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from tether.embed.embedder import Embedder, workspace_embedder
from tether.errors import TetherError
from tether.filters.stage import FilterReport, run_filters
from tether.generate.jobs import new_question_jobs
from tether.generate.planner import calls_per_row
from tether.generate.stage import commit_generated, run_job_list
from tether.generate.strategies import Job
from tether.measure.concepts import ConceptCoverageReport, concept_coverage
from tether.measure.context import concept_matcher
from tether.seeds.ontology import Ontology, load_ontology
from tether.workspace.store import Workspace


class ConceptFill(BaseModel):
    name: str
    before: int  # human + kept synthetic rows when the loop started
    after: int
    asked: int = 0  # new questions asked of the teacher for it
    kept: int = 0  # of those, kept by the filters
    dropped: dict[str, int] = {}  # filter:reason -> rows, for its rows asked in this loop
    chunks: int = 0
    why: str = ""  # empty when it reached the target


class FillReport(BaseModel):
    per_concept: int
    budget: int
    spent: int  # teacher calls sent (generation + filters); cache hits are free
    rounds: int
    stopped: str  # "filled" | "budget" | "rounds" | "no_progress" (a round kept no new row)
    concepts: list[ConceptFill]
    versions: list[str] = []

    def thin(self) -> list[ConceptFill]:
        return [c for c in self.concepts if c.after < self.per_concept]


@dataclass
class _Tally:
    asked: Counter[str] = field(default_factory=Counter)
    rows: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # concept -> row ids asked


def _measure(ws: Workspace, ontology: Ontology, per_concept: int, embedder: Embedder) -> ConceptCoverageReport:
    head = ws.head()
    assert head is not None
    chunks = ws.chunks(head)
    matcher = concept_matcher(ws, ontology, chunks, embedder)
    return concept_coverage(ontology, matcher, ws.records(head), chunks, thin=per_concept)


def _jobs(ws: Workspace, cov: ConceptCoverageReport, per_concept: int, keep_rate: float, remaining: int) -> list[Job]:
    """New-question jobs for every concept below target, spread over its chunks (least-used chunk first).

    Numbering continues after the new-question rows each chunk already has, so every request is new; jobs come
    round-robin over chunks (hence over concepts), so a budget that runs out mid-round spreads its loss."""
    head = ws.head()
    assert head is not None
    records = ws.records(head)
    seeds = [r for r in records if r.origin == "human"]
    by_id = {c.chunk_id: c for c in ws.chunks(head)}
    used: Counter[str] = Counter(
        r.source.chunk_id for r in records if r.strategy == "new_question" and r.source and r.source.chunk_id
    )
    planned: Counter[str] = Counter()
    chunks, counts, concepts = [], [], []
    for c in sorted(cov.concepts, key=lambda c: (c.rows, c.name)):
        missing = per_concept - c.rows
        if missing <= 0 or not c.chunk_ids:
            continue
        asks: Counter[str] = Counter()
        for _ in range(min(math.ceil(missing / max(keep_rate, 0.05)), missing * 20)):
            cid = min(c.chunk_ids, key=lambda k: (used[k] + planned[k], c.chunk_ids.index(k)))
            asks[cid] += 1
            planned[cid] += 1
        for cid, n in asks.items():
            chunks.append(by_id[cid])
            counts.append(n)
            concepts.append(c.name)
    jobs = new_question_jobs(chunks, counts, seeds, ws.config.generate, concepts, first_index=dict(used))
    return jobs[:remaining]


def run_fill(
    ws: Workspace,
    per_concept: int | None = None,
    budget: int | None = None,
    rounds: int | None = None,
    generation: int = 1,
    progress=None,
    on_round: Callable[[int, ConceptCoverageReport, int], None] | None = None,
    on_filter: Callable[[FilterReport], None] | None = None,
) -> FillReport:
    """The closed loop. `on_round(round, coverage, questions)` before each round's generation."""
    cfg = ws.config
    f = cfg.fill
    per_concept = per_concept or f.per_concept
    budget = budget or f.budget
    rounds = rounds or f.rounds
    if cfg.ontology is None:
        raise TetherError("tether fill aims at ontology concepts: run `tether ontology suggest` (or set `ontology:`)")
    if ws.head() is None:
        raise TetherError(f"{ws.root} has no versions yet: run `tether ingest` first")
    ontology = load_ontology(cfg.ontology)
    embedder = workspace_embedder(ws)  # one model load for every round's measurement
    start = cov = _measure(ws, ontology, per_concept, embedder)
    tally = _Tally()
    spent, done, versions = 0, 0, []
    keep_rate = 1.0 / f.oversample
    filter_per_row = 1.0  # filter calls per generated row (a guess until the first round measures it)
    stopped = "rounds"
    for rnd in range(1, rounds + 1):
        if all(c.rows >= per_concept or not c.chunk_ids for c in cov.concepts):
            stopped = "filled"
            break
        remaining = budget - spent
        per_row = calls_per_row("new_questions", cfg.generate)
        gen_budget = int(remaining * per_row / (per_row + filter_per_row))
        jobs = _jobs(ws, cov, per_concept, keep_rate, int(gen_budget / per_row))
        if not jobs or gen_budget < 1:
            stopped = "budget"
            break
        if on_round:
            on_round(rnd, cov, len(jobs))
        rows, usage, run_id = run_job_list(ws, jobs, gen_budget, generation, progress)
        for j, r in zip(jobs, rows, strict=True):
            tally.asked[j.concept or ""] += 1
            tally.rows[j.concept or ""].append(r.id)
        head = ws.head()
        assert head is not None
        notes = {"round": rnd, "budget": gen_budget, "per_concept": per_concept, "generation": generation}
        man, _, fresh = commit_generated(ws, head, rows, run_id, "fill", notes, usage)
        vid = man.id if fresh else None
        gen_calls = usage.get("calls", 0)
        rep = run_filters(ws, progress=progress)
        if on_filter:
            on_filter(rep)
        filter_calls = rep.usage.get("calls", 0)
        spent += gen_calls + filter_calls
        versions += [v for v in (vid, rep.version) if v]
        filter_per_row = filter_calls / max(len(rows), 1)
        before = sum(c.synthetic for c in cov.concepts)
        cov = _measure(ws, ontology, per_concept, embedder)
        gained = sum(c.synthetic for c in cov.concepts) - before
        keep_rate = max(gained / max(len(rows), 1), 0.05)
        done = rnd
        if gained <= 0:
            # a round that kept nothing would only repeat itself with the rest of the budget: stop and say why
            stopped = "no_progress"
            break
        if spent >= budget:
            stopped = "budget"
            break
    else:
        if all(c.rows >= per_concept or not c.chunk_ids for c in cov.concepts):
            stopped = "filled"
    return FillReport(
        per_concept=per_concept,
        budget=budget,
        spent=spent,
        rounds=done,
        stopped=stopped,
        concepts=_explain(ws, start, cov, tally, per_concept, stopped),
        versions=versions,
    )


def _explain(
    ws: Workspace,
    start: ConceptCoverageReport,
    end: ConceptCoverageReport,
    tally: _Tally,
    per_concept: int,
    stopped: str,
) -> list[ConceptFill]:
    head = ws.head()
    assert head is not None
    by_id = {r.id: r for r in ws.records(head)}
    out = []
    for c0 in start.concepts:
        c1 = end.get(c0.name)
        dropped: Counter[str] = Counter()
        kept = 0
        for rid in tally.rows.get(c0.name, []):
            r = by_id.get(rid)
            if r is None:
                continue
            if r.kept:
                kept += 1
            else:
                name, v = next((n, v) for n, v in r.verdicts.items() if not v.keep)
                dropped[f"{name}:{v.reason}"] += 1
        why = ""
        if c1.rows < per_concept:
            if not c1.chunk_ids:
                why = "no source chunk: no document maps to this concept (add documents, or keywords to the ontology)"
            elif tally.asked[c0.name] and not kept:
                top = ", ".join(f"{k} ({n})" for k, n in dropped.most_common(3))
                why = f"all {tally.asked[c0.name]} new questions were dropped: {top}"
            elif stopped == "budget":
                why = f"budget spent after {tally.asked[c0.name]} questions ({kept} kept)"
            else:
                why = f"{stopped}: {tally.asked[c0.name]} questions asked, {kept} kept"
        out.append(
            ConceptFill(
                name=c0.name,
                before=c0.rows,
                after=c1.rows,
                asked=tally.asked[c0.name],
                kept=kept,
                dropped=dict(dropped),
                chunks=c1.chunks,
                why=why,
            )
        )
    return out
