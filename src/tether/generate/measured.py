"""What this workspace's own filter runs measured, for the forecast: keep rates per strategy and teacher calls per
row spent by the model filters, plus the calls a first judge calibration will cost.

A forecast that assumes 85 % of rows survive the filters when this workspace's last run kept 19 % misleads the
user twice: about the rows they will get and about the budget. Once a filter run exists, its rates are used and
the forecast says so; before that, the typical rates are used and the forecast says that instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tether.filters.planted import MIN_SEEDS, no_seeds_note, plant, sample_balanced
from tether.filters.registry import MODEL_FILTERS, judge_config, needs_model
from tether.filters.trust import CalibrationStore, FilterCalibration, Trust, filter_method, judge_key
from tether.llm.teacher import planned_identity_of
from tether.prompts.templates import load_templates
from tether.records import Record, kept_mask
from tether.workspace.store import Workspace

# row strategy (as stored) -> planner strategy
STRATEGY_OF = {
    "augment_answers": "augment",
    "rephrase": "rephrase",
    "new_question": "new_questions",
    "multi_hop": "multi_hop",
}
MIN_ROWS = 10  # fewer filtered rows of a strategy than this: its rate is too noisy, the typical rate is used
ASSUMED_REACH = 0.5  # before a filter run: share of generated rows assumed to reach the model filters


@dataclass
class FunnelRates:
    version: str | None  # the filter version measured, None = typical rates
    keep: dict[str, float]  # planner strategy -> share of generated rows kept
    rows: dict[str, int]  # planner strategy -> rows the rate was measured on
    calls_per_row: float | None  # model-filter teacher calls per generated row, measured


@dataclass
class FilterForecast:
    calls: int  # teacher calls the model filters will spend on the new rows
    calibration_calls: int  # calls a first calibration will spend (0 when calibrated or not needed)
    source: str  # how the numbers were arrived at, in words


def measured_rates(ws: Workspace) -> FunnelRates:
    filtered = [m for m in ws.versions() if m.stage == "filter"]
    if not filtered:
        return FunnelRates(None, {}, {}, None)
    last = filtered[-1]
    table = ws.read_table(last, "records").select(["origin", "strategy", "verdicts"])  # columns, not Records
    kept = kept_mask(table)
    rows: Counter[str] = Counter()
    kept_rows: Counter[str] = Counter()
    for origin, strategy, k in zip(table["origin"].to_pylist(), table["strategy"].to_pylist(), kept, strict=True):
        if origin == "synthetic" and strategy in STRATEGY_OF:
            rows[STRATEGY_OF[strategy]] += 1
            kept_rows[STRATEGY_OF[strategy]] += bool(k)
    keep = {s: kept_rows[s] / n for s, n in rows.items() if n >= MIN_ROWS}
    synthetic = int(last.notes.get("synthetic", 0) or 0)
    calls = last.usage.get("calls") if last.usage else None
    per_row = calls / synthetic if calls is not None and synthetic else (0.0 if synthetic else None)
    return FunnelRates(last.id, keep, dict(rows), per_row)


def filter_forecast(
    ws: Workspace, new_rows: int, seeds: list[Record], rates: FunnelRates, new_questions: int = 0
) -> FilterForecast:
    """Teacher calls the enabled model filters will spend on `new_rows` generated rows (and on calibration); the
    reader asks once per new question (`new_questions` of the rows)."""
    cfg = ws.config
    if not needs_model(cfg):
        return FilterForecast(0, 0, "no model filter enabled")
    enabled = [n for n in MODEL_FILTERS if n in cfg.filters.enabled]
    cals = calibrations(ws, enabled)
    missing = [n for n in enabled if cals.get(n) is None]
    j = cfg.filters.judge
    each = {n: j.votes if n == "judge" and j.scoring == "votes" else 1 for n in enabled}  # calls per row
    cal_calls = 0
    auto = missing and cfg.filters.calibration.auto and j.trust == "calibrated"
    if auto and len(seeds) >= MIN_SEEDS:
        cal_calls = len(sample_balanced(plant(seeds), cfg.filters.calibration.seeds)) * sum(each[n] for n in missing)
    asked = [n for n in enabled if Trust.decide(n, j.trust, cals.get(n), j.uninformative).ask]
    if rates.calls_per_row is not None:
        calls = round(new_rows * rates.calls_per_row)
        source = f"measured in filter version {rates.version[:12]}: {rates.calls_per_row:.2f} calls per row"
    else:
        calls = round(new_rows * ASSUMED_REACH * sum(each[n] for n in asked))
        source = f"assumed: {ASSUMED_REACH:.0%} of rows reach {', '.join(asked) or 'no asked model filter'}"
    if not asked:
        calls, source = 0, "model filters calibrated as uninformative: not asked"
    if "reader" in cfg.filters.enabled and new_questions and rates.calls_per_row is None:
        calls += new_questions  # measured rates already hold the reader's calls
        source += f"; the reader reads back up to {new_questions} new questions"
    if cal_calls:
        source += f"; plus a first calibration of {', '.join(missing)} on planted rows"
    elif auto:
        source += "; " + no_seeds_note(missing)
    return FilterForecast(calls, cal_calls, source)


def calibrations(ws: Workspace, names: list[str]) -> dict[str, FilterCalibration | None]:
    """The stored calibration of each model filter for the configured judge (model + digest) and template."""
    templates = load_templates(ws.config.generate.templates)
    ident = planned_identity_of(judge_config(ws.config))
    store = CalibrationStore(ws.store)
    j = ws.config.filters.judge
    return {n: store.get(judge_key(n, ident, filter_method(n, templates[n].hash, j))) for n in names}
