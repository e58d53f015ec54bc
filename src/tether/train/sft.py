"""`tether train`: LoRA SFT of the student on a stored mix, validated on the real-only holdout.

* Data: the mix's training rows as prompt-completion pairs (loss on the answer only, `train.data`); validation:
  the holdout's validation seeds, never trained on. Without validation rows there is no early stopping, and the
  run says so.
* Model: `train.student` (the embedded SmolLM2-135M-Instruct by default, `train.student`), LoRA on the attention
  projections unless `train.full_finetune`. Device chosen by torch: a GPU when there is one, else the CPU with
  bf16 autocast where supported (`train.precision`).
* Early stopping on validation loss (evaluated every `train.eval_steps`), keeping the best checkpoint.
* Output: `.tether/students/<id>/` with the adapter (or full model), `tether_train.json` (mix id, generation,
  student, config, losses, steps, device, seconds) and the tokenizer: every adapter traces back to its data.
  The id is a hash of (mix, student, training config), so the same request reuses the finished run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tether.config.training import TrainConfig
from tether.errors import TetherError
from tether.records import Record, content_hash
from tether.train.data import to_dataset
from tether.train.student import quiet_hf, require_training, resolve_student

log = logging.getLogger(__name__)
META = "tether_train.json"
STUDENTS = "students"


@dataclass
class TrainResult:
    dir: Path
    meta: dict
    reused: bool


def device_and_precision(cfg: TrainConfig) -> tuple[str, bool]:
    """("cuda"/"cpu", use bf16)."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if cfg.precision == "fp32":
        return device, False
    # CPU autocast supports bf16 in every torch this project pins
    ok = torch.cuda.is_bf16_supported() if device == "cuda" else True
    if cfg.precision == "bf16" and not ok:
        raise TetherError("train.precision is bf16 but this GPU does not support it: use auto or fp32")
    return device, ok


def run_id(mix_id: str, student_id: str, cfg: TrainConfig, label: str = "") -> str:
    return content_hash({"mix": mix_id, "student": student_id, "train": cfg.model_dump(mode="json"), "label": label})[
        :16
    ]


def _progress_callback(on_progress: Callable[[dict], None] | None):
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        """Hands step, total, loss and validation loss to the caller's progress display."""

        def __init__(self):
            self.state: dict = {"step": 0, "total": 0, "loss": None, "eval_loss": None}

        def on_train_begin(self, args, state, control, **kw):
            self.state["total"] = state.max_steps
            self._emit()

        def on_step_end(self, args, state, control, **kw):
            self.state["step"] = state.global_step
            self._emit()

        def on_log(self, args, state, control, logs=None, **kw):
            logs = logs or {}
            if "loss" in logs:
                self.state["loss"] = float(logs["loss"])
            if "eval_loss" in logs:
                self.state["eval_loss"] = float(logs["eval_loss"])
            self._emit()

        def _emit(self):
            if on_progress is not None:
                on_progress(dict(self.state))

    return Progress()


def build_trainer(
    records: Sequence[Record],
    validation: Sequence[Record],
    cfg: TrainConfig,
    base: Path,
    work: Path,
    on_progress: Callable[[dict], None] | None = None,
):
    """The configured `SFTTrainer` (not yet trained), its tokenizer, device and precision."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, EarlyStoppingCallback
    from trl import SFTConfig, SFTTrainer

    quiet_hf()
    torch.manual_seed(cfg.seed)
    device, bf16 = device_and_precision(cfg)
    tok = AutoTokenizer.from_pretrained(base)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    peft_config = None
    if not cfg.full_finetune:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=cfg.lora.r,
            lora_alpha=cfg.lora.alpha,
            lora_dropout=cfg.lora.dropout,
            target_modules=list(cfg.lora.target_modules),
            task_type="CAUSAL_LM",
        )
    train_ds = to_dataset(records, cfg.system)
    eval_ds = to_dataset(validation, cfg.system)
    has_eval = eval_ds is not None
    args = SFTConfig(
        output_dir=str(work),
        max_length=cfg.max_length,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps or -1,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=cfg.eval_steps,
        save_strategy="steps" if has_eval and cfg.keep == "best" else "no",
        save_steps=cfg.eval_steps,
        save_total_limit=2,
        load_best_model_at_end=has_eval and cfg.keep == "best",
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=1,
        report_to="none",
        seed=cfg.seed,
        data_seed=cfg.seed,
        bf16=bf16,
        use_cpu=device == "cpu",
        completion_only_loss=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
        save_only_model=True,
    )
    callbacks = [_progress_callback(on_progress)]
    if has_eval and cfg.early_stopping_patience and cfg.keep == "best":  # stopping early keeps the best: no use
        # for `keep: last`, whose point is the step where training ends
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience))
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tok,
        peft_config=peft_config,
        callbacks=callbacks,
    )
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # our progress bar shows loss and validation loss instead of log dicts
    return trainer, tok, device, bf16


def train_student(
    records: Sequence[Record],
    validation: Sequence[Record],
    cfg: TrainConfig,
    out_root: Path,
    *,
    mix_id: str,
    generation: int,
    label: str = "",
    on_progress: Callable[[dict], None] | None = None,
    student_dir: Path | None = None,
) -> TrainResult:
    """Train on `records`, validate on `validation`; returns where the adapter is. `student_dir` overrides
    `cfg.student` (tests pass a tiny model built in code)."""
    require_training()
    if not records:
        raise TetherError("nothing to train on: the mix has no rows")
    if student_dir is not None:
        base, student_id = student_dir, str(student_dir)
    else:
        base, student_id = resolve_student(cfg.student)
    rid = run_id(mix_id, student_id, cfg, label)
    out = out_root / rid
    if (out / META).is_file():
        return TrainResult(out, json.loads((out / META).read_text("utf-8")), reused=True)

    work = out.with_name(out.name + f".work{os.getpid()}")
    trainer, tok, device, bf16 = build_trainer(records, validation, cfg, base, work, on_progress)
    has_eval = trainer.eval_dataset is not None
    started = time.monotonic()
    result = trainer.train()
    seconds = time.monotonic() - started
    history = [h for h in trainer.state.log_history if "eval_loss" in h]
    stage = out.with_name(out.name + f".tmp{os.getpid()}")
    trainer.save_model(str(stage))  # the adapter (LoRA) or the full model; the best one when validation ran
    tok.save_pretrained(stage)
    meta = {
        "id": rid,
        "label": label,
        "mix": mix_id,
        "generation": generation,
        "student": student_id,
        "base_dir": str(base),
        "adapter": not cfg.full_finetune,
        "train_config": cfg.model_dump(mode="json"),
        "rows": len(records),
        "validation_rows": len(validation),
        "steps": trainer.state.global_step,
        "max_steps": trainer.state.max_steps,
        "train_loss": float(result.training_loss),
        "eval_history": [{"step": h["step"], "eval_loss": h["eval_loss"]} for h in history],
        "best_eval_loss": min((h["eval_loss"] for h in history), default=None),
        "kept": cfg.keep if has_eval else "last",
        "early_stopped": bool(history) and trainer.state.global_step < trainer.state.max_steps,
        "device": device,
        "bf16": bf16,
        "seconds": round(seconds, 1),
        "created_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    if not has_eval:
        meta["note"] = "no validation rows: no validation loss and no early stopping"
    (stage / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    out_root.mkdir(parents=True, exist_ok=True)
    os.replace(stage, out)
    shutil.rmtree(work, ignore_errors=True)  # checkpoints: the best one is the saved model
    return TrainResult(out, meta, reused=False)


def students_dir(store: Path) -> Path:
    return store / STUDENTS


def list_students(store: Path) -> list[dict]:
    """Finished training runs in a workspace, oldest first."""
    root = students_dir(store)
    metas = [json.loads(p.read_text("utf-8")) for p in root.glob(f"*/{META}")] if root.is_dir() else []
    return sorted(metas, key=lambda m: m["created_at"])


def find_student(store: Path, ref: str = "latest") -> dict:
    """A trained student's metadata by id prefix, or 'latest': the newest `tether train` run (comparison students,
    which carry a label, excluded)."""
    runs = list_students(store)
    if ref == "latest":
        own = [m for m in runs if not m.get("label")]
        if not own:
            raise TetherError("no trained student yet (run `tether train`)")
        return own[-1]
    hits = [m for m in runs if m["id"].startswith(ref)]
    if len(hits) != 1:
        what = "no" if not hits else "more than one"
        raise TetherError(f"{what} trained student matches '{ref}' (see .tether/students/, or run `tether train`)")
    return hits[0]
