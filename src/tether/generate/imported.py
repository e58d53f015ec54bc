"""`tether import FILE --teacher NAME`: synthetic rows made elsewhere (distilabel, curator, hand scripts) as rows of
this workspace, so the same filters, measures and mixing apply to them as to rows tether generated.

Reads OpenAI chat JSONL (`messages`), ShareGPT (`conversations` of `from`/`value`, JSON or JSONL), Alpaca JSON
(`instruction`, `input`, `output`), and JSONL / JSON / CSV / Parquet with question/answer columns (also
prompt/response, instruction/output, query/answer). Every row becomes a synthetic record with
`strategy=imported` and the teacher the user names; it is matched to its source chunk like a seed (a `source`
field naming a document, else the chunk that clearly holds the row's words). A bad row is skipped with its line
(or item / row number) and the reason; a file with no usable row is an error. Importing the same file again
creates no new version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.errors import TetherError
from tether.filters.base import ASSERTS
from tether.records import Message, Record, Teacher, records_to_table
from tether.seeds.seed_source import qa_text, resolve_source
from tether.seeds.tabular import RawSeed, TabularResult, classify_row, jsonl_rows, read_csv
from tether.workspace.lineage import lineage_for
from tether.workspace.store import Manifest, Workspace, new_run_id

SHAREGPT_ROLES = {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "model": "assistant",
    "chatgpt": "assistant", "bard": "assistant", "bing": "assistant", "system": "system",
}  # fmt: skip
FORMATS = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")


@dataclass
class Parsed:
    rows: list[tuple[str, RawSeed]] = field(default_factory=list)  # (where, row)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    formats: dict[str, int] = field(default_factory=dict)  # detected shape -> rows
    sha256: str = ""  # of the file's bytes, as read (for the version's inputs)
    size: int = 0


@dataclass
class ImportReport:
    path: str
    manifest: Manifest | None
    created: bool
    imported: list[Record]
    skipped: list[tuple[str, str]]
    unchanged: int
    formats: dict[str, int]
    run_id: str


def sharegpt_messages(conv: Any) -> list[dict[str, str]]:
    if not isinstance(conv, list) or not conv:
        raise ValueError("'conversations' must be a non-empty list of {from, value}")
    out = []
    for turn in conv:
        if not isinstance(turn, dict):
            raise ValueError("each conversation turn must be an object with 'from' and 'value'")
        who = str(turn.get("from", turn.get("role", ""))).lower()
        if who not in SHAREGPT_ROLES:
            raise ValueError(f"unknown speaker '{who}' (expected human/gpt/system)")
        text = turn.get("value", turn.get("content"))
        if not isinstance(text, str):
            raise ValueError(f"turn from '{who}' has no text 'value'")
        out.append({"role": SHAREGPT_ROLES[who], "content": text})
    return out


def shape_of(row: dict) -> str:
    keys = {k.lower() for k in row}
    if "conversations" in keys or "conversation" in keys:
        return "sharegpt"
    if "messages" in keys:
        return "openai-chat"
    if "instruction" in keys:
        return "alpaca"
    return "question/answer"


def classify(row: Any, where: str, out: Parsed) -> None:
    """One row of any supported shape into `out` (a RawSeed, or an error naming `where`)."""
    if not isinstance(row, dict):
        out.errors.append((where, f"expected an object, got {type(row).__name__}"))
        return
    shape = shape_of(row)
    if shape == "sharegpt":
        key = "conversations" if "conversations" in row else "conversation"
        try:
            row = {**{k: v for k, v in row.items() if k != key}, "messages": sharegpt_messages(row[key])}
        except ValueError as e:
            out.errors.append((where, f"bad conversations: {e}"))
            return
    tab = TabularResult()
    classify_row(row, 0, tab)
    for _, why in tab.row_errors:
        out.errors.append((where, why))
    if tab.docs:
        out.errors.append((where, "a document row (text field), not a question/answer row: ingest documents instead"))
    for seed in tab.seeds:
        out.rows.append((where, seed))
        out.formats[shape] = out.formats.get(shape, 0) + 1


def parse_file(path: Path) -> Parsed:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise TetherError(f"{path}: unsupported import format '{suffix}' (supported: {', '.join(FORMATS)})")
    out = Parsed()
    try:
        raw = path.read_bytes()  # read once: parsed and hashed from the same bytes
        out.sha256, out.size = hashlib.sha256(raw).hexdigest(), len(raw)
        if suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            for i, row in enumerate(pq.read_table(pa.BufferReader(raw)).to_pylist(), start=1):
                classify(row, f"row {i}", out)
            return out
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TetherError(f"{path}: not UTF-8 (byte offset {e.start}); convert it first") from None
    except OSError as e:
        raise TetherError(f"{path}: cannot read: {e.strerror or e}") from None
    except Exception as e:  # pyarrow raises several types for a broken Parquet file
        raise TetherError(f"{path}: not a readable Parquet file: {str(e).splitlines()[0]}") from None
    if suffix == ".csv":
        tab = read_csv(text)
        out.errors += [(f"line {ln}", why) for ln, why in tab.row_errors]
        out.errors += [(f"line {d.line}", "a document row, not a question/answer row") for d in tab.docs]
        out.rows += [(f"line {s.line}", s) for s in tab.seeds]
        out.formats["question/answer"] = len(tab.seeds)
        return out
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise TetherError(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
        if isinstance(data, dict):
            data = next(
                (data[k] for k in ("data", "rows", "examples", "train") if isinstance(data.get(k), list)), [data]
            )
        if not isinstance(data, list):
            raise TetherError(f"{path}: expected a JSON list of rows (Alpaca / ShareGPT style)")
        for i, row in enumerate(data, start=1):
            classify(row, f"item {i}", out)
        return out
    for i, row, error in jsonl_rows(text):
        if error is not None:
            out.errors.append((f"line {i}", error))
        else:
            classify(row, f"line {i}", out)
    return out


def to_record(seed: RawSeed, teacher: Teacher, generation: int, meta: dict[str, str], ws_sources: tuple) -> Record:
    docs, chunks_by_doc = ws_sources
    source, how = resolve_source(seed, qa_text(seed), docs, chunks_by_doc)
    # a file's own columns never set a key tether's filters read (a row cannot claim to assert a seed's answer)
    extra = {k: v[:500] for k, v in seed.extra.items() if k not in (ASSERTS, "declined")}
    meta = {**meta, "source_match": how, **extra}
    msgs = seed.messages
    if msgs is not None and [m.role for m in msgs] == ["user", "assistant"]:
        seed = RawSeed(seed.line, msgs[0].content, msgs[1].content, concepts=seed.concepts)
        msgs = None
    common = dict(
        kind="qa",
        origin="synthetic",
        teacher=teacher,
        strategy="imported",
        source=source,
        concepts=seed.concepts,
        generation=generation,
        meta=meta,
    )
    if msgs is not None:
        return Record(messages=[Message(role=m.role, content=m.content) for m in msgs], **common)
    return Record(prompt=seed.question, response=seed.answer, **common)


def run_import(
    ws: Workspace, path: Path, teacher: str, teacher_version: str | None = None, generation: int = 1
) -> ImportReport:
    if not teacher.strip():
        raise TetherError("--teacher must name the model that wrote the rows (it is recorded on every row)")
    if not path.is_file():
        raise TetherError(f"import file not found: {path}")
    head = ws.head()
    if head is None:
        raise TetherError(f"{ws.root} has no versions yet: run `tether ingest` first (rows are matched to its chunks)")
    parsed = parse_file(path)
    run_id = new_run_id()
    who = Teacher(model=teacher.strip(), version=teacher_version)
    docs = ws.documents(head)
    chunks_by_doc: dict[str, list] = {}
    for c in ws.chunks(head):
        chunks_by_doc.setdefault(c.doc_id, []).append(c)
    old = ws.records(head)
    known = {r.id for r in old}
    fresh: list[Record] = []
    seen: set[str] = set()
    unchanged = 0
    skipped = list(parsed.errors)
    for where, seed in parsed.rows:
        meta = {"import_file": path.name, "import_row": where}
        rec = to_record(seed, who, generation, meta, (docs, chunks_by_doc))
        rec.run_id = run_id
        if rec.id in seen:
            skipped.append((where, "duplicate of an earlier row in this file"))
            continue
        seen.add(rec.id)
        if rec.id in known:
            unchanged += 1
            continue
        fresh.append(rec)
    ws.log_all(run_id, ({"event": "skip", "path": f"{path.name}:{w}", "reason": why} for w, why in skipped))
    if not parsed.rows:
        first = f" (first: {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise TetherError(f"{path}: no usable question/answer rows{first}")
    if not fresh:
        ws.log(run_id, "no_change", path=str(path))
        return ImportReport(str(path), head, False, [], skipped, unchanged, parsed.formats, run_id)
    inputs = [{"path": str(path), "sha256": parsed.sha256, "bytes": parsed.size}]
    tables = {**head.tables, "records": records_to_table(old + fresh)}
    notes = {"imported": len(fresh), "skipped": len(skipped), "teacher": who.model, "generation": generation}
    man, created = ws.commit("import", tables, [head.id], run_id, inputs=inputs, notes=notes)
    if created:
        ws.lineage.add(*lineage_for(man.id, fresh))
    ws.log(run_id, "version", id=man.id, **notes)
    return ImportReport(str(path), man, created, fresh, skipped, unchanged, parsed.formats, run_id)
