"""How much say a model-based filter (grounding, judge) gets: decided per judge from measurements, not by default.

A judge's verdict is a measurement to calibrate, not a fact. `tether judge calibrate` scores planted true and false
rows with each model filter and stores the result here, keyed by the judge's identity (model + digest) and its
template hash, so a new judge model or a reworded prompt starts uncalibrated again. The funnel then reads:

* uncalibrated or informative: the model may **veto** (drop a row the deterministic checks kept) but never
  **rescue** (keep a row the deterministic evidence rejects);
* trusted (AUC >= `trust_auc` and false rows kept <= `max_fpr`): veto and rescue;
* uninformative (AUC below `min_auc`): not asked at all, by default. A judge at chance drops true and false rows
  at the same rate: its vetoes cost yield and buy no precision (measured: the embedded SmolLM2-135M judge kept 54 %
  of true and 54 % of false planted rows). `filters.judge.uninformative: veto` lets it veto anyway.

`filters.judge.trust` can force veto-only or rescue; the funnel says which applies and why.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from tether.config import CalibrationConfig, JudgeConfig
from tether.llm.types import TeacherIdentity

CALIBRATION_FILE = "calibration.json"
# a calibration measures the judge only when it answered this share of its planted rows (the rest: calls that got
# no answer at all); one made of failed calls would mark a working judge uninformative and switch it off for good
MIN_ANSWERED = 0.8


class FilterCalibration(BaseModel):
    """One model filter measured on planted rows."""

    filter: str
    judge: str  # model@digest
    template: str  # template hash
    true_rows: int
    false_rows: int
    tpr: float  # true rows kept
    fpr: float  # false rows kept
    auc: float
    state: str  # uninformative / informative / trusted
    false_dropped_by_kind: dict[str, float] = {}
    created_at: str = ""
    asked: int | None = None  # judge calls made (None: stored before tether counted them)
    answered: int | None = None  # of them, calls the model answered

    def measured(self) -> bool:
        """Enough of its calls were answered for the numbers to describe the judge (see MIN_ANSWERED)."""
        return bool(self.asked) and (self.answered or 0) >= MIN_ANSWERED * (self.asked or 0)


def method_hash(filter_name: str, template_hash: str, method: str = "") -> str:
    """What a model filter's calibration is of: its template, and for the judge how its score is read
    (`judge_method`): a judge whose score is a probability-weighted mean or a mean of votes is another instrument
    than one that writes one greedy score, and is calibrated apart."""
    return f"{template_hash}+{method}" if filter_name == "judge" and method else template_hash


def judge_method(cfg: JudgeConfig) -> str:
    """The judge's scoring as part of its calibration key ("" for one greedy score, as keys were before)."""
    if cfg.scoring == "votes":
        return f"votes{cfg.votes}"
    return "" if cfg.scoring == "greedy" else cfg.scoring


def filter_method(filter_name: str, template_hash: str, judge: JudgeConfig) -> str:
    """`method_hash` of a model filter under the configured judge's scoring: the calibration a run looks up and
    stores."""
    return method_hash(filter_name, template_hash, judge_method(judge))


def judge_key(filter_name: str, identity: TeacherIdentity, template_hash: str) -> str:
    return f"{filter_name}|{identity.model}@{identity.digest or '-'}|{template_hash}"


def classify(auc: float, fpr: float, cfg: CalibrationConfig) -> str:
    if auc < cfg.min_auc:
        return "uninformative"
    if auc >= cfg.trust_auc and fpr <= cfg.max_fpr:
        return "trusted"
    return "informative"


class CalibrationStore:
    """`.tether/calibration.json`: the latest calibration per judge key."""

    def __init__(self, store: Path):
        self.path = store / CALIBRATION_FILE

    def load(self) -> dict[str, FilterCalibration]:
        if not self.path.is_file():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        return {k: FilterCalibration.model_validate(v) for k, v in data.items()}

    def save(self, key: str, cal: FilterCalibration) -> None:
        if not cal.measured():
            raise ValueError(f"{key}: a calibration of {cal.answered}/{cal.asked} answered calls is not stored")
        data = {k: v.model_dump() for k, v in self.load().items()}
        cal.created_at = cal.created_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        data[key] = cal.model_dump()
        self.path.write_text(json.dumps(data, indent=2), encoding="utf-8")

    def get(self, key: str) -> FilterCalibration | None:
        """The stored calibration, unless it was not measured on answered calls (stale: treated as missing, so
        the judge is calibrated again)."""
        cal = self.load().get(key)
        return cal if cal is not None and cal.measured() else None


@dataclass(frozen=True)
class Trust:
    state: str  # uncalibrated / uninformative / informative / trusted / forced
    ask: bool  # whether the model is asked at all (an advisory judge is not: its answer would change nothing)
    can_veto: bool
    can_rescue: bool
    note: str  # one line for the top of the funnel

    @classmethod
    def decide(cls, name: str, mode: str, cal: FilterCalibration | None, uninformative: str = "advisory") -> Trust:
        measured = f"AUC {cal.auc:.2f}, true kept {cal.tpr:.0%}, false kept {cal.fpr:.0%}" if cal else ""
        if mode == "veto":
            return cls("forced", True, True, False, f"{name}: veto only (filters.judge.trust: veto)")
        if mode == "rescue":
            return cls("forced", True, True, True, f"{name}: may veto and rescue (filters.judge.trust: rescue)")
        if cal is None:
            return cls(
                "uncalibrated",
                True,
                True,
                False,
                f"{name}: uncalibrated, so it may only veto (run `tether judge calibrate`)",
            )
        if cal.state == "trusted":
            return cls("trusted", True, True, True, f"{name}: trusted ({measured}): may veto and rescue")
        if cal.state == "uninformative":
            if uninformative == "veto":
                return cls("uninformative", True, True, False, f"{name}: UNINFORMATIVE ({measured}): veto only, as "
                           "configured (filters.judge.uninformative: veto)")  # fmt: skip
            return cls(
                "uninformative",
                False,
                False,
                False,
                f"{name}: UNINFORMATIVE ({measured}): near chance, so not asked; its vetoes would drop true and false "
                f"rows alike (filters.judge.uninformative: veto to let it)",
            )
        return cls(cal.state, True, True, False, f"{name}: informative, not trusted ({measured}): may only veto")
