"""The answer-form rules: each catches the pairs it was written for, and none fires on a person's question and
answer (the example domain's seeds and held-out set, pyref's seeds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tether.text.answer_form import (
    answer_type_gap,
    bound_gap,
    choice_gap,
    form_gap,
    gives_away_place,
    purpose_gap,
    signature_gap,
    time_gap,
)
from tether.text.facts import extract_facts
from tether.text.sentence_answer import (
    beside_gap,
    count_without_members,
    example_gap,
    negation_gap,
    quantifier_gap,
    two_questions,
    yes_no_gap,
)

ROOT = Path(__file__).resolve().parents[2]
HUMAN = [
    ROOT / "examples" / "brindlemoor" / "seeds" / "seeds.jsonl",
    ROOT / "examples" / "brindlemoor" / "heldout" / "heldout.jsonl",
    ROOT / "bench" / "domains" / "pyref" / "seeds.jsonl",
]


def test_gives_away_place() -> None:
    a = "The Hallam Pike Library at 17 Wicker Street is Brindlemoor's public library, run by the Head Librarian."
    assert gives_away_place("Where is the Hallam Pike Library at 17 Wicker Street?", a)
    office = "Building permits are issued by the Planning & Building Office on the second floor of the Moot Hall."
    assert gives_away_place("Where is the Planning & Building Office located?", office) is None
    counter = "The Civic Counter is on the ground floor of the Moot Hall."
    assert gives_away_place("Where in the Moot Hall is the Civic Counter?", counter) is None
    assert gives_away_place("What is at 17 Wicker Street?", a) is None  # not a "where" question


def test_purpose_gap() -> None:
    assert purpose_gap("What is the purpose of beekeeping in Brindlemoor?", "Beekeeping is welcome in Brindlemoor.")
    glass = "Glass is not collected from the kerb; take it to the Furlong Lane depot."
    assert purpose_gap("What is the purpose of glass?", glass)
    steward = "The council appoints a volunteer Bee Steward to advise beekeepers."
    assert purpose_gap("What is the purpose of the Bee Steward?", steward) is None
    with_ = 'The "with" statement is used to wrap the execution of a block with methods defined by a context manager.'
    assert purpose_gap("What is the purpose of the `with` statement in Python?", with_) is None


def test_bound_gap() -> None:
    extension = "an extension adding more than 9 square metres of floor area;"
    assert bound_gap("What is the maximum floor area that an extension can add?", extension)
    loans = "Adults may have up to 12 items on loan at once; children up to 8 items."
    assert bound_gap("What is the maximum number of items an adult can borrow?", loans) is None
    assert bound_gap("What is the minimum age to stand?", "A candidate must be at least 19 years old.") is None
    assert bound_gap("What is the minimum notice?", "Give notice no more than 5 days before.")


def test_time_gap() -> None:
    open_ = "The library at 17 Wicker Street is open six days a week for most of the year."
    assert time_gap("What is the opening time for the library?", open_)
    assert time_gap("What are the opening hours of the Vessary Room?", "It is open from 14:00 to 18:00.") is None


def test_choice_gap() -> None:
    future = 'In a future Python version they will be a "SyntaxWarning" and eventually a "SyntaxError".'
    q = "In a future Python version, will the string literal be interpreted as lines or parts of a continuation?"
    assert choice_gap(q, future)
    assert choice_gap("Is the fine paid in marks or in euros?", "The fine is 45 marks.") is None
    # "and or have": not two alternatives of content words
    assert choice_gap("Do and and or have the same precedence?", "Boolean AND binds more tightly than OR.") is None


def test_yes_no_gap_only_for_extractive_answers() -> None:
    meadow = "Old Common Meadow is an off-lead area all year round."
    q = "Does Old Common Meadow require a lead from the tram to operate?"
    assert yes_no_gap(q, meadow)
    assert form_gap(q, meadow, extractive=True)
    assert form_gap(q, meadow) is None  # a person's "No, ..." repeats none of the question's words
    wardens = "Wardens may ask to see a dog's licence tag at any time in an off-lead area."
    assert yes_no_gap("Can Wardens ask to see a dog's licence tag in an off-lead area?", wardens) is None


def test_signature_gap() -> None:
    sig = "str.rsplit(sep=None, maxsplit=- 1)"
    assert signature_gap("What is the function `str.rsplit()`?", sig)
    assert signature_gap("Which method splits a string from the right at *sep*?", sig) is None


def test_two_questions() -> None:
    q = "What is the relationship between a module and its package, and how does this affect its attributes?"
    assert two_questions(q, "The name of the top level package is bound in the local namespace.")
    assert two_questions("Which exception is raised? What must accompany it?", "A ValueError is raised.")
    assert two_questions("How does CPython collect garbage, and how might this affect objects?", "It counts.")
    # "and what it returns" is one question about two things, not a second question
    assert two_questions("What is the difference between what find() returns and what index() raises?", "") is None
    # two question words sharing one verb ask about one event, which one sentence states
    held = "The Brindlemoor Market is held every Thursday and Saturday on Old Common Square from 08:00 to 14:30."
    assert two_questions("When and where is the Brindlemoor Market held?", held) is None
    assert two_questions("Where do I collect it and what does it cost?", "At Gannet Yard.")
    assert form_gap(q, "It binds the package.") is None  # a person answers both parts in free text


def test_count_without_members() -> None:
    """The quickstart's wrong row for four sessions: the answer ends on the count the question asks to list."""
    q = "What are the three priorities for snow clearing?"
    assert count_without_members(q, "The council's road crew carries out snow clearing in three priorities.")
    # the members listed, or the count as the subject of what the sentence says: answers
    sequences = "There are three basic sequence types: lists, tuples, and range objects."
    assert count_without_members("What are the three basic sequence types?", sequences) is None
    exits = 'If the context was exited without an exception, all three arguments will be "None".'
    assert count_without_members("What are the three arguments passed to __exit__?", exits) is None
    assert count_without_members("How many priorities are there?", "Snow is cleared in three priorities.") is None
    assert form_gap(q, "The council's road crew carries out snow clearing in three priorities.", extractive=True)


def test_example_gap() -> None:
    q = "What is the result of creating a list of three empty lists using `[[] for i in range(3)]`?"
    mult = 'What has happened is that "[[]]" is a one-element list, so all three elements of "[[]] * 3" are one list.'
    assert example_gap(q, mult)
    assert example_gap("What does `[[]] * 3` contain?", mult) is None  # spaces and quotes aside, it is there
    # a method's name is no example: the sentence about it need not repeat it
    assert example_gap("What is the type of argument for the `str.translate()` method?", "It must be a dict.") is None


def test_quantifier_gap() -> None:
    q = "Which historical features are enabled by the future statement in Python 3?"
    assert quantifier_gap(q, "All historical features enabled by the future statement are still recognized.")
    # "kept in the town" names the class of hives the question asks for
    hive = "Every hive kept in the town must be registered with the Bee Steward on Form BR-26."
    assert quantifier_gap("Which hive must be registered with the Bee Steward on Form BR-26?", hive) is None


def test_negation_gap() -> None:
    q = "What are the contents of exception messages in Python?"
    assert negation_gap(q, "Exception messages are not part of the Python API.")
    assert negation_gap(q, "Exception messages are not fixed but may change between versions.") is None
    assert negation_gap("What is not allowed in a lambda?", "Statements are not allowed in a lambda.") is None


def test_beside_gap() -> None:
    q = "Which comparison operation should be used for checking if an item is not present in a sequence?"
    assert beside_gap(q, "Inverse comparison should result in the boolean negation.")
    assert beside_gap(q, "Use `not in` to check that an item is not present in a sequence.") is None
    assert beside_gap("What does del do?", "It removes a binding.") is None  # too few words to judge


def test_year_and_unit_questions() -> None:
    event = "The Lantern Fair is Brindlemoor's largest annual event."
    assert "year" in answer_type_gap("In what year was the Lantern Fair first held?", event, [])
    first = "It was first held in 1887 to celebrate the opening of the Harbour Steps."
    assert answer_type_gap("In what year was the Lantern Fair first held?", first, extract_facts(first)) is None
    june = "The Bee Steward inspects every registered hive once a year during June."
    assert "counts none" in answer_type_gap("How many days' notice does the Bee Steward give?", june, [])
    notice = "Give the Town Forester 5 days' notice in writing."
    assert answer_type_gap("How many days' notice must I give?", notice, extract_facts(notice)) is None


def facts(row: dict) -> list:
    return extract_facts(row["answer"])


@pytest.mark.parametrize("path", HUMAN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_rule_fires_on_human_pairs(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    fired = [(r["question"], why) for r in rows if (why := answer_type_gap(r["question"], r["answer"], facts(r)))]
    fired += [(r["question"], why) for r in rows if (why := form_gap(r["question"], r["answer"]))]
    assert not fired, fired
