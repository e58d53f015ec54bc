"""Which rows a training generation draws from: the one rule that separates accumulating from replacing.

* **accumulate** (the default, and the only mode for real training): generation G trains on every human row (the
  anchor) plus the synthetic rows of generations 1..G. Data only ever grows, which is what keeps a model fitted
  on its own outputs from collapsing (Gerstgrasser et al. 2024, "Is Model Collapse Inevitable?": test error
  stays bounded when data accumulates, and grows without bound when each generation replaces the last).
* **replace** (experiments only): generation G trains on the rows *of generation G alone*. Human rows are
  generation 0, so generation 0 is the real data and every later generation sees only its own synthetic rows:
  the setting in which collapse is reported. It exists so the effect can be shown on tether's own API
  (`examples/collapse_sim.py`), and `tether mix` prints a warning when it is used.

The rule works on anything with `origin` and `generation`, so the collapse simulation runs the same function on
scalar samples that `tether mix` runs on records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Mode = Literal["accumulate", "replace"]
MODES: tuple[Mode, ...] = ("accumulate", "replace")
REPLACE_WARNING = (
    "replace mode: generation {g} trains on generation {g}'s rows alone, with no human anchor and no earlier "
    "generation. This is the setting in which models collapse; use it for experiments, never for a real student."
)


class Row(Protocol):
    origin: str
    generation: int


@dataclass
class Assembly:
    anchor: list[int]  # indices of human rows in the set
    synthetic: list[int]  # indices of synthetic rows in the set
    left_out: dict[int, str] = field(default_factory=dict)  # index -> why not in this generation (not a drop)


def assemble(rows: Sequence[Row], generation: int, mode: Mode = "accumulate") -> Assembly:
    """Split `rows` into this generation's anchor, its synthetic rows, and the rows it does not draw from."""
    if mode not in MODES:
        raise ValueError(f"unknown mix mode {mode!r} (known: {', '.join(MODES)})")
    if generation < 0:
        raise ValueError(f"generation must be >= 0, got {generation}")
    out = Assembly([], [])
    for i, r in enumerate(rows):
        g = r.generation
        if mode == "replace" and g != generation:
            out.left_out[i] = f"replace mode: generation {g}, not {generation}"
        elif r.origin == "human":
            out.anchor.append(i)
        elif g > generation:
            out.left_out[i] = f"generation {g} is later than {generation}"
        else:
            out.synthetic.append(i)
    return out
