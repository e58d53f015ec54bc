"""Stored mixes: one manifest per training set in `.tether/mixes/`, its tables as content-addressed objects.

A mix is not a dataset version: versions are the pipeline's chain (ingest → generate → filter → ...), and the
next `tether generate` builds on the head. A mix is a view drawn from one version for one training generation,
so it lives beside the chain, names the version it was drawn from, and never becomes the head.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from tether.errors import WorkspaceError
from tether.records import Record, table_to_records
from tether.workspace.store import TableRef, Workspace

MIXES = "mixes"


class MixManifest(BaseModel):
    id: str
    generation: int
    mode: str
    ceiling: float | None
    version: str  # the dataset version the rows come from
    holdout_object: str  # the holdout's rows, by content hash: a mix names the exact holdout it was checked against
    created_at: str
    run_id: str
    tables: dict[str, TableRef]  # train: the training rows; excluded: rows left out by the mix, with its verdict
    anchor: int  # human rows in the training set
    report: dict = Field(default_factory=dict)  # provenance, leakage, ceiling, what changed since the last mix
    notes: list[str] = Field(default_factory=list)


def _dir(ws: Workspace):
    d = ws.store / MIXES
    d.mkdir(exist_ok=True)
    return d


def save_mix(ws: Workspace, man: MixManifest) -> None:
    path = _dir(ws) / f"{man.id}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(man.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, path)


def list_mixes(ws: Workspace) -> list[MixManifest]:
    """Every stored mix, oldest first."""
    out = [MixManifest.model_validate_json(p.read_text("utf-8")) for p in sorted(_dir(ws).glob("*.json"))]
    return sorted(out, key=lambda m: (m.created_at, m.id))


def previous_mix(ws: Workspace, generation: int) -> MixManifest | None:
    """The latest accumulate-mode mix of the highest generation below `generation` (the one whose anchor a new
    generation may not shrink)."""
    earlier = [m for m in list_mixes(ws) if m.generation < generation and m.mode == "accumulate"]
    return max(earlier, key=lambda m: (m.generation, m.created_at)) if earlier else None


def resolve_mix(ws: Workspace, ref: str = "latest", generation: int | None = None) -> MixManifest:
    """A mix by id prefix, or the latest one (of `generation`, when given)."""
    mixes = list_mixes(ws)
    if generation is not None:
        mixes = [m for m in mixes if m.generation == generation]
    if not mixes:
        which = f" of generation {generation}" if generation is not None else ""
        raise WorkspaceError(f"no mix{which} in {ws.root} (run `tether mix --generation G` first)")
    if ref == "latest":
        return mixes[-1]
    hits = [m for m in mixes if m.id.startswith(ref)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise WorkspaceError(f"no mix '{ref}' in {ws.root} (see `tether mixes`)")
    raise WorkspaceError(f"mix prefix '{ref}' is ambiguous ({len(hits)} mixes); give more digits")


def mix_rows(ws: Workspace, man: MixManifest, table: str = "train") -> list[Record]:
    ref = man.tables.get(table)
    return table_to_records(ws.read_ref(ref)) if ref is not None else []
