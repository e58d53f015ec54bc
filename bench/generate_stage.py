"""The whole `generate` stage against the raw HTTP floor: how much of a fast server's capacity tether leaves unused.

A fake OpenAI-compatible server on 127.0.0.1 answers every request after a fixed latency (50 ms), with replies
shaped like a good teacher's (a paraphrase, an answer quoted from the chunk, a question + answer), so generation
keeps its rows and pays for everything a real run pays for: prompt building, the client, the request cache
(sqlite), parsing and checks, record building, and committing the version with its lineage.

Contenders, same server, same run:

* raw aiohttp: N requests of the stage's own prompt sizes, 64 in flight, one session and a semaphore (the floor);
* tether generate: `prepare` + `run_generate` on a workspace over the example domain with budget N, 64 in flight
  (adaptive concurrency off, as a user pointing at a known vLLM server would set it), from an empty cache to the
  committed version.

Prints requests/s of each and the ratio. Target (issue 13): the stage at >= 0.8x the floor's request rate.

Run: `python bench/generate_stage.py [--n 1000] [--in-flight 64] [--latency-ms 50] [--profile out.prof]`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tether.seeds.stage import run_ingest  # noqa: E402
from tether.testing.fake_openai import FakeOpenAI  # noqa: E402
from tether.workspace.store import Workspace  # noqa: E402

EXAMPLE = ROOT / "examples" / "brindlemoor"
TARGET = 0.8


def reply(body: dict) -> str | None:
    """A cooperative teacher: paraphrase, quote the chunk's first sentence, or write a question about it."""
    props = (((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}).get("properties", {})
    msg = body["messages"][-1]["content"]
    quoted = re.findall(r'"""\n?(.*?)"""', msg, re.DOTALL)
    first = re.split(r"(?<=[.!?])\s+", quoted[0].strip())[0] if quoted else "It is stated in the text."
    if "question" in props and "answer" in props:
        return json.dumps({"question": f"What does the text say about {first[:40]}?", "answer": first})
    if "question" in props:
        return json.dumps({"question": msg.splitlines()[-1][:80] + " please"})
    if "answerable" in props:
        return json.dumps({"answerable": True, "evidence": first})
    if props:
        return json.dumps({k: first for k in props})
    return first


def workspace(tmp: Path, url: str, in_flight: int) -> Workspace:
    cfg = {
        "project": "bench",
        "ontology": str(EXAMPLE / "ontology.yaml"),
        "teacher": {
            "base_url": url,
            "model": "fake-model",
            "retries": 0,
            "concurrency": {"max_in_flight": in_flight, "adaptive": False},
        },
    }
    ws = Workspace.init(tmp / "w", yaml.safe_dump(cfg))
    run_ingest(ws, [EXAMPLE / "docs", EXAMPLE / "seeds"])
    return ws


def run_stage(ws: Workspace, n: int, profile: Path | None) -> tuple[float, float, int, int]:
    """(planning seconds, execution seconds, requests sent, rows stored). Planning (`prepare`: the plan, concept
    matching with the embedder, the forecast) is a fixed cost paid once per run whatever the server's speed;
    execution (`run_generate`: every request, parse, check, record, cache write, and the committed version) is
    what scales with the number of requests, and what the floor is compared with."""
    from tether.generate.stage import prepare, run_generate

    t0 = time.perf_counter()
    prep = prepare(ws, n)
    planning = time.perf_counter() - t0
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    t1 = time.perf_counter()
    rep = run_generate(ws, prep, 1)
    execution = time.perf_counter() - t1
    if prof:
        prof.disable()
        prof.dump_stats(profile)
    return planning, execution, rep.usage["calls"], len(rep.new)


async def raw_floor(url: str, prompts: list[list[dict]], in_flight: int) -> float:
    sem = asyncio.Semaphore(in_flight)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=max(100, in_flight))) as session:

        async def one(messages: list[dict]) -> None:
            async with sem:
                body = {"model": "fake-model", "messages": messages, "max_tokens": 256, "temperature": 0.7}
                async with session.post(f"{url}/chat/completions", json=body) as resp:
                    resp.raise_for_status()
                    await resp.json()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(m) for m in prompts))
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="teacher calls (the generate budget)")
    ap.add_argument("--in-flight", type=int, default=64)
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--profile", type=Path, default=None, help="write a cProfile of the tether stage here")
    a = ap.parse_args()
    with FakeOpenAI(latency_s=a.latency_ms / 1000, responder=reply) as srv, tempfile.TemporaryDirectory() as d:
        ws = workspace(Path(d), srv.base_url, a.in_flight)
        planning, seconds, calls, rows = run_stage(ws, a.n, a.profile)
        prompts = [r["messages"] for r in srv.requests[-calls:]]
        floor = asyncio.run(raw_floor(srv.base_url, prompts, a.in_flight))
    print(f"{calls} requests, {a.in_flight} in flight, {a.latency_ms:g} ms server latency")
    print(f"{'contender':<28}{'seconds':>9}{'req/s':>9}")
    print(f"{'raw aiohttp (floor)':<28}{floor:>9.2f}{calls / floor:>9.0f}")
    print(f"{'tether generate (execution)':<28}{seconds:>9.2f}{calls / seconds:>9.0f}   ({rows} rows stored)")
    print(f"{'  + planning (once per run)':<28}{planning:>9.2f}")
    ratio = (calls / seconds) / (calls / floor)
    print(f"\nstage request rate / floor = {ratio:.2f} (target >= {TARGET}): {'PASS' if ratio >= TARGET else 'FAIL'}")


if __name__ == "__main__":
    main()
