"""A teacher server that tether runs as a child process: started, proven alive by a real completion, watched.

A server that answers `GET /v1/models` is not yet a teacher: a llama.cpp built for CPU features the machine has
but does not permit starts, lists its model and dies with a general protection fault on the first completion. So
`start()` waits for one short completion, and `death()` turns an exited process into one line (exit code or
signal, the last meaningful line of its log, the log's path) that the client raises the moment a call fails.

The server process dies with us: on normal exit, on Ctrl-C, and on kill -9 of the parent (Linux parent-death
signal).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tether.errors import TetherError

# log lines that say nothing about why a server died: access lines, timing reports, blank lines
_NOISE = re.compile(r'^\s*$|^INFO:\s+\S+:\d+ - "|^llama_perf_|^\s*(prompt eval|eval|load|sampling|total) time')
# signals that mean "this CPU refused an instruction" as often as "a bug": worth the rebuild hint
CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGILL, signal.SIGBUS}


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def exit_status(returncode: int) -> str:
    """'exited with code 3' or 'was killed by signal SIGSEGV' (Popen reports a signal as -N)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"was killed by signal {name}"
    return f"exited with code {returncode}"


def last_meaningful_line(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    for line in reversed(lines):
        if not _NOISE.search(line):
            return " ".join(line.split())[:240]
    return "(no output)"


class ServerProcess:
    """One OpenAI-compatible server in a child process. Subclasses give the command and a name for messages."""

    label = "teacher server"
    crash_hint = ""  # appended to the death line when the process died of a crash signal

    def __init__(self, cmd: list[str], base_url: str, model: str, log_path: Path, startup_timeout_s: float):
        self.cmd = cmd
        self.base_url = base_url
        self.model = model
        self.log_path = log_path
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen | None = None

    def death(self) -> str | None:
        """None while the process runs; once it has exited, the one line that says so (and where to look)."""
        if self.proc is None or self.proc.poll() is None:
            return None
        rc = self.proc.returncode
        hint = ""
        if rc < 0 and -rc in CRASH_SIGNALS and self.crash_hint:
            hint = f"; {self.crash_hint}"
        return (
            f"the {self.label} (pid {self.proc.pid}) {exit_status(rc)}: {last_meaningful_line(self.log_path)} "
            f"(log: {self.log_path}){hint}"
        )

    def start(self) -> ServerProcess:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        log.close()
        deadline = time.monotonic() + self.startup_timeout_s
        try:
            self._wait_for(deadline, self._models_ok)
            self._wait_for(deadline, self._answers)
        except TetherError:
            self.stop(keep_log=True)
            raise
        return self

    def _wait_for(self, deadline: float, probe) -> None:
        """Call `probe(timeout)` until it returns True; stop with the process's death line or at the deadline."""
        last = ""
        while True:
            if (dead := self.death()) is not None:
                raise TetherError(dead)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TetherError(
                    f"the {self.label} did not {probe.__doc__} within {self.startup_timeout_s:g}s ({last}; "
                    f"log: {self.log_path}; raise teacher.embedded.startup_timeout_s)"
                )
            try:
                if probe(max(0.5, left)):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
                last = " ".join(str(getattr(e, "reason", e)).split())[:160]
            time.sleep(0.2)

    def _models_ok(self, timeout: float) -> bool:
        """list its models"""
        with urllib.request.urlopen(f"{self.base_url}/models", timeout=min(timeout, 2)) as r:
            return r.status == 200

    def _answers(self, timeout: float) -> bool:
        """answer a first completion"""
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": "Reply with the word ready."}],
            "max_tokens": 4,
            "temperature": 0.0,
        }
        req = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            reply = json.loads(r.read() or b"{}")
        return bool(reply.get("choices"))

    def stop(self, keep_log: bool = False) -> None:
        """Stop the server; its log is removed after a clean run and kept (path in the error) after a failure."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        elif self.proc.returncode != 0:
            keep_log = True  # it died on its own: the log explains why
        if not keep_log:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
