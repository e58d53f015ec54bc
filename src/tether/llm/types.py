"""Request and response types of the teacher layer.

A `ChatRequest` is canonical: the same logical request always serialises to the same JSON, so its sha256 is the
cache key. Everything that changes the output is in it (model identity, messages, sampling parameters, output
schema, sample and attempt index); nothing that does not (timeouts, API keys) is.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TeacherIdentity(BaseModel):
    """What produced a row: recorded in every synthetic record as `Record.teacher`."""

    model: str
    digest: str | None = None
    version: str | None = None
    quant: str | None = None
    endpoint: str = "embedded"  # informational; not part of the cache key (the same model behind a new URL)


class ChatRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    messages: list[dict[str, str]]
    temperature: float
    top_p: float
    max_tokens: int
    seed: int | None = None
    schema_name: str | None = None
    json_schema: dict[str, Any] | None = None
    sample: int = 0  # the k-th of several samples for the same prompt (answer augmentation, best-of-n)
    attempt: int = 0  # parse-retry attempt; a retried request is a different (cacheable) call
    tag: str = ""  # caller's label (e.g. strategy/template hash), part of the key
    top_logprobs: int = 0  # > 0: ask for that many alternatives per generated token (OpenAI `top_logprobs`)

    def key(self, identity: TeacherIdentity, mode: str | None = None) -> str:
        """sha256 of the canonical request; `mode` is the structured-output mode it is sent with (it changes the
        answer), None for plain requests."""
        # a request that asks no logprobs keys as it did before the field existed (caches stay valid)
        fields = self.model_dump(exclude=None if self.top_logprobs else {"top_logprobs"})
        payload = {"model": identity.model, "digest": identity.digest, **fields}
        if self.json_schema is not None:
            payload["structured_mode"] = mode
        canon = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    def effective_seed(self) -> int | None:
        """Distinct samples and retries must not repeat the same sampling seed."""
        if self.seed is None:
            return None
        return self.seed + 1000 * self.sample + self.attempt


# outcomes of a call that never got an answer from the model (as opposed to an answer that did not parse)
_CALL_FAILURES = {"timeout", "connection_error", "rate_limited", "bad_response", "budget_exhausted", "error"}


def call_failed(error: str | None) -> bool:
    """True when `error` (a Completion's, or a row's generate verdict reason) says the teacher gave no answer."""
    return error is not None and (error in _CALL_FAILURES or error.startswith("http_"))


class Completion(BaseModel):
    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    latency_s: float = 0.0
    attempts: int = 1
    parsed: dict[str, Any] | None = None  # structured output, when a schema was asked for and it parsed
    # with `top_logprobs` asked and returned: each generated token and its alternatives' logprobs ({token: logprob});
    # None when the server sends none (not every OpenAI-compatible server does)
    tokens: list[str] | None = None
    alternatives: list[dict[str, float]] | None = None
    error: str | None = Field(None, description="verdict reason when the call did not give a usable answer")
    error_detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def answered(self) -> bool:
        """The model answered (its answer may still have failed to parse)."""
        return not call_failed(self.error)


def logprobs_of(raw: Any) -> tuple[list[str] | None, list[dict[str, float]] | None]:
    """A chat completion's `logprobs.content` (OpenAI's shape: per token its text and `top_logprobs`) as the
    generated tokens and, per token, {alternative: logprob}; (None, None) when absent or of another shape."""
    content = raw.get("content") if isinstance(raw, dict) else None
    if not isinstance(content, list) or not content:
        return None, None
    tokens, alternatives = [], []
    for item in content:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            return None, None
        tokens.append(item["token"])
        alts: dict[str, float] = {}
        for alt in item.get("top_logprobs") or []:
            tok, lp = (alt.get("token"), alt.get("logprob")) if isinstance(alt, dict) else (None, None)
            if isinstance(tok, str) and isinstance(lp, int | float):
                alts[tok] = max(float(lp), alts.get(tok, float("-inf")))
        alternatives.append(alts)
    return tokens, alternatives
