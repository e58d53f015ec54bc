"""The ingest stage over a workspace: accumulate new documents, chunks and seeds onto the head version.

Accumulate, never replace: a new version holds everything the previous head held plus what was read now.
Re-ingesting the same files creates no new version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tether.config import CONFIG_NAME, set_null_path
from tether.documents import chunks_to_table, documents_to_table
from tether.errors import TetherError
from tether.records import Record, records_to_table
from tether.seeds.ingest import Ingested, ingest
from tether.workspace.lineage import lineage_for
from tether.workspace.store import Manifest, Workspace, new_run_id


@dataclass
class IngestReport:
    result: Ingested
    manifest: Manifest | None  # None when nothing new was read
    created: bool
    run_id: str
    ontology_found: Path | None = None  # an ontology.yaml beside the documents, now set in tether.yaml


def adopt_ontology(ws: Workspace, paths: list[Path]) -> Path | None:
    """With no ontology configured, use an `ontology.yaml` found in or beside an ingested folder.

    Written into tether.yaml (only while its `ontology:` line is still null) so the choice is visible and
    editable, never implicit."""
    if ws.config.ontology is not None:
        return None
    for p in paths:
        if not p.is_dir():
            continue
        for cand in (p / "ontology.yaml", p.parent / "ontology.yaml"):
            if cand.is_file():
                if not set_null_path(ws.root / CONFIG_NAME, "ontology", cand):
                    return None
                ws.reload_config()
                return cand
    return None


LOGGED_LINES = 200  # repeated lines listed per folder in the run log (most frequent first)


def boilerplate_notes(result: Ingested) -> dict[str, int]:
    """What was removed as boilerplate, as flat manifest notes."""
    c = result.cleaning
    paged = (
        {"page_furniture_lines_removed": c.furniture_lines, "page_furniture_chars_removed": c.furniture_chars}
        if c.paged_docs
        else {}
    )
    return {
        "chars_read": c.chars_read,
        "boilerplate_chars_removed": c.chars_removed,
        "main_content_chars_removed": c.main_chars,
        "main_content_lines_removed": c.main_lines,
        "repeated_lines_removed": c.repeated_lines,
        "repeated_chars_removed": c.repeated_chars,
        "chunks_merged": c.chunks_merged,
        "html_pages_kept_whole": len(c.html_fallbacks),
        **paged,
    }


def boilerplate_events(result: Ingested) -> list[dict]:
    """Run-log lines: every HTML page kept whole (and why), every repeated line removed (and from how many
    documents), and the totals, so no removal goes unrecorded."""
    c = result.cleaning
    events: list[dict] = [{"event": "html_full_page", "path": p, "reason": why} for p, why in c.html_fallbacks]
    for folder, lines in c.repeated.items():
        shown = dict(list(lines.items())[:LOGGED_LINES])
        events.append({"event": "boilerplate_lines", "folder": folder, "distinct": len(lines), "lines": shown})
    for path, lines in c.furniture.items():
        shown = dict(list(lines.items())[:LOGGED_LINES])
        events.append({"event": "page_furniture", "path": path, "distinct": len(lines), "lines": shown})
    if result.documents:
        events.append({"event": "boilerplate", **boilerplate_notes(result)})
    return events


def run_ingest(ws: Workspace, paths: list[Path], on_file: Callable[[Path], None] | None = None) -> IngestReport:
    cfg = ws.config
    if not paths:
        paths = [*cfg.sources.docs, *cfg.sources.seeds]
        if not paths:
            raise TetherError(
                f"nothing to ingest: pass paths, or list them under sources.docs / sources.seeds in "
                f"{ws.root / 'tether.yaml'}"
            )
    found = adopt_ontology(ws, paths)
    head = ws.head()
    old_docs = ws.documents(head) if head else []
    old_chunks = ws.chunks(head) if head else []
    old_records: list[Record] = ws.records(head) if head else []
    run_id = new_run_id()
    result = ingest(
        paths,
        cfg.ingest,
        known_docs=old_docs,
        known_chunks=old_chunks,
        known_seed_ids=[r.id for r in old_records],
        on_file=on_file,
    )
    ws.log_all(run_id, ({"event": "skip", "path": s.path, "reason": s.reason} for s in result.skipped))
    ws.log_all(run_id, boilerplate_events(result))
    for r in result.seeds:
        r.run_id = run_id
        # run_id is not part of the content hash, so ids stay stable across re-ingests
    if not (result.documents or result.seeds):
        ws.log(run_id, "no_change", paths=[str(p) for p in paths])
        return IngestReport(result, head, False, run_id, found)

    docs = old_docs + result.documents
    chunks = old_chunks + result.chunks
    records = old_records + result.seeds
    tables = {
        "documents": documents_to_table(docs),
        "chunks": chunks_to_table(chunks),
        "records": records_to_table(records),
    }
    unresolved = sum(1 for r in result.seeds if r.source is None)
    notes = {
        "skipped": len(result.skipped),
        "new_documents": len(result.documents),
        "new_chunks": len(result.chunks),
        "new_seeds": len(result.seeds),
        "seeds_without_source": unresolved,
        **boilerplate_notes(result),
    }
    man, created = ws.commit("ingest", tables, [head.id] if head else [], run_id, inputs=result.inputs, notes=notes)
    nodes, edges = lineage_for(man.id, result.seeds, result.chunks, result.documents)
    ws.lineage.add(nodes, edges)
    ws.log(run_id, "version", id=man.id, **notes)
    return IngestReport(result, man, created, run_id, found)
