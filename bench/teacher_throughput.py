"""Teacher-client throughput: tether's client overhead against raw HTTP floors, and the embedded teacher's duty.

1. A fake OpenAI-compatible server on 127.0.0.1 (`tether.testing.fake_openai.FakeOpenAI`) answers every chat
   request after a fixed latency (50 ms). Each contender sends N (1,000) distinct requests with K (64) in flight,
   after a short warm-up, in the same run:

   * raw aiohttp   one `aiohttp.ClientSession` and a semaphore: the floor;
   * openai httpx  `openai.AsyncOpenAI` with its default httpx transport and a semaphore;
   * tether        `TeacherClient.map` without a cache (pure client overhead);
   * tether+cache  the same with a cold `RequestCache` (includes the sqlite group commits).

   The whole comparison is repeated (`--repeats`) and the best time per contender is kept (small machines are
   noisy). Target: tether ≤ 1.30x the raw aiohttp time.

2. The embedded llama.cpp teacher (SmolLM2-135M) answers 50 short prompts through `TeacherClient.map`; the busy
   fraction (wall time with at least one request in flight / wall time of the map) must be ≥ 0.95: the client
   must keep the teacher fed.

Run: `python bench/teacher_throughput.py` (add `--skip-embedded` without the model package).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import openai

from tether.config import TeacherConfig
from tether.llm.cache import RequestCache
from tether.llm.client import TeacherClient
from tether.llm.teacher import open_teacher
from tether.llm.types import Completion, TeacherIdentity
from tether.testing.fake_openai import FakeOpenAI

MODEL = "fake-model"
WARMUP = 50
TARGET_RATIO = 1.30
TARGET_BUSY = 0.95

Send = Callable[[str], Awaitable[None]]


def _messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def _bounded(send: Send, texts: list[str], in_flight: int) -> None:
    """The baseline loop: one task per request, a semaphore for the in-flight cap."""
    sem = asyncio.Semaphore(in_flight)

    async def one(text: str) -> None:
        async with sem:
            await send(text)

    await asyncio.gather(*(one(t) for t in texts))


async def _timed(send: Send, tag: str, n: int, in_flight: int) -> float:
    await _bounded(send, [f"req {tag} warm {i}" for i in range(WARMUP)], in_flight)
    texts = [f"req {tag} {i}" for i in range(n)]
    t0 = time.perf_counter()
    await _bounded(send, texts, in_flight)
    return time.perf_counter() - t0


async def raw_aiohttp(url: str, tag: str, n: int, in_flight: int) -> float:
    connector = aiohttp.TCPConnector(limit=max(in_flight, 100))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(text: str) -> None:
            body = {"model": MODEL, "messages": _messages(text), "max_tokens": 16}
            async with session.post(f"{url}/chat/completions", json=body) as resp:
                resp.raise_for_status()
                await resp.json()

        return await _timed(send, tag, n, in_flight)


async def openai_default(url: str, tag: str, n: int, in_flight: int) -> float:
    async with openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0) as api:

        async def send(text: str) -> None:
            await api.chat.completions.create(model=MODEL, messages=_messages(text), max_tokens=16)

        return await _timed(send, tag, n, in_flight)


async def _tether(url: str, tag: str, n: int, in_flight: int, cache_dir: Path | None) -> float:
    cfg = TeacherConfig(
        base_url=url, model=MODEL, concurrency={"max_in_flight": in_flight, "adaptive": False}, retries=0, seed=None
    )
    cache = RequestCache(cache_dir / "cache.sqlite") if cache_dir is not None else None
    try:
        async with TeacherClient(cfg, url, TeacherIdentity(model=MODEL, endpoint=url), cache) as client:

            def job(text: str) -> Callable[[], Awaitable[Completion]]:
                return lambda: client.chat(_messages(text), max_tokens=16)

            results: list[Completion] = await client.map([job(f"req {tag} warm {i}") for i in range(WARMUP)])
            jobs = [job(f"req {tag} {i}") for i in range(n)]
            t0 = time.perf_counter()
            results += await client.map(jobs)
            elapsed = time.perf_counter() - t0
    finally:
        if cache is not None:
            cache.close()
    bad = [c for c in results if c.error is not None]
    if bad:
        raise SystemExit(f"{tag}: {len(bad)} completions with an error, first: {bad[0].error} {bad[0].error_detail}")
    return elapsed


async def tether_plain(url: str, tag: str, n: int, in_flight: int) -> float:
    return await _tether(url, tag, n, in_flight, None)


async def tether_cached(url: str, tag: str, n: int, in_flight: int) -> float:
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as d:
        return await _tether(url, tag, n, in_flight, Path(d))


CONTENDERS: dict[str, Callable[[str, str, int, int], Awaitable[float]]] = {
    "raw aiohttp": raw_aiohttp,
    "openai httpx (default)": openai_default,
    "tether": tether_plain,
    "tether + cold cache": tether_cached,
}


def http_comparison(args: argparse.Namespace) -> bool:
    best: dict[str, float] = {}
    with FakeOpenAI(model=MODEL, latency_s=args.latency) as srv:
        names = list(CONTENDERS)
        for rep in range(args.repeats):
            order = names[rep % len(names) :] + names[: rep % len(names)]  # rotate: no contender always goes first
            for name in order:
                before = len(srv.requests)
                tag = f"{name} r{rep}"
                elapsed = asyncio.run(CONTENDERS[name](srv.base_url, tag, args.n, args.in_flight))
                got = len(srv.requests) - before
                if got != WARMUP + args.n:
                    raise SystemExit(f"{name}: server received {got} requests, expected {WARMUP + args.n}")
                best[name] = min(best.get(name, elapsed), elapsed)
        print(f"fake server: peak {srv.peak_in_flight} in flight, {len(srv.requests)} requests in all")
    floor = best["raw aiohttp"]
    ms = args.latency * 1000
    print(f"\n{args.n} requests, {args.in_flight} in flight, {ms:g} ms latency, best of {args.repeats}")
    print(f"{'contender':<24}{'seconds':>9}{'req/s':>9}{'vs raw':>9}")
    for name, secs in best.items():
        print(f"{name:<24}{secs:>9.3f}{args.n / secs:>9.0f}{secs / floor:>8.2f}x")
    ratio = best["tether"] / floor
    ok = ratio <= TARGET_RATIO
    print(f"\ntether/raw = {ratio:.2f} (target <= {TARGET_RATIO:.2f}): {'PASS' if ok else 'FAIL'}")
    print(f"tether+cache/raw = {best['tether + cold cache'] / floor:.2f} (informational)")
    return ok


async def embedded_busy(calls: int) -> bool:
    cfg = TeacherConfig(max_tokens=48, concurrency={"max_in_flight": 4, "adaptive": False})
    async with open_teacher(cfg, cache_path=None) as client:

        def job(i: int) -> Callable[[], Awaitable[Completion]]:
            return lambda: client.chat(_messages(f"Write one short sentence about topic {i}."))

        jobs = [job(i) for i in range(calls)]
        busy0, tokens0, t0 = client.stats.busy_s, client.stats.completion_tokens, time.monotonic()
        await client.map(jobs)
        wall = time.monotonic() - t0
        busy = (client.stats.busy_s - busy0) / wall
        tokens = client.stats.completion_tokens - tokens0
        stats = client.finish_stats().as_dict()
    print(f"\nembedded teacher ({client.identity.model}): {calls} calls, 4 in flight, max_tokens 48")
    print(f"wall {wall:.2f} s, {tokens} completion tokens, {tokens / wall:.1f} tokens/s")
    print(f"finish reasons {stats['finish_reasons']}, errors {stats['errors']}")
    ok = busy >= TARGET_BUSY
    print(f"embedded busy fraction = {busy:.2f} (target >= {TARGET_BUSY:.2f}): {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=1000, help="timed requests per contender")
    p.add_argument("--in-flight", type=int, default=64, help="concurrent requests")
    p.add_argument("--latency", type=float, default=0.05, help="fake server latency in seconds")
    p.add_argument("--repeats", type=int, default=2, help="repeat the comparison; the best time counts")
    p.add_argument("--skip-embedded", action="store_true", help="skip the llama.cpp busy-fraction run")
    p.add_argument("--embedded-calls", type=int, default=50, help="calls in the embedded run")
    args = p.parse_args()
    ok = http_comparison(args)
    if not args.skip_embedded:
        ok = asyncio.run(embedded_busy(args.embedded_calls)) and ok
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
