"""Fact consistency: every checkable fact of a synthetic answer must be present in its evidence. No model involved.

Evidence is the row's source chunk (with its document title and section headings), the question, and the answers
of the human seeds it was derived from. A row without a chunk (an augmented answer to a seed that named no source,
an imported row) is checked against its seeds' answers and the chunk that best matches it, the way ingestion
matches seeds; a row with nothing to check against gets the verdict `unverifiable` (kept or dropped as configured),
never a silent pass. Derived values (a sum of two fees) are not in the text and count as unsupported: a strict
checker loses some correct arithmetic, which is the price of never keeping an invented number.
"""

from __future__ import annotations

from tether.documents import Chunk, Document
from tether.filters.base import asserted, live, row_chunk
from tether.records import Record, Verdict
from tether.seeds.seed_source import AUTO_SOURCE_MIN
from tether.text import content_tokens
from tether.text.answer_form import answer_type_gap
from tether.text.facts import Evidence, Fact, extract_facts
from tether.text.negation import contradiction


def describe(facts: list[Fact], limit: int = 6) -> str:
    shown = "; ".join(f.text for f in facts[:limit])
    return shown + (f"; +{len(facts) - limit} more" if len(facts) > limit else "")


def claim_text(rec: Record) -> str:
    """What a row asserts: the answer (every assistant turn of a conversation) and any reasoning trace. The words
    that decline a false premise (`meta["declined"]`, see `filters.base.asserted`) assert nothing to look up."""
    if rec.messages and rec.response is None:
        parts = [m.content for m in rec.messages if m.role == "assistant"]
    else:
        parts = [asserted(rec)]
    if rec.reasoning:
        parts.append(rec.reasoning)
    return "\n".join(parts)


def question_text(rec: Record) -> str:
    if rec.messages and rec.prompt is None:
        return "\n".join(m.content for m in rec.messages if m.role in ("user", "system"))
    return rec.question()


class EvidenceFinder:
    """Assembles the evidence for a row: its chunk (or the best-matching one), headings, title, seeds' answers."""

    def __init__(
        self,
        chunks: dict[str, Chunk],
        documents: dict[str, Document] | None = None,
        records: list[Record] | None = None,
        domain: str = "",
        match_source: bool = True,
    ):
        self.chunks = chunks
        self.documents = documents or {}
        self.by_id = {r.id: r for r in records or []}
        self.domain = domain
        self.match_source = match_source
        self._tokens = {cid: content_tokens(c.text) for cid, c in chunks.items()} if match_source else {}
        self._chunk_evidence: dict[tuple[str, str], Evidence] = {}  # (chunk id, source text) -> its evidence

    def chunk_for(self, rec: Record) -> tuple[Chunk | None, str]:
        """(chunk, how): the row's own source chunk, its seed's, or the best match (how = source/seed/matched)."""
        if rec.source and rec.source.chunk_id in self.chunks:
            return row_chunk(rec, self.chunks), "source"  # both passages of a question that needs two
        for pid in rec.parents:
            p = self.by_id.get(pid)
            if p is not None and p.source and p.source.chunk_id in self.chunks:
                return self.chunks[p.source.chunk_id], "seed"
        if self.match_source and self.chunks:
            words = content_tokens(f"{rec.question()} {claim_text(rec)}")
            if words:
                cid = max(self._tokens, key=lambda c: len(words & self._tokens[c]))
                if len(words & self._tokens[cid]) / len(words) >= AUTO_SOURCE_MIN:
                    return self.chunks[cid], "matched"
        return None, "none"

    def source_text(self, rec: Record, chunk: Chunk, how: str) -> str:
        """The chunk's text, or the source span when it is wider than the chunk (a seed whose facts span two)."""
        src = (
            rec.source
            if how == "source"
            else next((p.source for pid in rec.parents if (p := self.by_id.get(pid)) is not None and p.source), None)
        )
        doc = self.documents.get(chunk.doc_id)
        if (
            src
            and doc
            and src.start is not None
            and src.end is not None
            and (src.start, src.end) != (chunk.start, chunk.end)
        ):
            return doc.text[src.start : src.end]
        return chunk.text

    def seed_answers(self, rec: Record) -> list[str]:
        """Answers of the human seeds the row was derived from. A new question's few-shot examples are parents
        too, but they are about other text: they are not evidence."""
        if rec.strategy == "new_question":
            return []
        return [p.answer() for pid in rec.parents if (p := self.by_id.get(pid)) is not None and p.origin == "human"]

    def evidence(self, rec: Record, found: tuple[Chunk | None, str] | None = None) -> tuple[Evidence | None, str]:
        """(evidence, what it is made of), or (None, why) when there is nothing to check against. `found`: the
        row's `chunk_for`, when the caller already has it."""
        chunk, how = found or self.chunk_for(rec)
        seeds = self.seed_answers(rec)
        if chunk is None and not seeds:
            return None, "no source chunk, no matching chunk and no seed answer to check against"
        ev = Evidence.of(question_text(rec), self.domain, *seeds)
        what = []
        if chunk is not None:
            ev = ev | self.chunk_evidence(chunk, self.source_text(rec, chunk, how))
            what.append({"source": "its chunk", "seed": "its seed's chunk", "matched": "the best-matching chunk"}[how])
        if seeds:
            what.append("the seed answer" if len(seeds) == 1 else f"{len(seeds)} seed answers")
        return ev, " and ".join(what)

    def chunk_evidence(self, chunk: Chunk, text: str) -> Evidence:
        """The evidence of a chunk's text (or source span), headings and document title, read once per chunk:
        many rows share a chunk."""
        key = (chunk.chunk_id, text)
        if key not in self._chunk_evidence:
            doc = self.documents.get(chunk.doc_id)
            self._chunk_evidence[key] = Evidence.of(text, " / ".join(chunk.heading), doc.title if doc else "")
        return self._chunk_evidence[key]


class FactConsistencyFilter:
    name = "facts"
    per_row = True  # a row's verdict depends on that row alone: the Ray engine may judge rows anywhere
    scores = ("fact_support",)

    def __init__(
        self,
        finder: EvidenceFinder,
        kinds: set[str] | None = None,
        keep_unverifiable: bool = False,
        answer_type: bool = True,
        seed_agreement: bool = True,
        negation: bool = True,
    ):
        self.finder = finder
        self.negation = negation
        self.kinds = kinds  # None = every kind of fact
        self.keep_unverifiable = keep_unverifiable
        self.answer_type = answer_type
        self.seed_agreement = seed_agreement

    @classmethod
    def from_config(cls, ctx) -> FactConsistencyFilter:  # ctx: tether.filters.registry.BuildContext
        c = ctx.cfg.filters.facts
        finder = EvidenceFinder(ctx.chunks, ctx.documents, ctx.records, ctx.domain, c.match_source)
        return cls(finder, set(c.kinds), c.unverifiable == "keep", c.answer_type, c.seed_agreement, c.negation)

    def checked(self, facts: list[Fact]) -> list[Fact]:
        return [f for f in facts if self.kinds is None or f.kind in self.kinds]

    def check(self, rec: Record) -> Verdict:
        claim = claim_text(rec)
        claimed = extract_facts(claim)  # every fact of the answer, read once
        facts = self.checked(claimed)
        if self.answer_type and (
            gap := answer_type_gap(rec.question(), claim, claimed, bool(rec.meta.get("extractive")))
        ):
            return Verdict(keep=False, reason="wrong_answer_type", detail=gap)
        found = self.finder.chunk_for(rec)  # read once: the evidence and the negation check both need it
        ev, what = self.finder.evidence(rec, found)
        if ev is None:
            return Verdict(
                keep=self.keep_unverifiable,
                reason="" if self.keep_unverifiable else "unverifiable",
                detail=f"unverifiable: {what} ({len(facts)} facts unchecked)",
            )
        bad = ev.unsupported(facts)
        rec.scores["fact_support"] = round(1 - len(bad) / len(facts), 4) if facts else 1.0
        if bad:
            return Verdict(keep=False, reason="unsupported_fact", detail=f"not in {what}: {describe(bad)}"[:400])
        if self.negation and (flipped := self.contradicted(rec, claim, found)):
            said, source = flipped
            detail = f"'{said[:120]}' says the opposite of its chunk: '{source[:160]}'"
            return Verdict(keep=False, reason="contradicts_chunk", detail=detail)
        if self.seed_agreement and (missed := self.seed_gap(rec, Evidence.of_facts(claim, claimed))):
            return Verdict(
                keep=False,
                reason="disagrees_with_seed",
                detail=f"answers the seed's question with none of the seed answer's facts ({describe(missed)})"[:400],
            )
        if not facts:
            return Verdict(keep=True, detail="no checkable facts")
        return Verdict(keep=True, detail=f"{len(facts)} facts, all in {what}")

    def contradicted(self, rec: Record, claim: str, found: tuple[Chunk | None, str]) -> tuple[str, str] | None:
        """(the answer's clause, the chunk's clause) when the answer restates a clause of its chunk negated
        (`text.negation`): the facts all match and the claim is the opposite. `found`: the row's `chunk_for`."""
        chunk, how = found
        return contradiction(claim, self.finder.source_text(rec, chunk, how)) if chunk is not None else None

    def seed_gap(self, rec: Record, answer: Evidence) -> list[Fact]:
        """The seed answer's own facts, when the row answers the seed's question and shares none of them.

        The seed's answer is the human ground truth for that question: an augmented or rephrased row whose answer
        holds none of its specific facts (those not already in the question) answers something else, however
        true its sentence is ("children under 6 travel free" for the price of an adult ticket)."""
        seeds = self.finder.seed_answers(rec)
        if not seeds:
            return []
        question = Evidence.of(rec.question())
        key = [f for f in self.checked(extract_facts(" ".join(seeds))) if not question.supports(f)]
        if not key:
            return []
        return [] if any(answer.supports(f) for f in key) else key

    def judge(self, records: list[Record]) -> list[Verdict | None]:
        return [self.check(r) if live(r) else None for r in records]
