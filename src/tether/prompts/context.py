"""The reference text block every prompt that answers from a chunk carries (generation, judge, grounding, reader).

One definition, so the judge reads a chunk exactly as the teacher was shown it.
"""

from __future__ import annotations

from tether.documents import Chunk


def context_block(chunk: Chunk | None) -> str:
    return f'Reference text:\n"""\n{chunk.text}\n"""\n\n' if chunk else ""
