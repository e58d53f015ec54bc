"""tether's OpenAI-compatible server for the embedded teacher: one GGUF under llama-cpp-python, on 127.0.0.1.

    python -m tether.llm.llama_serve --model PATH --alias NAME --port N [--n_ctx N] [--n_threads N]

Why not `python -m llama_cpp.server`: that server creates its model with `logits_all=True`, because llama-cpp-python
reads a completion's logprobs from the logits of every position. Every call then computes and copies the logits of
every prompt token (152k floats each for Qwen2.5), and a call that asks `top_logprobs` log-softmaxes that whole
buffer and sorts the vocabulary in Python for each generated token. The judge's expected score asks logprobs on
every call: on 2 cores a 700-token judge call took 15.7-20.2 s there and 9.2-12.1 s here, with the same
alternatives to two decimals (the same three prompts, Qwen2.5-Coder-1.5B). Here the model keeps only the last
position's logits, and a logits processor reads each generated position's distribution while it is sampled: a
log-softmax and a partial sort of one row.

What it serves is what tether's client sends (`GET /v1/models`, `POST /v1/chat/completions` without streaming),
with llama_cpp.server's defaults for what a request leaves out (temperature 0.8, top_k 40, top_p 0.95, min_p 0.05,
repeat_penalty 1.1), so a request gets the same reply from either server. `response_format` may be OpenAI's
`json_schema` or llama.cpp's `json_object` with a schema; both become the same grammar. One request runs at a
time (one model, one KV cache): llama.cpp reuses the prompt prefix the previous request left in it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from aiohttp import web

log = logging.getLogger("tether.llama_serve")

# llama_cpp.server's request defaults (CreateChatCompletionRequest), which differ from Llama's keyword defaults
DEFAULTS: dict[str, Any] = {
    "temperature": 0.8,
    "top_p": 0.95,
    "top_k": 40,
    "min_p": 0.05,
    "repeat_penalty": 1.1,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "max_tokens": None,
    "stop": None,
    "seed": None,
}


class BadRequest(ValueError):
    """A request this server cannot serve: answered 400 with the message (the client reads "response_format")."""


def sampling_args(body: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of `Llama.create_chat_completion` for an OpenAI chat request."""
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise BadRequest("messages: a non-empty list is required")
    if body.get("stream"):
        raise BadRequest("stream: not supported by tether's embedded server")
    if body.get("n", 1) != 1:
        raise BadRequest("n: only 1 is supported")
    args = {k: body[k] if body.get(k) is not None else v for k, v in DEFAULTS.items()}
    args["messages"] = body["messages"]
    fmt = body.get("response_format")
    if fmt is not None:
        args["response_format"] = json_object(fmt)
    return args


def json_object(fmt: Any) -> dict[str, Any]:
    """llama-cpp-python's form of a response format: {"type": "json_object", "schema": ...} (or no schema)."""
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise BadRequest("response_format: json_schema.schema must be an object")
        return {"type": "json_object", "schema": schema}
    if kind == "json_object":
        return {"type": "json_object", **({"schema": fmt["schema"]} if isinstance(fmt.get("schema"), dict) else {})}
    if kind == "text":
        return {"type": "text"}
    raise BadRequest(f"response_format: unsupported type {kind!r} (json_schema, json_object or text)")


class StepRecorder:
    """A logits processor that keeps, for each generated position, the top-k logprobs of the model's raw
    distribution (before penalties and grammar, as llama-cpp-python's own logprobs are), and the token sampled
    there with its logprob, read when the next position shows it in the context."""

    def __init__(self, k: int):
        self.k = k
        self.steps: list[dict[str, Any]] = []  # {"top": ids, "lps": their logprobs, "token": id, "logprob": float}
        self._pos = -1  # the context length at the last position
        self._last: np.ndarray | None = None  # the last position's full logprobs

    def __call__(self, input_ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self._last is not None and len(input_ids) > self._pos:
            self.chosen(int(input_ids[self._pos]))
        x = logits.astype(np.float64)
        x -= x.max()
        lp = x - np.log(np.exp(x).sum())
        k = min(self.k, lp.size - 1)
        top = np.argpartition(-lp, k)[:k]
        top = top[np.argsort(-lp[top])]
        self.steps.append({"top": top, "lps": lp[top], "token": None, "logprob": None})
        self._pos, self._last = len(input_ids), lp
        return logits

    def chosen(self, token: int) -> None:
        """The token sampled at the last position."""
        assert self._last is not None
        self.steps[-1].update(token=token, logprob=float(self._last[token]))
        self._last = None


def logprobs_content(llm: Any, rec: StepRecorder, text: str, n_tokens: int) -> list[dict[str, Any]]:
    """OpenAI's `logprobs.content` for the `n_tokens` generated tokens: each token, its logprob and its
    alternatives. The last token sampled was never evaluated (generation stopped after it), so no later position
    named it: it is the rest of the text."""
    steps = rec.steps[:n_tokens]
    if steps and steps[-1]["token"] is None:
        done = "".join(_piece(llm, s["token"]) for s in steps[:-1])
        rest = text[len(done) :] if text.startswith(done) else ""
        ids = llm.tokenize(rest.encode(), add_bos=False, special=True) if rest else []
        if len(ids) == 1:
            rec.chosen(ids[0])
    out = []
    for s in steps:
        pairs = zip(s["top"], s["lps"], strict=True)
        alts = [{"token": _piece(llm, int(t)), "logprob": float(v), "bytes": None} for t, v in pairs]
        if s["token"] is None:  # the rest of the text was no single token: its best guess is the top alternative
            s.update(token=int(s["top"][0]), logprob=float(s["lps"][0]))
        out.append({"token": _piece(llm, s["token"]), "logprob": s["logprob"], "bytes": None, "top_logprobs": alts})
    return out


def _piece(llm: Any, token: int) -> str:
    return llm.detokenize([token]).decode("utf-8", errors="ignore")


class Server:
    def __init__(self, llm: Any, alias: str):
        self.llm = llm
        self.alias = alias
        self.pool = ThreadPoolExecutor(max_workers=1)  # one model, one KV cache: requests run one at a time

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        import llama_cpp

        args = sampling_args(body)
        # OpenAI: `logprobs` asks each token's logprob, `top_logprobs` (0-20) how many alternatives beside it
        k = int(body.get("top_logprobs") or 0)
        rec = StepRecorder(max(k, 1)) if body.get("logprobs") else None
        if rec is not None:
            args["logits_processor"] = llama_cpp.LogitsProcessorList([rec])
        reply = self.llm.create_chat_completion(**args)
        choice = reply["choices"][0]
        if rec is not None:
            text = choice["message"].get("content") or ""
            content = logprobs_content(self.llm, rec, text, reply["usage"]["completion_tokens"])
            for item in content:
                item["top_logprobs"] = item["top_logprobs"][:k]
            choice["logprobs"] = {"content": content, "refusal": None}
        reply["model"] = self.alias
        return reply

    async def chat(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": {"message": "the body is not JSON"}}, status=400)
        try:
            reply = await asyncio.get_running_loop().run_in_executor(self.pool, self.complete, body)
        except BadRequest as e:
            return web.json_response({"error": {"message": str(e)}}, status=400)
        except Exception as e:  # the client retries a 500; the log keeps the trace
            log.exception("chat completion failed")
            return web.json_response({"error": {"message": f"{type(e).__name__}: {e}"}}, status=500)
        return web.json_response(reply)

    async def models(self, _: web.Request) -> web.Response:
        model = {"id": self.alias, "object": "model", "owned_by": "me", "permissions": []}
        return web.json_response({"object": "list", "data": [model]})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/chat/completions", self.chat)
        return app


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--alias", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--n_ctx", type=int, default=4096)
    ap.add_argument("--n_threads", type=int, default=None)
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from llama_cpp import Llama

    t = time.monotonic()
    llm = Llama(model_path=a.model, n_ctx=a.n_ctx, n_threads=a.n_threads, n_threads_batch=a.n_threads, logits_all=False)
    log.info("loaded %s in %.1fs; serving %s on %s:%d", a.model, time.monotonic() - t, a.alias, a.host, a.port)
    web.run_app(Server(llm, a.alias).app(), host=a.host, port=a.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
