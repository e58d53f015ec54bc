"""tether's embedded server: the requests it takes, and, with a real model, the same replies and logprobs as
llama-cpp-python computing them itself (`logits_all=True`, what llama_cpp.server runs)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tether.config import TeacherConfig
from tether.llm.embedded import EmbeddedServer
from tether.llm.llama_serve import DEFAULTS, BadRequest, json_object, sampling_args

SMALLEST = TeacherConfig(embedded={"model": "smollm2-135m"}).embedded
MESSAGES = [{"role": "user", "content": "Rate the sentence 'The sky is green.' for truth from 1 to 5."}]
SCHEMA = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}


def test_a_request_gets_llama_cpp_servers_defaults() -> None:
    args = sampling_args({"messages": MESSAGES, "temperature": 0.0, "max_tokens": 7})
    assert args["temperature"] == 0.0 and args["max_tokens"] == 7
    # what the request leaves out is what llama_cpp.server would have used: the same reply from either server
    assert (args["top_k"], args["top_p"], args["min_p"], args["repeat_penalty"]) == (40, 0.95, 0.05, 1.1)
    assert args["seed"] is None and set(args) == {*DEFAULTS, "messages"}


def test_both_structured_forms_become_one_grammar_request() -> None:
    openai = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA, "strict": False}}
    assert json_object(openai) == {"type": "json_object", "schema": SCHEMA}
    assert json_object({"type": "json_object", "schema": SCHEMA}) == {"type": "json_object", "schema": SCHEMA}
    assert json_object({"type": "json_object"}) == {"type": "json_object"}
    with pytest.raises(BadRequest, match="response_format"):
        json_object({"type": "regex", "pattern": "a+"})
    with pytest.raises(BadRequest, match="messages"):
        sampling_args({"messages": []})
    with pytest.raises(BadRequest, match="stream"):
        sampling_args({"messages": MESSAGES, "stream": True})


def _post(base_url: str, body: dict) -> dict:
    req = urllib.request.Request(
        f"{base_url}/chat/completions", data=json.dumps({"model": "m", **body}).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def test_replies_and_logprobs_match_llama_cpp_pythons_own() -> None:
    """Greedy with top_logprobs under a JSON grammar, and sampled with a seed: the same text as llama-cpp-python
    gives in-process with logits_all=True, and the same alternatives for every generated token."""
    from llama_cpp import Llama

    fmt = {"type": "json_object", "schema": SCHEMA}
    judged = {"messages": MESSAGES, "temperature": 0.0, "max_tokens": 7, "logprobs": True, "top_logprobs": 5}
    sampled = {"messages": MESSAGES, "temperature": 0.7, "seed": 5, "max_tokens": 24}
    with EmbeddedServer(SMALLEST, "m") as srv:
        got = _post(srv.base_url, {**judged, "response_format": fmt})
        got_sampled = _post(srv.base_url, sampled)
        with pytest.raises(urllib.error.HTTPError) as refused:
            _post(srv.base_url, {"messages": MESSAGES, "response_format": {"type": "regex"}})
        assert refused.value.code == 400 and b"response_format" in refused.value.read()
        llm = Llama(model_path=str(srv.model_path), n_ctx=SMALLEST.n_ctx, logits_all=True, verbose=False)
    want = llm.create_chat_completion(**{**sampling_args({**judged, "response_format": fmt}), "logprobs": True,
                                         "top_logprobs": 5})  # fmt: skip
    want_sampled = llm.create_chat_completion(**sampling_args(sampled))

    assert got["choices"][0]["message"]["content"] == want["choices"][0]["message"]["content"]
    assert got_sampled["choices"][0]["message"]["content"] == want_sampled["choices"][0]["message"]["content"]
    ours, theirs = got["choices"][0]["logprobs"]["content"], want["choices"][0]["logprobs"]["content"]
    assert len(ours) == len(theirs) == got["usage"]["completion_tokens"]
    for o, t in zip(ours, theirs, strict=True):
        assert o["token"] == t["token"]
        assert o["logprob"] == pytest.approx(float(t["logprob"]), abs=1e-3)
        # llama-cpp-python adds the chosen token to its alternatives; ours are the top k as OpenAI gives them
        top = {a["token"]: float(a["logprob"]) for a in t["top_logprobs"]}
        for a in o["top_logprobs"]:
            if a["token"] in top:
                assert a["logprob"] == pytest.approx(top[a["token"]], abs=1e-3)
        best = max(top, key=top.get)  # type: ignore[arg-type]
        assert o["top_logprobs"][0]["logprob"] == pytest.approx(top[best], abs=1e-3)
