"""The teacher section: an embedded llama.cpp model or any OpenAI-compatible endpoint, and its concurrency."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from tether.config.base import Strict as _Strict


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
        "qwen2.5-coder-1.5b", description="which packaged model to serve (its packages must be installed)"
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


EMBEDDED_MODEL = EMBEDDED_ALIASES["qwen2.5-coder-1.5b"]  # teacher.model's default: "the embedded model's id"


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
