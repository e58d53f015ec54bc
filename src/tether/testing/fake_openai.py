"""A small OpenAI-compatible server on 127.0.0.1 with scripted faults, for tests and benchmarks.

Faults are asked for inside the last user message, so one server serves many scenarios at once:

    #fault=429x2      first 2 requests with this message get HTTP 429 (then normal answers)
    #fault=500x1      same with HTTP 500 (503 for 503, ...)
    #fault=timeoutx1  first request sleeps `slow_s` seconds (past the client's timeout)
    #fault=length     always answers with finish_reason=length and a cut-off text
    #json={...}       answer content is this literal text (e.g. valid or invalid JSON)

A `responder(body) -> str | dict | None` can script replies (None falls through to the rules above; a dict
{content, logprobs} also sends OpenAI-shaped logprobs). Otherwise the answer
is schema-shaped JSON when a response_format asks for it, else "echo: <message>". Every request body is
recorded in `requests`, in arrival order.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web

_FAULT = re.compile(r"#fault=(\w+?)(?:x(\d+))?(?:\s|$)")
_JSON = re.compile(r"#json=(.*?)(?=\n\n|\Z)", re.DOTALL)  # up to a blank line (the JSON note follows it)


class FakeOpenAI:
    def __init__(
        self,
        model: str = "fake-model",
        latency_s: float = 0.0,
        slow_s: float = 5.0,
        rate_429: float = 0.0,
        seed: int = 0,
        formats: tuple[str, ...] = ("json_schema", "json_object"),
        responder: Callable[[dict[str, Any]], str | dict | None] | None = None,
    ):
        self.model = model
        self.latency_s = latency_s
        self.slow_s = slow_s
        self.rate_429 = rate_429  # random share of requests answered 429 (AIMD / retry benchmarks)
        self.rng = random.Random(seed)
        self.formats = formats  # response_format types accepted; others get a 500 naming response_format
        self.responder = responder  # body -> reply text (None: the default behaviour below)
        self.requests: list[dict[str, Any]] = []
        self.seen: Counter[str] = Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- handlers -------------------------------------------------------------------------------------------

    async def _models(self, _: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return await self._answer(body)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _embeddings(self, request: web.Request) -> web.Response:
        """Bag-of-words vectors (each lowercase word hashed into 64 dimensions, unnormalised): texts that share
        words point the same way. `#fault=...` inside an input works as for chat."""
        import hashlib

        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        with self._lock:
            self.requests.append(body)
            for text in inputs:
                self.seen[text] += 1
        for text in inputs:
            m = _FAULT.search(text)
            if m and m.group(1).isdigit() and self.seen[text] <= int(m.group(2) or 1_000_000):
                return _error(int(m.group(1)), f"scripted {m.group(1)}")
        data = []
        for i, text in enumerate(inputs):
            vec = [0.0] * 64
            for w in re.findall(r"\w+", text.lower()):
                vec[int(hashlib.md5(w.encode()).hexdigest(), 16) % 64] += 1.0
            data.append({"object": "embedding", "index": i, "embedding": vec})
        return web.json_response({"object": "list", "model": body.get("model", self.model), "data": data})

    async def _answer(self, body: dict[str, Any]) -> web.Response:
        if not body.get("messages"):  # e.g. a client's probe: answered as a real server answers it
            return web.json_response({"error": {"message": "messages must not be empty"}}, status=400)
        msg = body["messages"][-1]["content"]
        with self._lock:
            self.seen[msg] += 1
            nth = self.seen[msg]
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        fmt = (body.get("response_format") or {}).get("type")
        if fmt and fmt not in self.formats:
            return _error(500, f"response_format type '{fmt}' is not supported")
        if self.rate_429 and self.rng.random() < self.rate_429:
            return _error(429, "rate limited (random)", {"retry-after": "0.05"})
        m = _FAULT.search(msg)
        if m:
            kind, times = m.group(1), int(m.group(2) or 1_000_000)
            if kind.isdigit() and nth <= times:
                return _error(int(kind), f"scripted {kind}")
            if kind == "timeout" and nth <= times:
                await asyncio.sleep(self.slow_s)
        j = _JSON.search(msg)
        schema = _schema(body.get("response_format"))
        scripted = self.responder(body) if self.responder else None
        logprobs = None
        if isinstance(scripted, dict):  # {"content": ..., "logprobs": {"content": [...]}} (OpenAI's shape)
            scripted, logprobs = scripted["content"], scripted.get("logprobs")
        if scripted is not None:
            content = scripted
        elif j:
            content = j.group(1).strip()
        elif schema:
            content = json.dumps(_fill(schema, msg, body.get("seed")))
        else:
            content = f"echo: {msg}"
        finish = "stop"
        if m and m.group(1) == "length":
            content, finish = content[: max(1, len(content) // 2)], "length"
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": finish,
        }
        if logprobs is not None:
            choice["logprobs"] = logprobs
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.model,
                "choices": [choice],
                "usage": {
                    "prompt_tokens": len(msg.split()),
                    "completion_tokens": len(content.split()),
                    "total_tokens": len(msg.split()) + len(content.split()),
                },
            }
        )

    # -- lifecycle (a background thread with its own event loop) --------------------------------------------

    def start(self) -> FakeOpenAI:
        return self.start_on(0)

    def start_on(self, port: int) -> FakeOpenAI:
        """Serve on `port` (0: any free one)."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            app = web.Application(client_max_size=16 * 1024 * 1024)
            app.router.add_get("/v1/models", self._models)
            app.router.add_post("/v1/chat/completions", self._chat)
            app.router.add_post("/v1/embeddings", self._embeddings)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", port, backlog=1024, reuse_address=True)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name="fake-openai")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            assert self._runner is not None
            await self._runner.cleanup()
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        if self._thread:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def messages_received(self) -> list[str]:
        with self._lock:
            return [r["messages"][-1]["content"] for r in self.requests]


def _schema(fmt: dict | None) -> dict | None:
    if not fmt:
        return None
    return (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")


def _fill(schema: dict, msg: str, seed: object) -> dict:
    """A deterministic object of the schema's shape: strings name the field and a hash of the request."""
    import hashlib

    tag = hashlib.sha256(f"{msg}|{seed}".encode()).hexdigest()[:8]
    out: dict[str, object] = {}
    for name, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type")
        text = f"{name} {tag}"
        if name == "question":  # a question, about the sentence the prompt quotes on a line of its own (if any)
            quoted = re.search(r'^"([^"\n]{10,})"$', msg, re.MULTILINE)
            text += (" about " + " ".join(quoted.group(1).split()[:6]) if quoted else "") + "?"
        out[name] = True if kind == "boolean" else 1 if kind in ("integer", "number") else text
    return out


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "fake", "code": status}}, status=status, headers=headers
    )


def main() -> None:
    """`python -m tether.testing.fake_openai [--port N] [--latency S] [--record FILE] [--crash-after N]`: serve
    until killed, printing {"port": N} once ready. `--record` appends each chat request body to FILE as a JSON
    line (a killed server's requests stay countable); `--crash-after N` answers N chat completions and then dies
    of SIGSEGV on the next, as a llama.cpp built for a forbidden instruction set does."""
    import argparse
    import signal

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--record", default=None)
    ap.add_argument("--crash-after", type=int, default=None)
    a = ap.parse_args()
    answered = 0

    def respond(body: dict[str, Any]) -> str | None:
        nonlocal answered
        if a.crash_after is not None and answered >= a.crash_after:
            # to this thread, not the process: a process-wide kill may be taken by the main thread while this one
            # still sends the reply (it did, about one start in three on 2 cores)
            signal.pthread_kill(threading.get_ident(), signal.SIGSEGV)
            time.sleep(60)  # never answer
        answered += 1
        if a.record:
            with open(a.record, "a", encoding="utf-8") as f:
                f.write(json.dumps(body, sort_keys=True) + "\n")
        return None

    srv = FakeOpenAI(latency_s=a.latency, responder=respond)
    srv.start_on(a.port)
    print(json.dumps({"port": srv.port}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
