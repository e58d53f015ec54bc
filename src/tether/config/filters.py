"""The filters section: which quality filters run, in order, and each one's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, model_validator

from tether.config.base import Strict as _Strict
from tether.config.teacher import TeacherConfig

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
    negation: bool = Field(
        True,
        description="drop an answer that restates a clause of its chunk negated (contradicts_chunk; text/negation.py)",
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
    threshold: float = Field(
        4.5,
        ge=1,
        le=5,
        description="score (1-5) a row needs to be kept: with `scoring: expected` the rubric's mean under the "
        "judge's own probabilities, so 4.5 asks it to be mostly sure the answer is 'correct, complete and concise'",
    )
    scoring: Literal["expected", "greedy", "votes"] = Field(
        "expected",
        description="expected: one greedy call, the score is the mean of 1-5 weighted by the probabilities the model "
        "gives the score's token (G-Eval; needs a server that returns logprobs, else the greedy score); greedy: the "
        "score it writes; votes: the mean of `votes` sampled judgements. Each is calibrated apart",
    )
    votes: int = Field(3, ge=1, le=9, description="with `scoring: votes`: sampled judgements per row, a seed each")
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
