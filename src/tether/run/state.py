"""Which stages of `tether run` are finished: fingerprints in `.tether/run.json`.

A stage's fingerprint hashes its name, the *output of the stage before it* (a version id, a mix id, ...), the
config sections it reads, and the code (tether's version and a hash of its source files). Inputs are the previous
stage's recorded output, not the workspace head: after a full run the head is the last version, and a re-run must
still recognise `generate` as done. A stage is skipped when its fingerprint equals the recorded one; otherwise it
runs, and every stage after it sees a new input and runs too. A crash leaves the interrupted stage unrecorded,
so the re-run repeats it, and its teacher calls come back from the request cache.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from pydantic import BaseModel

from tether import __version__
from tether.records import content_hash

STATE = "run.json"


class StageRecord(BaseModel):
    fingerprint: str
    output: str
    finished_at: str
    summary: str = ""


def code_version() -> str:
    """tether's release. Not a hash of the source: an edit to, say, the report code must not re-run generation,
    which re-plans from the measured funnel rates and so spends new teacher calls. A new release re-runs every
    stage (their teacher calls come from the cache where the prompts did not change)."""
    return __version__


def fingerprint(stage: str, upstream: str, config: object) -> str:
    return content_hash({"stage": stage, "upstream": upstream, "config": config, "code": code_version()}, n=16)


def files_fingerprint(paths: list[Path]) -> str:
    """Source files by path, size and modification time (content-addressed ingest makes a touch harmless)."""
    items = []
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for p in files:
            st = p.stat() if p.exists() else None
            items.append([str(p), st.st_size if st else None, st.st_mtime_ns if st else None])
    return content_hash(items, n=16)


class RunState:
    def __init__(self, store: Path):
        self.path = store / STATE
        raw = json.loads(self.path.read_text("utf-8")) if self.path.is_file() else {}
        self.stages = {k: StageRecord.model_validate(v) for k, v in raw.items()}

    def done(self, stage: str, fp: str) -> StageRecord | None:
        rec = self.stages.get(stage)
        return rec if rec is not None and rec.fingerprint == fp else None

    def record(self, stage: str, fp: str, output: str, summary: str = "") -> None:
        self.stages[stage] = StageRecord(
            fingerprint=fp,
            output=output,
            finished_at=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            summary=summary,
        )
        tmp = self.path.with_suffix(f".json.tmp{os.getpid()}")
        tmp.write_text(json.dumps({k: v.model_dump() for k, v in self.stages.items()}, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)
