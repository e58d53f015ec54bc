"""The same generation job through the tools a user would pick instead: bespokelabs-curator and distilabel.

One fake OpenAI-compatible server (127.0.0.1, 50 ms per request) answers N distinct prompts from each contender,
K in flight, in the same run:

* raw aiohttp: one session and a semaphore (the floor);
* tether: `TeacherClient.map` (no cache);
* curator and distilabel: each in its own venv (`--curator-python`, `--distilabel-python`: the python of a venv
  with `pip install bespokelabs-curator`, resp. `pip install "distilabel[openai]" requests`), driven by
  `bench/peers/*_worker.py`, timed inside the worker from the first request to the last answer (their imports
  and start-up are not counted).

Peers stay outside the project's dependencies. Prints seconds, requests/s and the ratio to the floor.

Run: `python bench/peers.py --curator-python /tmp/peers/curator/bin/python \
      --distilabel-python /tmp/peers/distilabel/bin/python [--n 1000] [--in-flight 64]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from teacher_throughput import raw_aiohttp, tether_plain  # noqa: E402

from tether.testing.fake_openai import FakeOpenAI  # noqa: E402


def peer(python: str, worker: str, url: str, n: int, in_flight: int) -> tuple[float | None, str]:
    p = subprocess.run([python, str(HERE / "peers" / worker), url, str(n), str(in_flight)], capture_output=True,
                       text=True, timeout=1800)  # fmt: skip
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return None, (p.stderr.strip().splitlines() or ["no output"])[-1][:200]
    out = json.loads(lines[-1])
    return out["seconds"], f"{out['ok']} rows"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--in-flight", type=int, default=64)
    ap.add_argument("--curator-python", default=None)
    ap.add_argument("--distilabel-python", default=None)
    a = ap.parse_args()
    results: dict[str, tuple[float | None, str]] = {}
    with FakeOpenAI(latency_s=0.05) as srv:
        url = srv.base_url
        results["raw aiohttp (floor)"] = (asyncio.run(raw_aiohttp(url, "raw", a.n, a.in_flight)), "")
        results["tether"] = (asyncio.run(tether_plain(url, "tether", a.n, a.in_flight)), "")
        for name, python, worker in (("curator", a.curator_python, "curator_worker.py"),
                                     ("distilabel", a.distilabel_python, "distilabel_worker.py")):  # fmt: skip
            results[name] = peer(python, worker, url, a.n, a.in_flight) if python else (None, "no venv given")
    floor = results["raw aiohttp (floor)"][0]
    print(f"{a.n} requests, {a.in_flight} in flight, 50 ms server latency")
    print(f"{'contender':<22}{'seconds':>9}{'req/s':>9}{'vs floor':>10}  note")
    for name, (secs, note) in results.items():
        if secs is None:
            print(f"{name:<22}{'-':>9}{'-':>9}{'-':>10}  {note}")
        else:
            print(f"{name:<22}{secs:>9.2f}{a.n / secs:>9.0f}{secs / floor:>9.2f}x  {note}")


if __name__ == "__main__":
    main()
