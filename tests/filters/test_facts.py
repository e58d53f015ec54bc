"""Fact extraction and normalisation, the fact-consistency filter, the judge's quote check, extractive snapping."""

from __future__ import annotations

import pytest

from tether.documents import Chunk, Document
from tether.filters.consistency import EvidenceFinder, FactConsistencyFilter
from tether.filters.judged import quote_in_text, verify_quote
from tether.generate.style import AnswerStyle, seed_style
from tether.records import Record, Source, Teacher
from tether.text.answer_form import answer_type_gap
from tether.text.facts import Evidence, extract_facts
from tether.text.quantities import word_numbers, words_to_number
from tether.text.sentences import snap_to_text


def facts(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in extract_facts(text)]


def missing(claim: str, evidence: str) -> list[str]:
    return [f.text for f in Evidence.of(evidence).unsupported(extract_facts(claim))]


def test_numbers_with_units_and_currencies() -> None:
    got = extract_facts("A full permit costs 10,000 to 23,750 yen, or £150 per day, 50% off, within 2 weeks.")
    by = {f.text: f for f in got}
    assert by["10,000"].value == 10000 and by["10,000"].unit is None
    assert by["23,750 yen"].unit == "jpy" and by["23,750 yen"].value == 23750
    assert by["£150"].unit == "gbp" and by["£150"].dim == "money:gbp"
    assert by["50%"].dim == "percent"
    assert by["2 weeks"].dim == "time" and by["2 weeks"].base == 14 * 86400
    assert facts("It is 0.6 metres high and 9 square metres, 5km away.") == [
        ("number", "0.6 metres"),
        ("number", "9 square metres"),
        ("number", "5km"),
    ]


@pytest.mark.parametrize(
    ("claim", "evidence", "unsupported"),
    [
        ("The fee is 1,000 marks.", "The fee is 1000 marks.", []),  # thousands separators
        ("It takes five days.", "It takes 5 days.", []),  # number words
        ("Meetings start at 18:45.", "Meetings start at 6:45 pm.", []),  # 24-hour = 12-hour clock
        ("Open until 6.45pm.", "Open until 18:45.", []),
        ("Within 14 days.", "Within two weeks.", []),  # unit conversion
        ("It lasts 1.5 years.", "It lasts 18 months.", []),
        ("A fee of 31 marks.", "A fee of 31 marks per quarter.", []),
        ("The standing charge is 118 marks.", "The standing charge is 31 marks per quarter.", ["118 marks"]),
        ("A slipway ticket costs £150 per day.", "A slipway ticket costs 150 marks per day.", ["£150"]),  # currency
        ("It costs 10,000 to 23,750 yen.", "The fee is 85 marks plus 3 marks.", ["10,000", "23,750 yen"]),
        ("Within 3 days.", "3 marks, decided within 35 days.", ["3 days"]),  # the 3 is a fee, not a duration
        ("The fee is 310.", "mooring: 310\nFees are in marks.", []),  # table cell, unit named elsewhere
        ("It is 25 percent.", "It is 25%.", []),
    ],
)
def test_numbers_normalise(claim: str, evidence: str, unsupported: list[str]) -> None:
    assert missing(claim, evidence) == unsupported


def test_number_words_and_ordinals() -> None:
    assert words_to_number("one hundred and forty") == 140
    assert words_to_number("twenty-five") == 25
    assert [v for _, _, v in word_numbers("the second and fourth Tuesday")] == [2.0, 4.0]
    assert facts("one of the councillors") == []  # "one" as a pronoun is no quantity
    assert facts("one hour") == [("number", "one hour")]
    assert facts("walks per second") == []  # a unit, not the ordinal
    assert missing("the 2nd and 4th Tuesday", "the second and fourth Tuesday") == []


def test_times() -> None:
    assert facts("Open 09:00 to 12:30, closes at 6 pm, or at noon.") == [
        ("time", "09:00"),
        ("time", "12:30"),
        ("time", "6 pm"),
        ("time", "noon"),
    ]
    assert missing("It opens at 9:00.", "Opens at 21:00.") == []  # a bare 9:00 may be either
    assert missing("It opens at 09:00.", "Opens at 21:00.") == ["09:00"]  # zero-padded: 24-hour
    assert missing("Meetings are at 7:45 pm.", "Meetings are at 18:45.") == ["7:45 pm"]


def test_dates() -> None:
    assert facts("From 1 April to 31 October 2025; also on November 7th.") == [
        ("date", "1 April"),
        ("date", "31 October 2025"),
        ("date", "November 7th"),
        ("number", "2025"),
    ]
    assert missing("Boats leave by 7 November.", "Boats must leave by November 7.") == []
    assert missing("Boats leave by 8 November.", "Boats must leave by 7 November.") == ["8 November"]
    assert missing("It is on 2025-11-07.", "on 7/11/2025") == []
    assert facts("You may apply in May.") == [("name", "May")]  # the verb is no month


def test_codes_and_versions() -> None:
    assert facts("Send Form BR-31, encoded as utf-8, on Python 3.11.7.") == [
        ("code", "3.11.7"),
        ("code", "BR-31"),
        ("code", "utf-8"),
        ("name", "Form"),
        ("name", "Python"),
    ]
    assert missing("Use Form BR17.", "Apply on Form BR-17.") == []
    assert missing("Use Form BR-18.", "Apply on Form BR-17.") == ["BR-18"]


def test_names() -> None:
    assert facts("The Town Council meets in the Council Chamber of the Moot Hall on Tuesdays.") == [
        ("name", "Town Council"),
        ("name", "Council Chamber"),
        ("name", "Moot Hall"),
        ("name", "Tuesdays"),
    ]
    # a capitalised sentence opener is not a name; the words after it in a capitalised run are
    assert facts("Brindlemoor has a lake. Send Form BR-31.") == [("code", "BR-31"), ("name", "Form")]
    assert missing("Apply at the Town Hall on Wednesday.", "Apply at the Moot Hall on Tuesday.") == [
        "Town Hall",
        "Wednesday",
    ]
    assert missing("It is held in the Moot Hall's chamber.", "The Moot Hall has a chamber.") == []
    assert facts("1. Apply on Form BR-17.\n2. Pay the fee.") == [("code", "BR-17"), ("name", "Form")]  # list markers


CHUNK = Chunk(
    chunk_id="c1",
    doc_id="d1",
    start=0,
    end=120,
    heading=["Parking", "Permits"],
    text="A resident parking permit costs 46 marks per year. Apply on Form BR-11 at the Civic Counter.",
)
DOC = Document(doc_id="d1", path="docs/parking.md", format="md", title="Parking Permits", text=CHUNK.text, n_bytes=1)
T = Teacher(model="m")


def syn(q: str, a: str, **kw) -> Record:
    return Record(kind="qa", prompt=q, response=a, origin="synthetic", teacher=T, **kw)


def test_consistency_filter_verdicts() -> None:
    seed = Record(kind="qa", prompt="Permit fee?", response="46 marks a year; Form BR-11.", origin="human")
    src = Source(doc_id="d1", chunk_id="c1", start=0, end=120)
    rows = [
        syn("How much is a permit?", "It costs 46 marks per year; apply at the Civic Counter.", source=src),
        syn("How much is a permit?", "It costs 23,750 yen, paid at the Town Hall.", source=src),
        syn("How much is a permit?", "You pay it every year.", source=src),  # asks "how much", gives no amount
        syn("What is a permit for?", "It lets residents park near home.", source=src),  # no checkable facts
        syn("Fee?", "46 marks, Form BR-11.", parents=[seed.id], strategy="augment_answers"),  # via its seed
        syn("Capital of Mars?", "Olympus City, founded 2091.", strategy="imported"),  # nothing to check against
    ]
    f = FactConsistencyFilter(EvidenceFinder({"c1": CHUNK}, {"d1": DOC}, [seed, *rows], "Brindlemoor"))
    got = [(v.keep, v.reason) for v in f.judge(rows)]
    assert got == [
        (True, ""),
        (False, "unsupported_fact"),
        (False, "wrong_answer_type"),
        (True, ""),
        (True, ""),
        (False, "unverifiable"),
    ]
    detail = f.judge([rows[1]])[0].detail
    assert "23,750 yen" in detail and "Town Hall" in detail
    assert rows[0].scores["fact_support"] == 1.0 and rows[1].scores["fact_support"] == 0.0
    keep_unverifiable = FactConsistencyFilter(EvidenceFinder({}, {}, rows), keep_unverifiable=True)
    assert keep_unverifiable.judge([rows[5]])[0].keep
    # a row with no source is matched to the chunk that holds its words, like a seed
    matched = syn("Where do I apply for a resident parking permit?", "Apply on Form BR-11 at the Civic Counter.")
    v = f.judge([matched])[0]
    assert v.keep and "best-matching chunk" in v.detail


def test_an_answer_to_a_seed_question_shares_the_seed_answers_facts() -> None:
    chunk = Chunk(chunk_id="c2", doc_id="d1", start=0, end=200, heading=["Fares"], text=(
        "An adult single costs 3 marks and a same-day return costs 5 marks. "
        "Up to 2 children under 6 travel free with each fare-paying adult. Bins in Marrowgate go out on Wednesday."
    ))  # fmt: skip
    seed = Record(kind="qa", prompt="How much is an adult single?", response="An adult single costs 3 marks.",
                  origin="human", source=Source(doc_id="d1", chunk_id="c2"))  # fmt: skip
    day = Record(kind="qa", prompt="Which day are bins collected in Marrowgate?", response="Wednesday, in Marrowgate.",
                 origin="human", source=Source(doc_id="d1", chunk_id="c2"))  # fmt: skip
    rows = [
        syn(seed.prompt, "Up to 2 children under 6 travel free with each fare-paying adult.", parents=[seed.id],
            strategy="augment_answers", source=seed.source),  # a true sentence, the wrong answer
        syn(seed.prompt, "It costs 3 marks.", parents=[seed.id], strategy="augment_answers", source=seed.source),
        syn(day.prompt, "Bins in Marrowgate go out on Wednesday.", parents=[day.id], strategy="rephrase",
            source=day.source),  # "Marrowgate" is in the question: only "Wednesday" counts, and it is shared
        syn("What does a child pay?", "Up to 2 children under 6 travel free with each fare-paying adult.",
            parents=["c2", seed.id], strategy="new_question", source=seed.source),  # a few-shot example is no seed
    ]  # fmt: skip
    f = FactConsistencyFilter(EvidenceFinder({"c2": chunk}, {"d1": DOC}, [seed, day, *rows]))
    got = f.judge(rows)
    assert [(v.keep, v.reason) for v in got] == [(False, "disagrees_with_seed"), (True, ""), (True, ""), (True, "")]
    assert "3 marks" in got[0].detail


def test_answer_type_gap() -> None:
    assert answer_type_gap("How many hives may I keep?", "You may keep hives.", []) is not None
    three = "Up to three hives."
    assert answer_type_gap("How many hives may I keep?", three, extract_facts(three)) is None
    assert answer_type_gap("How much is the licence?", "It is free.", []) is None
    assert answer_type_gap("What time does it open?", "In the morning.", []) is not None
    assert answer_type_gap("When does the else clause run?", "When the loop ends normally.", []) is None
    allowance = "Each councillor receives an allowance of 412 marks."  # a number, but not a count of councillors
    assert "counts something else" in answer_type_gap("How many councillors sit?", allowance, extract_facts(allowance))
    form = "Apply for a pitch on Form BR-40 at least 10 days ahead."  # numbers, but no amount of money
    assert "no amount of money" in answer_type_gap("How much does a pitch cost?", form, extract_facts(form))
    for priced in ("A pitch costs 21 marks.", "Guide dogs are licensed free of charge.", "The fee is 85."):
        assert answer_type_gap("How much does it cost?", priced, extract_facts(priced)) is None
    quorum = "A quorum of 6 is needed."  # does not name them: any number will do
    assert answer_type_gap("How many councillors must attend?", quorum, extract_facts(quorum)) is None
    # a question that already holds the number, time or date it asks for states its own answer
    season = "The mooring season runs from 1 April to 31 October."
    q = "When does the mooring season run from 1 April to 31 October?"
    assert "already in the question" in answer_type_gap(q, season, extract_facts(season))
    assert answer_type_gap("When does the mooring season run?", season, extract_facts(season)) is None
    notice = "Neighbours must be told in writing at least 3 days before the event."
    q = "How many days before the event must neighbours be told, if the event lasts 2 days?"
    assert answer_type_gap(q, notice, extract_facts(notice)) is None  # 3 is not the question's


def test_quote_check() -> None:
    text = CHUNK.text
    assert quote_in_text("a resident parking permit costs 46 marks per year", text) == 1.0
    assert quote_in_text("The fine for not cleaning up after your dog is 60 marks anywhere.", text) < 0.5
    ok = verify_quote("A resident parking permit costs 46 marks per year.", text, "Fee?", "It is 46 marks a year.")
    assert ok is None
    assert "not in the text" in verify_quote("Permits cost 99 marks each.", text, "Fee?", "99 marks")
    assert "lacks the answer's" in verify_quote("Apply on Form BR-11 at the Civic Counter.", text, "Fee?", "46 marks")
    assert verify_quote("", text, "Fee?", "46 marks") == "no quote given"


def test_snap_to_text() -> None:
    text = "Apply on Form BR-17. The fee is 85 marks plus 3 marks per square metre. Decisions take 35 days."
    assert snap_to_text('Answer: "the fee is 85 marks plus 3 marks per square metre."', text) == (
        "The fee is 85 marks plus 3 marks per square metre.",
        "exact span of the text",
    )
    assert snap_to_text("Decisions take 35", text)[0] == "Decisions take 35 days."  # a sentence start: whole sentence
    assert snap_to_text("85 marks plus 3 marks", text)[0] == "85 marks plus 3 marks"  # a span stays a span
    fixed, how = snap_to_text("The fee is 90 marks plus 3 marks per square metre.", text)
    assert fixed == "The fee is 85 marks plus 3 marks per square metre." and how.startswith("snapped")
    assert snap_to_text("It costs 23,750 yen.", text)[0] is None
    # hard-wrapped paragraphs are one flowing text; headings, rst titles and table rows are not sentences
    wrapped = (
        'The "for" statement\n*******************\n\nThe "for" statement is used to iterate over the elements\n'
        "of a sequence. It runs once.\n\n| a | table row |\n"
    )
    assert snap_to_text("The for statement iterates over the elements of a sequence", wrapped)[0] == (
        'The "for" statement is used to iterate over the elements of a sequence.'
    )
    assert snap_to_text("table row", wrapped)[0] == "table row"  # a verbatim span is still a span


def test_seed_style() -> None:
    seeds = [Record(kind="qa", prompt="q?", response=" ".join(["w"] * n), origin="human") for n in (10, 12, 14, 40)]
    st = seed_style(seeds, "free")
    assert st.median_words == 13 and st.p90_words == 40
    assert "about 13 words" in st.hint() and st.max_tokens(384) == 160 and st.max_tokens(100) == 100
    assert "word for word" in AnswerStyle("extractive", 13, 40).hint()


def test_clock_hours_and_dates_are_not_durations() -> None:
    """A free answer's "(9 hours)" passed because the chunk had 09:30 and some duration word; hours of clock
    times and days of dates are values ("opens at 9"), never amounts with a unit."""
    ev = Evidence.of("Weekday peak: 07:00 to 09:30, every 8 minutes. Register by 14 March.")
    assert [f.text for f in ev.unsupported(extract_facts("8 minutes per day (9 hours)"))] == ["9 hours"]
    assert [f.text for f in ev.unsupported(extract_facts("It takes 14 days."))] == ["14 days"]
    assert ev.unsupported(extract_facts("Trams run every 8 minutes from 7 to 9:30.")) == []
