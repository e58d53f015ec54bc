"""The judge as a second abstention detector: a student that declines in words the patterns do not know counts
as declining only when the judge, calibrated on planted replies, gets them right; an uninformative judge is not
trusted and the patterns alone decide. Student and judge are a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.conftest import EXAMPLE
from tether.config import render_default_config
from tether.evaluate.runner import Target
from tether.evaluate.stage import run_eval
from tether.evaluate.unanswerable import abstains
from tether.seeds.stage import run_ingest
from tether.testing.fake_openai import FakeOpenAI
from tether.workspace.store import Workspace

HELDOUT = {
    (row := json.loads(line))["question"]: row["answer"]
    for line in (EXAMPLE / "heldout" / "heldout.jsonl").read_text().splitlines()
    if line
}
OWN_WORDS = "That one is unfamiliar to me, so I will leave it."
DECLINE_WORDS = ("unfamiliar", "can't place", "not one of", "isn't a real")


def reply_of(prompt: str) -> str:
    return re.search(r"\nReply: (.*)\nAnswer as JSON", prompt, re.S).group(1)


def responder(good_judge: bool):
    def reply(body: dict) -> str | None:
        last = body["messages"][-1]["content"]
        if "Does the reply decline" in last:
            said = reply_of(last).lower()
            declines = any(w in said for w in DECLINE_WORDS) if good_judge else True
            return json.dumps({"declines": declines})
        if "Does the reply state the same fact" in last:
            return json.dumps({"same_fact": True})
        return f"The answer is {HELDOUT[last]}." if last in HELDOUT else OWN_WORDS

    return reply


def workspace(root: Path, url: str) -> Workspace:
    cfg = yaml.safe_load(render_default_config("brindlemoor", EXAMPLE, root))
    cfg["teacher"].update(base_url=url, model="fake-model", backoff_s=0.01, retries=1)
    cfg["eval"]["judge"] = True
    ws = Workspace.init(root, yaml.safe_dump(cfg))
    run_ingest(ws, [])
    return ws


def test_a_calibrated_judge_finds_declines_the_patterns_miss(tmp_path: Path) -> None:
    assert not abstains(OWN_WORDS, "Quayby ward")  # the patterns read it as an answer
    results = {}
    for good in (True, False):
        with FakeOpenAI(responder=responder(good)) as srv:
            ws = workspace(tmp_path / f"w{good}", srv.base_url)
            results[good] = run_eval(ws, Target("endpoint", "fake-model"), endpoint=ws.config.teacher)
    trusted, untrusted = results[True]["hallucination"], results[False]["hallucination"]
    n = trusted["n"]
    assert n >= 15 and trusted["judge"]["n"] == 2 * n
    assert trusted["judge"]["trusted"] and trusted["judge"]["accuracy"] == 1.0
    assert trusted["judge"]["declines_found"] == n and trusted["rate"] == 0.0
    assert all(it["abstained_by"] == "judge" for it in results[True]["unanswerable_items"])
    # a judge that says "declines" to everything is right on half the planted replies: not trusted
    assert not untrusted["judge"]["trusted"] and untrusted["judge"]["accuracy"] == 0.5
    assert untrusted["judge"]["declines_found"] == 0 and untrusted["rate"] == 1.0
