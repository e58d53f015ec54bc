"""SQLite request cache: sha256(canonical request) → response. The basis of exact resume.

A call counts as finished only once its response row is committed; `put` returns after the commit. Writes that
complete in the same event-loop turn are committed together (group commit), so high concurrency costs few
transactions. WAL + synchronous=NORMAL survives a killed process (kill -9) without losing committed rows.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions(
    key TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS facts(key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class RequestCache:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(_SCHEMA)
        self._pending: list[tuple[str, str, str, float, asyncio.Future[None]]] = []
        self.commits = 0  # transactions, for tests and benchmarks

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT response FROM completions WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def get_fact(self, key: str) -> str | None:
        """Small learned facts about a teacher (e.g. which structured-output mode its server accepts)."""
        row = self.db.execute("SELECT value FROM facts WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_fact(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO facts(key, value) VALUES (?, ?)", (key, value))

    def __contains__(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM completions WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    async def put(self, key: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        """Store and commit; returns once the row is durable (batched with other puts of this loop turn)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((key, json.dumps(request, sort_keys=True), json.dumps(response), time.time(), fut))
        await fut

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        try:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO completions(key, request, response, created) VALUES (?, ?, ?, ?)",
                [b[:4] for b in batch],
            )
            self.db.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as e:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            for *_, fut in batch:
                if not fut.done():
                    fut.set_exception(e)
            return
        for *_, fut in batch:
            if not fut.done():
                fut.set_result(None)

    def close(self) -> None:
        if self._pending:
            self._flush()
        self.db.close()
