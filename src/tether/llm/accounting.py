"""Per-run token, call and cost accounting: shown at the end of a run and stored in its manifest."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tether.llm.types import call_failed


@dataclass
class UsageStats:
    price_prompt: float = 0.0  # per million tokens
    price_completion: float = 0.0
    requests: int = 0  # logical requests asked of the client
    calls: int = 0  # HTTP calls actually sent (retries included)
    cache_hits: int = 0
    answers: int = 0  # HTTP calls the server answered (whatever the answer said)
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # final outcome by kind
    finish_reasons: Counter[str] = field(default_factory=Counter)
    busy_s: float = 0.0  # wall time with at least one request in flight
    wall_s: float = 0.0

    @property
    def failed_calls(self) -> int:
        """Requests that ended without any answer from the model (after retries)."""
        return sum(n for kind, n in self.errors.items() if call_failed(kind))

    def nothing_answered(self) -> str | None:
        """One line when this client asked something and not one call was answered (none from the cache
        either), else None."""
        if not self.requests or self.answers or self.cache_hits:
            return None
        kinds = ", ".join(f"{k} x{n}" for k, n in self.errors.most_common(3))
        return f"all {self.requests} teacher calls failed ({kinds})"

    @property
    def cost(self) -> float:
        return (self.prompt_tokens * self.price_prompt + self.completion_tokens * self.price_completion) / 1e6

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "answers": self.answers,
            "retries": self.retries,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": round(self.cost, 6),
            "errors": dict(self.errors),
            "finish_reasons": dict(self.finish_reasons),
            "busy_fraction": round(self.busy_s / self.wall_s, 4) if self.wall_s else None,
            "wall_s": round(self.wall_s, 2),
        }
