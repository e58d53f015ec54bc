"""Teacher accuracy estimate and judge calibration, against a scripted server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import yaml

from tether.filters.calibration import (
    calibrate_judge,
    estimate_teacher_accuracy,
    fact_recall,
    load_labels,
    token_f1,
)
from tether.filters.judged import LLMJudge
from tether.generate.stage import gen_context
from tether.seeds.stage import run_ingest
from tether.testing.fake_openai import FakeOpenAI
from tether.workspace.store import Workspace


def test_scores() -> None:
    assert token_f1("A permit costs 23 marks per year.", "It costs 23 marks a year.") > 0.5
    assert token_f1("", "23 marks") == 0.0
    assert fact_recall("It costs 23 marks; use form BR-17.", "23 marks, Form BR-17") == 1.0
    assert fact_recall("It costs 20 marks.", "23 marks at 07:40") == 0.0
    assert fact_recall("anything", "no numbers here") is None


def responder(body: dict) -> str | None:
    user = body["messages"][-1]["content"]
    if 'integer "score"' in user:  # the judge only likes answers that name a fee in marks
        answer = user.split("Answer:", 1)[-1].split("\n")[0]
        return json.dumps({"rationale": "r", "score": 5 if "marks" in answer else 2})
    if "Question:" in user:  # the teacher answers correctly only about permits
        return "A resident permit costs 23 marks per year." if "permit" in user.lower() else "I think 5 marks."
    return None


def test_teacher_accuracy_and_judge_calibration(tmp_path: Path, corpus: Path) -> None:
    with FakeOpenAI(responder=responder) as srv:
        cfg = {"project": "t", "teacher": {"base_url": srv.base_url, "model": "fake-model", "retries": 0}}
        ws = Workspace.init(tmp_path / "w", yaml.safe_dump(cfg))
        run_ingest(ws, [corpus / "docs", corpus / "seeds"])
        labels = tmp_path / "labels.jsonl"
        labels.write_text(
            '{"question": "Fee?", "answer": "23 marks", "label": "good"}\n'
            '{"question": "Fee?", "answer": "free", "label": "bad"}\n'
            '{"question": "Hours?", "answer": "early", "label": "good"}\n'
            '{"question": "Hours?", "answer": "no label here"}\n'
        )

        async def go():
            async with gen_context(ws) as (ctx, seeds):
                acc = await estimate_teacher_accuracy(ctx, seeds, n=10)
                judge = LLMJudge(ctx.client, ctx.templates["judge"], ctx.domain, ctx.chunks, threshold=3)
                cal = await calibrate_judge(judge, seeds, load_labels(labels))
                return acc, cal

        acc, cal = asyncio.run(go())
    assert acc.n == 4  # all seeds (fewer than the sample)
    permit = next(i for i in acc.items if "permit" in i.question.lower())
    assert permit.fact_recall == 1.0 and permit.f1 > 0.5
    assert acc.fact_recall is not None and 0 < acc.fact_recall < 1  # right about permits, wrong elsewhere
    assert cal.seeds == 4 and sum(cal.seed_scores.values()) == 4
    assert cal.seed_pass_rate == 0.5  # 2 of the 4 seed answers mention marks
    assert cal.labelled == 3  # the unlabelled row is ignored
    assert cal.agreement == round(2 / 3, 4) and cal.precision == 1.0 and cal.recall == 0.5
