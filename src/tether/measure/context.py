"""Open the measuring tools of a workspace: the configured embedder behind the workspace's vector cache, and the
concept matcher built from the ontology and a version's chunks."""

from __future__ import annotations

import logging

from tether.documents import Chunk
from tether.errors import TetherError
from tether.measure.concepts import EmbeddingConceptMatcher
from tether.measure.embedder import Embedder, open_embedder
from tether.seeds.ontology import ConceptMatcher, KeywordMatcher, Ontology
from tether.workspace.store import Workspace

CACHE_NAME = "embeddings.sqlite"
log = logging.getLogger(__name__)


def workspace_embedder(ws: Workspace) -> Embedder:
    """Vectors are cached in `.tether/embeddings.sqlite` by (model, text): re-measuring a version embeds nothing."""
    return open_embedder(ws.config.measure.embedder, ws.store / CACHE_NAME)


def concept_matcher(ws: Workspace, ontology: Ontology, chunks: list[Chunk], embedder: Embedder | None = None):
    cfg = ws.config.measure.concepts
    return EmbeddingConceptMatcher(ontology, embedder or workspace_embedder(ws), chunks, cfg.min_similarity, cfg.margin)


def best_matcher(ws: Workspace, ontology: Ontology, chunks: list[Chunk]) -> tuple[ConceptMatcher, str | None]:
    """(keywords + embeddings, None), or (keywords alone, why) when the embedder is not installed: the caller
    prints the reason, so a weaker matcher is never used silently."""
    try:
        return concept_matcher(ws, ontology, chunks), None
    except TetherError as e:
        log.warning("concepts matched by keywords only: %s", e)
        return KeywordMatcher(ontology), f"concepts matched by keywords only: {e}"
