"""Per-row filters on Ray Data: a filter whose verdict on a row depends on that row alone (`per_row = True`:
validity, rules, facts) judges batches of rows in Ray tasks, and the verdicts come back in row order.

The filter object travels to the tasks pickled once (Ray ships the function's closure): its config, the chunks it
checks facts against, the seeds it compares with. Cross-row filters (dedup) and model filters stay as they are:
MinHash has its own distributed form (`tether.engine.ray_dedup`), and model filters' throughput is the endpoint's.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from tether.engine.ray_engine import require_ray
from tether.errors import TetherError
from tether.records import Record, Verdict

BATCH = 512  # rows per task


def ray_verdicts(flt: Any, records: list[Record]) -> list[Verdict | None]:
    """`flt.judge(records)`, computed in Ray tasks over batches of rows. Scores the filter writes on rows are
    written back onto `records`, as the local call would leave them."""
    require_ray()
    import ray.data as rd

    if not records:
        return []

    def judge(batch: dict) -> dict:
        rows = [pickle.loads(b) for b in batch["rec"]]
        verdicts = flt.judge(rows)
        # scores a filter writes on a row (facts: fact_support) travel back with its verdict
        out = [pickle.dumps((v, r.scores)) for v, r in zip(verdicts, rows, strict=True)]
        return {"i": batch["i"], "verdict": np.asarray(out, dtype=object)}

    ds = rd.from_items([{"i": i, "rec": pickle.dumps(r)} for i, r in enumerate(records)])
    out: dict[int, Verdict | None] = {}
    for batch in ds.map_batches(judge, batch_size=BATCH).iter_batches(batch_format="numpy", batch_size=None):
        for i, v in zip(batch["i"], batch["verdict"], strict=True):
            out[int(i)], scores = pickle.loads(v)
            records[int(i)].scores = scores
    if len(out) != len(records):
        raise TetherError(f"{flt.name} on Ray returned {len(out)} verdicts for {len(records)} rows")
    return [out[i] for i in range(len(records))]
