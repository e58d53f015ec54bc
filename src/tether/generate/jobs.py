"""Turn a plan into concrete, deterministic jobs.

Deterministic matters: the same plan over the same seeds and chunks gives the same jobs, hence the same
requests and cache keys, so re-running `tether generate` costs zero teacher calls.

New questions go first to chunks about the concepts with the fewest seeds (the audit's gaps), each job naming
that concept so the prompt can target it.
"""

from __future__ import annotations

from tether.config import GenerateConfig
from tether.documents import Chunk
from tether.generate.planner import Plan
from tether.generate.strategies import Job, spread
from tether.records import Record


def chunk_order(
    chunks: list[Chunk], chunk_concepts: dict[str, list[str]], seed_counts: dict[str, int]
) -> list[tuple[Chunk, str | None]]:
    """Chunks with their least-covered concept, least-covered first; chunks with no concept come last."""
    ranked = []
    for pos, c in enumerate(chunks):
        concepts = chunk_concepts.get(c.chunk_id, [])
        if concepts:
            target = min(concepts, key=lambda k: (seed_counts.get(k, 0), k))
            ranked.append(((0, seed_counts.get(target, 0), pos), c, target))
        else:
            ranked.append(((1, 0, pos), c, None))
    return [(c, t) for _, c, t in sorted(ranked, key=lambda r: r[0])]


def few_shot(seeds: list[Record], concept: str | None, start: int, k: int) -> list[Record]:
    """k seeds as style examples: those about the concept first, rotating with the job index."""
    if k == 0 or not seeds:
        return []
    pool = [s for s in seeds if concept and concept in s.concepts] or seeds
    others = [s for s in seeds if s not in pool]
    ordered = pool[start % len(pool) :] + pool[: start % len(pool)] + others
    return ordered[:k]


def build_jobs(
    plan: Plan,
    seeds: list[Record],
    chunks: list[Chunk],
    g: GenerateConfig,
    chunk_concepts: dict[str, list[str]] | None = None,
    seed_counts: dict[str, int] | None = None,
) -> list[Job]:
    n = len(seeds)
    augment = [
        Job("augment", i // n, seed=seeds[i % n], cot=g.cot_share > 0 and spread(i, g.cot_share))
        for i in range(plan.rows("augment"))
    ]
    rephrase = [Job("rephrase", i // n, seed=seeds[i % n]) for i in range(plan.rows("rephrase"))]
    order = chunk_order(chunks, chunk_concepts or {}, seed_counts or {})
    new = []
    for i in range(plan.rows("new_questions")):
        chunk, concept = order[i % len(order)]
        new.append(
            Job(
                "new_questions",
                i // len(order),
                chunk=chunk,
                concept=concept,
                preference=g.preference_share > 0 and spread(i, g.preference_share),
                examples=few_shot(seeds, concept, i, g.few_shot),
            )
        )
    return interleave([augment, rephrase, new])


def interleave(groups: list[list[Job]]) -> list[Job]:
    """Merge the strategies' job lists evenly (job k of n at position (k + 0.5) / n), so that if the hard budget
    runs out early (more parse retries than planned) every strategy loses a little, not the last one everything.
    Order does not affect cache keys, only which jobs run first."""
    keyed = [((k + 0.5) / len(g), gi, job) for gi, g in enumerate(groups) for k, job in enumerate(g)]
    return [job for _, _, job in sorted(keyed, key=lambda t: (t[0], t[1]))]
