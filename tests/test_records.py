from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from tether.records import (
    RECORD_SCHEMA,
    Message,
    Record,
    Source,
    Teacher,
    Verdict,
    read_records,
    records_to_table,
    write_records,
)


def full_record() -> Record:
    return Record(
        kind="preference",
        prompt="How much is a mooring?",
        response="310 marks per season.",
        rejected="About 100 marks.",
        reasoning="The harbour page lists 310 marks.",
        origin="synthetic",
        teacher=Teacher(model="smollm2-135m", digest="sha256:abc", version="llama.cpp 0.3.36", quant="Q4_1"),
        strategy="new_questions",
        parents=["p1", "p2"],
        source=Source(doc_id="d1", chunk_id="c1", start=10, end=99),
        concepts=["harbour", "fees"],
        generation=2,
        scores={"judge": 4.0, "grounding": 0.83},
        verdicts={
            "validity": Verdict(keep=True),
            "dedup": Verdict(keep=False, reason="near_duplicate", detail="x"),
        },
        run_id="run-1",
        meta={"template": "abc123"},
    )


def test_parquet_round_trip_loses_nothing(tmp_path: Path) -> None:
    human = Record(
        kind="qa",
        messages=[Message(role="user", content="q?"), Message(role="assistant", content="a")],
        origin="human",
        strategy="seed",
    )
    recs = [full_record(), human]
    path = tmp_path / "r.parquet"
    write_records(path, recs)
    back = read_records(path)
    assert [r.model_dump() for r in back] == [r.model_dump() for r in recs]
    # verdict order survives (filters ran in this order)
    assert list(back[0].verdicts) == ["validity", "dedup"]
    assert pq.read_schema(path).equals(RECORD_SCHEMA, check_metadata=False)


def test_empty_table_keeps_schema(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    write_records(path, [])
    assert read_records(path) == []
    assert pq.read_schema(path).field("verdicts").type == RECORD_SCHEMA.field("verdicts").type


def test_id_is_content_hash_and_ignores_mutable_fields() -> None:
    a, b = full_record(), full_record()
    assert a.id == b.id and len(a.id) == 20
    b.scores["judge"] = 1.0
    b.verdicts["judge"] = Verdict(keep=False, reason="low_score")
    assert b.compute_id() == a.id  # scores and verdicts change over time; identity does not
    c = full_record().model_copy(update={"response": "311 marks per season.", "id": ""})
    assert c.compute_id() != a.id


def test_kept_is_a_view_over_verdicts() -> None:
    r = full_record()
    assert not r.kept
    r.verdicts["dedup"] = Verdict(keep=True)
    assert r.kept


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"origin": "human"}, r"prompt\+response or messages"),
        ({"origin": "human", "prompt": "q", "response": "a", "kind": "preference"}, "rejected"),
        ({"origin": "human", "prompt": "q", "response": "a", "teacher": {"model": "m"}}, "no teacher"),
        ({"origin": "robot", "prompt": "q", "response": "a"}, "origin"),
        ({"origin": "human", "prompt": "q", "response": "a", "colour": "red"}, "colour"),
    ],
)
def test_invalid_records_are_rejected(kwargs: dict, msg: str) -> None:
    with pytest.raises(ValidationError, match=msg):
        Record(**kwargs)


def test_table_has_explicit_types() -> None:
    t = records_to_table([full_record()])
    assert t.schema.field("scores").type.key_type.equals(RECORD_SCHEMA.field("scores").type.key_type)
    assert t.column("generation").type == RECORD_SCHEMA.field("generation").type
