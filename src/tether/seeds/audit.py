"""Seed coverage audit: before spending teacher calls, show which concepts the seeds miss.

A concept with no seed but with documents that discuss it is exactly where new-question generation from chunks
should aim; a concept with neither is a gap no generation can fill from this corpus, and the user should know.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tether.config.yamlconf import read_text_file
from tether.documents import Chunk, Document
from tether.errors import ConfigError
from tether.records import Record
from tether.seeds.ontology import ConceptMatcher, Ontology
from tether.seeds.tabular import read_jsonl
from tether.text import normalize


class ConceptCoverage(BaseModel):
    name: str
    parent: str | None
    seeds: int
    chunks: int
    documents: list[str]  # paths of documents with at least one chunk about the concept
    heldout: int = 0
    bucket: str  # "0", "1-2", "3+" (with the default well_covered=3)
    synthetic: int = 0  # kept synthetic rows about the concept
    status: str = ""  # uncovered / thin / covered, counting human and kept synthetic rows (measure.concepts.thin)
    seeds_wanted: int = 0  # seeds still to write to reach well_covered (only where documents cover the concept)


class AuditReport(BaseModel):
    version: str
    matcher: str
    well_covered: int
    concepts: list[ConceptCoverage]
    seeds_total: int
    seeds_without_concept: list[str] = Field(default_factory=list)  # ids
    unknown_seed_concepts: dict[str, int] = Field(default_factory=dict)  # name -> seeds that used it
    heldout_total: int = 0
    heldout_leaks: list[str] = Field(default_factory=list)  # held-out questions also present among seeds
    thin: int = 0  # kept rows below which a concept is thin (0: statuses not computed)

    def seeds_to_write(self) -> list[ConceptCoverage]:
        """Where a user's next seed examples help most: concepts the documents cover but seeds barely do."""
        return sorted((c for c in self.concepts if c.seeds_wanted), key=lambda c: (-c.seeds_wanted, c.name))

    def bucket_counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for c in self.concepts:
            out[c.bucket] += 1
        return dict(out)

    def gaps_with_documents(self) -> list[ConceptCoverage]:
        """Concepts no seed touches but documents do: where to generate from chunks first."""
        return [c for c in self.concepts if c.seeds == 0 and c.documents]

    def uncoverable(self) -> list[ConceptCoverage]:
        """Concepts neither seeds nor documents touch: generation cannot ground them in this corpus."""
        return [c for c in self.concepts if c.seeds == 0 and not c.documents]


def _bucket(n: int, well: int) -> str:
    if n == 0:
        return "0"
    if n < well:
        return f"1-{well - 1}" if well > 2 else "1"
    return f"{well}+"


Status = Literal["uncovered", "thin", "covered"]


def status_of(rows: int, thin: int) -> Status:
    """A concept's coverage from its human + kept synthetic rows: none, fewer than `thin`, or enough."""
    return "uncovered" if rows == 0 else "thin" if rows < thin else "covered"


def row_text(r: Record) -> str:
    """What a row is about, for concept matching and embedding: its question and its answer."""
    return f"{r.question()}\n{r.answer()}"


def seed_concepts(seeds: Sequence[Record], matcher: ConceptMatcher, known: set[str]) -> list[set[str]]:
    """Concepts of each row (seed or synthetic): those it declares (if known to the ontology) plus those the
    matcher finds."""
    found = matcher.match([row_text(s) for s in seeds])
    return [{c for c in s.concepts if c in known} | set(f) for s, f in zip(seeds, found, strict=True)]


def load_heldout(path: Path) -> list[tuple[str, list[str]]]:
    """(question, declared concepts) of each held-out row; malformed rows are reported, not hidden."""
    tab = read_jsonl(read_text_file(path, "held-out file"))
    if tab.row_errors:
        line, why = tab.row_errors[0]
        raise ConfigError(f"{path}:{line}: {why} ({len(tab.row_errors)} bad rows)")
    return [(s.question or "", s.concepts) for s in tab.seeds]


def audit(
    version: str,
    ontology: Ontology,
    matcher: ConceptMatcher,
    seeds: list[Record],
    chunks: list[Chunk],
    documents: list[Document],
    well_covered: int = 3,
    heldout: list[tuple[str, list[str]]] | None = None,
    synthetic: list[Record] | None = None,
    thin: int = 5,
) -> AuditReport:
    """Seeds, chunks, documents and held-out rows per concept; with `synthetic` rows (kept ones count) also each
    concept's status (uncovered / thin / covered against `thin` rows)."""
    known = set(ontology.names())
    per_seed = seed_concepts(seeds, matcher, known)
    seed_count: dict[str, int] = defaultdict(int)
    for cs in per_seed:
        for c in cs:
            seed_count[c] += 1
    unknown: dict[str, int] = defaultdict(int)
    for s in seeds:
        for c in s.concepts:
            if c not in known:
                unknown[c] += 1

    paths = {d.doc_id: d.path for d in documents}
    chunk_count: dict[str, int] = defaultdict(int)
    docs_for: dict[str, set[str]] = defaultdict(set)
    for chunk, cs in zip(chunks, matcher.match([c.text for c in chunks]), strict=True):
        for c in cs:
            chunk_count[c] += 1
            docs_for[c].add(paths.get(chunk.doc_id, chunk.doc_id))

    held_count: dict[str, int] = defaultdict(int)
    leaks: list[str] = []
    if heldout:
        seed_qs = {normalize(s.question()) for s in seeds}
        found = matcher.match([q for q, _ in heldout])
        for (q, declared), f in zip(heldout, found, strict=True):
            for c in {c for c in declared if c in known} | set(f):
                held_count[c] += 1
            if normalize(q) in seed_qs:
                leaks.append(q)

    syn_count: dict[str, int] = defaultdict(int)
    kept = [r for r in synthetic or [] if r.kept]
    for cs in seed_concepts(kept, matcher, known):  # declared + matched, exactly as for the seeds
        for c in cs:
            syn_count[c] += 1

    rows = [
        ConceptCoverage(
            name=c.name,
            parent=c.parent,
            seeds=seed_count[c.name],
            chunks=chunk_count[c.name],
            documents=sorted(docs_for[c.name]),
            heldout=held_count[c.name],
            bucket=_bucket(seed_count[c.name], well_covered),
            synthetic=syn_count[c.name],
            status=status_of(seed_count[c.name] + syn_count[c.name], thin),
            seeds_wanted=max(0, well_covered - seed_count[c.name]) if chunk_count[c.name] else 0,
        )
        for c in ontology.concepts
    ]
    return AuditReport(
        version=version,
        matcher=matcher.name,
        well_covered=well_covered,
        concepts=rows,
        seeds_total=len(seeds),
        seeds_without_concept=[s.id for s, cs in zip(seeds, per_seed, strict=True) if not cs],
        unknown_seed_concepts=dict(unknown),
        heldout_total=len(heldout or []),
        heldout_leaks=leaks,
        thin=thin,
    )
