import json
from pathlib import Path

import pytest

from tether.config import render_default_config
from tether.errors import WorkspaceError
from tether.records import Record, Teacher, records_to_table
from tether.seeds.stage import run_ingest
from tether.workspace.lineage import lineage_for
from tether.workspace.store import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace.init(tmp_path / "w", render_default_config("t", None, tmp_path / "w"))
    yield w
    w.close()


def test_init_refuses_to_overwrite(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="already exists"):
        Workspace.init(ws.root, "project: x\n")
    with pytest.raises(WorkspaceError, match="not a tether workspace"):
        Workspace.open(ws.root.parent)


def test_ingest_creates_version_with_counts_and_is_idempotent(ws: Workspace, corpus: Path) -> None:
    rep = run_ingest(ws, [corpus / "docs", corpus / "seeds"])
    assert rep.created
    man = rep.manifest
    assert man.counts["tables"] == {"chunks": len(rep.result.chunks), "documents": 7, "records": 4}
    assert man.counts["origin"] == {"human": 4}
    assert man.counts["strategy"] == {"seed": 4}
    assert man.notes["skipped"] == len(rep.result.skipped) > 0
    assert all("sha256" in i for i in man.inputs)
    # the run log holds every skip with its reason
    log = [json.loads(x) for x in (ws.store / "runs" / f"{rep.run_id}.jsonl").read_text().splitlines()]
    assert sum(1 for e in log if e["event"] == "skip") == len(rep.result.skipped)
    # same inputs again: no new version, and everything reported as unchanged
    again = run_ingest(ws, [corpus / "docs", corpus / "seeds"])
    assert not again.created and again.result.unchanged == 7 + 4
    assert [m.id for m in ws.versions()] == [man.id]


def test_ingest_accumulates_onto_head(ws: Workspace, corpus: Path) -> None:
    first = run_ingest(ws, [corpus / "docs"]).manifest
    second = run_ingest(ws, [corpus / "seeds"]).manifest
    assert second.parents == [first.id]
    assert second.counts["tables"]["documents"] == first.counts["tables"]["documents"]
    assert second.counts["tables"]["records"] == 4
    # unchanged tables are the same object on disk
    assert second.tables["documents"].object == first.tables["documents"].object
    assert ws.head().id == second.id
    assert ws.resolve(second.id[:6]) == second.id
    with pytest.raises(WorkspaceError, match="no version"):
        ws.resolve("ffffffffff")


def test_lineage_walks_from_synthetic_row_to_seed_chunk_and_document(ws: Workspace, corpus: Path) -> None:
    base = run_ingest(ws, [corpus / "docs", corpus / "seeds"]).manifest
    seeds = ws.records(base)
    seed = next(s for s in seeds if s.prompt and "permit" in s.prompt)
    child = Record(
        kind="qa",
        prompt="What does a permit cost each year?",
        response="23 marks.",
        origin="synthetic",
        teacher=Teacher(model="m"),
        strategy="rephrase",
        parents=[seed.id],
        source=seed.source,
        generation=1,
    )
    grandchild = Record(
        kind="qa",
        prompt="Yearly permit price?",
        response="23 marks.",
        origin="synthetic",
        teacher=Teacher(model="m"),
        strategy="rephrase",
        parents=[child.id],
        generation=1,
    )
    tables = {"records": records_to_table([*seeds, child, grandchild])}
    man, created = ws.commit("generate", tables, [base.id], "run-x")
    assert created
    ws.lineage.add(*lineage_for(man.id, [child, grandchild]))
    steps = ws.lineage.ancestry(grandchild.id)
    kinds = [(s.depth, s.node.type) for s in steps]
    assert (0, "record") in kinds and (2, "record") in kinds  # grandchild -> child -> seed
    seed_step = next(s for s in steps if s.node.id == seed.id)
    assert seed_step.node.label.startswith("human seed (")
    doc_steps = [s for s in steps if s.node.type == "document"]
    assert doc_steps and doc_steps[0].node.label.startswith("document ") and "rules.md" in doc_steps[0].node.label
    assert ws.lineage.version_parents(man.id) == [base.id]
    assert [m.stage for m in ws.versions()] == ["ingest", "generate"]
