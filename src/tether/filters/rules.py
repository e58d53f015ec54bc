"""Rule validators configured per domain: length bounds, regexes that must / must not match, output formats."""

from __future__ import annotations

import itertools
import json
import re
from typing import TYPE_CHECKING, Any

from tether.filters.base import live
from tether.records import Record, Verdict

if TYPE_CHECKING:
    from tether.filters.registry import BuildContext


def markdown_table(text: str) -> bool:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return any(
        a.startswith("|") and re.fullmatch(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?", b)
        for a, b in itertools.pairwise(lines)
    )


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def schema_errors(value: Any, schema: dict, where: str = "$") -> str | None:
    """First violation of a JSON Schema subset (type, enum, required, properties, items, min/max, lengths)."""
    kind = schema.get("type")
    if kind in ("integer", "number"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and kind == "integer":
            ok = float(value).is_integer()
        if not ok:
            return f"{where}: expected {kind}"
        if "minimum" in schema and value < schema["minimum"]:
            return f"{where}: {value} < minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{where}: {value} > maximum {schema['maximum']}"
    elif kind is not None and not isinstance(value, _TYPES.get(kind, object)):
        return f"{where}: expected {kind}, got {type(value).__name__}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: {value!r} not one of {schema['enum']}"
    if isinstance(value, str) and not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
        return f"{where}: string length {len(value)} out of bounds"
    if isinstance(value, dict):
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            return f"{where}: missing keys {', '.join(missing)}"
        for key, sub in schema.get("properties", {}).items():
            if key in value and (err := schema_errors(value[key], sub, f"{where}.{key}")):
                return err
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            if err := schema_errors(item, schema["items"], f"{where}[{i}]"):
                return err
    return None


def json_answer(text: str, schema: dict | None) -> str | None:
    """None when `text` is JSON (optionally fenced) satisfying `schema`, else why not."""
    body = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip())
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as e:
        return f"not JSON: {e.msg}"
    return schema_errors(obj, schema or {"type": "object"})


class RulesFilter:
    name = "rules"
    per_row = True  # a row's verdict depends on that row alone: the Ray engine may judge rows anywhere

    def __init__(
        self,
        question_chars: tuple[int, int] = (8, 1000),
        answer_chars: tuple[int, int] = (1, 4000),
        must_match: list[str] = (),
        must_not_match: list[str] = (),
        answer_format: str | None = None,
        json_schema: dict | None = None,
    ):
        self.q_min, self.q_max = question_chars
        self.a_min, self.a_max = answer_chars
        self.must = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in must_match]
        self.must_not = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in must_not_match]
        self.answer_format = answer_format
        self.json_schema = json_schema

    @classmethod
    def from_config(cls, ctx: BuildContext) -> RulesFilter:
        r = ctx.cfg.filters.rules
        return cls(r.question_chars, r.answer_chars, r.must_match, r.must_not_match, r.answer_format, r.json_schema)

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
        if self.answer_format == "json" and (why := json_answer(a, self.json_schema)):
            return Verdict(keep=False, reason="bad_format", detail=why)
        if self.answer_format == "markdown_table" and not markdown_table(a):
            return Verdict(keep=False, reason="bad_format", detail="no markdown table")
        return Verdict(keep=True)

    def judge(self, records: list[Record]) -> list[Verdict | None]:
        return [self.check(r) if live(r) else None for r in records]
