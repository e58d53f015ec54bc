"""Scoring a reply against a held-out answer and its aliases, and intervals over questions.

Held-out answers are short facts ("3 councillors", "08:20 to 16:10", "97 marks"), while students answer in
sentences. So there are three scores, all after the same normalisation:

* **exact**: the normalised reply equals the normalised answer or an alias (strict: sentences never match);
* **contains**: the normalised answer or an alias appears in the reply as a run of whole tokens — the headline
  metric, because "Quayside ward has three councillors." states the fact "3 councillors";
* **f1**: SQuAD-style token F1, best over the answer and aliases (partial credit, for diagnosis).

Normalisation is SQuAD's (lowercase, punctuation and articles dropped, whitespace collapsed) plus number handling,
because facts here are numbers: number words become digits ("three" → "3", "twenty five"/"twenty-five" → "25"),
thousands separators go ("1,200" → "1200"), decimals and clock times keep their separator ("3.5", "08:20"), and a
leading zero of an hour is dropped so "8:20" equals "08:20".
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
_UNITS += "seventeen eighteen nineteen twenty"
NUMBER_WORDS = {w: i for i, w in enumerate(_UNITS.split())}
TENS = {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
ARTICLES = {"a", "an", "the"}
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_TIME = re.compile(r"\b0(\d):(\d\d)\b")
_TOKEN = re.compile(r"\d+(?:[.:]\d+)*|[^\W\d_]+|\d+", re.UNICODE)


def _numbers(tokens: list[str]) -> list[str]:
    """Number words to digits: units/teens, tens, tens + unit ("twenty five"), "hundred" after a unit."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in TENS or t == "twenty":
            value = TENS.get(t, 20)
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if nxt in NUMBER_WORDS and 0 < NUMBER_WORDS[nxt] < 10:
                out.append(str(value + NUMBER_WORDS[nxt]))
                i += 2
                continue
            out.append(str(value))
        elif t in NUMBER_WORDS:
            if i + 1 < len(tokens) and tokens[i + 1] == "hundred":
                out.append(str(NUMBER_WORDS[t] * 100))
                i += 2
                continue
            out.append(str(NUMBER_WORDS[t]))
        elif t == "hundred":
            out.append("100")
        else:
            out.append(t)
        i += 1
    return out


def normalize_tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("-", " ")
    text = _THOUSANDS.sub("", text)
    text = _TIME.sub(r"\1:\2", text)
    tokens = [t for t in _TOKEN.findall(text) if t not in ARTICLES]
    return _numbers(tokens)


def normalize_answer(text: str) -> str:
    return " ".join(normalize_tokens(text))


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds if normalize_answer(g)))


def contains_answer(prediction: str, golds: Sequence[str]) -> float:
    pred = f" {normalize_answer(prediction)} "
    return float(any(f" {g} " in pred for g in (normalize_answer(x) for x in golds) if g))


def _f1(pred: list[str], gold: list[str]) -> float:
    common = sum((Counter(pred) & Counter(gold)).values())
    if not pred or not gold or not common:
        return float(pred == gold)
    p, r = common / len(pred), common / len(gold)
    return 2 * p * r / (p + r)


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    pred = normalize_tokens(prediction)
    scores = [_f1(pred, normalize_tokens(g)) for g in golds if normalize_tokens(g)]
    return max(scores) if scores else 0.0


def score_answer(prediction: str, golds: Sequence[str]) -> dict[str, float]:
    return {
        "exact": exact_match(prediction, golds),
        "contains": contains_answer(prediction, golds),
        "f1": token_f1(prediction, golds),
    }


def _resample_means(x: np.ndarray, n_resamples: int, seed: int, chunk: int = 256) -> np.ndarray:
    """Means of `n_resamples` bootstrap resamples, drawn in chunks so memory stays O(chunk x n)."""
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        k = min(chunk, n_resamples - start)
        idx = rng.integers(0, len(x), size=(k, len(x)))
        means[start : start + k] = x[idx].mean(axis=1)
    return means


def bootstrap_ci(
    values: Sequence[float], n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap over items (held-out questions)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no values to bootstrap (an empty set of questions has no accuracy)")
    means = _resample_means(x, n_resamples, seed)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(x.mean()), float(lo), float(hi)


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0
) -> dict[str, float]:
    """Difference mean(b) - mean(a) over the same questions, resampled jointly: {diff, low, high, p_b_better}."""
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if xa.shape != xb.shape:
        raise ValueError(f"paired scores need the same questions: {xa.size} vs {xb.size} values")
    if xa.size == 0:
        raise ValueError("no paired values to bootstrap")
    means = _resample_means(xb - xa, n_resamples, seed)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return {
        "diff": float((xb - xa).mean()),
        "low": float(lo),
        "high": float(hi),
        "p_b_better": float((means > 0).mean()),
    }
