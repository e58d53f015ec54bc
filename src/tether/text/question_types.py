"""What kind of question a row asks: fact, number, yes/no, comparison, procedure, unanswerable or multi-hop.

Why: concept coverage says *what* a training set asks about, not *how*. A set where every row is "How much is X?"
teaches a student to answer amounts and little else, and held-out questions also ask "Can I ...?", "What is the
difference between ...?" and "How do I ...?". Tagging every row with one type and counting them per origin shows
whether the synthetic rows ask the same kinds of question as the human seeds (issue 23).

The tag is decided by rules over the question's words, with no model, so that it is deterministic, free and the
same on every machine (a measurement that changes with a sampled model's mood cannot be diffed):

* the row's provenance first: a false-premise row (strategy `unanswerable`, or `meta["declined"]`) is
  `unanswerable`, a row written across two chunks (strategy `multi_hop`) is `multi_hop`;
* then the main clause of the question (the sentence that asks, after a leading "If ..., " clause and a
  preposition before the question word: "Since which version ..." asks "which version ..."):
  comparison ("difference between", "compare", "the same", "-er than", "both", a choice "Is it X or Y?"),
  yes/no (opens with an auxiliary verb: is, do, can, must, ...), procedure ("how do I ...", "how to", "what are
  the steps", "what must ... do", "what happens if ..."), number ("how many/much/long", "what time", "what is the
  fee", "when" answered with a time or date);
* and for a "what" question that none of these decide, the answer: its first fact (`extract_facts`, by position)
  being a number, time or date makes it a number question ("What is the standard parking fine?" "45 marks").

`tests/text/test_question_types.py` holds the hand-labelled questions the rules are measured against.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from tether.records import Record
from tether.text.facts import Fact, extract_facts

TYPES = ("fact", "number", "yes_no", "comparison", "procedure", "unanswerable", "multi_hop")

AUXILIARIES = frozenset(
    """is are was were do does did can could should will would has have had may must shall might isn't aren't wasn't
    weren't don't doesn't didn't can't cannot couldn't shouldn't won't wouldn't hasn't haven't hadn't mustn't""".split()
)
_QUESTION_WORDS = AUXILIARIES | {"what", "which", "who", "whom", "whose", "where", "when", "why", "how"}
# a clause before the question proper: "If I reassign the loop variable, does ...", "With the '_' option, how ..."
_LEADING_CLAUSE = re.compile(
    r"^(?:if|when|with|in|for|since|after|before|during|once|given|assuming|under|on|as|while)\b[^,?]*,\s*", re.I
)
# a preposition before the question word: "Since which version", "From what age", "Until what time"
_LEADING_PREPOSITION = re.compile(
    r"^(?:in|on|at|for|from|since|until|till|by|to|during|beyond|within|after|before|under|of|with)\s+"
    r"(?=(?:what|which|whom|whose|how)\b)",
    re.I,
)

_COMPARATIVE = re.compile(
    r"\b(?:difference between|differ|differs|different from|compare[sd]?|comparison|versus|vs\.?|the same|"
    r"same as|both)\b",
    re.I,
)
# "cheaper than a swing mooring", "more than X" but not "more than 9 square metres" (a threshold, not two things)
_THAN = re.compile(
    r"\b(?!(?:other|rather)\b)(?:more|less|fewer|\w+er)\s+than\s+(?!\d|one\b|two\b|three\b|a few\b)", re.I
)
_WHICH_CHOICE = re.compile(r"^which\b[^?]*\bor\b", re.I)  # "Which is cheaper, a day pass or a book of ten?"

_PROCEDURE = [
    re.compile(r"^how\s+(?:do|does|did|can|could|should|would|will|may|might|must|is|are|am)\b", re.I),
    re.compile(r"\bhow to\b", re.I),
    re.compile(r"\b(?:what|which) (?:are|is) the (?:\w+ )?(?:steps?|procedure|process)\b", re.I),
    re.compile(r"^what\s+(?:must|should|do|can|could|would|will|need)\s+(?:i|you|we|one|they|he|she)\b.*\bdo\b", re.I),
    re.compile(r"^what\s+(?:must|should|has to|have to|needs? to)\b.*\bdo\b", re.I),
    re.compile(r"^what happens\s+(?:if|when|after|before|once|unless)\b", re.I),
]

_NUMBER_NOUNS = (
    r"time|times|date|dates|day|days|year|years|month|months|hours?|age|percentage|percent|share|fees?|costs?|"
    r"prices?|amount|charges?|rate|number|distance|length|size|speed|speed limit|limit|capacity|deadline|minimum|"
    r"maximum|fines?|penalty|fare|deposit|surcharge|tax|rent|duration|period|total|weight|height|depth|width|"
    r"temperature"
)
_NUMBER = [
    re.compile(
        r"^how\s+(?:many|much|long|old|often|far|soon|late|early|big|large|high|wide|deep|heavy|tall|fast)\b", re.I
    ),
    re.compile(rf"^(?:what|which)\s+(?:{_NUMBER_NOUNS})\b", re.I),
    re.compile(rf"^what(?:'s|\s+is|\s+are|\s+was|\s+were)\s+the\s+(?:[\w-]+\s+){{0,3}}(?:{_NUMBER_NOUNS})\b", re.I),
    re.compile(r"^what\b.*\b(?:costs?|pays?|paid|charges?|charged)\b", re.I),  # "What does it cost?" "... pay?"
]


def question_type(question: str, answer: str = "", strategy: str | None = None, meta: Mapping | None = None) -> str:
    """The type (one of TYPES) of a question, from its provenance, its words and, for a plain "what", its answer."""
    if strategy == "unanswerable" or (meta is not None and "declined" in meta):
        return "unanswerable"
    if strategy == "multi_hop":
        return "multi_hop"
    q = main_clause(question)
    first = _first_word(q)
    if _comparison(q, first):
        return "comparison"
    if first in AUXILIARIES:
        return "yes_no"
    if any(rx.search(q) for rx in _PROCEDURE):
        return "procedure"
    if first in ("where", "who", "whom", "whose", "why"):
        return "fact"  # a place, a person, a reason: even "Where ... and what does it cost?" asks where first
    if any(rx.search(q) for rx in _NUMBER):
        return "number"
    if first == "when":
        # "When does the tram leave?" asks a time; "When is an instance treated as false?" a condition
        return "number" if q.lower().startswith("when did") or not answer or _temporal(answer) else "fact"
    if first == "what" and _second_word(q) not in _ACTION_WORDS and answer and _numeric(first_fact(answer)):
        return "number"  # "What is the standard parking fine?" "45 marks"; not "What does '%' do?" "multiplies by 100"
    return "fact"


def main_clause(question: str) -> str:
    """The question proper: the sentence that asks ("My car was towed. Where do I ...?" asks the second; of several,
    the first that opens with a question word), without a leading conditional clause or a preposition before its
    question word."""
    text = " ".join(question.split())
    parts = [p.strip() for p in re.split(r"(?<=[.?!])\s+", text) if p.strip()]
    asking = [p for p in parts if p.endswith("?")]
    q = asking[0] if asking else text
    if len(asking) > 1 and _first_word(q) not in _QUESTION_WORDS:
        q = next((p for p in asking if _first_word(p) in _QUESTION_WORDS), q)
    for _ in range(2):  # "If I sell my boat, from what age ...": a clause, then a preposition
        rest = _LEADING_CLAUSE.sub("", q, count=1)
        if rest != q and _first_word(rest) in _QUESTION_WORDS:
            q = rest
        q = _LEADING_PREPOSITION.sub("", q, count=1)
    return q


def _first_word(text: str) -> str:
    m = re.match(r"\s*([A-Za-z']+)", text.replace("’", "'"))
    return m.group(1).lower() if m else ""


def _second_word(text: str) -> str:
    m = re.match(r"\s*[A-Za-z']+\s+([A-Za-z']+)", text.replace("’", "'"))
    return m.group(1).lower() if m else ""


# "what does X do / return / happen": a behaviour, whatever numbers its answer holds
_ACTION_WORDS = AUXILIARIES - {"is", "are", "was", "were", "isn't", "aren't"} | {"happens", "happened"}


def _comparison(q: str, first: str) -> bool:
    if _COMPARATIVE.search(q) or _THAN.search(q) or _WHICH_CHOICE.search(q):
        return True
    return first in AUXILIARIES and _choice(q)


def _choice(q: str) -> bool:
    """ "Is the market on Thursday or Saturday?": an ' or ' between two answers, in the question's second half and
    near its end. "Is an empty list or set considered false?" joins two subjects: a yes/no question."""
    body = q.rstrip(" ?")
    at = body.lower().rfind(" or ")
    if at < 0 or body.lower().endswith(" or not"):
        return False
    return at > len(body) / 2 and len(body[at + 4 :].split()) <= 4


def _numeric(fact: Fact | None) -> bool:
    """A time, a date, or a number written in digits or with a unit ("45 marks", "3"); a bare number word is
    mostly an ordinal or a count of things in a definition ("The Second Shelf is", "Three None arguments")."""
    if fact is None:
        return False
    if fact.kind in ("time", "date"):
        return True
    return fact.kind == "number" and (fact.unit is not None or any(ch.isdigit() for ch in fact.text))


def _temporal(answer: str) -> bool:
    """The answer states a time, a date, a duration or a weekday or month: what a "when" question asks."""
    for f in extract_facts(answer):
        if f.kind in ("time", "date") or (f.kind == "number" and f.dim == "time"):
            return True
        if f.kind == "name" and any(w.lower().rstrip("s") in _CALENDAR for w in f.text.split()):
            return True
    return False


_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday weekday weekend january february march april may june "
    "july august september october november december".split()
)


def first_fact(text: str) -> Fact | None:
    """The fact that comes first in the text (`extract_facts` lists them by kind, not position)."""
    facts = extract_facts(text)
    if not facts:
        return None

    def position(f: Fact) -> int:
        at = text.find(f.text)
        return at if at >= 0 else len(text)

    return min(facts, key=position)


def numeric_sentence(sentence: str) -> bool:
    """The sentence states a number, time or date (as `_numeric` reads one): a number question can be asked of it."""
    return any(_numeric(f) for f in extract_facts(sentence))


def record_type(r: Record) -> str:
    """The type of a row's question, with its answer, strategy and meta."""
    return question_type(r.question(), r.answer(), r.strategy, r.meta)


def type_counts(rows: Iterable[Record]) -> dict[str, int]:
    """Rows per type, every type present (zero included) and in TYPES order, so that two counts diff key by key."""
    counts = Counter(record_type(r) for r in rows)
    return {t: counts.get(t, 0) for t in TYPES}
