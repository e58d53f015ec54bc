"""The one async teacher client: cache → rate limits → concurrency → HTTP, with retries and verdicts.

Every generation, judge and evaluation call goes through `TeacherClient.chat`. It never raises for a single bad
call (a 500, a timeout, unparsable JSON): it returns a `Completion` whose `error` names the reason, so the caller
records a verdict instead of losing the row. It raises `TeacherError` only for problems that no retry can fix
(unreachable endpoint at start, wrong API key, unknown model, a teacher that died or keeps refusing connections
mid-run): those stop the run with one line, and the cache lets the next run resume.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from pydantic import BaseModel

from tether.config import TeacherConfig
from tether.errors import TetherError
from tether.llm import structured
from tether.llm.accounting import UsageStats
from tether.llm.cache import RequestCache
from tether.llm.limits import AdaptiveLimit, RateLimits
from tether.llm.transport import OpenAITransport, TransportError
from tether.llm.types import ChatRequest, Completion, TeacherIdentity, logprobs_of

_CACHED_FIELDS = {"text", "finish_reason", "prompt_tokens", "completion_tokens", "tokens", "alternatives"}


class TeacherError(TetherError):
    """The teacher cannot serve this run at all (unreachable, unauthorised, unknown model)."""


class TeacherClient:
    def __init__(
        self,
        cfg: TeacherConfig,
        base_url: str,
        identity: TeacherIdentity,
        cache: RequestCache | None,
        api_key: str | None = None,
    ):
        self.cfg = cfg
        self.base_url = base_url
        self.identity = identity
        self.cache = cache
        self.stats = UsageStats(price_prompt=cfg.price_per_mtok_prompt, price_completion=cfg.price_per_mtok_completion)
        self.limit = AdaptiveLimit(cfg.concurrency.max_in_flight, cfg.concurrency.adaptive)
        self.rates = RateLimits(cfg.concurrency.requests_per_minute, cfg.concurrency.tokens_per_minute)
        self.mode = "json_schema" if cfg.structured == "auto" else cfg.structured
        self._mode_fact = (
            f"structured_mode:{identity.model}@{identity.digest}@{base_url if not identity.digest else ''}"
        )
        if cache is not None and cfg.structured == "auto":
            self.mode = cache.get_fact(self._mode_fact) or self.mode  # what an earlier run learned
        key = api_key if api_key is not None else os.environ.get(cfg.api_key_env, "")
        # retries are ours (the concurrency controller must see every 429 and timeout)
        self._http = OpenAITransport(
            base_url, key, cfg.timeout_s, max_connections=max(cfg.concurrency.max_in_flight, 8)
        )
        self.budget: int | None = None  # hard cap on teacher calls sent (cache hits are free)
        # a cap shared with other processes (the Ray engine's actors): awaited before each call, False = spent
        self.budget_gate: Callable[[], Awaitable[bool]] | None = None
        self.spent = 0
        # the embedded server's death line (None while it runs): checked on every failed connection
        self.liveness: Callable[[], str | None] | None = None
        self._refused_in_a_row = 0
        self._stopped: TeacherError | None = None  # the stop, once the failures in a row reached the limit
        self._active = 0
        self._busy_since = 0.0
        self._t0 = time.monotonic()

    async def close(self) -> None:
        await self._http.close()

    async def __aenter__(self) -> TeacherClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- checks ---------------------------------------------------------------------------------------------

    async def check(self) -> list[str]:
        """Model ids served by the endpoint; a one-line TeacherError when it cannot be reached or used."""
        try:
            models = await self._http.request("GET", "/models", timeout_s=min(self.cfg.timeout_s, 15.0))
        except TransportError as e:
            if e.status in (401, 403):
                raise TeacherError(
                    f"the teacher at {self.base_url} rejected the API key: set ${self.cfg.api_key_env}"
                ) from None
            if e.status is not None:
                raise TeacherError(f"teacher at {self.base_url} answered /models with HTTP {e.status}") from None
            raise TeacherError(
                f"cannot reach the teacher at {self.base_url}: {e.message} "
                f"(is the server running? check teacher.base_url)"
            ) from None
        ids = (
            [m.get("id") for m in (models.get("data") or []) if isinstance(m, dict)] if isinstance(models, dict) else []
        )
        if ids and self.identity.model not in ids:
            raise TeacherError(
                f"teacher.model '{self.identity.model}' is not served at {self.base_url} "
                f"(available: {', '.join(ids[:8])})"
            )
        return ids

    # -- one logical request --------------------------------------------------------------------------------

    def request(
        self,
        messages: list[dict[str, str]],
        *,
        schema: type[BaseModel] | None = None,
        sample: int = 0,
        tag: str = "",
        **overrides: Any,
    ) -> ChatRequest:
        cfg = self.cfg
        json_schema = structured.schema_of(schema) if schema else None
        return ChatRequest(
            messages=structured.with_instruction(messages, json_schema) if json_schema else messages,
            temperature=overrides.get("temperature", cfg.temperature),
            top_p=overrides.get("top_p", cfg.top_p),
            max_tokens=overrides.get("max_tokens", cfg.max_tokens),
            seed=overrides.get("seed", cfg.seed),
            schema_name=schema.__name__ if schema else None,
            json_schema=json_schema,
            sample=sample,
            tag=tag,
            top_logprobs=overrides.get("top_logprobs", 0),
        )

    async def chat(
        self,
        messages: list[dict[str, str]],
        *,
        schema: type[BaseModel] | None = None,
        sample: int = 0,
        tag: str = "",
        **overrides: Any,
    ) -> Completion:
        """One answer; with `schema`, parsed JSON in `.parsed` or a parse verdict in `.error` after retries."""
        base = self.request(messages, schema=schema, sample=sample, tag=tag, **overrides)
        return await self.complete(base, schema)

    async def complete(
        self, base: ChatRequest, schema: type[BaseModel] | None = None, *, cut_ok: bool = False
    ) -> Completion:
        """`cut_ok` (no schema): the caller reads only the reply's first tokens and capped max_tokens on purpose,
        so a reply cut at max_tokens is not a `truncated` error."""
        self.stats.requests += 1
        attempts = 1 + (self.cfg.parse_retries if schema else 0)
        comp = Completion()
        for attempt in range(attempts):
            req = base.model_copy(update={"attempt": attempt}) if attempt else base
            comp = await self._call(req)
            comp.attempts = attempt + 1
            if comp.error:  # transport failure after retries: not cached, not worth a parse retry
                break
            if schema is None:
                if comp.finish_reason == "length" and not cut_ok:
                    comp.error, comp.error_detail = "truncated", f"hit max_tokens={req.max_tokens}"
                break
            comp.parsed, comp.error, comp.error_detail = structured.parse(comp.text, comp.finish_reason, schema)
            if comp.parsed is not None:
                break
        if comp.error:
            self.stats.errors[comp.error] += 1
        if comp.finish_reason:
            self.stats.finish_reasons[comp.finish_reason] += 1
        return comp

    # -- one HTTP call (cached) -----------------------------------------------------------------------------

    async def _call(self, req: ChatRequest) -> Completion:
        while True:
            mode = self.mode
            key = req.key(self.identity, mode) if self.cache is not None else ""
            if self.cache is not None:
                hit = self.cache.get(key)
                if hit is not None:
                    self.stats.cache_hits += 1
                    return Completion(**hit, cached=True)
            comp = await self._send(req, key, mode)
            if comp is not None:
                return comp
            # the server rejected this structured mode and self.mode stepped down: look up / send again

    async def _send(self, req: ChatRequest, key: str, sent_mode: str) -> Completion | None:
        """One request with retries; None when the structured mode was rejected (caller re-keys and resends)."""
        if self.budget is not None:
            if self.spent >= self.budget:
                return Completion(error="budget_exhausted", error_detail=f"the budget of {self.budget} calls is spent")
            self.spent += 1  # counted once per request, retries included: what the plan promised
        if self.budget_gate is not None and not await self.budget_gate():
            return Completion(error="budget_exhausted", error_detail="the run's shared call budget is spent")
        est = sum(len(m["content"]) for m in req.messages) // 4 + req.max_tokens
        await self.rates.wait(est)
        last_kind, last_detail = "error", ""
        retry = 0
        while True:
            started = await self.limit.acquire()
            self._enter()
            t0 = time.monotonic()
            overloaded, latency, retry_after, stepped_down = False, None, None, False
            try:
                resp = await self._http.request("POST", "/chat/completions", self._payload(req, sent_mode))
                latency = time.monotonic() - t0
            except TransportError as e:
                last_kind, last_detail, retry_after = e.kind, e.message, e.retry_after
                if e.kind == "connection_error":
                    await self._connection_failed(e.message)
                if e.kind == "timeout":
                    overloaded, last_detail = True, f"no answer within {self.cfg.timeout_s:g}s"
                elif e.status is not None:
                    if e.status in (401, 403):
                        raise TeacherError(
                            f"teacher refused access (HTTP {e.status}): set ${self.cfg.api_key_env}"
                        ) from None
                    if e.status == 404:
                        raise TeacherError(
                            f"teacher endpoint {self.base_url} has no chat/completions for model "
                            f"'{self.identity.model}' (HTTP 404)"
                        ) from None
                    if e.status == 429:
                        overloaded, last_kind = True, "rate_limited"
                    # llama.cpp answers an unsupported response_format with 500, vLLM with 400/422
                    stepped_down = self._step_down_format(req, e, sent_mode)
                    if not stepped_down and e.status in (400, 422):
                        raise TeacherError(f"teacher rejected the request (HTTP {e.status}): {e.message}") from None
                    overloaded = overloaded or e.status in (502, 503, 504)
            finally:
                self.stats.calls += 1
                self._leave()
                await self.limit.release(started, latency, overloaded)
            if latency is not None:
                self._refused_in_a_row = 0
                self.stats.answers += 1
                comp = _completion(resp, latency)
                if self.cache is not None:
                    await self.cache.put(key, req.model_dump(), comp.model_dump(include=_CACHED_FIELDS))
                self.stats.prompt_tokens += comp.prompt_tokens
                self.stats.completion_tokens += comp.completion_tokens
                return comp
            if stepped_down:
                return None
            if retry >= self.cfg.retries:
                return Completion(error=last_kind, error_detail=last_detail)
            self.stats.retries += 1
            await asyncio.sleep(self._backoff(retry, retry_after))
            retry += 1

    async def _connection_failed(self, message: str) -> None:
        """A call could not reach the teacher. Raise at once when the embedded server is dead; against any
        endpoint, raise after `teacher.max_connection_failures` such failures in a row (across all calls), so a
        dead teacher stops the stage instead of filling it with failed rows."""
        if self.liveness is not None:
            dead = self.liveness()
            if dead is None:  # the socket closes a moment before the process is reaped
                await asyncio.sleep(0.2)
                dead = self.liveness()
            if dead is not None:
                raise TeacherError(dead)
        if self._stopped is not None:  # a call still in flight when the limit was reached: the same one stop
            raise self._stopped
        self._refused_in_a_row += 1
        limit = self.cfg.max_connection_failures
        if self._refused_in_a_row >= limit:
            self._stopped = TeacherError(
                f"the teacher at {self.base_url} failed {self._refused_in_a_row} connections in a row "
                f"(last: {message}); stopped. Start it again and re-run: finished calls come from the cache "
                f"(teacher.max_connection_failures: {limit})"
            )
            raise self._stopped

    def _payload(self, req: ChatRequest, mode: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.identity.model,
            "messages": req.messages,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "max_tokens": req.max_tokens,
        }
        seed = req.effective_seed()
        if seed is not None:
            payload["seed"] = seed
        if req.top_logprobs:
            payload["logprobs"], payload["top_logprobs"] = True, req.top_logprobs
        if req.json_schema is not None:
            fmt = structured.response_format(mode, req.schema_name or "output", req.json_schema)
            if fmt is not None:
                payload["response_format"] = fmt
        return payload

    def _step_down_format(self, req: ChatRequest, err: TransportError, sent_mode: str) -> bool:
        """In auto mode, an error that names response_format means: try the next simpler structured mode.

        Concurrent requests rejected for the same mode step down once, not once each."""
        if req.json_schema is None or self.cfg.structured != "auto":
            return False
        if "response_format" not in err.message and "json_schema" not in err.message:
            return False
        if sent_mode != self.mode:
            return True  # another request already stepped down: resend with the current mode
        if self.mode == "prompt":
            return False
        self.mode = structured.MODES[structured.MODES.index(sent_mode) + 1]
        if self.cache is not None:
            self.cache.set_fact(self._mode_fact, self.mode)
        return True

    def _backoff(self, retry: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.cfg.backoff_max_s)
        base = min(self.cfg.backoff_max_s, self.cfg.backoff_s * 2**retry)
        return base * (0.5 + random.random() / 2)

    # -- busy fraction: wall time with at least one request in flight ---------------------------------------

    def _enter(self) -> None:
        if self._active == 0:
            self._busy_since = time.monotonic()
        self._active += 1

    def _leave(self) -> None:
        self._active -= 1
        if self._active == 0:
            self.stats.busy_s += time.monotonic() - self._busy_since

    def finish_stats(self) -> UsageStats:
        self.stats.wall_s = time.monotonic() - self._t0
        return self.stats

    # -- many requests --------------------------------------------------------------------------------------

    async def map(
        self, jobs: Iterable[Callable[[], Awaitable[Any]]], on_done: Callable[[Any], None] | None = None
    ) -> list[Any]:
        """Run coroutine factories with at most max_in_flight pending, results in input order.

        Workers pull from one iterator, so a million jobs never become a million pending tasks; the adaptive
        limit inside `_call` decides how many of them talk to the server at once. The first exception (a
        `TeacherError`: the teacher died) cancels the other workers and is raised as it is.
        """
        items = list(enumerate(jobs))
        results: list[Any] = [None] * len(items)
        it = iter(items)

        async def worker() -> None:
            for i, job in it:
                results[i] = await job()
                if on_done:
                    on_done(results[i])

        n = min(len(items), self.cfg.concurrency.max_in_flight) or 1
        tasks = [asyncio.ensure_future(worker()) for _ in range(n)]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:  # also when our caller is cancelled: no worker outlives the call
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for t in tasks:
            if t in done and not t.cancelled() and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
        return results


def _completion(resp: Any, latency: float) -> Completion:
    """From the raw JSON of a chat completion (a dict; tolerant of servers that omit usage or content)."""
    resp = resp if isinstance(resp, dict) else {}
    choice = (resp.get("choices") or [{}])[0] or {}
    usage = resp.get("usage") or {}
    tokens, alternatives = logprobs_of(choice.get("logprobs"))
    return Completion(
        text=(choice.get("message") or {}).get("content") or "",
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=usage.get("prompt_tokens") or 0,
        completion_tokens=usage.get("completion_tokens") or 0,
        latency_s=latency,
        tokens=tokens,
        alternatives=alternatives,
    )
