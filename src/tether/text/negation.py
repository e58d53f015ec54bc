"""Does an answer say the opposite of its source? A deterministic negation check, for the rows fact checks miss.

The facts filter compares numbers, dates, codes and names; an answer that keeps every one of them and flips the
claim passes it. A 1.5B teacher wrote "Chloroplasts contain their own DNA, while mitochondria do not" from a
chunk saying "Chloroplasts, like mitochondria, contain their own DNA" (issue 24): every word is in the chunk, the
meaning is its opposite. What is checked, per clause of the answer (sentences, split again at "while", "whereas",
"but", "although" and semicolons):

* the clause's content words (stemmed lightly: "needs" is "need") must all occur in one clause of the source:
  only then is it a restatement of that clause, and only then is a difference in polarity a contradiction (a
  clause with words of its own is new material, for grounding and the facts filter to judge);
* polarity is the parity of negations ("not", "no", "never", "n't", "cannot", "none", ...) and of words
  that negate by meaning ("banned", "prohibited", "forbidden"); "not banned" is positive. Bounds are no negation:
  "no more than 6 dogs" says "up to 6" (`_BOUNDS` are removed before counting);
* the clause contradicts the source when every source clause holding all its words has the other polarity.

A missed contradiction costs nothing here that the other filters would not have missed; a false one drops a true
row, so the rule is narrow: it fires only on clauses whose every word is in the contradicted sentence.
"""

from __future__ import annotations

import functools
import re

from tether.text import STOPWORDS, words
from tether.text.sentences import sentences

_NEGATION = re.compile(
    r"\b(?:not|no|never|nobody|nothing|nowhere|neither|nor|cannot)\b|n['’]t\b|\b(?:none|None of)\b", re.IGNORECASE
)
# a capitalised None after the clause's first word is a value (Python's None), not a negation
_NONE_VALUE = re.compile(r"(?<=.)\bNone\b(?! of)", re.S)
# "No, assignments are illegal": the reply particle of a yes/no answer, not part of the claim
_REPLY = re.compile(r"^\s*(?:yes|no)[,.!:]\s*", re.IGNORECASE)
# the claim is the main clause: a negation in a condition ("Return -1 if sub is not found", "If it is not paid,
# the fine doubles") or a relative clause negates the condition, not the claim
_SUBORDINATORS = "if|unless|when|whenever|until|because|provided|except"
_LEADING_CONDITION = re.compile(rf"^\s*(?:{_SUBORDINATORS})\b[^,]*,", re.IGNORECASE)
_TRAILING_CONDITION = re.compile(rf"\b(?:{_SUBORDINATORS}|which|who)\b.*", re.IGNORECASE | re.S)
# words whose meaning is a negation: "Dogs are banned" says "dogs are not allowed"
_NEGATIVE = re.compile(
    r"\b(?:bann?ed|bans|prohibit(?:s|ed)?|forbid(?:s|den)?|barred|disallowed|illegal|unlawful|impossible|"
    r"unavailable|refused|excluded)\b",
    re.IGNORECASE,
)
_BOUNDS = re.compile(
    r"\b(?:no|not) (?:more|fewer|less|later|earlier|sooner|longer|greater|higher|lower|other) than\b"
    r"|\bnot (?:only|just|least|until|before|after)\b|\bno matter\b|\bno\.\s*\d|\bwhether or not\b",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r";|,?\s+\b(?:while|whereas|but|although|though|however)\b,?", re.IGNORECASE)
# words a negated clause adds without adding content ("do not", "there is no")
_FUNCTION = STOPWORDS | {"also", "only", "any", "there", "need", "needs", "needed"}


def polarity(text: str) -> int:
    """1 when the claim of the text negates (an odd number of negations in its main clause), else 0."""
    claim = _REPLY.sub("", text.strip())
    claim = _TRAILING_CONDITION.sub(" ", _LEADING_CONDITION.sub(" ", claim))
    plain = _BOUNDS.sub(" ", _NONE_VALUE.sub(" ", claim))
    return (len(_NEGATION.findall(plain)) + len(_NEGATIVE.findall(plain))) % 2


def _stem(w: str) -> str:
    for end in ("ing", "ed", "es", "s"):
        if len(w) > len(end) + 2 and w.endswith(end):
            return w[: -len(end)]
    return w


# what a negative word says, without its negation: "banned" is "not allow", "unavailable" is "not available"
_POSITIVE_OF = {"illegal": "legal", "unlawful": "lawful", "impossible": "possible", "unavailable": "available"}


def _positive(m: re.Match) -> str:
    return " " + _POSITIVE_OF.get(m.group(0).lower(), "allow") + " "


def _content(text: str) -> set[str]:
    """Stemmed content words, negations left out and negative words read as their positive (they are the
    polarity, not the content): "Dogs are banned" and "Dogs are allowed" have the same content."""
    plain = _NEGATIVE.sub(_positive, _NEGATION.sub(" ", _BOUNDS.sub(" ", text)))
    return {_stem(w) for w in words(plain) if w not in _FUNCTION and not w.isdigit()} | {
        w for w in words(plain) if w.isdigit()
    }


def clauses(text: str) -> list[str]:
    """The answer's clauses: its sentences, split at contrast words and semicolons."""
    out = []
    for s in sentences(text) or [text]:
        out += [c.strip(" ,.") for c in _CLAUSE_BREAK.split(s) if c and c.strip(" ,.")]
    return out


def contradiction(answer: str, source: str) -> tuple[str, str] | None:
    """(the answer's clause, the source clause it negates) when some clause restates a source clause with the other
    polarity and no source clause with its words agrees with it; else None. The source is read clause by clause
    too: "Glass is not collected from the kerb; take it to the depot" holds a negative and a positive claim."""
    said = _source_clauses(source)
    for clause in clauses(answer):
        mine = _content(clause)
        if not mine:
            continue
        holding = [(s, pol) for s, words_, pol in said if mine <= words_]
        if holding and all(pol != polarity(clause) for _, pol in holding):
            return clause, holding[0][0]
    return None


@functools.lru_cache(maxsize=4096)
def _source_clauses(source: str) -> tuple[tuple[str, frozenset[str], int], ...]:
    """A source's clauses with their content and polarity, read once per source text: many rows share a chunk."""
    return tuple((c, frozenset(_content(c)), polarity(c)) for c in clauses(source))
