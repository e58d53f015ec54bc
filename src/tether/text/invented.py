"""Near-miss names that no document mentions: a question's most specific name with one word changed ("Quayside
ward" → "Quayford ward"), a code with other digits ("form RT-7" → "form RT-79"), an API name's non-existent sibling.

Checked against every text of the corpus as a whole word, singular and plural: a question whose every candidate
exists somewhere gets none, never a guess. Deterministic (a hash of the question picks the ending), so the same
question and corpus always give the same invention. Used for held-out questions the documents cannot answer
(`evaluate.unanswerable`) and for training rows that decline a false premise (`generate.unanswerable`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence

from tether.text.names import NOT_NAMES, mentions

_ENDINGS = ("ford", "wick", "mere", "holt", "stead", "by", "thorpe", "combe", "ley", "worth")
# capitalised words that are no entity to invent a near-miss of: "on a Tuesthorpe" is no question about anything
_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july august "
    "september october november december".split()
)
_IDENT = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$|^[a-z]+_[a-z_]+$")  # str.rsplit, math.isclose, max_split
_PREFIXES = frozenset("lake great new old north south east west upper lower st saint mount port fort".split())
_WORD = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|[A-Za-z][\w'’-]*|\d[\w.:-]*")
_CODE = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9][A-Za-z0-9-]*$")  # letters and digits: RT-7, B12, A4-2


def _names(question: str) -> list[tuple[int, int]]:
    """Word-index ranges of the question's names: runs of capitalised words after the first word, and codes."""
    toks = _WORD.findall(question)
    out, start = [], None
    for i, tok in enumerate([*toks, ""]):
        name = i > 0 and tok[:1].isupper() and re.sub(r"['’]s$", "", tok).lower() not in NOT_NAMES
        if name and start is None:
            start = i
        elif not name and start is not None:
            out.append((start, i))
            start = None
        if (_CODE.match(tok) or _IDENT.match(tok)) and not tok[:1].isupper():
            out.append((i, i + 1))
    return out


def _pick(key: str, n: int) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % n


def _near_misses(word: str, key: str) -> Iterable[str]:
    """Plausible other forms of one word: a code with other digits, a name with another ending."""
    word = re.sub(r"['’]s$", "", word)
    if _IDENT.match(word):  # an API name: a plausible sibling that does not exist
        for suffix in ("_all", "_strict", "_safe", "_ex"):
            yield word + suffix
        return
    if _CODE.match(word):
        for extra in ("9", "0", "7"):
            yield word + extra
        return
    if len(word) < 4:
        return
    stem = word[: max(3, (len(word) + 1) // 2)]
    first = _pick(key, len(_ENDINGS))
    for k in range(len(_ENDINGS)):
        ending = _ENDINGS[(first + k) % len(_ENDINGS)]
        if not word.lower().endswith(ending):
            yield stem + ending


def invent(question: str, corpus: Sequence[str]) -> tuple[str, str, str] | None:
    """(new question, the replaced words, the invented words) with the question's most specific name changed to a
    near-miss no text of `corpus` mentions; None when the question names nothing or every candidate exists."""
    return next(inventions(question, corpus), None)


def inventions(question: str, corpus: Sequence[str]) -> Iterator[tuple[str, str, str]]:
    """Every such near-miss of the question, best first (the most specific name, then its other endings or digits),
    computed as they are asked for: the corpus is scanned for the question's names once."""
    toks = _WORD.findall(question)
    spans = _names(question)
    if not spans:
        return

    spread = {(a, b): sum(mentions(text, " ".join(toks[a:b])) for text in corpus) for a, b in spans}
    for a, b in sorted(spans, key=lambda s: (spread[s], s[0])):
        phrase = " ".join(toks[a:b])
        if not spread[(a, b)]:
            continue  # the question names something the documents lack already: not a clean swap
        words = [t for t in toks[a:b] if re.fullmatch(r"[A-Za-z]+(?:['’]s)?", t) or _CODE.match(t) or _IDENT.match(t)]
        words = [w for w in words if re.sub(r"['’]?s$", "", w.lower()) not in _CALENDAR]
        if not words:
            continue
        # a name's first word names it ("Tidewell" of "Tidewell Card"), unless it is a place-name prefix
        word = next((w for w in words if w.lower() not in _PREFIXES), words[0])
        for other in _near_misses(word, question):
            invented = phrase.replace(word, other, 1)
            if any(mentions(text, other) or mentions(text, invented) for text in corpus):
                continue
            new_q, n = re.subn(rf"(?<![\w]){re.escape(word)}(?![\w])", other, question, count=1)
            if n:
                yield new_q, phrase, invented
