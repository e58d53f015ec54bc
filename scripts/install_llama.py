#!/usr/bin/env python3
"""Install llama-cpp-python (the embedded teacher's runtime) built to run on any x86-64 machine of its class.

Why this script and not `pip install llama-cpp-python`: pip compiles it with llama.cpp's default
`GGML_NATIVE=ON` (`-march=native`). On a CPU that reports AMX/AVX-512 but does not permit them (a sandbox), that
build starts, lists its model and dies with a general protection fault on the first completion. And pip's wheel
cache is keyed by the source archive alone, not by build flags: once a native build is cached, every later
`pip install` of the same version reuses it silently, whatever CMAKE_ARGS says.

So this script builds with `GGML_NATIVE=OFF` and an explicit instruction-set baseline (AVX2/FMA/F16C where the
CPU has them, SSE otherwise), with pip's cache off for that build, and keeps the wheel in tether's own cache under
a name that states the version and the baseline. A later run installs that wheel without compiling; a native
build can never stand in for it. Standard library only: it runs before anything else is installed.

    python3 scripts/install_llama.py            # build once (about 5 min on 2 cores), then reuse
    python3 scripts/install_llama.py --force    # rebuild the wheel, and reinstall it
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

VERSION = "0.3.36"  # the one llama-cpp-python tether is tested with
PACKAGE = "llama-cpp-python"


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def baseline() -> tuple[str, list[str]]:
    """(tag, cmake definitions): the instruction set the build may use, never more than this CPU class's floor."""
    common = ["-DGGML_NATIVE=OFF"]
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return f"portable-{platform.machine().lower()}", common
    if {"avx2", "fma", "f16c"} <= cpu_flags():
        return "portable-avx2", [*common, "-DGGML_AVX=ON", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON"]
    off = ["-DGGML_AVX=OFF", "-DGGML_AVX2=OFF", "-DGGML_FMA=OFF", "-DGGML_F16C=OFF", "-DGGML_AVX512=OFF"]
    return "portable-sse", [*common, *off]


def wheel_dir(tag: str) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    py = f"cp{sys.version_info.major}{sys.version_info.minor}"
    return cache / "tether" / "llama-wheels" / f"{VERSION}-{py}-{tag}"


def cached_wheel(folder: Path) -> Path | None:
    wheels = sorted(folder.glob("llama_cpp_python-*.whl"))
    return wheels[0] if wheels else None


def installed_from() -> str | None:
    """Where the installed llama-cpp-python came from (a file URL for a wheel we installed), None if absent."""
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        return None
    raw = dist.read_text("direct_url.json")
    url = json.loads(raw).get("url", "") if raw else ""
    return f"{dist.version} {url}".strip()


def pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def build(folder: Path, defines: list[str]) -> Path:
    """Compile the wheel with pip's cache off (so no earlier build is reused) into `folder`."""
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tether-llama-") as tmp:
        pip(
            "wheel",
            "--no-cache-dir",
            "--no-deps",
            "--wheel-dir",
            tmp,
            "-C",
            "cmake.args=" + ";".join(defines),
            f"{PACKAGE}=={VERSION}",
        )
        built = cached_wheel(Path(tmp))
        if built is None:
            sys.exit(f"install_llama: pip wheel produced no {PACKAGE} wheel in {tmp}")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / built.name
        shutil.move(str(built), target)
    (folder / "BUILD.json").write_text(
        json.dumps({"version": VERSION, "cmake_args": defines, "seconds": round(time.monotonic() - t0)}, indent=2)
    )
    print(f"built {target.name} in {time.monotonic() - t0:.0f} s ({' '.join(defines)})", flush=True)
    return target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--force", action="store_true", help="rebuild the wheel even if one is cached, and reinstall")
    args = ap.parse_args()
    tag, defines = baseline()
    folder = wheel_dir(tag)
    wheel = None if args.force else cached_wheel(folder)
    if wheel is None:
        if folder.exists():
            shutil.rmtree(folder)
        wheel = build(folder, defines)
    else:
        print(f"using the cached portable build {wheel}", flush=True)
    source = installed_from() or ""
    if not args.force and wheel.as_uri() in source:
        print(f"{PACKAGE} {VERSION} ({tag}) is installed", flush=True)
        return
    # the wheel replaces whatever was there (e.g. a native build from pip's cache); [server] brings its deps
    pip("install", "--force-reinstall", "--no-deps", str(wheel))
    pip("install", f"{PACKAGE}[server] @ {wheel.as_uri()}")
    print(f"installed {PACKAGE} {VERSION} ({tag}) from {wheel}", flush=True)


if __name__ == "__main__":
    main()
