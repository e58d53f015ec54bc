"""Questions the documents do not answer, and whether a reply abstains: the hallucination rate.

tether's accuracy asks only questions the documents answer, so a student that answers *every* question with
confidence, including one about a ward, a form or a ferry that does not exist, scores the same as one that says
"the documents do not say". These questions measure the difference.

**Building them.** Each is a held-out question (never a training row) with its key entity swapped for a near-miss
that occurs in no document: a name of the question ("Quayside ward") gets one word changed to a plausible form
("Quayford ward"), or a code keeps its letters and gets other digits ("form RT-7" → "form RT-79"). The most
specific entity is swapped (the one the fewest documents mention), so "in Brindlemoor" stays and the ward changes.
The invented form is checked against every chunk of the corpus, as a whole word in singular and plural: a question
whose every candidate exists somewhere is left out, never guessed. Everything is deterministic (a hash of the
question picks the ending), so the same held-out file and corpus give the same questions in every generation.
Numbers alone are not swapped: "What happens after 23:00?" usually still has an answer. Users add their own in
the held-out file with `"answerable": false`.

**Abstention.** A reply abstains when it says it does not know, that the documents do not say, or that the thing
does not exist ("There is no Quayford ward"); anything else asserts, and an assertion about something that does
not exist is a hallucination. Patterns, not a model: they are exact on the planted replies of the tests, and a
reply that hedges and then asserts a number still asserts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tether.filters.question import NOT_NAMES, mentions

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

_ABSTAIN = re.compile(
    r"\bi (?:do not|don't|did not|didn't) know\b|\bi(?:'m| am) not (?:sure|certain|aware)\b"
    r"|\bnot (?:aware|familiar) (?:of|with)\b"
    r"|\bno (?:such|information|record|records|mention|details|data)\b"
    r"|\b(?:does|do|did)(?: not|n't) (?:mention|say|cover|list|specify|include|exist|appear|state)\b"
    r"|\b(?:is|are|was|were)(?: not|n't) (?:mentioned|listed|covered|specified|stated|documented|found|known|given)\b"
    r"|\b(?:cannot|can't|could not|couldn't|unable to) (?:find|answer|say|determine|tell|confirm|locate)\b"
    r"|\bi (?:do not|don't) have (?:any )?(?:information|data|details)\b"
    r"|\bthere (?:is|are|was|were) no (?:such|information|record|mention)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Unanswerable:
    """A held-out question with an invented entity: `question`, what was swapped (`replaced` → `invented`), and the
    held-out row it came from."""

    question: str
    replaced: str
    invented: str
    heldout_id: str


def abstains(reply: str, invented: str | None = None) -> bool:
    """The reply declines to assert: it does not know, the documents do not say, or it denies the invented thing
    exists ("There is no Quayford ward")."""
    if _ABSTAIN.search(reply):
        return True
    if invented:
        # the invented thing itself denied: "There is no Quayby ward", "no such ward as Quayby ward", not "there
        # is no fee for the Quayby ward permit" (which asserts the ward)
        name = re.escape(invented)
        neg = (
            rf"\bthere (?:is|are|was|were) no (?:such )?(?:(?:\w+ )?(?:called|named) )?(?:the )?{name}"
            rf"|\bno such \w+ (?:as|called|named) (?:the )?{name}|{name} (?:does|did)(?: not|n't) exist"
        )
        return re.search(neg, reply, re.IGNORECASE) is not None
    return False


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
    toks = _WORD.findall(question)
    spans = _names(question)
    if not spans:
        return None

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
                return new_q, phrase, invented
    return None


def build_unanswerable(heldout: Sequence[tuple[str, str]], corpus: Sequence[str], limit: int) -> list[Unanswerable]:
    """Up to `limit` unanswerable questions from the (held-out id, question) pairs, in held-out order."""
    out: list[Unanswerable] = []
    for hid, q in heldout:
        if len(out) >= limit:
            break
        made = invent(q, corpus)
        if made is not None:
            out.append(Unanswerable(made[0], made[1], made[2], hid))
    return out
