"""Documents-only projects: no seed examples (or only a couple) is a supported start for plan, generate, filter."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tether.config import GenerateConfig, render_default_config
from tether.documents import Chunk
from tether.errors import ConfigError, TetherError
from tether.filters.calibration import calibrate
from tether.filters.stage import run_filters
from tether.generate.jobs import chunk_order, new_question_jobs, new_questions_from_chunks
from tether.generate.planner import make_plan
from tether.generate.questions import examples_block
from tether.generate.stage import gen_context, prepare, run_generate
from tether.generate.style import DEFAULT_WORDS, seed_style
from tether.prompts.templates import load_templates
from tether.records import Record
from tether.seeds.stage import run_ingest
from tether.testing.fake_openai import FakeOpenAI
from tether.workspace.store import Workspace

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "brindlemoor"
TWO_SEEDS = """\
{"question": "How much does a resident parking permit cost?", "answer": "A resident permit costs 23 marks per year."}
{"question": "When must boats leave the harbour?", "answer": "Boats must leave the harbour by 7 November."}
"""
pytestmark = pytest.mark.skipif(not (EXAMPLE / "docs").is_dir(), reason="example domain not present")


# -- planner, style, templates -------------------------------------------------------------------------------


def test_planner_without_seeds_plans_new_questions_only() -> None:
    for weak in (False, True):
        plan = make_plan(30, 0, GenerateConfig(), weak, have_chunks=True, extractive=weak)
        assert plan.br is None and plan.seeds == 0
        assert plan.rows("augment") == plan.rows("rephrase") == 0 < plan.rows("new_questions")
        assert "no seeds: new questions from chunks only" in plan.rationale
        assert 30 - 3 <= plan.calls <= 30
    # a configured mix: only its new-question share is usable; one without new questions plans nothing
    plan = make_plan(30, 0, GenerateConfig(mix={"augment": 1, "new_questions": 1}), False, have_chunks=True)
    assert plan.rows("new_questions") > 0 and plan.mix_source == "config"
    plan = make_plan(30, 0, GenerateConfig(mix={"augment": 1}), False, have_chunks=True)
    assert plan.calls == 0 and "nothing to generate" in plan.rationale
    # measured barren: said, not acted on (no other strategy could take the budget)
    plan = make_plan(30, 0, GenerateConfig(), True, have_chunks=True, barren={"new_questions": "kept 2% of 40 rows"})
    assert plan.rows("new_questions") > 0 and "kept 2% of 40 rows" in plan.rationale
    with pytest.raises(ValueError, match="no seed examples and no document chunks"):
        make_plan(30, 0, GenerateConfig(), False, have_chunks=False)
    rng = random.Random(1)
    for _ in range(100):
        g = GenerateConfig(self_check=rng.random() < 0.5, preference_share=rng.random())
        budget = rng.randint(1, 3000)
        assert make_plan(budget, 0, g, rng.random() < 0.5, have_chunks=True).calls <= budget


def test_planner_with_two_seeds_works_as_before() -> None:
    plan = make_plan(30, 2, GenerateConfig(), True, have_chunks=True, extractive=True)
    assert plan.br == 15.0 and plan.calls <= 30
    assert plan.rows("augment") == 2  # extractive: one augmented answer per seed
    assert plan.rows("rephrase") > 0 and plan.rows("new_questions") > 0
    assert "no seeds" not in plan.rationale


def test_answer_style_defaults_without_seeds() -> None:
    free = seed_style([], "free")
    assert not free.from_seeds and free.median_words == DEFAULT_WORDS
    assert "one full sentence" in free.hint() and "like the examples" not in free.hint()
    assert "word for word" in seed_style([], "extractive").hint()
    seeded = seed_style([Record(kind="qa", prompt="Q?", response="It costs 23 marks.", origin="human")], "free")
    assert seeded.from_seeds and "like the examples of this domain" in seeded.hint()


def test_style_guide_stands_in_for_seed_examples(tmp_path: Path) -> None:
    t = load_templates({})
    text, guide = examples_block([], t)
    assert guide == f"style_guide:{t['style_guide'].hash}" and "Format examples only" in text
    seed = Record(kind="qa", prompt="How much is a permit?", response="It costs 23 marks.", origin="human")
    text, guide = examples_block([seed], t)
    assert guide is None and text == "- Q: How much is a permit?\n  A: It costs 23 marks."
    mine = tmp_path / "guide.txt"
    mine.write_text("Ask about fees only. Answers quote the fee sentence.\n")
    assert load_templates({"style_guide": mine})["style_guide"].text.startswith("Ask about fees")
    mine.write_text("Use {domain} words.\n")
    with pytest.raises(ConfigError, match="pasted as plain text"):
        load_templates({"style_guide": mine})


# -- jobs: explicit chunks, round-robin over documents ----------------------------------------------------------


def chunk(doc: str, k: int) -> Chunk:
    return Chunk(chunk_id=f"{doc}-{k}", doc_id=doc, text=f"Text {k} of {doc}.", start=0, end=10)


def test_chunks_are_spread_round_robin_over_documents() -> None:
    chunks = [chunk("a", 0), chunk("a", 1), chunk("a", 2), chunk("b", 0), chunk("c", 0), chunk("c", 1)]
    order = [c.chunk_id for c, _ in chunk_order(chunks, {}, {})]
    assert order == ["a-0", "b-0", "c-0", "a-1", "c-1", "a-2"]
    # concept tiers still come first
    order = [c.chunk_id for c, _ in chunk_order(chunks, {"c-1": ["snow"]}, {})]
    assert order[0] == "c-1"


def test_new_question_jobs_take_explicit_chunks_and_counts() -> None:
    a, b, c = chunk("a", 0), chunk("b", 0), chunk("c", 0)
    g = GenerateConfig(few_shot=2)
    jobs = new_question_jobs([a, b, c], [2, 1, 3], [], g, concepts="parking", first_index={"c-0": 5})
    assert [(j.chunk.chunk_id, j.index) for j in jobs] == [
        ("a-0", 0), ("b-0", 0), ("c-0", 5), ("a-0", 1), ("c-0", 6), ("c-0", 7),
    ]  # fmt: skip
    assert all(j.strategy == "new_questions" and j.concept == "parking" and j.examples == [] for j in jobs)
    # a chunk listed twice continues its numbering (no repeated request); seeds rotate as few-shot examples
    seeds = [Record(kind="qa", prompt=f"Q{i}?", response=f"A {i}.", origin="human") for i in range(3)]
    jobs = new_question_jobs([a, a], 2, seeds, g)
    assert [j.index for j in jobs] == [0, 1, 2, 3] and all(len(j.examples) == 2 for j in jobs)
    assert len({tuple(e.id for e in j.examples) for j in jobs}) > 1
    with pytest.raises(ValueError, match="2 chunks but 1 counts"):
        new_question_jobs([a, b], [1], [], g)


# -- end to end against the fake teacher -----------------------------------------------------------------------


def docs_workspace(tmp: Path, url: str, seeds: str | None = None, **generate) -> Workspace:
    """A workspace as `tether init` writes it (no domain: no seeds, no ontology), pointed at the fake teacher."""
    shutil.copytree(EXAMPLE / "docs", tmp / "docs")
    cfg = yaml.safe_load(render_default_config("docsonly", None, tmp / "w"))
    cfg["teacher"].update(base_url=url, model="fake-model", backoff_s=0.01, retries=1)
    cfg["generate"].update(generate)
    ws = Workspace.init(tmp / "w", yaml.safe_dump(cfg))
    paths = [tmp / "docs"]
    if seeds is not None:
        (tmp / "seeds.jsonl").write_text(seeds)
        paths.append(tmp / "seeds.jsonl")
    run_ingest(ws, paths)
    return ws


@pytest.fixture
def server():
    with FakeOpenAI() as srv:
        yield srv


def test_documents_only_plan_generate_filter(tmp_path: Path, server: FakeOpenAI) -> None:
    ws = docs_workspace(tmp_path, server.base_url)
    prep = prepare(ws, 30)
    assert not prep.seeds and prep.plan.br is None and not prep.style.from_seeds
    assert prep.forecast.calls == prep.plan.calls <= 30 and prep.forecast.prompt_tokens > 0
    assert prep.filters.calibration_calls == 0 and "no seeds to calibrate with" in prep.filters.source
    rep = run_generate(ws, prep)
    assert rep.created and rep.usage["calls"] <= 30
    assert rep.manifest.notes["br"] == "unbounded (no seeds)"
    rows = rep.new
    assert len(rows) == prep.plan.rows("new_questions") and {r.strategy for r in rows} == {"new_question"}
    asked = [q for q in server.requests if "Write one exam question that this sentence" in q["messages"][-1]["content"]]
    assert asked and not any("Format examples only" in q["messages"][-1]["content"] for q in asked)  # none shown
    chunks = {c.chunk_id: c for c in ws.chunks(prep.head)}
    for r in rows:
        assert "examples" not in r.meta and r.meta["focus"] in " ".join(chunks[r.source.chunk_id].text.split())
        assert r.parents == [r.source.chunk_id] and r.source.chunk_id in chunks  # no seed parent
    # spread over documents: 13 questions from 13 different documents
    assert len({chunks[r.source.chunk_id].doc_id for r in rows}) == len(rows)
    frep = run_filters(ws)
    assert frep.synthetic == len(rows)
    assert all("no seeds to calibrate with" in line and "veto-only" in line for line in frep.trust)
    assert not (ws.store / "reports" / "judge-calibration.json").exists()
    # `tether judge calibrate` says why it cannot, instead of crashing or marking the judge uninformative
    with pytest.raises(TetherError, match="no seeds to calibrate with: grounding and judge stay veto-only"):
        asyncio.run(calibrate(ws))
    with pytest.raises(TetherError, match="measures the teacher against human answers"):
        asyncio.run(gen_context(ws).__aenter__())


def test_calibrate_from_labels_alone(tmp_path: Path, server: FakeOpenAI) -> None:
    ws = docs_workspace(tmp_path, server.base_url)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        '{"question": "Who keeps the register of hives?", "answer": "The Bee Steward keeps the register of hives.",'
        ' "label": "good"}\n'
        '{"question": "Who keeps the register of hives?", "answer": "The mayor keeps it in Paris.", "label": "bad"}\n'
    )
    rep = asyncio.run(calibrate(ws, labels))
    assert rep.planted == {"labelled": 2} and {f.filter for f in rep.filters} >= {"grounding", "judge"}
    labels.write_text('{"question": "Who keeps the register?", "answer": "The Bee Steward.", "label": "good"}\n')
    with pytest.raises(TetherError, match="both true and false rows"):
        asyncio.run(calibrate(ws, labels))


def test_explicit_chunks_without_seeds(tmp_path: Path, server: FakeOpenAI) -> None:
    ws = docs_workspace(tmp_path, server.base_url)
    chunks = ws.chunks(ws.head())[:2]

    async def go() -> list[Record]:
        async with gen_context(ws, need_seeds=False) as (ctx, seeds):
            assert seeds == []
            return await new_questions_from_chunks(ctx, chunks, [1, 2], concepts="fees")

    rows = asyncio.run(go())
    assert [r.source.chunk_id for r in rows] == [chunks[0].chunk_id, chunks[1].chunk_id, chunks[1].chunk_id]
    assert [r.meta["job_index"] for r in rows] == ["0", "0", "1"]
    assert all(r.meta["target_concept"] == "fees" and r.meta["focus"] for r in rows)
    assert rows[1].meta["focus"] != rows[2].meta["focus"]  # a chunk's second question is about its next sentence


def test_two_seeds_plan_generate_filter(tmp_path: Path, server: FakeOpenAI) -> None:
    ws = docs_workspace(tmp_path, server.base_url, seeds=TWO_SEEDS)
    prep = prepare(ws, 30)
    assert len(prep.seeds) == 2 and prep.plan.br == 15.0 and prep.style.from_seeds
    assert prep.plan.rows("augment") > 0 and prep.plan.rows("new_questions") > 0
    rep = run_generate(ws, prep)
    seeds = {s.id for s in prep.seeds}
    new = [r for r in rep.new if r.strategy == "new_question"]
    assert new and all("examples" not in r.meta and set(r.parents[1:]) == seeds for r in new)
    assert {r.strategy for r in rep.new} >= {"augment_answers", "new_question"}
    frep = run_filters(ws)  # two seeds: the judge is calibrated on rows planted from them
    assert frep.synthetic == len(rep.new)
    assert (ws.store / "reports" / "judge-calibration.json").exists()
    assert not any("no seeds to calibrate with" in line for line in frep.trust)


def test_cli_plan_says_new_questions_from_chunks_only(tmp_path: Path, server: FakeOpenAI) -> None:
    ws = docs_workspace(tmp_path, server.base_url)
    ws.close()
    p = subprocess.run(
        [sys.executable, "-m", "tether.cli", "plan", "--budget", "30", "-w", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert "over 0 seeds" in p.stdout and "no seeds: new questions from chunks only" in p.stdout
    assert "new_questions │  100%" in p.stdout and "no seeds to calibrate with" in p.stdout


def guide_copier(body: dict) -> str | None:
    """A weak teacher: writes the prompt's first example back as its new question."""
    user = body["messages"][-1]["content"]
    if body.get("response_format") is not None and "Style examples (from other texts" in user:
        first = user.split("- Q: ", 1)[1].split("\n", 1)[0]
        return json.dumps({"question": f"Q: {first}", "answer": "It is 14 days."})
    return None


def test_copied_examples_are_dropped_before_the_self_check(tmp_path: Path) -> None:
    """A project's own new_question wording may show examples ({examples}: the style guide without seeds)."""
    wording = tmp_path / "new_question.txt"
    wording.write_text(
        'user:\nReference text:\n"""\n{chunk}\n"""\nAsk about: {focus}\n'
        "Style examples (from other texts):\n{examples}\n"
    )
    with FakeOpenAI(responder=guide_copier) as srv:
        ws = docs_workspace(tmp_path, srv.base_url, templates={"new_question": str(wording)})
        rep = run_generate(ws, prepare(ws, 10))
        checks = [q for q in srv.requests if "answerable from the text alone" in q["messages"][-1]["content"]]
    assert rep.new and not checks  # no self-check paid for a copied question
    for r in rep.new:
        v = r.verdicts["generate"]
        assert v.reason == "copied_example" and "How long may a visitor keep a borrowed tool?" in v.detail
