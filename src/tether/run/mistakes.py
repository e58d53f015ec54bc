"""`tether generate --target mistakes`: the next budget on the facts a trained student missed in its last probe.

The planner spreads a budget over seeds and chunks by the budget ratio; it cannot know which facts the student
already learned. The probe (`evaluate/probe.py`) does: it asks the student training rows back and lists the rows
whose facts the reply did not state. A fact a student saw once in one wording is one it often did not learn
(measured on the example domain: one wording of each fact-bearing sentence scored 0.07 held-out accuracy, three
rewordings of each question 0.42; README, Evaluation), so each missed row gets, in turn:

1. a new question written for the sentence that states its answer (strategy `new_question`, focus: that
   sentence), and
2. a paraphrase of its question, answered again from its chunk (strategy `rephrase`, parent: the missed row),

round-robin over the missed rows until the budget is spent, so a small budget reaches every miss once before any
gets a second. New questions come first: on the example domain with the 0.5B teacher, 5 of 12 targeted new
questions were kept and 1 of 22 paraphrases (15 handed the question back unchanged). A workspace whose filter
runs measured paraphrases as barren (the planner's rule, `generate.stage.BARREN_RATE`) gets none. Job numbers
continue after the rows each parent and chunk already has, so every request is new (and a crashed run's calls
come back from the cache). The rows go through the same filters as any others.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tether.errors import TetherError
from tether.evaluate.probe import latest_probe
from tether.generate.jobs import few_shot
from tether.generate.measured import measured_rates
from tether.generate.planner import calls_per_row
from tether.generate.stage import BARREN_RATE, commit_generated, run_job_list
from tether.generate.strategies import Job
from tether.records import Record
from tether.text import support
from tether.text.focus import focus_sentences
from tether.text.sentences import snap_to_text
from tether.workspace.store import Manifest, Workspace

# a missed row gets at most this many new rows (new questions and paraphrases, alternating)
MAX_PER_MISS = 6


@dataclass
class MistakesReport:
    probe: str  # the probe's key
    probed: int
    missed: int
    jobs: int
    rows: list[Record] = field(default_factory=list)
    usage: dict = field(default_factory=dict)
    version: Manifest | None = None
    created: bool = False

    @property
    def by_strategy(self) -> Counter[str]:
        return Counter(r.strategy or "" for r in self.rows)


def answer_sentence(answer: str, chunk_text: str) -> str:
    """The sentence of the chunk that states `answer`: the answer itself when it is one, else the chunk's focus
    sentence that holds most of its words."""
    snapped, _ = snap_to_text(answer, chunk_text)
    if snapped is not None:
        return snapped
    candidates = focus_sentences(chunk_text)
    return max(candidates, key=lambda s: support(answer, s)) if candidates else chunk_text


def mistake_jobs(ws: Workspace, probe: dict, budget: int) -> list[Job]:
    """Jobs for the probe's missed rows that still exist in the head version, within `budget` teacher calls."""
    head = ws.head()
    assert head is not None
    g = ws.config.generate
    records = ws.records(head)
    by_id = {r.id: r for r in records}
    chunks = {c.chunk_id: c for c in ws.chunks(head)}
    seeds = [r for r in records if r.origin == "human"]
    missed = [it for it in probe["items"] if not it["known"] and it["row_id"] in by_id]
    paraphrased = Counter(r.parents[0] for r in records if r.strategy == "rephrase" and r.parents)
    asked = Counter(
        r.source.chunk_id for r in records if r.strategy == "new_question" and r.source and r.source.chunk_id
    )
    cost = {"rephrase": calls_per_row("rephrase", g), "new_questions": calls_per_row("new_questions", g)}
    rates = measured_rates(ws)
    kinds = ["new_questions"] + (["rephrase"] if rates.keep.get("rephrase", 1.0) >= BARREN_RATE else [])
    focus = {  # the sentence each miss's new questions are written for, found once per miss
        it["row_id"]: answer_sentence(by_id[it["row_id"]].answer(), chunks[it["chunk_id"]].text)
        for it in missed
        if it["chunk_id"] in chunks
    }
    jobs: list[Job] = []
    spent = 0.0
    for depth in range(MAX_PER_MISS):
        for it in missed:
            row = by_id[it["row_id"]]
            chunk = chunks.get(it["chunk_id"])
            if kinds[depth % len(kinds)] == "rephrase":
                job = Job("rephrase", paraphrased[row.id], seed=row)
            elif chunk is not None:
                concept = row.concepts[0] if row.concepts else None
                job = Job(
                    "new_questions",
                    asked[chunk.chunk_id],
                    chunk=chunk,
                    concept=concept,
                    examples=few_shot(seeds, concept, len(jobs), g.few_shot, chunk.doc_id),
                    focus=focus[row.id],
                )
            else:
                continue
            if spent + cost[job.strategy] > budget:
                return jobs
            spent += cost[job.strategy]
            if job.strategy == "rephrase":
                paraphrased[row.id] += 1
            else:
                asked[it["chunk_id"]] += 1
            jobs.append(job)
    return jobs


def generate_for_mistakes(ws: Workspace, budget: int, generation: int = 1, progress=None) -> MistakesReport:
    """One targeted generation from the latest probe: jobs, teacher calls (at most `budget`), a new version."""
    if budget < 1:
        raise TetherError("--budget must be at least 1 teacher call")
    head = ws.head()
    if head is None:
        raise TetherError(f"{ws.root} has no versions yet: run `tether ingest` first")
    probe = latest_probe(ws)
    missed = sum(not it["known"] for it in probe["items"])
    report = MistakesReport(probe=probe["key"], probed=len(probe["items"]), missed=missed, jobs=0)
    if not missed:
        return report
    jobs = mistake_jobs(ws, probe, budget)
    report.jobs = len(jobs)
    if not jobs:
        raise TetherError(
            f"the probe's {missed} missed rows are not in the head version (or the budget pays for no call): "
            "run `tether probe` again on the latest student"
        )
    rows, usage, run_id = run_job_list(ws, jobs, budget, generation, progress)
    notes = {"target": "mistakes", "probe": probe["key"], "missed": missed, "budget": budget, "generation": generation}
    man, created, _ = commit_generated(ws, head, rows, run_id, "generate", notes, usage)
    report.rows, report.usage, report.version, report.created = rows, usage, man, created
    return report
