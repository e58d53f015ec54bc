"""Lineage in SQLite: row → parents (records, chunks, documents) and version → parent versions.

Kept beside the Parquet versions because "where did this row come from?" is a graph walk across versions that
a recursive SQL query answers in milliseconds, without loading any dataset.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tether.text.pages import span_pages

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes(
    id TEXT PRIMARY KEY, type TEXT NOT NULL, label TEXT NOT NULL, version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS edges(
    child TEXT NOT NULL, parent TEXT NOT NULL, relation TEXT NOT NULL, PRIMARY KEY(child, parent));
CREATE INDEX IF NOT EXISTS edges_parent ON edges(parent);
CREATE TABLE IF NOT EXISTS versions(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, stage TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS version_edges(child TEXT NOT NULL, parent TEXT NOT NULL, PRIMARY KEY(child, parent));
CREATE TABLE IF NOT EXISTS mix_rows(
    mix TEXT NOT NULL, generation INTEGER NOT NULL, row TEXT NOT NULL, PRIMARY KEY(row, mix));
"""


@dataclass
class Node:
    id: str
    type: str  # record / chunk / document
    label: str
    version: str  # version that first introduced it


@dataclass
class Step:
    depth: int
    child: str | None  # None for the starting row
    relation: str | None
    node: Node


class Lineage:
    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add(self, nodes: list[Node], edges: list[tuple[str, str, str]]) -> None:
        """Insert nodes (first version wins) and (child, parent, relation) edges in one transaction."""
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO nodes(id, type, label, version) VALUES (?, ?, ?, ?)",
                [(n.id, n.type, n.label, n.version) for n in nodes],
            )
            self.db.executemany("INSERT OR IGNORE INTO edges(child, parent, relation) VALUES (?, ?, ?)", edges)

    def add_version(self, vid: str, stage: str, created_at: str, parents: list[str]) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO versions(id, stage, created_at) VALUES (?, ?, ?)",
                (vid, stage, created_at),
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO version_edges(child, parent) VALUES (?, ?)",
                [(vid, p) for p in parents],
            )

    def add_mix(self, mix_id: str, generation: int, row_ids: list[str]) -> None:
        """Record which rows a training set (`tether mix`) holds, so a row's lineage names its training sets."""
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO mix_rows(mix, generation, row) VALUES (?, ?, ?)",
                [(mix_id, generation, r) for r in row_ids],
            )

    def mixes_of(self, row_id: str) -> list[tuple[str, int]]:
        """(mix id, generation) of every stored training set holding the row."""
        rows = self.db.execute("SELECT mix, generation FROM mix_rows WHERE row = ? ORDER BY generation, mix", (row_id,))
        return [(r[0], r[1]) for r in rows]

    def version_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM versions ORDER BY seq")]

    def version_parents(self, vid: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT parent FROM version_edges WHERE child = ?", (vid,))]

    def find(self, prefix: str) -> list[Node]:
        rows = self.db.execute(
            "SELECT id, type, label, version FROM nodes WHERE id >= ? AND id < ? LIMIT 5",
            (prefix, prefix + "\U0010ffff"),
        ).fetchall()
        return [Node(*r) for r in rows]

    def ancestry(self, node_id: str, max_depth: int = 64) -> list[Step]:
        """The node and all its ancestors, breadth-first by depth (a row can have several parents)."""
        rows = self.db.execute(
            """
            WITH RECURSIVE up(id, depth, child, relation) AS (
                SELECT ?, 0, NULL, NULL
                UNION
                SELECT e.parent, up.depth + 1, e.child, e.relation
                FROM edges e JOIN up ON e.child = up.id
                WHERE up.depth < ?
            )
            SELECT up.depth, up.child, up.relation, n.id, n.type, n.label, n.version
            FROM up JOIN nodes n ON n.id = up.id
            ORDER BY up.depth, n.type, n.id
            """,
            (node_id, max_depth),
        ).fetchall()
        return [Step(r[0], r[1], r[2], Node(*r[3:])) for r in rows]


def _short(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def record_label(rec) -> str:  # rec: tether.records.Record (import kept lazy: records must not import this)
    q = _short(rec.question())
    if rec.origin == "human":
        where = f"{rec.meta.get('seed_file', '?')}:{rec.meta.get('line', '?')}"
        return f"human seed ({where}) Q: {q}"
    teacher = rec.teacher.model if rec.teacher else "?"
    return f"synthetic {rec.strategy or '?'} by {teacher}, generation {rec.generation} Q: {q}"


def lineage_for(version: str, records=(), chunks=(), documents=()) -> tuple[list[Node], list[tuple[str, str, str]]]:
    """Nodes and edges describing how rows, chunks and documents derive from one another."""
    docs = {d.doc_id: d for d in documents}
    nodes: list[Node] = []
    edges: list[tuple[str, str, str]] = []
    for d in documents:
        nodes.append(Node(d.doc_id, "document", f"document {d.path} ({d.format}) '{_short(d.title, 60)}'", version))
    for c in chunks:
        doc = docs.get(c.doc_id)
        path = doc.path + span_pages(doc.format, doc.text, c.start, c.end) if doc else c.doc_id  # "x.pdf p. 12"
        section = " > ".join(c.heading) or "(no heading)"
        nodes.append(Node(c.chunk_id, "chunk", f"chunk of {path} § {section} [chars {c.start}-{c.end}]", version))
        edges.append((c.chunk_id, c.doc_id, "part_of"))
    for r in records:
        nodes.append(Node(r.id, "record", record_label(r), version))
        edges.extend((r.id, p, "derived_from") for p in r.parents)
        if r.source is not None:
            edges.append((r.id, r.source.chunk_id or r.source.doc_id, "grounded_in"))
    return nodes, edges
