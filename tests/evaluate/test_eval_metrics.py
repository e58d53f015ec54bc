"""Answer normalisation, the three answer scores, and bootstrap intervals over held-out questions."""

from __future__ import annotations

import numpy as np
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


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("The Civic Counter!", "civic counter"),
        ("  an   apple,  a pear  ", "apple pear"),
        ("three councillors", "3 councillors"),
        ("Twenty-five marks", "25 marks"),
        ("ninety nine", "99"),
        ("four hundred", "400"),
        ("a hundred seats", "100 seats"),
        ("1,200 marks", "1200 marks"),
        ("1,200,000.50", "1200000.50"),
        ("08:20 to 16:10", "8:20 to 16:10"),  # leading zero of the hour goes; "8:20" and "08:20" are one form
        ("8:05", "8:05"),  # minutes keep theirs
        ("3.5 tonnes.", "3.5 tonnes"),
        ("0.5", "0.5"),
        ("council's office", "councils office"),
        ("Ｑuayside ２", "quayside 2"),  # NFKC: full-width letters and digits
        ("someone", "someone"),  # number words only as whole words
        ("...", ""),
    ],
)
def test_normalisation(text: str, norm: str) -> None:
    assert normalize_answer(text) == norm


def test_sentence_reply_contains_but_does_not_equal_the_fact() -> None:
    s = score_answer("Quayside ward has three councillors.", ["3 councillors"])
    assert s["contains"] == 1.0 and s["exact"] == 0.0
    # by hand: reply [quayside, ward, has, 3, councillors], gold [3, councillors]: P = 2/5, R = 1, F1 = 0.8/1.4
    assert s["f1"] == pytest.approx(4 / 7)


def test_exact_match_over_aliases() -> None:
    assert exact_match("3 councillors", ["3", "three councillors"]) == 1.0
    assert exact_match("The 3 councillors.", ["3 councillors"]) == 1.0  # article and punctuation
    assert exact_match("4 councillors", ["3", "three councillors"]) == 0.0
    assert exact_match("", ["", "..."]) == 0.0  # golds that normalise to nothing are ignored


def test_contains_uses_whole_tokens_and_number_forms() -> None:
    assert contains_answer("It opens 8:20 to 16:10 on weekdays.", ["08:20 to 16:10"]) == 1.0
    assert contains_answer("The pass mark is 1200 marks.", ["1,200 marks"]) == 1.0
    assert contains_answer("13 councillors", ["3 councillors"]) == 0.0
    assert contains_answer("3 councillors and more", ["3.5"]) == 0.0
    assert contains_answer("3.5 tonnes", ["35 tonnes"]) == 0.0  # a decimal point is not dropped
    assert contains_answer("anything", ["", "..."]) == 0.0


def test_token_f1_by_hand() -> None:
    assert token_f1("no idea", ["97 marks"]) == 0.0
    assert token_f1("97 marks", ["97 marks"]) == 1.0
    # reply [97, marks, out, of, 100], gold [97, marks]: P = 2/5, R = 1 -> 4/7
    assert token_f1("97 marks out of a hundred", ["97 marks"]) == pytest.approx(4 / 7)
    # multiplicity: reply [3, 3, 3], gold [3, councillors]: common 1, P = 1/3, R = 1/2 -> 0.4
    assert token_f1("three 3 three", ["3 councillors"]) == pytest.approx(0.4)
    # best alias wins: [97] vs [97] is 1.0
    assert token_f1("97", ["97 marks", "97"]) == 1.0
    assert token_f1("anything", []) == 0.0


def test_bootstrap_interval_contains_mean_narrows_and_is_deterministic() -> None:
    vals = [1, 0, 0, 1, 1] * 10
    mean, lo, hi = bootstrap_ci(vals)
    assert mean == pytest.approx(0.6) and lo < mean < hi
    assert bootstrap_ci(vals, seed=3) == bootstrap_ci(vals, seed=3)
    scores = [0.1 * (i % 7) + 0.013 * i for i in range(40)]  # continuous scores: seeds give different endpoints
    assert bootstrap_ci(scores, seed=3) != bootstrap_ci(scores, seed=4)
    _, lo4, hi4 = bootstrap_ci(vals * 4)
    assert hi4 - lo4 < hi - lo
    _, lo90, hi90 = bootstrap_ci(vals, alpha=0.10)
    assert hi90 - lo90 <= hi - lo


def test_bootstrap_many_items_in_chunks() -> None:
    vals = np.random.default_rng(1).integers(0, 2, size=10_000).astype(float)
    mean, lo, hi = bootstrap_ci(vals, n_resamples=300)
    assert lo < mean < hi and hi - lo < 0.05


def test_bootstrap_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([1.0, float("nan")])
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_ci([1.0], alpha=1.5)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci([1.0], n_resamples=0)


def test_paired_bootstrap_b_better() -> None:
    a = [0, 1, 0, 1, 0] * 20
    b = [1, 1, 0, 1, 1] * 20
    d = paired_bootstrap(a, b)
    assert d["diff"] == pytest.approx(0.4)
    assert 0 < d["low"] < d["diff"] < d["high"]
    assert d["p_b_better"] > 0.95
    assert paired_bootstrap(a, b, seed=7) == paired_bootstrap(a, b, seed=7)
    same = paired_bootstrap(a, a)
    assert same["diff"] == 0.0 and same["p_b_better"] == 0.0  # ties never count for b


def test_paired_bootstrap_refuses_mismatch() -> None:
    with pytest.raises(ValueError, match="same questions"):
        paired_bootstrap([1, 0], [1])
    with pytest.raises(ValueError, match="empty"):
        paired_bootstrap([], [])
