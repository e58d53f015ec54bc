"""The package's shape holds: one direction of dependencies (import-linter's contracts in pyproject.toml), no import
circle between modules, no module over 400 lines, no import placed late to dodge a circle (issue 21)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tether"
ROOT = SRC.parents[1]


def test_layers_and_forbidden_imports_hold() -> None:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports not found: pip install -e '.[dev]' installs import-linter")
    out = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def _cycles(package: str = "tether") -> list[list[str]]:
    """Strongly connected groups of a package's modules (imports under TYPE_CHECKING left out: they never run)."""
    import grimp

    graph = grimp.build_graph(package, exclude_type_checking_imports=True)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w != package and not w.startswith(package + "."):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for m in sorted(graph.modules):
        if m not in index:
            visit(m)
    return groups


def test_no_import_circles() -> None:
    assert _cycles() == []


def test_a_planted_circle_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The circle check can fail: modules that import each other in a ring are reported as one group."""
    pkg = tmp_path / "ring"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from ring import b\n")
    (pkg / "b.py").write_text("def f():\n    from ring import c  # a late import is still a circle\n")
    (pkg / "c.py").write_text("import ring.a\n")
    (pkg / "d.py").write_text("from ring import a\n")  # imports into the ring, not part of it
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _cycles("ring") == [["ring.a", "ring.b", "ring.c"]]


def test_modules_stay_small_and_import_at_the_top() -> None:
    big = {}
    late = []
    for f in SRC.rglob("*.py"):
        text = f.read_text(encoding="utf-8")
        n = text.count("\n")
        if n > 400:
            big[str(f.relative_to(SRC))] = n
        if "noqa: E402" in text:
            late.append(str(f.relative_to(SRC)))
    assert big == {} and late == []
