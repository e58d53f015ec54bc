"""Concurrency and rate limits for teacher calls.

`AdaptiveLimit` is AIMD over the number of requests in flight: add about one slot per window of successful
calls while latency stays near its best, halve on overload signals (429, 503, timeouts). Self-hosted servers
(vLLM, llama.cpp) saturate at an unknown concurrency; AIMD finds it instead of a hard-coded number.
"""

from __future__ import annotations

import asyncio
import time

from aiolimiter import AsyncLimiter


class AdaptiveLimit:
    def __init__(self, max_in_flight: int, adaptive: bool, start: int | None = None, min_in_flight: int = 1):
        self.max = max_in_flight
        self.min = min(min_in_flight, max_in_flight)
        self.adaptive = adaptive
        self.limit = float(max_in_flight if not adaptive else min(max_in_flight, start or max(4, self.min)))
        self.in_flight = 0
        self.peak_in_flight = 0
        self.best_latency: float | None = None
        self.last_cut = 0.0
        self.cuts = 0
        self._cond = asyncio.Condition()

    async def acquire(self) -> float:
        """Wait for a slot; returns the start time (to tell whether an overload predates the last cut)."""
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return time.monotonic()

    async def release(self, started: float, latency: float | None, overloaded: bool) -> None:
        async with self._cond:
            self.in_flight -= 1
            if self.adaptive:
                if overloaded:
                    # one cut per congestion event: requests that started before the last cut carry old news
                    if started >= self.last_cut:
                        self.limit = max(float(self.min), self.limit / 2)
                        self.last_cut = time.monotonic()
                        self.cuts += 1
                elif latency is not None:
                    if self.best_latency is None or latency < self.best_latency:
                        self.best_latency = latency
                    if latency <= 2.0 * self.best_latency:
                        self.limit = min(float(self.max), self.limit + 1.0 / max(1.0, self.limit))
            self._cond.notify_all()


class RateLimits:
    """Optional requests/min and tokens/min budgets (leaky buckets), as hosted APIs enforce them."""

    def __init__(self, rpm: int | None, tpm: int | None):
        self.rpm = AsyncLimiter(rpm, 60) if rpm else None
        self.tpm = AsyncLimiter(tpm, 60) if tpm else None
        self.tpm_max = tpm or 0

    async def wait(self, est_tokens: int) -> None:
        if self.rpm:
            await self.rpm.acquire(1)
        if self.tpm:
            await self.tpm.acquire(min(est_tokens, self.tpm_max))
