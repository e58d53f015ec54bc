"""Prompt templates as files, versioned by hash, overridable per domain in `tether.yaml`.

A template is plain text with `system:` / `user:` section lines and `{field}` placeholders (str.format). Its hash
goes into every request's cache tag and every row's `meta.template`: editing a template re-runs exactly the
calls that used it, and a row always says which wording produced it.

A few templates are plain text pasted into another prompt rather than prompts of their own (TEXT_TEMPLATES): the
built-in style guide stands in for seed examples when a project has none, and a domain may override it like any
other template.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tether.config.yamlconf import read_text_file
from tether.errors import ConfigError

# fields each template is rendered with (an override may use any subset, but no other field)
FIELDS: dict[str, set[str]] = {
    "answer": {"domain", "question", "context_block", "length_hint"},
    "answer_extract": {"domain", "question", "context_block"},
    "answer_cot": {"domain", "question", "context_block", "length_hint"},
    "rephrase": {"domain", "question", "variant"},
    "new_question": {"domain", "chunk", "focus", "examples", "concept_line", "variant", "length_hint"},
    "new_question_extract": {"domain", "chunk", "focus", "concept_line"},
    "multi_hop": {"domain", "chunk", "chunk2", "focus", "focus2"},
    "self_check": {"domain", "chunk", "question", "answer"},
    "judge": {"domain", "question", "answer", "context_block"},
    "grounding": {"domain", "chunk", "question", "answer"},
    "style_guide": set(),
}
# pasted verbatim into another template's field (style_guide into new_question's {examples}): no sections
TEXT_TEMPLATES = frozenset({"style_guide"})
_SECTION = re.compile(r"^(system|user|assistant):\s*$")


@dataclass(frozen=True)
class Template:
    name: str
    text: str
    origin: str  # "builtin" or the override's path

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:12]

    def render(self, **fields: object) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = []
        role, buf = None, []
        for line in self.text.splitlines():
            m = _SECTION.match(line)
            if m:
                if role:
                    messages.append({"role": role, "content": "\n".join(buf).strip().format(**fields)})
                role, buf = m.group(1), []
            else:
                buf.append(line)
        if role:
            messages.append({"role": role, "content": "\n".join(buf).strip().format(**fields)})
        return messages


def demonstrations(t: Template) -> list[str]:
    """The questions a template's own `assistant:` turns demonstrate (few-shot turns written into the template), so
    a reply that repeats one can be told apart from a question about the text."""
    out = []
    for m in t.render(**dict.fromkeys(FIELDS[t.name], "")):
        if m["role"] == "assistant":
            found = re.search(r'"question"\s*:\s*"([^"]+)"', m["content"])
            out.append(found.group(1) if found else m["content"].strip())
    return out


def _check(t: Template) -> None:
    if t.name in TEXT_TEMPLATES:
        if not t.text.strip():
            raise ConfigError(f"template '{t.name}' ({t.origin}) is empty")
    elif not _SECTION.match(t.text.splitlines()[0] if t.text.strip() else ""):
        raise ConfigError(f"template '{t.name}' ({t.origin}): must start with a 'system:' or 'user:' line")
    used = {f for _, f, _, _ in string.Formatter().parse(t.text) if f}
    unknown = used - FIELDS[t.name]
    if unknown:
        available = ", ".join(sorted(FIELDS[t.name])) or "none: it is pasted as plain text, write no {braces}"
        raise ConfigError(
            f"template '{t.name}' ({t.origin}) uses unknown field(s) {', '.join(sorted(unknown))} "
            f"(available: {available})"
        )


def load_templates(overrides: dict[str, Path]) -> dict[str, Template]:
    unknown = set(overrides) - set(FIELDS)
    if unknown:
        raise ConfigError(
            f"generate.templates: unknown template(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(FIELDS))})"
        )
    out = {}
    pkg = resources.files("tether.prompts") / "templates"
    for name in FIELDS:
        if name in overrides:
            t = Template(name, read_text_file(overrides[name], f"template '{name}'"), str(overrides[name]))
        else:
            t = Template(name, (pkg / f"{name}.txt").read_text(encoding="utf-8"), "builtin")
        _check(t)
        out[name] = t
    return out
