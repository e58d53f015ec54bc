"""Questions that need two passages (strategy `multi_hop`): chunk pairs linked by a specific name, the teacher
writes only the question (a real HTTP server on 127.0.0.1 plays it), the answer is the two sentences, and the
facts filter checks it against both chunks."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from pathlib import Path

import yaml

from tests.conftest import EXAMPLE
from tether.config import GenerateConfig, render_default_config
from tether.filters.base import SECOND_CHUNK
from tether.filters.registry import build_context, build_filters
from tether.filters.stage import apply_filters, model_work
from tether.generate.multi_hop import STRATEGY, find_links, why_not
from tether.generate.planner import make_plan
from tether.generate.stage import prepare, run_generate
from tether.records import write_records
from tether.seeds.stage import run_ingest
from tether.testing.fake_openai import FakeOpenAI
from tether.text import content_tokens, words
from tether.text.names import mentions
from tether.workspace.store import Workspace

DEMONSTRATED = "What must accompany form RT-7, and how long does its processing take?"


def within(sentence: str, text: str) -> bool:
    """A sentence of the text, whatever its markup (focus sentences are read without Markdown's asterisks)."""
    return " ".join(words(sentence)) in " ".join(words(text))


def example(root: Path, url: str, **generate) -> Workspace:
    cfg = yaml.safe_load(render_default_config("brindlemoor", EXAMPLE, root))
    cfg["teacher"].update(base_url=url, model="fake-model", backoff_s=0.01, retries=1)
    cfg["generate"].update(generate)
    ws = Workspace.init(root, yaml.safe_dump(cfg))
    run_ingest(ws, [])
    return ws


def hop_teacher():
    """In turn: a question that names the link (and states neither fact, so the facts filter has the chunks alone
    to check against), the prompt's demonstration copied, and a question that names nothing the two share."""
    calls = itertools.count()

    def reply(body: dict) -> str | None:
        user = body["messages"][-1]["content"]
        if 'Statement 2: "' not in user:
            return None
        one = user.split('Statement 1: "', 1)[1].split('"\n', 1)[0].rstrip(".;")
        two = user.rsplit('Statement 2: "', 1)[1].rstrip('"').rstrip(".;")
        turn = next(calls) % 4
        if turn == 1:
            return json.dumps({"question": DEMONSTRATED})
        if turn == 2:
            return json.dumps({"question": "What is the fee for it, and when does it apply?"})
        shared = [w for w in re.findall(r"[A-Z][\w-]+", two) if w in one.split() and w not in ("A", "The")]
        a, b = content_tokens(one), content_tokens(two)
        w1, w2 = (min((w for w in x - y if w.isalpha()), default="") for x, y in ((a, b), (b, a)))
        return json.dumps({"question": f"What do the rules say about {' '.join(shared)}: {w1} and {w2}?"})

    return reply


def test_links_join_two_chunks_by_a_name_both_sentences_hold(tmp_path: Path) -> None:
    ws = example(tmp_path / "w", "http://127.0.0.1:9")
    chunks = ws.chunks(ws.head())
    links = find_links(chunks)
    assert len(links) >= 20
    assert len({(lk.first.chunk_id, lk.second.chunk_id) for lk in links}) == len(links)  # a pair once
    docs = {c.doc_id for c in chunks}
    for lk in links:
        assert lk.first.chunk_id != lk.second.chunk_id
        assert within(lk.focus, lk.first.text) and within(lk.focus2, lk.second.text)
        assert mentions(lk.focus, lk.name) and mentions(lk.focus2, lk.name)
        spread = {c.doc_id for c in chunks if mentions(c.text, lk.name)}
        assert len(spread) < 0.5 * len(docs), lk.name  # no domain-wide name ("Brindlemoor") links two chunks
    crossing = [lk.first.doc_id != lk.second.doc_id for lk in links]
    assert crossing[0] and crossing == sorted(crossing, reverse=True)  # pairs across documents come first
    assert find_links(chunks) == links  # deterministic


def test_questions_must_ask_about_both_sentences() -> None:
    """The 0.5B's questions from a first run on the example domain (issue 23): about one sentence, not two."""
    one = "Whole-home lets are not permitted at all in the Cinder Row Heritage Area."
    two = "Any tree in the Cinder Row Heritage Area with a trunk girth of 30 cm or more is protected."
    q = "Which trees are protected in the Cinder Row Heritage Area?"
    assert why_not(q, one, two, [])[0] == "one_passage"
    both = "Are whole-home lets permitted in the Cinder Row Heritage Area, and which trees are protected there?"
    assert why_not(both, one, two, []) is None
    assert why_not("What about the Quay?", one, two, [])[0] == "not_a_question"


def test_planner_gives_multi_hop_calls_only_where_chunks_link() -> None:
    g = GenerateConfig()
    high = make_plan(50 * 200, 50, g, False, have_chunks=True, links=1000)
    assert high.rows("multi_hop") > 0 and high.calls <= 50 * 200
    weak = make_plan(50 * 200, 50, g, True, have_chunks=True, links=1000)
    assert weak.rows("multi_hop") == 0 and "a weak teacher asks about one passage" in weak.rationale
    assert make_plan(100, 50, g, False, have_chunks=True, links=1000).rows("multi_hop") == 0  # BR 2: none
    none = make_plan(50 * 200, 50, g, False, have_chunks=True, links=0)
    assert none.rows("multi_hop") == 0 and "no two chunks name the same thing" in none.rationale
    assert none.calls >= 50 * 200 - 6  # its share went to the other strategies
    capped = make_plan(300, 0, GenerateConfig(mix={"multi_hop": 1}), False, have_chunks=True, links=7)
    assert capped.rows("multi_hop") == 7 and capped.calls < 300  # one row per link, the rest unspent


def test_multi_hop_rows_answer_with_both_sentences_and_are_checked_against_both(tmp_path: Path) -> None:
    with FakeOpenAI(responder=hop_teacher()) as srv:
        ws = example(tmp_path / "w", srv.base_url, mix={"multi_hop": 1})
        prep = prepare(ws, 27)  # 24 rows and their parse-retry allowance
        assert prep.plan.rows("multi_hop") == 24
        rep = run_generate(ws, prep)
    rows = [r for r in rep.new if r.strategy == STRATEGY]
    assert len(rows) == 24
    chunks = {c.chunk_id: c for c in ws.chunks(ws.head())}
    reasons = {r.verdicts["generate"].reason for r in rows if not r.kept}
    assert {"copied_example", "not_a_question"} <= reasons
    kept = [r for r in rows if r.kept]
    assert len(kept) >= 8  # half the replies name the link (a few links are codes the fake teacher misses)
    for r in kept:
        a, b = chunks[r.parents[0]], chunks[r.parents[1]]
        assert r.source.chunk_id == a.chunk_id and r.meta[SECOND_CHUNK] == b.chunk_id
        assert r.answer() == f"{r.meta['focus']} {r.meta['focus2']}"
        assert within(r.meta["focus"], a.text) and within(r.meta["focus2"], b.text)
    # grounding reads both passages too: the answer is words of the two, so no model is needed (nor calibrated)
    path = tmp_path / "kept.parquet"
    write_records(path, kept)
    assert model_work(path, chunks, ws.config.filters.grounding.lexical_pass) == {"judge"}
    # the facts filter reads both passages: right rows stay, a changed number in the second sentence is caught
    wrong = []
    for r in kept:
        m = re.search(r"\d+", r.meta["focus2"])
        new = str(int(m.group(0)) + 7) if m else ""
        both = f"{chunks[r.parents[0]].text} {chunks[r.parents[1]].text}"
        # a number neither chunk has (9 working days may be right elsewhere in the same two chunks)
        if m and not re.search(rf"(?<![\d.]){new}(?![\d])", both):
            changed = r.meta["focus2"][: m.start()] + new + r.meta["focus2"][m.end() :]
            w = r.model_copy(update={"response": f"{r.meta['focus']} {changed}"}, deep=True)
            wrong.append(w.model_copy(update={"id": w.compute_id()}, deep=True))
    # checked against the first chunk alone, a right row whose second sentence has a fact the first lacks fails
    alone = [
        r.model_copy(update={"meta": {k: v for k, v in r.meta.items() if k != SECOND_CHUNK}}, deep=True)
        for r in kept
        if not within(r.meta["focus2"], chunks[r.parents[0]].text)
    ]
    assert wrong and alone
    head = ws.head()
    seeds = ws.human_records(head)
    records = [*[r.model_copy(deep=True) for r in kept], *wrong, *alone]
    asyncio.run(apply_filters(records, build_filters(build_context(ws, head, seeds, None), ["facts"])))
    right, planted, single = records[: len(kept)], records[len(kept) : len(kept) + len(wrong)], records[-len(alone) :]
    assert all(r.kept for r in right), [(r.answer(), r.verdicts) for r in right if not r.kept]
    assert not any(r.kept for r in planted), [(r.answer(), r.verdicts) for r in planted if r.kept]
    assert any(not r.kept for r in single)  # the second passage is what made them right
