"""Filters that ask a model: grounding against the source chunk (with a verified quote) and the rubric judge.

The model's word is a measurement, not a fact (see `trust.py`). Grounding starts from deterministic evidence (the
share of the answer's words found in its chunk) and the model may only veto it unless calibration shows the model
can be trusted to rescue rows that evidence rejects. A "supported" verdict must come with a quote that really is in
the chunk and that holds the answer's facts; a quote that is not in the text is a failed judgement, not a pass.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, field_validator

from tether.config import JudgeConfig
from tether.documents import Chunk
from tether.filters.base import asserted, asserts_seed, live, row_chunk
from tether.filters.trust import Trust
from tether.llm.client import TeacherClient
from tether.prompts.context import context_block
from tether.prompts.templates import Template
from tether.records import Record, Verdict
from tether.text import support, words
from tether.text.facts import Evidence, extract_facts

if TYPE_CHECKING:
    from tether.filters.registry import BuildContext

QUOTE_MATCH = 0.8  # share of the quote's words that must appear, in a window of the chunk of the quote's length


RATIONALE_CHARS = 120  # the judge's reason, capped: a free rationale was most of a 7.8 s call on a 0.5B teacher


class JudgeScore(BaseModel):
    """Score first, then a short reason. The reason is for the funnel's reader; generating it first made each judge
    call 3x longer on the embedded teacher, and a constrained server cuts it at RATIONALE_CHARS."""

    score: int = Field(ge=1, le=5)
    rationale: str = Field("", json_schema_extra={"maxLength": RATIONALE_CHARS})

    @field_validator("rationale", mode="before")
    @classmethod
    def _cut(cls, v: object) -> object:
        return v[:RATIONALE_CHARS] if isinstance(v, str) else v  # an unconstrained server may run on: keep the score


BRIEF_TOKENS = 12  # enough for '{"score": 4' under any of the structured modes
_SCORE = re.compile(r'"score"\s*:\s*"?([1-5])\b')


TOP_LOGPROBS = 10  # alternatives asked per token: the five digits and what competes with them
# tokens of an expected-score call: '{"', 'score', '":', ' ', the digit, with room for a newline or two.
# llama-cpp-python sorts the whole vocabulary for each token's logprobs; stopping at 7 rather than 12 tokens saved
# little measured (39 calibration calls: 5:04 -> 4:26-4:58 min): most of its 7.6 s a call against 4.4 s without
# logprobs is per call, not per token
SCORE_TOKENS = 7
_DIGITS = {"1", "2", "3", "4", "5"}


def score_probabilities(
    tokens: list[str] | None, alternatives: list[dict[str, float]] | None
) -> dict[int, float] | None:
    """{score: probability} for 1-5 at the reply's score token (the first digit after "score"), renormalised
    over the digits among that token's alternatives; None when the reply carries no logprobs or no such token."""
    if not tokens or not alternatives:
        return None
    seen = ""
    for tok, alts in zip(tokens, alternatives, strict=False):
        seen += tok
        if tok.strip() in _DIGITS and '"score"' in seen:
            probs: dict[int, float] = {}
            for alt, lp in alts.items():
                if (digit := alt.strip()) in _DIGITS:
                    probs[int(digit)] = probs.get(int(digit), 0.0) + math.exp(lp)
            total = sum(probs.values())
            return {k: p / total for k, p in probs.items()} if total > 0 else None
    return None


class Supported(BaseModel):
    supported: bool
    quote: str = ""


def quote_in_text(quote: str, text: str) -> float:
    """How well the quote occurs in the text: the best share of its words found in a same-length window (1.0 for
    a verbatim quote, whatever its punctuation or case)."""
    q, t = words(quote), words(text)
    if not q or not t:
        return 0.0
    if " ".join(q) in " ".join(t):
        return 1.0
    n, best = len(q), 0.0
    need: dict[str, int] = {}
    for w in q:
        need[w] = need.get(w, 0) + 1
    for i in range(max(1, len(t) - n + 1)):
        have: dict[str, int] = {}
        for w in t[i : i + n]:
            have[w] = have.get(w, 0) + 1
        best = max(best, sum(min(c, have.get(w, 0)) for w, c in need.items()) / n)
    return best


def verify_quote(quote: str, chunk: str, question: str, answer: str) -> str | None:
    """Why the quote does not back the answer, or None when it does: it must be in the chunk (fuzzy, >= 3 words)
    and hold the answer's facts (with the question, which the answer may repeat)."""
    if len(words(quote)) < 3:
        return "no quote given" if not quote.strip() else f"quote too short ('{quote.strip()[:40]}')"
    found = quote_in_text(quote, chunk)
    if found < QUOTE_MATCH:
        return f"quote not in the text ({found:.0%} of its words match): '{quote.strip()[:80]}'"
    missing = Evidence.of(quote, question).unsupported(extract_facts(answer))
    if missing:
        return f"quote lacks the answer's {', '.join(f.text for f in missing[:4])}"
    return None


class LLMJudge:
    """Rubric score 1-5. Below the threshold it vetoes (drops) the row, if its trust allows; it never keeps a row
    another filter dropped (it only sees live rows).

    How the score is read (`filters.judge.scoring`), measured on held-out generated rows the deterministic filters
    kept (Qwen2.5-Coder-1.5B judging, bench/RESULTS.md): the score it writes greedily is 5 for nearly every row
    (AUC 0.47-0.50); the mean of 1-5 under the probabilities it gives the score's token (G-Eval, Liu et al. 2023)
    ranks them at AUC 0.71 with one call; the mean of sampled votes estimates that mean, noisily and at a call per
    vote (3 or 5 votes: AUC 0.53 / 0.50)."""

    name = "judge"
    scores = ("judge",)  # scores this filter writes (cleared with its verdicts before a re-run)

    def __init__(
        self,
        client: TeacherClient,
        template: Template,
        domain: str,
        chunks: dict[str, Chunk],
        threshold: float = 4.5,
        keep_unscored: bool = True,
        trust: Trust | None = None,
        scoring: str = "expected",
        votes: int = 3,
    ):
        self.client, self.t, self.domain, self.chunks = client, template, domain, chunks
        self.threshold = threshold
        self.keep_unscored = keep_unscored
        self.trust = trust or Trust.decide(self.name, "calibrated", None)
        self.scoring, self.votes = scoring, votes

    @classmethod
    def of(cls, j: JudgeConfig, client: TeacherClient, template: Template, domain: str, chunks: dict[str, Chunk],
           trust: Trust | None = None) -> LLMJudge:  # fmt: skip
        return cls(client, template, domain, chunks, j.threshold, j.keep_unscored, trust, j.scoring, j.votes)

    @classmethod
    def from_config(cls, ctx: BuildContext) -> LLMJudge:
        assert ctx.client is not None
        t = ctx.templates["judge"]
        return cls.of(ctx.cfg.filters.judge, ctx.client, t, ctx.domain, ctx.chunks, ctx.trust(cls.name, t))

    async def score(self, rec: Record, brief: bool = False) -> tuple[float | None, str]:
        """(score, why), or (None, why the judge gave no score)."""
        score, why, _ = await self.judged(rec, brief)
        return score, why

    async def judged(self, rec: Record, brief: bool = False) -> tuple[float | None, str, bool]:
        """(score, why, kept): the score read as `scoring` says, kept at or above the threshold. Expected and
        voted scores read only the score (`brief`): their call stops after it."""
        if self.scoring == "expected":
            score, why = await self._expected(rec)
        elif self.scoring == "votes":
            score, why = await self._voted(rec)
        else:
            got, why = await self._judgement(rec, brief)
            score = None if got is None else float(got)
        return score, why, score is not None and score >= self.threshold

    async def _expected(self, rec: Record) -> tuple[float | None, str]:
        """The rubric's mean under the model's probabilities for the score token: one greedy call, the
        alternatives of the score's token read from its logprobs. A server that returns none gives the greedy
        score (said in the reason)."""
        req = self.client.request(self._messages(rec), schema=JudgeScore, max_tokens=SCORE_TOKENS, tag=self._tag(),
                                  temperature=0.0, top_logprobs=TOP_LOGPROBS)  # fmt: skip
        comp = await self.client.complete(req, cut_ok=True)
        if comp.error:
            return None, f"{comp.error}: {comp.error_detail or ''}".strip()
        probs = score_probabilities(comp.tokens, comp.alternatives)
        if probs is None:
            m = _SCORE.search(comp.text or "")
            if m is None:  # no score within SCORE_TOKENS: the greedy judgement (brief, else in full)
                got, why = await self._judgement(rec, brief=True)
                return (None, why) if got is None else (float(got), "greedy score (no score token to read)")
            return float(m.group(1)), "greedy score (the server returned no logprobs)"
        mean = sum(k * p for k, p in probs.items())
        shown = " ".join(f"p{k} {p:.2f}" for k, p in sorted(probs.items(), reverse=True) if p >= 0.01)
        return mean, f"score token {shown}"

    async def _voted(self, rec: Record) -> tuple[float | None, str]:
        """The mean of `votes` sampled score-only judgements. Each row gets seeds of its own: with one seed per
        vote for every row, a vote draws the same random number for every row, and two votes whose draws fall
        close agreed on all 58 planted rows measured (votes 2 and 3 were one vote twice)."""
        seed = int(hashlib.sha256(f"{rec.question()}\n{rec.answer()}".encode()).hexdigest()[:7], 16)
        got = await asyncio.gather(*(self._judgement(rec, True, sample=k, seed=seed) for k in range(self.votes)))
        scores = [s for s, _ in got if s is not None]
        if not scores:
            return None, got[0][1]
        mean = sum(scores) / len(scores)
        return mean, f"votes {' '.join(str(s) for s in scores)}"

    def _messages(self, rec: Record) -> list[dict[str, str]]:
        return self.t.render(
            domain=self.domain,
            question=rec.question(),
            answer=rec.answer(),
            context_block=context_block(row_chunk(rec, self.chunks)),
        )

    def _tag(self) -> str:
        return f"judge:{self.t.hash}"

    async def _judgement(
        self, rec: Record, brief: bool = False, sample: int | None = None, seed: int | None = None
    ) -> tuple[int | None, str]:
        """(score, rationale), or (None, why the judge gave no score).

        `brief` (calibration, which reads only the score): the same prompt and schema, stopped after
        BRIEF_TOKENS. The score is the reply's first field and the call is greedy, so it is the score the full call
        gives, without the rationale (most of a calibration call's time on the embedded teacher). A reply that
        does not open with the score (a server that ignores the schema) gets the full call."""
        msgs, tag = self._messages(rec), self._tag()
        # one judgement is greedy; a vote is sampled (the teacher's temperature) with its own seed
        how: dict = {"temperature": 0.0} if sample is None else {"sample": sample}
        if seed is not None:
            how["seed"] = seed
        if brief:
            req = self.client.request(msgs, schema=JudgeScore, max_tokens=BRIEF_TOKENS, tag=tag, **how)
            comp = await self.client.complete(req, cut_ok=True)
            if comp.error:
                return None, f"{comp.error}: {comp.error_detail or ''}".strip()
            if m := _SCORE.search(comp.text or ""):
                return int(m.group(1)), ""
        comp = await self.client.chat(msgs, schema=JudgeScore, tag=tag, **how)
        if comp.parsed is None:
            return None, f"{comp.error}: {comp.error_detail or ''}".strip()
        return comp.parsed["score"], comp.parsed["rationale"]

    async def one(self, rec: Record) -> Verdict | None:
        if not self.trust.ask:
            return None  # advisory: its score would decide nothing (the funnel's header says why)
        if asserts_seed(rec.meta, asserted(rec)):
            # a false-premise row: tether declined a name no document has and restated the seed's human answer
            # (digest-checked). The 1.5B judge scored all 4 of the quickstart's below the bar: it reads the decline
            # as a wrong answer, and a call spent on a row whose facts are a human's decides nothing
            return Verdict(keep=True, detail="not judged: asserts only its seed's human answer")
        score, why, kept = await self.judged(rec)
        if score is None:
            return Verdict(
                keep=self.keep_unscored, reason="" if self.keep_unscored else "judge_failed", detail=f"unscored ({why})"
            )
        rec.scores["judge"] = float(score)
        shown = f"{score:.3g}/5"
        if not kept:
            if self.trust.can_veto:
                return Verdict(keep=False, reason="low_judge_score", detail=f"{shown}: {why}"[:300])
            return Verdict(keep=True, detail=f"{shown} (advisory: {self.trust.state})")
        return Verdict(keep=True, detail=f"{shown}: {why}"[:300] if why else shown)

    async def ajudge(self, records: list[Record], on_done: Callable[[Any], None] | None = None) -> list[Verdict | None]:
        async def go(r: Record) -> Verdict | None:
            return await self.one(r) if live(r) else None

        return await self.client.map([lambda r=r: go(r) for r in records], on_done=on_done)


class GroundingFilter:
    """Is the answer supported by its source chunk? Deterministic word support decides, the model may veto it, and
    may rescue a row below `lexical_min` only with a verified quote and a trust that allows rescue."""

    name = "grounding"
    scores = ("lexical_support",)

    def __init__(
        self,
        client: TeacherClient | None,
        template: Template,
        domain: str,
        chunks: dict[str, Chunk],
        lexical_pass: float = 0.8,
        lexical_min: float = 0.5,
        trust: Trust | None = None,
    ):
        self.client, self.t, self.domain, self.chunks = client, template, domain, chunks
        self.lexical_pass = lexical_pass  # at or above: supported without asking the model
        self.lexical_min = lexical_min  # the deterministic line: below it, ungrounded unless rescued
        self.trust = trust or Trust.decide(self.name, "calibrated", None)

    @classmethod
    def from_config(cls, ctx: BuildContext) -> GroundingFilter:
        g = ctx.cfg.filters.grounding
        client = ctx.client if g.use_teacher else None
        t = ctx.templates["grounding"]
        return cls(client, t, ctx.domain, ctx.chunks, g.lexical_pass, g.lexical_min, ctx.trust(cls.name, t))

    async def ask(self, rec: Record, chunk: Chunk) -> tuple[bool | None, str]:
        """The model's opinion: (True with a verified quote | False | None when it gave no usable judgement, why)."""
        assert self.client is not None
        msgs = self.t.render(domain=self.domain, chunk=chunk.text, question=rec.question(), answer=rec.answer())
        comp = await self.client.chat(msgs, schema=Supported, temperature=0.0, tag=f"grounding:{self.t.hash}")
        if comp.parsed is None:
            return None, f"judge failed ({comp.error})"
        if not comp.parsed["supported"]:
            return False, "judge: not supported by its chunk"
        why = verify_quote(comp.parsed.get("quote") or "", chunk.text, rec.question(), rec.answer())
        if why:
            return None, f"judge said supported, but {why}: a failed judgement"
        return True, "judge: supported, quote verified"

    async def one(self, rec: Record, chunk: Chunk) -> Verdict:
        s = support(asserted(rec), chunk.text)
        rec.scores["lexical_support"] = round(s, 4)
        if s >= self.lexical_pass:
            return Verdict(keep=True, detail=f"lexical support {s:.2f}")
        if asserts_seed(rec.meta, asserted(rec)):
            return Verdict(keep=True, detail=f"asserts only its seed's human answer (lexical support {s:.2f})")
        evidence_ok = s >= self.lexical_min
        lex = f"lexical {s:.2f} ({'>=' if evidence_ok else '<'} {self.lexical_min:g})"
        if self.client is None or not self.trust.ask:
            why = "no judge" if self.client is None else f"{self.trust.state} judge not asked"
            return Verdict(keep=evidence_ok, reason="" if evidence_ok else "ungrounded", detail=f"{lex}, {why}")
        opinion, said = await self.ask(rec, chunk)
        if opinion is False and self.trust.can_veto:
            return Verdict(keep=False, reason="ungrounded", detail=f"{said}; {lex}")
        if opinion is True and not evidence_ok:
            if self.trust.can_rescue:
                return Verdict(keep=True, detail=f"{said}; {lex}; rescued ({self.trust.state} judge)")
            return Verdict(
                keep=False, reason="ungrounded", detail=f"{lex}; {said}, but a {self.trust.state} judge cannot rescue"
            )
        return Verdict(keep=evidence_ok, reason="" if evidence_ok else "ungrounded", detail=f"{lex}; {said}")

    async def ajudge(self, records: list[Record], on_done: Callable[[Any], None] | None = None) -> list[Verdict | None]:
        async def go(r: Record) -> Verdict | None:
            chunk = row_chunk(r, self.chunks)
            return await self.one(r, chunk) if live(r) and chunk is not None else None

        if self.client is None or not self.trust.ask:
            return [await go(r) for r in records]
        return await self.client.map([lambda r=r: go(r) for r in records], on_done=on_done)
