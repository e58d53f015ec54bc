"""Local engine vs Ray engine on the same generation job: N fake-teacher rows, same server, same in-flight total.

The fake server (127.0.0.1, 50 ms per request, a cooperative teacher: `bench/generate_stage.py`'s replies) answers
both runs. The local engine is one process with `teacher.concurrency.max_in_flight` requests in flight; the Ray
engine is a local cluster with A actors sharing the same total. Both commit their rows; the script checks that they
stored the same rows (ids and contents) and prints each engine's wall time and requests/s. On one machine Ray can
only add overhead (actor start-up, pickling rows between processes); the point of the number is how much, so a
user knows the break-even: Ray pays when one process's CPU, not the server, is the limit, or across nodes.

Run: `python bench/engines.py [--n 10000] [--actors 2] [--in-flight 64]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from generate_stage import reply, workspace  # noqa: E402

from tether.testing.fake_openai import FakeOpenAI  # noqa: E402


def run(ws, n: int, engine: str, actors: int) -> tuple[float, int, list[str]]:
    from tether.generate.stage import prepare, run_generate
    from tether.run.engines import open_engine

    prep = prepare(ws, n)
    t0 = time.perf_counter()
    rep = run_generate(ws, prep, 1, engine=open_engine(engine, actors=actors))
    seconds = time.perf_counter() - t0
    return seconds, rep.usage["calls"], sorted(r.model_dump_json(exclude={"run_id"}) for r in rep.new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="teacher calls (the generate budget)")
    ap.add_argument("--actors", type=int, default=2)
    ap.add_argument("--in-flight", type=int, default=64)
    a = ap.parse_args()
    with FakeOpenAI(latency_s=0.05, responder=reply) as srv, tempfile.TemporaryDirectory() as d:
        local_s, local_calls, local_rows = run(workspace(Path(d) / "a", srv.base_url, a.in_flight), a.n, "local", 1)
        ray_s, ray_calls, ray_rows = run(workspace(Path(d) / "b", srv.base_url, a.in_flight), a.n, "ray", a.actors)
    print(f"{local_calls} requests, {a.in_flight} in flight in all, 50 ms server latency")
    print(f"{'engine':<24}{'seconds':>9}{'req/s':>9}")
    print(f"{'local (asyncio)':<24}{local_s:>9.2f}{local_calls / local_s:>9.0f}")
    print(f"{f'ray ({a.actors} actors)':<24}{ray_s:>9.2f}{ray_calls / ray_s:>9.0f}")
    print(f"\nray / local time = {ray_s / local_s:.2f}x; same rows: {'PASS' if ray_rows == local_rows else 'FAIL'}")


if __name__ == "__main__":
    main()
