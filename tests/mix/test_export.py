"""Exports of a mix: every format read back from real files matches the records, row for row, id for id."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tether.mix.datacard import data_card
from tether.mix.export import (
    COT_FORMAT,
    ExportError,
    export,
    export_alpaca,
    export_openai_jsonl,
    export_openai_preference_jsonl,
    export_parquet,
    export_sharegpt,
    ids_path,
    validate_openai_chat_line,
    validate_openai_preference_line,
)
from tether.records import Message, Record, Source, Teacher, Verdict

TEACHER = Teacher(model="SmolLM2-135M-Instruct", digest="sha256:abc123", version="llama.cpp 0.3.36")


def _rows() -> list[Record]:
    return [
        Record(
            prompt="What does a permit cost in Brindlemoor?",
            response="Twelve marks.",
            origin="human",
            concepts=["permits"],
            source=Source(doc_id="docs/permits.md", chunk_id="c1"),
        ),
        Record(  # a human seed written as a conversation, with its own system turn and two exchanges
            kind="instruction",
            messages=[
                Message(role="system", content="You answer questions about Brindlemoor."),
                Message(role="user", content="When does the ferry leave?"),
                Message(role="assistant", content="At 09:30."),
                Message(role="user", content="And on Sundays?"),
                Message(role="assistant", content="At 11:00 | weather permitting."),
            ],
            origin="human",
            concepts=["ferry"],
        ),
        Record(
            prompt="How much is a permit?",
            response="A permit costs twelve marks.",
            origin="synthetic",
            teacher=TEACHER,
            strategy="rephrase_questions",
            parents=["p1"],
            concepts=["permits"],
            generation=1,
            source=Source(doc_id="docs/permits.md"),
            verdicts={"dedup": Verdict(keep=True)},
        ),
        Record(
            kind="cot",
            prompt="Is the ferry faster than the bus?",
            response="Yes.",
            reasoning="The ferry takes 20 minutes.\nThe bus takes 45 minutes.",
            origin="synthetic",
            teacher=TEACHER,
            strategy="augment_answers",
            concepts=["ferry", "transport"],
            generation=1,
        ),
        Record(
            kind="preference",
            prompt="Who issues permits?",
            response="The harbour office — «Hafenamt».",
            rejected="The mayor.",
            origin="synthetic",
            teacher=TEACHER,
            strategy="new_questions",
            generation=2,
        ),
    ]


def _dropped() -> list[Record]:
    def drop(i: int, flt: str, reason: str) -> Record:
        return Record(
            prompt=f"dropped question {i}?",
            response=f"answer {i}",
            origin="synthetic",
            teacher=TEACHER,
            strategy="new_questions",
            verdicts={flt: Verdict(keep=False, reason=reason)},
        )

    return [drop(0, "dedup", "near_duplicate"), drop(1, "dedup", "near_duplicate"), drop(2, "facts", "invented_number")]


def _expected_turns(rec: Record) -> list[dict]:
    """Written out from the record's fields, not through the exporter, so the test checks the text itself."""
    if rec.messages:
        return [m.model_dump() for m in rec.messages]
    answer = f"{rec.reasoning}\n\nAnswer: {rec.response}" if rec.kind == "cot" else rec.response
    return [{"role": "user", "content": rec.prompt}, {"role": "assistant", "content": answer}]


def test_parquet_round_trip(tmp_path: Path) -> None:
    recs = _rows()
    rows = pq.read_table(export_parquet(recs, tmp_path / "t.parquet")).to_pylist()
    assert [r["tether_id"] for r in rows] == [r.id for r in recs]
    for row, rec in zip(rows, recs, strict=True):
        assert row["messages"] == _expected_turns(rec)
        assert row["prompt"] == rec.question() and row["response"] == rec.answer()
        assert (row["rejected"], row["reasoning"], row["origin"]) == (rec.rejected, rec.reasoning, rec.origin)
        assert row["teacher_model"] == (rec.teacher.model if rec.teacher else None)
        assert (row["strategy"], row["generation"], row["concepts"]) == (rec.strategy, rec.generation, rec.concepts)
    assert rows[1]["prompt"] == "And on Sundays?" and rows[1]["messages"][0]["role"] == "system"
    assert rows[3]["messages"][-1]["content"] == COT_FORMAT.format(reasoning=recs[3].reasoning, answer="Yes.")


def test_parquet_loads_with_datasets(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    recs = _rows()
    path = export_parquet(recs, tmp_path / "train.parquet")
    ds = datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == len(recs)
    assert ds["tether_id"] == [r.id for r in recs]
    assert ds[1]["messages"] == _expected_turns(recs[1])
    assert ds[4]["rejected"] == "The mayor."


def test_openai_jsonl_lines_validate_and_ids_map_back(tmp_path: Path) -> None:
    recs = _rows()
    path = export_openai_jsonl(recs, tmp_path / "chat.jsonl")
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    ids = ids_path(path).read_text().splitlines()
    assert len(lines) == len(recs) and ids == [r.id for r in recs]
    for line, rec in zip(lines, recs, strict=True):
        assert validate_openai_chat_line(line) == []
        assert set(line) == {"messages"}  # no extra keys: the ids live in the sidecar
        assert line["messages"] == _expected_turns(rec)
    # the preference row trains on its chosen answer, text (non-ASCII included) unchanged
    assert lines[4]["messages"][-1]["content"] == "The harbour office — «Hafenamt»."


def test_openai_system_prompt_added_unless_the_row_has_one(tmp_path: Path) -> None:
    recs = _rows()
    lines = [
        json.loads(x)
        for x in export_openai_jsonl(recs, tmp_path / "c.jsonl", system="Be brief.").read_text().splitlines()
    ]
    assert lines[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert lines[1]["messages"][0]["content"] == "You answer questions about Brindlemoor."
    assert sum(m["role"] == "system" for m in lines[1]["messages"]) == 1
    assert all(validate_openai_chat_line(x) == [] for x in lines)


def test_openai_preference_jsonl(tmp_path: Path) -> None:
    pref = [r for r in _rows() if r.kind == "preference"]
    path = export_openai_preference_jsonl(pref, tmp_path / "dpo.jsonl", system="Be brief.")
    (line,) = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert validate_openai_preference_line(line) == []
    assert line["input"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Who issues permits?"},
    ]
    assert line["preferred_output"] == [{"role": "assistant", "content": pref[0].response}]
    assert line["non_preferred_output"] == [{"role": "assistant", "content": "The mayor."}]
    assert ids_path(path).read_text().split() == [pref[0].id]
    with pytest.raises(ExportError, match="not preference rows"):
        export_openai_preference_jsonl(_rows(), tmp_path / "bad.jsonl")


def test_sharegpt_round_trip(tmp_path: Path) -> None:
    recs = _rows()
    data = json.loads(export_sharegpt(recs, tmp_path / "s.json").read_text(encoding="utf-8"))
    assert [d["id"] for d in data] == [r.id for r in recs]
    names = {"system": "system", "user": "human", "assistant": "gpt"}
    for d, rec in zip(data, recs, strict=True):
        assert d["conversations"] == [{"from": names[t["role"]], "value": t["content"]} for t in _expected_turns(rec)]


def test_alpaca_round_trip_keeps_system_and_history(tmp_path: Path) -> None:
    recs = _rows()
    data = json.loads(export_alpaca(recs, tmp_path / "a.json").read_text(encoding="utf-8"))
    assert [d["tether_id"] for d in data] == [r.id for r in recs]
    for d, rec in zip(data, recs, strict=True):
        assert d["instruction"] == rec.question() and d["input"] == ""
        assert d["output"] == _expected_turns(rec)[-1]["content"]
    assert data[0].keys() == {"instruction", "input", "output", "tether_id"}
    assert data[1]["system"] == "You answer questions about Brindlemoor."
    assert data[1]["history"] == [["When does the ferry leave?", "At 09:30."]]


def test_row_without_answer_is_a_one_line_error_and_nothing_is_written(tmp_path: Path) -> None:
    unanswered = Record(messages=[Message(role="user", content="Where is the museum?")], origin="human")
    empty = Record(prompt="Opening hours?", response="  ", origin="human")
    with pytest.raises(ExportError) as e:
        export([*_rows(), unanswered, empty], tmp_path / "out")
    msg = str(e.value)
    assert "\n" not in msg and unanswered.id in msg and empty.id in msg and "no answer" in msg
    assert not (tmp_path / "out").exists()
    # a trailing user turn is completed by the row's response
    completed = Record(messages=[Message(role="user", content="Where?")], response="By the harbour.", origin="human")
    path = export_openai_jsonl([completed], tmp_path / "one.jsonl")
    assert json.loads(path.read_text())["messages"][-1] == {"role": "assistant", "content": "By the harbour."}


def test_validate_openai_chat_line_finds_problems() -> None:
    ok = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    assert validate_openai_chat_line(ok) == []

    def problems(obj: object) -> str:
        return " | ".join(validate_openai_chat_line(obj))

    assert "unknown key 'tether_id'" in problems({**ok, "tether_id": "x"})
    assert "role 'bot'" in problems({"messages": [{"role": "user", "content": "q"}, {"role": "bot", "content": "a"}]})
    assert "no answer" in problems({"messages": [{"role": "user", "content": "q"}]})
    assert "no user message" in problems({"messages": [{"role": "assistant", "content": "a"}]})
    assert "empty" in problems({"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "a"}]})
    assert "missing 'messages'" in problems({"prompt": "q"})


def test_data_card_states_synthetic_share_and_drop_reasons() -> None:
    recs = _rows()
    card = data_card(
        "brindlemoor-gen2",
        recs,
        [*recs, *_dropped()],
        ["docs: examples/brindlemoor/docs (24 documents)", "seeds: examples/brindlemoor/seeds.jsonl"],
        {"synthetic": {"dcscore": {"0.1": 2.87654321}, "vendi": 2.5}, "drift_examples": list("abcdefgh")},
        "validation and evaluation rows are real only, fixed by id across generations",
    )
    assert "AI-generated (synthetic) share: 60.0 % (3 of 5 rows)" in card
    assert "| dedup | near_duplicate | 2 |" in card and "| facts | invented_number | 1 |" in card
    assert "8 rows considered: 3 left out with a verdict" in card
    assert "| SmolLM2-135M-Instruct | sha256:abc123 | llama.cpp 0.3.36 | - | 3 |" in card
    assert "| synthetic.dcscore.0.1 | 2.877 |" in card and "[8 items]" in card
    assert "seeds: examples/brindlemoor/seeds.jsonl" in card and "fixed by id across generations" in card
    assert "| transport | 1 | 20.0 % |" in card and "| (none) | 1 | 20.0 % |" in card
    assert "At 11:00" not in card  # the card describes rows, it does not quote them


def test_export_writes_every_format_and_the_card(tmp_path: Path) -> None:
    recs = _rows()
    out = export(recs, tmp_path / "gen2", all_rows=[*recs, *_dropped()], holdout_policy="real rows only")
    assert set(out) == {
        "parquet",
        "openai",
        "openai_ids",
        "openai_preference",
        "openai_preference_ids",
        "sharegpt",
        "alpaca",
        "data_card",
    }
    assert all(p.is_file() and p.parent == tmp_path / "gen2" for p in out.values())
    card = out["data_card"].read_text(encoding="utf-8")
    assert card.startswith("# Data card: gen2") and "`openai_chat.jsonl.ids`" in card and "real rows only" in card
    assert len(out["openai"].read_text().splitlines()) == len(recs)
    only = export(recs, tmp_path / "p", formats=("parquet",))
    assert set(only) == {"parquet", "data_card"}
    with pytest.raises(ExportError, match="unknown export format"):
        export(recs, tmp_path / "x", formats=("csv",))
    with pytest.raises(ExportError, match="nothing to export"):
        export([], tmp_path / "y")
