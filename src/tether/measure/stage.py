"""`tether measure` and `tether diff`: diversity, coverage and concept metrics of a version, stored in its manifest.

What is measured, and on which rows:
- diversity (DCScore at each configured τ, Vendi, distinct-1/2/3) of the kept synthetic rows, the human rows and
  both together: a synthetic set much less diverse than its seeds is repeating itself;
- embedding coverage: the share of real rows (seeds, held-out questions, chunks) with a kept synthetic row within
  `coverage_radius`, and drift, the synthetic rows far from every real one;
- concept coverage: human and kept synthetic rows per ontology concept, with its status;
- question types: human and kept synthetic rows per type of question (fact, number, yes/no, comparison,
  procedure, unanswerable, multi-hop; `tether.text.question_types`), beside concept coverage: the same concepts
  asked only as "How much ...?" teach less than the seeds' mix of kinds;
- the 2-D map (PNG) of chunks, human and synthetic rows by concept.

Embeddings come from the workspace cache, so measuring a version twice embeds nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from tether.embed.embedder import workspace_embedder
from tether.measure.concepts import chunk_text, concept_coverage
from tether.measure.context import concept_matcher
from tether.measure.coverage import embedding_coverage
from tether.measure.diversity import dcscore, distinct_n, vendi
from tether.measure.projection import concept_map
from tether.seeds.audit import load_heldout, row_text
from tether.seeds.ontology import load_ontology
from tether.text.question_types import type_counts
from tether.workspace.store import Manifest, Workspace


class Diversity(BaseModel):
    rows: int
    dcscore: dict[str, float] = {}  # τ (as text) -> score
    vendi: float | None = None
    distinct: dict[str, float] = {}  # n -> distinct-n of questions and answers


class Measurement(BaseModel):
    version: str
    embedder: str
    kernel: str
    diversity: dict[str, Diversity]  # "synthetic" (kept), "human", "all"
    coverage: dict[str, float | int | None]  # radius, covered share per real group, drift share
    drift_examples: list[str] = []  # ids of kept synthetic rows farthest from all real data
    concepts: dict[str, dict[str, int | str]] = {}  # name -> human, synthetic, chunks, status
    concept_status: dict[str, int] = {}  # status -> concepts
    question_types: dict[str, dict[str, int]] = {}  # "human", "synthetic" (kept) -> question type -> rows
    map_png: str | None = None

    def flat(self) -> dict[str, float]:
        """Every number under one dotted name, for diffs."""
        out: dict[str, float] = {}
        for part, d in self.diversity.items():
            out[f"{part}.rows"] = d.rows
            for tau, v in d.dcscore.items():
                out[f"{part}.dcscore@{tau}"] = v
            if d.vendi is not None:
                out[f"{part}.vendi"] = d.vendi
            for n, v in d.distinct.items():
                out[f"{part}.distinct-{n}"] = v
        for k, v in self.coverage.items():
            if isinstance(v, int | float):
                out[f"coverage.{k}"] = float(v)
        for s, n in self.concept_status.items():
            out[f"concepts.{s}"] = n
        for name, c in self.concepts.items():
            for k in ("human", "synthetic"):
                out[f"concept.{name}.{k}"] = float(c[k])
        for part, counts in self.question_types.items():
            for qtype, n in counts.items():
                out[f"question_type.{part}.{qtype}"] = float(n)
        return out


def _diversity(emb: np.ndarray, texts: list[str], taus: list[float], kernel: str) -> Diversity:
    if len(emb) == 0:
        return Diversity(rows=0)
    return Diversity(
        rows=len(emb),
        dcscore={f"{t:g}": round(float(dcscore(emb, tau=t, kernel=kernel)), 4) for t in taus},
        vendi=round(float(vendi(emb)), 4),
        distinct={str(n): round(float(distinct_n(texts, n)), 4) for n in (1, 2, 3)},
    )


def measure_version(
    ws: Workspace, version: str = "head", draw_map: bool = True, note: Callable[[str], None] | None = None
) -> Measurement:
    cfg = ws.config
    m = cfg.measure
    man: Manifest = ws.manifest(version)
    records = ws.records(man)
    chunks = ws.chunks(man)
    human = [r for r in records if r.origin == "human"]
    synthetic = [r for r in records if r.origin == "synthetic" and r.kept]
    heldout = [q for q, _ in load_heldout(cfg.heldout)] if cfg.heldout else []
    embedder = workspace_embedder(ws)
    if note:
        note(f"embedding {len(human) + len(synthetic)} rows, {len(chunks)} chunks, {len(heldout)} held-out questions")
    h_text, s_text = [row_text(r) for r in human], [row_text(r) for r in synthetic]
    h_emb, s_emb = embedder.embed(h_text), embedder.embed(s_text)
    c_emb = embedder.embed([chunk_text(c) for c in chunks])
    q_emb = embedder.embed(heldout)
    diversity = {
        "synthetic": _diversity(s_emb, s_text, m.taus, m.kernel),
        "human": _diversity(h_emb, h_text, m.taus, m.kernel),
        "all": _diversity(np.vstack([h_emb, s_emb]), h_text + s_text, m.taus, m.kernel),
    }
    cov = embedding_coverage({"seeds": h_emb, "heldout": q_emb, "chunks": c_emb}, s_emb, m.coverage_radius)
    coverage: dict[str, float | int | None] = {"radius": m.coverage_radius, **cov.covered, "drift": cov.drift}
    drift_examples = [synthetic[i].id for i in cov.drifting[:10]]
    out = Measurement(
        version=man.id,
        embedder=embedder.model_id,
        kernel=m.kernel,
        diversity=diversity,
        coverage=coverage,
        drift_examples=drift_examples,
        question_types={"human": type_counts(human), "synthetic": type_counts(synthetic)},
    )
    if cfg.ontology is not None:
        ontology = load_ontology(cfg.ontology)
        matcher = concept_matcher(ws, ontology, chunks, embedder)
        rep = concept_coverage(ontology, matcher, records, chunks, thin=m.concepts.thin)
        out.concepts = {
            c.name: {"human": c.human, "synthetic": c.synthetic, "chunks": c.chunks, "status": c.status}
            for c in rep.concepts
        }
        out.concept_status = {s: len(names) for s, names in rep.by_status().items()}
        if draw_map:
            out.map_png = str(_draw(ws, man, matcher, h_text, s_text, chunks, h_emb, s_emb, c_emb))
    ws.set_metrics(man.id, out.model_dump(mode="json"))
    return out


def _draw(ws, man, matcher, h_text, s_text, chunks, h_emb, s_emb, c_emb) -> Path:
    emb = np.vstack([c_emb, h_emb, s_emb])
    texts = [chunk_text(c) for c in chunks] + h_text + s_text
    tags = matcher.match(texts, emb)
    origin = ["chunk"] * len(chunks) + ["human"] * len(h_text) + ["synthetic"] * len(s_text)
    path = ws.store / "reports" / f"map-{man.id}.png"
    return concept_map(path, emb, origin, [t[0] if t else "" for t in tags], f"version {man.id[:12]}")


def stored_measurement(ws: Workspace, version: str) -> Measurement | None:
    man = ws.manifest(version)
    return Measurement.model_validate(man.metrics) if man.metrics else None


class Delta(BaseModel):
    name: str
    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before


def diff(ws: Workspace, v1: str, v2: str) -> tuple[Manifest, Manifest, list[Delta]]:
    """Metric and count deltas between two versions (each is measured first if it has no stored metrics)."""
    a, b = ws.manifest(v1), ws.manifest(v2)
    ma = stored_measurement(ws, a.id) or measure_version(ws, a.id, draw_map=False)
    mb = stored_measurement(ws, b.id) or measure_version(ws, b.id, draw_map=False)
    fa, fb = ma.flat(), mb.flat()
    for man, flat in ((a, fa), (b, fb)):
        for group in ("origin", "strategy", "verdicts"):
            for k, n in man.counts.get(group, {}).items():
                flat[f"count.{group}.{k}"] = n
    names = sorted(set(fa) | set(fb))

    def get(flat: dict[str, float], n: str) -> float | None:
        return flat.get(n, 0.0 if n.startswith("count.") else None)  # a count absent from a version is zero

    return a, b, [Delta(name=n, before=get(fa, n), after=get(fb, n)) for n in names]
