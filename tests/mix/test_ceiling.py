"""The synthetic ceiling: exact arithmetic against brute force, and a down-sampling that keeps thin concepts and
spread-out rows, deterministically, with a reason for every dropped row."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from tether.mix.ceiling import Selection, concept_rows_from, max_synthetic, select_synthetic
from tether.records import Record, Teacher

# ------------------------------------------------------------------------------------------------- arithmetic


def brute_force(human: int, ceiling: float) -> int:
    """Largest s with s / (human + s) <= ceiling, by trying every s, exact (as the decimal) and in floats."""
    c = Fraction(str(ceiling))
    best = 0
    for s in range(0, int(ceiling / (1 - ceiling) * human) + 5):  # a few past the answer: the failures are checked
        exact_ok = s * c.denominator <= c.numerator * (human + s)
        assert exact_ok == (s == 0 or s / (human + s) <= ceiling), (human, ceiling, s)  # floats agree on this grid
        if exact_ok:
            best = s
    return best


@pytest.mark.parametrize("ceiling", [round(0.01 * k, 2) for k in range(0, 100)])
def test_max_synthetic_matches_brute_force(ceiling):
    for human in range(0, 41):
        assert max_synthetic(human, ceiling) == brute_force(human, ceiling), (human, ceiling)


@pytest.mark.parametrize(
    ("human", "ceiling", "expected"),
    [
        (20, 0.8, 80),  # 80 / 100 = 0.8 exactly: the boundary is allowed
        (30, 0.7, 70),  # naive floats give 69.99999999999999 -> 69
        (1, 0.5, 1),
        (3, 0.25, 1),
        (100, 0.0, 0),
        (1, 0.99, 99),
        (7, 0.99, 693),
        (10**12, 0.8, 4 * 10**12),  # integers, no float drift at any size
        (20, Fraction(4, 5), 80),
        (20, np.float64(0.8), 80),
    ],
)
def test_max_synthetic_edges(human, ceiling, expected):
    assert max_synthetic(human, ceiling) == expected


def test_no_human_rows_allow_no_synthetic_rows():
    """The anchor is the point: with nothing real, no synthetic row, whatever the ceiling."""
    assert all(max_synthetic(0, c) == 0 for c in (0.0, 0.5, 0.8, 0.99))


@pytest.mark.parametrize("ceiling", [1.0, 1.5, -0.1, float("nan")])
def test_max_synthetic_rejects_bad_ceiling(ceiling):
    with pytest.raises(ValueError, match="ceiling"):
        max_synthetic(10, ceiling)


def test_max_synthetic_rejects_negative_human():
    with pytest.raises(ValueError, match="human"):
        max_synthetic(-1, 0.5)


# -------------------------------------------------------------------------------------------------- selection


def synthetic(i: int) -> Record:
    return Record(prompt=f"question {i}?", response=f"answer {i}.", origin="synthetic", teacher=Teacher(model="t"))


def run(n, keep, emb, concepts, concept_rows, **kw) -> tuple[list[Record], Selection]:
    rows = [synthetic(i) for i in range(n)]
    return rows, select_synthetic(rows, keep, emb, concepts, concept_rows, **kw)


def random_unit(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d))


def assert_accounted(sel: Selection, n: int, keep: int) -> None:
    """Every input row is chosen or has a reason; never both."""
    assert len(sel.chosen) == min(keep, n)
    assert sorted(sel.order) == list(sel.chosen)
    assert set(sel.chosen).isdisjoint(sel.dropped)
    assert set(sel.chosen) | set(sel.dropped) == set(range(n))
    assert all(reason.strip() for reason in sel.dropped.values())


def test_keeps_everything_under_the_limit():
    emb = random_unit(10)
    for keep in (10, 11, 1000):
        _, sel = run(10, keep, emb, [["a"]] * 10, {"a": 10})
        assert sel.chosen == tuple(range(10)) and not sel.dropped


def test_empty_input():
    sel = select_synthetic([], 0, np.zeros((0, 4)), [], {})
    assert sel.chosen == () and not sel.dropped


def test_prefers_thin_concepts():
    """'rare' has 1 human row and 3 candidates, 'common' 40 human rows and 20: all 'rare' rows stay."""
    concepts = [["rare"]] * 3 + [["common"]] * 20
    _, sel = run(23, 8, random_unit(23), concepts, {"rare": 4, "common": 60})
    assert_accounted(sel, 23, 8)
    assert {0, 1, 2} <= set(sel.chosen)
    assert set(sel.order[:3]) == {0, 1, 2}


def test_water_filling_balances_the_result():
    """Counts in the resulting set, not in the input: 'a' (2 outside rows) fills up to 'b' (10) before 'b' grows."""
    concepts = [["a"]] * 30 + [["b"]] * 30
    _, sel = run(60, 20, random_unit(60), concepts, {"a": 32, "b": 40})
    a = sum(1 for i in sel.chosen if i < 30)
    b = len(sel.chosen) - a
    assert (a, b) == (14, 6)  # 'a' catches up to 10 in 8 picks, then they alternate: 16 rows each


def test_untagged_rows_fill_last():
    concepts = [[]] * 10 + [["a"]] * 5
    _, sel = run(15, 7, random_unit(15), concepts, {"a": 5})
    assert {10, 11, 12, 13, 14} <= set(sel.chosen)
    assert all("no concept tag" in sel.dropped[i] for i in sel.dropped)


def three_clusters(sizes: tuple[int, ...] = (24, 3, 3), d: int = 32, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Clusters of near-identical vectors, one big and two small (a random or first-n choice would miss the small
    ones), rows shuffled; returns the embeddings and each row's cluster."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(sizes), d))
    label = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    return centres[label] + 1e-3 * rng.standard_normal((len(label), d)), label


def test_spreads_over_near_duplicate_clusters():
    emb, label = three_clusters()
    for keep in (3, 4, 6):
        _, sel = run(30, keep, emb, [["parking"]] * 30, {"parking": 35}, ceiling=0.8)
        assert_accounted(sel, 30, keep)
        assert set(label[list(sel.chosen)]) == {0, 1, 2}
        assert set(label[list(sel.order[:3])]) == {0, 1, 2}  # one from each cluster before a second from any


def test_reasons_name_ceiling_concept_and_nearest_row():
    emb, _ = three_clusters()
    rows, sel = run(30, 3, emb, [["parking"]] * 30, {"parking": 35}, ceiling=0.8)
    ids = {r.id for r in rows}
    for i, reason in sel.dropped.items():
        assert reason.startswith("synthetic ceiling 0.80: 3 of 30 kept; ")
        assert "concept 'parking' keeps 8 rows without it" in reason  # 5 outside + 3 chosen
        assert "at cosine 1.00" in reason  # a near-duplicate of a chosen row
        nearest = reason.split("nearest chosen row ")[1].split(" ")[0]
        assert nearest in ids and nearest != rows[i].id


def test_multi_concept_reason_names_the_thinnest():
    concepts = [["big", "small"]] * 4 + [["big"]] * 4
    _, sel = run(8, 2, random_unit(8), concepts, {"big": 50, "small": 4})
    assert_accounted(sel, 8, 2)
    assert set(sel.chosen) <= {0, 1, 2, 3}
    assert any("thinnest concept 'small' keeps 2 rows" in r for r in sel.dropped.values())


def test_keep_zero_drops_all_with_reason():
    _, sel = run(5, 0, random_unit(5), [["a"]] * 5, {"a": 5})
    assert_accounted(sel, 5, 0)
    assert all("no synthetic row fits" in r for r in sel.dropped.values())


def test_deterministic_and_order_independent():
    emb = random_unit(200, seed=3)
    rng = np.random.default_rng(4)
    names = ["a", "b", "c", "d"]
    concepts = [[names[k] for k in rng.choice(4, size=rng.integers(0, 3), replace=False)] for _ in range(200)]
    rows = [synthetic(i) for i in range(200)]
    counts = {c: 10 + sum(c in cs for cs in concepts) for c in names}
    first = select_synthetic(rows, 57, emb, concepts, counts, ceiling=0.8)
    again = select_synthetic(rows, 57, emb.copy(), [list(c) for c in concepts], dict(counts), ceiling=0.8)
    assert first == again
    assert_accounted(first, 200, 57)
    perm = rng.permutation(200)
    shuffled = select_synthetic([rows[i] for i in perm], 57, emb[perm], [concepts[i] for i in perm], counts)
    assert sorted(rows[i].id for i in first.chosen) == sorted(rows[perm[i]].id for i in shuffled.chosen)


def test_rejects_mismatched_lengths_and_negative_keep():
    emb = random_unit(3)
    with pytest.raises(ValueError, match="lengths"):
        run(3, 1, emb[:2], [["a"]] * 3, {})
    with pytest.raises(ValueError, match="keep"):
        run(3, -1, emb, [["a"]] * 3, {})
    with pytest.raises(ValueError, match="zero norm"):
        run(3, 1, np.zeros((3, 4)), [["a"]] * 3, {})


def test_concept_rows_from_report():
    from tether.measure.concepts import ConceptCount, ConceptCoverageReport

    report = ConceptCoverageReport(
        matcher="keywords",
        thin=5,
        concepts=[ConceptCount(name="fees", parent=None, human=3, synthetic=9, chunks=1, status="covered")],
    )
    assert concept_rows_from(report) == {"fees": 12}


def test_large_input_is_accounted_and_spread_over_concepts():
    """5,000 rows down to 2,000: every row chosen or given a reason, and the 7 concepts end level (speed is
    measured by hand, not asserted here)."""
    n = 5000
    emb = random_unit(n, d=64, seed=5)
    concepts = [[f"c{i % 7}"] for i in range(n)]
    _, sel = run(n, 2000, emb, concepts, {f"c{k}": 1000 for k in range(7)})
    assert_accounted(sel, n, 2000)
    # water-filling: rows outside the selection (1000 minus the concept's candidates) plus chosen ones end level
    level = [
        1000 - sum(1 for c in concepts if c[0] == f"c{k}") + sum(1 for i in sel.chosen if concepts[i][0] == f"c{k}")
        for k in range(7)
    ]
    assert max(level) - min(level) <= 1
