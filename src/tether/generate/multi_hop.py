"""Questions that need two passages: the `multi_hop` strategy.

A new question is about one sentence of one chunk, so a student trained on them never has to put two facts of
the documents together, which is what a user asks most often ("Where do I get form RT-7, and what must go with
it?"). A multi-hop row joins two chunks that name the same specific thing (a ward, a form, a function): one fact
about it from each. The teacher is shown both chunks and one sentence of each that names the link, and writes
only the question; the answer is the two sentences, in the text's own words (the same construction that made
new questions' answers right: a question written for a sentence has that sentence as its answer). Both chunks are
the row's sources (`source` and `meta.second_chunk`), and every filter that reads "the row's chunk" reads both
(`filters.base.row_chunk`): the facts filter checks the answer against the two together.

Links are found without a model: capitalised names and codes (`text.facts`) that occur in 2 to `MAX_LINK_SHARE`
of the chunks and in fewer than `DOMAIN_WIDE` of the documents (a name everywhere is the domain's: "Brindlemoor"
links everything and nothing). Each chunk
pair is used once, pairs are drawn in an order fixed by a hash (so a small budget spreads over the documents), and
a pair from two documents comes before one inside a document.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from tether.documents import Chunk
from tether.filters.base import SECOND_CHUNK
from tether.filters.question import DOMAIN_WIDE
from tether.generate.job import GenContext, Job, failed_record, job_record
from tether.generate.questions import copied_example, not_a_question
from tether.prompts.templates import demonstrations
from tether.records import Record, Source
from tether.text import content_tokens
from tether.text.facts import MONTHS, WEEKDAYS, extract_facts
from tether.text.focus import focus_sentences
from tether.text.names import mentions

STRATEGY = "multi_hop"
# a linking name may occur in at most this share of the chunks (and always in at least 2), and in fewer than
# DOMAIN_WIDE of the documents (the question filter's line): above either, it is the domain's name ("Brindlemoor"),
# not a thing two passages are both about
MAX_LINK_SHARE = 0.1
# a focus "sentence" longer than this is a chunk without sentence breaks (a table, a list): nothing to point at
MAX_FOCUS_WORDS = 60


class Question(BaseModel):
    question: str


@dataclass(frozen=True)
class Link:
    """Two chunks that both name `name`, and the sentence of each that does."""

    first: Chunk
    second: Chunk
    name: str
    focus: str
    focus2: str


def _calendar(name: str) -> bool:
    return all(w.lower().rstrip("s") in WEEKDAYS or w.lower() in MONTHS for w in name.split())


def find_links(chunks: Sequence[Chunk], max_share: float = MAX_LINK_SHARE) -> list[Link]:
    """Pairs of chunks linked by a specific name, at most one per chunk pair, in a fixed spread-out order."""
    places: dict[str, list[tuple[Chunk, str, str]]] = defaultdict(list)  # name key -> (chunk, sentence, name)
    for c in chunks:
        seen: set[str] = set()
        for s in focus_sentences(c.text):
            if s.count("|") >= 2 or len(s.split()) > MAX_FOCUS_WORDS:
                continue  # a table or a whole chunk (no sentence to point at): no statement to join
            for f in extract_facts(s):
                key = next(iter(f.options), "") if f.kind == "name" else ""
                if key and key not in seen and len(key) > 2 and not _calendar(f.text):
                    seen.add(key)
                    places[key].append((c, s, f.text))
    limit = max(2, math.floor(max_share * len(chunks)))
    documents = len({c.doc_id for c in chunks})
    links: dict[tuple[str, str], Link] = {}
    for key in sorted(places):
        found = places[key]
        spread = len({c.doc_id for c, _, _ in found})
        if not 2 <= len(found) <= limit or (spread > 1 and spread >= DOMAIN_WIDE * documents):
            continue
        for (a, sa, name), (b, sb, _) in itertools.pairwise(found):
            pair = (a.chunk_id, b.chunk_id)
            if pair not in links and sa.strip() != sb.strip():
                links[pair] = Link(a, b, name, sa, sb)

    def order(link: Link) -> tuple[bool, str]:
        digest = hashlib.sha256(f"{link.first.chunk_id}:{link.second.chunk_id}".encode()).hexdigest()
        return link.first.doc_id == link.second.doc_id, digest

    return sorted(links.values(), key=order)


def multi_hop_jobs(links: Sequence[Link], rows: int) -> list[Job]:
    """One job per link, as many as the plan's rows (a link asked again gets the next variant number)."""
    return [
        Job(STRATEGY, i // len(links), chunk=lk.first, second=lk.second, focus=lk.focus, focus2=lk.focus2)
        for i, lk in zip(range(rows), itertools.cycle(links), strict=False)
    ]


async def run_multi_hop(ctx: GenContext, job: Job) -> Record:
    """Ask for the question two sentences answer together; the row's answer is the two sentences."""
    a, b = job.chunk, job.second
    assert a is not None and b is not None
    t = ctx.templates["multi_hop"]
    msgs = t.render(domain=ctx.domain, chunk=a.text, chunk2=b.text, focus=job.focus, focus2=job.focus2)
    source = Source(doc_id=a.doc_id, chunk_id=a.chunk_id, start=a.start, end=a.end)
    meta = {
        "template": f"multi_hop:{t.hash}",
        "focus": job.focus,
        "focus2": job.focus2,
        SECOND_CHUNK: b.chunk_id,
        "extractive": "the two focus sentences",
    }
    base = {"strategy": STRATEGY, "parents": [a.chunk_id, b.chunk_id], "source": source}
    comp = await ctx.client.chat(msgs, schema=Question, sample=job.index, tag=meta["template"])
    if comp.parsed is None:
        unnamed = f"(multi-hop question from chunks {a.chunk_id[:8]} and {b.chunk_id[:8]})"
        return failed_record(ctx, job, unnamed, comp, STRATEGY, meta=meta, **base)
    q = comp.parsed["question"].strip()
    if (why := why_not(q, job.focus, job.focus2, demonstrations(t))) is not None:
        comp.error, comp.error_detail = why
        return failed_record(ctx, job, q, comp, STRATEGY, meta=meta, **base)
    answer = f"{job.focus.strip()} {job.focus2.strip()}"
    return job_record(ctx, job, prompt=q, response=answer, meta=meta, **base)


def why_not(question: str, focus: str, focus2: str, shown: list[str]) -> tuple[str, str] | None:
    """(reason, detail) when the teacher's question is no question that needs both sentences, else None."""
    if (copied := copied_example(question, shown)) is not None:
        return "copied_example", f"the question repeats an example of the prompt: {copied}"
    for f in (focus, focus2):
        if (why := not_a_question(question, f)) is not None:
            return "not_a_question", why
    if not any(mentions(question, w) for w in _link_words(focus, focus2)):
        return "not_a_question", "names nothing the two sentences share"
    # the link's own words are in both sentences: a question about one sentence names them too. It needs both
    # only when it also asks about what each says and the other does not (measured with the 0.5B: 5 of 6 of its
    # questions were about one sentence, "Which trees are protected in the Cinder Row Heritage Area?")
    mine, one, two = content_tokens(question), content_tokens(focus), content_tokens(focus2)
    if not mine & (one - two) or not mine & (two - one):
        which = "first" if not mine & (one - two) else "second"
        return "one_passage", f"asks nothing of the {which} sentence beyond what both share"
    return None


def _link_words(focus: str, focus2: str) -> list[str]:
    """Names both sentences hold (the link), which the question must name so it makes sense without the text."""
    one = {next(iter(f.options), ""): f.text for f in extract_facts(focus) if f.kind == "name"}
    two = {next(iter(f.options), "") for f in extract_facts(focus2) if f.kind == "name"}
    return [text for key, text in one.items() if key and key in two]
