"""Which fact of a chunk a new question is about: one sentence of the chunk per question.

Asked for "a new question" about a whole chunk, a small teacher asks about the same salient line every time (or
copies the prompt's example: SmolLM2-135M and Qwen2.5-0.5B both did on 4 of 4 calls in a first run). A student
learns the facts it was asked about, so the questions should walk the chunk's facts: the k-th question of a chunk
is written for its k-th focus sentence, sentences that state a number, time, date, code or name first (the facts
held-out questions ask about), then the rest in reading order. Then the fact-bearing sentences again, once more
for each further question per fact (`generate.questions_per_fact`): a student learns a fact it is asked in several
wordings and not one it saw once (an oracle arm with three rewordings of each held-out question scored 0.42, one
wording of each fact-bearing sentence 0.07; README, Evaluation). Measured with 2 (1,013 calls, the example
domain): the 0.5B wrote the same question again for 208 of 367 sentences (the same prompt, another seed), and the
student did not gain, so the default is 1. Past the end the walk starts again, with a new variant number (the
sampling seed of the call).

With extractive answers the focus sentence is the answer (the teacher writes only the question): a question
written for a sentence has that sentence as its answer by construction, where the teacher's own answer was often
another sentence of the chunk (Qwen2.5-0.5B: 4 of 9 kept rows answered a different fact).

With `generate.question_types` set (a mix of question types), the first pass over a chunk's sentences is
reordered so that the sentences likely to yield each type come in proportion to its share
(`tether.text.typed_focus.order_by_types`); the walk still visits every sentence, and the repeats of the
fact-bearing ones stay as they are. Unset, the order is the one above.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from tether.text import points_elsewhere, words
from tether.text.facts import extract_facts
from tether.text.sentences import sentences
from tether.text.typed_focus import order_by_types

_NUMBERED_HEADING = re.compile(r"^\s*\d+(?:\.\d+)*\.?\s+[A-Z]")
MIN_WORDS = 5  # shorter "sentences" are headings, labels or list fragments: nothing to ask about


def _statement(s: str) -> bool:
    """A sentence that states something: long enough, no table row, and not a heading the splitter let through
    (a title such as "Hallam Pike Library Opening Hours" from converted HTML has no stop, colon or number), nor
    the lead-in of a list."""
    if len(words(s)) < MIN_WORDS or s.count("|") >= 2:
        return False
    if s.rstrip().endswith(":"):  # a list's lead-in ("A metered water bill has two parts:"): its facts are the items
        return False
    # a doctest line or a pointer elsewhere ("See also the Format Specification Mini-Language section.") states
    # nothing to ask about: the 0.5B asked "What is the output of ...?" and "What section does it refer to?"
    if states_nothing(s):
        return False
    return s.rstrip()[-1:] in ".!?;:" or ":" in s or any(ch.isdigit() for ch in s)


# a sentence that announces what comes after it ("The following table summarizes the operator precedence in
# Python, ...") instead of stating it: the 0.5B asked "What is the operator precedence in Python?" of it
_ANNOUNCES = re.compile(
    r"^\s*(?:the|this) following\b[^:]*$|\bas follows[.:]?\s*$|\b(?:shown|listed|given|summari[sz]ed) below[.:]?\s*$"
    r"|^[^:]*\b(?:in|from) the following (?:table|list|example|examples|section)\b[^:]*$",
    re.I,
)
# a documentation's version marker and nothing else: "New in version 3.3.", "Deprecated since version 3.12."
_VERSION_NOTE = re.compile(r"^\s*(?:new|changed|deprecated|added|removed) (?:in|since) version [\w.]+[.:]?\s*$", re.I)
# the tail of a call split over doctest lines: "'and the imaginary part {0.imag}.').format(c) 'The complex ..."
_CALL_TAIL = re.compile(r"""^\s*(['"])[^'"]*\1\)""")


# the rest of a sentence cut by a chunk's start or the splitter: it starts with a lowercase word, a quote, a
# footnote mark or a bare number before a comma ("set is defined by the encoding declaration; ...", '"True" if all
# cased characters ...', "3.9: The value of ..."), or leans on the sentence before ("This is for disambiguation
# with C-style octal literals"). Read alone, as an extractive answer is, it has lost its subject: every such
# answer in bench/labels that is no list item was labelled wrong but one ("lambda mo: ...", code)
_FRAGMENT = re.compile(
    r"""^\s*(?:[a-z][a-z'’-]*[\s,;]|["'“‘]|\[\d+\]|\d[\d.]*[,:]\s|(?:This|These)\s+(?:is|are|was|were|means|allows)\b)"""
)


# a claim made by the sentence before: "In CPython, this is the case for functions implemented in C ...", "For
# targets which are attribute references, the same caveat about class and instance attributes applies ..."
_LEANS_ON = re.compile(
    r"\b(?:this|that) is (?:also |not )?(?:the case|true|so)\b|\bthe same\b(?:\s+[\w-]+){0,6}?\s+appl(?:y|ies)\b",
    re.I,
)


def fragment(s: str, text: str = "") -> bool:
    """The sentence is the tail of another one (a chunk that starts mid-sentence, a splitter's cut) or leans on
    the one before (see _FRAGMENT, _LEANS_ON). A list item of `text` is none: "any tree with a trunk girth of 90
    cm or more" answers "What type of tree is protected?"."""
    if _LEANS_ON.search(s):
        return True
    if not _FRAGMENT.match(s):
        return False
    head = r"\s+".join(re.escape(w) for w in s.split()[:3])
    return not (text and re.search(rf"^\s*(?:[-*+•]|\d+[.)])\s+{head}", text, re.M))


def states_nothing(s: str) -> bool:
    """A line that is no statement whatever its length: a numbered heading ("1.1 The R environment", a PDF's
    heading line), a pointer elsewhere, a doctest ("7, 4, 12) >>> '{:%Y-%m-%d}'.format(d)") or the tail of one,
    or the announcement of a table or list that follows."""
    if _NUMBERED_HEADING.match(s) and s.rstrip()[-1:] not in ".!?":
        return True
    if _VERSION_NOTE.match(s):
        return True
    return points_elsewhere(s) or ">>>" in s or bool(_ANNOUNCES.search(s) or _CALL_TAIL.match(s))


def focus_sentences(text: str) -> list[str]:
    """The chunk's sentences to ask about, fact-bearing first, each in reading order; the whole chunk when it has
    no sentence long enough (a table, a list of names)."""
    return list(_focus(text))


@functools.lru_cache(maxsize=256)
def _focus(text: str) -> tuple[str, ...]:
    """focus_sentences, cached: each of a chunk's questions asks for its k-th sentence."""
    found = [s for s in sentences(text) if _statement(s) and not fragment(s, text)]
    with_facts = [s for s in found if extract_facts(s)]
    rest = [s for s in found if s not in with_facts]
    return tuple(with_facts + rest) or (_whole(text),)


def fact_bearing(text: str) -> bool:
    """The chunk has a sentence that states a number, time, date, code or name: something a student could be asked."""
    return bool(extract_facts(_focus(text)[0]))  # facts first: the first focus sentence has some if any has


def _whole(text: str) -> str:
    return " ".join(text.split())[:600]


def whole_chunk(focus: str, text: str) -> bool:
    """True when `focus` is the stand-in for a chunk without sentences (not a sentence that could be an answer)."""
    return focus == _whole(text)


@functools.lru_cache(maxsize=256)
def _fact_sentences(text: str) -> tuple[str, ...]:
    """The focus sentences that state a number, time, date, code or name (the first ones of `_focus`)."""
    return tuple(s for s in _focus(text) if extract_facts(s))


def focus_walk(text: str, per_fact: int = 1, question_types: Mapping[str, float] | None = None) -> tuple[str, ...]:
    """The order in which a chunk's questions visit its sentences: every focus sentence once, then the fact-bearing
    ones `per_fact - 1` more times (a chunk with no fact-bearing sentence is walked once). `question_types` (type
    -> share, `generate.question_types`) reorders the first pass toward that mix of question types; None keeps
    the order of `focus_sentences`."""
    first = _focus(text) if not question_types else _typed(text, tuple(sorted(question_types.items())))
    return first + _fact_sentences(text) * max(per_fact - 1, 0)


@functools.lru_cache(maxsize=256)
def _typed(text: str, shares: tuple[tuple[str, float], ...]) -> tuple[str, ...]:
    """The focus sentences ordered toward a mix of question types, cached: every job of a chunk asks for it."""
    return tuple(order_by_types(_focus(text), dict(shares)))


def focus_for(text: str, index: int, per_fact: int = 1, question_types: Mapping[str, float] | None = None) -> str:
    """The sentence the `index`-th question of a chunk (0-based, the job's variant) is about."""
    walk = focus_walk(text, per_fact, question_types)
    return walk[index % len(walk)]
