"""A thin aiohttp transport speaking the OpenAI wire format (POST /chat/completions, GET /models).

Why not the openai SDK's client: on this machine its per-call request transform, httpx request building and
response models cost about 1 ms of CPU per call, which at 64 in flight made tether 1.74x slower than a raw
aiohttp loop (bench/teacher_throughput.py); this transport brings that to the raw floor. It sends exactly what
the SDK sends for chat completions, so every OpenAI-compatible server (vLLM, Ollama, llama.cpp, hosted APIs)
works unchanged.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


class TransportError(Exception):
    """A failed HTTP exchange, classified for the retry policy."""

    def __init__(self, kind: str, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind  # timeout / connection_error / http_<status>
        self.message = message
        self.status = status
        self.retry_after = retry_after


class OpenAITransport:
    def __init__(self, base_url: str, api_key: str, timeout_s: float, max_connections: int):
        self.base_url = base_url.rstrip("/")
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _sess(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            conn = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=self.max_connections)
            self._session = aiohttp.ClientSession(connector=conn, headers=self.headers, timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, timeout_s: float | None = None
    ) -> Any:
        """JSON in, JSON out; raises TransportError with a kind the client's retry policy understands."""
        # only override when asked: aiohttp reads timeout=None as "no timeout at all"
        extra = {"timeout": aiohttp.ClientTimeout(total=timeout_s)} if timeout_s else {}
        data = json.dumps(body) if body is not None else None
        try:
            async with self._sess().request(method, self.base_url + path, data=data, **extra) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    raise TransportError(
                        f"http_{resp.status}",
                        _error_message(text, resp.reason),
                        resp.status,
                        _retry_after(resp.headers.get("Retry-After")),
                    )
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    raise TransportError("bad_response", f"server returned non-JSON: {text[:120]!r}") from None
        except TimeoutError:
            raise TransportError("timeout", "no answer in time") from None
        except aiohttp.ClientConnectorError as e:
            refused = isinstance(e.os_error, ConnectionRefusedError) or getattr(e.os_error, "errno", None) == 111
            raise TransportError("connection_error", "connection refused" if refused else str(e)) from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as e:
            raise TransportError("connection_error", " ".join(str(e).split())[:160] or type(e).__name__) from None


def _error_message(text: str, reason: str | None) -> str:
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return " ".join(text.split())[:200] or (reason or "")
    err = body.get("error") if isinstance(body, dict) else None
    msg = err.get("message") if isinstance(err, dict) else (err or body.get("detail") or body.get("message"))
    return " ".join(str(msg or text).split())[:300]


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
