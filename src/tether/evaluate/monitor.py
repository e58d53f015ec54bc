"""The knowledge-collapse monitor: accuracy and perplexity by training generation, and the patterns that warn.

Models trained recursively on synthetic data are reported to lose facts before they lose fluency: first knowledge
holds (stage A); then factual accuracy falls while perplexity stays flat (stage B — fluent, confident and wrong,
which a perplexity-only dashboard shows as healthy); finally fluency goes as well (stage C). Rare, long-tail
("edge") facts go before common ones. So the monitor compares every generation with the best earlier one:

* **stage_b**: accuracy down by at least `acc_drop` (absolute) while perplexity is within ±`ppl_band` (relative);
* **stage_c**: accuracy down by at least `acc_drop` and perplexity up by more than `ppl_band`;
* **accuracy_drop**: accuracy down, perplexity unknown (an endpoint, or not measured): the fall is real, the stage
  cannot be told;
* **edge_first**: edge accuracy down by at least `acc_drop` while typical accuracy fell by less than half of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class EvalPoint:
    generation: int
    accuracy: float
    perplexity: float | None
    edge_accuracy: float | None = None
    typical_accuracy: float | None = None
    n: int = 0
    label: str = ""


@dataclass
class Flag:
    kind: str  # stage_b | stage_c | accuracy_drop | edge_first
    generation: int
    message: str


def collapse_flags(points: Sequence[EvalPoint], acc_drop: float = 0.05, ppl_band: float = 0.10) -> list[Flag]:
    pts = sorted(points, key=lambda p: p.generation)
    flags: list[Flag] = []
    for k in range(1, len(pts)):
        p = pts[k]
        base = max(pts[:k], key=lambda q: (q.accuracy, -q.generation))
        fall = base.accuracy - p.accuracy
        ref = f"generation {base.generation}"
        if fall >= acc_drop:
            acc = f"accuracy {base.accuracy:.3f} → {p.accuracy:.3f} (best earlier: {ref})"
            if p.perplexity is None or base.perplexity is None:
                flags.append(Flag("accuracy_drop", p.generation, f"{acc}; perplexity unknown, stage cannot be told"))
            else:
                change = p.perplexity / base.perplexity - 1
                ppl = f"perplexity {base.perplexity:.2f} → {p.perplexity:.2f} ({change:+.0%})"
                if abs(change) <= ppl_band:
                    flags.append(Flag("stage_b", p.generation, f"{acc} while {ppl}: fluent and losing facts"))
                elif change > ppl_band:
                    flags.append(Flag("stage_c", p.generation, f"{acc} and {ppl}: fluency is going too"))
        if None not in (p.edge_accuracy, p.typical_accuracy, base.edge_accuracy, base.typical_accuracy):
            edge_fall = base.edge_accuracy - p.edge_accuracy  # type: ignore[operator]
            typical_fall = base.typical_accuracy - p.typical_accuracy  # type: ignore[operator]
            if edge_fall >= acc_drop and typical_fall < acc_drop / 2:
                flags.append(
                    Flag(
                        "edge_first",
                        p.generation,
                        f"edge accuracy {base.edge_accuracy:.3f} → {p.edge_accuracy:.3f} while typical "
                        f"{base.typical_accuracy:.3f} → {p.typical_accuracy:.3f} (vs {ref}): long-tail facts go first",
                    )
                )
    return flags


def history_table(points: Sequence[EvalPoint]) -> list[dict]:
    """Rows for display: accuracies, perplexity and the change from the previous generation."""
    rows: list[dict] = []
    prev: EvalPoint | None = None
    for p in sorted(points, key=lambda q: q.generation):
        rows.append(
            {
                "generation": p.generation,
                "label": p.label,
                "accuracy": p.accuracy,
                "edge": p.edge_accuracy,
                "typical": p.typical_accuracy,
                "perplexity": p.perplexity,
                "Δ accuracy": None if prev is None else p.accuracy - prev.accuracy,
                "Δ perplexity": None
                if prev is None or p.perplexity is None or prev.perplexity is None
                else p.perplexity / prev.perplexity - 1,
            }
        )
        prev = p
    return rows
