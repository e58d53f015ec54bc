"""`tether probe` and `generate --target mistakes`: a student (here an endpoint on 127.0.0.1 that knows every other
fact) is asked its training rows back; the facts it did not state are the misses, and the next generation makes
paraphrases and new questions for exactly those rows and chunks."""

from __future__ import annotations

import math
from pathlib import Path

import yaml
from typer.testing import CliRunner

from tests.conftest import EXAMPLE
from tether.cli import app
from tether.config import render_default_config
from tether.evaluate.probe import key_facts, latest_probe, missing_facts, probe_questions, run_probe
from tether.evaluate.runner import Target
from tether.generate.planner import calls_per_row
from tether.run.mistakes import answer_sentence, generate_for_mistakes
from tether.seeds.holdout import fixed_holdout
from tether.seeds.stage import run_ingest
from tether.testing.fake_openai import FakeOpenAI
from tether.text import words
from tether.workspace.store import Workspace


def example(root: Path, url: str) -> Workspace:
    cfg = yaml.safe_load(render_default_config("brindlemoor", EXAMPLE, root))
    cfg["teacher"].update(base_url=url, model="fake-model", backoff_s=0.01, retries=1)
    ws = Workspace.init(root, yaml.safe_dump(cfg))
    run_ingest(ws, [])
    return ws


def training_rows(ws: Workspace) -> list:
    held = fixed_holdout(ws)
    return [r for r in ws.human_records(ws.head()) if r.id not in held.holdout.ids]


def half_student(rows: list):
    """Knows the answer to every other probe question (by its position among the training rows), says it does
    not know the rest; anything else (the teacher's prompts) gets the fake server's default reply."""
    known = {r.question(): r.answer() for k, r in enumerate(rows) if k % 2 == 0}
    asked = {r.question() for r in rows}

    def reply(body: dict) -> str | None:
        q = body["messages"][-1]["content"]
        if q in known:
            return f"As far as I know: {known[q]}"
        if q in asked:
            return "I am not sure, sorry."
        return None

    return reply


def test_key_facts_leave_out_what_the_question_gives_away() -> None:
    q, a = "How much is permit RT-7 for 12 months?", "Permit RT-7 costs 46 marks for 12 months."
    facts = [f.text for f in key_facts(q, a)]
    assert facts == ["46 marks"]
    assert key_facts("Where is the depot?", "The depot is on the quay.") == []  # nothing to check: not probed


def test_probe_finds_the_facts_the_student_did_not_state(tmp_path: Path) -> None:
    with FakeOpenAI() as srv:
        ws = example(tmp_path / "w", srv.base_url)
        rows = training_rows(ws)
        srv.responder = half_student(rows)
        probes = probe_questions(rows, 200)
        assert 10 <= len(probes) <= len(rows)
        assert all(p.facts and p.chunk_id for p in probes)
        assert len({p.chunk_id for p in probe_questions(rows, 8)}) == 8  # a small probe spreads over chunks
        endpoint = ws.config.teacher
        res = run_probe(ws, Target("endpoint", "fake-model"), rows, "mix-1", limit=200, endpoint=endpoint)
        sent = len(srv.requests)
        again = run_probe(ws, Target("endpoint", "fake-model"), rows, "mix-1", limit=200, endpoint=endpoint)
        assert again["key"] == res["key"] and len(srv.requests) == sent  # stored, read back
    position = {r.id: k for k, r in enumerate(rows)}
    for it in res["items"]:
        assert it["known"] == (position[it["row_id"]] % 2 == 0), it
        assert bool(it["missing"]) != it["known"]
    s = res["summary"]
    assert s["n"] == len(probes) and s["known"] == sum(it["known"] for it in res["items"])
    assert 0 < s["known"] < s["n"] and s["accuracy"]["low"] <= s["accuracy"]["mean"] <= s["accuracy"]["high"]
    assert latest_probe(ws)["key"] == res["key"]


def test_missing_facts_read_numbers_and_names() -> None:
    [p] = probe_questions(
        [r for r in _rows() if r.question().startswith("How much")],
        1,
    )
    assert missing_facts("It costs 46 marks a year.", p) == []
    assert missing_facts("It costs 64 marks a year.", p) == ["46 marks"]


def _rows():
    from tether.records import Record, Source

    src = Source(doc_id="d", chunk_id="c1")
    return [
        Record(
            prompt="How much is a resident permit?",
            response="A resident permit costs 46 marks a year.",
            origin="human",
            source=src,
        ),
        Record(prompt="Where is it sold?", response="At the Civic Counter.", origin="human", source=src),
    ]


def test_generation_targets_exactly_the_missed_rows(tmp_path: Path) -> None:
    with FakeOpenAI() as srv:
        ws = example(tmp_path / "w", srv.base_url)
        rows = training_rows(ws)
        srv.responder = half_student(rows)
        res = run_probe(ws, Target("endpoint", "fake-model"), rows, "mix-1", limit=200, endpoint=ws.config.teacher)
        srv.responder = None
        missed = {it["row_id"]: it for it in res["items"] if not it["known"]}
        rep = generate_for_mistakes(ws, budget=400)
    assert rep.missed == len(missed) and rep.created and rep.version.notes["target"] == "mistakes"
    by = rep.by_strategy
    assert by["rephrase"] >= len(missed) and by["new_question"] >= len(missed)  # each miss: a paraphrase, a question
    chunks = {c.chunk_id: c for c in ws.chunks(ws.head())}
    by_id = {r.id: r for r in rows}
    for r in rep.rows:
        if r.strategy == "rephrase":
            assert r.parents[0] in missed
        else:
            assert r.source.chunk_id in {it["chunk_id"] for it in missed.values()}
            focus = r.meta["focus"]
            assert any(focus == answer_sentence(by_id[m].answer(), chunks[r.source.chunk_id].text) for m in missed)
            assert " ".join(words(focus)) in " ".join(words(chunks[r.source.chunk_id].text))
    # a small budget reaches every miss once (a new question first) before any gets a second row
    with FakeOpenAI() as srv:
        ws2 = example(tmp_path / "w2", srv.base_url)
        (ws2.store / "probes").mkdir(parents=True, exist_ok=True)
        stored = f"{res['key']}.json"
        (ws2.store / "probes" / stored).write_text((ws.store / "probes" / stored).read_text())
        one_each = math.ceil(len(missed) * calls_per_row("new_questions", ws2.config.generate))
        small = generate_for_mistakes(ws2, budget=one_each)
    assert small.by_strategy["new_question"] == len(missed) and not small.by_strategy["rephrase"]


def test_probe_cli_over_an_endpoint(tmp_path: Path) -> None:
    from tether.mix.mixer import build_mix

    with FakeOpenAI() as srv:
        ws = example(tmp_path / "w", srv.base_url)
        build_mix(ws, 1)
        srv.responder = half_student(training_rows(ws))
        out = CliRunner().invoke(
            app, ["probe", "-w", str(ws.root), "--base-url", srv.base_url, "--model", "fake-model", "--limit", "20"]
        )
    assert out.exit_code == 0, out.output
    assert "training facts" in out.output and "tether generate --target mistakes" in out.output
