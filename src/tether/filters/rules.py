"""Rule validators configured per domain: length bounds, regexes that must / must not match, output formats."""

from __future__ import annotations

import itertools
import json
import re

from tether.filters.base import live
from tether.records import Record, Verdict


def markdown_table(text: str) -> bool:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return any(
        a.startswith("|") and re.fullmatch(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?", b)
        for a, b in itertools.pairwise(lines)
    )


def json_object(text: str, required: list[str]) -> str | None:
    """None when `text` is a JSON object with the required keys, else why not."""
    body = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip())
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as e:
        return f"not JSON: {e.msg}"
    if not isinstance(obj, dict):
        return f"JSON {type(obj).__name__}, not an object"
    missing = [k for k in required if k not in obj]
    return f"missing keys: {', '.join(missing)}" if missing else None


class RulesFilter:
    name = "rules"

    def __init__(
        self,
        question_chars: tuple[int, int] = (8, 1000),
        answer_chars: tuple[int, int] = (1, 4000),
        must_match: list[str] = (),
        must_not_match: list[str] = (),
        answer_format: str | None = None,
        json_keys: list[str] = (),
    ):
        self.q_min, self.q_max = question_chars
        self.a_min, self.a_max = answer_chars
        self.must = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in must_match]
        self.must_not = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in must_not_match]
        self.answer_format = answer_format
        self.json_keys = list(json_keys)

    def check(self, rec: Record) -> Verdict:
        q, a = rec.question().strip(), rec.answer().strip()
        if not self.q_min <= len(q) <= self.q_max:
            return Verdict(
                keep=False, reason="question_length", detail=f"{len(q)} chars, allowed {self.q_min}-{self.q_max}"
            )
        if not self.a_min <= len(a) <= self.a_max:
            return Verdict(
                keep=False, reason="answer_length", detail=f"{len(a)} chars, allowed {self.a_min}-{self.a_max}"
            )
        for p in self.must:
            if not p.search(a):
                return Verdict(keep=False, reason="missing_pattern", detail=p.pattern)
        for p in self.must_not:
            if m := p.search(a):
                return Verdict(keep=False, reason="forbidden_pattern", detail=f"{p.pattern} matched '{m.group(0)}'")
        if self.answer_format == "json" and (why := json_object(a, self.json_keys)):
            return Verdict(keep=False, reason="bad_format", detail=why)
        if self.answer_format == "markdown_table" and not markdown_table(a):
            return Verdict(keep=False, reason="bad_format", detail="no markdown table")
        return Verdict(keep=True)

    def judge(self, records: list[Record]) -> list[Verdict | None]:
        return [self.check(r) if live(r) else None for r in records]
