"""Teacher client behaviour against a real HTTP server on 127.0.0.1 with scripted faults."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from pydantic import BaseModel

from tether.config import TeacherConfig
from tether.llm.cache import RequestCache
from tether.llm.client import TeacherClient, TeacherError
from tether.llm.types import TeacherIdentity
from tether.testing.fake_openai import FakeOpenAI


class QA(BaseModel):
    question: str
    answer: str


@pytest.fixture
def server():
    with FakeOpenAI(slow_s=2.0) as srv:
        yield srv


def make_client(url: str, cache: RequestCache | None = None, **cfg) -> TeacherClient:
    base = {"base_url": url, "model": "fake-model", "backoff_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 0.5}
    cfg = TeacherConfig.model_validate({**base, **cfg})
    return TeacherClient(cfg, url, TeacherIdentity(model="fake-model", endpoint=url), cache)


def run(coro):
    return asyncio.run(coro)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize("fault", ["429x2", "500x2", "503x1", "timeoutx1"])
def test_transient_faults_are_retried(server: FakeOpenAI, fault: str) -> None:
    async def go():
        async with make_client(server.base_url) as c:
            comp = await c.chat(user(f"hello #fault={fault}"))
            return comp, c.stats

    comp, stats = run(go())
    assert comp.ok and comp.text.startswith("echo: hello")
    n = int(fault.split("x")[1])
    assert stats.retries == n and stats.calls == n + 1
    assert comp.finish_reason == "stop"


def test_persistent_500_ends_in_a_verdict_and_is_not_cached(server: FakeOpenAI, tmp_path: Path) -> None:
    cache = RequestCache(tmp_path / "c.sqlite")

    async def go():
        async with make_client(server.base_url, cache, retries=2) as c:
            return await c.chat(user("boom #fault=500")), c.stats

    comp, stats = run(go())
    assert comp.error == "http_500" and "scripted 500" in comp.error_detail
    assert stats.errors["http_500"] == 1 and stats.calls == 3
    assert len(cache) == 0  # failures are not cached: a rerun tries again


def test_truncated_answer_is_a_verdict_with_finish_reason(server: FakeOpenAI) -> None:
    async def go():
        async with make_client(server.base_url) as c:
            return await c.chat(user("a long answer please #fault=length"))

    comp = run(go())
    assert comp.error == "truncated" and comp.finish_reason == "length" and comp.text


def test_structured_output_parses_and_reports_failures(server: FakeOpenAI) -> None:
    good = '#json={"question": "How much is a permit?", "answer": "23 marks"}'

    async def go():
        async with make_client(server.base_url, parse_retries=2) as c:
            ok = await c.chat(user(good), schema=QA)
            bad = await c.chat(user("#json=this is not json"), schema=QA)
            wrong = await c.chat(user('#json={"question": "q"}'), schema=QA)
            cut = await c.chat(user('#json={"question": "q", "answer": "long" #fault=length'), schema=QA)
            return ok, bad, wrong, cut

    ok, bad, wrong, cut = run(go())
    assert ok.parsed == {"question": "How much is a permit?", "answer": "23 marks"} and ok.attempts == 1
    assert bad.error == "invalid_json" and bad.attempts == 3
    assert wrong.error == "schema_mismatch" and "answer" in wrong.error_detail
    assert cut.error == "truncated"
    # parse retries are distinct requests (attempt index changes the seed), all sent
    assert sum(m.startswith("#json=this is not json\n\n") for m in server.messages_received()) == 3
    seeds = [r.get("seed") for r in server.requests if r["messages"][-1]["content"].startswith("#json=this is not")]
    assert len(set(seeds)) == 3


@pytest.mark.parametrize(
    "formats, mode, sent",
    [
        (("json_schema", "json_object"), "json_schema", "json_schema"),
        (("json_object",), "json_object", "json_object"),
        ((), "prompt", None),
    ],
)
def test_auto_structured_mode_steps_down(formats: tuple, mode: str, sent: str | None) -> None:
    with FakeOpenAI(formats=formats) as srv:

        async def go():
            async with make_client(srv.base_url) as c:
                comp = await c.chat(user('#json={"question": "q", "answer": "a"}'), schema=QA)
                return comp, c.mode, c.stats

        comp, got_mode, stats = run(go())
        assert comp.parsed == {"question": "q", "answer": "a"}
        assert got_mode == mode and stats.retries == 0
        last = srv.requests[-1]
        assert (last.get("response_format") or {}).get("type") == sent
        # the schema is always spelled out in the prompt too (weak models need it)
        assert '"question"' in last["messages"][-1]["content"]


def test_cache_hits_and_exact_invalidation(server: FakeOpenAI, tmp_path: Path) -> None:
    async def go(path: Path, **cfg):
        async with make_client(server.base_url, RequestCache(path), **cfg) as c:
            a = await c.chat(user("one"))
            b = await c.chat(user("two"))
            return a, b, c.stats

    path = tmp_path / "cache.sqlite"
    run(go(path))
    assert server.messages_received() == ["one", "two"]
    a, b, stats = run(go(path))  # identical requests: served from the cache
    assert a.cached and b.cached and stats.calls == 0 and stats.cache_hits == 2
    run(go(path, temperature=0.1))  # a parameter change invalidates exactly the affected entries
    assert server.messages_received() == ["one", "two", "one", "two"]

    async def changed_prompt():
        async with make_client(server.base_url, RequestCache(path)) as c:
            return await c.chat(user("one")), await c.chat(user("two, reworded"))

    one, two = run(changed_prompt())
    assert one.cached and not two.cached


def test_api_key_never_reaches_the_cache(server: FakeOpenAI, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TETHER_TEST_KEY", "sk-secret-123456")
    path = tmp_path / "cache.sqlite"

    async def go():
        async with make_client(server.base_url, RequestCache(path), api_key_env="TETHER_TEST_KEY") as c:
            await c.chat(user("hi"))

    run(go())
    dump = "\n".join(sqlite3.connect(path).iterdump())
    assert "hi" in dump and "sk-secret" not in dump


def test_random_429s_all_succeed_and_aimd_backs_off() -> None:
    with FakeOpenAI(rate_429=0.2, seed=3) as srv:

        async def go():
            async with make_client(srv.base_url, retries=10, concurrency={"max_in_flight": 32}) as c:
                res = await c.map([lambda i=i: c.chat(user(f"q{i}")) for i in range(200)])
                return res, c

        res, c = run(go())
        assert all(r.ok for r in res)
        assert c.stats.retries > 0 and c.limit.cuts > 0
        assert len({r.text for r in res}) == 200


def test_unreachable_endpoint_is_one_line() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connection refused
        url = f"http://127.0.0.1:{port}/v1"

        async def go():
            async with make_client(url, retries=1) as c:
                with pytest.raises(TeacherError) as info:
                    await c.check()
                comp = await c.chat(user("hi"))
                return str(info.value), comp

        msg, comp = run(go())
    assert "cannot reach the teacher" in msg and "connection refused" in msg and "\n" not in msg
    assert comp.error == "connection_error"


def test_unknown_model_is_reported(server: FakeOpenAI) -> None:
    async def go():
        cfg = TeacherConfig(base_url=server.base_url, model="other")
        async with TeacherClient(cfg, server.base_url, TeacherIdentity(model="other"), None) as c:
            await c.check()

    with pytest.raises(TeacherError, match="'other' is not served"):
        run(go())


def test_concurrent_rejections_step_down_once() -> None:
    with FakeOpenAI(formats=("json_object",), latency_s=0.02) as srv:

        async def go():
            async with make_client(srv.base_url) as c:
                jobs = [
                    lambda i=i: c.chat(user(f'#json={{"question": "q{i}", "answer": "a"}}'), schema=QA)
                    for i in range(8)
                ]
                return await c.map(jobs), c.mode

        res, mode = run(go())
    assert mode == "json_object"
    assert all(r.parsed for r in res)


def test_logprobs_are_asked_only_when_wanted_and_keep_old_cache_keys() -> None:
    """`top_logprobs` is part of a request's cache key only when asked: every request cached before the field
    existed keys the same; the reply's logprobs come back as tokens and their alternatives, and a server that
    sends another shape (or none) gives None, not an error."""
    from tether.llm.types import ChatRequest
    from tether.llm.types import logprobs_of as _logprobs

    ident = TeacherIdentity(model="m")
    plain = ChatRequest(messages=[{"role": "user", "content": "hi"}], temperature=0.0, top_p=1.0, max_tokens=4)
    before = "730eedf1b3b7e90449c62a5661273d8f2fa4ae2bfff7648649e8ab9c6ec84ba2"  # the key before the field existed
    assert plain.key(ident) == before
    assert plain.model_copy(update={"top_logprobs": 5}).key(ident) != before
    raw = {"content": [{"token": "4", "logprob": -0.2, "top_logprobs": [{"token": "4", "logprob": -0.2},
                                                                      {"token": "5", "logprob": -1.9}]}]}  # fmt: skip
    assert _logprobs(raw) == (["4"], [{"4": -0.2, "5": -1.9}])
    assert _logprobs(None) == (None, None) and _logprobs({"content": "x"}) == (None, None)
    assert _logprobs({"content": [{"logprob": -1}]}) == (None, None)
