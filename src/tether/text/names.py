"""Names in a question, and whether a text mentions one: what the question filter checks a premise against and what
an invented near-miss must be absent from."""

from __future__ import annotations

import re

# capitalised words that open or fill a question without naming anything
NOT_NAMES = frozenset(
    "what which who whom whose when where why how is are was were do does did can could should would will may must "
    "if in on at for the a an to of by and or i i'm i've i'd i'll my yes no".split()
)


def mentions(text: str, term: str) -> bool:
    """`term` occurs in `text` as a whole word (case-insensitive), singular or plural ("Warden Services" asks
    about the Warden Service)."""
    t = term.lower()
    forms = {t, t[:-1]} if t.endswith("s") and len(t) > 3 else {t, t + "s"}
    return any(re.search(rf"(?<![\w]){re.escape(f)}(?![\w])", text, re.I) for f in forms)
