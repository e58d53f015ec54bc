"""Small text utilities shared by stages: content-word tokens and lexical support scores."""

from __future__ import annotations

import re

# fmt: off
STOPWORDS = frozenset((
    "a an the of to in on at by for from with and or but is are was were be been it its this that these those as do "
    "does did can could should would will may must not no what which who whom when where why how i you we they he "
    "she my your our their there here than then so if any all per"
).split())
# fmt: on


# a sentence that sends the reader elsewhere instead of stating something ("See also ...", "For details, see ...",
# "Refer to ..."), and a line of an interactive session (">>> a == b", "... ")
_REFERENCE = re.compile(r"\s*(?:please\s+)?(?:see\b|refer to\b|for (?:full |further )?(?:details|more)\b)", re.I)
# "The details of the first step ... are described in greater detail in the section on the import system"
# "... are discussed in the Special method names section and elsewhere"
_DESCRIBED_ELSEWHERE = re.compile(
    r"\b(?:described|discussed|documented|explained) (?:in (?:greater|more|further) detail )?in the section\b|"
    r"\b(?:described|discussed|documented|explained) in the (?:[\w“”\"'’-]+ ){1,5}section\b",
    re.I,
)
# "Further explanation is available in the FAQ entry ...", "More information can be found in ..."
_AVAILABLE_ELSEWHERE = re.compile(
    r"\b(?:further|more) (?:explanation|information|details?|discussion)\b[^.]{0,40}?\b(?:is|are|can be) "
    r"(?:available|found|given)\b",
    re.I,
)
_DOCTEST = re.compile(r"\s*(?:>>>|\.\.\.\s)")


def points_elsewhere(sentence: str, doctest: bool = True) -> bool:
    """The sentence only points to another place ("See also the Mapping Types section."), or, with `doctest`, is a
    line of an interactive session: neither states a fact to ask about."""
    return bool(
        _REFERENCE.match(sentence)
        or _DESCRIBED_ELSEWHERE.search(sentence)
        or _AVAILABLE_ELSEWHERE.search(sentence)
        or (doctest and _DOCTEST.match(sentence))
    )


def words(text: str) -> list[str]:
    """Lower-cased words and numbers, in order, punctuation and case dropped."""
    return re.findall(r"[a-z0-9]+", text.lower())


def content_tokens(text: str) -> set[str]:
    """Lower-cased content words and all numbers (numbers carry most facts: fees, times, dates, form numbers)."""
    return {t for t in words(text) if t not in STOPWORDS}


def support(claim: str, evidence: str) -> float:
    """Share of the claim's content tokens found in the evidence: a cheap grounding signal in [0, 1]."""
    words = content_tokens(claim)
    return len(words & content_tokens(evidence)) / len(words) if words else 0.0


def stem_support(claim: str, evidence: str) -> float:
    """Share of the claim's word stems found in the evidence (`support` that sees "overwriting" in "overwrites")."""
    asked = stems(claim)
    return len(asked & stems(evidence)) / len(asked) if asked else 0.0


def stem(word: str) -> str:
    """A crude English stem, enough to see "providing" in "provide", "works" in "work", "hoses" in "hose", "used"
    in "use" and "guarantees" in "guaranteed": one inflection off, then a final "e"."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith("es") and (w[-3] in "sxz" or w.endswith(("ches", "shes"))):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    elif len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif w.endswith("eed"):  # "need", "seed", "exceed" are stems; "guaranteed" is not
        w = w[:-1] if len(w) > 7 else w
    elif len(w) > 3 and w.endswith("ed"):
        w = w[:-2]
    return w[:-1] if len(w) > 2 and w.endswith("e") else w


def stems(text: str) -> set[str]:
    """The text's content words, stemmed: what two texts share when their words differ only in inflection."""
    return {stem(w) for w in content_tokens(text)}


def normalize(text: str) -> str:
    return " ".join(words(text))
