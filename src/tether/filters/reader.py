"""A round trip through the teacher: it answers each new question from its chunk, extractively, without seeing the
row's answer; a row whose question the teacher answers with another sentence of the chunk is `answer_elsewhere`.

The question filter's round trip (`filters/question.py`) is a sentence embedder's reading of the question; this is
the teacher's own (Alberti et al. 2019: a generated question is kept when a reader answers it with the answer it
was generated from). Only an unambiguous disagreement drops a row: the reader's reply must be a sentence of the
chunk (snapped as extractive answers are) that neither holds the row's answer nor is held by it. A reply that is
no sentence of the chunk (the question echoed back, "On Friday") decides nothing and the row is kept, with a note.

Measured with Qwen2.5-0.5B on the 40 hand-labelled rows of `bench/question_truth.py` (72 s for 40 calls, greedy):
the reader copied the row's own sentence for 21 of 24 good rows (the 3 others: the question echoed, or a span
that is no sentence) and for 6 of 16 bad ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tether.documents import Chunk
from tether.filters.base import live, row_chunk
from tether.llm.client import TeacherClient
from tether.prompts.context import context_block
from tether.prompts.templates import Template
from tether.records import Record, Verdict
from tether.text import content_tokens, normalize
from tether.text.sentences import snap_to_text

if TYPE_CHECKING:
    from tether.filters.registry import BuildContext

MAX_TOKENS = 160  # one copied sentence


# content-word F1 at which two sentences of a chunk give the same answer: pyref states a fact twice ("When formatting
# a number with the "n" type, the function temporarily sets ..." and its "Changed in version 3.7:" note, F1 0.46).
# Measured on the readers' disagreements over the 129 labelled rows of bench/labels (example domain and pyref): the
# 8 bad rows the reader drops reply at F1 0.00-0.40, the 2 good ones at 0.33 and 0.46
AGREE_F1 = 0.45


def holds(a: str, b: str) -> bool:
    """One text's words contain the other's (a sentence and a clause of it are the same answer)."""
    x, y = normalize(a), normalize(b)
    return bool(x and y) and (x in y or y in x)


def token_f1(a: str, b: str) -> float:
    """F1 of the two texts' content words (SQuAD's answer overlap, over sets)."""
    x, y = content_tokens(a), content_tokens(b)
    common = len(x & y)
    return 0.0 if not common else 2 * common / (len(x) + len(y))


def agrees(read: str, answer: str) -> bool:
    """The reader's sentence is the row's answer: one holds the other, or they share most of their words."""
    return holds(read, answer) or token_f1(read, answer) >= AGREE_F1


class ReaderFilter:
    name = "reader"

    def __init__(self, client: TeacherClient | None, template: Template, domain: str, chunks: dict[str, Chunk]):
        self.client, self.t, self.domain, self.chunks = client, template, domain, chunks

    @classmethod
    def from_config(cls, ctx: BuildContext) -> ReaderFilter:
        return cls(ctx.client, ctx.templates["answer_extract"], ctx.domain, ctx.chunks)

    def asked(self, rec: Record) -> Chunk | None:
        """The chunk to read, for a live extractive new question (the rows whose answer is a sentence of it)."""
        if not live(rec) or rec.strategy != "new_question" or not rec.meta.get("extractive"):
            return None
        return row_chunk(rec, self.chunks)

    async def one(self, rec: Record, chunk: Chunk) -> Verdict:
        assert self.client is not None
        msgs = self.t.render(domain=self.domain, question=rec.question(), context_block=context_block(chunk))
        comp = await self.client.chat(msgs, temperature=0.0, max_tokens=MAX_TOKENS, tag=f"reader:{self.t.hash}")
        if not comp.ok:
            return Verdict(keep=True, detail=f"reader failed ({comp.error}): undecided")
        read, how = snap_to_text(comp.text, chunk.text)
        if read is None:
            return Verdict(keep=True, detail=f"the reader copied no sentence of the chunk ({how}): undecided")
        f1 = token_f1(read, rec.answer())
        if agrees(read, rec.answer()):
            return Verdict(keep=True, detail=f"the reader answers it with the same fact (word F1 {f1:.2f})")
        detail = f"the teacher, reading the chunk, answers (word F1 {f1:.2f}): {read[:160]}"
        return Verdict(keep=False, reason="answer_elsewhere", detail=detail)

    async def ajudge(self, records: list[Record], on_done: Callable[[Any], None] | None = None) -> list[Verdict | None]:
        if self.client is None:
            return [None] * len(records)

        async def go(r: Record) -> Verdict | None:
            chunk = self.asked(r)
            return await self.one(r, chunk) if chunk is not None else None

        return await self.client.map([lambda r=r: go(r) for r in records], on_done=on_done)
