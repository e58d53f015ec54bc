"""Choosing an engine by name, once, where the pipeline is assembled (the CLI, `tether run`, a script).

Stages receive the `Engine` object, never its name (`tether.engine.seam`)."""

from __future__ import annotations

from tether.engine.ray import ray_engine
from tether.engine.seam import LOCAL, Engine
from tether.errors import TetherError

ENGINES = ("local", "ray")


def open_engine(name: str, address: str | None = None, actors: int = 2) -> Engine:
    """`local`: everything in this process. `ray`: teacher calls on `actors` Ray actors, row filters, MinHash and
    embeddings as Ray Data tasks, on a local cluster or the one at `address` (needs `pip install -e '.[ray]'`)."""
    if name == "local":
        return LOCAL
    if name == "ray":
        return ray_engine(address, actors)
    raise TetherError(f"unknown engine {name!r}: use {' or '.join(ENGINES)}")
