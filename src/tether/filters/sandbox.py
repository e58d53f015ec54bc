"""Code validator: run the Python in an answer in a locked-down child process and drop rows whose code fails.

The child is `sys.executable -I -S` (isolated mode, no site-packages) in a fresh temporary directory (its cwd and
HOME, deleted afterwards), with a minimal environment, stdin closed and its output read incrementally up to a cap.
Before exec, a `preexec_fn` puts it behind these walls, strongest first (which ones apply is probed once per
process and reported by `CodeValidator.isolation`):

- As root: new network, PID and mount namespaces (`unshare`). The network namespace has only a loopback that is
  down, so every connection fails. The interpreter becomes PID 1 of the PID namespace, so when it exits the kernel
  kills and reaps everything it started (fork bombs leave no processes, not even zombies, behind), and its own
  /proc shows no host processes. The mount namespace hides directories the unprivileged user cannot enter (e.g. a
  pyenv interpreter under /root) behind a tmpfs and binds back only the interpreter's own directories, so the code
  can start after dropping privileges; /tmp, /var/tmp and /dev/shm get private tmpfs mounts, so files written
  there vanish with the run.
- As root: drop to uid/gid 65534 ("nobody") so that RLIMIT_NPROC applies and destructive code (`rm -rf /`) fails
  with permission errors; PR_SET_NO_NEW_PRIVS keeps setuid programs from giving root back. Not root: RLIMIT_NPROC
  only (and user + network + PID namespaces, where the kernel allows them).
- Resource limits: RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE=0.
- A wall-clock timeout in the parent that kills the child's whole process group.
- Fallback where namespaces are unavailable: a guard prepended to the code that makes `socket.socket` raise (weak:
  code can still reach the network through ctypes; verdict details then say so).

Running untrusted code as root without dropping privileges is never done: if no plan works, `judge` raises.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import re
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from tether.filters.base import live
from tether.records import Record, Verdict

SANDBOX_UID = 65534  # "nobody"
SANDBOX_GID = 65534
MAX_PROCS = 64  # RLIMIT_NPROC for the sandbox user
MAX_FILE_BYTES = 8 * 1024 * 1024  # RLIMIT_FSIZE
MAX_OPEN_FILES = 64  # RLIMIT_NOFILE
WALL_MARGIN_S = 1.0  # wall-clock grace on top of timeout_s (interpreter start-up, CPU-limit signal delivery)
MAX_WORKERS = 2
PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm")
PRIVATE_TMP_SIZE = "64m"
SCRIPT_NAME = "main.py"

# linux/sched.h, linux/mount.h, linux/prctl.h
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.unshare.argtypes = [ctypes.c_int]
_LIBC.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_LIBC.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

NET_GUARD = (
    "import socket as _tether_socket, _socket as _tether__socket\n"
    "class _TetherNoNetwork(_tether_socket.socket):\n"
    "    def __init__(self, *args, **kwargs):\n"
    "        raise PermissionError('network access is disabled in the tether sandbox')\n"
    "_tether_socket.socket = _tether_socket.SocketType = _TetherNoNetwork\n"
    "_tether__socket.socket = _tether__socket.SocketType = _TetherNoNetwork\n"
    "del _tether_socket, _tether__socket, _TetherNoNetwork\n"
)

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
# isolation plans


@dataclass(frozen=True)
class _Plan:
    """How the child is isolated; chosen once per process by probing (see `_isolation_plan`)."""

    name: str
    unshare_flags: int = 0
    pidns: bool = False
    # directories the sandbox user cannot enter but that hold the interpreter: covered by an empty tmpfs
    hide: tuple[str, ...] = ()
    # world-writable directories that get a private tmpfs
    private_tmp: tuple[str, ...] = ()
    # bound back into the tmpfs mounts above (with the run's own directory), so that the interpreter can start
    interpreter_dirs: tuple[str, ...] = ()
    uid: int | None = None
    gid: int | None = None
    net_guard: bool = False


@dataclass(frozen=True)
class _Limits:
    cpu_s: int
    as_bytes: int
    fsize: int = MAX_FILE_BYTES
    nofile: int = MAX_OPEN_FILES
    nproc: int = MAX_PROCS


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _set_limit(which: int, soft: int, hard: int | None = None) -> None:
    resource.setrlimit(which, (soft, soft if hard is None else hard))


def _mirror_child(pid: int) -> None:
    """In the process between Popen and the PID namespace: wait for its init, then die the same way."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    # incl. Popen's exec-status pipe and any descriptors of concurrent Popen calls
    os.closerange(3, max(resource.getrlimit(resource.RLIMIT_NOFILE)[0], 1024))
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status))


def _child_setup(plan: _Plan, limits: _Limits) -> None:
    """preexec_fn: runs in the forked child as the parent's user, just before exec."""
    _set_limit(resource.RLIMIT_CORE, 0)
    if plan.unshare_flags:
        _check(_LIBC.unshare(plan.unshare_flags), "unshare")
    if plan.pidns:
        # only children enter the new PID namespace: fork, and let this process wait for the namespace's init
        pid = os.fork()
        if pid:
            try:
                _mirror_child(pid)
            finally:
                os._exit(254)  # never return into the exec path
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if plan.unshare_flags & CLONE_NEWNS:
        # private first, so that nothing mounted here propagates back to the host
        _check(_LIBC.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
        keep = (*plan.interpreter_dirs, os.getcwd())
        for hidden in plan.hide:
            _overmount(hidden, b"mode=0755,size=1m", keep)
        # files written to /tmp and co. vanish with the namespace instead of piling up (and leaking between runs)
        for tmp in plan.private_tmp:
            _overmount(tmp, f"mode=1777,size={PRIVATE_TMP_SIZE}".encode(), keep)
        if plan.pidns:
            # a /proc of the new PID namespace: the host's processes (and their command lines) are not visible;
            # best effort, as some container runtimes refuse a second proc mount
            _LIBC.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    # soft = hard: SIGKILL at the limit (a PID namespace's init ignores the SIGXCPU of a lower soft limit)
    _set_limit(resource.RLIMIT_CPU, limits.cpu_s)
    _set_limit(resource.RLIMIT_FSIZE, limits.fsize)
    _set_limit(resource.RLIMIT_NOFILE, limits.nofile)
    # setuid-root programs (su, mount, ...) must not give privileges back
    _check(_LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    if plan.uid is not None and plan.gid is not None:
        os.setgroups([])
        os.setgid(plan.gid)
        os.setuid(plan.uid)
        if os.getuid() != plan.uid or os.geteuid() != plan.uid:
            raise OSError("could not drop privileges")
    _set_limit(resource.RLIMIT_NPROC, limits.nproc)
    # last: the forked child still has the parent's address space, which may exceed the limit
    _set_limit(resource.RLIMIT_AS, limits.as_bytes)


def _overmount(target: str, options: bytes, keep: Sequence[str]) -> None:
    """Cover `target` with an empty tmpfs, then bind those directories of `keep` that lie under it back in place."""
    prefix = target.rstrip("/") + "/"
    paths = [path for path in keep if path.startswith(prefix)]
    fds = [os.open(path, os.O_PATH | os.O_DIRECTORY) for path in paths]  # before they disappear
    _check(_LIBC.mount(b"tmpfs", target.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options), f"mount tmpfs {target}")
    for path, fd in zip(paths, fds, strict=True):
        os.makedirs(path, exist_ok=True)
        _check(_LIBC.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC, None), path)
        os.close(fd)


def _blocked(path: str) -> bool:
    """Whether a user other than the owner (nor in its group) cannot enter this directory."""
    try:
        return not os.stat(path).st_mode & 0o001
    except OSError:
        return False


def _interpreter_dirs() -> tuple[str, ...]:
    """The directories the interpreter needs (binary, standard library; a venv's too), outermost only."""
    exe = os.path.abspath(sys.executable)
    needed = {
        os.path.realpath(p)
        for p in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(exe))
    }
    needed.add(os.path.dirname(os.path.realpath(exe)))
    # keep the outermost only: binding a directory brings along everything under it
    return tuple(sorted(p for p in needed if not any(q != p and p.startswith(q.rstrip("/") + "/") for q in needed)))


def _hidden_dirs(needed: Sequence[str]) -> tuple[str, ...]:
    """For each needed directory, its outermost ancestor that the sandbox user cannot enter (e.g. /root)."""
    hidden: set[str] = set()
    for path in needed:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):
            ancestor = "/" + "/".join(parts[:i])
            if _blocked(ancestor):
                hidden.add(ancestor)
                break
    # outermost only: a tmpfs over /a already hides /a/b
    return tuple(sorted(h for h in hidden if not any(o != h and h.startswith(o + "/") for o in hidden)))


_PROBE = (
    "import errno, math, json, socket\n"
    "try:\n"
    "    socket.socket().connect(('127.0.0.1', 9))\n"
    "except OSError as e:\n"
    "    print('ok' if e.errno == errno.ENETUNREACH or isinstance(e, PermissionError) else f'net {e.errno}')\n"
    "else:\n"
    "    print('net reachable')\n"
)


def _candidates() -> list[_Plan]:
    if os.geteuid() == 0:
        needed = _interpreter_dirs()
        return [
            _Plan(
                "netns+pidns+mountns, uid 65534",
                unshare_flags=CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS,
                pidns=True,
                hide=_hidden_dirs(needed),
                private_tmp=tuple(p for p in PRIVATE_TMP if os.path.isdir(p) and not os.path.islink(p)),
                interpreter_dirs=needed,
                uid=SANDBOX_UID,
                gid=SANDBOX_GID,
            ),
            _Plan("socket guard, uid 65534", uid=SANDBOX_UID, gid=SANDBOX_GID, net_guard=True),
        ]
    return [
        _Plan("userns+netns+pidns", unshare_flags=CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID, pidns=True),
        _Plan("socket guard", net_guard=True),
    ]


def _probe(plan: _Plan) -> str | None:
    """None if the plan works end to end (child starts, imports stdlib, has no network), else why not."""
    workdir = _make_workdir(plan)
    try:
        code = (NET_GUARD if plan.net_guard else "") + _PROBE
        with open(os.path.join(workdir, SCRIPT_NAME), "w", encoding="utf-8") as f:
            f.write(code)
        proc = subprocess.run(
            [sys.executable, "-I", "-S", SCRIPT_NAME],
            cwd=workdir,
            env=_child_env(workdir),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            start_new_session=True,
            preexec_fn=partial(_child_setup, plan, _Limits(cpu_s=10, as_bytes=512 * 1024 * 1024)),
        )
    except (OSError, subprocess.SubprocessError) as e:
        return f"{type(e).__name__}: {e}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = proc.stdout.decode(errors="replace").strip()
    if proc.returncode != 0 or out != "ok":
        return f"exit {proc.returncode}: {out or _last_line(proc.stderr.decode(errors='replace'))}"
    return None


_PLAN_LOCK = threading.Lock()
_PLANS: dict[int, _Plan] = {}
PROBE_LOG: list[str] = []  # why stronger plans were not used, for diagnostics


def _isolation_plan() -> _Plan:
    euid = os.geteuid()
    with _PLAN_LOCK:
        if euid not in _PLANS:
            failures = []
            for plan in _candidates():
                why = _probe(plan)
                if why is None:
                    _PLANS[euid] = plan
                    break
                failures.append(f"{plan.name}: {why}")
            PROBE_LOG.extend(failures)
            if euid not in _PLANS:
                raise RuntimeError("code sandbox unavailable, refusing to run untrusted code: " + "; ".join(failures))
        return _PLANS[euid]


def _make_workdir(plan: _Plan) -> str:
    workdir = tempfile.mkdtemp(prefix="tether-sandbox-")
    if plan.uid is not None and plan.gid is not None:
        os.chown(workdir, plan.uid, plan.gid)
    os.chmod(workdir, 0o700)
    return workdir


def _child_env(workdir: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


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


def _execute(plan: _Plan, limits: _Limits, script: str, wall_s: float, max_output: int) -> _Outcome:
    workdir = _make_workdir(plan)
    try:
        path = os.path.join(workdir, SCRIPT_NAME)
        with open(path, "w", encoding="utf-8") as f:
            f.write(script)
        os.chmod(path, 0o644)
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", SCRIPT_NAME],
            cwd=workdir,
            env=_child_env(workdir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
            start_new_session=True,
            preexec_fn=partial(_child_setup, plan, limits),
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

    @property
    def isolation(self) -> str:
        """Which isolation this machine allows (probes on first use)."""
        return _isolation_plan().name

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
            plan = _isolation_plan()
            with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(todo))) as pool:
                for i, verdict in zip(
                    (i for i, _ in todo), pool.map(lambda item: self._run(plan, item[1]), todo), strict=True
                ):
                    verdicts[i] = verdict
        return verdicts

    def _run(self, plan: _Plan, code: str) -> Verdict:
        prefix = NET_GUARD if plan.net_guard else ""
        script = prefix + code
        tests_from = None
        if self.tests is not None:
            script += "\n\n"
            tests_from = script.count("\n") + 1  # first line of the tests in the script
            script += self.tests + "\n"
        limits = _Limits(cpu_s=max(1, math.ceil(self.timeout_s)), as_bytes=self.memory_mb * 1024 * 1024)
        out = _execute(plan, limits, script, self.timeout_s + WALL_MARGIN_S, self.max_output_kb * 1024)
        verdict = self._classify(out, limits, tests_from)
        if plan.net_guard:
            note = f"[isolation: {plan.name}]"
            verdict = verdict.model_copy(update={"detail": f"{verdict.detail} {note}" if verdict.detail else note})
        return verdict

    def _classify(self, out: _Outcome, limits: _Limits, tests_from: int | None) -> Verdict:
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
        last = _last_line(out.stderr)
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
