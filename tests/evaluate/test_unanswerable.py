"""Questions no document answers: built from held-out questions with an entity no chunk has, and replies that
decline them told from replies that invent an answer."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLE
from tether.evaluate.monitor import EvalPoint, collapse_flags, history_table
from tether.evaluate.unanswerable import abstains, build_unanswerable, invent
from tether.text.names import mentions

CORPUS = [p.read_text(encoding="utf-8") for p in sorted((EXAMPLE / "docs").iterdir())]
HELDOUT = [json.loads(line) for line in (EXAMPLE / "heldout" / "heldout.jsonl").read_text().splitlines() if line]


def test_invented_entities_are_in_no_document_and_the_rest_of_the_question_stays() -> None:
    made = build_unanswerable([(h["id"], h["question"]) for h in HELDOUT], CORPUS, 100)
    assert len(made) >= 15  # the example's held-out questions that name a place, scheme or card
    for u in made:
        assert not any(mentions(doc, u.invented) for doc in CORPUS), u
        assert any(mentions(doc, u.replaced) for doc in CORPUS), u  # it swapped something real
        original = next(h["question"] for h in HELDOUT if h["id"] == u.heldout_id)
        assert u.question != original and len(u.question.split()) == len(original.split())
    first = made[0]
    assert first.replaced == "Quayside" and first.question.startswith("How many councillors represent Quay")
    assert build_unanswerable([(h["id"], h["question"]) for h in HELDOUT], CORPUS, 5) == made[:5]  # deterministic


def test_what_is_not_swapped() -> None:
    assert invent("How often do trams run on Sundays?", CORPUS) is None  # a weekday is no entity
    assert invent("How much is a dog licence?", CORPUS) is None  # no name at all
    assert invent("When does the Lund Island ferry leave?", CORPUS) is None  # already absent: not a clean swap
    api = invent("What does str.find() return when the substring is missing?", ["str.find() returns -1."])
    assert api is not None and api[2].startswith("str.find_") and api[0].count("str.find_") == 1


@pytest.mark.parametrize(
    "reply",
    [
        "I don't know.",
        "I'm not sure about that.",
        "The documents do not mention a Quayby ward.",
        "There is no Quayby ward in Brindlemoor.",
        "That ward is not listed in the council's documents.",
        "I cannot find any information about it.",
        "There is no such scheme.",
    ],
)
def test_declining_replies_abstain(reply: str) -> None:
    assert abstains(reply, "Quayby ward")


@pytest.mark.parametrize(
    "reply",
    [
        "Quayby ward has 3 councillors.",
        "There is no fee for the Quayby ward permit.",  # denies a fee, asserts the ward
        "The Quayby ward is represented by two councillors elected every four years.",
    ],
)
def test_asserting_replies_do_not(reply: str) -> None:
    assert not abstains(reply, "Quayby ward")


def test_hallucination_rising_while_accuracy_holds_is_flagged() -> None:
    pts = [
        EvalPoint(generation=g, accuracy=a, perplexity=10.0, hallucination=h)
        for g, a, h in [(0, 0.40, 0.30), (1, 0.42, 0.32), (2, 0.41, 0.55)]
    ]
    flags = collapse_flags(pts)
    assert [(f.kind, f.generation) for f in flags] == [("hallucination_rise", 2)]
    assert "0.320 → 0.550" in flags[0].message  # against the best earlier generation (1)
    assert history_table(pts)[2]["hallucination"] == 0.55
    calm = [EvalPoint(generation=g, accuracy=0.4, perplexity=10.0, hallucination=None) for g in range(3)]
    assert collapse_flags(calm) == []


def test_heldout_rows_can_be_marked_unanswerable(tmp_path) -> None:
    from tether.seeds.holdout import heldout_records

    path = tmp_path / "heldout.jsonl"
    rows = [
        {"id": "a", "question": "How much is a dog licence?", "answer": "24 marks"},
        {"id": "b", "question": "How much is a cat licence?", "answer": "No document says.", "answerable": False},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    got = heldout_records(path)
    assert [r.meta.get("answerable") for r in got] == [None, "false"]
