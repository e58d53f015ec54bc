"""The question filter on planted rows: premises from outside the documents, and answers the chunk gives elsewhere."""

from __future__ import annotations

import pytest

from tether.config import EmbedderConfig
from tether.documents import Chunk
from tether.filters.question import QuestionFilter, premise_terms
from tether.records import Record, Source, Teacher, Verdict
from tether.text.focus import focus_sentences

DOGS = Chunk(
    chunk_id="dogs",
    doc_id="d-dogs",
    start=0,
    end=400,
    heading=["Dog Walking"],
    text=(
        "A dog licence costs 24 marks per year and is issued at the Civic Counter. "
        "One person may walk no more than 4 dogs at a time. "
        "A professional dog walker who holds a Walker's Badge may walk up to 6 dogs at a time. "
        "Dogs must be kept on a lead on the Quayside between 08:00 and 20:00. "
        "Failing to clean up after a dog carries a penalty of 60 marks."
    ),
)
TRAM = Chunk(
    chunk_id="tram",
    doc_id="d-tram",
    start=0,
    end=120,
    heading=["Tram"],
    text="The Tidewell tram runs every 12 minutes from Tidewell Quay to Fennick Hill. A single fare costs 3 marks.",
)
RIGHT = [  # (question, the statement that answers it)
    ("How much does a dog licence cost each year?", 0),
    ("How many dogs may one person walk at a time?", 1),
    ("How many dogs can a walker with a Walker's Badge walk at once?", 2),
    ("When must dogs be kept on a lead on the Quayside?", 3),
    ("What is the penalty for failing to clean up after a dog?", 4),
]


def synthetic(q: str, a: str, chunk: Chunk = DOGS, strategy: str = "new_question") -> Record:
    return Record(
        kind="qa",
        prompt=q,
        response=a,
        origin="synthetic",
        teacher=Teacher(model="m"),
        strategy=strategy,
        source=Source(doc_id=chunk.doc_id, chunk_id=chunk.chunk_id),
        meta={"extractive": "the focus sentence"},
    )


def reasons(verdicts: list[Verdict | None]) -> list[str | None]:
    return [None if v is None else ("keep" if v.keep else v.reason) for v in verdicts]


@pytest.fixture(scope="module")
def flt() -> QuestionFilter:
    from tether.embed.embedder import open_embedder

    return QuestionFilter({c.chunk_id: c for c in (DOGS, TRAM)}, open_embedder(EmbedderConfig()))


def test_premise_terms_are_names_and_numbers() -> None:
    assert premise_terms("How many bicycles can the ferry to Lund Island carry on one crossing?") == ["Lund", "Island"]
    assert premise_terms("What happens if I'm caught on the tram after 22:00?") == ["22:00"]
    assert premise_terms("Who issues the Walker's Badge?") == ["Walker", "Badge"]
    # a code point's digits are no number of the text ("007" is nowhere in "U+007F")
    assert premise_terms("Which characters lie in U+0001..U+007F?") == ["U", "0001", "U"]


def test_right_questions_are_kept_and_swapped_answers_are_not(flt: QuestionFilter) -> None:
    statements = focus_sentences(DOGS.text)
    assert len(statements) == 5
    right = [synthetic(q, statements[k]) for q, k in RIGHT]
    assert reasons(flt.judge(right)) == ["keep"] * len(right)
    # the same questions, each paired with the next statement of the chunk: the chunk answers them elsewhere
    swapped = [synthetic(q, statements[(k + 1) % 5]) for q, k in RIGHT]
    got = flt.judge(swapped)
    assert reasons(got).count("answer_elsewhere") >= 4
    hit = next(v for v in got if v is not None and v.reason == "answer_elsewhere")
    assert "the chunk answers it with" in (hit.detail or "")


def test_premises_missing_from_the_documents(flt: QuestionFilter) -> None:
    statements = focus_sentences(DOGS.text)
    rows = [
        synthetic("How many dogs may one person walk on Lund Island?", statements[1]),  # nowhere in the corpus
        synthetic("How many dogs may one person walk on the Tidewell tram?", statements[1]),  # another document's
        synthetic("How many dogs may one person walk at a time?", statements[1]),
    ]
    got = flt.judge(rows)
    assert reasons(got) == ["false_premise", "off_chunk_question", "keep"]
    assert "Lund, Island" in (got[0].detail or "")


def test_rows_it_cannot_or_should_not_judge(flt: QuestionFilter) -> None:
    statements = focus_sentences(DOGS.text)
    human = Record(kind="qa", prompt="How many dogs may I walk?", response="4.", origin="human")
    no_chunk = Record(kind="qa", prompt="How much is a licence?", response="24 marks", origin="synthetic")
    # a seed's own question with an extractive answer: a person's wording, checked for its premise only
    augmented = synthetic(RIGHT[0][0], statements[1], strategy="augment_answers")
    assert reasons(flt.judge([human, no_chunk, augmented])) == [None, None, "keep"]


def test_a_list_lead_in_is_no_answer_and_plurals_are_the_same_name(flt: QuestionFilter) -> None:
    trees = Chunk(
        chunk_id="trees",
        doc_id="d-trees",
        start=0,
        end=200,
        heading=["Trees"],
        text=(
            "The Warden Service enforces the tree rules.\n\nA protected tree is any of the following:\n\n"
            "- any tree with a trunk girth of 90 cm or more;\n- any tree planted by the council."
        ),
    )
    f = QuestionFilter({"trees": trees}, flt.embedder)
    item = next(s for s in focus_sentences(trees.text) if "90 cm" in s)
    rows = [
        synthetic("What type of tree is protected?", item, chunk=trees),
        synthetic("Who do the Warden Services enforce?", focus_sentences(trees.text)[-1], chunk=trees),
    ]
    got = reasons(f.judge(rows))
    assert got[0] == "keep"  # the list's lead-in is closer to the question, but it answers nothing
    assert got[1] != "off_chunk_question"  # "Warden Services" is the document's Warden Service


def test_a_question_that_borrows_the_demonstrations_words() -> None:
    from tether.prompts.templates import demonstrations, load_templates

    shown = demonstrations(load_templates({})["new_question_extract"])
    f = QuestionFilter({c.chunk_id: c for c in (DOGS, TRAM)}, None, roundtrip_margin=None, demonstrations=shown)
    statements = focus_sentences(DOGS.text)
    rows = [
        synthetic("How many dogs can a Walker's Badge holder walk on one crossing?", statements[2]),
        synthetic("How many dogs can a Walker's Badge holder walk at a time?", statements[2]),
        synthetic("How many dogs can a Walker's Badge holder walk on one crossing?", statements[2], strategy="x"),
    ]
    got = f.judge(rows)
    assert reasons(got) == ["borrowed_from_example", "keep", "keep"]  # only the teacher's own new questions
    assert "crossing" in (got[0].detail or "")


def test_the_teacher_reads_each_new_question_back_from_its_chunk() -> None:
    """reader: the teacher answers the question from the chunk without the row's answer; another sentence of the
    chunk drops the row, the same sentence (or a clause of it) keeps it, a reply that is no sentence decides nothing."""
    import asyncio

    from tether.config import TeacherConfig
    from tether.filters.reader import ReaderFilter
    from tether.llm.client import TeacherClient
    from tether.llm.types import TeacherIdentity
    from tether.prompts.templates import load_templates
    from tether.testing.fake_openai import FakeOpenAI

    statements = focus_sentences(DOGS.text)

    def reader(body: dict) -> str | None:
        q = body["messages"][-1]["content"].split("answers this question:")[-1].lower()  # not the chunk's words
        if "walker" in q:
            return statements[2]  # the walker's limit, 6 dogs
        if "licence" in q:
            return "costs 24 marks per year"  # a clause of the licence sentence
        return "I think it is probably fine."  # no sentence of the chunk

    rows = [
        synthetic("How many dogs can a walker with a badge walk?", statements[1]),  # paired with the 4-dog rule
        synthetic("How many dogs can a walker with a badge walk at once?", statements[2]),
        synthetic("What does a dog licence cost?", statements[0]),
        synthetic("When must dogs be on a lead?", statements[3]),
        synthetic("How many dogs can a walker walk?", statements[1], strategy="augment_answers"),  # a seed's question
    ]
    with FakeOpenAI(responder=reader) as srv:
        cfg = TeacherConfig(base_url=srv.base_url, model="fake-model", retries=0)

        async def go() -> list:
            async with TeacherClient(cfg, srv.base_url, TeacherIdentity(model="fake-model"), None) as c:
                f = ReaderFilter(c, load_templates({})["answer_extract"], "town", {"dogs": DOGS})
                return await f.ajudge(rows)

        got = asyncio.run(go())
        asked = len(srv.requests)
    assert reasons(got) == ["answer_elsewhere", "keep", "keep", "keep", None]
    assert asked == 4  # one call per extractive new question
    assert "6 dogs" in (got[0].detail or "") and "undecided" in (got[3].detail or "")


LIBRARY = Chunk(
    chunk_id="library",
    doc_id="d-library",
    start=0,
    end=160,
    heading=["Library"],
    text="Hallam Pike Library opens at 09:30 on weekdays. Children's cards carry no overdue charges. "
    "Adult cards may borrow up to 12 books at once.",
)


def test_a_question_another_chunk_answers_is_off_chunk_and_its_own_chunks_questions_pass() -> None:
    from tether.embed.embedder import open_embedder

    chunks = {c.chunk_id: c for c in (DOGS, TRAM, LIBRARY)}
    f = QuestionFilter(chunks, open_embedder(EmbedderConfig()), chunk_margin=0.15)
    own = [synthetic(q, focus_sentences(DOGS.text)[k]) for q, k in RIGHT]
    moved = [synthetic(q, "A single fare costs 3 marks.", chunk=TRAM) for q, _ in RIGHT]  # dog questions, tram chunk
    got = f.judge(own + moved)
    assert reasons(got[: len(own)]) == ["keep"] * len(own)
    assert reasons(got[len(own) :]) == ["off_chunk_question"] * len(moved)
    assert "another chunk matches the question better: d-dogs" in (got[-1].detail or "")  # type: ignore[union-attr]
    # a person's question (augmented answers) is not the teacher's: only new questions are retrieved
    seedlike = synthetic(RIGHT[0][0], "A single fare costs 3 marks.", chunk=TRAM, strategy="augment_answers")
    assert reasons(f.judge([seedlike])) == ["keep"]


def test_questions_about_the_prompt_and_domain_wide_names() -> None:
    from tether.filters.question import refers_to_prompt

    assert refers_to_prompt("What section of the manual does the statement refer to?") == "the statement"
    assert refers_to_prompt("Which fee is mentioned above?") == "mentioned above"
    assert refers_to_prompt("In the context of Boolean operations, what values are false?") is None
    assert refers_to_prompt("What does this page cover?") == "this page"  # the web page the chunk came from
    assert refers_to_prompt("What is the purpose of this document?") is None  # a licence names itself so
    town = [
        Chunk(chunk_id=f"c{k}", doc_id=f"d{k}", start=0, end=60, text=f"Brindlemoor rule {k}: fees are {k} marks.")
        for k in range(4)
    ]
    rows = [
        synthetic("What does the statement say about dogs?", "One person may walk no more than 4 dogs at a time."),
        synthetic("How many dogs may one person walk in Brindlemoor?", "One person may walk no more than 4 dogs."),
        synthetic("How many dogs may one person walk at Hallam Pike?", "One person may walk no more than 4 dogs."),
    ]
    # the town's name is in 4 of 5 documents: a question may name it; a name of one other document may not
    town.append(Chunk(chunk_id="hp", doc_id="d-hp", start=0, end=30, text="Hallam Pike Library opens at 09:30."))
    f = QuestionFilter({c.chunk_id: c for c in [*town, DOGS]}, None)
    assert reasons(f.judge(rows)) == ["refers_to_prompt", "keep", "off_chunk_question"]
    from tether.filters.question import refers_to_prompt

    assert refers_to_prompt("What is the traceback of the most recent call last in this code?") == "in this code"


def test_an_extractive_answer_must_state_something_but_a_lead_in_with_a_fact_does() -> None:
    f = QuestionFilter({c.chunk_id: c for c in (DOGS, TRAM)}, None)
    rows = [
        synthetic("Where are the dog rules?", "See also the Dog Walking section."),
        synthetic("What does the fare table show?", ">>> fares['single'] 3"),
        synthetic("How many councillors sit on the council?", "The Council has 11 councillors from five wards:"),
        # the announcement of a table, the tail of a doctest call, a list item without its lead-in, a sentence
        # whose subject is the one before: read alone, each has lost what it is about
        synthetic("What is the operator precedence?", "The following table summarizes the operator precedence."),
        synthetic("What is the imaginary part?", "'and the imaginary part {0.imag}.').format(c) 'The number -5.0.'"),
        synthetic("What is the encoding?", "set is defined by the encoding declaration; it is UTF-8 by default."),
        synthetic("What is the octal syntax?", "This is for disambiguation with C-style octal literals."),
        synthetic("What is the first-held year?", "It was first held in 1887 to celebrate the Harbour Steps."),
        # a version marker alone, and claims made by the sentence before ("this is the case", "the same ... applies")
        synthetic("What is new in Python 3.3?", "New in version 3.3."),
        synthetic("What parses arguments?", "In CPython, this is the case for functions implemented in C."),
        synthetic("What caveat applies?", "For attribute targets, the same caveat about class attributes applies."),
    ]
    assert (
        reasons(f.judge(rows))
        == ["answer_not_a_statement"] * 2
        + ["keep"]
        + ["answer_not_a_statement"] * 4
        + ["keep"]
        + ["answer_not_a_statement"] * 3
    )
    # a chunk that starts mid-sentence: the tail is no focus sentence (the generator does not spend a call on
    # it), a list item is one
    encoding = (
        "set is defined by the encoding declaration; it is UTF-8 by default.\n\nA literal may use:\n\n"
        "- any ASCII character except the backslash;\n\nThe prefix is case-insensitive and has 2 forms."
    )
    assert sorted(focus_sentences(encoding)) == [
        "The prefix is case-insensitive and has 2 forms.",
        "any ASCII character except the backslash;",
    ]


def test_the_round_trip_reads_only_statements_of_the_kind_asked_for() -> None:
    """ "In what year ...?" is nearest a sentence with no year; the chunk's answer is the one that has one."""
    from tether.embed.embedder import open_embedder

    fair = Chunk(
        chunk_id="fair",
        doc_id="d-fair",
        start=0,
        end=300,
        heading=["The Lantern Fair"],
        text=(
            "The Lantern Fair is Brindlemoor's largest annual event. It was first held in 1887 to celebrate the "
            "opening of the Harbour Steps, and it now takes place every year on the third Saturday of September."
        ),
    )
    f = QuestionFilter({"fair": fair}, open_embedder(EmbedderConfig()))
    year, event = focus_sentences(fair.text)[1], focus_sentences(fair.text)[0]
    rows = [
        synthetic("In what year was the Lantern Fair first held?", year, fair),
        synthetic("What is Brindlemoor's largest annual event?", year, fair),  # the chunk answers it elsewhere
    ]
    assert reasons(f.judge(rows)) == ["keep", "answer_elsewhere"]
    assert "largest annual event" in event


def test_the_reader_agrees_when_another_sentence_states_the_same_fact() -> None:
    from tether.filters.reader import agrees, token_f1

    note = 'Changed in version 3.7: When formatting a number with the "n" type, the function sets the locale.'
    rule = 'When formatting a number with the "n" type, the function temporarily sets the "LC_CTYPE" locale.'
    assert agrees(note, rule) and token_f1(note, rule) >= 0.45
    assert not agrees("Dictionaries and dictionary views are reversible.", "Dictionary order is insertion order.")
    assert agrees("costs 24 marks per year", "A dog licence costs 24 marks per year.")  # a clause of it


def test_a_question_about_the_next_part_of_its_own_document_is_off_chunk() -> None:
    """Two chunks of one document share its topic, so the corpus-wide margin cannot tell them apart; the chunk that
    holds more of the question's words, and reads closer to it, is the one it is about."""
    from tether.embed.embedder import open_embedder

    licence = Chunk(
        chunk_id="lic",
        doc_id="d-dogs",
        start=0,
        end=200,
        heading=["Dogs"],
        text="Every dog over 4 months old needs a licence. A licence costs 24 marks a year and is renewed each "
        "February at the Civic Counter. Owners aged 70 or over pay half the normal fee.",
    )
    walking = Chunk(
        chunk_id="walk",
        doc_id="d-dogs",
        start=200,
        end=400,
        heading=["Dogs"],
        text="One person may walk no more than 4 dogs at a time. A professional dog walker who holds a Walker's "
        "Badge may walk up to 6 dogs at a time. Dogs must be on a lead in Old Common Square.",
    )
    # a corpus-wide margin this wide never fires here: the sibling test alone decides
    f = QuestionFilter(
        {c.chunk_id: c for c in (licence, walking, TRAM)}, open_embedder(EmbedderConfig()), chunk_margin=0.5
    )
    fee = "A licence costs 24 marks a year and is renewed each February at the Civic Counter."
    rows = [
        synthetic("How much does a dog licence cost each year?", fee, chunk=licence),
        synthetic("How many dogs may a professional walker with a Walker's Badge walk at a time?", fee, chunk=licence),
    ]
    got = f.judge(rows)
    assert reasons(got) == ["keep", "off_chunk_question"]
    assert "another chunk of its document holds more of its words" in (got[1].detail or "")  # type: ignore[union-attr]


def test_an_acronym_the_documents_spell_out_is_in_them() -> None:
    from tether.text.names import mentions

    gfdl = Chunk(
        chunk_id="gfdl",
        doc_id="d-gfdl",
        start=0,
        end=200,
        heading=["GNU Free Documentation License"],
        text="If you publish Opaque copies of the Document numbering more than 100, you must include a Transparent "
        "copy.",
    )
    flt = QuestionFilter({c.chunk_id: c for c in (gfdl, TRAM)}, None, roundtrip_margin=None)
    asked = "Under the GFDL, above how many Opaque copies must you include a Transparent copy?"
    answer = (
        "If you publish Opaque copies of the Document numbering more than 100, you must include a Transparent copy."
    )
    invented = "Under the GPDL, above how many Opaque copies must you include a Transparent copy?"
    got = flt.judge([synthetic(asked, answer, gfdl), synthetic(invented, answer, gfdl)])
    assert reasons(got) == ["keep", "false_premise"]
    # capitalised words only, one per letter: lower-case prose spells no acronym
    assert mentions("Lesser General Public License", "LGPL")
    assert not mentions("a program is written", "API")
    assert not mentions("General Public License", "LGPL")
