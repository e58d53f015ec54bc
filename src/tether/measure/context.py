"""Open the measuring tools of a workspace: the configured embedder behind the workspace's vector cache, and the
concept matcher built from the ontology and a version's chunks."""

from __future__ import annotations

from tether.documents import Chunk
from tether.measure.concepts import EmbeddingConceptMatcher
from tether.measure.embedder import Embedder, open_embedder
from tether.seeds.ontology import Ontology
from tether.workspace.store import Workspace

CACHE_NAME = "embeddings.sqlite"


def workspace_embedder(ws: Workspace) -> Embedder:
    """Vectors are cached in `.tether/embeddings.sqlite` by (model, text): re-measuring a version embeds nothing."""
    return open_embedder(ws.config.measure.embedder, ws.store / CACHE_NAME)


def concept_matcher(ws: Workspace, ontology: Ontology, chunks: list[Chunk], embedder: Embedder | None = None):
    cfg = ws.config.measure.concepts
    return EmbeddingConceptMatcher(ontology, embedder or workspace_embedder(ws), chunks, cfg.min_similarity, cfg.margin)
