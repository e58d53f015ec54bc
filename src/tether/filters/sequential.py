"""When a judge's calibration has seen enough: stop planting rows once the verdict cannot change.

Calibration is the most expensive thing a small project's first run does (10 of 14 minutes with Qwen2.5-0.5B on
2 cores and 12 seeds: every planted row is a judge call with a chunk and a rationale). What it must decide is one
of three states (trust.classify): uninformative (AUC below min_auc), informative, trusted (AUC at or above
trust_auc with few false rows kept). So it asks in rounds of seeds and, after each, puts an interval around the
AUC (Hanley & McNeil 1982 standard error, which needs only the AUC and the two class sizes) and around the false
rows kept (binomial); a filter whose interval lies wholly on one side of every threshold that matters is decided
and asked no more. A near-chance judge is settled after 8 seeds instead of 12. One whose interval could not leave
a threshold even with every seed asked (`futile`: AUC 0.55-0.8 at 12 seeds) stops too and is classified on its
point estimate, as it would be after the last round.
"""

from __future__ import annotations

import math

from tether.config import CalibrationConfig

Z = 1.28  # two-sided 80 % (one-sided 90 %): a state is settled when it holds at the interval's near end


def auc_se(auc: float, n_true: int, n_false: int) -> float:
    """Hanley-McNeil standard error of an AUC from n_true positives and n_false negatives (inf when either is 0)."""
    if n_true == 0 or n_false == 0:
        return math.inf
    a = min(max(auc, 1e-6), 1 - 1e-6)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_true - 1) * (q1 - a * a) + (n_false - 1) * (q2 - a * a)) / (n_true * n_false)
    return math.sqrt(max(var, 0.0))


def settled(auc: float, fpr: float, n_true: int, n_false: int, cfg: CalibrationConfig) -> str | None:
    """The state (uninformative / informative / trusted) that the interval around this measurement already fixes,
    or None while another state is still within reach."""
    se = auc_se(auc, n_true, n_false)
    lo, hi = auc - Z * se, auc + Z * se
    if hi < cfg.min_auc:
        return "uninformative"
    if lo < cfg.min_auc:
        return None
    if hi < cfg.trust_auc:
        return "informative"
    if lo < cfg.trust_auc:
        return None
    fpr_se = math.sqrt(max(fpr * (1 - fpr), 1.0 / max(n_false, 1)) / max(n_false, 1))
    if fpr - Z * fpr_se > cfg.max_fpr:
        return "informative"
    if fpr + Z * fpr_se <= cfg.max_fpr:
        return "trusted"
    return None


def futile(auc: float, fpr: float, n_true: int, n_false: int, seen: int, most: int, cfg: CalibrationConfig) -> bool:
    """More rounds cannot settle the state: at the same AUC and false-kept rate, the rows of all `most` seeds
    (counts scaled up from the `seen` seeds so far) still leave an interval across a threshold. Such a filter is
    classified on its point estimate at the end whatever is asked, so the remaining rounds only buy a slightly
    narrower interval. Measured: the 1.5B judge's AUC 0.61 on the quickstart cannot settle with 12 seeds
    (standard error 0.095 against 0.11 after 8), and its second round was 19 of the run's 58 judge calls."""
    if seen <= 0 or most <= seen:
        return False
    scale = most / seen
    return settled(auc, fpr, round(n_true * scale), round(n_false * scale), cfg) is None


def rounds(seed_ids: list[str], cfg: CalibrationConfig) -> list[list[str]]:
    """The seeds to plant from, in rounds: the first `min_seeds`, then `round_seeds` more at a time, up to `seeds`
    (round_seeds 0: all in one round). The given order (documents in turn) is strided so that the first round
    already spans the whole list rather than its first documents."""
    ids = seed_ids[: cfg.seeds]
    step = math.ceil(len(ids) / cfg.min_seeds) if ids else 1
    ids = [ids[i] for i in sorted(range(len(ids)), key=lambda i: (i % step, i))]  # each round spread over all
    if cfg.round_seeds == 0 or len(ids) <= cfg.min_seeds:
        return [ids] if ids else []
    out = [ids[: cfg.min_seeds]]
    for k in range(cfg.min_seeds, len(ids), cfg.round_seeds):
        out.append(ids[k : k + cfg.round_seeds])
    return out
