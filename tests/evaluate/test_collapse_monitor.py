"""The knowledge-collapse monitor's rules (stage B, stage C, edge first, unknown perplexity) and its history table."""

from __future__ import annotations

import pytest

from tether.evaluate.monitor import EvalPoint, Flag, collapse_flags, history_table


def _run(
    accs: list[float],
    ppls: list[float | None],
    edge: list[float] | None = None,
    typical: list[float] | None = None,
) -> list[EvalPoint]:
    """A history with generations 0..n-1."""
    return [
        EvalPoint(
            generation=g,
            accuracy=a,
            perplexity=p,
            edge_accuracy=None if edge is None else edge[g],
            typical_accuracy=None if typical is None else typical[g],
            label=f"gen{g}",
        )
        for g, (a, p) in enumerate(zip(accs, ppls, strict=True))
    ]


def _kinds(flags: list[Flag]) -> set[tuple[str, int]]:
    return {(f.kind, f.generation) for f in flags}


def test_planted_collapse_is_stage_b_at_generations_2_and_3() -> None:
    flags = collapse_flags(_run([0.60, 0.58, 0.45, 0.30], [8.0, 8.1, 7.9, 8.2]))
    assert _kinds(flags) == {("stage_b", 2), ("stage_b", 3)}
    msg = next(f.message for f in flags if f.generation == 2)
    assert "0.600 → 0.450" in msg and "8.00 → 7.90" in msg and "\n" not in msg


def test_order_of_points_does_not_matter() -> None:
    pts = _run([0.60, 0.58, 0.45, 0.30], [8.0, 8.1, 7.9, 8.2])
    assert _kinds(collapse_flags(list(reversed(pts)))) == {("stage_b", 2), ("stage_b", 3)}


def test_baseline_is_best_earlier_generation() -> None:
    # generation 1 is the best; generation 3 is 0.07 under it though only 0.02 under generation 0
    flags = collapse_flags(_run([0.55, 0.60, 0.58, 0.53], [8.0, 8.0, 8.0, 8.0]))
    assert _kinds(flags) == {("stage_b", 3)}
    assert "generation 1" in flags[0].message


def test_drop_of_exactly_acc_drop_counts() -> None:
    assert _kinds(collapse_flags(_run([0.60, 0.55], [8.0, 8.0]))) == {("stage_b", 1)}


def test_healthy_run_has_no_flags() -> None:
    assert collapse_flags(_run([0.50, 0.52, 0.51, 0.53], [9.0, 8.5, 8.4, 8.3])) == []
    assert collapse_flags([]) == []
    assert collapse_flags(_run([0.6], [8.0])) == []


def test_perplexity_rising_with_accuracy_down_is_stage_c() -> None:
    flags = collapse_flags(_run([0.60, 0.40], [8.0, 12.0]))
    assert [f.kind for f in flags] == ["stage_c"]
    assert "+50.0%" in flags[0].message


def test_edge_falling_first() -> None:
    flags = collapse_flags(_run([0.60, 0.60], [8.0, 8.0], edge=[0.5, 0.3], typical=[0.7, 0.69]))
    assert [f.kind for f in flags] == ["edge_first"]
    assert "0.500 → 0.300" in flags[0].message
    # typical falling as much as edge is not "edge first"
    both = collapse_flags(_run([0.60, 0.60], [8.0, 8.0], edge=[0.5, 0.3], typical=[0.7, 0.6]))
    assert both == []


def test_missing_perplexity_gives_accuracy_drop() -> None:
    flags = collapse_flags(_run([0.60, 0.40], [None, None]))
    assert [f.kind for f in flags] == ["accuracy_drop"]
    assert "perplexity unknown" in flags[0].message
    assert [f.kind for f in collapse_flags(_run([0.60, 0.40], [8.0, float("nan")]))] == ["accuracy_drop"]


def test_perplexity_falling_a_lot_with_accuracy_down_is_not_silent() -> None:
    flags = collapse_flags(_run([0.60, 0.40], [8.0, 5.0]))
    assert [f.kind for f in flags] == ["accuracy_drop"]


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="acc_drop"):
        collapse_flags(_run([0.6, 0.5], [8.0, 8.0]), acc_drop=0)
    with pytest.raises(ValueError, match="ppl_band"):
        collapse_flags(_run([0.6, 0.5], [8.0, 8.0]), ppl_band=-0.1)


def test_history_table_rows_and_deltas() -> None:
    pts = _run([0.50, 0.52, 0.47], [10.0, None, 11.0], edge=[0.4, 0.4, 0.3], typical=[0.6, 0.6, 0.6])
    rows = history_table(list(reversed(pts)))
    assert [r["generation"] for r in rows] == [0, 1, 2]
    assert rows[0]["label"] == "gen0" and rows[0]["edge"] == 0.4 and rows[0]["typical"] == 0.6
    assert rows[0]["Δ accuracy"] is None and rows[0]["Δ perplexity"] is None
    assert rows[1]["Δ accuracy"] == pytest.approx(0.02) and rows[1]["Δ perplexity"] is None
    assert rows[2]["Δ accuracy"] == pytest.approx(-0.05) and rows[2]["Δ perplexity"] is None
    full = history_table(_run([0.5, 0.5], [10.0, 11.0]))
    assert full[1]["Δ perplexity"] == pytest.approx(0.10)
