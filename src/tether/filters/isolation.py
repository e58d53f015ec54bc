"""Isolation for running untrusted code: the walls the code validator puts around a child process.

Which walls apply is probed once per process (strongest plan that works on this machine):

- As root: new network, PID and mount namespaces (`unshare`). The network namespace has only a loopback that is
  down, so every connection fails. The interpreter becomes PID 1 of the PID namespace, so when it exits the kernel
  kills and reaps everything it started. The mount namespace hides directories the unprivileged user cannot enter
  (e.g. a pyenv interpreter under /root) behind a tmpfs and binds back only the interpreter's own directories;
  /tmp, /var/tmp and /dev/shm get private tmpfs mounts.
- As root: drop to uid/gid 65534 ("nobody") so that RLIMIT_NPROC applies and destructive code fails with
  permission errors; PR_SET_NO_NEW_PRIVS keeps setuid programs from giving root back. Not root: RLIMIT_NPROC
  only (and user + network + PID namespaces, where the kernel allows them).
- Resource limits: RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE=0.
- Fallback where namespaces are unavailable: a guard prepended to the code that makes `socket.socket` raise.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

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

# ---------------------------------------------------------------------------------------------------------------------
# isolation plans


@dataclass(frozen=True)
class IsolationPlan:
    """How the child is isolated; chosen once per process by probing (see `isolation_plan`)."""

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
class Limits:
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


def child_setup(plan: IsolationPlan, limits: Limits) -> None:
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


def _candidates() -> list[IsolationPlan]:
    if os.geteuid() == 0:
        needed = _interpreter_dirs()
        return [
            IsolationPlan(
                "netns+pidns+mountns, uid 65534",
                unshare_flags=CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS,
                pidns=True,
                hide=_hidden_dirs(needed),
                private_tmp=tuple(p for p in PRIVATE_TMP if os.path.isdir(p) and not os.path.islink(p)),
                interpreter_dirs=needed,
                uid=SANDBOX_UID,
                gid=SANDBOX_GID,
            ),
            IsolationPlan("socket guard, uid 65534", uid=SANDBOX_UID, gid=SANDBOX_GID, net_guard=True),
        ]
    return [
        IsolationPlan("userns+netns+pidns", unshare_flags=CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID, pidns=True),
        IsolationPlan("socket guard", net_guard=True),
    ]


def _probe(plan: IsolationPlan) -> str | None:
    """None if the plan works end to end (child starts, imports stdlib, has no network), else why not."""
    workdir = make_workdir(plan)
    try:
        code = (NET_GUARD if plan.net_guard else "") + _PROBE
        with open(os.path.join(workdir, SCRIPT_NAME), "w", encoding="utf-8") as f:
            f.write(code)
        proc = subprocess.run(
            [sys.executable, "-I", "-S", SCRIPT_NAME],
            cwd=workdir,
            env=child_env(workdir),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            start_new_session=True,
            preexec_fn=partial(child_setup, plan, Limits(cpu_s=10, as_bytes=512 * 1024 * 1024)),
        )
    except (OSError, subprocess.SubprocessError) as e:
        return f"{type(e).__name__}: {e}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = proc.stdout.decode(errors="replace").strip()
    if proc.returncode != 0 or out != "ok":
        return f"exit {proc.returncode}: {out or last_line(proc.stderr.decode(errors='replace'))}"
    return None


_PLAN_LOCK = threading.Lock()
_PLANS: dict[int, IsolationPlan] = {}
PROBE_LOG: list[str] = []  # why stronger plans were not used, for diagnostics


def isolation_plan() -> IsolationPlan:
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


def make_workdir(plan: IsolationPlan) -> str:
    workdir = tempfile.mkdtemp(prefix="tether-sandbox-")
    if plan.uid is not None and plan.gid is not None:
        os.chown(workdir, plan.uid, plan.gid)
    os.chmod(workdir, 0o700)
    return workdir


def child_env(workdir: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""
