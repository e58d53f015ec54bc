"""Code and SQL validators: crafted good and bad rows, including hostile code and destructive SQL."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tether.records import Record, Teacher, Verdict

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="the code sandbox is Linux-only")
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop to uid 65534 needs root")

SANDBOX_UID = 65534
TEACHER = Teacher(model="m")


def row(response: str, **kw) -> Record:
    return Record(kind="qa", prompt="Write it.", response=response, origin="synthetic", teacher=TEACHER, **kw)


def py(code: str, **kw) -> Record:
    return row(f"Here is the code:\n\n```python\n{code}\n```\n\nHope it helps.", **kw)


def dropped(rec: Record) -> Record:
    return rec.model_copy(update={"verdicts": {"validity": Verdict(keep=False, reason="empty")}})


def sandbox_pids() -> set[int]:
    """Processes (zombies included) owned by the sandbox user."""
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="utf-8") as f:
                uid_line = next(line for line in f if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(uid_line.split()[1]) == SANDBOX_UID:
            pids.add(int(entry))
    return pids


def assert_no_leftovers(before: set[int]) -> None:
    """No process of the sandbox user beyond those that existed before (a concurrent test run may be starting some,
    so give those a moment to finish)."""
    deadline = time.monotonic() + 3
    while (left := sandbox_pids() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left


# ---------------------------------------------------------------------------------------------------------------------
# code


@pytest.fixture(scope="module")
def code():
    from tether.filters.sandbox import CodeValidator

    return CodeValidator(timeout_s=2)


def judge_one(validator, rec: Record) -> Verdict | None:
    (verdict,) = validator.judge([rec])
    return verdict


def test_extract_python():
    from tether.filters.sandbox import extract_python

    text = "a\n```python\nx = 1\n```\nthen\n```bash\nls\n```\n```py\ny = 2\n```\nOutput:\n```\n3\n```\n"
    assert extract_python(text) == "x = 1\n\ny = 2\n"  # bare blocks next to tagged ones are output, not code
    assert extract_python("```\nz = 3\n```\n\n```\nprint(z)\n```") == "z = 3\n\nprint(z)\n"
    assert extract_python("no code here") is None
    assert extract_python("```sql\nSELECT 1\n```") is None


@linux_only
def test_mixed_batch_keeps_order(code):
    recs = [
        py("def add(a, b):\n    return a + b\n\nprint(add(2, 3))"),
        py("def f(:\n    pass"),
        row("Just prose, no code."),
        dropped(py("print('fine')")),
        py("raise ValueError('boom')"),
    ]
    out = code.judge(recs)
    assert len(out) == len(recs)
    assert out[0] is not None and out[0].keep and out[0].detail.startswith("ran in ")
    assert out[1] is not None and out[1].reason == "code_syntax_error" and "line 1" in out[1].detail
    assert out[2] is None  # not applicable
    assert out[3] is None  # already dropped
    assert out[4] is not None and out[4].reason == "code_runtime_error"
    assert out[4].detail == "ValueError: boom"


def test_required_drops_rows_without_code():
    from tether.filters.sandbox import CodeValidator

    (v,) = CodeValidator(required=True).judge([row("No code at all.")])
    assert v is not None and not v.keep and v.reason == "no_code"


@linux_only
def test_infinite_loop_times_out():
    from tether.filters.sandbox import CodeValidator

    t0 = time.monotonic()
    v = judge_one(CodeValidator(timeout_s=1), py("while True:\n    pass"))
    assert v is not None and v.reason == "code_timeout"
    assert time.monotonic() - t0 < 5


@linux_only
def test_sleep_hits_wall_clock():
    from tether.filters.sandbox import CodeValidator

    t0 = time.monotonic()
    v = judge_one(CodeValidator(timeout_s=1), py("import time\ntime.sleep(60)"))
    assert v is not None and v.reason == "code_timeout"
    assert time.monotonic() - t0 < 5


@linux_only
def test_fork_bomb_is_contained():
    from tether.filters.sandbox import CodeValidator

    before = sandbox_pids()
    t0 = time.monotonic()
    v = judge_one(CodeValidator(timeout_s=2), py("import os\nwhile True:\n    os.fork()"))
    elapsed = time.monotonic() - t0
    assert v is not None and not v.keep
    assert v.reason in {"code_runtime_error", "code_timeout", "code_output_limit"}
    assert elapsed < 2 + 4
    assert_no_leftovers(before)  # nothing of the sandbox user left behind, not even zombies
    # and the machine still runs processes
    assert judge_one(CodeValidator(timeout_s=2), py("print('still fine')")).keep


@linux_only
def test_background_child_does_not_outlive_the_run(code):
    before = sandbox_pids()
    v = judge_one(code, py("import os, time\nif os.fork() == 0:\n    time.sleep(60)"))
    assert v is not None
    if "pidns" in code.isolation:
        assert v.keep  # the namespace dies with its init: no wait for the sleeping child
    assert_no_leftovers(before)


@linux_only
def test_memory_hog(code):
    v = judge_one(code, py("x = bytearray(10**9)"))
    assert v is not None and v.reason == "code_memory_limit"


@linux_only
def test_output_flood(code):
    t0 = time.monotonic()
    v = judge_one(code, py("while True:\n    print('x' * 1000)"))
    assert v is not None and v.reason in {"code_output_limit", "code_timeout"}
    assert time.monotonic() - t0 < 6


@linux_only
@root_only
def test_destruction_fails(code):
    victim = Path(tempfile.mkdtemp(prefix="tether-victim-"))
    try:
        os.chmod(victim, 0o755)
        (victim / "precious.txt").write_text("keep me")
        v = judge_one(code, py(f"import shutil\nshutil.rmtree({str(victim)!r})"))
        assert v is not None and v.reason == "code_runtime_error"
        # PermissionError as uid 65534; FileNotFoundError where the run has a private /tmp
        assert "PermissionError" in v.detail or "FileNotFoundError" in v.detail
        assert (victim / "precious.txt").read_text() == "keep me"
    finally:
        shutil.rmtree(victim, ignore_errors=True)


@linux_only
@root_only
def test_cannot_write_outside_its_directory(code):
    repo = Path(__file__).resolve().parents[2]
    targets = [Path("/etc") / f"tether-sandbox-{os.getpid()}", repo / f"tether-sandbox-{os.getpid()}"]
    try:
        # PermissionError (uid drop), or FileNotFoundError when the path lies under the sandbox's private /tmp
        blocked = ("PermissionError", "FileNotFoundError")
        for target in targets:
            v = judge_one(code, py(f"open({str(target)!r}, 'w').write('pwned')"))
            assert v is not None and v.reason == "code_runtime_error" and v.detail.startswith(blocked)
            assert not target.exists()
        mode = repo.stat().st_mode
        v = judge_one(code, py(f"import os\nos.chmod({str(repo)!r}, 0o777)"))
        assert v is not None and v.reason == "code_runtime_error" and v.detail.startswith(blocked)
        assert repo.stat().st_mode == mode
    finally:
        for target in targets:
            target.unlink(missing_ok=True)


@linux_only
@root_only
def test_runs_unprivileged_in_a_temporary_directory(code):
    assert judge_one(code, py(f"import os\nassert os.getuid() == os.geteuid() == {SANDBOX_UID}")).keep
    v = judge_one(code, py("import os\nraise SystemExit(os.getcwd())"))
    assert v is not None and v.reason == "code_runtime_error"
    workdir = v.detail
    assert workdir.startswith(tempfile.gettempdir())
    assert not os.path.exists(workdir)  # deleted afterwards


@linux_only
def test_files_outside_the_run_directory_vanish(code):
    marker = f"tether-leftover-{os.getpid()}"
    v = judge_one(code, py(f"open('/tmp/{marker}', 'w').write('x')"))
    assert v is not None
    if "mountns" in code.isolation:
        assert v.keep
        assert not os.path.exists(f"/tmp/{marker}")  # written to the run's private /tmp
    else:
        Path(f"/tmp/{marker}").unlink(missing_ok=True)


@linux_only
def test_network_is_unreachable(code):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.setblocking(False)
        port = server.getsockname()[1]
        probe = (
            f"import socket\nwith socket.create_connection(('127.0.0.1', {port}), timeout=2):\n    print('connected')"
        )
        v = judge_one(code, py(probe))
        assert v is not None and v.reason == "code_runtime_error"
        assert "unreachable" in v.detail.lower() or "disabled" in v.detail.lower()
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected


@linux_only
def test_tests_pass_and_fail():
    from tether.filters.sandbox import CodeValidator

    validator = CodeValidator(timeout_s=2, tests="assert add(2, 3) == 5\nassert add(-1, 1) == 0")
    good = py("def add(a, b):\n    return a + b")
    bad = py("def add(a, b):\n    return a - b")
    broken = py("def add(a, b):\n    return a + b\nassert False, 'module-level check'")
    v_good, v_bad, v_broken = validator.judge([good, bad, broken])
    assert v_good is not None and v_good.keep
    assert v_bad is not None and v_bad.reason == "code_tests_failed" and v_bad.detail.startswith("AssertionError")
    # an assert in the answer's own code is a runtime error, not a test failure
    assert v_broken is not None and v_broken.reason == "code_runtime_error"


def test_broken_tests_are_a_config_error():
    from tether.filters.sandbox import CodeValidator

    with pytest.raises(SyntaxError):
        CodeValidator(tests="assert (")


# ---------------------------------------------------------------------------------------------------------------------
# sql


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "town.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE permits (id INTEGER PRIMARY KEY, zone TEXT, fee REAL, holder TEXT)")
    conn.executemany(
        "INSERT INTO permits VALUES (?, ?, ?, ?)",
        [(1, "A", 23.0, "Ana"), (2, "B", 23.0, "Bo"), (3, "A", 41.0, "Cy"), (4, "C", 12.5, "Di")],
    )
    conn.commit()
    conn.close()
    return path


def sql(query: str, **kw) -> Record:
    return row(f"This query answers it:\n\n```sql\n{query}\n```\n", **kw)


def test_sql_good_select_keeps(db: Path):
    from tether.filters.sql import SqlValidator

    v_fenced, v_bare = SqlValidator(db).judge(
        [sql("SELECT holder FROM permits WHERE zone = 'A';"), row("select count(*) from permits")]
    )
    assert v_fenced == Verdict(keep=True, detail="2 rows")
    assert v_bare == Verdict(keep=True, detail="1 rows")


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE permits",
        "DELETE FROM permits",
        "INSERT INTO permits VALUES (5, 'D', 1.0, 'Ed')",
        "UPDATE permits SET fee = 0",
        "PRAGMA query_only = OFF",
    ],
)
def test_sql_writes_fail_and_database_is_untouched(db: Path, statement: str):
    from tether.filters.sql import SqlValidator

    before = sha256(db)
    (v,) = SqlValidator(db).judge([sql(statement)])
    assert v is not None and not v.keep and v.reason == "sql_error"
    assert v.detail  # the sqlite message
    assert sha256(db) == before
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*), sum(fee) FROM permits").fetchone() == (4, 99.5)
    conn.close()


def test_sql_attach_creates_no_file(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from tether.filters.sql import SqlValidator

    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    v_attach, v_vacuum = SqlValidator(db).judge([sql("ATTACH 'evil.db' AS evil"), sql("VACUUM INTO 'copy.db'")])
    assert v_attach is not None and v_attach.reason == "sql_error"
    assert v_vacuum is not None and v_vacuum.reason == "sql_error"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_sql_syntax_error(db: Path):
    from tether.filters.sql import SqlValidator

    (v,) = SqlValidator(db).judge([sql("SELEC holder FROM permits")])
    assert v is not None and v.reason == "sql_error" and "syntax error" in v.detail


def test_sql_timeout(db: Path):
    from tether.filters.sql import SqlValidator

    endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    t0 = time.monotonic()
    (v,) = SqlValidator(db, timeout_s=0.5).judge([sql(endless)])
    assert v is not None and v.reason == "sql_timeout"
    assert time.monotonic() - t0 < 3


def test_sql_multiple_statements(db: Path):
    from tether.filters.sql import SqlValidator

    v_multi, v_trailing, v_in_string = SqlValidator(db).judge(
        [
            sql("SELECT 1; DROP TABLE permits;"),
            sql("SELECT holder FROM permits;  -- done\n"),
            sql("SELECT 'a;b' AS s"),
        ]
    )
    assert v_multi is not None and v_multi.reason == "sql_multiple_statements"
    assert v_trailing is not None and v_trailing.keep
    assert v_in_string is not None and v_in_string.keep


def test_sql_reference_comparison(db: Path):
    from tether.filters.sql import SqlValidator

    ref = {"reference_sql": "SELECT holder FROM permits WHERE fee > 20"}
    ordered_ref = {"reference_sql": "SELECT holder FROM permits WHERE fee > 20 ORDER BY holder DESC"}
    recs = [
        sql("SELECT holder FROM permits WHERE fee >= 23 ORDER BY id DESC", meta=ref),  # same rows, other order
        sql("SELECT holder FROM permits WHERE zone = 'A'", meta=ref),  # one row short
        sql("SELECT holder FROM permits WHERE fee > 20 ORDER BY holder", meta=ordered_ref),  # wrong order
        sql("SELECT holder FROM permits WHERE fee > 20 ORDER BY holder DESC", meta=ordered_ref),
        sql("SELECT holder FROM permits WHERE zone = 'A'", meta={"reference_sql": "SELEC nope"}),
    ]
    match, short, wrong_order, ordered_match, bad_ref = SqlValidator(db).judge(recs)
    assert match == Verdict(keep=True, detail="3 rows, matches reference")
    assert short is not None and short.reason == "sql_result_mismatch"
    assert short.detail.startswith("expected 3 rows, got 2") and "('Bo',)" in short.detail
    assert wrong_order is not None and wrong_order.reason == "sql_result_mismatch"
    assert "row 1: expected ('Cy',), got ('Ana',)" in wrong_order.detail
    assert ordered_match is not None and ordered_match.keep
    assert bad_ref is not None and bad_ref.reason == "sql_reference_error"
    # compare=False: no comparison, the query only has to run
    (unchecked,) = SqlValidator(db, compare=False).judge([recs[1]])
    assert unchecked == Verdict(keep=True, detail="2 rows")


def test_sql_not_applicable_required_and_dropped(db: Path):
    from tether.filters.sql import SqlValidator

    recs = [row("Permits cost 23 marks."), dropped(sql("SELECT 1")), sql("-- just a comment")]
    assert SqlValidator(db).judge(recs) == [None, None, None]
    v_none, v_dropped, v_comment = SqlValidator(db, required=True).judge(recs)
    assert v_none is not None and v_none.reason == "no_sql"
    assert v_dropped is None
    assert v_comment is not None and v_comment.reason == "no_sql"


def test_sql_helpers():
    from tether.filters.sql import compare_results, has_top_level_order_by, split_statements

    assert split_statements("SELECT ';' -- ; \n; /* ; */") == ["SELECT ';' -- ;"]
    assert has_top_level_order_by("SELECT x FROM t ORDER BY x")
    assert not has_top_level_order_by("SELECT row_number() OVER (ORDER BY x) FROM t")
    assert not has_top_level_order_by("SELECT * FROM (SELECT x FROM t ORDER BY x)")
    assert compare_results([(1, 0.1 + 0.2)], [(1.0, 0.3)], ordered=True) is None


def test_human_rows_are_never_validated() -> None:
    from tether.filters.sandbox import CodeValidator

    human = Record(kind="qa", prompt="q?", response="```python\nraise SystemExit(1)\n```", origin="human")
    assert CodeValidator(timeout_s=1).judge([human]) == [None]
