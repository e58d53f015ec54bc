"""A dead teacher stops the run at once, loudly, and builds nothing: the embedded server's death (a real child
process killed with SIGSEGV, as a llama.cpp built for a forbidden instruction set dies), a remote endpoint that
starts refusing connections in the middle of `tether run`, a server that lists its models and dies on the first
completion, and a calibration made of failed calls."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tether.config import TeacherConfig
from tether.errors import TetherError
from tether.filters.trust import CalibrationStore, FilterCalibration
from tether.llm.cache import RequestCache
from tether.llm.client import TeacherClient, TeacherError
from tether.llm.embedded import free_port
from tether.llm.process import ServerProcess, exit_status, last_meaningful_line
from tether.llm.types import TeacherIdentity
from tether.testing.fake_openai import FakeOpenAI


def fake_server(tmp_path: Path, *args: str, port: int | None = None, timeout: float = 30) -> ServerProcess:
    """The fake OpenAI server in a child process, managed like the embedded teacher."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "tether.testing.fake_openai", "--port", str(port), *args]
    return ServerProcess(cmd, f"http://127.0.0.1:{port}/v1", "fake-model", tmp_path / f"fake-{port}.log", timeout)


def test_exit_status_and_log_line(tmp_path: Path) -> None:
    assert exit_status(-signal.SIGSEGV) == "was killed by signal SIGSEGV"
    assert exit_status(3) == "exited with code 3"
    log = tmp_path / "server.log"
    log.write_text('model loaded\nINFO:     127.0.0.1:5000 - "POST /v1/chat/completions HTTP/1.1" 200 OK\n\n')
    assert last_meaningful_line(log) == "model loaded"


def test_server_that_dies_on_its_first_completion_never_counts_as_started(tmp_path: Path) -> None:
    """/v1/models answers, the first completion kills it: start-up fails with the signal and the log's path."""
    srv = fake_server(tmp_path, "--crash-after", "0")
    t0 = time.monotonic()
    with pytest.raises(TetherError, match=r"killed by signal SIGSEGV.*log: ") as e:
        srv.start()
    assert time.monotonic() - t0 < 20
    assert "\n" not in str(e.value)
    assert srv.log_path.is_file()  # kept: the error names it


def test_a_server_killed_mid_run_stops_the_client_at_once(tmp_path: Path) -> None:
    """A child-process teacher killed with SIGSEGV in the middle of 300 calls: the client raises one line naming
    the signal within seconds, the calls finished before stay in the cache, and a rerun against a fresh server
    repeats none of them."""
    cfg = TeacherConfig(base_url="http://x", model="fake-model", retries=6, backoff_s=0.05,
                        concurrency={"max_in_flight": 4, "adaptive": False})  # fmt: skip
    cache_path = tmp_path / "cache.sqlite"
    prompts = [f"item {i:03d}" for i in range(300)]
    srv = fake_server(tmp_path, "--latency", "0.02").start()
    assert srv.proc is not None

    async def run(url: str, liveness) -> list:
        cache = RequestCache(cache_path)
        try:
            async with TeacherClient(cfg, url, TeacherIdentity(model="fake-model"), cache) as c:
                c.liveness = liveness
                return await c.map([lambda p=p: c.chat([{"role": "user", "content": p}]) for p in prompts])
        finally:
            cache.close()

    def killer() -> None:
        while len(RequestCache(cache_path)) < 40:
            time.sleep(0.02)
        srv.proc.send_signal(signal.SIGSEGV)

    threading.Thread(target=killer, daemon=True).start()
    t0 = time.monotonic()
    with pytest.raises(TeacherError) as e:
        asyncio.run(run(srv.base_url, srv.death))
    took = time.monotonic() - t0
    srv.stop()
    msg = str(e.value)
    assert "killed by signal SIGSEGV" in msg and str(srv.log_path) in msg and "\n" not in msg
    assert took < 30
    finished = len(RequestCache(cache_path))
    assert 40 <= finished < 300

    with FakeOpenAI() as back:
        rows = asyncio.run(run(back.base_url, None))
        resent = back.messages_received()
    assert all(r.ok for r in rows)
    assert len(resent) == 300 - finished  # only the unfinished calls are sent again
    assert sum(r.cached for r in rows) == finished


def test_a_refusing_endpoint_stops_after_a_run_of_connection_failures(tmp_path: Path) -> None:
    srv = fake_server(tmp_path).start()
    cfg = TeacherConfig(base_url=srv.base_url, model="fake-model", retries=50, backoff_s=0.01,
                        max_connection_failures=5, concurrency={"max_in_flight": 2, "adaptive": False})  # fmt: skip

    async def go() -> None:
        async with TeacherClient(cfg, srv.base_url, TeacherIdentity(model="fake-model"), None) as c:
            await c.check()
            srv.stop()  # the endpoint goes away after the check: every call is refused from now on
            await c.map([lambda i=i: c.chat([{"role": "user", "content": f"q{i}"}]) for i in range(50)])

    t0 = time.monotonic()
    with pytest.raises(TeacherError, match=r"failed 5 connections in a row .*max_connection_failures"):
        asyncio.run(go())
    assert time.monotonic() - t0 < 10  # not 50 calls x 50 retries


def test_a_calibration_of_failed_calls_is_neither_stored_nor_used(tmp_path: Path) -> None:
    store = CalibrationStore(tmp_path)
    base = dict(filter="grounding", judge="m@d", template="t", true_rows=20, false_rows=20, tpr=0.0, fpr=0.0,
                auc=0.5, state="uninformative")  # fmt: skip
    with pytest.raises(ValueError, match="not stored"):
        store.save("k", FilterCalibration(**base, asked=40, answered=3))
    assert not store.path.exists()
    # one written before tether counted answered calls (as a run against a dead teacher left it): not used
    store.path.write_text(json.dumps({"k": FilterCalibration(**base).model_dump()}))
    assert store.get("k") is None
    store.save("k", FilterCalibration(**base, asked=40, answered=40))
    assert store.get("k") is not None


@pytest.mark.timeout(120)
def test_the_real_embedded_server_killed_mid_generation_stops_it(tmp_path: Path) -> None:
    """llama.cpp itself: its process killed with SIGSEGV while answering, the open teacher raises the death line."""
    pytest.importorskip("llama_cpp")
    from tether.llm.teacher import open_teacher

    cfg = TeacherConfig(
        max_tokens=16, temperature=0.0, concurrency={"max_in_flight": 2}, embedded={"model": "smollm2-135m"}
    )
    seen: list = []

    async def go() -> None:
        async with open_teacher(cfg, tmp_path / "cache.sqlite") as c:
            assert c.liveness is not None

            async def one(i: int):
                comp = await c.chat([{"role": "user", "content": f"Count to {i}."}])
                seen.append(comp)
                if len(seen) == 3:  # the server's pid is this process's tether.llm.llama_serve child
                    out = subprocess.run(["pgrep", "-P", str(os.getpid()), "-f", "tether.llm.llama_serve"],
                                         capture_output=True, text=True)  # fmt: skip
                    for pid in out.stdout.split():
                        os.kill(int(pid), signal.SIGSEGV)
                return comp

            await c.map([lambda i=i: one(i) for i in range(40)])

    with pytest.raises(TeacherError, match=r"embedded teacher \(llama.cpp server\).*SIGSEGV.*log: .*rebuild"):
        asyncio.run(go())
    assert 3 <= len(seen) < 40
