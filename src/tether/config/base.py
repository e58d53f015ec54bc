"""The base of every config model: unknown keys are errors (a typo must not fall back to a default silently)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
