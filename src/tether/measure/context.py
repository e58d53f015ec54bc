"""Open the measuring tools of a workspace: the configured embedder behind the workspace's vector cache, and the
concept matcher built from the ontology and a version's chunks."""

from __future__ import annotations

import logging

from tether.documents import Chunk
from tether.embed.embedder import Embedder, workspace_embedder
from tether.errors import TetherError
from tether.measure.concepts import EmbeddingConceptMatcher
from tether.seeds.ontology import ConceptMatcher, KeywordMatcher, Ontology
from tether.workspace.store import Workspace

log = logging.getLogger(__name__)


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
