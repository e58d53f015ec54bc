"""Turn a plan into concrete, deterministic jobs.

Deterministic matters: the same plan over the same seeds and chunks gives the same jobs, hence the same
requests and cache keys, so re-running `tether generate` costs zero teacher calls.

New questions go first to chunks about the concepts with the fewest seeds (the audit's gaps), each job naming
that concept so the prompt can target it. Within a tier chunks are taken round-robin over documents (every
document's first chunk, then every document's second, ...), so a budget smaller than the chunk count still
reaches every document instead of exhausting the first few; with no ontology that is the whole order.

`new_question_jobs` / `new_questions_from_chunks` ask a given number of new questions of an explicit list of
chunks: the planner's jobs are built with it, and a caller that chose its own chunks (the concept-aimed fill
loop) uses the same path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from tether.config import GenerateConfig
from tether.documents import Chunk
from tether.generate.job import GenContext, Job, spread
from tether.generate.multi_hop import Link, multi_hop_jobs
from tether.generate.planner import Plan
from tether.generate.strategies import run_new_question
from tether.records import Record
from tether.text.focus import fact_bearing, focus_for, focus_sentences, focus_walk


def round_robin(chunks: Sequence[Chunk]) -> list[int]:
    """Each chunk's position when documents take turns: (its rank within its document, its document's first
    appearance), as sort keys in the input's order."""
    seen: Counter[str] = Counter()
    doc_pos: dict[str, int] = {}
    keys = []
    for c in chunks:
        doc_pos.setdefault(c.doc_id, len(doc_pos))
        keys.append((seen[c.doc_id], doc_pos[c.doc_id]))
        seen[c.doc_id] += 1
    ranked = sorted(range(len(chunks)), key=lambda i: keys[i])
    pos = [0] * len(chunks)
    for rank, i in enumerate(ranked):
        pos[i] = rank
    return pos


def seeded_chunks(seeds: Sequence[Record]) -> set[str]:
    """Ids of the chunks the seeds were taken from."""
    return {s.source.chunk_id for s in seeds if s.source and s.source.chunk_id}


def chunk_order(
    chunks: list[Chunk],
    chunk_concepts: dict[str, list[str]],
    seed_counts: dict[str, int],
    seeded: Collection[str] = (),
) -> list[tuple[Chunk, str | None]]:
    """Chunks with their least-covered concept, least-covered first; chunks with no concept come last; documents
    take turns within each tier. Within a tier, chunks no seed was taken from come before seeded ones (their facts
    reach the student only through new questions), and chunks without a fact-bearing sentence go last of all."""
    turn = round_robin(chunks)
    ranked = []
    for pos, c in enumerate(chunks):
        concepts = chunk_concepts.get(c.chunk_id, [])
        factless, has_seed = not fact_bearing(c.text), c.chunk_id in seeded
        if concepts:
            target = min(concepts, key=lambda k: (seed_counts.get(k, 0), k))
            ranked.append(((factless, 0, has_seed, seed_counts.get(target, 0), turn[pos]), c, target))
        else:
            ranked.append(((factless, 1, has_seed, 0, turn[pos]), c, None))
    return [(c, t) for _, c, t in sorted(ranked, key=lambda r: r[0])]


def question_counts(chunks: Sequence[Chunk], rows: int, per_fact: int = 1) -> list[int]:
    """New questions per chunk for `rows` in all: a round gives one more to every chunk that still has a focus
    sentence not asked about, in the given order, so a long chunk of facts gets a question per fact before a
    one-fact chunk is asked again. Once every sentence is asked, rounds go over the fact-bearing sentences again
    until each has `per_fact` questions (focus.focus_walk), and then over all chunks: breadth first, so a small
    budget covers every fact once before any gets a second wording."""
    counts = [0] * len(chunks)
    if not chunks:
        return counts
    caps = [
        [len(focus_sentences(c.text)) for c in chunks],
        [len(focus_walk(c.text, per_fact)) for c in chunks],
    ]
    for cap in [*caps, None]:
        while rows > 0:
            takers = [i for i in range(len(chunks)) if cap is None or counts[i] < cap[i]]
            if not takers:
                break
            for i in takers:
                if rows == 0:
                    break
                counts[i] += 1
                rows -= 1
    return counts


def few_shot(seeds: list[Record], concept: str | None, start: int, k: int, doc_id: str | None = None) -> list[Record]:
    """k seeds as style examples, rotating with the job index, none from the chunk's own document (`doc_id`).

    Examples show the form of a pair, not its content: a seed about the same text is a ready answer to copy, and
    small teachers do (Qwen2.5-0.5B copied a same-concept seed on 5 of 7 new-question calls). Seeds of the same
    concept from other documents come first, then any other document's."""
    if k == 0 or not seeds:
        return []
    elsewhere = [s for s in seeds if doc_id is None or s.source is None or s.source.doc_id != doc_id] or seeds
    pool = [s for s in elsewhere if concept and concept in s.concepts] or elsewhere
    others = [s for s in elsewhere if s not in pool]
    ordered = pool[start % len(pool) :] + pool[: start % len(pool)] + others
    return ordered[:k]


def new_question_jobs(
    chunks: Sequence[Chunk],
    per_chunk: int | Sequence[int],
    seeds: Sequence[Record],
    g: GenerateConfig,
    concepts: str | Sequence[str | None] | None = None,
    first_index: Mapping[str, int] | None = None,
) -> list[Job]:
    """Jobs asking `per_chunk` new questions of each of `chunks` (one count for all, or one per chunk).

    Emitted round-robin (every chunk's first question, then every chunk's second, ...) so a budget that runs out
    early still covers every chunk. `concepts` names the topic each job targets (one for all, or one per chunk).
    A chunk's jobs are numbered from `first_index[chunk_id]` (default 0) up: the number is the variant asked for
    and part of the cache key, so a caller that already holds a chunk's first k questions passes k to get new ones
    instead of cache hits. Few-shot examples are `g.few_shot` seeds (rotating), or none, and then the prompt shows
    the built-in style guide instead (questions.examples_block)."""
    counts = [per_chunk] * len(chunks) if isinstance(per_chunk, int) else list(per_chunk)
    targets = [concepts] * len(chunks) if concepts is None or isinstance(concepts, str) else list(concepts)
    if len(counts) != len(chunks) or len(targets) != len(chunks):
        raise ValueError(f"{len(chunks)} chunks but {len(counts)} counts and {len(targets)} concepts")
    if any(n < 0 for n in counts):
        raise ValueError("a chunk's question count cannot be negative")
    pool = list(seeds)
    nxt: Counter[str] = Counter(first_index or {})
    jobs: list[Job] = []
    for r in range(max(counts, default=0)):
        for chunk, n, concept in zip(chunks, counts, targets, strict=True):
            if r >= n:
                continue
            i = len(jobs)
            jobs.append(
                Job(
                    "new_questions",
                    nxt[chunk.chunk_id],
                    chunk=chunk,
                    concept=concept,
                    preference=g.preference_share > 0 and spread(i, g.preference_share),
                    examples=few_shot(pool, concept, i, g.few_shot, chunk.doc_id),
                    focus=focus_for(chunk.text, nxt[chunk.chunk_id], g.questions_per_fact, g.question_types),
                )
            )
            nxt[chunk.chunk_id] += 1  # a chunk listed twice continues its numbering: no repeated request
    return jobs


async def new_questions_from_chunks(
    ctx: GenContext,
    chunks: Sequence[Chunk],
    per_chunk: int | Sequence[int],
    seeds: Sequence[Record] = (),
    concepts: str | Sequence[str | None] | None = None,
    first_index: Mapping[str, int] | None = None,
    on_done: Callable[[Any], None] | None = None,
) -> list[Record]:
    """Ask the teacher for new question/answer pairs grounded in `chunks` (see `new_question_jobs`): one record
    per job, in job order, failed ones included with their `generate` verdict. Works with no seeds."""
    jobs = by_chunk(new_question_jobs(chunks, per_chunk, seeds, ctx.g, concepts, first_index), ctx.g)
    return await ctx.client.map([lambda j=j: run_new_question(ctx, j) for j in jobs], on_done=on_done)


def build_jobs(
    plan: Plan,
    seeds: list[Record],
    chunks: list[Chunk],
    g: GenerateConfig,
    chunk_concepts: dict[str, list[str]] | None = None,
    seed_counts: dict[str, int] | None = None,
    links: Sequence[Link] = (),
) -> list[Job]:
    n = len(seeds)
    augment = [
        Job("augment", i // n, seed=seeds[i % n], cot=g.cot_share > 0 and spread(i, g.cot_share))
        for i in range(plan.rows("augment"))
    ]
    rephrase = [Job("rephrase", i // n, seed=seeds[i % n]) for i in range(plan.rows("rephrase"))]
    order = chunk_order(chunks, chunk_concepts or {}, seed_counts or {}, seeded_chunks(seeds))
    counts = question_counts([c for c, _ in order], plan.rows("new_questions"), g.questions_per_fact)
    new = new_question_jobs([c for c, _ in order], counts, seeds, g, [t for _, t in order])
    hops = multi_hop_jobs(links, plan.rows("multi_hop"))
    return by_chunk(interleave([augment, rephrase, new, hops]), g)


def job_chunk(job: Job, g: GenerateConfig) -> str | None:
    """The chunk a job's prompts carry (None: no chunk, e.g. augmenting a seed without one)."""
    if job.chunk is not None:
        return job.chunk.chunk_id
    if job.seed is not None and g.answer_with_context and job.seed.source is not None:
        return job.seed.source.chunk_id
    return None


def by_chunk(jobs: list[Job], g: GenerateConfig | None = None) -> list[Job]:
    """The jobs with those that read the same chunk next to each other, groups in the order of their first job.

    A local server (llama.cpp) reuses the computed prefix its last prompt shares with the next, and every prompt
    that reads a chunk starts with the same system message and that chunk (templates/): consecutive calls on one
    chunk pay only for their own few tokens. Measured on the example domain with Qwen2.5-0.5B on 2 cores: see
    bench/RESULTS.md (prefix reuse). Groups keep the first-appearance order of the spread-out list, so a budget
    that runs out early still leaves every strategy some rows. Order changes no cache key."""
    g = g or GenerateConfig()
    keys = [job_chunk(job, g) or f"job:{k}" for k, job in enumerate(jobs)]
    first: dict[str, int] = {}
    for k, key in enumerate(keys):
        first.setdefault(key, k)
    order = sorted(range(len(jobs)), key=lambda k: (first[keys[k]], k))
    return [jobs[k] for k in order]


def interleave(groups: list[list[Job]]) -> list[Job]:
    """Merge the strategies' job lists evenly (job k of n at position (k + 0.5) / n), so that if the hard budget
    runs out early (more parse retries than planned) every strategy loses a little, not the last one everything.
    Order does not affect cache keys, only which jobs run first."""
    keyed = [((k + 0.5) / len(g), gi, job) for gi, g in enumerate(groups) for k, job in enumerate(g)]
    return [job for _, _, job in sorted(keyed, key=lambda t: (t[0], t[1]))]
