"""`tether import`: synthetic rows made elsewhere, every supported format, bad rows with line-numbered reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from tether.cli import app
from tether.errors import TetherError
from tether.filters.stage import run_filters
from tether.generate.imported import run_import
from tether.seeds.stage import run_ingest
from tether.workspace.store import Workspace

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "brindlemoor"
GOOD = [
    ("How much is a resident parking permit for a first car?", "A first vehicle costs 46 marks per year."),
    ("What is the release fee for a towed vehicle?", "The release fee is 135 marks, plus 11 marks per day of storage."),
    # an invention (the bylaw's surcharge is 12 marks): the facts filter must catch it
    (
        "How late is a dog licence renewal surcharged?",
        "A licence renewed after 15 March carries a late surcharge of 7,000 yen.",
    ),
]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    cfg = {"project": "brindlemoor", "filters": {"enabled": ["validity", "rules", "exact_dedup", "facts"]}}
    w = Workspace.init(tmp_path / "w", yaml.safe_dump(cfg))
    run_ingest(w, [EXAMPLE / "docs", EXAMPLE / "seeds"])
    return w


def chat_line(q: str, a: str, system: bool = False) -> str:
    msgs = ([{"role": "system", "content": "You answer questions about Brindlemoor."}] if system else []) + [
        {"role": "user", "content": q},
        {"role": "assistant", "content": a},
    ]
    return json.dumps({"messages": msgs})


def test_openai_chat_jsonl_with_broken_lines(ws: Workspace, tmp_path: Path) -> None:
    lines = []
    for i in range(100):
        if i % 10 == 3:
            lines.append('{"messages": [{"role": "user", "content": "cut off')  # broken JSON
        elif i % 10 == 7:
            lines.append(json.dumps({"messages": [{"role": "user", "content": "no answer?"}]}))
        elif i % 25 == 0:
            lines.append(json.dumps(["not", "an", "object"]))
        else:
            q, a = GOOD[i % 3]
            lines.append(chat_line(f"{q} (variant {i})", a, system=i % 2 == 0))
    path = tmp_path / "distilled.jsonl"
    path.write_text("\n".join(lines) + "\n")
    rep = run_import(ws, path, "gpt-4o-mini", teacher_version="2024-07-18")
    reasons = dict(rep.skipped)
    assert len(rep.imported) + len(rep.skipped) == 100
    assert "invalid JSON" in reasons["line 4"]
    assert "needs at least one user and one assistant turn" in reasons["line 8"]
    assert "expected an object" in reasons["line 1"]
    r = rep.imported[0]
    assert r.origin == "synthetic" and r.strategy == "imported"
    assert r.teacher.model == "gpt-4o-mini" and r.teacher.version == "2024-07-18"
    assert r.meta["import_file"] == "distilled.jsonl" and r.meta["import_row"].startswith("line ")
    with_system = next(x for x in rep.imported if x.messages)  # system prompt kept: stored as messages
    assert with_system.messages[0].role == "system" and with_system.answer() in {a for _, a in GOOD}
    plain = next(x for x in rep.imported if not x.messages)
    assert plain.prompt and plain.response
    assert sum(1 for x in rep.imported if x.source is not None) >= len(rep.imported) * 0.6
    assert rep.formats == {"openai-chat": len(rep.imported)}
    again = run_import(ws, path, "gpt-4o-mini", teacher_version="2024-07-18")
    assert not again.created and again.unchanged == len(rep.imported)
    # from here on, imported rows are filtered like generated ones
    filt = run_filters(ws)
    rows = [x for x in ws.records(filt.version) if x.strategy == "imported"]
    yen = [x for x in rows if "yen" in x.answer()]
    assert yen and all(x.verdicts["facts"].reason == "unsupported_fact" for x in yen)
    permit = [x for x in rows if "46 marks" in x.answer()]
    assert permit and all(x.kept for x in permit)


def test_sharegpt_alpaca_parquet_csv(ws: Workspace, tmp_path: Path) -> None:
    share = tmp_path / "share.json"
    share.write_text(
        json.dumps(
            [
                {"conversations": [{"from": "human", "value": GOOD[0][0]}, {"from": "gpt", "value": GOOD[0][1]}]},
                {"conversations": [{"from": "robot", "value": "?"}]},
                {"conversations": []},
            ]
        )
    )
    rep = run_import(ws, share, "mixtral")
    assert rep.formats == {"sharegpt": 1} and len(rep.imported) == 1
    assert dict(rep.skipped) == {
        "item 2": "bad conversations: unknown speaker 'robot' (expected human/gpt/system)",
        "item 3": "bad conversations: 'conversations' must be a non-empty list of {from, value}",
    }
    alpaca = tmp_path / "alpaca.json"
    alpaca.write_text(
        json.dumps(
            [
                {"instruction": "Answer about Brindlemoor.", "input": GOOD[1][0], "output": GOOD[1][1]},
                {"instruction": "Say something", "input": "", "output": ""},
            ]
        )
    )
    rep = run_import(ws, alpaca, "llama-3-70b")
    assert rep.formats == {"alpaca": 1}
    assert rep.imported[0].prompt == f"Answer about Brindlemoor.\n\n{GOOD[1][0]}"
    assert rep.skipped == [("item 2", "empty or non-text 'output'")]
    parquet = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"question": [q for q, _ in GOOD], "answer": [a for _, a in GOOD]}), parquet)
    rep = run_import(ws, parquet, "curator-run-7")
    assert len(rep.imported) == 3 and rep.imported[2].meta["import_row"] == "row 3"
    csv = tmp_path / "rows.csv"
    csv.write_text('prompt,response\n"Tow fee?","95 marks"\n"",nothing\n')
    rep = run_import(ws, csv, "hand-written")
    assert len(rep.imported) == 1 and rep.skipped == [("line 3", "empty or non-text 'prompt'")]


def test_import_errors(ws: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(TetherError, match="invalid JSON at line 1"):
        run_import(ws, bad, "m")
    empty = tmp_path / "docs.jsonl"
    empty.write_text('{"text": "a document, not a row"}\n')
    with pytest.raises(TetherError, match=r"no usable question/answer rows .*document row"):
        run_import(ws, empty, "m")
    with pytest.raises(TetherError, match="unsupported import format"):
        run_import(ws, tmp_path / "x.txt", "m") if (tmp_path / "x.txt").write_text("hi") else None
    with pytest.raises(TetherError, match="--teacher"):
        run_import(ws, empty, " ")


def test_import_cli(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(chat_line(*GOOD[0]) + "\nnot json\n")
    res = CliRunner().invoke(app, ["import", str(path), "--teacher", "gpt-4o", "-w", str(ws.root)])
    assert res.exit_code == 0, res.output
    assert "+1 imported synthetic rows" in res.output and "line 2" in res.output
