"""Which class implements each filter name, and what a filter may read when it builds itself.

Each filter class has `from_config(ctx)` and reads its own section of `filters:`; this module only maps names to
classes (imported lazily, so the sandbox or MinHash modules load only when enabled). Adding a filter means a
module with its class, one line here, and its config section.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.config import TeacherConfig, TetherConfig
from tether.documents import Chunk, Document
from tether.engine.seam import LOCAL, Engine
from tether.filters.trust import CalibrationStore, Trust, filter_method, judge_key
from tether.llm.client import TeacherClient
from tether.prompts.templates import Template, load_templates
from tether.records import Record
from tether.seeds.audit import load_heldout
from tether.seeds.ontology import load_ontology
from tether.workspace.store import Manifest, Workspace

REGISTRY: dict[str, str] = {
    "validity": "tether.filters.validity:ValidityFilter",
    "rules": "tether.filters.rules:RulesFilter",
    "exact_dedup": "tether.filters.dedup:ExactDedup",
    "near_dedup": "tether.filters.minhash:MinHashDedup",
    "embedding_dedup": "tether.filters.semantic:EmbeddingDedup",
    "facts": "tether.filters.consistency:FactConsistencyFilter",
    "question": "tether.filters.question:QuestionFilter",
    "reader": "tether.filters.reader:ReaderFilter",
    "grounding": "tether.filters.judged:GroundingFilter",
    "judge": "tether.filters.judged:LLMJudge",
    "code": "tether.filters.sandbox:CodeValidator",
    "sql": "tether.filters.sql:SqlValidator",
}
MODEL_FILTERS = ("grounding", "judge")  # filters that may call a model


def filter_class(name: str) -> type:
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


def needs_model(cfg: TetherConfig) -> bool:
    f = cfg.filters
    return "judge" in f.enabled or "reader" in f.enabled or ("grounding" in f.enabled and f.grounding.use_teacher)


@dataclass
class BuildContext:
    """What filters are built from: the config, the version's chunks/documents/rows, the judge client."""

    cfg: TetherConfig
    chunks: dict[str, Chunk]
    templates: dict[str, Template]
    domain: str
    documents: dict[str, Document] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    client: TeacherClient | None = None  # the judge endpoint (filters.judge.endpoint), else the teacher
    heldout: list[str] = field(default_factory=list)  # held-out questions (each dedup filter's leakage flag decides)
    store: Path | None = None  # the workspace's .tether/, for calibration results
    trusts: dict[str, Trust] = field(default_factory=dict)  # filled as model filters are built
    engine: Engine = LOCAL  # hooks for filters with a distributed form (MinHash pairs, the embedder)

    def trust(self, name: str, template: Template) -> Trust:
        """The trust of a model filter: forced by config, else from this judge's calibration (if any)."""
        cal = None
        if self.client is not None and self.store is not None:
            method = filter_method(name, template.hash, self.cfg.filters.judge)
            cal = CalibrationStore(self.store).get(judge_key(name, self.client.identity, method))
        j = self.cfg.filters.judge
        t = Trust.decide(name, j.trust, cal, j.uninformative)
        self.trusts[name] = t
        return t


def domain_name(cfg: TetherConfig) -> str:
    if cfg.ontology is not None:
        return load_ontology(cfg.ontology).domain or cfg.project
    return cfg.project


def judge_config(cfg: TetherConfig) -> TeacherConfig:
    """The model behind grounding and the judge: filters.judge.endpoint, else the teacher."""
    return cfg.filters.judge.endpoint or cfg.teacher


def build_context(
    ws: Workspace, head: Manifest, records: list[Record], client: TeacherClient | None, engine: Engine = LOCAL
) -> BuildContext:
    """Everything the filters of `ws` build from, for the version `head`."""
    cfg = ws.config
    heldout = [q for q, _ in load_heldout(cfg.heldout)] if cfg.heldout else []
    return BuildContext(
        cfg=cfg,
        chunks={c.chunk_id: c for c in ws.chunks(head)},
        templates=load_templates(cfg.generate.templates),
        domain=domain_name(cfg),
        documents={d.doc_id: d for d in ws.documents(head)},
        records=records,
        client=client,
        heldout=heldout,
        store=ws.store,
        engine=engine,
    )


def build_filters(ctx: BuildContext, names: list[str] | None = None) -> list[Any]:
    """The enabled filters (or `names`), in order."""
    return [filter_class(n).from_config(ctx) for n in (names if names is not None else ctx.cfg.filters.enabled)]
