"""The workspace: a project folder with `tether.yaml` and a `.tether/` store of immutable dataset versions.

A version is a manifest naming content-addressed Parquet objects (records, chunks, documents, ...) plus its
parent versions. Tables that do not change between versions are the same object on disk, so accumulating
("never replace") costs nothing for unchanged data. Manifests hold hashes and counts, never secrets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Field

from tether import __version__
from tether.config import CONFIG_NAME, TetherConfig, config_hash, load_config
from tether.documents import (
    CHUNK_SCHEMA,
    DOCUMENT_SCHEMA,
    Chunk,
    Document,
    table_to_chunks,
    table_to_documents,
)
from tether.errors import WorkspaceError
from tether.records import RECORD_SCHEMA, Record, content_hash, table_to_records
from tether.workspace.lineage import Lineage

STORE = ".tether"
SCHEMAS = {"records": RECORD_SCHEMA, "chunks": CHUNK_SCHEMA, "documents": DOCUMENT_SCHEMA}


class TableRef(BaseModel):
    object: str  # sha256 of the Parquet bytes
    rows: int


class Manifest(BaseModel):
    id: str
    stage: str
    created_at: str
    parents: list[str] = Field(default_factory=list)
    config_hash: str
    run_id: str
    tether_version: str = __version__
    inputs: list[dict] = Field(default_factory=list)
    tables: dict[str, TableRef] = Field(default_factory=dict)
    counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    notes: dict[str, str | int | float] = Field(default_factory=dict)
    usage: dict = Field(default_factory=dict)  # teacher accounting of the run (tokens, calls, cache hits, errors)
    # derived measurements (`tether measure`): not part of the version's identity, rewritten when re-measured
    metrics: dict = Field(default_factory=dict)


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def record_counts(table: pa.Table) -> dict[str, dict[str, int]]:
    """Counts by origin, kind, strategy and by filter verdict, as a manifest and `tether versions` show them.
    Computed with Arrow kernels: a version may hold millions of rows."""
    import pyarrow.compute as pc

    def tally(arr) -> dict[str, int]:
        vc = pc.value_counts(arr)
        return dict(sorted(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True)))

    counts: dict[str, dict[str, int]] = {}
    for col in ("origin", "kind", "strategy"):
        counts[col] = tally(pc.fill_null(table.column(col), "-")) if table.num_rows else {}
    flat = pc.list_flatten(table.column("verdicts"))
    if len(flat):
        name, keep = pc.struct_field(flat, "filter"), pc.struct_field(flat, "keep")
        reason = pc.fill_null(pc.struct_field(flat, "reason"), "")
        reason = pc.if_else(pc.equal(reason, ""), "?", reason)
        dropped = pc.binary_join_element_wise(name, pc.binary_join_element_wise("drop", reason, ":"), ":")
        counts["verdicts"] = tally(pc.if_else(keep, pc.binary_join_element_wise(name, "keep", ":"), dropped))
    else:
        counts["verdicts"] = {}
    return counts


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        self.store = root / STORE
        self._config: TetherConfig | None = None
        self._lineage: Lineage | None = None

    # -- creation and opening -------------------------------------------------------------------------------

    @classmethod
    def init(cls, root: Path, config_text: str, force: bool = False) -> Workspace:
        cfg_path = root / CONFIG_NAME
        if cfg_path.exists() and not force:
            raise WorkspaceError(f"{cfg_path} already exists (use --force to overwrite the config)")
        root.mkdir(parents=True, exist_ok=True)
        for sub in ("objects", "versions", "runs", "reports"):
            (root / STORE / sub).mkdir(parents=True, exist_ok=True)
        cfg_path.write_text(config_text, encoding="utf-8")
        ws = cls(root)
        ws.config  # noqa: B018 - validate what we wrote
        ws.lineage  # noqa: B018 - create the lineage db now, so a fresh workspace is complete
        ws.close()
        return ws

    @classmethod
    def open(cls, root: Path) -> Workspace:
        if not (root / CONFIG_NAME).is_file() or not (root / STORE).is_dir():
            raise WorkspaceError(f"{root} is not a tether workspace (run `tether init {root}` first)")
        return cls(root)

    @property
    def config(self) -> TetherConfig:
        if self._config is None:
            self._config = load_config(self.root / CONFIG_NAME)
        return self._config

    def reload_config(self) -> TetherConfig:
        self._config = None
        return self.config

    @property
    def lineage(self) -> Lineage:
        if self._lineage is None:
            self._lineage = Lineage(self.store / "lineage.sqlite")
        return self._lineage

    def close(self) -> None:
        if self._lineage is not None:
            self._lineage.close()
            self._lineage = None

    # -- objects --------------------------------------------------------------------------------------------

    def put_table(self, table: pa.Table) -> TableRef:
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        path = self.store / "objects" / f"{digest}.parquet"
        if not path.exists():
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, path)  # atomic: a crash never leaves a half-written object under its final name
        return TableRef(object=digest, rows=table.num_rows)

    def put_file(self, path: Path, rows: int) -> TableRef:
        """Store a Parquet file written elsewhere (a streamed stage output) under the sha256 of its bytes; the
        file is moved, not copied."""
        h = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        digest = h.hexdigest()
        dest = self.store / "objects" / f"{digest}.parquet"
        if dest.exists():
            path.unlink()
        else:
            os.replace(path, dest)
        return TableRef(object=digest, rows=rows)

    def object_path(self, ref: TableRef) -> Path:
        """The Parquet file of a stored table (what streaming stages read batch by batch)."""
        path = self.store / "objects" / f"{ref.object}.parquet"
        if not path.is_file():
            raise WorkspaceError(f"object {path.name} is missing from {path.parent} (a deleted or partial store)")
        return path

    def read_table(self, version: str | Manifest, name: str) -> pa.Table:
        man = version if isinstance(version, Manifest) else self.manifest(version)
        schema = SCHEMAS.get(name)
        ref = man.tables.get(name)
        if ref is None:
            if schema is None:
                raise WorkspaceError(f"version {man.id[:12]} has no table '{name}'")
            return schema.empty_table()
        return self.read_ref(ref, name)

    def read_ref(self, ref: TableRef, name: str = "records") -> pa.Table:
        """A stored object by its reference (a version's table, a mix's, the holdout's), with `name`'s schema."""
        return pq.read_table(self.object_path(ref), schema=SCHEMAS.get(name))

    def records(self, version: str | Manifest) -> list[Record]:
        return table_to_records(self.read_table(version, "records"))

    def human_records(self, version: str | Manifest) -> list[Record]:
        """The seed rows of a version, read without building the synthetic ones (a version may hold millions)."""
        man = version if isinstance(version, Manifest) else self.manifest(version)
        ref = man.tables.get("records")
        if ref is None:
            return []
        return table_to_records(
            pq.read_table(self.object_path(ref), filters=[("origin", "=", "human")], schema=RECORD_SCHEMA)
        )

    def chunks(self, version: str | Manifest) -> list[Chunk]:
        return table_to_chunks(self.read_table(version, "chunks"))

    def documents(self, version: str | Manifest) -> list[Document]:
        return table_to_documents(self.read_table(version, "documents"))

    # -- versions -------------------------------------------------------------------------------------------

    def commit(
        self,
        stage: str,
        tables: dict[str, pa.Table | TableRef],
        parents: list[str],
        run_id: str,
        inputs: list[dict] | None = None,
        notes: dict | None = None,
        usage: dict | None = None,
        counts: dict | None = None,
    ) -> tuple[Manifest, bool]:
        """Write a version; returns (manifest, created). Identical content and parents give the same id.

        A table given as a `TableRef` (e.g. a parent's unchanged chunks) is carried forward as it is stored.
        `counts` are the records' counts (`record_counts`) when the records come as a `TableRef` (streamed)."""
        refs = {name: t if isinstance(t, TableRef) else self.put_table(t) for name, t in sorted(tables.items())}
        if parents:
            parent = self.manifest(parents[0])
            if {k: r.object for k, r in refs.items()} == {k: r.object for k, r in parent.tables.items()}:
                return parent, False  # nothing changed: no new version
        cfg_hash = self._config_hash()
        vid = content_hash(
            {
                "stage": stage,
                "parents": parents,
                "config": cfg_hash,
                "tables": {k: r.object for k, r in refs.items()},
            },
            n=16,
        )
        existing = self.store / "versions" / vid / "manifest.json"
        if existing.exists():
            return self.manifest(vid), False
        records = tables.get("records")
        counts = record_counts(records) if isinstance(records, pa.Table) else dict(counts or {})
        counts["tables"] = {k: r.rows for k, r in refs.items()}
        man = Manifest(
            id=vid,
            stage=stage,
            created_at=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            parents=parents,
            config_hash=cfg_hash,
            run_id=run_id,
            inputs=inputs or [],
            tables=refs,
            counts=counts,
            notes=notes or {},
            usage=usage or {},
        )
        vdir = existing.parent
        vdir.mkdir(parents=True, exist_ok=True)
        tmp = vdir / "manifest.json.tmp"
        tmp.write_text(man.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, existing)
        self.lineage.add_version(man.id, stage, man.created_at, parents)
        return man, True

    def set_metrics(self, version: str, metrics: dict) -> Manifest:
        """Store a version's measurements in its manifest (atomically). The version's id and tables stay as they
        are: metrics are computed from them, so re-measuring only refreshes this field."""
        man = self.manifest(version).model_copy(update={"metrics": metrics})
        path = self.store / "versions" / man.id / "manifest.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(man.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, path)
        return man

    def _config_hash(self) -> str:

        return config_hash(self.config)

    def manifest(self, version: str) -> Manifest:
        vid = self.resolve(version)
        return Manifest.model_validate_json((self.store / "versions" / vid / "manifest.json").read_text("utf-8"))

    def versions(self) -> list[Manifest]:
        """All versions, oldest first (creation order as recorded in the lineage db)."""
        return [self.manifest(v) for v in self.lineage.version_ids()]

    def head(self) -> Manifest | None:
        ids = self.lineage.version_ids()
        return self.manifest(ids[-1]) if ids else None

    def resolve(self, version: str) -> str:
        """Full version id from an id, a unique prefix, or 'head'."""
        vdir = self.store / "versions"
        if version == "head":
            ids = self.lineage.version_ids()
            if not ids:
                raise WorkspaceError(f"{self.root} has no versions yet (run `tether ingest` first)")
            return ids[-1]
        matches = [p.name for p in vdir.iterdir() if p.name.startswith(version)] if vdir.is_dir() else []
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise WorkspaceError(f"no version '{version}' in {self.root} (see `tether versions`)")
        raise WorkspaceError(f"version prefix '{version}' is ambiguous ({len(matches)} versions); give more digits")

    # -- run logs -------------------------------------------------------------------------------------------

    def log(self, run_id: str, event: str, **fields: object) -> None:
        self.log_all(run_id, [{"event": event, **fields}])

    def log_all(self, run_id: str, events: Iterable[dict]) -> None:
        """Append events to the run's log in one write (a run can drop thousands of rows)."""
        lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
        if lines:
            with (self.store / "runs" / f"{run_id}.jsonl").open("a", encoding="utf-8") as f:
                f.write(lines)
