"""New questions: the prompt a new-question job is asked with, and the checks on what comes back (a question,
about its sentence, not an example copied from the prompt)."""

from __future__ import annotations

import re

from tether.generate.job import GenContext, Job, extractive
from tether.prompts.templates import Template, demonstrations
from tether.records import Record
from tether.text import content_tokens, normalize, words
from tether.text.focus import focus_for, whole_chunk

# A new question sharing this share of an example question's content words (each way) is that example copied: weak
# teachers copy the prompt's first example (measured here: SmolLM2-135M, 11 of 13 documents-only questions were
# the style guide's first example; with seeds as examples, 5 of 6 were a seed's question).
COPY_OVERLAP = 0.8


def examples_block(examples: list[Record], templates: dict[str, Template]) -> tuple[str, str | None]:
    """(text for new_question's {examples}, the style guide's "style_guide:<hash>" when it stood in).

    The one place few-shot examples are made: the seeds when a job has any, else the built-in (or overridden)
    style guide, so a project with no seeds still shows the teacher what a good pair looks like."""
    if examples:
        return "\n".join(f"- Q: {e.question()}\n  A: {e.answer()}" for e in examples), None
    guide = templates["style_guide"]
    return guide.text.strip(), f"style_guide:{guide.hash}"


def shows_examples(t: Template) -> bool:
    """Whether a new_question wording shows example pairs (the seeds', or the style guide without seeds). The
    built-in one shows none: small teachers copied them (text/focus.py)."""
    return "{examples}" in t.text


def job_focus(job: Job) -> str:
    """The sentence of its chunk a new-question job asks about."""
    assert job.chunk is not None
    return job.focus or focus_for(job.chunk.text, job.index)


def question_template(job: Job, extractive_answers: bool) -> str:
    """The template a new-question job is asked with: `new_question_extract` when its answer is its focus sentence
    (extractive answers, with a real sentence to ask about: the teacher writes only the question), else
    `new_question` (a question and its answer)."""
    assert job.chunk is not None
    if extractive_answers and not whole_chunk(job_focus(job), job.chunk.text):
        return "new_question_extract"
    return "new_question"


def asks_for_focus(ctx: GenContext, job: Job) -> bool:
    """Whether the job's answer is its focus sentence: the teacher then writes only the question."""
    return question_template(job, extractive(ctx, job.chunk)) == "new_question_extract"


def new_question_messages(ctx: GenContext, job: Job) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The prompt of a new-question job, and the templates it used (for the row's meta).

    With extractive answers the teacher sees three demonstrated statement→question turns, then the chunk and the
    statement: Qwen2.5-Coder-0.5B handed back the statement itself as the "question" for 5 of 12 sentences with
    the instruction-only wording and for none with the demonstrations, and the shared demonstration prefix is
    reused from llama.cpp's cache on every call (1.9 s instead of 2.8 s a call; measured in the note of
    issue 20)."""
    assert job.chunk is not None
    concept_line = f"Focus on this topic: {job.concept}.\n" if job.concept else ""
    focus = job_focus(job)
    if asks_for_focus(ctx, job):
        t = ctx.templates["new_question_extract"]
        msgs = t.render(domain=ctx.domain, chunk=job.chunk.text, focus=focus, concept_line=concept_line)
        return msgs, {"template": f"new_question_extract:{t.hash}", "focus": focus}
    t = ctx.templates["new_question"]
    examples, guide = examples_block(job.examples, ctx.templates) if shows_examples(t) else ("", None)
    msgs = t.render(
        domain=ctx.domain,
        chunk=job.chunk.text,
        focus=focus,
        examples=examples,
        concept_line=concept_line,
        variant=job.index + 1,
        length_hint=ctx.style.hint(),
    )
    meta = {"template": f"new_question:{t.hash}", "focus": focus}
    if guide:
        meta["examples"] = guide
    return msgs, meta


_ASKS = re.compile(
    r"^(who|whom|whose|what|which|when|where|why|how|is|are|was|were|do|does|did|can|could|may|must|"
    r"should|will|would|has|have|had)\b",
    re.IGNORECASE,
)


def not_a_question(question: str, focus: str) -> str | None:
    """Why a new question is no question about its focus sentence (None when it is one): small teachers hand back
    the focus sentence, a statement, or a question about the prompt itself in the question field."""
    q = question.strip()
    if focus and normalize(q).rstrip("?") == normalize(focus).rstrip("?"):
        return "the question field repeats the focus sentence"
    if not q.endswith("?") and not _ASKS.match(q):
        return f"not phrased as a question: '{q[:80]}'"
    if not q.endswith("?") and len(words(q)) < 6:  # "What does the 'z'": cut short
        return f"a question cut short: '{q[:80]}'"
    if focus and not content_tokens(q) & content_tokens(focus):
        # SmolLM2-135M wrote "How to answer a question using JSON" for a sentence about library membership
        return f"shares no word with the sentence it was written for: '{q[:80]}'"
    return None


def copied_example(question: str, shown: list[str]) -> str | None:
    """The example question shown in the prompt (a seed's, the style guide's, or a template's demonstration) that
    `question` repeats."""
    mine = content_tokens(question)
    for q in shown:
        theirs = content_tokens(q)
        if normalize(q) == normalize(question):
            return q
        if mine and theirs and len(mine & theirs) >= COPY_OVERLAP * max(len(mine), len(theirs)):
            return q
    return None


def shown_questions(t: Template, examples: list[Record], templates: dict[str, Template]) -> list[str]:
    """The example questions a new-question prompt put before the teacher."""
    shown = demonstrations(t)
    if shows_examples(t):
        if examples:
            shown += [e.question() for e in examples]
        else:
            lines = templates["style_guide"].text.splitlines()
            shown += [m.group(1) for line in lines if (m := re.match(r"\s*-?\s*Q:\s*(.+)", line))]
    return shown
