"""Project configuration: pydantic models loaded from `tether.yaml`.

Every key here is read by code; unknown keys are errors, not silently ignored (a typo like `chunk_sise` must not
quietly fall back to a default). Errors are one line naming the file, line and dotted key.
"""

from __future__ import annotations

import string
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tether.config.base import Strict as _Strict
from tether.config.filters import (
    CalibrationConfig,
    CodeConfig,
    DedupConfig,
    EmbeddingDedupConfig,
    FactKind,
    FactsConfig,
    FilterName,
    FiltersConfig,
    GroundingConfig,
    JudgeConfig,
    QuestionConfig,
    RulesConfig,
    SqlConfig,
    ValidityConfig,
)
from tether.config.teacher import (
    EMBEDDED_ALIASES,
    EMBEDDED_MODEL,
    ConcurrencyConfig,
    EmbeddedConfig,
    EmbeddedModelName,
    TeacherConfig,
)
from tether.config.training import (
    EMBEDDED_RUN_BUDGET,
    REMOTE_RUN_BUDGET,
    EvalConfig,
    MixConfig,
    RunConfig,
    TrainConfig,
)
from tether.config.yamlconf import read_text_file, validate_yaml
from tether.errors import ConfigError
from tether.records import content_hash

__all__ = [
    "CONFIG_NAME",
    "EMBEDDED_ALIASES",
    "EMBEDDED_MODEL",
    "EMBEDDED_RUN_BUDGET",
    "REMOTE_RUN_BUDGET",
    "AuditConfig",
    "CalibrationConfig",
    "CodeConfig",
    "ConceptsConfig",
    "ConcurrencyConfig",
    "DedupConfig",
    "EmbeddedConfig",
    "EmbeddedModelName",
    "EmbedderConfig",
    "EmbeddingDedupConfig",
    "EvalConfig",
    "FactKind",
    "FactsConfig",
    "FillConfig",
    "FilterName",
    "FiltersConfig",
    "FocusType",
    "Format",
    "GenerateConfig",
    "GroundingConfig",
    "IngestConfig",
    "JudgeConfig",
    "MeasureConfig",
    "MixConfig",
    "QuestionConfig",
    "RulesConfig",
    "RunConfig",
    "SourcesConfig",
    "SqlConfig",
    "Strategy",
    "TeacherConfig",
    "TetherConfig",
    "TrainConfig",
    "ValidityConfig",
    "config_hash",
    "load_config",
    "parse_config",
    "render_default_config",
    "set_null_path",
]

CONFIG_NAME = "tether.yaml"
Format = Literal["md", "rst", "txt", "html", "jsonl", "csv", "pdf", "docx", "pptx"]
ALL_FORMATS: list[Format] = ["md", "rst", "txt", "html", "jsonl", "csv", "pdf", "docx", "pptx"]


class SourcesConfig(_Strict):
    """Inputs that `tether ingest` reads when no paths are given on the command line."""

    docs: list[Path] = Field(default_factory=list)
    seeds: list[Path] = Field(default_factory=list)


class IngestConfig(_Strict):
    chunk_size: int = Field(1200, ge=100, description="maximum characters per chunk")
    chunk_overlap: int = Field(150, ge=0, description="characters shared by consecutive chunks")
    max_file_mb: float = Field(20.0, gt=0, description="larger files are skipped with a reason")
    file_timeout_s: float = Field(
        120.0, gt=0, description="PDF/Word/PowerPoint: a file that takes longer to read is skipped with a reason"
    )
    follow_symlinks: bool = Field(
        False, description="read symbolic links inside a source folder that point outside it (default: skip them)"
    )
    formats: list[Format] = Field(default_factory=lambda: list(ALL_FORMATS))
    html_main_content: bool = Field(
        True, description="HTML: keep the page's main content (trafilatura), drop navigation, menus and footers"
    )
    boilerplate_min_docs_share: float | None = Field(
        0.3,
        gt=0,
        le=1,
        description="a line found in at least this share of a source folder's documents is template (header, "
        "footer, navigation) and removed before chunking; null keeps every line",
    )
    boilerplate_min_docs: int = Field(3, ge=2, description="...and in at least this many documents")
    min_chunk_chars: int = Field(
        200, ge=0, description="a shorter chunk without a sentence merges into a neighbour; 0 keeps every chunk"
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> IngestConfig:
        if self.chunk_overlap >= self.chunk_size // 2:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be < chunk_size/2 ({self.chunk_size // 2})")
        return self


class AuditConfig(_Strict):
    well_covered: int = Field(3, ge=1, description="seeds a concept needs to count as well covered")


Strategy = Literal["augment", "rephrase", "new_questions", "multi_hop"]
# question types a new question's focus sentence can steer toward (tether.text.typed_focus.STEERABLE)
FocusType = Literal["fact", "number", "yes_no", "comparison", "procedure"]


class GenerateConfig(_Strict):
    """Teacher generation. The planner picks the strategy mix from the budget ratio unless `mix` is given."""

    mix: dict[Strategy, float] | None = Field(None, description="override the planner's shares, e.g. {augment: 1}")
    weak_teacher: bool | None = Field(None, description="favour rephrasing; default: true for the embedded teacher")
    answer_with_context: bool = Field(True, description="give the seed's source chunk when answering")
    answers: Literal["auto", "free", "extractive"] = Field(
        "auto",
        description="extractive: answers must be sentences copied from the chunk (checked by string match); "
        "free: brief answers in the seeds' style; auto: extractive for a weak teacher",
    )
    cot_share: float = Field(0.0, ge=0, le=1, description="share of augmented answers written as reasoning traces")
    preference_share: float = Field(
        0.0, ge=0, le=1, description="share of new questions that also get a no-context (rejected) answer"
    )
    best_of: int = Field(1, ge=1, le=16, description="rejection sampling: answers per row, best kept by grounding")
    few_shot: int = Field(3, ge=0, le=10, description="seed examples for a new_question template that shows {examples}")
    questions_per_fact: int = Field(
        1,
        ge=1,
        le=10,
        description="new questions per fact-bearing sentence once every sentence has one (breadth first); 2 did not "
        "raise held-out accuracy on the example domain (README, Evaluation)",
    )
    self_check: bool | None = Field(
        None,
        description="ask the teacher whether each new question is answerable from its chunk; default: yes for a "
        "remote teacher, no for the embedded one (its 0.5B dropped 0 of 19 new questions and judged at chance)",
    )
    templates: dict[str, Path] = Field(default_factory=dict, description="override prompt templates by name")
    unanswerable: float = Field(
        0.1,
        ge=0,
        le=3,
        description="false-premise rows per training seed (strategy unanswerable, no teacher call): the seed's "
        "question with a name no document mentions, answered by declining it and giving the seed's answer; above "
        "the share of seeds that name something, up to 3 near-misses of each",
    )

    question_types: dict[FocusType, float] | None = Field(
        None,
        description="steer new questions toward a mix of question types, e.g. {number: 0.5, procedure: 0.3, "
        "yes_no: 0.2}: each chunk's focus sentences are ordered so those likely to yield each type come in "
        "proportion; null: no steering",
    )

    @model_validator(mode="after")
    def _mix_positive(self) -> GenerateConfig:
        if self.mix is not None and (any(v < 0 for v in self.mix.values()) or sum(self.mix.values()) <= 0):
            raise ValueError("generate.mix needs non-negative shares with a positive sum")
        return self

    @field_validator("question_types")
    @classmethod
    def _type_shares_positive(cls, shares: dict[str, float] | None) -> dict[str, float] | None:
        if shares is not None and (any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0):
            raise ValueError("needs non-negative shares with a positive sum, e.g. {number: 0.5, procedure: 0.5}")
        return shares


class EmbedderConfig(_Strict):
    """Sentence embeddings for diversity, coverage, concepts and semantic dedup. Cached by content hash."""

    backend: Literal["onnx", "sentence-transformers", "openai"] = Field(
        "onnx", description="onnx: MiniLM-L6 int8 offline (no torch); openai: any /v1/embeddings endpoint"
    )
    base_url: str | None = Field(None, description="openai backend: e.g. http://localhost:8000/v1")
    model: str | None = Field(None, description="openai backend: the endpoint's embedding model name")
    api_key_env: str = "OPENAI_API_KEY"
    batch_size: int = Field(16, ge=1, description="texts per model call (onnx: 16 is fastest for chunk-length texts)")
    max_length: int = Field(256, ge=8, le=512, description="tokens per text (MiniLM-L6 was trained at 256)")

    @model_validator(mode="after")
    def _endpoint(self) -> EmbedderConfig:
        if self.backend == "openai" and not (self.base_url and self.model):
            raise ValueError("measure.embedder.backend is openai: set base_url and model")
        return self


class ConceptsConfig(_Strict):
    """Mapping rows and chunks to ontology concepts: keywords, plus embedding similarity to each concept."""

    min_similarity: float = Field(0.3, ge=0, le=1, description="cosine to the best concept profile that tags a text")
    margin: float = Field(0.0, ge=0, le=1, description="other concepts within this of the best also count")
    thin: int = Field(5, ge=1, description="kept rows (human + synthetic) below which a concept is thin")


class MeasureConfig(_Strict):
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    kernel: Literal["cosine", "rbf", "laplacian", "poly"] = "cosine"
    taus: list[float] = Field(default_factory=lambda: [1.0, 0.1], description="DCScore temperatures to report")
    coverage_radius: float = Field(0.6, gt=0, le=1, description="cosine within which a real row counts as covered")
    concepts: ConceptsConfig = Field(default_factory=ConceptsConfig)


class FillConfig(_Strict):
    """`tether fill`: generate new questions aimed at thin concepts until each has `per_concept` kept rows."""

    per_concept: int = Field(5, ge=1, description="kept rows (human + synthetic) every concept should reach")
    budget: int = Field(200, ge=1, description="teacher calls the whole loop may spend (generation + filters)")
    rounds: int = Field(4, ge=1, description="generate → filter → re-measure rounds at most")
    oversample: float = Field(2.0, ge=1, description="questions asked per missing row (the funnel drops some)")


class TetherConfig(_Strict):
    project: str = "tether-project"
    ontology: Path | None = None
    heldout: Path | None = None
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    filters: FiltersConfig = Field(default_factory=FiltersConfig)
    measure: MeasureConfig = Field(default_factory=MeasureConfig)
    fill: FillConfig = Field(default_factory=FillConfig)
    mix: MixConfig = Field(default_factory=MixConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    @model_validator(mode="after")
    def _teacher_defaults(self) -> TetherConfig:
        """Settings whose default depends on the teacher: a small embedded model cannot check its own questions
        (a self-check it always passes costs a call per question and drops nothing), and on 2 cores it writes
        about 15 rows a minute, so `tether run`'s budget is sized to keep the quickstart within 10 minutes."""
        embedded = self.teacher.embedded_mode
        if self.generate.self_check is None:
            self.generate = self.generate.model_copy(update={"self_check": not embedded})
        if self.run.budget is None:
            self.run = self.run.model_copy(update={"budget": EMBEDDED_RUN_BUDGET if embedded else REMOTE_RUN_BUDGET})
        return self

    def resolve_paths(self, base: Path) -> TetherConfig:
        """Make relative paths relative to the config file's folder, as a user reading the YAML expects."""

        def r(p: Path) -> Path:
            return p if p.is_absolute() else (base / p).resolve()

        def teacher(t: TeacherConfig) -> TeacherConfig:
            emb = t.embedded
            if emb.model_path:
                emb = emb.model_copy(update={"model_path": r(emb.model_path)})
            return t.model_copy(update={"embedded": emb})

        judge = self.filters.judge
        if judge.endpoint is not None:
            judge = judge.model_copy(update={"endpoint": teacher(judge.endpoint)})
        return self.model_copy(
            update={
                "ontology": r(self.ontology) if self.ontology else None,
                "heldout": r(self.heldout) if self.heldout else None,
                "sources": SourcesConfig(
                    docs=[r(p) for p in self.sources.docs], seeds=[r(p) for p in self.sources.seeds]
                ),
                "teacher": teacher(self.teacher),
                "generate": self.generate.model_copy(
                    update={"templates": {k: r(v) for k, v in self.generate.templates.items()}}
                ),
                "filters": self.filters.model_copy(
                    update={
                        "sql": self.filters.sql.model_copy(
                            update={"database": r(self.filters.sql.database) if self.filters.sql.database else None}
                        ),
                        "judge": judge,
                    }
                ),
            }
        )


def parse_config(text: str, source: str) -> TetherConfig:
    return validate_yaml(text, source, TetherConfig)


def load_config(path: Path) -> TetherConfig:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path} (create one with `tether init DIR`)")
    text = read_text_file(path, "config file")
    return parse_config(text, str(path)).resolve_paths(path.parent.resolve())


def set_null_path(config_file: Path, key: str, value: Path) -> bool:
    """Write `key: <value relative to the config>` over a top-level `key: null` line of tether.yaml, keeping its
    comments. Only a null key is set: a user's own choice is never overwritten. Returns whether it was set."""
    import os
    import re

    text = config_file.read_text(encoding="utf-8")
    pattern = rf"^{re.escape(key)}: null\b"
    if not re.search(pattern, text, re.MULTILINE):
        return False
    rel = os.path.relpath(value.resolve(), config_file.parent.resolve())
    config_file.write_text(re.sub(pattern, f"{key}: {rel}", text, count=1, flags=re.MULTILINE), encoding="utf-8")
    return True


def config_hash(cfg: TetherConfig) -> str:
    """Hash of the effective config: a manifest records it so a changed setting is visible across versions."""
    return content_hash(cfg.model_dump(mode="json"), n=16)


def render_default_config(project: str, domain: Path | None, workspace: Path) -> str:
    """The `tether.yaml` that `tether init` writes: every key present, commented, so users see what exists."""

    def rel(p: Path) -> str:
        try:
            return str(Path(p).resolve().relative_to(workspace.resolve()))
        except ValueError:
            import os

            return os.path.relpath(Path(p).resolve(), workspace.resolve())

    ontology = heldout = "null"
    docs: list[str] = []
    seeds: list[str] = []
    if domain is not None:
        ontology = rel(domain / "ontology.yaml")
        heldout = rel(domain / "heldout" / "heldout.jsonl") if (domain / "heldout").is_dir() else "null"
        docs = [rel(domain / "docs")]
        seeds = [rel(p) for p in sorted((domain / "seeds").glob("*")) if p.suffix in (".jsonl", ".csv")]

    def lst(items: list[str]) -> str:
        return "[" + ", ".join(items) + "]"

    text = (resources.files("tether") / "default_config.yaml").read_text(encoding="utf-8")
    return string.Template(text).substitute(
        project=project, ontology=ontology, heldout=heldout, docs=lst(docs), seeds=lst(seeds)
    )
