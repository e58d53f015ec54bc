"""Row filters on Ray Data: a filter whose verdict on a row depends on that row alone (`per_row = True`:
validity, rules, facts) judges batches of rows in Ray tasks.

`ray_row_pass` serves the streaming funnel (`filters.streaming`): the records file goes in through
`ray.data.read_parquet`, each task turns its Arrow batch into Records and runs the pass's filters in order, and one
small row per record comes back (a verdict code, reason and detail per filter, the scores written), in file order,
into the funnel's columns: the driver never holds the rows.

The filter objects travel to the tasks pickled once (Ray ships the function's closure): their config, the chunks
facts are checked against, the seeds compared with. Set filters (dedup) and model filters stay on the driver:
MinHash has its own distributed form (`tether.engine.ray.dedup`), and a model filter's throughput is its
endpoint's.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from tether.engine.ray.session import require_ray
from tether.errors import TetherError
from tether.filters.base import VerdictColumn, forget, write_verdicts
from tether.records import Verdict, table_to_records

if TYPE_CHECKING:
    from tether.filters.streaming import Funnel

BATCH = 512  # rows per task


def _judge_batch(row_filters: list[Any], enabled: set[str], cleared: set[str]):
    def judge(batch: pa.Table) -> pa.Table:
        recs = table_to_records(batch)
        forget(recs, enabled, cleared)
        before = [dict(r.scores) for r in recs]
        cols: dict[str, list] = {}
        for f in row_filters:
            verdicts = f.judge(recs)
            write_verdicts(f.name, recs, verdicts)
            cols[f"{f.name}/code"] = [-1 if v is None else int(v.keep) for v in verdicts]
            cols[f"{f.name}/reason"] = [None if v is None else v.reason for v in verdicts]
            cols[f"{f.name}/detail"] = [None if v is None else v.detail for v in verdicts]
        cols["scores"] = [
            json.dumps({k: v for k, v in r.scores.items() if old.get(k) != v})
            for r, old in zip(recs, before, strict=True)
        ]
        return pa.table(cols)

    return judge


def ray_row_pass(funnel: Funnel, row_filters: list[Any]) -> None:
    """Judge one pass of row filters on Ray, reading the funnel's records file through Ray Data."""
    require_ray()
    import ray.data as rd

    st = funnel.state
    alive = st.kept()  # a row an earlier filter dropped gets no verdict from these (the task cannot know it)
    options = rd.DataContext.get_current().execution_options
    kept_order, options.preserve_order = options.preserve_order, True  # results come back in file order
    try:
        ds = rd.read_parquet(str(funnel.path)).map_batches(
            _judge_batch(row_filters, st.enabled, st.cleared_scores), batch_format="pyarrow", batch_size=BATCH
        )
        cols = {f.name: st.said.setdefault(f.name, VerdictColumn(st.n)) for f in row_filters}
        with funnel.bar(", ".join(f.name for f in row_filters) + " (Ray)") as advance:
            offset = _collect(ds, st, cols, alive, advance)
    finally:
        options.preserve_order = kept_order
    if offset != st.n:
        raise TetherError(f"Ray returned verdicts for {offset} of {st.n} rows of {funnel.path.name}")


def _collect(ds, st, cols: dict[str, VerdictColumn], alive: np.ndarray, advance) -> int:
    """Read the tasks' rows back into the funnel's columns, in file order; returns the rows read."""
    offset = 0
    for out in ds.iter_batches(batch_format="pyarrow", batch_size=None):
        data = {name: out[name].to_pylist() for name in out.column_names}
        for j, written in enumerate(data["scores"]):
            i = offset + j
            if not alive[i]:
                continue
            for name, col in cols.items():
                code = data[f"{name}/code"][j]
                if code >= 0:
                    col.set(
                        i, Verdict(keep=bool(code), reason=data[f"{name}/reason"][j], detail=data[f"{name}/detail"][j])
                    )
            for key, val in json.loads(written).items():
                st.scores.setdefault(key, np.full(st.n, math.nan))[i] = val
        offset += out.num_rows
        advance(out.num_rows)
    return offset
