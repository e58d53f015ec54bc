"""kill -9 mid-run, rerun: no finished request is sent again, every row is present exactly once."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tether.testing.fake_openai import FakeOpenAI

WORKER = Path(__file__).with_name("resume_worker.py")
N = 200


def finished_prompts(cache: Path) -> set[str]:
    db = sqlite3.connect(cache)
    try:
        return {json.loads(r[0])["messages"][-1]["content"] for r in db.execute("SELECT request FROM completions")}
    finally:
        db.close()


def test_kill_9_then_resume_repeats_no_finished_call(tmp_path: Path) -> None:
    cache, out = tmp_path / "cache.sqlite", tmp_path / "rows.jsonl"
    with FakeOpenAI(latency_s=0.05) as srv:
        args = [sys.executable, str(WORKER), srv.base_url, str(cache), str(out), str(N)]
        proc = subprocess.Popen(args)
        deadline = time.monotonic() + 60
        while len(srv.requests) < N // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        first_run = len(srv.requests)
        assert N // 3 <= first_run < N, "the worker must be killed mid-run"
        assert not out.exists()

        done = finished_prompts(cache)
        assert len(done) >= N // 3 - 8  # at most the in-flight window was lost

        subprocess.run(args, check=True, timeout=120)
        second = srv.messages_received()[first_run:]

    # no call that had finished (committed) before the kill is sent again
    assert not set(second) & done
    # only the calls that never finished are sent, each once
    assert sorted(second) == sorted({f"item {i:03d}" for i in range(N)} - done)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == N and len({r["prompt"] for r in rows}) == N
    assert all(r["text"] == f"echo: {r['prompt']}" for r in rows)
    assert sum(r["cached"] for r in rows) == len(done)
