"""Structured output: ask for JSON matching a pydantic model, and parse what comes back.

Servers differ: OpenAI and vLLM take `response_format={"type": "json_schema", ...}`; llama.cpp's Python server
takes `{"type": "json_object", "schema": ...}`; some take neither. `auto` starts with json_schema and steps down
when the server rejects the format. The schema is also stated in the prompt, which weak models need anyway.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

MODES = ("json_schema", "json_object", "prompt")


@functools.cache
def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, built once per class (pydantic rebuilds it on every call: ~0.7 ms, a tenth of the
    generate stage's per-request cost against a fast server). Shared: callers must not mutate it."""
    return model.model_json_schema()


def response_format(mode: str, name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def instruction(schema: dict[str, Any]) -> str:
    props = schema.get("properties", {})
    fields = ", ".join(f'"{k}" ({v.get("type", "value")})' for k, v in props.items())
    return f"Reply with only a JSON object with the fields {fields}. No text before or after the JSON."


def with_instruction(messages: list[dict[str, str]], schema: dict[str, Any]) -> list[dict[str, str]]:
    """Append the JSON instruction to the last user message (or add one); for a prompt that demonstrates its
    replies in `assistant` turns, add it to the system message instead.

    At the end, not in the system message: a local server (llama.cpp) reuses the computed prefix its previous
    prompt shares with this one, and every template that reads a chunk starts with the same system message and
    the chunk. A schema note in the system message would make each template's prompt differ from its first
    tokens; after the task it costs only its own tokens, and small models follow it better read last. Except
    after demonstrations: there the last user turn must look like the demonstrated ones, or the model stops
    following them (Qwen2.5-Coder-0.5B handed back the statement it was to ask about for 7 of 12 new questions
    with the note appended to the last turn, 2 of 12 with it in the system message); the demonstrations are a
    fixed prefix, so the note there still leaves every call's prefix shared."""
    note = instruction(schema)
    if any(m["role"] == "assistant" for m in messages) and messages[0]["role"] == "system":
        return [{"role": "system", "content": messages[0]["content"] + "\n\n" + note}, *messages[1:]]
    for i in range(len(messages) - 1, -1, -1):
        if messages[i]["role"] == "user":
            last = {"role": "user", "content": messages[i]["content"] + "\n\n" + note}
            return [*messages[:i], last, *messages[i + 1 :]]
    return [*messages, {"role": "user", "content": note}]


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """The first JSON object in `text` (fenced or bare); raises ValueError when there is none."""
    fenced = _FENCE.search(text)
    candidate = fenced.group(1) if fenced else text
    start = candidate.find("{")
    if start < 0:
        raise ValueError("no JSON object in the reply")
    decoder = json.JSONDecoder()
    try:
        obj, _ = decoder.raw_decode(candidate[start:])
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON: {e.msg}") from None
    return obj


def parse(text: str, finish_reason: str | None, model: type[BaseModel]) -> tuple[dict | None, str | None, str]:
    """(parsed, error reason, detail). Reasons: truncated, invalid_json, schema_mismatch."""
    try:
        obj = extract_json(text)
    except ValueError as e:
        reason = "truncated" if finish_reason == "length" else "invalid_json"
        return None, reason, str(e)
    try:
        return model.model_validate(obj).model_dump(), None, ""
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        return None, "schema_mismatch", f"{where}: {first['msg']}"
