"""The filter funnel over Parquet record batches: what `tether filter` runs, at any size.

A Record is a few kilobytes as a Python object; a million of them took 7 GB (bench/filter_scale.py). Here no
stage holds every row as an object. The head's records file is read in batches of `BATCH_ROWS`, and what must
outlive a batch is kept as columns (`FunnelState`): one byte per row and filter for its verdict, the text of the
verdicts that have any, a float column per score written.

Filters come in two kinds, and the run order is split into passes at the set filters:

* row filters (validity, rules, facts, code, sql, grounding, judge) judge each row alone: a pass turns each batch
  into Records, replays the verdicts of the filters already run, and runs its row filters in order;
* set filters (the dedup filters: `decide(rows)`) see the whole set: a pass collects their `DedupRows` (ids,
  flags and the compared texts, about 30 bytes a row plus the texts, from the Parquet columns when no row filter
  needs Records), and the filter decides once the pass is over.

The last pass writes the new version's records file batch by batch. Verdicts, scores and funnel counts equal
`apply_filters` on the same rows (tests/filters/test_streaming.py holds the two to it).
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tether.filters.base import DROP, KEEP, VerdictColumn, forget, write_verdicts
from tether.filters.dedup import DedupRowsBuilder
from tether.records import RECORD_SCHEMA, Record, Verdict, records_to_table, table_to_records
from tether.workspace.store import record_counts

BATCH_ROWS = 16_384
GENERATION_VERDICTS = ("generate", "self_check")


def is_set_filter(f: Any) -> bool:
    return hasattr(f, "decide")


@dataclass
class FunnelState:
    """What the funnel knows of every row between batches, as columns."""

    n: int
    enabled: set[str]  # verdicts and scores of these filters are recomputed: old ones are ignored
    cleared_scores: set[str]
    base_kept: np.ndarray = field(init=False)  # kept by the verdicts that stay (generation, filters not run now)
    synthetic: np.ndarray = field(init=False)
    generation_drops: Counter = field(default_factory=Counter)
    said: dict[str, VerdictColumn] = field(default_factory=dict)  # in run order
    scores: dict[str, np.ndarray] = field(default_factory=dict)  # score -> float64 per row, NaN where unwritten

    def __post_init__(self) -> None:
        self.base_kept = np.ones(self.n, dtype=bool)
        self.synthetic = np.zeros(self.n, dtype=bool)

    def kept(self) -> np.ndarray:
        """Rows no verdict drops so far."""
        k = self.base_kept.copy()
        for col in self.said.values():
            k &= col.codes != DROP
        return k

    def said_at(self, i: int) -> Iterator[tuple[str, bool, str, str | None]]:
        """(filter, keep, reason, detail) of what the filters run so far said of row `i`, in run order."""
        for name, col in self.said.items():
            if code := int(col.codes[i]):
                reason, detail = col.notes.get(i, ("", None))
                yield name, code == KEEP, reason, detail

    def scores_at(self, i: int) -> Iterator[tuple[str, float]]:
        """The scores the filters run so far wrote on row `i`."""
        for key, vals in self.scores.items():
            if not math.isnan(vals[i]):
                yield key, float(vals[i])

    def prepare(self, records: list[Record], offset: int) -> None:
        """Bring a batch's records to where the funnel stands: old verdicts and scores of the filters run now
        removed, and what the filters already run said written back, in run order."""
        forget(records, self.enabled, self.cleared_scores)
        for j, r in enumerate(records):
            for name, keep, reason, detail in self.said_at(offset + j):
                # built from values a Verdict already held: no need to validate them again
                r.verdicts[name] = Verdict.model_construct(keep=keep, reason=reason, detail=detail)
            r.scores.update(self.scores_at(offset + j))

    def record(self, name: str, offset: int, verdicts: list, before: list[dict], after: list[Record]) -> None:
        """Keep a row filter's verdicts on a batch, and the scores it wrote."""
        col = self.said.setdefault(name, VerdictColumn(self.n))
        for j, (v, old, r) in enumerate(zip(verdicts, before, after, strict=True)):
            col.set(offset + j, v)
            for key, val in r.scores.items():
                if old.get(key) != val:
                    self.scores.setdefault(key, np.full(self.n, np.nan))[offset + j] = val


def columns_qa(prompt: str | None, response: str | None, messages: list[dict] | None) -> tuple[str, str]:
    """(question, answer) as `Record.question()` / `Record.answer()` read them, from the Parquet columns."""

    def last(role: str) -> str:
        return next((m["content"] for m in reversed(messages or []) if m["role"] == role), "")

    return (prompt if prompt is not None else last("user")), (response if response is not None else last("assistant"))


@dataclass
class Funnel:
    """One run of the funnel over a records file. `row_pass(funnel, filters)` is the engine's hook: it judges a
    pass's leading per-row filters elsewhere (Ray tasks) into the funnel's columns; without it, here."""

    path: Path
    filters: list[Any]
    state: FunnelState
    batch_rows: int = BATCH_ROWS
    progress: Callable | None = None  # progress(name, total) -> context manager yielding on_done
    row_pass: Callable | None = None  # engine hook: judge a whole pass of row filters elsewhere (Ray)
    rows_progress: Callable | None = None  # rows_progress(label, total) -> context manager yielding advance(rows)

    @classmethod
    def open(cls, path: Path, filters: list[Any], **kw: Any) -> Funnel:
        n = pq.ParquetFile(path).metadata.num_rows
        enabled = {f.name for f in filters}
        cleared = {k for f in filters for k in getattr(f, "scores", ())}
        funnel = cls(path, filters, FunnelState(n, enabled, cleared), **kw)
        funnel._scan()
        return funnel

    def bar(self, label: str) -> contextlib.AbstractContextManager[Callable[[int], None]]:
        """A pass's progress over the rows: `advance(rows)` after each batch (a no-op without `rows_progress`)."""
        if self.rows_progress is None:
            return contextlib.nullcontext(lambda _rows: None)
        return self.rows_progress(label, self.state.n)

    def batches(self, columns: list[str] | None = None) -> Iterator[tuple[int, pa.Table]]:
        offset = 0
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=self.batch_rows, columns=columns):
            table = pa.Table.from_batches([batch])
            yield offset, table
            offset += table.num_rows

    def records(self, table: pa.Table, offset: int) -> list[Record]:
        recs = table_to_records(table)
        self.state.prepare(recs, offset)
        return recs

    def _scan(self) -> None:
        """Which rows are synthetic, and which the verdicts that stay (generation, filters not run now) drop."""
        st = self.state
        for offset, t in self.batches(["origin", "verdicts"]):
            for j, (origin, vs) in enumerate(zip(t["origin"].to_pylist(), t["verdicts"].to_pylist(), strict=True)):
                i = offset + j
                st.synthetic[i] = origin == "synthetic"
                st.base_kept[i] = all(v["keep"] for v in vs if v["filter"] not in st.enabled)
                if st.synthetic[i]:
                    gen = next((v for v in vs if v["filter"] in GENERATION_VERDICTS and not v["keep"]), None)
                    if gen is not None:
                        st.generation_drops[f"{gen['filter']}:{gen['reason']}"] += 1

    def passes(self) -> list[tuple[list[Any], Any | None]]:
        """The run order cut after each set filter: (row filters, the set filter ending the pass or None)."""
        out: list[tuple[list[Any], Any | None]] = []
        rows: list[Any] = []
        for f in self.filters:
            if is_set_filter(f):
                out.append((rows, f))
                rows = []
            else:
                rows.append(f)
        out.append((rows, None))
        return out

    async def run(self, write: Callable[[pa.Table], None], on_step: Callable[[str], None] | None = None) -> None:
        """Run every pass; the last one hands each finished batch, as a records table, to `write`."""
        plan = self.passes()
        for k, (row_filters, set_filter) in enumerate(plan):
            last = k == len(plan) - 1
            names = [f.name for f in row_filters]
            if self.row_pass is not None:
                # the engine judges the leading per-row filters; one after a model filter needs that filter's
                # verdicts to know which rows are still live, so it stays here
                lead = next(
                    (j for j, f in enumerate(row_filters) if not getattr(f, "per_row", False)), len(row_filters)
                )
                if lead:
                    self.row_pass(self, row_filters[:lead])
                    row_filters = row_filters[lead:]
            builder = DedupRowsBuilder(set_filter.needs_questions) if set_filter is not None else None
            if row_filters:
                await self._record_pass(row_filters, builder, write if last else None)
            elif builder is not None:
                self._narrow_pass(builder)
            elif last:
                self._write_pass(write)
            for name in names:
                if on_step:
                    on_step(name)
            if set_filter is not None:
                assert builder is not None
                self.state.said[set_filter.name] = set_filter.decide(builder.build())
                if on_step:
                    on_step(set_filter.name)

    async def _record_pass(self, row_filters: list[Any], builder, write) -> None:
        st = self.state
        with contextlib.ExitStack() as stack:
            done: dict[str, Callable | None] = {}
            for f in row_filters:
                asks = getattr(getattr(f, "trust", None), "ask", True)  # an advisory judge is not asked: no bar
                if hasattr(f, "ajudge") and self.progress and asks:
                    done[f.name] = stack.enter_context(self.progress(f.name, st.n))
            # one live display at a time: the teacher's bars, when a model filter asks, else one over the rows
            rows_bar = (
                contextlib.nullcontext(lambda _rows: None) if done else self.bar(", ".join(f.name for f in row_filters))
            )
            advance = stack.enter_context(rows_bar)
            for offset, table in self.batches():
                recs = self.records(table, offset)
                for f in row_filters:
                    before = [dict(r.scores) for r in recs]
                    if hasattr(f, "ajudge"):
                        verdicts = await f.ajudge(recs, on_done=done.get(f.name))
                    else:
                        verdicts = f.judge(recs)
                    write_verdicts(f.name, recs, verdicts)
                    st.record(f.name, offset, verdicts, before, recs)
                if builder is not None:
                    builder.add_records(recs)
                if write is not None:
                    write(records_to_table(recs))
                advance(len(recs))

    def _narrow_pass(self, builder) -> None:
        """Collect a set filter's rows from the columns it reads, without building Records."""
        st = self.state
        kept = st.kept()
        judge = st.scores.get("judge")
        from_column = "judge" not in st.cleared_scores  # else only this run's judge scores count
        batches = self.batches(["id", "origin", "prompt", "response", "messages", "scores"])
        with self.bar("reading rows for dedup") as advance:
            for offset, t in batches:
                m = t.num_rows
                k = kept[offset : offset + m]
                prompts, responses, messages = (t[c].to_pylist() for c in ("prompt", "response", "messages"))
                qa = [columns_qa(prompts[j], responses[j], messages[j]) if k[j] else None for j in range(m)]
                scores = np.zeros(m)
                if from_column:
                    scores = np.asarray([dict(x).get("judge", 0.0) for x in t["scores"].to_pylist()], dtype=np.float64)
                if judge is not None:
                    written = judge[offset : offset + m]
                    scores = np.where(np.isnan(written), scores, written)
                builder.add(t["id"].combine_chunks(), ~st.synthetic[offset : offset + m], k, scores, qa)
                advance(m)

    def _write_pass(self, write: Callable[[pa.Table], None]) -> None:
        """The last pass when it runs no row filter: each batch's verdicts and scores columns rewritten from the
        funnel's columns, as `prepare` would leave the Records, without building any."""
        vtype, stype = RECORD_SCHEMA.field("verdicts").type, RECORD_SCHEMA.field("scores").type
        with self.bar("writing the version") as advance:
            for offset, t in self.batches():
                write(self._rewritten(t, offset, vtype, stype))
                advance(t.num_rows)

    def _rewritten(self, t: pa.Table, offset: int, vtype: pa.DataType, stype: pa.DataType) -> pa.Table:
        """A batch with its verdicts and scores columns as the funnel's columns say."""
        st = self.state
        old_v, old_s = t["verdicts"].to_pylist(), t["scores"].to_pylist()
        new_v, new_s = [], []
        for j in range(t.num_rows):
            i = offset + j
            vs = [v for v in old_v[j] if v["filter"] not in st.enabled]
            vs += ({"filter": n, "keep": k, "reason": r, "detail": d} for n, k, r, d in st.said_at(i))
            new_v.append(vs)
            sc = {k: v for k, v in old_s[j] if k not in st.cleared_scores}
            sc.update(st.scores_at(i))
            new_s.append(list(sc.items()))
        t = t.set_column(t.schema.get_field_index("verdicts"), "verdicts", pa.array(new_v, type=vtype))
        return t.set_column(t.schema.get_field_index("scores"), "scores", pa.array(new_s, type=stype))


def write_records_file(path: Path) -> tuple[Callable[[pa.Table], None], Callable[[], tuple[int, dict]]]:
    """A batch writer for a records file: (write(table), close() -> (rows, record counts))."""
    writer = pq.ParquetWriter(path, RECORD_SCHEMA, compression="zstd")
    counts: dict[str, Counter] = {}
    rows = 0

    def write(table: pa.Table) -> None:
        nonlocal rows
        table = table.cast(RECORD_SCHEMA)
        writer.write_table(table, row_group_size=table.num_rows or None)
        rows += table.num_rows
        for key, c in record_counts(table).items():
            counts.setdefault(key, Counter()).update(c)

    def close() -> tuple[int, dict]:
        writer.close()
        return rows, {k: dict(sorted(c.items())) for k, c in counts.items()}

    return write, close
