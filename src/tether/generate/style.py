"""Answers in the seeds' style, and extractive answers for weak teachers.

Small models copy well and invent badly: a long free answer from SmolLM2-135M mixes the chunk's facts with
inventions, a short one in the seeds' own form mostly restates the text. So generation asks for answers of the
seeds' length ("about N words"), caps their tokens near it, and, in extractive mode, asks for a sentence copied
from the text and then *checks* it by string match: an answer that is a span of the chunk is kept as the chunk's
exact words, one close to a chunk sentence is snapped to that sentence (`tether.text.sentences`), anything else
is dropped as `not_in_text`. An extractive answer can only state what its chunk states.

With no seeds there is no house style to copy: answers default to one full sentence (DEFAULT_WORDS; the built-in
style guide, templates/style_guide.txt, asks for the same), extractive for a weak teacher as always.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from tether.records import Record

# no seeds: one full sentence. Sentences of the example domain's documents run 10-20 words; 30 leaves room for a
# long one without inviting a paragraph.
DEFAULT_WORDS, DEFAULT_P90_WORDS = 15, 30


@dataclass(frozen=True)
class AnswerStyle:
    mode: str  # "free" or "extractive"
    median_words: int
    p90_words: int
    from_seeds: bool = True  # False: no seeds, the defaults above

    def hint(self) -> str:
        if self.mode == "extractive":
            return "Copy the answer word for word from the reference text: one sentence, nothing else."
        if not self.from_seeds:
            return (
                f"Answer in one full sentence of about {self.median_words} words (at most {self.p90_words}), "
                "in the reference text's own words."
            )
        return (
            f"Answer briefly, like the examples of this domain: about {self.median_words} words "
            f"(at most {self.p90_words}), in the reference text's own words."
        )

    def max_tokens(self, configured: int) -> int:
        """Room for an answer of the seeds' length with a wide margin; a longer one stops at the limit and is
        dropped as truncated instead of rambling into inventions."""
        return min(configured, max(64, 4 * self.p90_words))


def seed_style(seeds: list[Record], mode: str) -> AnswerStyle:
    """The seeds' answer lengths (median, 90th percentile), or one full sentence when there is no seed answer."""
    lengths = sorted(len(s.answer().split()) for s in seeds if s.answer().strip())
    if not lengths:
        return AnswerStyle(mode, DEFAULT_WORDS, DEFAULT_P90_WORDS, from_seeds=False)
    p90 = lengths[min(len(lengths) - 1, int(0.9 * len(lengths)))]
    return AnswerStyle(mode, max(3, round(statistics.median(lengths))), max(8, p90))


def answer_mode(setting: str, weak_teacher: bool) -> str:
    if setting == "auto":
        return "extractive" if weak_teacher else "free"
    return setting
