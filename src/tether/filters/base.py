"""What every filter is: a named judgement over a batch of records, one verdict (or None) per row.

Filters never delete. A verdict is written into `Record.verdicts[name]`; "kept" is a view (no dropping verdict).
Filters run in a configured order and skip rows an earlier filter already dropped, so the funnel reads like a
funnel: each row is charged to the first filter that dropped it.
"""

from __future__ import annotations

from typing import Protocol

from tether.records import Record, Verdict


class Filter(Protocol):
    name: str

    def judge(self, records: list[Record]) -> list[Verdict | None]: ...


class AsyncFilter(Protocol):
    """A filter that asks the teacher (judge, grounding): same contract, awaited."""

    name: str

    async def ajudge(self, records: list[Record]) -> list[Verdict | None]: ...


def live(rec: Record) -> bool:
    """Rows a filter should look at: synthetic and not yet dropped (human rows are the anchor, never filtered)."""
    return rec.origin == "synthetic" and rec.kept
