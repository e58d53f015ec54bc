"""YAML files into pydantic models, with errors a user can act on: one line naming the file, the line and the
dotted key (`tether.yaml:12: unknown key 'ingest.chunk_sise' (allowed: ...)`). Used for tether.yaml and the
ontology; kept apart from the config schema so that any YAML input gets the same errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tether.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _key_line(root: yaml.Node | None, loc: tuple) -> int | None:
    """1-based line of the deepest YAML node on the path `loc`, for error messages."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if k.value == part), None)
            if hit is None:
                break
            line, node = hit[0].start_mark.line + 1, hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _describe(err: dict[str, Any], model: type[BaseModel]) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key '{loc}'{hint}"
    if err["type"] == "missing":
        return f"missing key '{loc}'"
    got = err.get("input")
    got_s = f", got {got!r}" if got is not None and not isinstance(got, dict | list) else ""
    return f"'{loc}': {err['msg'].lower()}{got_s}" if loc else err["msg"]


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    cur: Any = model
    for part in loc:
        field = getattr(cur, "model_fields", {}).get(part)
        if field is None:
            return []
        cur = field.annotation
    return list(getattr(cur, "model_fields", {}))


def validate_yaml(text: str, source: str, model: type[M]) -> M:
    """Parse YAML text into `model`; errors are one line naming `source`, the line and the dotted key."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        first = errors[0]
        line = _key_line(root, first["loc"])
        where = f"{source}:{line}" if line else source
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{where}: {_describe(first, model)}{more}") from None


def read_text_file(path: Path, what: str) -> str:
    """Read a UTF-8 input file, turning the usual failures into one-line errors."""
    if not path.is_file():
        raise ConfigError(f"{what} not found: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read {what}: {e}") from None
