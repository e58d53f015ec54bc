"""The negation check: an answer that restates a clause of its chunk with the other polarity contradicts it.
Measured here on the example domain's real chunks and seeds: true rows are never flagged, planted negations are."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tests.conftest import example_workspace
from tether.filters.registry import build_context, build_filters
from tether.filters.stage import apply_filters
from tether.records import Record, Teacher
from tether.text.negation import contradiction, polarity
from tether.text.sentences import sentences

CHLOROPLAST = "Chloroplasts, like mitochondria, contain their own DNA. They divide by binary fission."


@pytest.mark.parametrize(
    ("answer", "source", "flipped"),
    [
        ("Chloroplasts contain their own DNA, while mitochondria do not.", CHLOROPLAST, True),  # issue 24's row
        ("Chloroplasts contain their own DNA.", CHLOROPLAST, False),
        ("They do not divide by binary fission.", CHLOROPLAST, True),
        ("Chloroplasts do not divide by binary fission.", CHLOROPLAST, False),  # "They": words of its own
        ("Dogs are allowed on Quay Beach in August.", "Dogs are banned from Quay Beach in August.", True),
        ("Dogs are not allowed on Quay Beach in August.", "Dogs are banned from Quay Beach in August.", False),
        ("A walker may take no more than 6 dogs.", "A walker may take up to 6 dogs.", False),  # a bound
        ("It returns -1.", 'Return "-1" if *sub* is not found.', False),  # the negation is the condition's
        ("No, assignments to debug are illegal.", 'Assignments to "debug" are illegal.', False),  # a reply particle
        ("Three None arguments are supplied.", 'Otherwise, three "None" arguments are supplied.', False),  # a value
        ("Glass is collected from the kerb.", "Glass is not collected from the kerb; take it to the depot.", True),
        ("Take it to the depot.", "Glass is not collected from the kerb; take it to the depot.", False),
        ("Permits cost 46 marks a year.", "Day passes cost 4 marks.", False),  # new material: for other checks
    ],
)
def test_contradiction(answer: str, source: str, flipped: bool) -> None:
    assert (contradiction(answer, source) is not None) == flipped


def test_polarity_is_the_parity_of_negations() -> None:
    assert polarity("Dogs are not banned.") == 0 and polarity("Dogs are banned.") == 1
    assert polarity("There is no fee.") == 1 and polarity("If it is not paid, the fine doubles.") == 0


_AUX = re.compile(r"\b(is|are|was|were|must|can|may|will|should|has|have)\b")


def negated(s: str) -> str | None:
    """The sentence with its first auxiliary negated, or its first "not" removed."""
    if re.search(r"\bnot\b", s):
        return re.sub(r"\bnot\s+", "", s, count=1)
    m = _AUX.search(s)
    return s[: m.end()] + " not" + s[m.end() :] if m else None


def test_real_text_true_rows_kept_planted_negations_caught(tmp_path: Path) -> None:
    ws = example_workspace(tmp_path / "w")
    head = ws.head()
    chunks = {c.chunk_id: c for c in ws.chunks(head)}
    pairs = [(s, c) for c in chunks.values() for s in sentences(c.text)]
    assert len(pairs) > 500
    assert not [s for s, c in pairs if contradiction(s, c.text)]  # every sentence of every chunk: 0 flagged
    seeds = [r for r in ws.human_records(head) if r.source and r.source.chunk_id in chunks]
    assert not [r.answer() for r in seeds if contradiction(r.answer(), chunks[r.source.chunk_id].text)]  # 0 of 50
    planted = [(n, c) for s, c in pairs if (n := negated(s))]
    caught = sum(contradiction(n, c.text) is not None for n, c in planted)
    assert caught >= 0.9 * len(planted), f"{caught} of {len(planted)}"  # measured: 352 of 377


def test_facts_filter_drops_an_answer_that_negates_its_chunk(tmp_path: Path) -> None:
    ws = example_workspace(tmp_path / "w")
    head = ws.head()
    seeds = ws.human_records(head)
    chunk = next(c for c in ws.chunks(head) if "not collected from the kerb" in c.text)
    source = seeds[0].source.model_copy(update={"chunk_id": chunk.chunk_id, "doc_id": chunk.doc_id})
    t = Teacher(model="fake")
    right = Record(prompt="Is glass collected from the kerb?", response="Glass is not collected from the kerb.",
                   origin="synthetic", teacher=t, source=source)  # fmt: skip
    wrong = Record(prompt="Is glass collected from the kerb?", response="Glass is collected from the kerb.",
                   origin="synthetic", teacher=t, source=source)  # fmt: skip
    rows = [right, wrong]
    asyncio.run(apply_filters(rows, build_filters(build_context(ws, head, seeds, None), ["facts"])))
    assert rows[0].kept and rows[1].verdicts["facts"].reason == "contradicts_chunk"
