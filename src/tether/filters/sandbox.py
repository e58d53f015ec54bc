"""Code validator: run the Python in an answer in a locked-down child process and drop rows whose code fails.

The child is `sys.executable -I -S` (isolated mode, no site-packages) in a fresh temporary directory (its cwd and
HOME, deleted afterwards), with a minimal environment, stdin closed and its output read incrementally up to a cap,
behind the walls described in `tether.filters.isolation`, plus a wall-clock timeout in the parent that kills the
child's whole process group. Running untrusted code as root without dropping privileges is never done: if no
isolation plan works, `judge` raises.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from tether.filters.base import live
from tether.filters.isolation import (
    MAX_WORKERS,
    NET_GUARD,
    SCRIPT_NAME,
    WALL_MARGIN_S,
    IsolationPlan,
    Limits,
    child_env,
    child_setup,
    isolation_plan,
    last_line,
    make_workdir,
)
from tether.records import Record, Verdict

if TYPE_CHECKING:
    from tether.filters.registry import BuildContext

_FENCE = re.compile(
    r"^[ \t]*```[ \t]*(?P<lang>[\w+.-]*)[^\n]*\n(?P<body>.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL
)
_PY_LANGS = frozenset({"", "python", "py", "python3", "py3"})
_MEMORY_ERROR = re.compile(r"^[\w.]*MemoryError\b")
_ASSERTION_ERROR = re.compile(r"^AssertionError\b")


def extract_python(text: str) -> str | None:
    """The Python in an answer: its ```python / ```py fenced blocks joined, or None if it has none.

    Bare ``` blocks count only when no block is tagged as Python: next to tagged code they are usually the program's
    output or a shell session, not more code.
    """
    tagged: list[str] = []
    bare: list[str] = []
    for m in _FENCE.finditer(text):
        lang = m.group("lang").lower()
        if lang in _PY_LANGS:
            body = textwrap.dedent(m.group("body"))
            if body.strip():
                (tagged if lang else bare).append(body.rstrip("\n"))
    blocks = tagged or bare
    return "\n\n".join(blocks) + "\n" if blocks else None


# ---------------------------------------------------------------------------------------------------------------------
# running one program


@dataclass
class _Outcome:
    exitcode: int | None  # negative: killed by that signal
    timed_out: bool
    overflow: bool
    stdout: str
    stderr: str
    elapsed: float
    cpu: float


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(c) for c in f.read().split()]
    except OSError:  # kernel without CONFIG_PROC_CHILDREN: scan
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and _ppid(int(entry)) == pid:
                out.append(int(entry))
        return out


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _kill_namespace(pid: int) -> None:
    """Kill the PID namespace's init (and so the namespace) below the waiting process `pid`, leaving `pid` to reap
    it: killing `pid` first would orphan the init to the host's PID 1, which may never reap it."""
    for child in _children(pid):
        try:
            pidfd = os.pidfd_open(child)
        except OSError:
            continue
        try:
            if _ppid(child) == pid:  # checked after pinning the process: not a recycled pid
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except OSError:
            pass
        finally:
            os.close(pidfd)


def _execute(plan: IsolationPlan, limits: Limits, script: str, wall_s: float, max_output: int) -> _Outcome:
    workdir = make_workdir(plan)
    try:
        path = os.path.join(workdir, SCRIPT_NAME)
        with open(path, "w", encoding="utf-8") as f:
            f.write(script)
        os.chmod(path, 0o644)
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", SCRIPT_NAME],
            cwd=workdir,
            env=child_env(workdir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
            start_new_session=True,
            preexec_fn=partial(child_setup, plan, limits),
        )
        try:
            return _supervise(proc, start, wall_s, max_output, plan.pidns)
        finally:
            if proc.returncode is None:  # only on an unexpected error in _supervise
                _kill_group(proc.pid)
                proc.wait()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _supervise(proc: subprocess.Popen, start: float, wall_s: float, max_output: int, pidns: bool) -> _Outcome:
    deadline = start + wall_s
    assert proc.stdout is not None and proc.stderr is not None
    chunks: dict[int, list[bytes]] = {proc.stdout.fileno(): [], proc.stderr.fileno(): []}
    total = 0
    timed_out = overflow = False
    with selectors.DefaultSelector() as sel:
        for fd in chunks:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map() and not overflow:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in sel.select(remaining):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fd)
                    continue
                chunks[key.fd].append(data[: max(0, max_output - total)])
                total += len(data)
                if total > max_output:
                    overflow = True
                    break
    # wait for the exit without reaping, so that the process group id cannot be reused before the kill below
    while not (timed_out or overflow):
        if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            break
        if time.monotonic() >= deadline:
            timed_out = True
            break
        time.sleep(0.005)
    if pidns and (timed_out or overflow):
        _kill_namespace(proc.pid)
        grace = time.monotonic() + 2.0
        while time.monotonic() < grace:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                break
            time.sleep(0.005)
    _kill_group(proc.pid)  # stragglers (and everything on timeout / output overflow)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    out, err = (b"".join(chunks[fd]).decode("utf-8", errors="replace") for fd in chunks)
    return _Outcome(
        exitcode=proc.returncode,
        timed_out=timed_out,
        overflow=overflow,
        stdout=out,
        stderr=err,
        elapsed=elapsed,
        cpu=usage.ru_utime + usage.ru_stime,
    )


# ---------------------------------------------------------------------------------------------------------------------
# the filter


class CodeValidator:
    """Drop rows whose Python does not compile, crashes, hangs, or fails the given tests.

    Rows without code are not judged (None) unless `required`, then dropped as `no_code`. `tests` is Python
    appended after the answer's code (e.g. asserts calling the functions it defines); an AssertionError raised from
    it drops the row as `code_tests_failed`.
    """

    name = "code"

    def __init__(
        self,
        timeout_s: float = 5.0,
        memory_mb: int = 256,
        max_output_kb: int = 64,
        tests: str | None = None,
        required: bool = False,
    ) -> None:
        if timeout_s <= 0 or memory_mb <= 0 or max_output_kb <= 0:
            raise ValueError("timeout_s, memory_mb and max_output_kb must be positive")
        if tests is not None:
            compile(tests, "<tests>", "exec", dont_inherit=True)  # a broken test suite is a config error
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_output_kb = max_output_kb
        self.tests = tests
        self.required = required

    @classmethod
    def from_config(cls, ctx: BuildContext) -> CodeValidator:
        c = ctx.cfg.filters.code
        return cls(
            timeout_s=c.timeout_s,
            memory_mb=c.memory_mb,
            max_output_kb=c.max_output_kb,
            tests=c.tests,
            required=c.required,
        )

    @property
    def isolation(self) -> str:
        """Which isolation this machine allows (probes on first use)."""
        return isolation_plan().name

    def judge(self, records: Sequence[Record]) -> list[Verdict | None]:
        verdicts: list[Verdict | None] = [None] * len(records)
        todo: list[tuple[int, str]] = []
        for i, rec in enumerate(records):
            if not live(rec):  # human seeds are the anchor; dropped rows were judged already
                continue
            code = extract_python(rec.answer())
            if code is None:
                if self.required:
                    verdicts[i] = Verdict(keep=False, reason="no_code", detail="no Python code block in the answer")
                continue
            try:
                compile(code, SCRIPT_NAME, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as e:  # ValueError: null bytes
                verdicts[i] = Verdict(keep=False, reason="code_syntax_error", detail=_syntax_detail(e))
                continue
            todo.append((i, code))
        if todo:
            plan = isolation_plan()
            with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(todo))) as pool:
                for i, verdict in zip(
                    (i for i, _ in todo), pool.map(lambda item: self._run(plan, item[1]), todo), strict=True
                ):
                    verdicts[i] = verdict
        return verdicts

    def _run(self, plan: IsolationPlan, code: str) -> Verdict:
        prefix = NET_GUARD if plan.net_guard else ""
        script = prefix + code
        tests_from = None
        if self.tests is not None:
            script += "\n\n"
            tests_from = script.count("\n") + 1  # first line of the tests in the script
            script += self.tests + "\n"
        limits = Limits(cpu_s=max(1, math.ceil(self.timeout_s)), as_bytes=self.memory_mb * 1024 * 1024)
        out = _execute(plan, limits, script, self.timeout_s + WALL_MARGIN_S, self.max_output_kb * 1024)
        verdict = self._classify(out, limits, tests_from)
        if plan.net_guard:
            note = f"[isolation: {plan.name}]"
            verdict = verdict.model_copy(update={"detail": f"{verdict.detail} {note}" if verdict.detail else note})
        return verdict

    def _classify(self, out: _Outcome, limits: Limits, tests_from: int | None) -> Verdict:
        if out.overflow:
            return Verdict(
                keep=False, reason="code_output_limit", detail=f"more than {self.max_output_kb} KiB of output"
            )
        if out.timed_out:
            return Verdict(keep=False, reason="code_timeout", detail=f"still running after {out.elapsed:.1f}s")
        code = out.exitcode
        if code == 0:
            return Verdict(keep=True, detail=f"ran in {out.elapsed:.2f}s")
        assert code is not None
        last = last_line(out.stderr)
        if code < 0:
            sig = -code
            # RLIMIT_CPU kills with SIGKILL at the hard limit; rusage under-reports CPU time by 10-20% (tick
            # sampling), so anything near the limit counts as a timeout, a SIGKILL well below it as memory (OOM)
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and out.cpu >= 0.5 * limits.cpu_s):
                return Verdict(keep=False, reason="code_timeout", detail=f"CPU limit of {limits.cpu_s}s exceeded")
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            if sig == signal.SIGKILL:
                return Verdict(keep=False, reason="code_memory_limit", detail="killed by SIGKILL (out of memory?)")
            return Verdict(keep=False, reason="code_runtime_error", detail=f"killed by {name}")
        if _MEMORY_ERROR.match(last):
            return Verdict(keep=False, reason="code_memory_limit", detail=last)
        if tests_from is not None and _ASSERTION_ERROR.match(last) and _failed_in_tests(out.stderr, tests_from):
            return Verdict(keep=False, reason="code_tests_failed", detail=last)
        return Verdict(keep=False, reason="code_runtime_error", detail=last or f"exit code {code}")


_MODULE_FRAME = re.compile(r'^\s*File "[^"]*' + re.escape(SCRIPT_NAME) + r'", line (\d+), in <module>$', re.MULTILINE)


def _failed_in_tests(stderr: str, tests_from: int) -> bool:
    """Whether the (last) traceback's module-level frame lies in the appended tests, not in the answer's code."""
    frames = _MODULE_FRAME.findall(stderr.rsplit("Traceback (most recent call last):", 1)[-1])
    return not frames or int(frames[0]) >= tests_from


def _syntax_detail(e: SyntaxError | ValueError) -> str:
    if isinstance(e, SyntaxError):
        return f"line {e.lineno}: {e.msg}"
    return str(e)
