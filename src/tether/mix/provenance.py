"""The provenance report of a training set: what it is made of, by origin, teacher, strategy, question type,
concept and generation.

The AI-generated share is its first line, always: the number a reader of a dataset most needs and most often has
to work out. Shares are of the training rows; a row tagged with two concepts counts under both, so concept shares
do not add up to 1 (said where they are shown).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from tether.records import Record
from tether.text.question_types import TYPES, record_type

NO_CONCEPT = "(none)"


def teacher_name(r: Record) -> str:
    """model@version (digest prefix) of a synthetic row's teacher, or "human"."""
    t = r.teacher
    if t is None:
        return "human" if r.origin == "human" else "(unknown teacher)"
    name = t.model + (f"@{t.version}" if t.version else "")
    return name + (f" ({t.digest[:12]})" if t.digest else "")


def _table(values: Iterable[object], n: int) -> dict[str, dict[str, float]]:
    counts = Counter(str(v) for v in values)
    return {k: {"rows": c, "share": c / n if n else 0.0} for k, c in sorted(counts.items(), key=lambda kv: -kv[1])}


def provenance(rows: Sequence[Record], concepts: Sequence[Iterable[str]] | None = None) -> dict:
    """Counts and shares of a training set. `concepts`: each row's concepts (default: the rows' own tags)."""
    n = len(rows)
    synthetic = sum(r.origin == "synthetic" for r in rows)
    tags = [sorted(set(c)) for c in concepts] if concepts is not None else [sorted(set(r.concepts)) for r in rows]
    return {
        "rows": n,
        "ai_share": synthetic / n if n else 0.0,
        "synthetic": synthetic,
        "human": n - synthetic,
        "by_origin": _table((r.origin for r in rows), n),
        "by_teacher": _table((teacher_name(r) for r in rows), n),
        "by_strategy": _table((r.strategy or "-" for r in rows), n),
        # what kinds of question the set asks (fact, number, yes/no, ...), in TYPES order
        "by_question_type": dict(sorted(_table((record_type(r) for r in rows), n).items(), key=_type_order)),
        "by_generation": dict(sorted(_table((r.generation for r in rows), n).items(), key=lambda kv: int(kv[0]))),
        "by_concept": _table((c for t in tags for c in (t or [NO_CONCEPT])), n),
    }


def _type_order(item: tuple[str, object]) -> int:
    return TYPES.index(item[0]) if item[0] in TYPES else len(TYPES)
