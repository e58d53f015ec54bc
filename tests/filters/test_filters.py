"""Validity, rules, judge and grounding filters on crafted rows; the funnel over a workspace."""

from __future__ import annotations

import asyncio
import itertools
import json
import math

import pytest

from tether.config import JudgeConfig, TeacherConfig
from tether.documents import Chunk
from tether.filters.judged import BRIEF_TOKENS, TOP_LOGPROBS, GroundingFilter, LLMJudge
from tether.filters.rules import RulesFilter
from tether.filters.validity import ValidityFilter
from tether.llm.client import TeacherClient
from tether.llm.types import TeacherIdentity
from tether.prompts.templates import load_templates
from tether.records import Record, Source, Teacher, Verdict
from tether.testing.fake_openai import FakeOpenAI

T = Teacher(model="m")
CHUNK = Chunk(
    chunk_id="c1",
    doc_id="d1",
    start=0,
    end=90,
    heading=["Permits"],
    text="A resident parking permit costs 23 marks per year. Apply with Form BR-17 at the Town Hall.",
)


def row(q: str, a: str, **kw) -> Record:
    return Record(kind="qa", prompt=q, response=a, origin="synthetic", teacher=T, **kw)


def reasons(verdicts: list[Verdict | None]) -> list[str | None]:
    return [None if v is None else ("keep" if v.keep else v.reason) for v in verdicts]


def test_validity_catches_unusable_answers() -> None:
    rows = [
        row("How much is a permit?", "A resident permit costs 23 marks per year."),
        row("How much is a permit?", ""),
        row("How much is a permit?", "As an AI language model, I cannot know local fees."),
        row("How much is a permit?", "I'm sorry, but I can't help with that request."),
        row("How much is a permit?", "The permit costs 23 marks and you can apply for it at the town hall with"),
        row("How much is a permit?", '{"answer": "23 marks", "notes": ["yearly"'),
        row("How much is a permit?", "Here is code:\n```python\nprint(1)\n"),
        row("How much does a resident parking permit cost?", "How much does a resident parking permit cost?"),
        row("How much does a resident parking permit cost?", "A resident parking permit cost."),
        row("How much is a permit?", "Ein Anwohnerparkausweis kostet dreiundzwanzig Mark pro Jahr in der Stadt."),
        row("Hives allowed?", "3 hives"),  # short answers may reuse the question's words
        row("When did floats get underscores?", "When did floats get underscores?\nIn version 3.6."),
        Record(kind="qa", prompt="human q?", response="", origin="human"),  # human rows are not filtered
    ]
    got = reasons(ValidityFilter().judge(rows))
    assert got == [
        "keep",
        "empty_answer",
        "refusal",
        "refusal",
        "truncated",
        "truncated",
        "truncated",
        "repeats_question",
        "repeats_question",
        "wrong_language",
        "keep",
        "repeats_question",
        None,
    ]


def test_an_answer_cut_inside_a_parenthesis_is_truncated() -> None:
    from tether.filters.validity import truncated

    assert "parenthesis" in truncated("The last two expressions apply to totally ordered collections (e.g.")
    assert truncated("Sets (instances of set or frozenset) can be compared.") is None


def test_a_teachers_question_cut_off_is_truncated() -> None:
    got = ValidityFilter().judge(
        [
            row("What will likely be added to the", "More will likely be defined in future versions of Python."),
            row("Name the fee for a resident permit", "A resident permit costs 46 marks a year."),
            row("What is the fee for a resident permit?", "A resident permit costs 46 marks a year."),
        ]
    )
    assert reasons(got) == ["truncated", "keep", "keep"]


def test_an_answer_that_restates_its_question_is_no_answer() -> None:
    from tether.filters.validity import restates

    q = "What is the lowercasing algorithm used in section 3.13 of the Unicode Standard?"
    assert restates(q, "The lowercasing algorithm used is described in section 3.13 of the Unicode Standard.")
    assert restates(
        "How can I provide keyword arguments as in the first example only work for keys that are valid identifiers?",
        "Providing keyword arguments as in the first example only works for keys that are valid identifiers.",
    )  # the same words in other forms
    assert restates("What is the scientific notation format used for p significant digits?", "Scientific notation")
    # a footnote mark and a lead-in with no content add nothing
    q = "What is the change in version 3.3 that added support for name aliases?"
    assert restates(q, "Changed in version 3.3: Support for name aliases [1] has been added.")
    q = "How can both types of literals be enclosed in matching single quotes or double quotes?"
    assert restates(q, "In plain English: Both types of literals can be enclosed in matching single or double quotes.")
    # answers that add the fact asked for, or answer yes/no and choice questions with the question's own words
    assert not restates("What is the default fillchar?", "Padding is done using the fillchar (default is a space).")
    assert not restates("How many hives can a garden keep?", "3 hives")
    assert not restates("Can wardens ask to see a dog's licence tag?", "Wardens may ask to see a dog's licence tag.")
    assert not restates("Is the fine paid in marks or in euros?", "In marks")
    assert not restates("What is the fee?", "Fee")  # one word: may be the word asked about


def test_an_answer_that_points_elsewhere_is_no_answer() -> None:
    def row(q: str, a: str) -> Record:
        return Record(kind="qa", prompt=q, response=a, origin="synthetic")

    got = ValidityFilter().judge(
        [
            row("What is the syntax for a dictionary in a format string?", "See Format String Syntax for details."),
            row("How are floats rounded?", "Refer to the rounding section."),
            row("Where is the format syntax described?", "See the Format String Syntax section."),
            row("What does the warden check?", "Seeds are checked for mould in spring."),
            row("How do I make a 2-D list?", "Further explanation is available in the FAQ entry on lists."),
            row("Is the method available?", "The method is available in Python 3."),
            row("Which names are reserved?", "Current system names are discussed in the Special method names section."),
            row("What is the syntax?", "Please refer to section Function definitions for the syntax."),
        ]
    )
    assert reasons(got) == ["no_answer", "no_answer", "keep", "keep", "no_answer", "keep", "no_answer", "no_answer"]


def test_rules_lengths_patterns_and_formats() -> None:
    f = RulesFilter(question_chars=(8, 200), answer_chars=(2, 60), must_match=[r"\d"], must_not_match=[r"\bTODO\b"])
    rows = [
        row("How much is a permit?", "23 marks"),
        row("Short?", "23 marks"),
        row("How much is a permit?", "x" * 61),
        row("How much is a permit?", "twenty three marks"),
        row("How much is a permit?", "23 marks TODO check"),
    ]
    assert reasons(f.judge(rows)) == [
        "keep",
        "question_length",
        "answer_length",
        "missing_pattern",
        "forbidden_pattern",
    ]
    schema = {
        "type": "object",
        "required": ["fee"],
        "properties": {"fee": {"type": "number", "minimum": 0}, "unit": {"enum": ["marks"]}},
    }
    js = RulesFilter(answer_format="json", json_schema=schema)
    answers = [
        '```json\n{"fee": 23, "unit": "marks"}\n```',
        "{}",
        "23 marks",
        '{"fee": "23"}',
        '{"fee": -1}',
        '{"fee": 2, "unit": "euro"}',
    ]
    got = js.judge([row("What is the fee?", a) for a in answers])
    assert reasons(got) == ["keep"] + ["bad_format"] * 5
    assert [v.detail for v in got[1:]] == [
        "$: missing keys fee",
        "not JSON: Extra data",
        "$.fee: expected number",
        "$.fee: -1 < minimum 0",
        "$.unit: 'euro' not one of ['marks']",
    ]
    md = RulesFilter(answer_format="markdown_table")
    assert reasons(md.judge([row("Fees table?", "| a | b |\n|---|---|\n| 1 | 2 |"), row("Fees table?", "a b")])) == [
        "keep",
        "bad_format",
    ]
    already = row("How much is a permit?", "23 marks", verdicts={"validity": Verdict(keep=False, reason="x")})
    assert f.judge([already]) == [None]


def scripted(body: dict) -> str | None:
    """Judge: score 5 for answers mentioning 23 marks, 1 otherwise. Grounding: supported iff '23' in answer."""
    user = body["messages"][-1]["content"]
    answer = user.split("Answer:", 1)[-1].split("\n")[0]
    if 'integer "score"' in user:
        return json.dumps({"rationale": "checked", "score": 5 if "23" in answer else 1})
    if '"supported"' in user:
        return json.dumps({"supported": "23" in answer, "quote": ""})
    return None


@pytest.fixture
def client():
    with FakeOpenAI(responder=scripted) as srv:
        cfg = TeacherConfig(base_url=srv.base_url, model="fake-model", retries=0)
        yield srv, cfg


def test_judge_scores_and_thresholds(client) -> None:
    srv, cfg = client
    t = load_templates({})

    async def go():
        async with TeacherClient(cfg, srv.base_url, TeacherIdentity(model="fake-model"), None) as c:
            judge = LLMJudge(c, t["judge"], "town", {}, threshold=3)
            rows = [row("Permit fee?", "23 marks a year."), row("Permit fee?", "About 100 marks.")]
            return rows, await judge.ajudge(rows)

    rows, verdicts = asyncio.run(go())
    assert reasons(verdicts) == ["keep", "low_judge_score"]
    assert rows[0].scores["judge"] == 5.0 and rows[1].scores["judge"] == 1.0
    assert verdicts[1].detail.startswith("1/5")


def test_a_judge_that_votes_keeps_by_the_mean_of_its_votes_and_is_calibrated_apart() -> None:
    """`scoring: votes`: three sampled score-only judgements a row, each row with seeds of its own (one seed per
    vote for every row drew the same random number for every row); the mean is the score."""
    from tether.filters.trust import judge_method, method_hash

    served = {"Permit fee?": [5, 5, 5], "Bin day?": [1, 5, 1], "Ferry time?": [5, 1, 5]}

    def reply(body: dict) -> str:
        user = body["messages"][-1]["content"]
        q = next(k for k in served if k in user)
        return json.dumps({"score": served[q].pop(), "rationale": "a vote"})

    t = load_templates({})
    with FakeOpenAI(responder=reply) as srv:
        cfg = TeacherConfig(base_url=srv.base_url, model="fake-model", retries=0)

        async def go():
            async with TeacherClient(cfg, srv.base_url, TeacherIdentity(model="fake-model"), None) as c:
                judge = LLMJudge(c, t["judge"], "town", {}, threshold=3, scoring="votes", votes=3)
                rows = [row("Permit fee?", "23 marks."), row("Bin day?", "Monday."), row("Ferry time?", "09:40.")]
                return rows, await judge.ajudge(rows), srv.requests

        rows, verdicts, requests = asyncio.run(go())
    assert reasons(verdicts) == ["keep", "low_judge_score", "keep"]
    assert [r.scores["judge"] for r in rows] == [5.0, pytest.approx(7 / 3), pytest.approx(11 / 3)]
    assert "votes 1 5 1" in verdicts[1].detail
    assert len(requests) == 9 and all(r["temperature"] > 0 for r in requests)  # sampled, not greedy
    assert {r["max_tokens"] for r in requests} == {BRIEF_TOKENS}  # votes are read for their score only
    seeds = [r["seed"] for r in requests]
    assert len(set(seeds)) == 9  # distinct per vote and per row
    assert method_hash("judge", "abc", judge_method(JudgeConfig(scoring="votes", votes=3))) == "abc+votes3"
    assert method_hash("judge", "abc", judge_method(JudgeConfig(scoring="greedy"))) == "abc"  # keys as before
    assert method_hash("grounding", "abc", "votes3") == "abc"  # only the judge reads its score another way


def test_the_expected_judge_reads_the_score_tokens_probabilities_and_falls_back_without_logprobs() -> None:
    """`scoring: expected`: one greedy call asking logprobs; the score is the mean of 1-5 weighted by the
    probabilities of the score token's alternatives (renormalised over the digits). A server that sends no
    logprobs gives the greedy score, said in the verdict."""

    def alt(tok: str, p: float) -> dict:
        return {"token": tok, "logprob": math.log(p)}

    def reply(body: dict) -> dict:
        user = body["messages"][-1]["content"]
        text = '{"score": 5, "rationale": "ok"}'
        if "no logprobs" in user or not body.get("logprobs"):
            return text
        digits = [alt("5", 0.6), alt("4", 0.2), alt("2", 0.1), alt(" ", 0.05)] if "Permit" in user else [alt("5", 0.9)]
        content = [{"token": t, "logprob": -0.1, "top_logprobs": [alt(t, 0.9)]} for t in ['{"', "score", '":', " "]]
        content.append({"token": "5", "logprob": math.log(0.6), "top_logprobs": digits})
        return {"content": text, "logprobs": {"content": content}}

    t = load_templates({})
    with FakeOpenAI(responder=reply) as srv:
        cfg = TeacherConfig(base_url=srv.base_url, model="fake-model", retries=0)

        async def go():
            async with TeacherClient(cfg, srv.base_url, TeacherIdentity(model="fake-model"), None) as c:
                judge = LLMJudge(c, t["judge"], "town", {}, threshold=4.5)
                rows = [row("Permit fee?", "23 marks."), row("Bin day?", "Monday."), row("Ferry, no logprobs?", "9.")]
                return rows, await judge.ajudge(rows), srv.requests

        rows, verdicts, requests = asyncio.run(go())
    assert reasons(verdicts) == ["low_judge_score", "keep", "keep"]
    assert rows[0].scores["judge"] == pytest.approx((5 * 0.6 + 4 * 0.2 + 2 * 0.1) / 0.9)
    assert "p5 0.67 p4 0.22 p2 0.11" in verdicts[0].detail
    assert rows[1].scores["judge"] == 5.0 and rows[2].scores["judge"] == 5.0
    assert "the server returned no logprobs" in verdicts[2].detail
    assert len(requests) == 3 and all(r["temperature"] == 0 and r["top_logprobs"] == TOP_LOGPROBS for r in requests)


def test_brief_judge_call_reads_the_score_from_the_first_tokens_and_falls_back_when_it_is_not_there() -> None:
    """Calibration reads only the score: one call capped at a few tokens, same prompt and schema as the full call;
    a reply that does not open with the score (a server ignoring the schema) gets the full call."""

    def reply(body: dict) -> str:
        user = body["messages"][-1]["content"]
        full = (
            json.dumps({"rationale": "the fee is wrong", "score": 2})
            if "rationale first" in user
            else json.dumps({"score": 4, "rationale": "states the fee and the period"})
        )
        return full[: body["max_tokens"] * 3]  # a server stops at max_tokens (about 3 characters a token here)

    t = load_templates({})
    with FakeOpenAI(responder=reply) as srv:
        cfg = TeacherConfig(base_url=srv.base_url, model="fake-model", retries=0)

        async def go():
            async with TeacherClient(cfg, srv.base_url, TeacherIdentity(model="fake-model"), None) as c:
                judge = LLMJudge(c, t["judge"], "town", {}, threshold=3, scoring="greedy")
                brief = await judge.score(row("Permit fee?", "23 marks a year."), brief=True)
                full = await judge.score(row("Permit fee?", "23 marks a year."))
                fallback = await judge.score(row("Permit fee, rationale first?", "23 marks."), brief=True)
                return brief, full, fallback, c.stats

        brief, full, fallback, stats = asyncio.run(go())
        sizes = [r["max_tokens"] for r in srv.requests]
    assert brief == (4, "") and full == (4, "states the fee and the period")
    assert fallback == (2, "the fee is wrong")
    assert sizes[0] < 20 and sizes[1] > 100 and sizes[2] < 20 and sizes[3] > 100  # the fallback is the full call
    assert srv.requests[0]["messages"] == srv.requests[1]["messages"]  # the same prompt: the same greedy score
    assert not stats.errors  # a reply cut on purpose is not a truncation error


def test_grounding_lexical_precheck_and_entailment(client) -> None:
    srv, cfg = client
    t = load_templates({})
    src = Source(doc_id="d1", chunk_id="c1")
    rows = [
        row("Permit fee?", "A resident parking permit costs 23 marks per year.", source=src),  # lexical pass
        row("Permit fee?", "The permit is 23 marks, payable yearly at Town Hall.", source=src),  # judge: supported
        row("Permit fee?", "Permits are free for pensioners.", source=src),  # judge: not supported
        row("Permit fee?", "23 marks", source=None),  # no chunk: not applicable
    ]

    async def go():
        async with TeacherClient(cfg, srv.base_url, TeacherIdentity(model="fake-model"), None) as c:
            return await GroundingFilter(c, t["grounding"], "town", {"c1": CHUNK}).ajudge(rows)

    sent = len(srv.requests)
    verdicts = asyncio.run(go())
    # row 2: 5 of 7 words in the chunk, and the judge's "supported" comes without a quote: a failed judgement, so
    # the lexical evidence decides (keep); row 3: the (uncalibrated) judge may veto
    assert reasons(verdicts) == ["keep", "keep", "ungrounded", None]
    assert "lexical support" in verdicts[0].detail
    assert "no quote given" in verdicts[1].detail
    assert len(srv.requests) - sent == 2  # the lexical pass made no teacher call
    # without a teacher: lexical support decides
    offline = asyncio.run(GroundingFilter(None, t["grounding"], "town", {"c1": CHUNK}).ajudge(rows))
    assert reasons(offline) == ["keep", "keep", "ungrounded", None]


def test_funnel_over_a_workspace_keeps_every_row(tmp_path, corpus) -> None:
    """generate → filter: counts add up, every row survives into the new version, re-running changes nothing."""
    import yaml

    from tether.filters.stage import run_filters
    from tether.generate.stage import prepare, run_generate
    from tether.seeds.stage import run_ingest
    from tether.workspace.store import Workspace

    def responder(body: dict) -> str | None:
        user = body["messages"][-1]["content"]
        if 'integer "score"' in user:
            return json.dumps({"rationale": "ok", "score": 4})
        if '"supported"' in user:
            return json.dumps({"supported": True, "quote": ""})
        if body.get("response_format") is None and "Question:" in user:
            return "The answer is 23 marks, per the reference text."  # many identical answers: dedup has work
        return None

    with FakeOpenAI(responder=responder) as srv:
        cfg = {
            "project": "t",
            "teacher": {"base_url": srv.base_url, "model": "fake-model", "retries": 0},
            "generate": {"mix": {"augment": 2, "new_questions": 1}},
        }
        ws = Workspace.init(tmp_path / "w", yaml.safe_dump(cfg))
        run_ingest(ws, [corpus / "docs", corpus / "seeds"])
        gen = run_generate(ws, prepare(ws, 30))
        rep = run_filters(ws)
        again = run_filters(ws)
    assert [s.name for s in rep.steps] == [
        "generate",
        "validity",
        "rules",
        "exact_dedup",
        "near_dedup",
        "embedding_dedup",
        "facts",
        "question",
        "reader",
        "grounding",
        "judge",
    ]
    for a, b in itertools.pairwise(rep.steps):
        assert b.rows_in == a.rows_out  # a funnel: each stage sees what the previous kept
    assert rep.steps[-1].rows_out == rep.kept
    assert rep.steps[3].dropped.get("exact_duplicate", 0) > 0
    rows = ws.records(rep.version)
    assert len(rows) == len(ws.records(gen.manifest)) and rep.synthetic == len(gen.new)
    dropped = [r for r in rows if r.origin == "synthetic" and not r.kept]
    assert dropped and all(any(not v.keep and v.reason for v in r.verdicts.values()) for r in dropped)
    assert not again.created and again.version == rep.version  # same inputs: same version


def test_rerun_ignores_scores_left_by_the_previous_run() -> None:
    """Dedup keeps the best-judged duplicate, but the judge runs after it: stale judge scores must not leak in."""
    from tether.filters.dedup import ExactDedup
    from tether.filters.stage import apply_filters

    class Judge:  # stands in for LLMJudge: writes a score, keeps everything
        name, scores = "judge", ("judge",)

        def judge(self, records):
            for r in records:
                r.scores["judge"] = 1.0
            return [Verdict(keep=True) for _ in records]

    a, b = row("Permit fee?", "23 marks."), row("Permit fee?", "23 marks!", strategy="x")
    first = asyncio.run(apply_filters([a, b], [ExactDedup(), Judge()]))
    kept_first = [r.id for r in (a, b) if r.kept]
    b.scores["judge"] = 5.0  # as if an earlier run had judged b higher
    asyncio.run(apply_filters([a, b], [ExactDedup(), Judge()]))
    assert [r.id for r in (a, b) if r.kept] == kept_first
    assert first[1].dropped == {"exact_duplicate": 1}


def test_truncation_is_a_cut_not_a_missing_full_stop() -> None:
    spans = [
        row("What does x or y return?", "pass on their signal to an unknown second messenger molecule"),
        row("Which order?", "from left to right"),
        row("Fee?", "46 marks"),
    ]
    cut = [
        row("Fee?", "The standing charge is 31 marks per"),
        row("Fee?", "Rental registration costs"),
        row("Fee?", "A metered water bill has two parts:"),  # a list's lead-in, its items missing
        row("Fee?", "A long answer that the server stopped.", meta={"finish_reason": "length"}),
    ]
    v = ValidityFilter()
    assert reasons(v.judge(spans)) == ["keep"] * 3
    assert v.check(row("How many councillors?", "The Town Council has 11 councillors elected from five wards:")).keep
    assert reasons(v.judge(cut)) == ["truncated"] * 4
    assert "finish_reason=length" in v.check(cut[3]).detail
    # seeds that all end with a full stop make a sentence-length answer without one suspect (the seeds' style)
    styled = ValidityFilter(punctuated_seeds=1.0)
    got = styled.judge([row("Fee?", "A resident permit for a first vehicle costs 46 marks"), row("Fee?", "46 marks")])
    assert reasons(got) == ["truncated", "keep"]
    assert "unlike 100% of the seed answers" in got[0].detail
    # ... unless the answer is the document's own words: a list item copied from the chunk was not cut off
    listed = "Gardens smaller than 400 square metres: up to 3 hives"
    item = row("Hives?", listed, meta={"extractive": "the focus sentence"})
    assert reasons(styled.judge([item])) == ["keep"]


def test_filters_build_themselves_from_config(tmp_path) -> None:
    import yaml

    from tether.filters.registry import REGISTRY, BuildContext, build_filters, filter_class
    from tether.workspace.store import Workspace

    ws = Workspace.init(tmp_path / "w", yaml.safe_dump({"filters": {"validity": {"final_punctuation": "required"}}}))
    seeds = [Record(kind="qa", prompt="q?", response="An answer", origin="human")]
    ctx = BuildContext(ws.config, {"c1": CHUNK}, load_templates({}), "town", records=seeds)
    names = ["validity", "rules", "exact_dedup", "near_dedup", "facts", "grounding"]
    built = build_filters(ctx, names)
    assert [f.name for f in built] == names
    assert built[0].punctuated_seeds == 0.0  # required by config even though the seed has no full stop
    assert built[5].client is None  # no judge client in this context: lexical grounding only
    for name in REGISTRY:  # every name in the config's list has a class with the same name
        assert filter_class(name).name == name


def test_the_judge_scores_first_and_its_reason_is_capped() -> None:
    from tether.filters.judged import RATIONALE_CHARS, JudgeScore
    from tether.llm.structured import schema_of

    schema = schema_of(JudgeScore)
    assert list(schema["properties"]) == ["score", "rationale"]  # the grammar makes the score the first token
    assert schema["properties"]["rationale"]["maxLength"] == RATIONALE_CHARS
    long = JudgeScore.model_validate({"score": 2, "rationale": "because " * 100})
    assert long.score == 2 and len(long.rationale) == RATIONALE_CHARS  # an unconstrained server's essay: cut, kept
