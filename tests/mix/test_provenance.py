"""The provenance report counts the training rows per question type beside per strategy."""

from __future__ import annotations

from tether.mix.provenance import provenance
from tether.records import Record, Teacher


def test_provenance_has_rows_per_question_type_in_type_order() -> None:
    t = Teacher(model="fake")
    rows = [
        Record(prompt="How much is a dog licence?", response="19 marks per year.", origin="human"),
        Record(prompt="Can I keep bees?", response="Yes, up to 3 hives.", origin="synthetic", teacher=t),
        Record(prompt="How do I apply for a mooring?", response="Apply on Form BR-44.", origin="synthetic", teacher=t),
        Record(prompt="How many hives can I keep?", response="3 hives.", origin="synthetic", teacher=t),
    ]
    by_type = provenance(rows)["by_question_type"]
    assert list(by_type) == ["number", "yes_no", "procedure"]  # TYPES order, types with no row left out
    assert by_type["number"] == {"rows": 2, "share": 0.5}
    assert sum(v["rows"] for v in by_type.values()) == len(rows)
