"""Scoring replies against held-out answers, bootstrap intervals, and the collapse monitor's rules."""

from __future__ import annotations

import pytest

from tether.evaluate.metrics import (
    bootstrap_ci,
    contains_answer,
    exact_match,
    normalize_answer,
    paired_bootstrap,
    score_answer,
    token_f1,
)
from tether.evaluate.monitor import EvalPoint, collapse_flags, history_table


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("The Civic Counter!", "civic counter"),
        ("three councillors", "3 councillors"),
        ("Twenty-five marks", "25 marks"),
        ("1,200 marks", "1200 marks"),
        ("08:20 to 16:10", "8:20 to 16:10"),
        ("3.5 tonnes.", "3.5 tonnes"),
        ("four hundred", "400"),
    ],
)
def test_normalisation(text, norm):
    assert normalize_answer(text) == norm


def test_scores_of_sentence_answers():
    s = score_answer("Quayside ward has three councillors.", ["3 councillors"])
    assert s["contains"] == 1.0 and s["exact"] == 0.0
    # F1 by hand: prediction tokens [quayside, ward, has, 3, councillors], gold [3, councillors]: P 2/5, R 1
    assert s["f1"] == pytest.approx(2 * 0.4 * 1.0 / 1.4)
    assert exact_match("3 councillors", ["3", "three councillors"]) == 1.0
    assert contains_answer("It opens 8:20 to 16:10 on weekdays.", ["08:20 to 16:10"]) == 1.0
    # whole tokens only: "13 councillors" does not contain "3 councillors"
    assert contains_answer("13 councillors", ["3 councillors"]) == 0.0
    assert contains_answer("anything", ["", "..."]) == 0.0  # empty golds never match
    assert token_f1("no idea", ["97 marks"]) == 0.0


def test_bootstrap_intervals():
    vals = [1, 0, 0, 1, 1] * 10
    mean, lo, hi = bootstrap_ci(vals)
    assert lo < mean < hi and mean == pytest.approx(0.6)
    assert bootstrap_ci(vals, seed=3) == bootstrap_ci(vals, seed=3)
    _, lo4, hi4 = bootstrap_ci(vals * 4)
    assert hi4 - lo4 < hi - lo  # more questions, narrower interval
    with pytest.raises(ValueError):
        bootstrap_ci([])


def test_paired_bootstrap():
    a = [0, 1, 0, 1, 0] * 20
    b = [1, 1, 0, 1, 1] * 20
    d = paired_bootstrap(a, b)
    assert d["diff"] == pytest.approx(0.4) and d["low"] > 0 and d["p_b_better"] > 0.95
    with pytest.raises(ValueError):
        paired_bootstrap([1, 0], [1])


def _run(accs, ppls, edge=None, typical=None):
    return [
        EvalPoint(g, a, p, None if edge is None else edge[g], None if typical is None else typical[g])
        for g, (a, p) in enumerate(zip(accs, ppls, strict=True))
    ]


def test_planted_collapse_is_flagged_as_stage_b():
    flags = collapse_flags(_run([0.60, 0.58, 0.45, 0.30], [8.0, 8.1, 7.9, 8.2]))
    assert {(f.kind, f.generation) for f in flags} == {("stage_b", 2), ("stage_b", 3)}
    assert "0.600 → 0.450" in next(f.message for f in flags if f.generation == 2)


def test_healthy_run_has_no_flags_and_table_deltas():
    pts = _run([0.5, 0.52, 0.51, 0.53], [9.0, 8.5, 8.4, 8.3])
    assert collapse_flags(pts) == []
    rows = history_table(pts)
    assert rows[0]["Δ accuracy"] is None and rows[1]["Δ accuracy"] == pytest.approx(0.02)
    assert collapse_flags([]) == [] and collapse_flags(pts[:1]) == []


def test_stage_c_edge_first_and_unknown_perplexity():
    flags = collapse_flags(_run([0.6, 0.4], [8.0, 12.0]))
    assert [f.kind for f in flags] == ["stage_c"]
    edge = collapse_flags(_run([0.6, 0.6], [8.0, 8.0], edge=[0.5, 0.3], typical=[0.7, 0.69]))
    assert [f.kind for f in edge] == ["edge_first"]
    unknown = collapse_flags([EvalPoint(0, 0.6, None), EvalPoint(1, 0.4, None)])
    assert [f.kind for f in unknown] == ["accuracy_drop"]
