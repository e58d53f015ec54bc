"""Scoring a reply against a held-out answer and its aliases, and bootstrap intervals over questions.

Held-out answers are short facts ("3 councillors", "08:20 to 16:10", "97 marks"), while students answer in
sentences. So there are three scores, all computed after the same normalisation:

* **exact**: the normalised reply equals the normalised answer or an alias (strict: a sentence never matches);
* **contains**: the normalised answer or an alias appears in the reply as a contiguous run of whole tokens — the
  headline metric, because "Quayside ward has three councillors." states the fact "3 councillors";
* **f1**: SQuAD-style token F1, best over the answer and its aliases (partial credit, for diagnosis).

Normalisation is SQuAD's (lowercase, punctuation and the articles a/an/the dropped, whitespace collapsed) plus
number handling, because the facts here are mostly numbers and a student may spell them either way:

* NFKC first, so full-width digits and compatibility characters compare equal to their plain forms;
* number words become digits where they are whole words: "three" → "3", "twenty five"/"twenty-five" → "25",
  "four hundred" → "400", "a hundred" → "100" (zero..twenty, the tens, and "hundred");
* separators inside numbers are kept, because "3.5" is not "35" and "08:20" is not "0820": decimals and clock
  times stay one token, while a thousands comma goes ("1,200" → "1200");
* a leading zero of a number's first group goes, so "08:20" and "8:20" (and "007" and "7") are the same token;
  "0.5" keeps its single zero, and minutes keep theirs ("8:05");
* apostrophes inside words go as in SQuAD ("council's" → "councils"); other punctuation splits tokens.

Known leniencies, accepted because both sides are normalised alike and these errors are rare in short-fact
answers: a minus sign is punctuation ("-5" equals "5"), currency and percent signs go ("£97" equals "97"), and the
pronoun "one" becomes "1".
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty"
)
NUMBER_WORDS: dict[str, int] = {w: i for i, w in enumerate(_UNITS.split())}
TENS: dict[str, int] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
ARTICLES = frozenset({"a", "an", "the"})

_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
# a number with its inner separators ("3.5", "08:20", "1.2.3"), else a run of letters; everything else splits
_TOKEN = re.compile(r"\d+(?:[.:]\d+)*|[^\W\d_]+")
_LEADING_ZEROS = re.compile(r"^0+(?=\d)")

# Bootstrap index matrices are drawn in chunks of at most this many cells (int64: 16 MB), so 10k questions x 2000
# resamples never needs the whole 20M-cell matrix at once.
_MAX_INDEX_CELLS = 2_000_000


def _numbers(tokens: list[str]) -> list[str]:
    """Number words to digits, so "three councillors" and "3 councillors" are the same fact.

    Handles a unit or teen alone, a tens word alone or followed by a unit ("twenty five"), and "hundred" alone or
    after a unit ("four hundred"): the forms short answers use. Longer compounds are left token by token.
    """
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if t in TENS:
            unit = NUMBER_WORDS.get(nxt, 0)
            if 0 < unit < 10:
                out.append(str(TENS[t] + unit))
                i += 2
                continue
            out.append(str(TENS[t]))
        elif t in NUMBER_WORDS:
            if nxt == "hundred":
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
    """The normalised tokens of `text` (see the module docstring); F1 and whole-token matching work on these."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _APOSTROPHE.sub("", text)
    text = _THOUSANDS.sub("", text)
    tokens = [_LEADING_ZEROS.sub("", t) for t in _TOKEN.findall(text) if t not in ARTICLES]
    return _numbers(tokens)


def normalize_answer(text: str) -> str:
    """`text` normalised for comparison: SQuAD-style plus number handling (see the module docstring)."""
    return " ".join(normalize_tokens(text))


def _normalized_golds(golds: Sequence[str]) -> list[str]:
    """Normalised golds, without the ones that normalise to nothing: an empty gold would match every reply."""
    return [g for g in (normalize_answer(x) for x in golds) if g]


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised reply equals the normalised answer or one of its aliases, else 0.0."""
    pred = normalize_answer(prediction)
    return float(pred in _normalized_golds(golds))


def contains_answer(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when a normalised gold occurs in the normalised reply as whole tokens, else 0.0.

    Students answer in sentences, so the fact has to be found inside the reply; matching on token boundaries keeps
    "13 councillors" from counting for "3 councillors".
    """
    pred = f" {normalize_answer(prediction)} "
    return float(any(f" {g} " in pred for g in _normalized_golds(golds)))


def _f1(pred: list[str], gold: list[str]) -> float:
    """Token F1 between two bags of tokens (with multiplicity); 0.0 when either is empty or nothing is shared."""
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD token F1, the best over the answer and its aliases: partial credit that shows near misses."""
    pred = normalize_tokens(prediction)
    scores = [_f1(pred, gold) for gold in (normalize_tokens(g) for g in golds) if gold]
    return max(scores, default=0.0)


def score_answer(prediction: str, golds: Sequence[str]) -> dict[str, float]:
    """All three scores of one reply: {"exact", "contains", "f1"}."""
    return {
        "exact": exact_match(prediction, golds),
        "contains": contains_answer(prediction, golds),
        "f1": token_f1(prediction, golds),
    }


def _as_scores(values: Sequence[float], what: str) -> np.ndarray:
    """Per-question scores as a float array; non-finite scores are refused, they would poison every mean."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError(f"no {what} to bootstrap: an empty set of questions has no accuracy")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what} contain NaN or infinite scores; score every question before bootstrapping")
    return x


def _check_settings(n_resamples: int, alpha: float) -> None:
    """Refuse settings that would give an interval that means nothing."""
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha}")


def _resample_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Means of `n_resamples` bootstrap resamples of `x`, vectorised over resamples.

    Each chunk is an integer index matrix (resamples x items); the chunk size depends only on the number of items,
    so the draws, and therefore the interval, are the same for the same seed.
    """
    rng = np.random.default_rng(seed)
    n = x.size
    rows = max(1, min(n_resamples, _MAX_INDEX_CELLS // n))
    means = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, rows):
        k = min(rows, n_resamples - start)
        idx = rng.integers(0, n, size=(k, n))
        means[start : start + k] = x[idx].mean(axis=1)
    return means


def bootstrap_ci(
    values: Sequence[float], n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): the mean score and its percentile-bootstrap interval over items (held-out questions).

    Questions are the unit of sampling because they are what a different held-out set would change.
    """
    _check_settings(n_resamples, alpha)
    x = _as_scores(values, "values")
    means = _resample_means(x, n_resamples, seed)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(x.mean()), float(low), float(high)


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0
) -> dict[str, float]:
    """mean(b) - mean(a) over the same questions, with a paired percentile-bootstrap interval.

    a[i] and b[i] score the same held-out question, so questions are resampled jointly: the difference between two
    students is then not blurred by how hard the drawn questions happen to be, which makes the interval far
    narrower than two independent ones. Returns {"diff", "low", "high", "p_b_better"}, where p_b_better is the
    share of resamples in which b's mean is strictly above a's (ties count against b).
    """
    _check_settings(n_resamples, alpha)
    xa, xb = np.asarray(a, dtype=np.float64).reshape(-1), np.asarray(b, dtype=np.float64).reshape(-1)
    if xa.size != xb.size:
        raise ValueError(f"paired scores need the same questions: {xa.size} scores for a, {xb.size} for b")
    d = _as_scores(xb - xa, "paired differences")
    means = _resample_means(d, n_resamples, seed)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return {
        "diff": float(d.mean()),
        "low": float(low),
        "high": float(high),
        "p_b_better": float((means > 0).mean()),
    }
