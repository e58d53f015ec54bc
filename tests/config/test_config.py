import subprocess
import sys
from pathlib import Path

import pytest

from tether.config import load_config, parse_config, render_default_config
from tether.errors import ConfigError


def test_defaults_and_every_key_in_rendered_config(tmp_path: Path) -> None:
    text = render_default_config("demo", None, tmp_path)
    cfg = parse_config(text, "tether.yaml")
    assert cfg.project == "demo"
    assert cfg.ingest.chunk_size == 1200
    # the rendered file names every key the model has, nested ones included, and its values are the defaults
    from pydantic import BaseModel

    def keys(model: BaseModel, prefix: str = "") -> list[str]:
        out = []
        for name in type(model).model_fields:
            value = getattr(model, name)
            out.append(prefix + name)
            if isinstance(value, BaseModel):
                out += keys(value, prefix + name + ".")
        return out

    lines = text.splitlines()
    for dotted in keys(cfg):
        leaf = dotted.rsplit(".", 1)[-1]
        indent = "  " * dotted.count(".")
        assert any(line.startswith(f"{indent}{leaf}:") for line in lines), f"{dotted} missing from default_config.yaml"
    defaults = type(cfg)(project="demo")
    assert cfg.filters == defaults.filters and cfg.generate == defaults.generate and cfg.teacher == defaults.teacher


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ingest:\n  chunk_sise: 3\n", r"t.yaml:2: unknown key 'ingest.chunk_sise' \(allowed: chunk_size"),
        ("project: x\ncolour: red\n", r"t.yaml:2: unknown key 'colour'"),
        ("ingest:\n  chunk_size: big\n", r"t.yaml:2: 'ingest.chunk_size': input should be a valid integer"),
        (
            "ingest:\n  chunk_size: 1000\n  chunk_overlap: 600\n",
            r"chunk_overlap \(600\) must be < chunk_size/2",
        ),
        ("ingest:\n  formats: [md, epub]\n", r"t.yaml:2: 'ingest.formats.1'"),
        ("ingest: [\n", r"t.yaml:2: invalid YAML"),
        ("- a\n- b\n", r"expected a mapping"),
        (
            "generate:\n  question_types: {number: 0.5, essay: 0.5}\n",
            r"t.yaml:2: 'generate.question_types.essay.\[key\]': input should be 'fact', 'number'",
        ),
        ("generate:\n  question_types: {number: -1}\n", r"t.yaml:2: 'generate.question_types': .*non-negative"),
    ],
)
def test_config_errors_are_one_line_and_name_the_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as info:
        parse_config(text, "t.yaml")
    assert "\n" not in str(info.value)


def test_missing_file_and_relative_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "tether.yaml").write_text("ontology: domain/onto.yaml\nsources:\n  docs: [docs]\n")
    cfg = load_config(tmp_path / "tether.yaml")
    assert cfg.ontology == (tmp_path / "domain" / "onto.yaml").resolve()
    assert cfg.sources.docs == [(tmp_path / "docs").resolve()]


def test_cli_bad_key_exits_2_with_one_line(tmp_path: Path) -> None:
    ws = tmp_path / "w"
    subprocess.run([sys.executable, "-m", "tether.cli", "init", str(ws)], check=True, capture_output=True)
    cfg = ws / "tether.yaml"
    cfg.write_text(cfg.read_text().replace("chunk_size:", "chunk_sise:"))
    proc = subprocess.run(
        [sys.executable, "-m", "tether.cli", "versions", "-w", str(ws)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "unknown key 'ingest.chunk_sise'" in lines[0] and "tether.yaml:" in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "text, expected",
    [
        ("project: x\n", False),  # embedded teacher: a self-check it always passes costs a call, drops nothing
        ("teacher: {base_url: 'http://127.0.0.1:9/v1', model: m}\n", True),
        ("generate: {self_check: true}\n", True),
        ("teacher: {base_url: 'http://127.0.0.1:9/v1', model: m}\ngenerate: {self_check: false}\n", False),
    ],
)
def test_the_self_check_defaults_by_teacher_and_an_explicit_value_wins(text: str, expected: bool) -> None:
    assert parse_config(text, "t.yaml").generate.self_check is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("project: x\n", 40),  # embedded: the 1.5B quickstart (judge asked) within 10 minutes on 2 cores
        ("teacher: {base_url: 'http://127.0.0.1:9/v1', model: m}\n", 100),
        ("run: {budget: 250}\n", 250),
    ],
)
def test_the_run_budget_defaults_by_teacher_and_an_explicit_value_wins(text: str, expected: int) -> None:
    assert parse_config(text, "t.yaml").run.budget == expected
