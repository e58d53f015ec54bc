"""The README's main flow through the real CLI entry point."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE

ENV = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}


def tether(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tether.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )


def test_init_ingest_versions_lineage(tmp_path: Path, corpus: Path) -> None:
    assert tether("init", "w", cwd=corpus).returncode == 0
    p = tether("ingest", "docs", "seeds", "-w", "w", cwd=corpus)
    assert p.returncode == 0, p.stderr
    assert "+7 documents" in p.stdout and "+4 seed examples" in p.stdout and "skipped" in p.stdout
    p = tether("versions", "-w", "w", cwd=corpus)
    assert "ingest" in p.stdout and "human 4" in p.stdout
    p = tether("lineage", "nonexistent", "-w", "w", cwd=corpus)
    assert p.returncode == 2


def test_audit_without_ontology_suggests_drafting_one(tmp_path: Path) -> None:
    tether("init", "w", cwd=tmp_path)
    p = tether("audit", "-w", "w", cwd=tmp_path)  # nothing ingested: a one-line error
    assert p.returncode == 2 and "no versions yet" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Fees\n\nA permit costs 23 marks per year.\n")
    assert tether("ingest", "docs", "-w", "w", cwd=tmp_path).returncode == 0
    p = tether("audit", "-w", "w", cwd=tmp_path)
    assert p.returncode == 0 and "no ontology configured" in p.stdout and "tether ontology suggest" in p.stdout


def test_unknown_row_in_lineage(tmp_path: Path) -> None:
    tether("init", "w", cwd=tmp_path)
    p = tether("lineage", "deadbeef", "-w", "w", cwd=tmp_path)
    assert p.returncode == 2 and "no row, chunk or document with id 'deadbeef'" in p.stderr


@pytest.mark.skipif(not (EXAMPLE / "ontology.yaml").exists(), reason="example domain not present")
def test_example_domain_flow(tmp_path: Path) -> None:
    assert tether("init", "w", "--domain", str(EXAMPLE), cwd=tmp_path).returncode == 0
    p = tether("ingest", "-w", "w", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    p = tether("audit", "-w", "w", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "Seed coverage by concept" in p.stdout and "Concepts no seed touches" in p.stdout
    rep = json.loads(tether("audit", "-w", "w", "--json", cwd=tmp_path).stdout)
    seed_id = json.loads((tmp_path / "w" / ".tether" / "reports").iterdir().__next__().read_text())["version"]
    assert seed_id == rep["version"]
    records = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pathlib import Path; from tether.workspace.store import Workspace; "
            "print(Workspace.open(Path('w')).records('head')[0].id)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    p = tether("lineage", records[:10], "-w", "w", cwd=tmp_path)
    assert p.returncode == 0 and "human seed" in p.stdout and "document" in p.stdout
    m = json.loads(tether("measure", "--no-map", "--json", "-w", "w", cwd=tmp_path).stdout)
    assert m["diversity"]["human"]["rows"] == 50 and m["diversity"]["synthetic"]["rows"] == 0
    assert 1 < m["diversity"]["human"]["dcscore"]["0.1"] <= 50 and m["concepts"]["beekeeping"]["status"] == "uncovered"
    assert sum(m["question_types"]["human"].values()) == 50 and m["question_types"]["human"]["number"] > 0
    p = tether("measure", "-w", "w", cwd=tmp_path)  # from the vector cache; draws the map
    assert p.returncode == 0 and "DCScore" in p.stdout and "map-" in p.stdout and "Question types" in p.stdout


def test_teacher_check_unreachable_endpoint(tmp_path: Path) -> None:
    import socket

    tether("init", "w", cwd=tmp_path)
    cfg = tmp_path / "w" / "tether.yaml"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        cfg.write_text(
            cfg.read_text()
            .replace("base_url: null", f"base_url: http://127.0.0.1:{port}/v1")
            .replace("model: qwen2.5-coder-1.5b-instruct", "model: some-model")
        )
        p = tether("teacher", "check", "-w", "w", cwd=tmp_path)
    assert p.returncode == 2, p.stdout + p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "cannot reach the teacher" in p.stderr


def test_remote_teacher_needs_a_model_name(tmp_path: Path) -> None:
    tether("init", "w", cwd=tmp_path)
    cfg = tmp_path / "w" / "tether.yaml"
    cfg.write_text(cfg.read_text().replace("base_url: null", "base_url: http://127.0.0.1:9/v1"))
    p = tether("versions", "-w", "w", cwd=tmp_path)
    assert p.returncode == 2 and "also set teacher.model" in p.stderr


@pytest.mark.skipif(not (EXAMPLE / "ontology.yaml").exists(), reason="example domain not present")
def test_issue_flow_init_ingest_docs_audit(tmp_path: Path) -> None:
    """`tether init w && tether ingest <domain>/docs -w w && tether audit -w w`: the ontology beside the docs is
    adopted (and written into tether.yaml), so the audit prints the coverage table."""
    import shutil

    shutil.copytree(EXAMPLE, tmp_path / "dom")
    assert tether("init", "w", cwd=tmp_path).returncode == 0
    p = tether("ingest", "dom/docs", "--workspace", "w", cwd=tmp_path)
    assert p.returncode == 0 and "using the ontology found beside the documents" in p.stdout
    assert "ontology: ../dom/ontology.yaml" in (tmp_path / "w" / "tether.yaml").read_text()
    p = tether("audit", "--workspace", "w", cwd=tmp_path)
    assert p.returncode == 0 and "Seed coverage by concept" in p.stdout and "snow_clearing" in p.stdout


@pytest.mark.skipif(not (EXAMPLE / "ontology.yaml").exists(), reason="example domain not present")
def test_documents_only_project_gets_a_drafted_ontology_and_an_audit(tmp_path: Path) -> None:
    """A folder of documents, no seeds, no ontology: `ontology suggest` drafts one, sets it, and audit works."""
    import shutil

    shutil.copytree(EXAMPLE / "docs", tmp_path / "docs")
    assert tether("init", "w", cwd=tmp_path).returncode == 0
    assert tether("ingest", "docs", "-w", "w", cwd=tmp_path).returncode == 0
    p = tether("ontology", "suggest", "-w", "w", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "smallest k" in p.stdout and (tmp_path / "w" / "ontology.yaml").is_file()
    assert "ontology: ontology.yaml" in (tmp_path / "w" / "tether.yaml").read_text()
    again = tether("ontology", "suggest", "-w", "w", cwd=tmp_path)  # never overwrites the user's edits
    assert again.returncode == 2 and "--force" in again.stderr
    p = tether("audit", "-w", "w", cwd=tmp_path)
    assert p.returncode == 0 and "keywords+embeddings" in p.stdout and "Seeds to write" in p.stdout
