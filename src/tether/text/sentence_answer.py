"""Rules for an extractive answer only: does one sentence of the chunk answer the question a teacher wrote for it?

Why apart from `text.answer_form`'s rules: a sentence of the chunk is read later without the chunk, so it must say
what it says in its own words, where a person answers "Can I ...?" with "No, not weekdays" and "What's the
difference between str.index() and str.find()?" with "It works like find() but raises ValueError ...". So these
fire only on extractive answers, and are checked on the labelled generated rows of bench/labels rather than on
the human pairs (tests/text/test_answer_form.py):

* **a yes/no question the answer does not address** — "Does Old Common Meadow require a lead from the tram to
  operate?" → "Old Common Meadow is an off-lead area all year round.": an extractive answer to a yes/no question
  must restate the question's proposition, so most of the question's content words are in it (`yes_no_gap`).
* **one sentence for what it cannot answer** (written from the 1.5B's rows on held-out pyref text): a comparison
  naming one side (`comparison_gap`), a question that asks two things (`two_questions`), about a code example its
  sentence does not contain (`example_gap`), "which X" answered by "All X ..." (`quantifier_gap`), "what is X"
  answered only by what X is not (`negation_gap`), a question that shares under a fifth of its words with its
  sentence (`beside_gap`), and one that asks for the N members of a set answered by a sentence ending on the
  count ("What are the three priorities for snow clearing?" → "... carries out snow clearing in three
  priorities.", `count_without_members`). On the labelled rows of bench/labels (432 distinct extractive rows)
  the rules before `count_without_members` fired on 27 wrong rows and 5 right ones.
"""

from __future__ import annotations

import re

from tether.text import stem, stems
from tether.text.quantities import SMALL

_YES_NO_Q = re.compile(
    r"^\s*(?:[^,?]*,\s*)?(?:is|are|was|were|do|does|did|can|could|may|must|should|will|would|has|have|had)\b"
    r"(?![^?]*\bor\b)",
    re.I,
)
# share of a yes/no question's content words its answer must repeat to restate the question's proposition
YES_NO_COVER = 0.75


def yes_no_gap(question: str, answer: str) -> str | None:
    """A yes/no question whose extractive answer leaves out much of what it asks about: the answer is not the
    question's proposition, affirmed or denied. ("Are private swimming pools and hot tubs not allowed on tram?" →
    "Private swimming pools and hot tubs may not be filled or topped up.")"""
    if not _YES_NO_Q.match(question):
        return None
    asked = stems(question)
    if len(asked) < 3:
        return None
    said = stems(answer)
    covered = len(asked & said) / len(asked)
    if covered < YES_NO_COVER:
        missing = ", ".join(sorted(asked - said)[:5])
        return f"a yes/no question the answer does not restate ({covered:.0%} of its words; not: {missing})"
    return None


_BETWEEN = re.compile(r"\bdifferences? between (.+?) and (.+?)(?:\?|$)", re.I)
_DIFFER = re.compile(r"^\s*how (?:does|do|is|are) (.+?) (?:differ|different) from (.+?)(?:\?|$)", re.I)


def comparison_gap(question: str, answer: str) -> str | None:
    """A question about the difference between two things whose answer names only one of them ("What is the
    difference between ASCII and alphabetic characters in Unicode?" → "Note that this is different from the
    'Alphabetic' property defined in the Unicode Standard.")."""
    m = _BETWEEN.search(question) or _DIFFER.search(question)
    if m is None:
        return None
    said = stems(answer)
    for side in (m.group(1), m.group(2)):
        words_ = stems(side)
        if words_ and not words_ & said:
            return f"asks how two things differ; the answer does not name '{side.strip()}'"
    return None


# a second question joined to the first ("What is X, and how does it affect Y?"): one sentence answers one of them
_SECOND_ASK = re.compile(
    r"\band (?:how|what|why|which|when|where|who|whether)\s+(?:is|are|was|were|do|does|did|can|could|should|would|"
    r"will|must|may|might|happens?|kind|type|effect)\b|\?\s*\S.*\?",
    re.I,
)


# "When and where is the market held?": two question words sharing one verb ask about one event, which one sentence
# states ("The market is held every Thursday on Old Common Square")
_JOINT_WH = re.compile(
    r"^(\s*(?:how|what|why|which|when|where|who))\s+and\s+(?:how|what|why|which|when|where|who)\b", re.I
)


def two_questions(question: str, answer: str) -> str | None:
    """A question that asks two things of an extractive answer, which is one sentence ("What is the relationship
    between a module and its top level package, and how does this affect access to its attributes?")."""
    m = _SECOND_ASK.search(_JOINT_WH.sub(r"\1", question))
    return f"asks two things ('{m.group(0)[:30]}'); one sentence answers one" if m else None


# "What are the three priorities for snow clearing?": a question for the members of a counted set, and an answer
# that ends on the count ("... carries out snow clearing in three priorities."): it announces the set, the list
# follows in the chunk, and the row teaches that there are three
_COUNT = "(?:" + "|".join(w for w, n in SMALL.items() if 2 <= n <= 12 and w != "dozen") + r"|\d+)"
_MEMBERS_Q = re.compile(
    rf"^\s*(?:(?:what|which) (?:are|were) the|which|name the|list the) (?:[a-z-]+ ){{0,2}}?({_COUNT}) "
    rf"(?:[a-z-]+ ){{0,2}}?([a-z]{{3,}})\b",
    re.I,
)


def count_without_members(question: str, answer: str) -> str | None:
    """The question asks for the N things of a set; the extractive answer's last words are that count."""
    m = _MEMBERS_Q.search(question)
    if m is None:
        return None
    count, noun = m.group(1).lower(), stem(m.group(2).lower())
    tail = re.search(rf"\b{count}\s+(?:[\w-]+\s+){{0,2}}?([a-z]+)\W*$", answer.lower())
    if tail and stem(tail.group(1)) == noun:
        return f"asks for the {count} {m.group(2)}; the answer only says there are {count}"
    return None


# a code example in the question: a quoted or backquoted span with brackets, operators or a call in it
_CODE_SPAN = re.compile(r"`([^`]{3,})`|\"([^\"]{3,})\"|'([^']{3,})'")
_CODE_CHARS = re.compile(r"[()\[\]{}=<>+*/%^|&~]")
_NAME_CALL = re.compile(r"^\s*[A-Za-z_][\w.]*(?:\(\))?\s*$")  # `str.translate()` names a method; no example
_UNQUOTED = re.compile(r"[\s\"'`]")  # compared without spaces and quotes: "[[]] * 3" is `[[]]*3`


def example_gap(question: str, answer: str) -> str | None:
    """A question about a code example that its extractive answer does not contain ("What is the result of
    `[[] for i in range(3)]`?" answered by the sentence about `[[]] * 3` next to it): the answer is about another
    example of the chunk. Spaces and quotes are ignored; a bare name ("`str.split`") is no example."""
    flat = _UNQUOTED.sub("", answer)
    for m in _CODE_SPAN.finditer(question):
        span = next(g for g in m.groups() if g)
        if _NAME_CALL.match(span) or not _CODE_CHARS.search(span):
            continue
        if _UNQUOTED.sub("", span) not in flat:
            return f"asks about the example '{span[:40]}', which the answer does not contain"
    return None


# "Which historical features ...?" answered by "All historical features ...": a quantifier is no identification
_WHICH_NOUN = re.compile(r"^\s*(?:which|what)\s+(?:[a-z-]+\s+){0,2}?([a-z]{3,})\s+(?:is|are|was|were|do|does|can|"
                         r"could|should|will|would|must|has|have)\b", re.I)  # fmt: skip
_QUANTIFIED = r"^\s*(?:all|every|any|each)\s+(?:[\w-]+\s+){{0,3}}?{noun}\w*"
_VERB = r"\b(?:is|are|was|were|must|can|may|will|should|has|have|does|do)\b"


def quantifier_gap(question: str, answer: str) -> str | None:
    """A "which X" question whose extractive answer starts "All/Every/Any X" and qualifies X only with the
    question's own words: it quantifies over what was asked for instead of naming it."""
    m = _WHICH_NOUN.match(question)
    if m is None:
        return None
    q = re.match(_QUANTIFIED.format(noun=re.escape(stem(m.group(1).lower()))), answer, re.I)
    if q is None:
        return None
    # "Every hive kept in the town must ..." names a class by what the question does not say; "All historical
    # features enabled by the future statement are ..." says only what the question said
    subject = re.split(_VERB, answer[q.end() :], maxsplit=1)[0]
    if stems(subject) <= stems(question):
        return f"asks which {m.group(1)}; the answer quantifies over them and names none"
    return None


_WHAT_IS = re.compile(r"^\s*what (?:is|are)\b", re.I)
_NEGATED = re.compile(r"^(?:\S+\s+){0,8}?(?:is|are|was|were) not\b|^(?:\S+\s+){0,8}?(?:isn't|aren't)\b", re.I)
_NOT_ONLY = re.compile(r"\b(?:but|instead|rather|only|except|unless)\b|[;:]", re.I)
_ANY_NEGATION = re.compile(r"\b(?:not|no|never|none|without|cannot)\b|n't\b", re.I)


def negation_gap(question: str, answer: str) -> str | None:
    """ "What is/are X?" answered only by what X is not ("What are the contents of exception messages?" →
    "Exception messages are not part of the Python API."): a denial names nothing the question asks for."""
    asks_what = _WHAT_IS.match(question) and not _ANY_NEGATION.search(question)
    if asks_what and _NEGATED.match(answer) and not _NOT_ONLY.search(answer):
        return "asks what something is; the answer only says what it is not"
    return None


# share of a written question's content words its extractive answer must hold; below it the question is about
# something next to the sentence (labelled rows: under 0.2 held 1 of 175 right rows and 9 of 163 wrong ones)
ASKED_COVER = 0.2


def beside_gap(question: str, answer: str) -> str | None:
    """A question that shares almost none of its words with its extractive answer ("Which comparison operation
    should be used for checking if an item is not present in a sequence?" → "Inverse comparison should result in
    the boolean negation."): it asks about something beside the sentence."""
    asked = stems(question)
    if len(asked) < 5:
        return None
    covered = len(asked & stems(answer)) / len(asked)
    if covered < ASKED_COVER:
        return f"the answer holds {covered:.0%} of the question's words: it answers something else"
    return None


EXTRACTIVE_RULES = (
    yes_no_gap, comparison_gap, two_questions, count_without_members, example_gap, quantifier_gap, negation_gap,
    beside_gap,
)  # fmt: skip
