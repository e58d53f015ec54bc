"""The audit stage over a workspace: seed coverage of a version against the configured ontology, saved as
`reports/audit-<version>.json`.

The concept matcher is chosen by the caller (`MatcherFactory`): the best one needs the embedder, which lives above
the seeds (`tether.measure.context.best_matcher`), so the CLI and the pipeline hand it in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tether.documents import Chunk
from tether.seeds.audit import AuditReport, audit, load_heldout
from tether.seeds.ontology import ConceptMatcher, Ontology, load_ontology
from tether.workspace.store import Workspace

# (workspace, ontology, the version's chunks) -> (matcher, why a weaker one was used, or None)
MatcherFactory = Callable[[Workspace, Ontology, list[Chunk]], tuple[ConceptMatcher, str | None]]


@dataclass
class AuditRun:
    version: str  # the manifest id audited
    seeds: int  # human rows of the version
    chunks: int
    report: AuditReport | None = None  # None: no ontology is configured
    path: Path | None = None  # where the report was saved
    matcher_note: str | None = None  # why concepts were matched by a weaker matcher


def run_audit(ws: Workspace, version: str, best_matcher: MatcherFactory) -> AuditRun:
    """Audit `version` (id, prefix or 'head') against the configured ontology and held-out rows, and save the
    report; without an ontology, only count the seeds and chunks (nothing is saved)."""
    cfg = ws.config
    man = ws.manifest(version)
    records = ws.records(man)
    human = [r for r in records if r.origin == "human"]
    if cfg.ontology is None:
        return AuditRun(man.id, len(human), len(ws.chunks(man)))
    onto = load_ontology(cfg.ontology)
    heldout = load_heldout(cfg.heldout) if cfg.heldout else None
    chunks = ws.chunks(man)
    matcher, why = best_matcher(ws, onto, chunks)
    rep = audit(
        man.id,
        onto,
        matcher,
        human,
        chunks,
        ws.documents(man),
        cfg.audit.well_covered,
        heldout,
        synthetic=[r for r in records if r.origin == "synthetic"],
        thin=cfg.measure.concepts.thin,
    )
    out = ws.store / "reports" / f"audit-{man.id}.json"
    out.write_text(rep.model_dump_json(indent=2), encoding="utf-8")
    return AuditRun(man.id, len(human), len(chunks), rep, out, why)
