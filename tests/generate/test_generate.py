"""Generation strategies and the budget planner, against a real HTTP server on 127.0.0.1 (scripted answers)."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tether.config import GenerateConfig
from tether.errors import ConfigError
from tether.generate.planner import make_plan
from tether.generate.stage import prepare, run_generate
from tether.prompts.templates import load_templates
from tether.seeds.stage import run_ingest
from tether.testing.fake_openai import FakeOpenAI
from tether.workspace.store import Workspace

ONTOLOGY = {
    "domain": "testtown",
    "concepts": [
        {"name": "parking", "keywords": ["permit", "tow zone"]},
        {"name": "harbour", "keywords": ["mooring", "boats"]},
        {"name": "library", "keywords": ["library"]},
        {"name": "snow", "keywords": ["snow clearing"]},
    ],
}


# -- planner ---------------------------------------------------------------------------------------------------


def shares(budget: int, seeds: int = 50, weak: bool = False, **g) -> dict[str, float]:
    plan = make_plan(budget, seeds, GenerateConfig(**g), weak, have_chunks=True)
    return {s.strategy: s.share for s in plan.strategies}


def test_planner_low_mid_high_budget_ratio() -> None:
    low, mid, high = shares(100), shares(50 * 30), shares(50 * 200)
    assert max(low, key=low.get) == "augment"  # BR 2
    assert max(high, key=high.get) == "new_questions"  # BR 200
    assert low["augment"] > mid["augment"] > high["augment"]  # BR 30: in between
    assert low["new_questions"] < mid["new_questions"] < high["new_questions"]


def test_planner_weak_teacher_prefers_rephrasing_and_config_overrides() -> None:
    assert shares(50 * 200, weak=True)["rephrase"] > shares(50 * 200)["rephrase"]
    assert shares(100, mix={"new_questions": 2, "rephrase": 2}) == {
        "augment": 0.0,
        "rephrase": 0.5,
        "new_questions": 0.5,
        "multi_hop": 0.0,
    }
    plan = make_plan(100, 50, GenerateConfig(), False, have_chunks=False)
    assert plan.rows("new_questions") == 0 and "no document chunks" in plan.rationale


def test_planner_never_plans_past_the_budget() -> None:
    rng = random.Random(0)
    for _ in range(300):
        budget, seeds = rng.randint(1, 5000), rng.randint(1, 200)
        g = GenerateConfig(
            best_of=rng.randint(1, 3),
            cot_share=rng.random(),
            preference_share=rng.random(),
            self_check=rng.random() < 0.5,
        )
        plan = make_plan(budget, seeds, g, rng.random() < 0.5, have_chunks=True)
        assert plan.calls <= budget
        assert plan.calls >= budget - 6 or budget < 10  # leftovers are spent, not wasted


# -- strategies end to end ----------------------------------------------------------------------------------------


@pytest.fixture
def server():
    with FakeOpenAI() as srv:
        yield srv


def workspace(tmp: Path, corpus: Path, url: str, **generate) -> Workspace:
    (tmp / "onto.yaml").write_text(yaml.safe_dump(ONTOLOGY))
    cfg = {
        "project": "t",
        "ontology": str(tmp / "onto.yaml"),
        "teacher": {"base_url": url, "model": "fake-model", "backoff_s": 0.01, "retries": 1},
        "generate": generate,
    }
    ws = Workspace.init(tmp / "w", yaml.safe_dump(cfg))
    run_ingest(ws, [corpus / "docs", corpus / "seeds"])
    return ws


def test_all_strategies_with_provenance_and_cached_rerun(tmp_path: Path, corpus: Path, server: FakeOpenAI) -> None:
    ws = workspace(
        tmp_path,
        corpus,
        server.base_url,
        mix={"augment": 1, "rephrase": 1, "new_questions": 1},
        cot_share=0.5,
        preference_share=1.0,
    )
    prep = prepare(ws, 60)
    rep = run_generate(ws, prep)
    assert rep.created and rep.usage["calls"] <= 60
    new = rep.new
    by = {s: [r for r in new if r.strategy == s] for s in ("augment_answers", "rephrase", "new_question")}
    assert all(by.values()), {k: len(v) for k, v in by.items()}
    seeds = {r.id for r in ws.records(prep.head) if r.origin == "human"}
    chunks = {c.chunk_id: c for c in ws.chunks(prep.head)}
    for r in new:
        assert r.origin == "synthetic" and r.teacher.model == "fake-model" and r.run_id
        assert r.meta["template"].split(":")[1]  # template hash recorded
        if r.strategy == "new_question":
            assert r.parents[0] in chunks and r.source.chunk_id == r.parents[0]
            assert set(r.parents[1:]) <= seeds  # few-shot examples are seeds
        else:
            assert r.parents[0] in seeds
    # chain of thought and preference pairs
    cot = [r for r in by["augment_answers"] if r.kind == "cot"]
    assert cot and all(r.reasoning and r.response for r in cot)
    prefs = [r for r in by["new_question"] if r.kind == "preference"]
    assert prefs and all(r.rejected and r.rejected != r.response for r in prefs)
    # new questions target the least-covered concepts first (snow has no seed) and pass the self-check
    assert by["new_question"][0].meta.get("target_concept") == "snow"
    assert all(r.verdicts["self_check"].keep for r in by["new_question"])
    # every row's lineage reaches a document
    for r in new[:5] + by["new_question"][:2]:
        assert any(s.node.type == "document" for s in ws.lineage.ancestry(r.id))
    # the same command again: served from the cache, no new version
    sent = len(server.requests)
    again = run_generate(ws, prepare(ws, 60))
    assert again.usage["calls"] == 0 and again.usage["cache_hits"] > 0
    assert not again.created and len(server.requests) == sent


def test_failed_parses_are_rows_with_verdicts_and_budget_is_a_hard_cap(tmp_path: Path, corpus: Path) -> None:
    with FakeOpenAI(formats=()) as srv:  # no structured output and plain echo answers: every parse fails
        ws = workspace(tmp_path, corpus, srv.base_url, mix={"new_questions": 1})
        prep = prepare(ws, 12)
        rep = run_generate(ws, prep)
        assert len(srv.requests) <= 12  # the rejected json_schema probe counts against the budget too
    rows = rep.new
    assert len(rows) == prep.plan.rows("new_questions") > 0
    reasons = {r.verdicts["generate"].reason for r in rows}
    assert reasons <= {"invalid_json", "budget_exhausted"} and "budget_exhausted" in reasons
    assert rep.usage["calls"] <= 12
    stored = {r.id for r in ws.records(rep.manifest)}
    assert {r.id for r in rows} <= stored  # failures are stored, not dropped


def test_best_of_keeps_the_best_grounded_answer(tmp_path: Path, corpus: Path, server: FakeOpenAI) -> None:
    ws = workspace(tmp_path, corpus, server.base_url, mix={"augment": 1}, best_of=3)
    rep = run_generate(ws, prepare(ws, 9))
    assert len(rep.new) == 3
    assert all("best_of" in r.meta and r.meta["best_of"].startswith("3 (scores") for r in rep.new)


def test_template_overrides(tmp_path: Path) -> None:
    good = tmp_path / "answer.txt"
    good.write_text("system:\nBe brief.\nuser:\n{question}\n")
    assert load_templates({"answer": good})["answer"].hash != load_templates({})["answer"].hash
    bad = tmp_path / "bad.txt"
    bad.write_text("user:\n{question} {colour}\n")
    with pytest.raises(ConfigError, match="unknown field"):
        load_templates({"answer": bad})
    with pytest.raises(ConfigError, match="unknown template"):
        load_templates({"answr": good})


def test_jobs_interleave_strategies_evenly() -> None:
    from tether.generate.jobs import interleave
    from tether.generate.strategies import Job

    groups = [[Job("augment", i) for i in range(4)], [Job("rephrase", i) for i in range(2)], [Job("new_questions", 0)]]
    order = [(j.strategy[0], j.index) for j in interleave(groups)]
    assert order == [("a", 0), ("r", 0), ("a", 1), ("n", 0), ("a", 2), ("r", 1), ("a", 3)]


# -- answers in the seeds' style, extractive answers, measured rates -------------------------------------------


def test_planner_extractive_cap_and_barren_strategies() -> None:
    plan = make_plan(300, 50, GenerateConfig(), True, have_chunks=True, extractive=True)
    assert plan.rows("augment") == 50 and "at most one augmented answer per seed" in plan.rationale
    assert plan.calls <= 300 and plan.rows("rephrase") + plan.rows("new_questions") > 0
    barren = {"rephrase": "kept 0% of 21 rows", "new_questions": "kept 0% of 18 rows"}
    plan = make_plan(300, 50, GenerateConfig(), True, have_chunks=True, extractive=True, barren=barren)
    assert plan.rows("rephrase") == plan.rows("new_questions") == 0 and plan.rows("augment") == 50
    assert "rest of the budget unspent" in plan.rationale and plan.calls == 50
    # a mix set in tether.yaml is the user's: measurements do not override it
    plan = make_plan(100, 50, GenerateConfig(mix={"rephrase": 1}), True, have_chunks=True, barren=barren)
    assert plan.rows("rephrase") > 0


def sentence_copier(body: dict) -> str | None:
    """A teacher that copies the reference text's first sentence with a lead-in, or invents when no text is given."""
    user = body["messages"][-1]["content"]
    if body.get("response_format") is None and "Which sentence of the text answers" in user:
        text = user.split('"""')[1].strip()
        first = text.split("\n\n")[-1].split(". ")[0]
        return f'Answer: "{first}."' if "permit" in user.lower() else "It is about 99 crowns, I believe."
    return None


def test_extractive_answers_are_words_of_the_chunk(tmp_path: Path, corpus: Path) -> None:
    with FakeOpenAI(responder=sentence_copier) as srv:
        ws = workspace(tmp_path, corpus, srv.base_url, mix={"augment": 1}, answers="extractive")
        prep = prepare(ws, 8)
        assert prep.style.mode == "extractive" and prep.plan.rows("augment") <= len(prep.seeds)
        rep = run_generate(ws, prep)
        sent = [r for r in srv.requests if "Which sentence of the text answers" in r["messages"][-1]["content"]]
        assert sent and all(r["temperature"] == 0.0 for r in sent)  # copying is greedy
    chunks = {c.chunk_id: c for c in ws.chunks(prep.head)}
    kept = [r for r in rep.new if r.kept]
    dropped = [r for r in rep.new if not r.kept]
    assert kept and dropped
    for r in kept:  # a kept answer is the chunk's own words, whatever the teacher added
        assert r.answer() in chunks[r.source.chunk_id].text and not r.answer().startswith("Answer")
        assert r.meta["answer_mode"] == "extractive" and r.meta["extractive"]
    for r in dropped:
        assert r.verdicts["generate"].reason == "not_in_text" and "99 crowns" in r.answer()


def test_free_answers_follow_the_seeds_length(tmp_path: Path, corpus: Path, server: FakeOpenAI) -> None:
    ws = workspace(tmp_path, corpus, server.base_url, mix={"augment": 1}, answers="free")
    prep = prepare(ws, 4)
    run_generate(ws, prep)
    asks = [r for r in server.requests if "Answer briefly, like the examples" in r["messages"][-1]["content"]]
    assert asks and all(r["max_tokens"] == prep.style.max_tokens(384) < 384 for r in asks)
    assert f"about {prep.style.median_words} words" in asks[0]["messages"][-1]["content"]


def test_forecast_uses_this_workspace_funnel(tmp_path: Path, corpus: Path, server: FakeOpenAI) -> None:
    from tether.filters.stage import run_filters

    ws = workspace(tmp_path, corpus, server.base_url, mix={"augment": 1})
    first = prepare(ws, 20)
    assert first.kept_source.startswith("typical rates") and first.filters.calibration_calls > 0
    run_generate(ws, first)
    run_filters(ws)  # the fake teacher's echo answers are mostly dropped
    again = prepare(ws, 20)
    assert again.kept_source.startswith("measured in filter version")
    measured_keep = again.plan.strategies[0].kept_rows / max(1, again.plan.strategies[0].rows)
    assert measured_keep < 0.85  # not the typical 85 %
    assert again.filters.calibration_calls == 0  # calibrated by the filter run


# -- extractive new questions: the teacher writes only the question, after demonstrations --------------------------


def statement_asker() -> Callable[[dict], str | None]:
    """A teacher that, in turn, hands the statement back, repeats a demonstration, and asks a real question."""
    calls = itertools.count()

    def reply(body: dict) -> str | None:
        user = body["messages"][-1]["content"]
        if 'Statement: "' not in user or body["messages"][1]["role"] != "user":
            return None
        statement = user.rsplit('Statement: "', 1)[1].rstrip('"')
        turn = next(calls) % 3
        if turn == 0:
            return json.dumps({"question": statement})
        if turn == 1:
            return '{"question": "How many bicycles can the ferry to Lund Island carry on one crossing?"}'
        return json.dumps({"question": f"What does the text say about {' '.join(statement.split()[:4])}?"})

    return reply


def test_extractive_new_questions_ask_only_for_the_question(tmp_path: Path, corpus: Path) -> None:
    with FakeOpenAI(responder=statement_asker()) as srv:
        ws = workspace(tmp_path, corpus, srv.base_url, mix={"new_questions": 1}, answers="extractive")
        rep = run_generate(ws, prepare(ws, 20))
        asks = [r for r in srv.requests if 'Statement: "' in r["messages"][-1]["content"]]
    # every job with a sentence to ask about (a table chunk has none: the old wording asks for a pair)
    focused = [r for r in rep.new if r.meta["template"].startswith("new_question_extract:")]
    assert asks and len(asks) == len(focused)
    for body in asks:
        roles = [m["role"] for m in body["messages"]]
        assert roles[:3] == ["system", "user", "assistant"] and roles[-1] == "user"
        # the JSON note sits in the system message, so the last turn looks like the demonstrated ones
        assert "Reply with only a JSON object" in body["messages"][0]["content"]
        assert "Reply with only" not in body["messages"][-1]["content"]
        assert set(body["response_format"]["json_schema"]["schema"]["properties"]) == {"question"}
    chunks = {c.chunk_id: c for c in ws.chunks(ws.head())}
    reasons = {r.verdicts["generate"].reason for r in focused if "generate" in r.verdicts and not r.kept}
    kept = [r for r in focused if r.kept]
    assert kept and {"not_a_question", "copied_example"} <= reasons
    for r in kept:  # the answer is the sentence the question was written for, a sentence of its chunk
        assert r.answer() == r.meta["focus"] and r.answer() in chunks[r.source.chunk_id].text
        assert r.meta["template"].startswith("new_question_extract:") and r.meta["extractive"] == "the focus sentence"


def test_forecast_of_extractive_new_questions_is_the_question_alone() -> None:
    """The plan's time estimate follows the prompt actually sent: an extractive new question costs the demonstration
    prompt and a question's worth of completion, not a question-and-answer's."""
    from tether.config import TeacherConfig
    from tether.documents import Chunk
    from tether.generate.forecast import TYPICAL_COMPLETION, _job_tokens
    from tether.generate.strategies import Job

    text = "Permits cost 46 marks a year. A visitor pass lasts 24 hours. Fines double after 28 days."
    job = Job("new_questions", 0, chunk=Chunk(chunk_id="c", doc_id="d", text=text, start=0, end=len(text)))
    job.focus = "A visitor pass lasts 24 hours."
    t = load_templates({})
    limit = TeacherConfig().max_tokens
    free = _job_tokens(job, t, "town", 1, False, limit, {})
    extract = _job_tokens(job, t, "town", 1, False, limit, {}, extractive=True)
    assert free[1] == TYPICAL_COMPLETION["new_question"] and extract[1] == TYPICAL_COMPLETION["new_question_extract"]
    assert extract[0] != free[0]  # a different prompt: the demonstrations, not the question-and-answer instruction
