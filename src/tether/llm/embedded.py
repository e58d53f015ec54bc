"""The embedded default teacher: a GGUF from a PyPI package, served over OpenAI's chat API by llama_serve.py.

Running it as a server on 127.0.0.1 (not in-process) keeps one code path for embedded and remote teachers: the
same client, cache, retries and accounting. Start-up, liveness and the one-line death report are the
`ServerProcess`'s (process.py); this module finds the model and builds the llama.cpp command.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import sys
import tempfile
from pathlib import Path

from tether.config import EmbeddedConfig
from tether.errors import TetherError
from tether.llm.models import memo_digest, model_file
from tether.llm.process import ServerProcess
from tether.llm.progress_bytes import byte_progress
from tether.llm.types import TeacherIdentity

REBUILD_HINT = "python3 scripts/install_llama.py --force"
INSTALL_HINT = "python3 scripts/install_llama.py"


def bundled_model(name: str) -> Path:
    """The GGUF of a packaged model (assembled from its part packages and checked against its pinned digest)."""
    return model_file(name, byte_progress)


def file_digest(path: Path) -> str:
    """sha256 of a model file, memoised (hashing 100 MB+ on every run would cost more than starting the server)."""
    return "sha256:" + memo_digest(path)


def quant_of(path: Path) -> str | None:
    m = re.search(r"[._-](I?Q\d[\w]*|F16|F32|BF16)\.gguf$", path.name, re.IGNORECASE)
    return m.group(1).upper() if m else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_features() -> list[str]:
    """CPU features compiled into the installed llama.cpp (from its system info), e.g. ['AVX', 'AVX2', 'FMA'];
    [] when llama_cpp cannot be loaded here."""
    try:
        import llama_cpp
    except ImportError:
        return []
    info = llama_cpp.llama_print_system_info()
    info = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
    return sorted({m.group(1) for m in re.finditer(r"([A-Z][A-Z0-9_]+) = 1", info)})


def beyond_portable(features: list[str]) -> list[str]:
    """Compiled-in features past the portable baseline (AVX2/FMA/F16C): the marks of a `-march=native` build,
    which crashes on a CPU that reports them but does not permit them (AMX in a sandbox)."""
    return [f for f in features if f.startswith(("AVX512", "AMX", "AVX_VNNI"))]


class EmbeddedServer(ServerProcess):
    """`with EmbeddedServer(cfg, alias) as srv:` → srv.base_url serves the model until the block exits."""

    label = "embedded teacher (llama.cpp server)"

    def __init__(self, cfg: EmbeddedConfig, alias: str):
        self.cfg = cfg
        self.alias = alias
        self.model_path = cfg.model_path or bundled_model(cfg.model)
        if not self.model_path.is_file():
            raise TetherError(f"teacher.embedded.model_path not found: {self.model_path}")
        log_path = Path(tempfile.gettempdir()) / f"tether-llama-{os.getpid()}.log"
        super().__init__([], "", alias, log_path, cfg.startup_timeout_s)

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
        native = beyond_portable(build_features())
        self.crash_hint = (
            f"this llama.cpp was compiled with {', '.join(native)} (a native build); rebuild it portably: "
            f"{REBUILD_HINT}"
            if native
            else f"if this CPU rejects the build's instructions, rebuild it portably: {REBUILD_HINT}"
        )
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}/v1"
        threads = self.cfg.n_threads or os.cpu_count() or 1
        self.cmd = [
            sys.executable,
            "-m",
            "tether.llm.llama_serve",
            "--model",
            str(self.model_path),
            "--alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(self.cfg.n_ctx),
            "--n_threads",
            str(threads),
        ]
        super().start()
        return self
