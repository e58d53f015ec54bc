"""The budget planner: from a teacher-call budget to a strategy mix, before spending anything.

The query budget ratio BR = budget / seed count decides (Chan et al., arXiv 2409.19759): with few calls per seed,
more answers to the real questions (answer augmentation) help most; past BR of roughly 12-50 new questions win and
keep improving with a strong teacher; rephrasing is the robust choice for a weak teacher. Between 12 and 50 the
mix shifts linearly from augmentation to new questions.

No seeds is a supported start (most users arrive with a folder of documents and few or no examples): BR is then
unbounded, and the only strategy that needs no seed, new questions written from the document chunks, gets the
whole budget. Answer augmentation and rephrasing start from a seed question, so with no seed their share is 0.
A few seeds make BR large and the ordinary rules apply.

The BR rule treats the seeds as the distribution to match. tether's target is the documents' facts, and a fact in
a chunk no seed was taken from reaches the student only through a new question: augmenting or rephrasing a seed
restates that seed's facts (measured: a 0.5B teacher's 25 kept rows, all augmentations and rephrasings, moved
held-out accuracy by +0.01). So the planner's new-question share is at least the share of fact-bearing chunks no
seed comes from (`uncovered`), up to MIX_HIGH's share; a workspace that measured new questions as barren still
moves their share away.
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from tether.config import GenerateConfig, Strategy

STRATEGIES: tuple[Strategy, ...] = ("augment", "rephrase", "new_questions", "multi_hop")
BR_LOW, BR_HIGH = 12.0, 50.0
# questions that need two passages come only once there are calls to spare beyond one question per fact
MIX_LOW = {"augment": 0.70, "rephrase": 0.20, "new_questions": 0.10, "multi_hop": 0.0}
MIX_HIGH = {"augment": 0.10, "rephrase": 0.15, "new_questions": 0.65, "multi_hop": 0.10}

# Share of generated rows the quality filters typically drop, per strategy: an estimate for the forecast until
# this workspace's own filter runs have measured it. New questions lose most (unanswerable, ungrounded).
TYPICAL_LOSS = {"augment": 0.15, "rephrase": 0.20, "new_questions": 0.35, "multi_hop": 0.35}
# Structured calls that need one more parse attempt (budget reserved for them so the plan stays within budget).
PARSE_RETRY_ALLOWANCE = 0.10


def choose_mix(br: float, weak: bool) -> tuple[dict[str, float], str]:
    """Strategy shares for a budget ratio, and the reason in words."""
    if br <= BR_LOW:
        mix, why = dict(MIX_LOW), f"BR {br:.1f} <= {BR_LOW:g}: mostly answer augmentation"
    elif br >= BR_HIGH:
        mix, why = dict(MIX_HIGH), f"BR {br:.1f} >= {BR_HIGH:g}: mostly new questions"
    else:
        t = (br - BR_LOW) / (BR_HIGH - BR_LOW)
        mix = {s: (1 - t) * MIX_LOW[s] + t * MIX_HIGH[s] for s in STRATEGIES}
        why = f"BR {br:.1f} between {BR_LOW:g} and {BR_HIGH:g}: shifting from augmentation to new questions"
    if weak:
        moved = mix["new_questions"] / 2
        mix["new_questions"] -= moved
        mix["rephrase"] += moved
        why += "; weak teacher: half of the new-question share moved to rephrasing"
        if mix["multi_hop"] > 0:
            # measured with the 0.5B: 14 calls, 6 questions, each about one of its two sentences (issue 23)
            mix["new_questions"] += mix["multi_hop"]
            mix["multi_hop"] = 0.0
            why += " and multi-hop questions' to new questions (a weak teacher asks about one passage)"
    return mix, why


def cover_uncovered(mix: dict[str, float], uncovered: float) -> str:
    """Raise the new-question share (in place) to the share of fact-bearing chunks no seed comes from, capped at
    MIX_HIGH's share of questions from chunks (new and multi-hop); the other strategies shrink in proportion.
    Returns the rationale's addition ('' when unchanged)."""
    floor = min(max(uncovered, 0.0), MIX_HIGH["new_questions"] + MIX_HIGH["multi_hop"])  # questions from chunks
    if mix["new_questions"] >= floor - 1e-9:
        return ""
    rest = 1.0 - mix["new_questions"]
    for s in STRATEGIES:
        if s != "new_questions":
            mix[s] *= (1.0 - floor) / rest if rest > 0 else 0.0
    mix["new_questions"] = floor
    return f"; {uncovered:.0%} of the fact-bearing chunks hold no seed: new questions get {floor:.0%}"


def calls_per_row(strategy: str, g: GenerateConfig) -> float:
    """Teacher calls one finished row costs, parse-retry allowance included."""
    if strategy == "augment":
        structured = g.cot_share  # reasoning traces are structured (reasoning + answer)
        return g.best_of * (1 + PARSE_RETRY_ALLOWANCE * structured)
    if strategy == "rephrase":
        return (1 + PARSE_RETRY_ALLOWANCE) + g.best_of  # paraphrase (structured) + answer(s)
    if strategy == "multi_hop":
        return 1 + PARSE_RETRY_ALLOWANCE  # the question (structured); the answer is the two sentences
    structured = 1 + (1 if g.self_check else 0)  # question+answer, self-check
    return structured * (1 + PARSE_RETRY_ALLOWANCE) + g.preference_share


class StrategyPlan(BaseModel):
    strategy: str
    share: float
    rows: int
    calls: int  # expected calls (rows x calls per row, rounded up)
    kept_rows: int  # after typical filter losses


class Plan(BaseModel):
    budget: int
    seeds: int
    br: float | None  # None: no seeds, the budget ratio is unbounded
    weak_teacher: bool
    mix_source: str  # "planner" or "config"
    rationale: str
    strategies: list[StrategyPlan]

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.strategies)

    def rows(self, strategy: str) -> int:
        return next((s.rows for s in self.strategies if s.strategy == strategy), 0)


def make_plan(
    budget: int,
    seeds: int,
    g: GenerateConfig,
    weak: bool,
    have_chunks: bool,
    extractive: bool = False,
    barren: dict[str, str] | None = None,
    uncovered: float = 0.0,
    links: int | None = None,
) -> Plan:
    """The strategy mix and rows for a budget.

    With extractive answers, a seed question has one right answer in its chunk, so more than one augmented answer
    per seed would repeat it: augmentation is capped at one row per seed and the rest of its share goes to the
    other strategies. `barren` names strategies this workspace measured to keep (almost) no rows, with the reason:
    the planner's mix gives them nothing (a configured mix is left alone). `links`: chunk pairs a multi-hop
    question can join (`generate.multi_hop.find_links`; None: not counted), at most one row each. Budget no
    strategy can use is left unspent, and the rationale says so."""
    barren = barren or {}
    if seeds <= 0:
        if not have_chunks:
            raise ValueError(
                "nothing to generate from: no seed examples and no document chunks (run `tether ingest` on a folder "
                "of documents; seed examples are optional)"
            )
        return _documents_only(budget, g, weak, barren, links)
    br = budget / seeds
    if g.mix is not None:
        total = sum(g.mix.values())
        mix = {s: g.mix.get(s, 0.0) / total for s in STRATEGIES}
        source, why = "config", f"BR {br:.1f}; mix from generate.mix in tether.yaml"
    else:
        mix, why = choose_mix(br, weak)
        source = "planner"
        if have_chunks:
            why += cover_uncovered(mix, uncovered)
    if not have_chunks and mix["new_questions"] + mix["multi_hop"] > 0:
        moved = mix["new_questions"] + mix["multi_hop"]
        mix["new_questions"] = mix["multi_hop"] = 0.0
        mix["augment"] += moved
        why += "; no document chunks: new questions need chunks, share moved to augmentation"
    if source == "planner":
        for s, reason in barren.items():
            if mix.get(s, 0) > 0:
                moved, mix[s] = mix[s], 0.0
                live = [t for t in STRATEGIES if mix[t] > 0 and t not in barren]
                for t in live:
                    mix[t] += moved * mix[t] / sum(mix[u] for u in live)
                why += f"; {s} {reason}: its share moved to {', '.join(live) or 'nothing'}"
    per_row = {s: calls_per_row(s, g) for s in STRATEGIES}
    caps = {"augment": seeds} if extractive else {}
    if links is not None:
        caps["multi_hop"] = links
        if mix["multi_hop"] > 0 and links == 0:
            why += "; no two chunks name the same thing: no multi-hop questions"
    caps.update({s: 0 for s in barren if source == "planner"})
    if extractive and budget * mix["augment"] / per_row["augment"] > seeds:
        keep = seeds * per_row["augment"] / budget
        live = [
            t
            for t in STRATEGIES
            if t != "augment" and caps.get(t, budget) > 0 and (t not in ("new_questions", "multi_hop") or have_chunks)
        ]
        live = [t for t in live if mix[t] > 0]  # never add a strategy the mix left out (multi-hop at a low BR)
        for t in live:
            mix[t] += (mix["augment"] - keep) / len(live)
        why += "; extractive answers: at most one augmented answer per seed (more would copy the same sentence)" + (
            f", the rest to {', '.join(live)}" if live else ", the rest of the budget unspent"
        )
        mix["augment"] = keep
    return _fill(budget, seeds, round(br, 2), weak, source, why, mix, per_row, caps)


def _documents_only(
    budget: int, g: GenerateConfig, weak: bool, barren: dict[str, str], links: int | None = None
) -> Plan:
    """No seeds: every call goes to questions written from chunks: new questions, and multi-hop ones when
    generate.mix asks for them. A mix in tether.yaml that leaves both out gets nothing (the user's mix is never
    overridden); a measured low keep rate is said, not acted on, since no other strategy could take the budget."""
    why = "no seeds: new questions from chunks only (answer augmentation and rephrasing need seed questions)"
    source = "config" if g.mix is not None else "planner"
    mix = {"augment": 0.0, "rephrase": 0.0, "new_questions": 1.0, "multi_hop": 0.0}
    if g.mix is not None:
        chunked = {s: g.mix.get(s, 0.0) for s in ("new_questions", "multi_hop")}
        total = sum(chunked.values())
        if total <= 0:
            mix["new_questions"] = 0.0
            why += "; generate.mix in tether.yaml gives new questions no share: nothing to generate"
        else:
            mix.update({s: v / total for s, v in chunked.items()})
            why += "; generate.mix in tether.yaml: only its shares of questions from chunks can be used"
    elif weak:
        why += "; weak teacher: its usual rephrasing share needs seeds too"
    if mix["new_questions"] and "new_questions" in barren:
        why += f"; note: new_questions {barren['new_questions']} (seed examples would open the other strategies)"
    per_row = {s: calls_per_row(s, g) for s in STRATEGIES}
    caps = {"augment": 0, "rephrase": 0, **({"multi_hop": links} if links is not None else {})}
    return _fill(budget, 0, None, weak, source, why, mix, per_row, caps)


def _fill(
    budget: int,
    seeds: int,
    br: float | None,
    weak: bool,
    source: str,
    why: str,
    mix: dict[str, float],
    per_row: dict[str, float],
    caps: dict[str, int],
) -> Plan:
    """Rows per strategy from the shares: as many as the budget pays for, calls rounded up, leftovers spent."""
    rows = {s: min(math.floor(budget * mix[s] / per_row[s]), caps.get(s, budget)) for s in STRATEGIES}

    def spent() -> int:
        return sum(math.ceil(rows[s] * per_row[s]) for s in STRATEGIES)

    while spent() > budget:  # each strategy's calls round up: trim the largest until the total fits
        rows[max(STRATEGIES, key=lambda s: rows[s])] -= 1
    # rounding down leaves calls unused: give them to the strategies in order of share while they fit
    for s in sorted((s for s in STRATEGIES if mix[s] > 0), key=lambda s: -mix[s]):
        while True:
            rows[s] += 1
            if spent() > budget or rows[s] > caps.get(s, budget):
                rows[s] -= 1
                break
    plans = [
        StrategyPlan(
            strategy=s,
            share=round(mix[s], 4),
            rows=rows[s],
            calls=math.ceil(rows[s] * per_row[s]),
            kept_rows=round(rows[s] * (1 - TYPICAL_LOSS[s])),
        )
        for s in STRATEGIES
    ]
    return Plan(
        budget=budget,
        seeds=seeds,
        br=br,
        weak_teacher=weak,
        mix_source=source,
        rationale=why,
        strategies=plans,
    )
