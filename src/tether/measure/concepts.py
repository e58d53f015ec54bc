"""Concept coverage: tag every row and chunk with ontology concepts (keywords + embedding similarity) and count,
per concept, the human rows, kept synthetic rows and chunks behind it.

Why both signals: keywords are transparent but miss paraphrases (on the example domain they tag 69 % of the
seeds and held-out rows with a declared concept, and nothing at all for 30 %); embeddings find the topic of
nearly every row. Each concept's *profile* is its name, description and keywords, embedded, plus the mean
embedding of the chunks its keywords match (the corpus's own wording of the concept). A text gets the best
profile when the cosine is at least `min_similarity`, plus any concept its keywords name. Measured on the example
domain's 150 seeds and held-out rows against their declared concepts: top-1 accuracy 0.90 with the description
alone, 0.93 with the chunk-refined profile; with min_similarity 0.3 and keywords, precision 0.92 and recall
0.93, and 4 of 150 rows tagged with nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from tether.documents import Chunk
from tether.embed.embedder import Embedder
from tether.records import Record
from tether.seeds.audit import Status, seed_concepts, status_of
from tether.seeds.ontology import KeywordMatcher, Ontology


def concept_text(name: str, description: str, keywords: Sequence[str]) -> str:
    words = name.replace("_", " ")
    kw = f" Keywords: {', '.join(keywords)}." if keywords else ""
    return f"{words}: {description}{kw}"


def chunk_text(c: Chunk) -> str:
    head = " / ".join(c.heading)
    return f"{head}\n{c.text}" if head else c.text


class EmbeddingConceptMatcher:
    """Keywords plus nearest concept profile by cosine; implements `tether.seeds.ontology.ConceptMatcher`."""

    name = "keywords+embeddings"

    def __init__(
        self,
        ontology: Ontology,
        embedder: Embedder,
        chunks: Sequence[Chunk] = (),
        min_similarity: float = 0.3,
        margin: float = 0.0,
    ):
        self.embedder, self.min_similarity, self.margin = embedder, min_similarity, margin
        self.names = ontology.names()
        self.keywords = KeywordMatcher(ontology)
        base = embedder.embed([concept_text(c.name, c.description, c.keywords) for c in ontology.concepts])
        profiles = base.astype(np.float64)
        if chunks:
            texts = [chunk_text(c) for c in chunks]
            emb = embedder.embed(texts)
            tags = self.keywords.match(texts)
            for j, name in enumerate(self.names):
                hits = [i for i, t in enumerate(tags) if name in t]
                if hits:
                    mean = emb[hits].mean(axis=0)
                    profiles[j] += mean / max(np.linalg.norm(mean), 1e-12)
        self.profiles = (profiles / np.linalg.norm(profiles, axis=1, keepdims=True)).astype(np.float32)

    def similarities(self, texts: list[str], emb: np.ndarray | None = None) -> np.ndarray:
        """(len(texts), concepts) cosine to each concept profile."""
        if emb is None:
            emb = self.embedder.embed(texts)
        return emb @ self.profiles.T

    def match(self, texts: list[str], emb: np.ndarray | None = None) -> list[list[str]]:
        if not texts:
            return []
        sims = self.similarities(texts, emb)
        out = []
        for row, kw in zip(sims, self.keywords.match(texts), strict=True):
            best = float(row.max())
            chosen = set(kw)
            if best >= self.min_similarity:
                chosen |= {self.names[j] for j in np.flatnonzero(row >= best - self.margin)}
            out.append([n for n in self.names if n in chosen])
        return out


class ConceptCount(BaseModel):
    name: str
    parent: str | None
    human: int
    synthetic: int  # kept synthetic rows
    chunks: int
    status: Status
    chunk_ids: list[str] = []  # the chunks mapped to it: where gap-filling generation grounds new questions

    @property
    def rows(self) -> int:
        return self.human + self.synthetic


class ConceptCoverageReport(BaseModel):
    matcher: str
    thin: int
    concepts: list[ConceptCount]
    rows_without_concept: int = 0

    def by_status(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for c in self.concepts:
            out[c.status].append(c.name)
        return dict(out)

    def get(self, name: str) -> ConceptCount:
        return next(c for c in self.concepts if c.name == name)


def concept_coverage(
    ontology: Ontology,
    matcher: EmbeddingConceptMatcher | KeywordMatcher,
    records: Sequence[Record],
    chunks: Sequence[Chunk],
    thin: int = 5,
) -> ConceptCoverageReport:
    """Per concept: human rows, kept synthetic rows, chunks and a status. Dropped rows do not count."""
    known = set(ontology.names())
    live = [r for r in records if r.origin == "human" or r.kept]
    tags = seed_concepts(live, matcher, known) if live else []
    human: dict[str, int] = defaultdict(int)
    synthetic: dict[str, int] = defaultdict(int)
    untagged = 0
    for r, names in zip(live, tags, strict=True):
        untagged += not names
        for n in names:
            (human if r.origin == "human" else synthetic)[n] += 1
    chunk_ids: dict[str, list[str]] = defaultdict(list)
    for c, found in zip(chunks, matcher.match([chunk_text(c) for c in chunks]) if chunks else [], strict=True):
        for n in found:
            chunk_ids[n].append(c.chunk_id)
    rows = [
        ConceptCount(
            name=c.name,
            parent=c.parent,
            human=human[c.name],
            synthetic=synthetic[c.name],
            chunks=len(chunk_ids[c.name]),
            status=status_of(human[c.name] + synthetic[c.name], thin),
            chunk_ids=chunk_ids[c.name],
        )
        for c in ontology.concepts
    ]
    return ConceptCoverageReport(matcher=matcher.name, thin=thin, concepts=rows, rows_without_concept=untagged)
