"""The question is checked, not only the answer: its premise must be in the documents, and its chunk must answer it
with the row's answer. No teacher call.

Fact consistency and grounding check what an answer claims; a teacher that writes questions fails elsewhere. With
extractive answers the answer is a true sentence of the chunk by construction, and what goes wrong is the question
(Qwen2.5-0.5B on the example domain, 359 kept rows):

* **false_premise** — a name or number of the question is nowhere in the corpus: "What is the place for collecting
  bulky waste in Lund Island?" (Lund Island is the prompt's demonstration, not the town).
* **off_chunk_question** — it is in the corpus, but not in the row's document; or, read by MiniLM, another chunk
  of the corpus matches the question better than the row's own chunk by `chunk_margin` (0.15): the question is
  about something else ("What is the bond order of nitrogen molecules?" from a chunk on chloroplast lineages).
  Chunks of one document share a topic, so a sibling chunk that holds more of the question's words and reads
  closer to it by `SIBLING_MARGIN` (0.03) also makes it off-chunk (planted same-document questions: 64 -> 88 %
  dropped on the example domain, 56 -> 79 % on pyref).
  Planted (`bench/question_truth.py --planted`): each seed's question on a chunk of another document, and on its
  own chunk.
* **borrowed_from_example** — a new question that takes words from the prompt's demonstrations which its
  document does not have: "How many hives can gardens smaller than 400 square metres carry on one crossing?" (the
  demonstration asks what a ferry carries on one crossing). 16 kept rows of 359, all of them wrong when read.
* **answer_not_a_statement** — an extractive answer that states nothing: a pointer ("See also the … section."),
  a doctest fragment, a numbered heading (`generate.focus.states_nothing`); rows written before a focus rule
  existed, imported, or snapped answers of augmented seeds. (A list's lead-in with a fact, "The Town Council has
  11 councillors elected from five wards:", is an answer: the quickstart lost a right row to an earlier version.)
* **refers_to_prompt** — the question is about the prompt, not the world: "What section of the Format
  Specification Mini-Language does the statement refer to?" (pyref, Qwen2.5-0.5B). A student asked it later has
  no statement in front of it.
* **answer_elsewhere** — a round trip (Alberti et al. 2019) with a reader instead of a second teacher call: the
  question is embedded and compared with every statement of its chunk; when another statement matches it clearly
  better than the row's answer, the chunk answers the question with that statement, and the row pairs the question
  with the wrong fact ("How many dogs can one professional dog walker walk at a time?" → "One person may walk no
  more than 4 dogs", where the walker's limit is 6). Only extractive answers (a sentence of the chunk) take the
  round trip: a free answer has no sentence to compare.

Measured on the example domain (`tether filter` on 359 kept extractive new questions): the reader's margin 0.15
dropped 13 rows, 11 of them wrong when read; on the same rows with the answer swapped for another statement of the
chunk (planted), it dropped 296 of 345. A lexical reader (IDF-weighted word overlap) dropped 23, 14 wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from tether.documents import Chunk
from tether.embed.embedder import CACHE_NAME, open_embedder
from tether.filters.base import SECOND_CHUNK, live, row_chunk
from tether.prompts.templates import demonstrations
from tether.records import Record, Verdict
from tether.text import content_tokens, normalize, stem, stems, words
from tether.text.answer_form import answer_type_gap
from tether.text.facts import extract_facts
from tether.text.focus import focus_sentences, fragment, states_nothing
from tether.text.names import NOT_NAMES, mentions

if TYPE_CHECKING:
    from tether.embed.embedder import Embedder
    from tether.filters.registry import BuildContext

# words a question may share with a demonstration without having copied it
_COMMON = frozenset("many much one time times s form forms carry submit close closes first".split())
# strategies whose question the teacher wrote from a text (not a seed's question or a paraphrase of one)
WRITTEN_QUESTIONS = frozenset({"new_question", "multi_hop"})
# share of the documents a name must occur in to be the domain's (the town, the language), not one document's
DOMAIN_WIDE = 0.2
# a number glued to letters ("U+007F") is a code point, no premise
_TOKEN = re.compile(r"(?<!\d)[A-Za-z][\w'’-]*|\d(?:[\d.,:]*\d)?(?!\w)")


_PROMPT_WORDS = re.compile(
    r"\b(?:the|this|that|above|given) (?:statement|passage|excerpt|paragraph|sentence|snippet)s?\b"
    r"|\b(?:in|of) (?:this|the above|the given) (?:code|example|output)\b"
    r"|\b(?:mentioned|described|stated|given) (?:above|here|in the (?:text|passage|context))\b"
    r"|\baccording to the (?:text|passage|context|document)\b"
    r"|\b(?:provided|given) (?:information|text|context|passage|document)\b"
    # the web page the chunk came from ("What does this page cover?"); "this document" is a licence's own name
    r"|\bthis (?:web ?)?page\b",
    re.I,
)


def refers_to_prompt(question: str) -> str | None:
    """The words by which a question points at the text it was written from ("the statement", "mentioned above"),
    or None. No seed or held-out question of the example or pyref domain has any."""
    m = _PROMPT_WORDS.search(question)
    return m.group(0) if m else None


def premise_terms(question: str) -> list[str]:
    """The question's names and numbers: capitalised words after the first, and every number. What a question
    presupposes exists ("the ferry to Lund Island", "on September 10") must exist in the documents."""
    out = []
    for i, tok in enumerate(_TOKEN.findall(question)):
        tok = re.sub(r"['’]s$", "", tok)
        if tok[0].isdigit() or (i > 0 and tok[0].isupper() and tok.lower() not in NOT_NAMES):
            out.append(tok)
    return out


_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+(.+)$", re.M)


def list_items(text: str) -> list[str]:
    """The chunk's list items, as words: siblings of a list answer the same question ("which trees are protected")."""
    return [normalize(m.group(1)) for m in _ITEM.finditer(text)]


def same(a: str, b: str) -> bool:
    return words(a) == words(b)


# MiniLM margin by which a sibling chunk that holds more of a question's words must also read closer to it. Planted
# seed questions (`bench/question_truth.py --planted`), with the lexical test alone vs with 0.03: own chunk dropped
# 6 of 50 / 5 of 47 vs 3 / 2; on another chunk of the same document dropped 45 of 50 / 26 of 34 vs 41 / 24
SIBLING_MARGIN = 0.03
# words of the asking, not of the subject: a question's "difference" or "example" is in no chunk's topic
_ASKING = frozenset(stem(w) for w in "happen mean kind type way difference example use".split())


class QuestionFilter:
    name = "question"
    per_row = False  # the corpus and each chunk's statements are shared by many rows

    def __init__(
        self,
        chunks: dict[str, Chunk],
        embedder: Embedder | None,
        premise: bool = True,
        roundtrip_margin: float | None = 0.15,
        demonstrations: Sequence[str] = (),
        chunk_margin: float | None = None,
    ):
        self.chunks = chunks
        self.embedder = embedder
        self.premise = premise
        self.margin = roundtrip_margin
        self.chunk_margin = chunk_margin if embedder is not None else None
        self._spread: dict[str, bool] = {}  # term -> in enough documents to be the domain's own name
        self._chunk_ids: list[str] = []  # the corpus's chunks, their rows in the vectors, embedded on first use
        self._chunk_at: dict[str, int] = {}
        self._chunk_vecs: np.ndarray | None = None
        self._chunk_stems: dict[str, set[str]] = {}  # chunk -> its stems with its headings, on first use
        self._doc_chunks: dict[str, list[str]] = {}  # document -> its chunks, for the sibling check
        docs: dict[str, list[str]] = {}
        for c in chunks.values():
            self._doc_chunks.setdefault(c.doc_id, []).append(c.chunk_id)
            docs.setdefault(c.doc_id, []).append(c.headed)
        # in the documents' own case: an acronym is found spelled out only where its words are capitalised
        self.doc_text = {d: "\n".join(parts) for d, parts in docs.items()}
        self.corpus = "\n".join(self.doc_text.values())
        self.doc_words = {d: content_tokens(t) for d, t in self.doc_text.items()}
        self.demo_words = set().union(*(content_tokens(q) for q in demonstrations)) - _COMMON

    @classmethod
    def from_config(cls, ctx: BuildContext) -> QuestionFilter:

        q = ctx.cfg.filters.question
        embedder = None
        if q.roundtrip_margin is not None or q.chunk_margin is not None:
            cache = ctx.store / CACHE_NAME if ctx.store is not None else None
            embedder = open_embedder(ctx.cfg.measure.embedder, cache)
        shown = [d for name in ("new_question", "new_question_extract") for d in demonstrations(ctx.templates[name])]
        return cls(ctx.chunks, embedder, q.premise, q.roundtrip_margin, shown, q.chunk_margin)

    def premise_verdict(self, rec: Record, chunk: Chunk) -> Verdict | None:
        """off_chunk_question / false_premise for a name or number the row's document does not have."""
        doc = self.doc_text.get(chunk.doc_id, chunk.text)
        if (second := self.chunks.get(rec.meta.get(SECOND_CHUNK, ""))) is not None:
            doc += "\n" + self.doc_text.get(second.doc_id, second.text)  # a question that needs two passages
        missing = [t for t in premise_terms(rec.question()) if not mentions(doc, t)]
        if not missing:
            return None
        absent = [t for t in missing if not mentions(self.corpus, t)]
        if absent:
            return Verdict(keep=False, reason="false_premise", detail=f"not in any document: {', '.join(absent)}")
        # a name many documents use is the domain's ("Brindlemoor", "Python"): a question may name it anywhere
        missing = [t for t in missing if not self.domain_wide(t)]
        if not missing:
            return None
        return Verdict(
            keep=False, reason="off_chunk_question", detail=f"not in this row's document: {', '.join(missing)}"
        )

    def domain_wide(self, term: str) -> bool:
        """`term` occurs in at least DOMAIN_WIDE of the documents (and in more than one)."""
        if term not in self._spread:
            n = sum(mentions(text, term) for text in self.doc_text.values())
            self._spread[term] = n > 1 and n >= DOMAIN_WIDE * len(self.doc_text)
        return self._spread[term]

    def borrowed_verdict(self, rec: Record, chunk: Chunk) -> Verdict | None:
        """borrowed_from_example for a teacher's question with words of a demonstration its document lacks."""
        if rec.strategy != "new_question" or not self.demo_words:
            return None
        have = self.doc_words.get(chunk.doc_id) or content_tokens(chunk.text)
        borrowed = sorted((content_tokens(rec.question()) & self.demo_words) - have)
        if not borrowed:
            return None
        detail = f"from the prompt's demonstrations: {', '.join(borrowed)}"
        return Verdict(keep=False, reason="borrowed_from_example", detail=detail)

    def judge(self, records: list[Record]) -> list[Verdict | None]:
        out: list[Verdict | None] = [None] * len(records)
        trips: list[tuple[int, str, list[str]]] = []  # (row, answer statement, the statements it competes with)
        retrievals: list[tuple[int, str]] = []  # (row, its chunk): is that the chunk the question is about?
        for i, rec in enumerate(records):
            chunk = row_chunk(rec, self.chunks) if live(rec) else None
            if chunk is None:
                continue  # a human row, a dropped row, or a row with no chunk to check its question against
            if rec.meta.get("extractive") and states_nothing(rec.answer()):
                detail = f"the answer is no statement a question could ask about: '{rec.answer()[:60]}'"
                out[i] = Verdict(keep=False, reason="answer_not_a_statement", detail=detail)
                continue
            if rec.meta.get("extractive") and rec.strategy in WRITTEN_QUESTIONS and fragment(rec.answer(), chunk.text):
                detail = f"the answer is part of a sentence, without its subject: '{rec.answer()[:60]}'"
                out[i] = Verdict(keep=False, reason="answer_not_a_statement", detail=detail)
                continue
            if rec.strategy in WRITTEN_QUESTIONS and (words_ := refers_to_prompt(rec.question())):
                detail = f"asks about the text it was written from ('{words_}'), not about the domain"
                out[i] = Verdict(keep=False, reason="refers_to_prompt", detail=detail)
                continue
            # a false-premise row names something no chunk has on purpose, and its answer declines it
            premise = self.premise and not rec.meta.get("declined")
            if premise and (v := self.premise_verdict(rec, chunk) or self.borrowed_verdict(rec, chunk)):
                out[i] = v
                continue
            out[i] = Verdict(keep=True)
            if self.chunk_margin is not None and rec.strategy == "new_question":
                retrievals.append((i, chunk.chunk_id))
            statements = focus_sentences(chunk.text)
            answer = rec.answer().strip()
            # the teacher's own question over a sentence of the chunk; a seed's question (augmented answers) is a
            # person's wording, which a reader often matches with a neighbouring sentence of a longer answer
            if self.embedder is None or rec.strategy != "new_question" or not rec.meta.get("extractive"):
                continue
            items = list_items(chunk.text)
            if normalize(answer) in items:  # a list item competes with the chunk's prose, not its siblings
                statements = [s for s in statements if same(answer, s) or normalize(s) not in items]
            if len(statements) > 1 and any(same(answer, s) for s in statements):
                trips.append((i, answer, statements))
        for i, v in zip([t[0] for t in retrievals], self._off_chunk(records, retrievals), strict=True):
            if v is not None:
                out[i] = v
        trips = [t for t in trips if out[t[0]] is None or out[t[0]].keep]  # type: ignore[union-attr]
        for i, v in zip([t[0] for t in trips], self._round_trips(records, trips), strict=True):
            if v is not None:
                out[i] = v
        return out

    def _off_chunk(self, records: list[Record], rows: list[tuple[int, str]]) -> list[Verdict | None]:
        """For each row: off_chunk_question when another chunk is closer to its question than its own chunk by the
        margin. Chunks are embedded with their headings, once per filter."""
        if not rows:
            return []
        assert self.embedder is not None and self.chunk_margin is not None
        if self._chunk_vecs is None:
            self._chunk_ids = sorted(self.chunks)
            texts = [self.chunks[c].headed for c in self._chunk_ids]
            self._chunk_vecs = self.embedder.embed(texts)
            self._chunk_at = {c: k for k, c in enumerate(self._chunk_ids)}
        questions = self.embedder.embed([records[i].question() for i, _ in rows])
        sims = questions @ self._chunk_vecs.T
        out: list[Verdict | None] = []
        for k, (_, chunk_id) in enumerate(rows):
            best, own = int(np.argmax(sims[k])), float(sims[k, self._chunk_at[chunk_id]])
            if sims[k, best] - own >= self.chunk_margin:
                other = self.chunks[self._chunk_ids[best]]
                where = f"{other.doc_id} ({other.chunk_id[:8]})"
                detail = f"another chunk matches the question better: {where}, cosine {sims[k, best]:.2f} vs {own:.2f}"
                out.append(Verdict(keep=False, reason="off_chunk_question", detail=detail))
            else:
                out.append(self._sibling(records[rows[k][0]].question(), chunk_id, sims[k]))
        return out

    def _sibling(self, question: str, chunk_id: str, sims: np.ndarray) -> Verdict | None:
        """off_chunk_question when another chunk of the row's own document holds more of the question's words and
        MiniLM reads it as closer by SIBLING_MARGIN: the question is about the next section of the same document,
        which the corpus-wide margin misses (sibling chunks share a topic and a vocabulary)."""
        asked = stems(question) - _ASKING
        chunk = self.chunks[chunk_id]
        siblings = [c for c in self._doc_chunks.get(chunk.doc_id, []) if c != chunk_id]
        if not asked or not siblings:
            return None

        def cover(c: str) -> float:
            if c not in self._chunk_stems:
                self._chunk_stems[c] = stems(self.chunks[c].headed)
            return len(asked & self._chunk_stems[c]) / len(asked)

        best = max(siblings, key=lambda c: (cover(c), float(sims[self._chunk_at[c]])))
        own, other = float(sims[self._chunk_at[chunk_id]]), float(sims[self._chunk_at[best]])
        if cover(best) > cover(chunk_id) and other - own >= SIBLING_MARGIN:
            detail = (
                f"another chunk of its document holds more of its words ({cover(best):.0%} vs {cover(chunk_id):.0%}) "
                f"and matches it better ({best[:8]}, cosine {other:.2f} vs {own:.2f})"
            )
            return Verdict(keep=False, reason="off_chunk_question", detail=detail)
        return None

    def _round_trips(self, records: list[Record], trips: list[tuple[int, str, list[str]]]) -> list[Verdict | None]:
        """For each row: the statement of its chunk closest to its question, and a verdict when that is not the
        row's answer by at least the margin."""
        if not trips:
            return []
        assert self.embedder is not None and self.margin is not None
        texts = sorted({t for i, _, ss in trips for t in (records[i].question(), *ss)})
        at = {t: k for k, t in enumerate(texts)}
        vec = self.embedder.embed(texts)
        verdicts: list[Verdict | None] = []
        for i, answer, statements in trips:
            q = vec[at[records[i].question()]]
            sims = np.array([float(vec[at[s]] @ q) for s in statements])
            own = max(float(sims[k]) for k, s in enumerate(statements) if same(answer, s))
            best = int(np.argmax(sims))
            # a statement of the wrong kind cannot be the chunk's answer ("In what year was the fair first
            # held?" is nearest "The Lantern Fair is the largest annual event." and answered by "It was first
            # held in 1887 ..."): the round trip reads only statements that give what the question asks for
            question = records[i].question()
            if answer_type_gap(question, statements[best], extract_facts(statements[best])) and not answer_type_gap(
                question, answer, extract_facts(answer)
            ):
                verdicts.append(None)
                continue
            if not same(statements[best], answer) and sims[best] - own >= self.margin:
                detail = f"the chunk answers it with: {statements[best][:120]} (cosine {sims[best]:.2f} vs {own:.2f})"
                verdicts.append(Verdict(keep=False, reason="answer_elsewhere", detail=detail))
            else:
                verdicts.append(None)
        return verdicts
