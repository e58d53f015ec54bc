"""Teacher accuracy, planted rows, and judge calibration (TPR/FPR/AUC, trust) against scripted servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import yaml

from tether.config import CalibrationConfig
from tether.filters.calibration import auc, calibrate, load_labels
from tether.filters.planted import FALSE_KINDS, plant, reword, shift_facts, truncate
from tether.filters.sequential import futile, rounds, settled
from tether.filters.stage import run_filters
from tether.filters.trust import CalibrationStore, FilterCalibration, Trust
from tether.generate.accuracy import estimate_teacher_accuracy, fact_recall, token_f1
from tether.generate.stage import gen_context
from tether.seeds.stage import run_ingest
from tether.testing.fake_openai import FakeOpenAI
from tether.text.facts import extract_facts
from tether.workspace.store import Workspace

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "brindlemoor"


def test_scores() -> None:
    assert token_f1("A permit costs 23 marks per year.", "It costs 23 marks a year.") > 0.5
    assert token_f1("", "23 marks") == 0.0
    assert fact_recall("It costs 23 marks; use form BR-17.", "23 marks, Form BR-17") == 1.0
    assert fact_recall("It costs 20 marks.", "23 marks at 07:40") == 0.0
    assert fact_recall("anything", "no numbers here") is None


def test_auc() -> None:
    assert auc([3, 4, 5], [1, 2]) == 1.0
    assert auc([1, 2], [3, 4]) == 0.0
    assert auc([2, 2], [2, 2]) == 0.5  # ties count half
    assert auc([1, 3], [2]) == 0.5
    assert auc([], [1]) == 0.5


def responder(body: dict) -> str | None:
    user = body["messages"][-1]["content"]
    if 'integer "score"' in user:  # the judge only likes answers that name a fee in marks
        answer = user.split("Answer:", 1)[-1].split("\n")[0]
        return json.dumps({"rationale": "r", "score": 5 if "marks" in answer else 2})
    if "Question:" in user:  # the teacher answers correctly only about permits
        return "A resident permit costs 23 marks per year." if "permit" in user.lower() else "I think 5 marks."
    return None


def test_teacher_accuracy(tmp_path: Path, corpus: Path) -> None:
    with FakeOpenAI(responder=responder) as srv:
        cfg = {"project": "t", "teacher": {"base_url": srv.base_url, "model": "fake-model", "retries": 0}}
        ws = Workspace.init(tmp_path / "w", yaml.safe_dump(cfg))
        run_ingest(ws, [corpus / "docs", corpus / "seeds"])

        async def go():
            async with gen_context(ws) as (ctx, seeds):
                return await estimate_teacher_accuracy(ctx, seeds, n=10)

        acc = asyncio.run(go())
    assert acc.n == 4  # all seeds (fewer than the sample)
    permit = next(i for i in acc.items if "permit" in i.question.lower())
    assert permit.fact_recall == 1.0 and permit.f1 > 0.5
    assert acc.fact_recall is not None and 0 < acc.fact_recall < 1  # right about permits, wrong elsewhere


@pytest.fixture(scope="module")
def example_seeds(tmp_path_factory) -> tuple[Workspace, list]:
    root = tmp_path_factory.mktemp("ex")
    ws = Workspace.init(root / "w", yaml.safe_dump({"project": "brindlemoor"}))
    run_ingest(ws, [EXAMPLE / "docs", EXAMPLE / "seeds"])
    return ws, [r for r in ws.records(ws.head()) if r.origin == "human"]


def test_planted_rows_are_labelled_corruptions_of_the_seeds(example_seeds) -> None:
    _, seeds = example_seeds
    planted = plant(seeds)
    by_kind: dict[str, list] = {}
    for p in planted:
        by_kind.setdefault(p.kind, []).append(p)
    assert len(by_kind["seed"]) == len(seeds) and all(p.truth for p in by_kind["seed"])
    for kind in FALSE_KINDS:
        assert len(by_kind[kind]) > len(seeds) // 2 and not any(p.truth for p in by_kind[kind])
    for p in planted:
        seed = next(s for s in seeds if s.id == p.seed_id)
        assert p.record.question() == seed.question() and p.record.source == seed.source
        assert p.record.parents == []  # no filter can find the seed's own answer among its evidence
        assert p.record.origin == "synthetic" and p.record.strategy == f"planted:{p.kind}"
        if p.kind != "seed":
            assert p.record.answer() != seed.answer()
    docs = {s.id: s.source.doc_id for s in seeds}
    for p in by_kind["swapped_same_doc"]:
        donor = next(s for s in seeds if s.answer() == p.record.answer())
        assert docs[donor.id] == docs[p.seed_id]
    for p in by_kind["swapped_other_doc"]:
        donor = next(s for s in seeds if s.answer() == p.record.answer())
        assert docs[donor.id] != docs[p.seed_id]
    assert plant(seeds) == planted  # deterministic: same requests, same cache hits


def test_corruptions() -> None:
    shifted = shift_facts("Ordinary meetings are at 18:45 on the second Tuesday; a fee of 1,200 marks.", [])
    assert shifted is not None
    before = {f.text for f in extract_facts("at 18:45 on the second Tuesday; a fee of 1,200 marks")}
    assert before.isdisjoint({f.text for f in extract_facts(shifted)} - {"Tuesday"})
    assert shift_facts("Apply at the Moot Hall.", ["Civic Counter"]) == "Apply at the Civic Counter."
    assert shift_facts("It is free.", []) is None
    cut = truncate("A petition needs at least 140 valid signatures from residents aged 16 or over.")
    assert cut == "A petition needs at least 140 valid" and truncate("Too short to cut.") is None
    assert reword("A permit costs 46 marks.") == "A permit is priced at 46 marks."
    assert reword("Form BR-31.") == "According to the text, Form BR-31."


def example_ws(root: Path, url: str, **filters) -> Workspace:
    """The example domain ingested into a workspace whose teacher (and judge) is the scripted server at `url`."""
    cfg = {"project": "brindlemoor", "teacher": {"base_url": url, "model": "fake-model", "retries": 0}}
    if filters:
        cfg["filters"] = filters
    ws = Workspace.init(root / "w", yaml.safe_dump(cfg))
    run_ingest(ws, [EXAMPLE / "docs", EXAMPLE / "seeds"])
    return ws


class Judges:
    """Grounding that tells the truth (supported, with a verbatim quote, iff every number of the answer is in the
    reference text) and a rubric judge at chance (always 4)."""

    def __init__(self) -> None:
        self.asked = {"grounding": 0, "judge": 0}

    def __call__(self, body: dict) -> str | None:
        user = body["messages"][-1]["content"]
        if 'integer "score"' in user:
            self.asked["judge"] += 1
            return json.dumps({"rationale": "fine", "score": 4})
        if '"supported"' in user:
            self.asked["grounding"] += 1
            text = user.split('"""')[1]
            answer = user.split("Answer:", 1)[1].split("\n")[0]
            nums = re.findall(r"\d+", answer)
            ok = bool(nums) and all(re.search(rf"\b{n}\b", text) for n in nums) and len(answer.split()) > 6
            sentence = next((s for s in re.split(r"(?<=\.)\s+", text) if nums and nums[0] in s), "")
            return json.dumps({"supported": ok, "quote": sentence if ok else ""})
        return None


def test_calibration_marks_a_truthful_grounding_and_a_chance_judge(tmp_path: Path) -> None:
    judges = Judges()
    with FakeOpenAI(responder=judges) as srv:
        ws = example_ws(tmp_path, srv.base_url)
        labels = tmp_path / "labels.jsonl"
        labels.write_text(
            '{"question": "Permit fee?", "answer": "A resident permit for a first vehicle costs 46 marks per year.",'
            ' "label": "good"}\n{"question": "Permit fee?", "answer": "It costs 12 marks.", "label": "bad"}\n'
            '{"question": "Hours?", "answer": "no label here"}\n'
        )
        rep = asyncio.run(calibrate(ws, labels))
    by = {f.filter: f for f in rep.filters}
    assert set(by) == {"validity", "facts", "grounding", "judge"}
    assert rep.planted["labelled"] == 2
    assert by["judge"].auc == 0.5 and by["judge"].state == "uninformative"
    assert by["judge"].tpr == by["judge"].fpr == 0.0  # a constant 4 is under the default bar of 4.5
    # a judge at chance is settled after the first round (8 seeds): the last 4 seeds' rows are never put to it;
    # grounding's AUC could not leave the informative band with all 12 (futile), so it stops there too
    assert by["judge"].seeds == 8 and judges.asked["judge"] == by["judge"].true_rows + by["judge"].false_rows
    if 0.75 <= by["grounding"].auc < 0.85:
        assert rep.seeds == 8 and by["grounding"].seeds == 8
    assert by["grounding"].auc >= 0.75 and by["grounding"].state in ("informative", "trusted")
    # the deterministic filters are scored on the rows the rounds asked (8 seeds here): 7 of 8 is 0.875
    assert by["facts"].false_dropped_by_kind["numbers_shifted"] >= 0.85 and by["facts"].tpr >= 0.85
    assert not by["facts"].model and by["facts"].state == ""
    stored = CalibrationStore(ws.store).load()
    assert {c.filter for c in stored.values()} == {"grounding", "judge"}
    assert all(c.judge.startswith("fake-model@") for c in stored.values())
    assert (ws.store / "reports" / "judge-calibration.json").is_file()
    assert load_labels(labels)[0].truth and not load_labels(labels)[1].truth


def test_filter_calibrates_first_and_obeys_the_trust(tmp_path: Path) -> None:
    """No calibration yet: `tether filter` measures the judges first, then the chance judge is not asked at all."""
    judges = Judges()
    with FakeOpenAI(responder=judges) as srv:
        ws = example_ws(tmp_path, srv.base_url, calibration={"seeds": 6})
        add_rows(ws, [("What is the standard parking fine?", "It is a fee you pay at the counter, often quite high.")])
        seen: list = []
        trust_lines: list[str] = []
        run_filters(ws, on_calibrated=seen.append, on_trust=trust_lines.extend)
        asked_after_calibration = dict(judges.asked)
        run_filters(ws, on_calibrated=seen.append)  # calibrated now: no second calibration
    assert len(seen) == 1
    assert judges.asked["judge"] == asked_after_calibration["judge"]  # advisory judge never asked while filtering
    assert any("judge: UNINFORMATIVE" in line for line in trust_lines)


def add_rows(ws: Workspace, answers: list[tuple[str, str]]) -> None:
    """A generate version holding the seeds plus synthetic rows (question, answer) on the parking chunk."""
    from tether.records import Record, Source, Teacher, records_to_table

    head = ws.head()
    chunk = next(c for c in ws.chunks(head) if "45 marks" in c.text)
    rows = [
        Record(
            prompt=q,
            response=a,
            origin="synthetic",
            teacher=Teacher(model="fake-model"),
            strategy="new_question",
            source=Source(doc_id=chunk.doc_id, chunk_id=chunk.chunk_id),
        )
        for q, a in answers
    ]
    seeds = ws.human_records(head)
    ws.commit("generate", {**head.tables, "records": records_to_table(seeds + rows)}, [head.id], "test")


def test_a_voting_judge_is_calibrated_with_its_votes(tmp_path: Path) -> None:
    """`filters.judge: {scoring: votes, votes: 3}` is another instrument: its calibration asks three sampled
    judgements per planted row (a single judgement stored under the voting judge's key would calibrate the wrong
    judge)."""
    judges = Judges()
    with FakeOpenAI(responder=judges) as srv:
        ws = example_ws(tmp_path, srv.base_url, judge={"scoring": "votes", "votes": 3})
        rep = asyncio.run(calibrate(ws))
    by = {f.filter: f for f in rep.filters}
    assert judges.asked["judge"] == 3 * (by["judge"].true_rows + by["judge"].false_rows)
    stored = CalibrationStore(ws.store).load()
    assert any(key.startswith("judge|") and key.endswith("+votes3") for key in stored)


def test_calibration_is_sized_by_what_the_run_asks(tmp_path: Path) -> None:
    """A model filter that will ask about no row of this run is not calibrated (minutes, deciding nothing): no
    synthetic row, no judge; answers that are sentences of their chunk, no grounding. A later run that needs it
    calibrates it then."""
    judges = Judges()
    with FakeOpenAI(responder=judges) as srv:
        ws = example_ws(tmp_path, srv.base_url, calibration={"seeds": 6})
        seen: list = []
        lines: list[str] = []
        run_filters(ws, on_calibrated=seen.append, on_trust=lines.extend)  # seeds only: nothing to judge
        assert seen == [] and judges.asked == {"grounding": 0, "judge": 0}
        assert any("judge: not calibrated (yet)" in line for line in lines)
        add_rows(ws, [("What is the standard parking fine?", "Standard parking fine – 45 marks.")])
        lines.clear()
        run_filters(ws, on_calibrated=seen.append, on_trust=lines.extend)
        assert [{f.filter for f in r.filters if f.model} for r in seen] == [{"judge"}]
        assert judges.asked["grounding"] == 0 and judges.asked["judge"] > 0
        assert any("grounding: not calibrated (yet)" in line for line in lines)
        assert not any("grounding: uncalibrated" in line for line in lines)  # one line per filter
        add_rows(ws, [("What is the standard parking fine?", "It is a fee you pay at the counter, often quite high.")])
        run_filters(ws, on_calibrated=seen.append)  # an answer the chunk's words do not carry: grounding is needed
        assert [{f.filter for f in r.filters if f.model} for r in seen[1:]] == [{"grounding"}]
        assert judges.asked["grounding"] > 0
    assert {c.filter for c in CalibrationStore(ws.store).load().values()} == {"grounding", "judge"}


def test_a_state_is_settled_only_when_its_interval_allows() -> None:
    cfg = CalibrationConfig()
    assert settled(0.5, 1.0, 8, 30, cfg) == "uninformative"  # a chance judge: no more rows can lift it to 0.65
    assert settled(0.6, 0.5, 8, 30, cfg) is None  # near the line: ask more
    assert settled(0.93, 0.0, 8, 30, cfg) is None  # trusted or only informative: not yet known
    assert settled(0.99, 0.0, 8, 30, cfg) == "trusted"
    assert settled(1.0, 0.0, 12, 46, cfg) == "trusted"
    assert settled(0.5, 1.0, 1, 3, cfg) is None  # too few rows to settle anything
    # AUC 0.61 after 8 of 12 seeds: 12 cannot settle it either, so the last round is not worth its calls; AUC 0.64
    # after 4 of 12 may still fall below 0.65 with certainty, and a trusted-looking 0.97 may still be confirmed
    assert futile(0.61, 0.5, 8, 31, 8, 12, cfg)
    assert not futile(0.97, 0.0, 8, 30, 8, 12, cfg)
    assert not futile(0.5, 1.0, 4, 15, 4, 12, cfg) and not futile(0.61, 0.5, 8, 31, 12, 12, cfg)
    ids = [f"s{i}" for i in range(12)]
    first, *rest = rounds(ids, cfg)
    assert len(first) == 8 and sorted(sum(rest, first)) == sorted(ids)
    assert {"s0", "s10"} <= set(first)  # the first round spans the whole list
    assert [sorted(r) for r in rounds(ids, CalibrationConfig(round_seeds=0))] == [sorted(ids)]


def test_trust_decisions() -> None:
    cal = FilterCalibration(filter="judge", judge="m@-", template="t", true_rows=10, false_rows=10, tpr=0.5,
                            fpr=0.5, auc=0.5, state="uninformative")  # fmt: skip
    assert Trust.decide("judge", "calibrated", None).can_veto
    assert not Trust.decide("judge", "calibrated", None).can_rescue
    advisory = Trust.decide("judge", "calibrated", cal)
    assert not advisory.ask and not advisory.can_veto
    assert Trust.decide("judge", "calibrated", cal, uninformative="veto").can_veto
    trusted = Trust.decide("judge", "calibrated", cal.model_copy(update={"state": "trusted", "auc": 0.95}))
    assert trusted.can_rescue and trusted.can_veto
    assert Trust.decide("judge", "rescue", cal).can_rescue
    assert not Trust.decide("judge", "veto", cal).can_rescue


def test_a_separate_judge_endpoint(tmp_path: Path) -> None:
    """filters.judge.endpoint: grounding and the judge (and their calibration) talk to it, not to the teacher."""
    judges = Judges()
    with FakeOpenAI(responder=judges, model="big-judge") as judge_srv, FakeOpenAI(model="small-teacher") as teacher:
        cfg = {
            "project": "brindlemoor",
            "teacher": {"base_url": teacher.base_url, "model": "small-teacher", "retries": 0},
            "filters": {
                "calibration": {"seeds": 4},
                "judge": {"endpoint": {"base_url": judge_srv.base_url, "model": "big-judge", "retries": 0}},
            },
        }
        ws = Workspace.init(tmp_path / "w", yaml.safe_dump(cfg))
        run_ingest(ws, [EXAMPLE / "docs", EXAMPLE / "seeds"])
        add_rows(ws, [("What is the standard parking fine?", "It is a fee you pay at the counter, often quite high.")])
        run_filters(ws)
        assert judges.asked["grounding"] > 0 and not teacher.requests
    stored = CalibrationStore(ws.store).load()
    assert stored and all(c.judge.startswith("big-judge@") for c in stored.values())


def test_judge_calibrate_and_plan_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tether.cli import app

    with FakeOpenAI(responder=Judges()) as srv:
        ws = example_ws(tmp_path, srv.base_url, calibration={"seeds": 4})
        runner = CliRunner()
        plan = runner.invoke(app, ["plan", "--budget", "20", "-w", str(ws.root)])
        assert plan.exit_code == 0, plan.output
        assert "for a first judge calibration" in plan.output and "typical rates" in plan.output
        res = runner.invoke(app, ["judge", "calibrate", "-w", str(ws.root)])
        assert res.exit_code == 0, res.output
        assert "true kept (TPR)" in res.output and "AUC" in res.output
        assert "judge is uninformative with this model" in res.output
        plan = runner.invoke(app, ["plan", "--budget", "20", "-w", str(ws.root)])
        assert "for a first judge calibration" not in plan.output
