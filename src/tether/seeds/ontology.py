"""The domain ontology: the concepts a dataset must cover, and matchers that tag text with them.

Coverage is measured against concepts, not volume: "generate until the gaps are filled". A matcher maps texts to
concept names; the keyword matcher works with no model at all, and an embedding matcher (diversity stage) plugs
into the same `ConceptMatcher` protocol.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tether.config.yamlconf import read_text_file, validate_yaml


class Concept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    keywords: list[str] = Field(default_factory=list)
    parent: str | None = None


class Ontology(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str = ""
    concepts: list[Concept] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Ontology:
        names = [c.name for c in self.concepts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate concept names: {', '.join(dupes)}")
        known = set(names)
        for c in self.concepts:
            if c.parent is not None and c.parent not in known:
                raise ValueError(f"concept '{c.name}' has unknown parent '{c.parent}'")
        parent = {c.name: c.parent for c in self.concepts}
        for c in self.concepts:
            seen, cur = {c.name}, c.parent
            while cur is not None:
                if cur in seen:
                    raise ValueError(f"concept parents form a cycle through '{c.name}'")
                seen.add(cur)
                cur = parent[cur]
        return self

    def names(self) -> list[str]:
        return [c.name for c in self.concepts]


def load_ontology(path: Path) -> Ontology:
    return validate_yaml(read_text_file(path, "ontology file"), str(path), Ontology)


class ConceptMatcher(Protocol):
    """Tags each text with the names of the concepts it is about."""

    name: str

    def match(self, texts: list[str]) -> list[list[str]]: ...


class KeywordMatcher:
    """Whole-word, case-insensitive matching of each concept's keywords (and its own name, underscores as spaces).

    Cheap and transparent: a user can see exactly why a text counted for a concept. It misses paraphrases,
    which is what the embedding matcher adds.
    """

    name = "keywords"

    def __init__(self, ontology: Ontology):
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        for c in ontology.concepts:
            terms = {c.name.replace("_", " ").lower(), *(k.lower().strip() for k in c.keywords if k.strip())}
            alts = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in sorted(terms, key=len, reverse=True))
            self.patterns.append((c.name, re.compile(rf"(?<!\w)(?:{alts})(?!\w)", re.IGNORECASE)))

    def match(self, texts: list[str]) -> list[list[str]]:
        return [[name for name, pat in self.patterns if pat.search(t)] for t in texts]
