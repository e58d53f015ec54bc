"""Project configuration: pydantic models loaded from `tether.yaml`.

Every key here is read by code; unknown keys are errors, not silently ignored (a typo like `chunk_sise` must not
quietly fall back to a default). Errors are one line naming the file, line and dotted key.
"""

from __future__ import annotations

import string
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, model_validator

from tether.config.base import Strict as _Strict
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


class ConcurrencyConfig(_Strict):
    max_in_flight: int = Field(16, ge=1, description="global cap on concurrent teacher requests")
    adaptive: bool = Field(True, description="AIMD: grow while latency is stable, halve on 429/timeouts")
    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)


# the embedded teacher's models (tether.llm.models says which packages carry them) and the ids they are served as
EMBEDDED_ALIASES = {
    "smollm2-135m": "smollm2-135m-instruct",
    "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-instruct",
    "qwen2.5-coder-1.5b": "qwen2.5-coder-1.5b-instruct",
}
EmbeddedModelName = Literal["smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]


class EmbeddedConfig(_Strict):
    """The bundled llama.cpp teacher, used when `teacher.base_url` is not set."""

    model: EmbeddedModelName = Field(
        "qwen2.5-coder-0.5b", description="which packaged model to serve (its packages must be installed)"
    )
    model_path: Path | None = Field(None, description="a GGUF file to serve instead of `model`")
    n_ctx: int = Field(2048, ge=256)
    n_threads: int | None = Field(None, ge=1, description="default: all cores")
    startup_timeout_s: float = Field(120.0, gt=0)
    in_flight: int = Field(
        1,
        ge=1,
        description="jobs sent at once (overrides concurrency.max_in_flight for the embedded server): it computes "
        "one prompt at a time and reuses the part the next prompt shares with the last, so one job's calls in a row "
        "share their chunk, and more in flight only interleaves them",
    )


EMBEDDED_MODEL = EMBEDDED_ALIASES["qwen2.5-coder-0.5b"]  # teacher.model's default: "the embedded model's id"


class TeacherConfig(_Strict):
    """One OpenAI-compatible code path: the embedded llama.cpp server or any remote endpoint (set base_url)."""

    base_url: str | None = Field(None, description="e.g. http://localhost:8000/v1; unset = embedded llama.cpp")
    model: str = EMBEDDED_MODEL
    revision: str | None = Field(None, description="recorded as the teacher digest when the endpoint has none")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the key (never stored)")
    temperature: float = Field(0.7, ge=0, le=2)
    top_p: float = Field(0.95, gt=0, le=1)
    max_tokens: int = Field(384, ge=1)
    seed: int | None = 0
    timeout_s: float = Field(120.0, gt=0, description="per request; slow self-hosted servers need more")
    retries: int = Field(6, ge=0, description="retries for 429/5xx/timeouts/connection errors")
    max_connection_failures: int = Field(
        8, ge=1, description="connection failures in a row (all calls together) after which the stage stops"
    )
    backoff_s: float = Field(0.5, gt=0, description="first retry delay; doubles each retry, with jitter")
    backoff_max_s: float = Field(30.0, gt=0)
    structured: Literal["auto", "json_schema", "json_object", "prompt"] = "auto"
    parse_retries: int = Field(2, ge=0, description="extra attempts when structured output does not parse")
    price_per_mtok_prompt: float = Field(0.0, ge=0, description="cost per million prompt tokens")
    price_per_mtok_completion: float = Field(0.0, ge=0)
    concurrency: ConcurrencyConfig = Field(default_factory=ConcurrencyConfig)
    embedded: EmbeddedConfig = Field(default_factory=EmbeddedConfig)

    @model_validator(mode="after")
    def _remote_needs_model(self) -> TeacherConfig:
        if self.base_url and self.model in EMBEDDED_ALIASES.values():
            raise ValueError("teacher.base_url is set: also set teacher.model to the endpoint's model name")
        if not self.base_url and self.model in EMBEDDED_ALIASES.values() and self.embedded.model_path is None:
            self.model = EMBEDDED_ALIASES[self.embedded.model]  # the id follows the chosen model (older configs too)
        return self

    @property
    def embedded_mode(self) -> bool:
        return self.base_url is None


Strategy = Literal["augment", "rephrase", "new_questions"]


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

    @model_validator(mode="after")
    def _mix_positive(self) -> GenerateConfig:
        if self.mix is not None and (any(v < 0 for v in self.mix.values()) or sum(self.mix.values()) <= 0):
            raise ValueError("generate.mix needs non-negative shares with a positive sum")
        return self


FilterName = Literal[
    "validity",
    "rules",
    "exact_dedup",
    "near_dedup",
    "embedding_dedup",
    "facts",
    "question",
    "reader",
    "grounding",
    "judge",
    "code",
    "sql",
]
FactKind = Literal["number", "time", "date", "code", "name"]


class ValidityConfig(_Strict):
    language: Literal["en"] | None = Field("en", description="expected answer language; null = do not check")
    min_answer_chars: int = Field(1, ge=1)
    final_punctuation: Literal["auto", "required", "optional"] = Field(
        "auto",
        description="auto: sentence-length answers must end with punctuation when 95% of the seed answers do",
    )


class RulesConfig(_Strict):
    question_chars: tuple[int, int] = (8, 1000)
    answer_chars: tuple[int, int] = (1, 4000)
    must_match: list[str] = Field(default_factory=list, description="regexes every answer must match")
    must_not_match: list[str] = Field(default_factory=list, description="regexes no answer may match")
    answer_format: Literal["json", "markdown_table"] | None = None
    json_schema: dict | None = Field(None, description="JSON Schema (subset) answers must satisfy when format is json")


class DedupConfig(_Strict):
    threshold: float = Field(0.8, gt=0, le=1, description="estimated Jaccard of word shingles")
    num_perm: int = Field(128, ge=16, le=1024)
    ngram: int = Field(5, ge=1, le=10)
    heldout_leakage: bool = Field(True, description="also drop rows whose question duplicates a held-out one")


class FactsConfig(_Strict):
    """Deterministic fact consistency: numbers, times, dates, codes and names of an answer must be in its evidence."""

    kinds: list[FactKind] = Field(
        default_factory=lambda: ["number", "time", "date", "code", "name"], description="fact kinds to check"
    )
    unverifiable: Literal["keep", "drop"] = Field(
        "drop", description="rows with no chunk, no matching chunk and no seed answer to check against"
    )
    match_source: bool = Field(True, description="check rows without a source chunk against the best-matching chunk")
    answer_type: bool = Field(True, description="drop answers to 'how many/much/long' or 'what time' that give none")
    seed_agreement: bool = Field(
        True, description="an answer to a seed's question must share at least one fact of the seed's answer"
    )


class QuestionConfig(_Strict):
    """The question's own checks: its names and numbers in the documents, and a round trip through its chunk."""

    premise: bool = Field(
        True,
        description="a question naming something its document lacks (off_chunk_question / false_premise), or "
        "borrowing words of the prompt's demonstrations (borrowed_from_example)",
    )
    roundtrip_margin: float | None = Field(
        0.15,
        ge=0,
        le=2,
        description="extractive new questions: drop as answer_elsewhere when another statement of the chunk is "
        "closer to the question than the answer by this MiniLM cosine (null: no round trip)",
    )
    chunk_margin: float | None = Field(
        0.15,
        ge=0,
        le=2,
        description="new questions: drop as off_chunk_question when another chunk of the corpus is closer to the "
        "question than the row's own chunk by this MiniLM cosine (null: off)",
    )


class JudgeConfig(_Strict):
    threshold: int = Field(3, ge=1, le=5, description="rubric score (1-5) a row needs to be kept")
    votes: int = Field(
        1,
        ge=1,
        le=9,
        description="independent judgements per row (sampled with the teacher's temperature, one seed each); the "
        "majority at the threshold decides, the mean is the score; calibrated apart from a single judgement",
    )
    keep_unscored: bool = Field(True, description="keep rows the judge could not score (noted in the verdict)")
    endpoint: TeacherConfig | None = Field(
        None, description="a separate model for judge and grounding (same keys as teacher:); unset = the teacher"
    )
    uninformative: Literal["advisory", "veto"] = Field(
        "advisory", description="a judge calibrated near chance: not asked (advisory) or still allowed to veto"
    )
    trust: Literal["calibrated", "veto", "rescue"] = Field(
        "calibrated",
        description="calibrated: decided by `tether judge calibrate` (uncalibrated = veto only); "
        "veto: may only drop rows; rescue: may also keep rows the deterministic evidence rejects",
    )


class CalibrationConfig(_Strict):
    """`tether judge calibrate`: planted true and false rows built from the seeds, scored by each model filter."""

    auto: bool = Field(True, description="`tether filter` calibrates a judge that has no calibration yet")
    seeds: int = Field(12, ge=2, description="seeds to build planted rows from (each gives 1 true and up to 4 false)")
    min_seeds: int = Field(8, ge=2, description="seeds of the first round, before any filter may be settled early")
    round_seeds: int = Field(
        4, ge=0, description="seeds added per further round until every model filter is settled (0: all at once)"
    )
    min_auc: float = Field(0.65, ge=0.5, le=1, description="below this AUC a model filter is marked uninformative")
    trust_auc: float = Field(0.9, ge=0.5, le=1, description="at or above this AUC (and max_fpr) it may rescue rows")
    max_fpr: float = Field(0.1, ge=0, le=1, description="false rows kept, at most, for a model filter to rescue")


class GroundingConfig(_Strict):
    lexical_pass: float = Field(0.8, ge=0, le=1, description="answer-word support above which no teacher call is made")
    lexical_min: float = Field(0.5, ge=0, le=1, description="without a teacher verdict: support needed to keep")
    use_teacher: bool = Field(True, description="ask the teacher for entailment below lexical_pass")


class EmbeddingDedupConfig(_Strict):
    threshold: float = Field(0.95, gt=0, le=1, description="MiniLM cosine at or above which rows duplicate")
    heldout_leakage: bool = Field(True, description="also drop rows whose question paraphrases a held-out one")
    leak_threshold: float = Field(0.88, gt=0, le=1, description="question to held-out question cosine = a leak")


class CodeConfig(_Strict):
    timeout_s: float = Field(5.0, gt=0)
    memory_mb: int = Field(256, ge=16)
    max_output_kb: int = Field(64, ge=1)
    tests: str | None = Field(None, description="python code appended to each answer's code (e.g. asserts)")
    required: bool = Field(False, description="drop answers without a code block")


class SqlConfig(_Strict):
    database: Path | None = Field(None, description="SQLite database the generated SQL runs against (read-only copy)")
    timeout_s: float = Field(5.0, gt=0)
    compare: bool = Field(True, description="compare result sets with meta.<reference_field> when present")
    reference_field: str = "reference_sql"
    required: bool = Field(False, description="drop answers without SQL")


class FiltersConfig(_Strict):
    """`enabled` is the run order; each row is charged to the first filter that drops it."""

    enabled: list[FilterName] = Field(
        # every filter in its run order, but the validators that need a project's code or database
        default_factory=lambda: [n for n in get_args(FilterName) if n not in ("code", "sql")]
    )
    validity: ValidityConfig = Field(default_factory=ValidityConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    near_dedup: DedupConfig = Field(default_factory=DedupConfig)
    embedding_dedup: EmbeddingDedupConfig = Field(default_factory=EmbeddingDedupConfig)
    facts: FactsConfig = Field(default_factory=FactsConfig)
    question: QuestionConfig = Field(default_factory=QuestionConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    grounding: GroundingConfig = Field(default_factory=GroundingConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    code: CodeConfig = Field(default_factory=CodeConfig)
    sql: SqlConfig = Field(default_factory=SqlConfig)

    @model_validator(mode="after")
    def _sql_needs_db(self) -> FiltersConfig:
        if "sql" in self.enabled and self.sql.database is None:
            raise ValueError("filters.enabled has sql: set filters.sql.database to a SQLite file")
        return self


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
    from tether.records import content_hash

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
