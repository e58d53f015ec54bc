"""Focus sentences ordered toward a mix of question types: a permutation of the chunk's sentences, every prefix
close to the requested shares, deterministic; and `focus_walk` unchanged when no mix is configured."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tether.config import FocusType
from tether.text.focus import focus_for, focus_sentences, focus_walk
from tether.text.typed_focus import STEERABLE, order_by_types, sentence_types

DOCS = Path(__file__).resolve().parents[2] / "examples" / "brindlemoor" / "docs"

NUMBER = "A dog licence costs 19 marks per year."
PROCEDURE = "Apply on Form BR-23 at the Civic Counter."
YES_NO = "Living aboard permanently is not allowed."
COMPARISON = "A neutered dog costs 19 marks and an unneutered dog costs 33 marks."
FACT = "The Harbour Office manages the moorings on Lake Vessary."


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [(NUMBER, "number"), (PROCEDURE, "procedure"), (YES_NO, "yes_no"), (COMPARISON, "comparison"), (FACT, "fact")],
)
def test_each_kind_of_sentence_is_read_for_its_type(sentence: str, kind: str) -> None:
    types = sentence_types(sentence)
    assert kind in types and "fact" in types  # any sentence can be asked a plain fact question


def test_a_range_and_a_limit_are_not_comparisons() -> None:
    assert "comparison" not in sentence_types("Each permit zone is enforced from 08:00 to 18:30, Monday to Saturday.")
    assert "comparison" not in sentence_types("A household may hold no more than 2 resident permits.")
    assert sentence_types(FACT) == {"fact"}


def test_no_shares_keep_the_order() -> None:
    sentences = [FACT, NUMBER, PROCEDURE]
    assert order_by_types(sentences, {}) == sentences
    assert order_by_types(sentences, {"number": 0}) == sentences
    assert order_by_types([], {"number": 1}) == []


def test_the_order_is_a_permutation_led_by_the_requested_type() -> None:
    sentences = [FACT, NUMBER, FACT + " Again.", PROCEDURE, YES_NO]
    ordered = order_by_types(sentences, {"procedure": 1})
    assert Counter(ordered) == Counter(sentences)
    assert ordered[0] == PROCEDURE
    assert ordered[1:] == [FACT, NUMBER, FACT + " Again.", YES_NO]  # the rest keep their given order


def test_every_prefix_follows_the_shares() -> None:
    numbers = [f"A permit for zone {z} costs {n} marks per year." for z, n in zip("ABCDEF", range(20, 26), strict=True)]
    steps = [f"Apply for zone {z} at the Civic Counter." for z in "ABC"]
    facts = [f"Zone {z} lies near the Moot Hall in the old town." for z in "GHI"]
    sentences = numbers + facts + steps  # the fact-bearing ones first, as focus_sentences gives them
    ordered = order_by_types(sentences, {"number": 2, "procedure": 1, "fact": 1})  # any scale: 50 %, 25 %, 25 %
    assert sorted(ordered) == sorted(sentences)

    def kind(s: str) -> str:
        return "number" if s in numbers else "procedure" if s in steps else "fact"

    first_four = Counter(kind(s) for s in ordered[:4])
    assert first_four == {"number": 2, "procedure": 1, "fact": 1}
    first_eight = Counter(kind(s) for s in ordered[:8])
    assert first_eight == {"number": 4, "procedure": 2, "fact": 2}
    assert ordered == order_by_types(sentences, {"number": 2, "procedure": 1, "fact": 1})  # deterministic


def test_types_outside_the_steerable_ones_are_ignored() -> None:
    sentences = [FACT, NUMBER]
    assert order_by_types(sentences, {"multi_hop": 1}) == sentences
    assert order_by_types(sentences, {"multi_hop": 1, "number": 1}) == [NUMBER, FACT]


def test_config_types_are_the_steerable_ones() -> None:
    assert set(FocusType.__args__) == set(STEERABLE)


@pytest.mark.parametrize("doc", ["parking-permits.md", "harbour-moorings.rst", "dog-licensing.md"])
def test_focus_walk_with_a_mix_visits_the_same_sentences(doc: str) -> None:
    text = (DOCS / doc).read_text("utf-8")
    shares = {"procedure": 0.5, "yes_no": 0.5}
    plain, typed = focus_walk(text, 2), focus_walk(text, 2, shares)
    assert Counter(plain) == Counter(typed) and len(plain) == len(typed)
    assert focus_walk(text, 2, None) == plain and focus_walk(text, 2, {}) == plain  # unset: unchanged
    n = len(focus_sentences(text))
    assert typed[n:] == plain[n:]  # the repeats of the fact-bearing sentences stay as they were
    first = typed[0]
    assert "procedure" in sentence_types(first) or "yes_no" in sentence_types(first)
    assert [focus_for(text, i, 2, shares) for i in range(len(typed))] == list(typed)
    assert [focus_for(text, i, 2) for i in range(len(plain))] == list(plain)
