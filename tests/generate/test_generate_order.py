"""What a new question is about, which examples it is shown, and the order jobs reach a local teacher."""

from __future__ import annotations

from tether.config import GenerateConfig
from tether.documents import Chunk
from tether.generate.job import Job
from tether.generate.jobs import by_chunk, few_shot, new_question_jobs
from tether.generate.questions import not_a_question
from tether.llm.structured import with_instruction
from tether.records import Record, Source
from tether.text.focus import focus_for, focus_sentences, whole_chunk

TEXT = """# Parking fines

Parking bylaws are enforced by the Warden Service.

- Standard parking fine: 45 marks.
- Higher-level parking fine: 81 marks.

Fines are reduced by one third if paid within 14 days. See the page on paying penalty notices for details.
"""


def chunk(cid: str, doc: str, text: str = TEXT) -> Chunk:
    return Chunk(chunk_id=cid, doc_id=doc, text=text, start=0, end=len(text))


def seed(q: str, doc: str, concepts: list[str]) -> Record:
    return Record(
        kind="qa", prompt=q, response="A.", origin="human", concepts=concepts, source=Source(doc_id=doc, chunk_id=doc)
    )


def test_questions_walk_the_chunks_facts_before_its_other_sentences() -> None:
    found = focus_sentences(TEXT)
    assert found == [
        "Parking bylaws are enforced by the Warden Service.",  # a name
        "Standard parking fine: 45 marks.",
        "Higher-level parking fine: 81 marks.",
        "Fines are reduced by one third if paid within 14 days.",
    ]  # "See the page on paying penalty notices for details." points elsewhere: nothing to ask about
    assert "Parking fines" not in found  # a heading is nothing to ask about
    assert [focus_for(TEXT, k) for k in range(len(found) + 1)] == [*found, found[0]]  # then round again
    jobs = new_question_jobs([chunk("c1", "d1")], 3, [], GenerateConfig())
    assert [j.focus for j in jobs] == found[:3]
    assert focus_sentences("Fees | 12\nHours | 9") == ["Fees | 12 Hours | 9"]  # no sentence: the chunk itself
    # a list's lead-in is no fact to ask about (its answer would be "has two parts:"); its items are
    bill = "A metered water bill has two parts:\n\n- a standing charge of 31 marks per quarter;\n"
    bill += "- 2 marks per cubic metre."
    assert focus_sentences(bill) == ["a standing charge of 31 marks per quarter;", "2 marks per cubic metre."]
    # nor is a doctest line or a pointer to another section
    doc = (
        "Dictionaries compare equal if they have the same key-value pairs. See also the Mapping Types section. "
        '>>> a = dict(one=1, two=2) >>> a == {"one": 1, "two": 2} True'
    )
    assert focus_sentences(doc) == ["Dictionaries compare equal if they have the same key-value pairs."]
    # a PDF's numbered heading is a line of its text, not a statement; a numbered sentence is one
    pdf = "1.1 The R environment and its tools\n\nR is an integrated suite of software facilities for data handling.\n"
    assert focus_sentences(pdf) == ["R is an integrated suite of software facilities for data handling."]
    assert focus_sentences("2 Councillors are elected for 4 years by the residents.") != []


def test_examples_never_come_from_the_chunks_own_document() -> None:
    seeds = [
        seed("Q1", "parking", ["parking"]),
        seed("Q2", "parking", ["parking"]),
        seed("Q3", "tram", ["tram"]),
        seed("Q4", "dogs", ["parking"]),
    ]
    shown = few_shot(seeds, "parking", 0, 2, doc_id="parking")
    assert [s.prompt for s in shown] == ["Q4", "Q3"]  # same concept from another document first
    assert few_shot(seeds[:2], "parking", 0, 2, doc_id="parking")  # nothing else: the seeds rather than none


def test_calls_on_one_chunk_go_together_and_json_notes_go_last() -> None:
    s1, s2 = seed("Q1", "a", []), seed("Q2", "b", [])
    jobs = [
        Job("augment", 0, seed=s1),
        Job("new_questions", 0, chunk=chunk("b", "b")),
        Job("rephrase", 0, seed=s1),
        Job("augment", 0, seed=s2),
        Job("new_questions", 0, chunk=chunk("x", "x")),
        Job("new_questions", 1, chunk=chunk("a", "a")),
    ]
    order = by_chunk(jobs)
    assert [(j.strategy, (j.seed.source.chunk_id if j.seed else j.chunk.chunk_id)) for j in order] == [
        ("augment", "a"),
        ("rephrase", "a"),
        ("new_questions", "a"),
        ("new_questions", "b"),
        ("augment", "b"),
        ("new_questions", "x"),
    ]
    msgs = with_instruction([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}], {"type": "object"})
    assert msgs[0] == {"role": "system", "content": "S"} and msgs[1]["content"].startswith("U\n\n")


def test_a_statement_or_the_focus_sentence_itself_is_no_question() -> None:
    focus = "Adults may have up to 12 items on loan at once."
    assert not_a_question(focus, focus) == "the question field repeats the focus sentence"
    assert "not phrased as a question" in not_a_question("The crew clears snow.", focus)
    assert not_a_question("How many items may an adult borrow?", focus) is None
    assert whole_chunk(focus_for("Fees | 12\nHours | 9", 0), "Fees | 12\nHours | 9")
    assert "shares no word" in not_a_question("How to answer a question using JSON?", focus)


def test_unseeded_fact_chunks_come_first_and_long_chunks_get_a_question_per_fact() -> None:
    from tether.generate.jobs import chunk_order, question_counts

    bare = chunk("bare", "d3", "# Contents\n\nsee below\n")
    chunks = [chunk("seeded", "d1"), bare, chunk("open", "d2")]
    order = [c.chunk_id for c, _ in chunk_order(chunks, {}, {}, seeded={"seeded"})]
    assert order == ["open", "seeded", "bare"]  # a seed's chunk after the unseeded one; no facts: last
    one = chunk("one", "d4", "The ferry leaves at 09:40 from Pier 2.\n")
    assert question_counts([chunk("long", "d1"), one], 6) == [5, 1]  # a question per sentence of the long chunk
    assert question_counts([chunk("long", "d1"), one], 8) == [6, 2]  # every sentence asked: rounds over all
    assert question_counts([], 5) == []
    # a second wording of each fact once every sentence has one, breadth first across chunks
    assert question_counts([chunk("long", "d1"), one], 5, per_fact=2) == [4, 1]
    assert question_counts([chunk("long", "d1"), one], 7, per_fact=2) == [5, 2]
    assert question_counts([chunk("long", "d1"), one], 12, per_fact=2) == [9, 3]


def test_later_questions_ask_the_fact_bearing_sentences_again() -> None:
    notes = TEXT + "\nThe office is friendly and helpful to every visitor who asks.\n"
    found = focus_sentences(notes)
    assert found[-1].startswith("The office is friendly")  # states no fact: asked once, last
    walk = [focus_for(notes, k, per_fact=3) for k in range(len(found) + 8 + 1)]
    assert walk[: len(found)] == found
    assert walk[len(found) :] == found[:4] * 2 + [found[0]]  # facts twice more, then the walk starts again
    jobs = new_question_jobs([chunk("c1", "d1", notes)], 7, [], GenerateConfig(questions_per_fact=2))
    assert [j.focus for j in jobs] == [*found, *found[:2]]
    assert [j.index for j in jobs] == list(range(7))  # each wording its own variant: its own sampling seed


def test_new_questions_get_the_share_of_chunks_no_seed_comes_from() -> None:
    from tether.generate.planner import make_plan

    g = GenerateConfig(self_check=False)
    base = make_plan(100, 45, g, weak=True, have_chunks=True, extractive=True)
    plan = make_plan(100, 45, g, weak=True, have_chunks=True, extractive=True, uncovered=0.73)
    assert base.rows("new_questions") < 20 and plan.rows("new_questions") >= 60
    assert "73% of the fact-bearing chunks hold no seed: new questions get 73%" in plan.rationale
    assert plan.calls <= 100 and plan.rows("augment") <= 45
    capped = make_plan(100, 45, g, weak=False, have_chunks=True, uncovered=1.0)
    assert capped.strategies[2].share == 0.75  # never more than the high-BR mix gives them
    mine = make_plan(100, 45, g.model_copy(update={"mix": {"augment": 1.0}}), weak=True, have_chunks=True,
                     uncovered=0.9)  # fmt: skip
    assert mine.rows("new_questions") == 0  # a configured mix is the user's
    none = make_plan(100, 45, g, weak=True, have_chunks=False, uncovered=0.9)
    assert none.rows("new_questions") == 0
