"""Which files an ingest reads: folders expanded recursively, hidden files and links out of the folder skipped.

A folder handed to `tether ingest` is a promise about what may be read: its text goes into chunks and prompts, and
with a hosted teacher it leaves the machine. A symbolic link inside it that points elsewhere (`notes.txt` →
`~/.aws/credentials`) breaks that promise, so it is skipped with its reason unless `ingest.follow_symlinks` says
otherwise. A path named on the command line or in `sources` is read as given, link or not: the user named it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Skip:
    path: str
    reason: str


def display_path(p: Path) -> str:
    """The path as the user knows it: relative to the working folder when under it; links are not resolved."""
    p = Path(os.path.abspath(p))
    try:
        return p.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _walk(root: Path, skipped: list[Skip], follow_symlinks: bool) -> list[Path]:
    """Files under `root` in sorted order; links leaving `root` only with `follow_symlinks` (cycles visited once)."""
    real_root = root.resolve()
    files: list[Path] = []
    seen_dirs: set[Path] = set()

    def visit(folder: Path) -> None:
        real = folder.resolve()
        if real in seen_dirs:
            return
        seen_dirs.add(real)
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.startswith("."):
                if entry.is_file():
                    skipped.append(Skip(display_path(entry), "hidden file"))
                elif entry.is_dir() and not entry.is_symlink():
                    n = sum(1 for f in entry.rglob("*") if f.is_file())
                    skipped.append(Skip(display_path(entry), f"hidden folder ({n} files)"))
                continue
            if entry.is_symlink():
                target = entry.resolve()
                if not target.exists():
                    skipped.append(Skip(display_path(entry), f"broken symbolic link (to {os.readlink(entry)})"))
                    continue
                if not _inside(target, real_root) and not follow_symlinks:
                    skipped.append(
                        Skip(
                            display_path(entry),
                            f"symbolic link to {target}, outside {display_path(root)}: not followed "
                            "(ingest.follow_symlinks: true, or name the target, to read it)",
                        )
                    )
                    continue
            if entry.is_dir():
                visit(entry)
            elif entry.is_file():
                files.append(entry)

    visit(root)
    return files


def discover(paths: Iterable[Path], skipped: list[Skip], follow_symlinks: bool = False) -> list[Path]:
    """Expand folders recursively (sorted, so ids and versions are reproducible); missing paths are skipped, and
    so is each file reached twice (by two paths or a link)."""
    files: list[Path] = []
    for p in paths:
        if not p.exists():
            skipped.append(Skip(str(p), "path does not exist"))
        elif p.is_dir():
            files.extend(_walk(p, skipped, follow_symlinks))
        else:
            files.append(p)
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique
