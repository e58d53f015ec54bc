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
    about the Warden Service), or `term` is an acronym the text spells out."""
    t = term.lower()
    forms = {t, t[:-1]} if t.endswith("s") and len(t) > 3 else {t, t + "s"}
    if any(re.search(rf"(?<![\w]){re.escape(f)}(?![\w])", text, re.I) for f in forms):
        return True
    return spells_out(text, term)


_ACRONYM = re.compile(r"[A-Z]{3,6}")


def spells_out(text: str, term: str) -> bool:
    """`term` is an acronym of 3-6 capitals that `text` writes out as capitalised words, one per letter
    ("GFDL": "GNU Free Documentation License"; "LGPL": "Lesser General Public License"). Legal and medical text
    defines a name once in full and people ask with the acronym. Case-sensitive: in lower-cased text no run of words
    is a name, and "a program is" would spell API."""
    if not _ACRONYM.fullmatch(term):
        return False
    spelled = r"[\s-]+".join(rf"{c}[A-Za-z]*" for c in term)
    return re.search(rf"(?<![\w]){spelled}(?![\w])", text) is not None
