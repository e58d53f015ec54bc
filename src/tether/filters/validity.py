"""Validity: outputs that are not usable answers at all, whatever the domain.

Empty or malformed text, truncation (cut mid-sentence or with unbalanced JSON/code fences), refusals and AI
boilerplate, wrong language, and answers that only repeat the question. Cheap, local, and first in the funnel.
"""

from __future__ import annotations

import re

from tether.filters.base import live
from tether.records import Record, Verdict
from tether.text import content_tokens, normalize

REFUSAL = re.compile(
    r"\b(as an ai(?: language model)?|as a language model|i(?:'m| am) (?:sorry|unable|not able)|i can(?:no|')t "
    r"(?:help|assist|provide|answer)|i do not have (?:access|information)|i don't have (?:access|information)|"
    r"cannot (?:provide|answer) (?:that|this)|my (?:training|knowledge) (?:data|cutoff))\b",
    re.IGNORECASE,
)
# frequent function words: enough to tell an English answer from a German, French, Spanish or Dutch one
_EN = set(
    "the a an of to in is are was be for on with as by at from it this that and or not can you your if "
    "must may will per each".split()
)
_OTHER = set(
    "der die das und ist ein eine nicht mit für pro den dem des le la les et est un une pas avec pour "
    "el los las y es una con por para het een niet voor".split()
)


def not_english(text: str) -> str | None:
    """Why the text does not read as English, or None."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    if not words:
        return None
    latin = sum(1 for w in words if re.fullmatch(r"[a-z]+", w)) / len(words)
    if latin < 0.5:
        return f"{1 - latin:.0%} of words in a non-Latin script"
    en, other = sum(w in _EN for w in words), sum(w in _OTHER for w in words)
    if other >= 2 and other > en:
        return f"{other} non-English function words vs {en} English"
    return None


def truncated(text: str) -> str | None:
    """Why the text looks cut off, or None."""
    t = text.rstrip()
    if t.count("```") % 2:
        return "unclosed code fence"
    if t.startswith(("{", "[")):
        opens = t.count("{") + t.count("[")
        closes = t.count("}") + t.count("]")
        if opens != closes:
            return "unbalanced JSON brackets"
    words = t.split()
    if len(words) >= 12 and not re.search(r"[.!?:;)\]\"'`*|0-9%]$", t):
        return "ends mid-sentence"
    return None


class ValidityFilter:
    name = "validity"

    def __init__(self, language: str | None = "en", min_answer_chars: int = 1):
        self.language = language
        self.min_answer_chars = min_answer_chars

    def check(self, rec: Record) -> Verdict:
        q, a = rec.question().strip(), rec.answer().strip()
        if len(q) < 3:
            return Verdict(keep=False, reason="malformed", detail="empty or tiny question")
        if len(a) < self.min_answer_chars:
            return Verdict(keep=False, reason="empty_answer")
        if m := REFUSAL.search(a):
            return Verdict(keep=False, reason="refusal", detail=f"'{m.group(0)}'")
        if why := truncated(a):
            return Verdict(keep=False, reason="truncated", detail=why)
        a_words = content_tokens(a)
        # all of a 3+ word answer's content is in the question: it restates rather than answers
        # (short answers like "3 hives" legitimately reuse the question's words)
        if normalize(a) == normalize(q) or (len(a_words) >= 3 and a_words <= content_tokens(q)):
            return Verdict(keep=False, reason="repeats_question")
        if self.language == "en" and len(a.split()) >= 6 and (why := not_english(a)):
            return Verdict(keep=False, reason="wrong_language", detail=why)
        return Verdict(keep=True)

    def judge(self, records: list[Record]) -> list[Verdict | None]:
        return [self.check(r) if live(r) else None for r in records]
