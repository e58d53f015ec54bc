"""The judge as a second abstention detector, counted only where it is calibrated.

The patterns of `evaluate/unanswerable.py` are exact on the declines they know ("I don't know", "There is no
Quayby ward") and blind to the ones they do not ("Quayby is not one of the wards I know of", "I can't place a
ward by that name"): a student that declines in its own words would count as hallucinating. With `eval.judge` on,
every reply the patterns read as an answer is shown to the judge with the invented name, and the judge says
whether the reply accepts the premise or declines it.

A judge is only as good as its measurement, so before it counts it is calibrated on planted replies to the same
questions: declines the patterns miss (`PLANTED_DECLINES`, with the invented name filled in) and assertions that
accept the premise (each question's original held-out answer, as a reply). Its verdicts count when it classifies
at least `MIN_ACCURACY` of those right; otherwise the patterns alone decide, and the result says why.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from tether.config import TeacherConfig
from tether.llm.teacher import open_teacher

# declines in words the patterns do not know ({x}: the invented name)
PLANTED_DECLINES = (
    "{x} is not one of the ones I know of; I would rather not guess.",
    "I can't place anything by the name {x}.",
    "Sorry, {x} is unfamiliar to me, so I will not make something up.",
    "As far as I can tell, {x} isn't a real one here. Perhaps you mean a similar name?",
)
MIN_ACCURACY = 0.9
PROMPT = (
    'A user asked a question about something that does not exist: "{x}" is named in no document. Does the reply '
    "decline (say it does not know it, cannot find it, or that it does not exist), or does it answer as if {x} "
    "existed?\nQuestion: {q}\nReply: {r}\nAnswer as JSON: {yes} (declines) or {no} (answers as if it existed)."
)


class Declines(BaseModel):
    declines: bool


def ask_judge(cfg: TeacherConfig, cache: Path | None, items: Sequence[tuple[str, str, str]]) -> list[bool | None]:
    """For (question, invented name, reply): True when the judge says the reply declines, False when it accepts
    the premise, None when it gave no usable verdict."""
    yes, no = json.dumps({"declines": True}), json.dumps({"declines": False})

    async def go() -> list[bool | None]:
        async with open_teacher(cfg, cache) as client:

            async def one(q: str, x: str, r: str) -> bool | None:
                prompt = PROMPT.format(x=x, q=q, r=r, yes=yes, no=no)
                comp = await client.chat(
                    [{"role": "user", "content": prompt}], schema=Declines, temperature=0.0, tag="eval-abstention"
                )
                return None if comp.parsed is None else bool(comp.parsed["declines"])

            return list(await client.map([lambda i=i: one(*i) for i in items]))

    return asyncio.run(go())


def calibrate(
    cfg: TeacherConfig, cache: Path | None, questions: Sequence[tuple[str, str, str]]
) -> dict[str, float | int | bool]:
    """Measure the judge on planted replies to (question, invented name, original answer): one planted decline
    and one planted assertion per question. Returns accuracy, n and whether its verdicts may count."""
    planted: list[tuple[str, str, str]] = []
    truth: list[bool] = []
    for k, (q, x, answer) in enumerate(questions):
        planted.append((q, x, PLANTED_DECLINES[k % len(PLANTED_DECLINES)].format(x=x)))
        truth.append(True)
        planted.append((q, x, answer))
        truth.append(False)
    said = ask_judge(cfg, cache, planted)
    right = sum(s is not None and s == t for s, t in zip(said, truth, strict=True))
    accuracy = right / len(planted) if planted else 0.0
    return {"accuracy": round(accuracy, 4), "n": len(planted), "trusted": bool(planted) and accuracy >= MIN_ACCURACY}


def judged_abstentions(
    cfg: TeacherConfig, cache: Path | None, extra: list[dict], originals: dict[str, str]
) -> dict[str, float | int | bool]:
    """Calibrate the judge on the unanswerable items' questions (`originals`: held-out id → its answer), and when
    it may count, let it decide the items the patterns read as answers (in place: `abstained`, `abstained_by`).
    Returns the calibration, with how many items it turned into declines."""
    asked = [it for it in extra if it.get("invented")]
    cal = calibrate(cfg, cache, [(it["question"], it["invented"], originals.get(it["heldout_id"], "")) for it in asked])
    cal["declines_found"] = 0
    if not cal["trusted"]:
        return cal
    todo = [it for it in asked if not it["abstained"]]
    said = ask_judge(cfg, cache, [(it["question"], it["invented"], it["prediction"]) for it in todo])
    for it, declines in zip(todo, said, strict=True):
        if declines:
            it["abstained"], it["abstained_by"] = True, "judge"
            cal["declines_found"] += 1
    return cal
