"""The knowledge-collapse monitor: accuracy and perplexity by training generation, and the patterns that warn.

Keisha et al., "Knowledge Collapse in LLMs: When Fluency Survives but Facts Fail under Recursive Synthetic
Training" (arXiv 2509.04796, 2025) describe collapse under recursive synthetic training in three stages: first
knowledge holds (stage A); then factual accuracy falls while fluency and perplexity stay flat (stage B: fluent,
"confidently wrong", and healthy-looking on a perplexity-only dashboard); finally fluency and instruction-following
go as well (stage C). Shumailov et al., "AI models collapse when trained on recursively generated data" (Nature,
2024) show that the tails of the original distribution vanish first, so rare, long-tail ("edge") facts should
degrade before typical ones. Hence the monitor compares every generation with the best earlier one (the baseline:
highest accuracy among strictly earlier generations, the earliest of equals):

* **stage_b**: accuracy down by at least `acc_drop` (absolute) while perplexity is within ±`ppl_band` (relative)
  of the baseline's: the pattern a perplexity curve hides;
* **stage_c**: accuracy down by at least `acc_drop` and perplexity up by more than `ppl_band`: fluency is going too;
* **accuracy_drop**: accuracy down by at least `acc_drop` but the stage cannot be told, because a perplexity is
  unknown (an endpoint, or not measured) or fell by more than `ppl_band`; the fall is real and is never silent;
* **edge_first**: edge accuracy down by at least `acc_drop` while typical accuracy fell by less than half of it.
* **hallucination_rise**: the share of questions no document answers that the student answers anyway up by at
  least `acc_drop` from the baseline's while accuracy fell by less than `acc_drop`: it invents more while
  looking as accurate (the failure tether exists to prevent).

Comparisons allow a 1e-9 slack, so a drop of exactly `acc_drop` (0.60 → 0.55) counts despite float rounding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_SLACK = 1e-9


@dataclass
class EvalPoint:
    """One evaluated student in a training history; accuracies are shares of held-out questions answered."""

    generation: int
    accuracy: float
    perplexity: float | None
    edge_accuracy: float | None = None
    typical_accuracy: float | None = None
    n: int = 0
    label: str = ""
    hallucination: float | None = None  # share of unanswerable questions answered instead of declined


@dataclass
class Flag:
    """A warning about one generation; `message` is one human-readable line with the numbers behind it."""

    kind: str  # "stage_b" | "stage_c" | "accuracy_drop" | "edge_first" | "hallucination_rise"
    generation: int
    message: str


def _usable(ppl: float | None) -> float | None:
    """A perplexity the rules can use, else None: NaN, infinite or non-positive values say nothing about fluency."""
    if ppl is None or not math.isfinite(ppl) or ppl <= 0:
        return None
    return ppl


def _baseline(earlier: Sequence[EvalPoint]) -> EvalPoint:
    """The best earlier point: collapse is measured from the best the history reached, not from the last point."""
    return max(earlier, key=lambda q: (q.accuracy, -q.generation))


def _accuracy_flag(p: EvalPoint, base: EvalPoint, acc_drop: float, ppl_band: float) -> Flag | None:
    """stage_b, stage_c or accuracy_drop for `p` against `base`, or None when accuracy did not fall enough."""
    fall = base.accuracy - p.accuracy
    if fall < acc_drop - _SLACK:
        return None
    who = f" ({p.label})" if p.label else ""
    acc = f"accuracy {base.accuracy:.3f} → {p.accuracy:.3f} ({-fall:+.3f}) vs best earlier generation {base.generation}"
    ppl_now, ppl_base = _usable(p.perplexity), _usable(base.perplexity)
    if ppl_now is None or ppl_base is None:
        return Flag("accuracy_drop", p.generation, f"{acc}{who}; perplexity unknown, so the stage cannot be told")
    change = ppl_now / ppl_base - 1
    ppl = f"perplexity {ppl_base:.2f} → {ppl_now:.2f} ({change:+.1%})"
    if abs(change) <= ppl_band + _SLACK:
        return Flag("stage_b", p.generation, f"{acc}{who} while {ppl}: fluent and losing facts (stage B)")
    if change > ppl_band:
        return Flag("stage_c", p.generation, f"{acc}{who} and {ppl}: fluency is going too (stage C)")
    return Flag(
        "accuracy_drop",
        p.generation,
        f"{acc}{who} while {ppl}, outside the ±{ppl_band:.0%} band: not the stage-B pattern, but facts are lost",
    )


def _edge_flag(p: EvalPoint, base: EvalPoint, acc_drop: float) -> Flag | None:
    """edge_first for `p` against `base`, or None when a share is missing or the pattern is absent."""
    if p.edge_accuracy is None or p.typical_accuracy is None:
        return None
    if base.edge_accuracy is None or base.typical_accuracy is None:
        return None
    edge_fall = base.edge_accuracy - p.edge_accuracy
    typical_fall = base.typical_accuracy - p.typical_accuracy
    if edge_fall < acc_drop - _SLACK or typical_fall >= acc_drop / 2 - _SLACK:
        return None
    return Flag(
        "edge_first",
        p.generation,
        f"edge accuracy {base.edge_accuracy:.3f} → {p.edge_accuracy:.3f} while typical {base.typical_accuracy:.3f}"
        f" → {p.typical_accuracy:.3f} vs generation {base.generation}: long-tail facts are going first",
    )


def _hallucination_flag(p: EvalPoint, base: EvalPoint, acc_drop: float) -> Flag | None:
    """hallucination_rise for `p` against `base`, or None when a rate is missing or did not rise enough."""
    if p.hallucination is None or base.hallucination is None:
        return None
    rise = p.hallucination - base.hallucination
    if rise < acc_drop - _SLACK or base.accuracy - p.accuracy >= acc_drop - _SLACK:
        return None
    return Flag(
        "hallucination_rise",
        p.generation,
        f"hallucination rate {base.hallucination:.3f} → {p.hallucination:.3f} while accuracy "
        f"{base.accuracy:.3f} → {p.accuracy:.3f} vs generation {base.generation}: answering more of what no "
        "document says",
    )


def collapse_flags(points: Sequence[EvalPoint], acc_drop: float = 0.05, ppl_band: float = 0.10) -> list[Flag]:
    """Warnings for every generation that shows a collapse pattern against its best earlier generation.

    `acc_drop` is an absolute fall in accuracy (0.05 = five points); `ppl_band` a relative change in perplexity
    (0.10 = ±10%). Points are sorted by generation here, so callers may pass them in any order; a generation is
    only compared with strictly earlier ones. Fewer than two generations give no flags.
    """
    if acc_drop <= 0:
        raise ValueError(f"acc_drop must be positive, got {acc_drop}")
    if ppl_band < 0:
        raise ValueError(f"ppl_band must not be negative, got {ppl_band}")
    pts = sorted(points, key=lambda q: q.generation)
    flags: list[Flag] = []
    for p in pts:
        earlier = [q for q in pts if q.generation < p.generation]
        if not earlier:
            continue
        base = _baseline(earlier)
        found = (
            _accuracy_flag(p, base, acc_drop, ppl_band),
            _edge_flag(p, base, acc_drop),
            _hallucination_flag(p, base, acc_drop),
        )
        for flag in found:
            if flag is not None:
                flags.append(flag)
    return flags


def history_table(points: Sequence[EvalPoint]) -> list[dict]:
    """Rows for display, one per point by generation: the shares, perplexity, and the change from the previous point.

    "Δ accuracy" is absolute, "Δ perplexity" relative (0.05 = +5%); both are None on the first row or when a
    value is missing, so a table never shows a change it could not compute.
    """
    rows: list[dict] = []
    prev: EvalPoint | None = None
    for p in sorted(points, key=lambda q: q.generation):
        ppl_now = _usable(p.perplexity)
        ppl_prev = None if prev is None else _usable(prev.perplexity)
        rows.append(
            {
                "generation": p.generation,
                "label": p.label,
                "accuracy": p.accuracy,
                "edge": p.edge_accuracy,
                "typical": p.typical_accuracy,
                "perplexity": p.perplexity,
                "hallucination": p.hallucination,
                "Δ accuracy": None if prev is None else p.accuracy - prev.accuracy,
                "Δ perplexity": None if ppl_now is None or ppl_prev is None else ppl_now / ppl_prev - 1,
            }
        )
        prev = p
    return rows
