"""SQL validator: run the SQL in an answer against a read-only copy of a SQLite database, drop rows whose query
fails, hangs, or returns a different result than the row's reference query.

Safety, in layers: the database file is copied into a temporary directory once per `judge()` call and only the copy
is opened, in `mode=ro` with `PRAGMA query_only=ON`; an authorizer denies ATTACH/DETACH (which could create files),
transactions and state-changing pragmas; a progress handler aborts queries that run past the time limit. Only the
first statement runs, and answers with more than one statement are dropped.

SQLite only. TODO: DuckDB support (not implemented).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tether.filters.base import live
from tether.records import Record, Verdict

if TYPE_CHECKING:
    from tether.filters.registry import BuildContext

MAX_ROWS = 1_000_000  # a result larger than this is an error, not something to hold in memory and compare
PROGRESS_STEPS = 1000  # SQLite VM instructions between time checks
FLOAT_DIGITS = 9  # floats are compared rounded to this many decimals (AVG vs SUM/COUNT, etc.)

_FENCE = re.compile(
    r"^[ \t]*```[ \t]*(?P<lang>[\w+.-]*)[^\n]*\n(?P<body>.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL
)
_SQL_LANGS = frozenset({"sql", "sqlite", "sqlite3"})
_BARE_QUERY = re.compile(r"\s*(select|with)\b", re.IGNORECASE)
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)

# authorizer: reads are allowed; writes are allowed through to fail on the read-only database (clearer message);
# everything else (ATTACH/DETACH, transactions, savepoints, virtual tables, pragmas that are not reads) is denied
_ALLOWED_ACTIONS = frozenset(
    {
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_FUNCTION,
        sqlite3.SQLITE_RECURSIVE,
        sqlite3.SQLITE_INSERT,
        sqlite3.SQLITE_UPDATE,
        sqlite3.SQLITE_DELETE,
        sqlite3.SQLITE_CREATE_INDEX,
        sqlite3.SQLITE_CREATE_TABLE,
        sqlite3.SQLITE_CREATE_TEMP_INDEX,
        sqlite3.SQLITE_CREATE_TEMP_TABLE,
        sqlite3.SQLITE_CREATE_TEMP_TRIGGER,
        sqlite3.SQLITE_CREATE_TEMP_VIEW,
        sqlite3.SQLITE_CREATE_TRIGGER,
        sqlite3.SQLITE_CREATE_VIEW,
        sqlite3.SQLITE_DROP_INDEX,
        sqlite3.SQLITE_DROP_TABLE,
        sqlite3.SQLITE_DROP_TEMP_INDEX,
        sqlite3.SQLITE_DROP_TEMP_TABLE,
        sqlite3.SQLITE_DROP_TEMP_TRIGGER,
        sqlite3.SQLITE_DROP_TEMP_VIEW,
        sqlite3.SQLITE_DROP_TRIGGER,
        sqlite3.SQLITE_DROP_VIEW,
        sqlite3.SQLITE_ALTER_TABLE,
        sqlite3.SQLITE_REINDEX,
        sqlite3.SQLITE_ANALYZE,
    }
)
# pragmas that only read the schema, usable as table-valued functions (SELECT * FROM pragma_table_info('t'))
_READ_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "collation_list",
        "function_list",
        "module_list",
        "pragma_list",
    }
)
_DENIED_FUNCTIONS = frozenset({"load_extension"})


def _authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
    if action in _ALLOWED_ACTIONS and not (action == sqlite3.SQLITE_FUNCTION and (arg2 or "") in _DENIED_FUNCTIONS):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _READ_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


# ---------------------------------------------------------------------------------------------------------------------
# extraction and lexing


def extract_sql(text: str) -> str | None:
    """The SQL in an answer: its ```sql fenced blocks joined, else the whole answer if it is a bare SELECT/WITH query,
    else None."""
    blocks = [m.group("body").strip() for m in _FENCE.finditer(text) if m.group("lang").lower() in _SQL_LANGS]
    blocks = [b for b in blocks if b]
    if blocks:
        return ";\n".join(blocks)  # several blocks are several statements, not one
    if _BARE_QUERY.match(text):
        return text.strip()
    return None


def _tokens(sql: str) -> Iterator[tuple[str, str]]:
    """(kind, text) with kind in code / string / comment / semicolon; strings include quoted identifiers."""
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`[":
            close = "]" if c == "[" else c
            j = i + 1
            while True:
                j = sql.find(close, j)
                if j == -1:
                    j = n
                    break
                if close != "]" and sql.startswith(close * 2, j):  # doubled quote inside the literal
                    j += 2
                    continue
                j += 1
                break
            yield "string", sql[i:j]
            i = j
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j == -1 else j + 1
            yield "comment", sql[i:j]
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j == -1 else j + 2
            yield "comment", sql[i:j]
            i = j
        elif c == ";":
            yield "semicolon", c
            i += 1
        else:
            j = i + 1
            while j < n and not (sql[j] in "'\"`[;" or sql.startswith(("--", "/*"), j)):
                j += 1
            yield "code", sql[i:j]
            i = j


def split_statements(sql: str) -> list[str]:
    """The statements in `sql` (split at semicolons outside strings and comments), without empty or comment-only
    ones."""
    out: list[str] = []
    parts: list[str] = []
    meaningful = False
    for kind, text in _tokens(sql):
        if kind == "semicolon":
            if meaningful:
                out.append("".join(parts).strip())
            parts, meaningful = [], False
            continue
        parts.append(text)
        if kind == "string" or (kind == "code" and text.strip()):
            meaningful = True
    if meaningful:
        out.append("".join(parts).strip())
    return out


def has_top_level_order_by(sql: str) -> bool:
    """Whether the query's outermost level sorts its result (ORDER BY outside parentheses, strings and comments:
    not one in a subquery or a window)."""
    depth = 0
    top: list[str] = []
    for kind, text in _tokens(sql):
        if kind != "code":
            top.append(" ")
            continue
        for ch in text:
            if ch == "(":
                depth += 1
                top.append(" ")
            elif ch == ")":
                depth = max(0, depth - 1)
                top.append(" ")
            elif depth == 0:
                top.append(ch)
    return bool(_ORDER_BY.search("".join(top)))


# ---------------------------------------------------------------------------------------------------------------------
# running queries


class _QueryError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class _Runner:
    """One read-only connection to the copy, with a per-query deadline enforced by a progress handler."""

    def __init__(self, path: Path, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.deadline = float("inf")
        self.fired = False
        self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        self.conn.execute("PRAGMA query_only=ON")
        self.conn.execute("PRAGMA trusted_schema=OFF")
        self.conn.set_authorizer(_authorize)
        self.conn.set_progress_handler(self._progress, PROGRESS_STEPS)

    def _progress(self) -> int:
        if time.monotonic() > self.deadline:
            self.fired = True
            return 1  # non-zero aborts the statement: sqlite3.OperationalError("interrupted")
        return 0

    def run(self, statement: str) -> list[tuple]:
        self.fired = False
        self.deadline = time.monotonic() + self.timeout_s
        try:
            cur = self.conn.execute(statement)
            rows: list[tuple] = []
            while batch := cur.fetchmany(1000):
                rows.extend(batch)
                if len(rows) > MAX_ROWS:
                    raise _QueryError("sql_error", f"more than {MAX_ROWS} rows")
            return rows
        except (sqlite3.Error, sqlite3.Warning, ValueError) as e:
            if self.fired:
                raise _QueryError("sql_timeout", f"no result after {self.timeout_s:g}s") from e
            raise _QueryError("sql_error", str(e) or type(e).__name__) from e
        finally:
            self.deadline = float("inf")
            if self.conn.in_transaction:
                self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def _norm(row: tuple) -> tuple:
    return tuple(round(v, FLOAT_DIGITS) if isinstance(v, float) else v for v in row)


def _short(row: tuple | None) -> str:
    text = repr(row)
    return text if len(text) <= 120 else text[:117] + "..."


def compare_results(got: list[tuple], expected: list[tuple], ordered: bool) -> str | None:
    """None if the results match (as multisets of rows, or as sequences if `ordered`), else a short description."""
    got_n, exp_n = [_norm(r) for r in got], [_norm(r) for r in expected]
    head = f"expected {len(exp_n)} rows, got {len(got_n)}"
    if ordered:
        if got_n == exp_n:
            return None
        i = next((i for i, (a, b) in enumerate(zip(got_n, exp_n, strict=False)) if a != b), min(len(got_n), len(exp_n)))
        exp_row = expected[i] if i < len(expected) else None
        got_row = got[i] if i < len(got) else None
        return f"{head}; row {i + 1}: expected {_short(exp_row)}, got {_short(got_row)}"
    have, want = Counter(got_n), Counter(exp_n)
    if have == want:
        return None
    missing = want - have
    extra = have - want
    parts = [head]
    if missing:
        parts.append(f"missing {_short(next(r for r in exp_n if r in missing))}")
    if extra:
        parts.append(f"unexpected {_short(next(r for r in got_n if r in extra))}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------------------------------
# the filter


class SqlValidator:
    """Drop rows whose SQL fails on the database, runs too long, or (with `compare`) returns a different result than
    the reference query in `meta[reference_field]`.

    Rows without SQL are not judged (None) unless `required`, then dropped as `no_sql`. SQLite only; DuckDB is a TODO.
    """

    name = "sql"

    def __init__(
        self,
        database: Path,
        timeout_s: float = 5.0,
        reference_field: str | None = "reference_sql",
        compare: bool = True,
        required: bool = False,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.database = Path(database)
        self.timeout_s = timeout_s
        self.reference_field = reference_field
        self.compare = compare
        self.required = required

    @classmethod
    def from_config(cls, ctx: BuildContext) -> SqlValidator:
        s = ctx.cfg.filters.sql
        assert s.database is not None  # the config validator requires it when sql is enabled
        return cls(
            s.database, timeout_s=s.timeout_s, reference_field=s.reference_field, compare=s.compare, required=s.required
        )

    def judge(self, records: Sequence[Record]) -> list[Verdict | None]:
        verdicts: list[Verdict | None] = [None] * len(records)
        todo: list[tuple[int, list[str], Record]] = []
        for i, rec in enumerate(records):
            if not live(rec):  # human seeds are the anchor; dropped rows were judged already
                continue
            sql = extract_sql(rec.answer())
            statements = split_statements(sql) if sql is not None else []
            if not statements:
                if self.required:
                    verdicts[i] = Verdict(keep=False, reason="no_sql", detail="no SQL query in the answer")
                continue
            if len(statements) > 1:
                verdicts[i] = Verdict(
                    keep=False, reason="sql_multiple_statements", detail=f"{len(statements)} statements, expected one"
                )
                continue
            todo.append((i, statements, rec))
        if not todo:
            return verdicts
        with tempfile.TemporaryDirectory(prefix="tether-sql-") as tmp:
            runner = _Runner(self._copy(Path(tmp)), self.timeout_s)
            try:
                for i, statements, rec in todo:
                    verdicts[i] = self._judge_one(runner, statements[0], rec)
            finally:
                runner.close()
        return verdicts

    def _copy(self, tmp: Path) -> Path:
        """Copy the database (and its WAL, if any) into `tmp`; only the copy is ever opened."""
        copy = tmp / (self.database.name or "database.sqlite")
        shutil.copyfile(self.database, copy)
        wal = self.database.with_name(self.database.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        copy.chmod(0o444)
        return copy

    def _reference(self, rec: Record) -> str | None:
        if not (self.compare and self.reference_field):
            return None
        ref = rec.meta.get(self.reference_field, "")
        if not ref.strip():
            return None
        return extract_sql(ref) or ref

    def _judge_one(self, runner: _Runner, statement: str, rec: Record) -> Verdict:
        try:
            rows = runner.run(statement)
        except _QueryError as e:
            return Verdict(keep=False, reason=e.reason, detail=e.detail)
        ref = self._reference(rec)
        if ref is None:
            return Verdict(keep=True, detail=f"{len(rows)} rows")
        ref_statements = split_statements(ref)
        if len(ref_statements) != 1:
            return Verdict(
                keep=False, reason="sql_reference_error", detail=f"reference has {len(ref_statements)} statements"
            )
        try:
            expected = runner.run(ref_statements[0])
        except _QueryError as e:
            return Verdict(keep=False, reason="sql_reference_error", detail=f"{e.reason}: {e.detail}")
        diff = compare_results(rows, expected, ordered=has_top_level_order_by(ref_statements[0]))
        if diff is not None:
            return Verdict(keep=False, reason="sql_result_mismatch", detail=diff)
        return Verdict(keep=True, detail=f"{len(rows)} rows, matches reference")
