"""The question-type classifier against hand-labelled questions of the example domain and of the pyref bench domain,
plus one clear case per rule.

The labels say what kind of answer the question seeks, read by a person (not what the rules would say): "What does
str.find() return when the substring isn't there?" seeks a number (-1) though it is worded as a behaviour. The
brindlemoor seeds and the pyref seeds were read while the rules were written; the held-out questions were
labelled before the classifier was first run on them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tether.records import Record
from tether.text.question_types import TYPES, main_clause, question_type, record_type, type_counts

ROOT = Path(__file__).resolve().parents[2]
BRINDLEMOOR = ROOT / "examples" / "brindlemoor"
PYREF = ROOT / "bench" / "domains" / "pyref" / "seeds.jsonl"

SEED_LABELS = {
    "How many councillors sit on the Brindlemoor Town Council?": "number",
    "When does the Town Council hold its ordinary meetings?": "number",
    "How many signatures does a petition need before the council must debate it?": "number",
    "How do I appeal against a penalty notice?": "procedure",
    "How much does a resident parking permit cost for my first car?": "number",
    "What is the standard parking fine?": "number",
    "How do visitor passes for permit zones work?": "procedure",
    "My car was towed. Where do I collect it and what does it cost?": "fact",
    "Which day are bins collected in Marrowgate?": "number",
    "What time do I have to put my bins out?": "number",
    "What can I do if my slate bin is full?": "procedure",
    "How do I book a bulky waste collection and what does it cost?": "procedure",
    "When is the Furlong Lane Recycling Depot open?": "number",
    "Do I need anything to use the recycling depot?": "yes_no",
    "What is the Second Shelf at the depot?": "fact",
    "What are the Harbour Office opening hours in summer?": "number",
    "How much does it cost to launch a motorboat at the slipway?": "number",
    "How do I apply for a mooring?": "procedure",
    "What is the annual fee for a pontoon berth?": "number",
    "How much is a single adult tram fare on the Tidewell line?": "number",
    "When does the first tram leave Tidewell Quay on weekdays?": "number",
    "What happens if I'm caught on the tram without a ticket?": "procedure",
    "How long does the tram take from one end of the line to the other?": "number",
    "How much is a dog licence?": "number",
    "Where can I let my dog off the lead all year round?": "fact",
    "What is the fine for not cleaning up after my dog?": "number",
    "How many dogs can one person walk at once?": "number",
    "What are the quiet hours in Brindlemoor?": "number",
    "How can I get permission to hold a late party?": "procedure",
    "What are the permitted construction hours?": "number",
    "What is the penalty for a second noise offence?": "number",
    "Do I need a building permit for an extension?": "yes_no",
    "How much does a full building permit cost?": "number",
    "What happens if I build without a permit?": "procedure",
    "Which trees are protected?": "fact",
    "When is the Lantern Fair held?": "number",
    "What time does the Lantern Procession start?": "number",
    "How do I enter a lantern boat?": "procedure",
    "Can I release a sky lantern at the fair?": "yes_no",
    "When and where is the Brindlemoor Market held?": "number",
    "How much does a standard market stall pitch cost?": "number",
    "How many pitches can one trader hold?": "number",
    "What is the standing charge on a metered water bill?": "number",
    "How much do I pay for water if I don't have a meter?": "number",
    "When can I use a hose during Stage 1 water restrictions?": "number",
    "Do I need to register to rent my flat to holiday guests?": "yes_no",
    "How much is the short-term rental registration fee?": "number",
    "What is the Lakeside Levy?": "fact",
    "Where do I need smoke alarms in my home?": "fact",
    "When am I allowed to have a garden bonfire?": "number",
}

PYREF_LABELS = {
    "What exception does a failing assert statement raise?": "fact",
    "Are assert statements still checked when I run Python with -O?": "yes_no",
    "Can I assign a value to __debug__ myself?": "yes_no",
    "What does the expression x or y actually return?": "fact",
    "Which values does Python treat as false in a Boolean operation?": "fact",
    "What happens if I del a name that isn't bound?": "procedure",
    "In what order does del remove the targets in a target list?": "fact",
    "In which base are the integer and exponent parts of a float literal read?": "number",
    "When did float literals start accepting underscores?": "number",
    "When does the else clause of a for loop run?": "fact",
    "What values does iterating over range(3) produce?": "number",
    "If I reassign the loop variable inside a for loop, does that change the next iteration?": "yes_no",
    "How many digits after the decimal point does the 'f' format type show by default?": "number",
    "What does the '%' presentation type do to a number?": "fact",
    "What conversion flags can I use in a str.format() replacement field?": "fact",
    "With the '_' option and hex output, how often are underscores inserted?": "number",
    "Is there a maximum length for an integer literal?": "yes_no",
    "Why can't I write a decimal number with a leading zero, like 0123?": "fact",
    "What prefix do hexadecimal integer literals start with?": "fact",
    "Why is 2**-1 equal to 0.5 and not an error?": "fact",
    "Which operator has the lowest precedence of all?": "fact",
    "Do and and or have the same precedence?": "comparison",
    "What happens if I write a bare raise when no exception is being handled?": "procedure",
    "How do I hide the original exception when I raise a new one?": "procedure",
    "Where does the earlier exception go if a new one is raised inside an except block?": "fact",
    "What does a function return when its return statement has no expression?": "fact",
    "What happens when a generator function executes return?": "procedure",
    "Can an async generator return a value?": "yes_no",
    "What does str.find() return when the substring isn't there?": "number",
    "What tab size does str.expandtabs() use by default?": "number",
    "What's the difference between str.index() and str.find()?": "comparison",
    "Which encoding does str.encode() use if I don't pass one?": "fact",
    "How many hex digits do the \\u and \\U escapes need?": "number",
    "What happens to an unrecognised escape sequence in a string literal?": "fact",
    "Which bytes have to be written as escapes in a bytes literal?": "fact",
    "Is an empty list or set considered false?": "yes_no",
    "When is an instance of my own class treated as false?": "fact",
    "What do built-in operations with a Boolean result return?": "fact",
    "When does the else clause of a try statement run?": "fact",
    "If a finally clause executes return, what happens to an exception that was being propagated?": "fact",
    "Why can't I use the exception variable from `except E as N` after the handler ends?": "fact",
    "In what order does dict.popitem() remove items?": "fact",
    "What does dict.get() return for a missing key when I give no default?": "fact",
    "Which version added the | operator for merging two dicts?": "fact",
    "What arguments does __exit__() receive when the with block ends without an exception?": "fact",
    "How can a context manager stop an exception from propagating out of a with block?": "procedure",
    "Since which version can I wrap several with items in parentheses over multiple lines?": "fact",
}

HELDOUT_LABELS = {
    "How many councillors represent Quayside ward?": "number",
    "What are the Civic Counter's weekday opening hours?": "number",
    "Are ordinary council meetings held in August?": "yes_no",
    "If my appeal against a penalty is rejected, how long can I still pay the discounted amount?": "number",
    "What does a first-vehicle resident permit cost for a fully electric car?": "number",
    "During which hours is Zone A enforced on Sundays in summer?": "number",
    "Are permit-zone fines issued on a public holiday that falls on the Lantern Fair weekend?": "yes_no",
    "Do motorcycles have to pay for a resident permit?": "yes_no",
    "What is the capacity of the standard slate bin?": "number",
    "What size of slate bin can a household of six or more people request?": "number",
    "What happens to bin collections in a week with a weekday public holiday?": "fact",
    "Can I pass my mooring on to the buyer when I sell my boat?": "yes_no",
    "From what time on weekdays do residents aged 67 or over travel free?": "number",
    "Can I take a full-size bicycle on the tram at 08:15 on a Tuesday?": "yes_no",
    "How often do trams run on Sundays?": "number",
    "Where do trams terminate when an ice warning is issued?": "fact",
    "From what age must a dog be licensed?": "number",
    "What do dog owners aged 70 or over pay for a licence?": "number",
    "Which form is used to register a hive?": "fact",
    "Beyond what distance must amplified music not be audible?": "number",
    "When may lawnmowers and leaf blowers be used on Sundays?": "number",
    "Is pile driving allowed on a Saturday morning?": "yes_no",
    "What trunk girth makes a tree protected in the Cinder Row Heritage Area?": "number",
    "In what year was the first Lantern Fair held?": "number",
    "At what time is the Great Lantern lit?": "number",
    "What surcharge does a casual trader pay?": "number",
    "Where does the Book Barge stop?": "fact",
    "What is a metered bill capped at under the Water Relief Scheme?": "number",
    "How wide a path must householders clear on the pavement?": "number",
    "Is there a night limit if the host lives in the property and lets rooms?": "yes_no",
}


def _answers(path: Path) -> dict[str, str]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return {r["question"]: r.get("answer", "") for r in rows}


def _agreement(labels: dict[str, str], answers: dict[str, str]) -> tuple[float, list[tuple[str, str, str]]]:
    wrong = []
    for q, label in labels.items():
        got = question_type(q, answers[q])
        if got != label:
            wrong.append((q, label, got))
    return 1 - len(wrong) / len(labels), wrong


@pytest.mark.parametrize(
    ("labels", "path", "at_least"),
    [
        (SEED_LABELS, BRINDLEMOOR / "seeds" / "seeds.jsonl", 0.95),
        (PYREF_LABELS, PYREF, 0.85),
        (HELDOUT_LABELS, BRINDLEMOOR / "heldout" / "heldout.jsonl", 0.9),
    ],
    ids=["brindlemoor-seeds", "pyref-seeds", "brindlemoor-heldout"],
)
def test_agrees_with_hand_labels(labels: dict[str, str], path: Path, at_least: float) -> None:
    if not path.is_file():
        pytest.skip(f"{path} not in this checkout")
    answers = _answers(path)
    assert set(labels) <= set(answers), set(labels) - set(answers)  # the labelled questions are the files' own
    share, wrong = _agreement(labels, answers)
    assert share >= at_least, wrong


def test_every_labelled_set_uses_only_known_types() -> None:
    for labels in (SEED_LABELS, PYREF_LABELS, HELDOUT_LABELS):
        assert set(labels.values()) <= set(TYPES)


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [
        # yes/no: an auxiliary first, no choice between two answers
        ("Is the depot open on Mondays?", "No, it is closed every Monday.", "yes_no"),
        ("Must I show a Depot Pass?", "", "yes_no"),
        ("Doesn't the fee cover a second car?", "", "yes_no"),
        ("Is an empty list or set considered false?", "", "yes_no"),  # 'or' joins two subjects
        # comparison: two things set against each other
        ("Is the market held on Thursday or Saturday?", "", "comparison"),
        ("Which is cheaper, a day pass or a book of ten?", "", "comparison"),
        ("What is the difference between a swing mooring and a pontoon berth?", "", "comparison"),
        ("Does a pontoon berth cost more than a swing mooring?", "", "comparison"),
        ("Compare the summer and winter opening hours of the depot.", "", "comparison"),
        ("Do I need both a licence and a permit?", "", "comparison"),
        ("Do I need a permit for more than 9 square metres?", "", "yes_no"),  # a threshold, not two things
        # procedure: how to do something, and what follows from doing it
        ("How do I renew a dog licence?", "", "procedure"),
        ("How to apply for a mooring?", "", "procedure"),
        ("What are the steps to register a holiday let?", "", "procedure"),
        ("What must a host do before the first guest arrives?", "", "procedure"),
        ("What happens when a bin is not collected?", "", "procedure"),
        # number: a count, an amount, a time, a date, a duration
        ("How many hives can I keep?", "", "number"),
        ("What time does the library close?", "", "number"),
        ("What is the fee for a bonfire permit?", "14 marks", "number"),
        ("What percentage of the fine is refunded?", "", "number"),
        ("What year was the fair first held?", "1887", "number"),
        ("When does the last tram leave?", "", "number"),
        ("What is the reuse corner called?", "The Second Shelf.", "fact"),
        ("What is the standing charge?", "The standing charge is 31 marks per quarter.", "number"),  # the answer
        # fact: the rest
        ("Where does the Book Barge stop?", "Sallowmere jetty", "fact"),
        ("Who chairs the Town Council?", "The Reeve.", "fact"),
        ("Which form registers a hive?", "Form BR-26", "fact"),
        ("When is an instance treated as false?", "When its __bool__() returns False.", "fact"),  # a condition
    ],
)
def test_one_case_per_rule(question: str, answer: str, expected: str) -> None:
    assert question_type(question, answer) == expected


def test_provenance_decides_before_the_words() -> None:
    q = "How much is a Quayford parking permit?"
    assert question_type(q, "There is no Quayford in the documents.", strategy="unanswerable") == "unanswerable"
    assert question_type(q, "", meta={"declined": "There is no Quayford in the documents."}) == "unanswerable"
    assert question_type(q, "", strategy="multi_hop") == "multi_hop"
    assert question_type(q, "", strategy="new_question") == "number"


def test_main_clause_reads_past_context_and_leading_clauses() -> None:
    assert main_clause("My car was towed. Where do I collect it?") == "Where do I collect it?"
    assert main_clause("If I sell my boat, can I pass on my mooring?") == "can I pass on my mooring?"
    assert main_clause("Since which version can I do this?") == "which version can I do this?"
    assert main_clause("In Brindlemoor, the fee is 3 marks") == "In Brindlemoor, the fee is 3 marks"


def test_type_counts_of_records_name_every_type() -> None:
    rows = [
        Record(prompt="How many hives can I keep?", response="3 hives.", origin="human"),
        Record(prompt="Can I keep bees?", response="Yes.", origin="human"),
        Record(
            prompt="How much is a Quayford permit?",
            response="There is no Quayford in the documents.",
            origin="synthetic",
            strategy="unanswerable",
        ),
    ]
    assert [record_type(r) for r in rows] == ["number", "yes_no", "unanswerable"]
    counts = type_counts(rows)
    assert list(counts) == list(TYPES) and sum(counts.values()) == 3 and counts["fact"] == 0
