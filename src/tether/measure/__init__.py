"""Diversity and coverage as measured quantities: embedder, DCScore, Vendi, distinct-n, embedding and concept
coverage, the ontology draft, the 2-D map and the gap-filling loop.

Public API: `tether.measure.dcscore(embeddings, tau=..., kernel=...)`, `tether.measure.vendi(embeddings)`,
`tether.measure.distinct_n(texts, n)`. Imported lazily so `import tether.measure` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["dcscore", "distinct_n", "vendi"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tether.measure import diversity

        return getattr(diversity, name)
    raise AttributeError(f"module 'tether.measure' has no attribute {name!r}")
