"""Planted rows: known-true and known-false synthetic rows built from the human seeds, to measure filters with.

A filter is judged by the true rows it keeps and the false rows it drops, so both have to exist with known labels.
True rows are the seeds' own answers (optionally lightly reworded, facts untouched); false rows are the same
answers corrupted the ways weak teachers fail:

* `numbers_shifted`   every number, time, date and code changed (or, lacking those, a name swapped)
* `swapped_other_doc` the answer of a seed about another document
* `swapped_same_doc`  the answer of a different question about the same document
* `truncated`         the answer cut off mid-sentence

Planted rows keep the seed's question and source chunk but no parent link, so no filter can find the seed's own
answer among its evidence. Held-out rows are never used. Everything is deterministic: the same seeds give the
same planted rows, hence the same teacher requests and cache hits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tether.records import Record, Teacher
from tether.text.facts import MONTHS, extract_facts

FALSE_KINDS = ("numbers_shifted", "swapped_other_doc", "swapped_same_doc", "truncated")
# Planting needs a human answer to know a row is true, and a second seed to swap answers with. With fewer, there
# is nothing honest to calibrate with (a chunk sentence under no question is not a row the judge ever sees): the
# model filters stay uncalibrated, veto-only.
MIN_SEEDS = 2


def no_seeds_note(names: list[str]) -> str:
    """What an uncalibratable judge does, in words (funnel, forecast and `tether judge calibrate` say the same)."""
    verb = "stays" if len(names) == 1 else "stay"
    return f"no seeds to calibrate with: {' and '.join(names)} {verb} veto-only (uncalibrated)"


PLANTED_TEACHER = Teacher(model="tether-planted", version="1")

# fact-preserving rewordings for "lightly reworded" true rows (no number, name or negation is touched)
_REWORD = [
    (r"\bcosts\b", "is priced at"),
    (r"\bat least\b", "no fewer than"),
    (r"\bThere is no\b", "There's no"),
    (r"\bis free\b", "costs nothing"),
    (r"\bbefore\b", "prior to"),
    (r"\bneeds\b", "requires"),
    (r"\bneed\b", "require"),
    (r"\bare held\b", "take place"),
    (r"\bis held\b", "takes place"),
    (r"\ballowed\b", "permitted"),
    (r"\bbuy\b", "purchase"),
    (r"\bstarts\b", "begins"),
    (r"\bgets\b", "receives"),
    (r"\breturns\b", "gives back"),
    (r"\bevery\b", "each"),
    (r"\bshows\b", "displays"),
]


@dataclass
class Planted:
    record: Record
    truth: bool
    kind: str  # "seed", "reworded" or one of FALSE_KINDS
    seed_id: str


def reword(answer: str, k: int = 0) -> str:
    """A light, fact-preserving rewording: up to two phrase substitutions, else a short lead-in."""
    out, done = answer, 0
    order = _REWORD[k % len(_REWORD) :] + _REWORD[: k % len(_REWORD)]
    for pat, rep in order:
        if done == 2:
            break
        new = re.sub(pat, rep, out, count=1)
        if new != out:
            out, done = new, done + 1
    if done:
        return out
    first = answer.split(" ", 1)[0]
    lead = first.lower() if first.lower() in {"a", "an", "the", "it", "there", "this", "you", "each"} else first
    return f"According to the text, {lead}{answer[len(first) :]}"


def _shift_number(m: re.Match, k: int) -> str:
    s = m.group(0)
    digits = s.replace(",", "")
    if "." in digits:
        return f"{float(digits) * 2:g}"
    n = int(digits)
    new = n + max(1, round(n * 0.3)) + k % 3
    return f"{new:,}" if "," in s else str(new)


def shift_facts(answer: str, names: list[str], k: int = 0) -> str | None:
    """The answer with every number, clock time and code changed, or one name swapped; None if it has none."""
    facts = extract_facts(answer)
    if any(f.kind in ("number", "time", "date", "code") for f in facts):
        out = re.sub(r"(?<![A-Za-z])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)", lambda m: _shift_number(m, k), answer)
        out = re.sub(
            r"\b(" + "|".join(w for w in _WORDNUM) + r")\b",
            lambda m: _WORDNUM[m.group(1).lower()],
            out,
            flags=re.IGNORECASE,
        )
        return out if out != answer else None
    mine = [f.text for f in facts if f.kind == "name" and f.text.lower() not in MONTHS]
    others = [n for n in names if n not in mine and n.lower() not in answer.lower()]
    if mine and others:
        return answer.replace(mine[0], others[k % len(others)], 1)
    return None


_WORDNUM = {
    "two": "three", "three": "four", "four": "six", "five": "seven", "six": "eight", "seven": "nine",
    "eight": "ten", "nine": "eleven", "ten": "twelve", "twelve": "fifteen", "twenty": "thirty",
    "second": "third", "third": "fifth", "fourth": "sixth",
}  # fmt: skip


def truncate(answer: str) -> str | None:
    """The answer cut at about half its words, away from a sentence end, without final punctuation."""
    words = answer.split()
    if len(words) < 6:
        return None
    cut = max(3, len(words) // 2)
    while cut < len(words) - 1 and re.search(r"[.!?;:]$", words[cut - 1]):
        cut += 1
    return " ".join(words[:cut]).rstrip(",;:.!?")


def _doc(seed: Record) -> str | None:
    return seed.source.doc_id if seed.source else None


def plant(seeds: list[Record], reworded: bool = False, kinds: tuple[str, ...] = FALSE_KINDS) -> list[Planted]:
    """One true row per seed, and up to one false row of each kind per seed (kinds a seed cannot yield, such as a
    same-document swap for the only seed of its document, are left out)."""
    seeds = [s for s in seeds if s.answer().strip() and s.question().strip()]
    names = sorted({f.text for s in seeds for f in extract_facts(s.answer()) if f.kind == "name"})
    out: list[Planted] = []

    def row(seed: Record, answer: str, kind: str) -> Record:
        return Record(
            kind="qa",
            prompt=seed.question(),
            response=answer,
            origin="synthetic",
            teacher=PLANTED_TEACHER,
            strategy=f"planted:{kind}",
            source=seed.source,
            concepts=list(seed.concepts),
            meta={"planted": kind, "seed_id": seed.id},
        )

    n = len(seeds)
    for i, s in enumerate(seeds):
        a = s.answer()
        true_kind = "reworded" if reworded else "seed"
        out.append(Planted(row(s, reword(a, i) if reworded else a, true_kind), True, true_kind, s.id))
        candidates: dict[str, str | None] = {}
        if "numbers_shifted" in kinds:
            candidates["numbers_shifted"] = shift_facts(a, names, i)
        if "swapped_other_doc" in kinds:
            other = next((seeds[(i + j) % n] for j in range(1, n) if _doc(seeds[(i + j) % n]) != _doc(s)), None)
            candidates["swapped_other_doc"] = other.answer() if other else None
        if "swapped_same_doc" in kinds:
            same = next(
                (
                    seeds[(i + j) % n]
                    for j in range(1, n)
                    if _doc(s) is not None and _doc(seeds[(i + j) % n]) == _doc(s) and seeds[(i + j) % n].answer() != a
                ),
                None,
            )
            candidates["swapped_same_doc"] = same.answer() if same else None
        if "truncated" in kinds:
            candidates["truncated"] = truncate(a)
        for kind, ans in candidates.items():
            if ans and ans.strip() != a.strip():
                out.append(Planted(row(s, ans, kind), False, kind, s.id))
    return out


def sample_balanced(planted: list[Planted], seeds_n: int) -> list[Planted]:
    """The planted rows of an evenly spread sample of `seeds_n` seeds (every k-th seed), for a cheaper run."""
    ids = list(dict.fromkeys(p.seed_id for p in planted))
    if seeds_n >= len(ids):
        return planted
    step = len(ids) / seeds_n
    keep = {ids[int(i * step)] for i in range(seeds_n)}
    return [p for p in planted if p.seed_id in keep]
