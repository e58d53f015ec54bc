"""Rows as supervised examples: conversational prompt-completion pairs, so the loss falls on the answer only.

TRL's `SFTTrainer` computes the loss on the completion alone when a dataset has `prompt` and `completion` columns
(`completion_only_loss`). That is what "loss on assistant tokens only" needs, and it works with any chat template:
the alternative (`assistant_only_loss`) needs `{% generation %}` markers that most templates, SmolLM2's included,
do not have. The student is taught to answer, not to predict the question it was asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from tether.mix.export import conversation
from tether.records import Record


def prompt_completion(rec: Record, system: str | None = None) -> dict:
    """{"prompt": [turns before the final answer], "completion": [the final assistant turn], "tether_id": id}."""
    turns = conversation(rec, system)
    return {"prompt": turns[:-1], "completion": turns[-1:], "tether_id": rec.id}


def to_dataset(records: Sequence[Record], system: str | None = None):
    """A `datasets.Dataset` of prompt-completion rows (imported lazily: the training extra brings it)."""
    from datasets import Dataset

    rows = [prompt_completion(r, system) for r in records]
    return Dataset.from_list(rows) if rows else None


def eval_prompt(question: str, system: str | None = None) -> list[dict]:
    """The chat turns a student is asked at evaluation: the same shape as its training prompts."""
    turns = [{"role": "user", "content": question}]
    if system:
        turns.insert(0, {"role": "system", "content": system})
    return turns
