"""Order a chunk's focus sentences so that the questions written for them come in a requested mix of types.

Why: a new question is written for one focus sentence (`tether.text.focus`), and what a sentence states decides
what can be asked of it: "A day launch ticket costs 9 marks" leads to "How much ...?", "Apply on Form BR-44 by 31
January" to "How do I ...?", "Sky lanterns are banned everywhere" to "Can I ...?", "19 marks for a neutered dog
and 33 marks for an unneutered dog" to "How does ... differ ...?". The teacher is not told the type (a small one
does not follow such instructions reliably); the mix is steered by the sentences it is given, in the order the
budget reaches them (`generate.question_types`, issue 23).

Each sentence is read for the types it can lead to (any sentence can lead to a plain fact question), and the
sentences are interleaved so that every prefix of the order holds the types in proportion to the shares, as
nearly as the sentences allow: at each position, the type furthest below its share so far takes its next
sentence (largest remainder). A sentence that serves fewer types is spent first, keeping versatile ones for the
types that have few. Every sentence keeps its place in the result: the order is a permutation of the input, so a
chunk's questions still visit all of its sentences; once no requested type has a sentence left, the remaining
sentences follow in their given order. Pure and deterministic: the same sentences and shares give the same order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from tether.text.facts import extract_facts
from tether.text.question_types import numeric_sentence

# the types a focus sentence can steer; unanswerable and multi-hop rows come from their own strategies
STEERABLE = ("fact", "number", "yes_no", "comparison", "procedure")

_IMPERATIVE = frozenset(
    """apply ask avoid book bring call check choose click collect complete contact email enter fill follow give go
    keep leave make note open pay post present press put read register remember renew report request return run
    select send set show submit take tell use visit write""".split()
)
_PROCEDURAL = re.compile(r"\b(?:must|should|have to|has to|need to|needs to|to apply|in order to|steps?)\b", re.I)
# a condition or a permission: "only between 19:00 and 22:00", "banned everywhere", "free of charge", "unless"
_CONDITION = re.compile(
    r"\b(?:if|unless|only|except|allowed|permitted|prohibited|banned|forbidden|required|exempt|free of charge|"
    r"not|cannot|no|never|always)\b",
    re.I,
)
# two things set side by side; "no more than 2 permits" is a limit, not a comparison
_CONTRAST = re.compile(
    r"\b(?:(?!(?:other|rather)\b)(?:more|less|fewer|\w+er) than\s+(?!\d|one\b|two\b|three\b)|whereas|unlike|"
    r"compared|instead of|both|same as|differs?|different)\b",
    re.I,
)
# "from 08:00 to 18:30", "between 19:00 and 22:00", "10-16": one range, not two values to compare
_RANGE = re.compile(r"\b(?:from|between)\b[^.;]*?\b(?:to|and|until)\b|\d\s*(?:-|–|to)\s*\d", re.I)


def sentence_types(sentence: str) -> frozenset[str]:
    """The types of question a sentence can lead to: always `fact`, and number, procedure, yes/no or comparison
    when it states a number, an instruction, a condition, or two values of one kind."""
    types = {"fact"}
    if numeric_sentence(sentence):
        types.add("number")
    first = re.match(r"\s*([A-Za-z]+)", sentence)
    if (first and first.group(1).lower() in _IMPERATIVE) or _PROCEDURAL.search(sentence):
        types.add("procedure")
    if _CONDITION.search(sentence):
        types.add("yes_no")
    if _CONTRAST.search(sentence) or _two_values(sentence):
        types.add("comparison")
    return frozenset(types)


def _two_values(sentence: str) -> bool:
    """Two amounts of one dimension ("19 marks for a neutered dog and 33 marks for an unneutered one"), not the two
    ends of one range: something to compare."""
    dims = [f.dim for f in extract_facts(sentence) if f.kind == "number" and f.dim]
    return len(dims) != len(set(dims)) and not _RANGE.search(sentence)


def order_by_types(sentences: Sequence[str], shares: Mapping[str, float]) -> list[str]:
    """`sentences` reordered so that the types they lead to follow `shares` (type -> weight, any scale), every
    prefix as close to the shares as the sentences allow; a permutation of the input. Types outside STEERABLE
    and zero weights are ignored; no positive weight leaves the order as it is."""
    weights = {t: float(shares[t]) for t in STEERABLE if shares.get(t, 0) > 0}
    total = sum(weights.values())
    if not sentences or total <= 0:
        return list(sentences)
    target = {t: w / total for t, w in weights.items()}
    kinds = [sentence_types(s) for s in sentences]
    # per type, the sentences that can serve it: the least versatile first, then in the given order
    queues = {t: sorted((i for i, k in enumerate(kinds) if t in k), key=lambda i: (len(kinds[i]), i)) for t in target}
    taken = dict.fromkeys(target, 0)
    used: set[int] = set()
    order: list[int] = []
    for position in range(1, len(sentences) + 1):
        open_types = [t for t in target if any(i not in used for i in queues[t])]
        if not open_types:
            break
        # largest remainder: the type whose share of the first `position` slots is furthest ahead of what it has
        best = max(open_types, key=lambda t: (target[t] * position - taken[t], -STEERABLE.index(t)))
        pick = next(i for i in queues[best] if i not in used)
        used.add(pick)
        order.append(pick)
        taken[best] += 1
    order += [i for i in range(len(sentences)) if i not in used]
    return [sentences[i] for i in order]
