"""Read jsonl and csv files: each is either seed examples (question/answer, messages) or documents (text rows).

Rows are classified by their fields, so a folder can hold both kinds. A bad row is skipped with its line number
and reason; it never aborts the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tether.records import Message

# (question field, answer field) pairs accepted for seed examples, most common first
QA_FIELDS = [
    ("question", "answer"),
    ("prompt", "response"),
    ("instruction", "output"),
    ("input", "output"),
    ("query", "answer"),
    ("q", "a"),
]
TEXT_FIELDS = ["text", "content", "body", "document"]
_KNOWN = {"concepts", "source", "id", "title", "messages", "input"}


@dataclass
class RawSeed:
    line: int
    question: str | None = None
    answer: str | None = None
    messages: list[Message] | None = None
    concepts: list[str] = field(default_factory=list)
    source: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class RawDoc:
    line: int
    title: str
    text: str


@dataclass
class TabularResult:
    seeds: list[RawSeed] = field(default_factory=list)
    docs: list[RawDoc] = field(default_factory=list)
    row_errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def _concepts(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [c.strip() for c in str(value).replace(",", ";").split(";") if c.strip()]


def _messages(value: object) -> list[Message]:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list) or not value:
        raise ValueError("'messages' must be a non-empty list of {role, content}")
    msgs = [Message.model_validate(m) for m in value]
    if not any(m.role == "user" for m in msgs) or not any(m.role == "assistant" for m in msgs):
        raise ValueError("'messages' needs at least one user and one assistant turn")
    return msgs


def classify_row(row: dict, line: int, out: TabularResult) -> None:
    """Append the row to seeds or docs, or record why it is neither."""
    keys = {k.lower().strip(): k for k in row if isinstance(k, str)}
    get = lambda name: row.get(keys[name]) if name in keys else None  # noqa: E731
    extra = {k: str(v) for k, v in row.items() if isinstance(k, str) and v is not None}

    if "messages" in keys:
        try:
            msgs = _messages(get("messages"))
        except (ValueError, json.JSONDecodeError) as e:
            out.row_errors.append((line, f"bad messages: {str(e).splitlines()[0]}"))
            return
        used = {"messages", "concepts", "source"}
        out.seeds.append(
            RawSeed(
                line,
                messages=msgs,
                concepts=_concepts(get("concepts")),
                source=get("source"),
                extra=_rest(extra, keys, used),
            )
        )
        return
    for qf, af in QA_FIELDS:
        if qf in keys and af in keys:
            q, a = get(qf), get(af)
            if qf == "instruction" and get("input"):
                q = f"{q}\n\n{get('input')}"
            if not isinstance(q, str) or not q.strip():
                out.row_errors.append((line, f"empty or non-text '{keys[qf]}'"))
            elif not isinstance(a, str) or not a.strip():
                out.row_errors.append((line, f"empty or non-text '{keys[af]}'"))
            else:
                used = {qf, af, "input", "concepts", "source"}
                out.seeds.append(
                    RawSeed(
                        line,
                        q.strip(),
                        a.strip(),
                        concepts=_concepts(get("concepts")),
                        source=get("source"),
                        extra=_rest(extra, keys, used),
                    )
                )
            return
    for tf in TEXT_FIELDS:
        if tf in keys:
            text = get(tf)
            if not isinstance(text, str) or not text.strip():
                out.row_errors.append((line, f"empty '{keys[tf]}'"))
            else:
                out.docs.append(RawDoc(line, str(get("title") or "").strip(), text))
            return
    found = ", ".join(sorted(keys)) or "none"
    out.row_errors.append((line, f"row has no question/answer, messages or text fields (found: {found})"))


def _rest(extra: dict[str, str], keys: dict[str, str], used: set[str]) -> dict[str, str]:
    drop = {keys[u] for u in used if u in keys}
    return {k: v for k, v in extra.items() if k not in drop}


def jsonl_rows(text: str) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed row, None) or (line number, None, why it is not JSON) for each non-blank line."""
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line), None
        except json.JSONDecodeError as e:
            yield i, None, f"invalid JSON: {e.msg} at column {e.colno}"


def read_jsonl(text: str) -> TabularResult:
    out = TabularResult()
    for i, row, error in jsonl_rows(text):
        if error is not None:
            out.row_errors.append((i, error))
            continue
        if not isinstance(row, dict):
            out.row_errors.append((i, f"expected a JSON object, got {type(row).__name__}"))
            continue
        classify_row(row, i, out)
    return out


def read_csv(text: str) -> TabularResult:
    """A csv with qa/messages/text columns gives seeds/docs per row; any other table becomes one document."""
    out = TabularResult()
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    fields = [f.lower().strip() for f in reader.fieldnames or []]
    tabular_kinds = {q for q, _ in QA_FIELDS} | set(TEXT_FIELDS) | {"messages"}
    if not fields:
        out.row_errors.append((1, "no header row"))
        return out
    if not tabular_kinds & set(fields):
        # a plain data table: render each row as "column: value" lines so a teacher can read it
        lines = []
        for row in reader:
            cells = [f"{k}: {v}" for k, v in row.items() if k and v not in (None, "")]
            if cells:
                lines.append("; ".join(cells))
        if lines:
            out.docs.append(RawDoc(1, "", "\n".join(lines) + "\n"))
        else:
            out.row_errors.append((1, "table has a header but no data rows"))
        return out
    for i, row in enumerate(reader, start=2):
        row.pop(None, None)  # cells beyond the header
        classify_row(row, i, out)
    return out
