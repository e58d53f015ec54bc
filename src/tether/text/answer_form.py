"""Does the answer give what its question asks for? Rules over the two texts' words, no model.

Why: with extractive answers every answer is a true sentence of its chunk, and what goes wrong is the pairing. A
teacher given a sentence writes a question *near* it: about the sentence's subject instead of its fact, or one
that carries the fact itself. Read against their chunks, 13 of 30 kept new questions of the quickstart (Qwen2.5-
Coder-0.5B, at 65f190b) were of this kind, and no filter that checks an answer's facts can see them:

* **the question gives the place away** — "Where is the Hallam Pike Library at 17 Wicker Street?" → "The Hallam
  Pike Library at 17 Wicker Street is Brindlemoor's public library, ...": the place the answer names is in the
  question, so the pair teaches nothing about where (`gives_away_place`).
* **a purpose the answer does not give** — "What is the purpose of beekeeping in Brindlemoor?" → "Beekeeping is
  welcome in Brindlemoor." A purpose is said with "to <verb>", "for", "so that", "used to", "helps"
  (`purpose_gap`).
* **the wrong bound** — "What is the maximum floor area that an extension can add?" → "an extension adding more
  than 9 square metres of floor area" (the size above which a permit is needed, not a maximum): a question about a
  maximum answered by a lower bound alone, or the reverse (`bound_gap`).
* **opening times without a time** — "What is the opening time for the library?" → "... open six days a week"
  (`time_gap`: "opening/closing time(s)/hours" need a clock time, like "what time").
* **one sentence for what it cannot answer** — the rules for extractive answers only, in
  `text/sentence_answer.py` (a yes/no question the sentence does not restate, two questions in one, a count
  without its members, ...).

Every rule was checked against the human seed and held-out pairs of the example domain and pyref, where it must
not fire (tests/text/test_answer_form.py holds the cases; the extractive-only rules are checked on the labelled
rows, as a person's short answers are not sentences of a chunk).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tether.text import content_tokens, normalize, stem, stems
from tether.text.facts import Fact
from tether.text.sentence_answer import EXTRACTIVE_RULES

# a place phrase: a preposition of place and a name (capitalised words or a street number): "at 17 Wicker Street",
# "on Wicker Street", "in the Cinder Row Heritage Area"
_PLACE = re.compile(
    r"\b(?:at|in|on|inside|outside|near|beside|behind|opposite)\s+(?:the\s+)?"
    r"(?:\d+[A-Za-z]?\s+)?[A-Z][\w'’&-]*(?:\s+(?:of\s+(?:the\s+)?)?[A-Z][\w'’&-]*)*"
)
_WHERE = re.compile(r"^\s*(?:[^,?]*,\s*)?where\b", re.I)


def gives_away_place(question: str, answer: str) -> str | None:
    """A "where" question that already names a place the answer gives as the answer."""
    if not _WHERE.match(question):
        return None
    q = question.lower()
    for m in _PLACE.finditer(answer):
        if m.group(0).lower() in q:
            return f"asks where, and the question already says it: '{m.group(0)}'"
    return None


_PURPOSE_Q = re.compile(
    r"\b(?:purpose|aim|role|function) of\b|^\s*why\b|\bwhat (?:is|are) [\w\s'’-]{1,40}\bfor\?", re.I
)
_PURPOSE_A = re.compile(
    r"\bto (?!the\b|a\b|an\b|its\b|their\b|your\b|his\b|her\b|this\b|that\b|these\b|those\b|\d)[a-z]+|\bso that\b|"
    r"\bin order\b|\bfor\b|\bpurpose\b|\bserves?\b|\bhelps?\b|\ballows?\b|\blets?\b|\benables?\b|\bbecause\b|"
    r"\bso\b|\bsince\b|\bprotects?\b|\bprevents?\b|\bensures?\b|\bavoids?\b|\bused\b|\buses?\b|\bmeans?\b|\bdue to\b",
    re.I,
)


def _needs(asked: re.Pattern[str], given: re.Pattern[str], why: str) -> Callable[[str, str], str | None]:
    """A rule: a question that matches `asked` needs an answer that matches `given`, else `why`."""

    def rule(question: str, answer: str) -> str | None:
        return why if asked.search(question) and not given.search(answer) else None

    return rule


# a question about a purpose (or a reason) answered by a sentence that states neither
purpose_gap = _needs(_PURPOSE_Q, _PURPOSE_A, "asks for a purpose or reason; the answer states none")


_UPPER_Q = re.compile(r"\b(?:maximum|max|at most|largest|highest|longest|biggest|upper limit|the most)\b", re.I)
_LOWER_Q = re.compile(r"\b(?:minimum|min|at least|smallest|lowest|shortest|fewest)\b", re.I)
_UPPER_A = re.compile(
    r"\b(?:up to|at most|maximum|max|no more than|not more than|or less|or fewer|(?<!no )fewer than|"
    r"(?<!no )(?<!not )less than|under|"
    r"below|within|limit|limited|until|by|before|no longer than|not exceed|exceeding|most|only)\b",
    re.I,
)
_LOWER_A = re.compile(
    r"\b(?:at least|minimum|min|or more|(?<!no )(?<!not )more than|over|above|from|no less than|not less than|"
    r"no fewer than|"
    r"after|no earlier than|exceeds?|beyond|longer than|starting)\b",
    re.I,
)


def bound_gap(question: str, answer: str) -> str | None:
    """A question about a maximum answered only by a lower bound, or about a minimum answered only by an upper
    one ("maximum floor area" → "an extension adding more than 9 square metres")."""
    upper, lower = bool(_UPPER_Q.search(question)), bool(_LOWER_Q.search(question))
    only_lower = bool(_LOWER_A.search(answer)) and not _UPPER_A.search(answer)
    only_upper = bool(_UPPER_A.search(answer)) and not _LOWER_A.search(answer)
    if upper and not lower and only_lower:
        return "asks for a maximum; the answer gives only a lower bound"
    if lower and not upper and only_upper:
        return "asks for a minimum; the answer gives only an upper bound"
    return None


_OPENING_Q = re.compile(r"\b(?:opening|closing) (?:time|times|hours)\b|\bwhat time\b|\bat what time\b", re.I)
_CLOCK = re.compile(
    r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s*(?:am|pm|a\.m\.|p\.m\.)|\b(?:noon|midday|midnight|all hours|any time|"
    r"24 hours|around the clock|dawn|dusk|sunrise|sunset)\b",
    re.I,
)


# an opening or closing time asked for, and no clock time in the answer
time_gap = _needs(_OPENING_Q, _CLOCK, "asks for a time of day; the answer gives none")


_CHOICE_Q = re.compile(
    r"^\s*(?:[^,?]*,\s*)?(?:is|are|was|were|do|does|did|can|could|may|must|should|will|would|has|have|had)\b"
    r"[^?]*?(\w[\w'’-]*)\s+or\s+(?:an?\s+|the\s+|in\s+|as\s+|by\s+)?(\w[\w'’-]*)",
    re.I,
)


def choice_gap(question: str, answer: str) -> str | None:
    """A choice question ("Will the literal be read as lines or as one line?") whose answer names neither
    alternative (the words either side of "or")."""
    m = _CHOICE_Q.match(question)
    if m is None:
        return None
    said = stems(answer)
    options = [w for w in (m.group(1), m.group(2)) if content_tokens(w)]
    if len(options) == 2 and not any(stem(w.lower()) in said for w in options):
        return f"asks '{m.group(1)} or {m.group(2)}'; the answer names neither"
    return None


_SIGNATURE = re.compile(r"^\s*([A-Za-z_][\w.]*)\(.*\)\s*$")


def signature_gap(question: str, answer: str) -> str | None:
    """An answer that is only the signature of the function the question names ("What is the function
    `str.rsplit()`?" → "str.rsplit(sep=None, maxsplit=- 1)"): it names what was asked about and says nothing of
    it. A signature answers a question that does not name it ("Which method splits a string at *sep*?")."""
    m = _SIGNATURE.match(answer)
    if m and m.group(1).lower() in question.lower():
        return f"the answer is the signature of '{m.group(1)}', which the question names"
    return None


RULES = (gives_away_place, purpose_gap, bound_gap, time_gap, choice_gap, signature_gap)


def form_gap(question: str, answer: str, extractive: bool = False) -> str | None:
    """The first way the answer fails to give what the question asks for, or None; EXTRACTIVE_RULES only for an
    extractive answer (a sentence of the chunk)."""
    for rule in (*RULES, *EXTRACTIVE_RULES) if extractive else RULES:
        if why := rule(question, answer):
            return why
    return None


# questions that ask for a quantity or a clock time, and the answers that give one without a digit
_QUANTITY_Q = re.compile(
    r"\bhow (?:many|much|long|old|far|often|late|early)\b|\bwhat (?:percentage|proportion)\b", re.I
)
_TIME_Q = re.compile(r"\b(?:what|which) time\b|\bat what time\b", re.I)
_QUANTITY_WORDS = re.compile(
    r"\b(?:free|no (?:charge|fee|cost|limit)|nothing|none|unlimited|no more than|any number|several|a few|daily|"
    r"weekly|monthly|yearly|annually|once|twice|half|never)\b",
    re.I,
)
# "how much does it cost / is the fee / do I pay": an amount of money (a currency, a price word before a number) or
# "free" must be in the answer
_COST_Q = re.compile(r"\bhow much\b.*\b(cost|costs|fee|fees|charge|charges|price|pay|paid)\b|\bwhat (?:is|are) the "
                     r"(?:\w+ )?(fee|fees|price|charge|cost)s?\b", re.I)  # fmt: skip
_FREE = re.compile(r"\b(?:free|no (?:charge|fee|cost)|nothing|costs? nothing|not charged)\b", re.I)
_PRICED = re.compile(r"\b(?:costs?|fee|price|charge|pay|pays|paid|priced at)\b\D{0,20}\d", re.I)
_NUMBER_WORDS = (
    r"(?:no|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"hundred|a dozen|several|a few|many|up to|at most|at least)"
)
# units a "how many" question counts in (hours are left out: "from 09:00 to 15:00" answers them)
_UNITS = frozenset("time second minute day week month year mark metre meter kilometre litre euro dollar pound".split())
_YEAR_Q = re.compile(r"\b(?:in|since|from|until) (?:what|which) year\b|^\s*what year\b", re.I)
_WHEN_Q = re.compile(r"^\s*(?:when|in (?:what|which) year|on (?:what|which) (?:day|date)s?|what date)\b", re.I)
_TIME_WORDS = re.compile(r"\b(?:noon|midday|midnight|dawn|dusk|sunrise|sunset|any time|anytime|all day)\b", re.I)


def answer_type_gap(question: str, answer: str, facts: list[Fact], extractive: bool = False) -> str | None:
    """What the question asks for that the answer does not give at all ("how many" with no number in the answer:
    an answer to some other question). Quantity and clock-time questions here; a place the question gives away, a
    purpose, a bound and (for an extractive answer) a yes/no proposition in `text.answer_form`. "When" may be
    answered by a condition, "where" by a description."""
    kinds = {f.kind for f in facts}
    numeric = [f for f in facts if f.kind in ("number", "time", "date")]
    asks_number = _QUANTITY_Q.search(question) or _TIME_Q.search(question) or _WHEN_Q.search(question)
    # "When does the mooring season run from 1 April to 31 October?": the numbers it asks for are its own
    if asks_number and numeric and all(normalize(f.text) in normalize(question) for f in numeric):
        return "asks for a number, time or date, and every one the answer gives is already in the question"
    if _YEAR_Q.search(question) and not re.search(r"\b1\d{3}\b|\b20\d{2}\b", answer):
        return "asks for a year; the answer gives none"
    if _TIME_Q.search(question) and "time" not in kinds and not _TIME_WORDS.search(answer):
        return "asks for a time; the answer gives none"
    m = _QUANTITY_Q.search(question)
    if m and not kinds & {"number", "time", "date"} and not _QUANTITY_WORDS.search(answer):
        return f"asks '{m.group(0).lower()}'; the answer gives no number or amount"
    cost = _COST_Q.search(question)
    money = any(f.kind == "number" and (f.dim or "").startswith("money:") for f in facts)
    if cost and not money and not _FREE.search(answer) and not _PRICED.search(answer):
        return "asks about a cost or fee; the answer names no amount of money"
    # "how many councillors ...?" answered with a sentence about councillors that counts something else
    # ("each councillor receives 412 marks"): the counted noun must carry a number when the answer names it
    noun = re.search(r"\bhow many ([a-z]{3,})", question.lower())
    if noun:
        stem = noun.group(1).rstrip("s")
        named = list(re.finditer(rf"\b{re.escape(stem)}s?\b", answer.lower()))
        counted = re.search(
            rf"(?:\d[\d,.]*|{_NUMBER_WORDS})\s+(?:[a-z-]+\s+){{0,2}}{re.escape(stem)}s?\b", answer.lower()
        )
        if named and not counted:
            return f"asks how many {noun.group(1)}; the answer names them but counts something else"
        # a unit is counted in that unit: "How many days' notice ...?" answered by "once a year during June"
        if stem in _UNITS and not named:
            return f"asks how many {noun.group(1)}; the answer counts none"
    return form_gap(question, answer, extractive)
