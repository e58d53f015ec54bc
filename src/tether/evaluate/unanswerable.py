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
The invention is `tether.text.invented`, shared with the false-premise training rows (`generate.unanswerable`),
which are built from training seeds only.

**Abstention.** A reply abstains when it says it does not know, that the documents do not say, or that the thing
does not exist ("There is no Quayford ward"); anything else asserts, and an assertion about something that does
not exist is a hallucination. Patterns, not a model: they are exact on the planted replies of the tests, and a
reply that hedges and then asserts a number still asserts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tether.text.invented import invent

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
