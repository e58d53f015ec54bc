"""Who answers the held-out questions: a local model (base or base + adapter) or any OpenAI-compatible endpoint.

Local models answer with greedy decoding in left-padded batches, through the model's own chat template, with the
same prompt shape as training (`train.data.eval_prompt`). They also give perplexity: exp of the mean negative
log-likelihood of the *ground-truth answers* (answer tokens only, given the question), reported beside accuracy,
never instead of it: a student can grow fluent (perplexity flat) while its facts go wrong (accuracy falls), which
is the knowledge-collapse signature the monitor looks for. Endpoints (the teacher itself, a vLLM server) answer
through tether's teacher client (cached, retried) at temperature 0; they give no perplexity.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tether.config import TeacherConfig
from tether.errors import TetherError
from tether.llm.teacher import open_teacher
from tether.train.data import eval_prompt
from tether.train.student import quiet_hf, require_training


@dataclass
class Target:
    """What is evaluated, as stored with its results."""

    kind: str  # base | adapter | endpoint
    model: str  # model id (student id, or endpoint model)
    adapter: str | None = None  # training run id
    label: str = ""
    generation: int | None = None

    def key(self) -> dict:
        return {"kind": self.kind, "model": self.model, "adapter": self.adapter}


def student_target(meta: dict, students_root: Path) -> tuple[Target, Path, Path]:
    """A trained student (its `tether_train.json` metadata) as what is asked: its Target (with its training
    generation, for the history, unless it is a comparison student), its base model folder and its adapter."""
    label = meta.get("label") or ""
    generation = None if label else meta["generation"]
    target = Target("adapter", meta["student"], adapter=meta["id"], label=label, generation=generation)
    return target, Path(meta["base_dir"]), students_root / meta["id"]


class LocalModel:
    """A transformers causal LM, optionally with a LoRA adapter merged in, on the best available device."""

    def __init__(self, base_dir: Path, adapter_dir: Path | None = None):
        require_training()
        quiet_hf()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        src = adapter_dir if adapter_dir is not None and (adapter_dir / "tokenizer_config.json").is_file() else base_dir
        self.tok = AutoTokenizer.from_pretrained(src)
        if self.tok.pad_token is None:
            self.tok.pad_token = self.tok.eos_token
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        if adapter_dir is not None and (adapter_dir / "adapter_config.json").is_file():
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
        elif adapter_dir is not None:  # a full fine-tune saved as a whole model
            model = AutoModelForCausalLM.from_pretrained(adapter_dir, dtype=torch.float32)
        self.model = model.to(self.device).eval()

    def _prompt(self, question: str, system: str | None) -> str:
        return self.tok.apply_chat_template(eval_prompt(question, system), add_generation_prompt=True, tokenize=False)

    def answer(
        self,
        questions: Sequence[str],
        system: str | None,
        max_new_tokens: int,
        batch_size: int,
        on_done: Callable[[int], None] | None = None,
    ) -> list[str]:
        tok, torch = self.tok, self.torch
        tok.padding_side = "left"
        out: list[str] = []
        for start in range(0, len(questions), batch_size):
            prompts = [self._prompt(q, system) for q in questions[start : start + batch_size]]
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            with torch.no_grad():
                gen = self.model.generate(
                    **enc,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=tok.pad_token_id,
                    eos_token_id=tok.eos_token_id,
                )
            new = gen[:, enc["input_ids"].shape[1] :]
            out.extend(t.strip() for t in tok.batch_decode(new, skip_special_tokens=True))
            if on_done:
                on_done(len(prompts))
        return out

    def perplexity(self, pairs: Sequence[tuple[str, str]], system: str | None, batch_size: int) -> float:
        """exp(mean NLL per answer token) of the gold answers given their questions."""
        tok, torch = self.tok, self.torch
        tok.padding_side = "right"
        total_nll, total_tokens = 0.0, 0
        for start in range(0, len(pairs), batch_size):
            ids_list, masks = [], []
            for q, a in pairs[start : start + batch_size]:
                turns = eval_prompt(q, system)
                prompt = tok.apply_chat_template(turns, add_generation_prompt=True, tokenize=False)
                full = tok.apply_chat_template([*turns, {"role": "assistant", "content": a}], tokenize=False)
                p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
                f_ids = tok(full, add_special_tokens=False)["input_ids"]
                n_prompt = len(p_ids) if f_ids[: len(p_ids)] == p_ids else _common_prefix(p_ids, f_ids)
                ids_list.append(f_ids)
                masks.append([0] * n_prompt + [1] * (len(f_ids) - n_prompt))
            width = max(len(x) for x in ids_list)
            pad = tok.pad_token_id
            ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids_list], device=self.device)
            attn = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids_list], device=self.device)
            score = torch.tensor([m + [0] * (width - len(m)) for m in masks], device=self.device)
            with torch.no_grad():
                logits = self.model(input_ids=ids, attention_mask=attn).logits[:, :-1].float()
            logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
            mask = score[:, 1:].float()
            total_nll += float(-(logp * mask).sum())
            total_tokens += int(mask.sum())
        return math.exp(total_nll / total_tokens) if total_tokens else float("nan")


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def endpoint_answers(
    cfg: TeacherConfig,
    cache: Path | None,
    questions: Sequence[str],
    system: str | None,
    max_new_tokens: int,
    on_done: Callable[[int], None] | None = None,
) -> tuple[list[str], str]:
    """Answers from an OpenAI-compatible endpoint (or the embedded teacher) at temperature 0; (answers, model id)."""

    async def go() -> tuple[list[str], str]:
        async with open_teacher(cfg, cache) as client:
            ident = client.identity
            model_id = ident.model + (f" ({ident.digest[:19]})" if ident.digest else "")

            async def one(q: str) -> str:
                comp = await client.chat(eval_prompt(q, system), temperature=0.0, max_tokens=max_new_tokens, tag="eval")
                if on_done:
                    on_done(1)
                return comp.text.strip() if comp.text else ""

            answers = await client.map([lambda q=q: one(q) for q in questions])
            return list(answers), model_id

    return asyncio.run(go())


def judge_same_fact(
    cfg: TeacherConfig, cache: Path | None, items: Sequence[tuple[str, str, str]]
) -> list[float | None]:
    """For (question, gold, prediction): 1.0 when the judge says the prediction states the gold fact, 0.0 when not,
    None when it gave no usable verdict (reported as missing, never guessed)."""
    from pydantic import BaseModel

    class SameFact(BaseModel):
        same_fact: bool

    async def go() -> list[float | None]:
        async with open_teacher(cfg, cache) as client:

            async def one(q: str, gold: str, pred: str) -> float | None:
                prompt = (
                    "Does the reply state the same fact as the reference answer? Extra detail is fine; a different "
                    f"number, time, name or a refusal is not.\nQuestion: {q}\nReference answer: {gold}\n"
                    f"Reply: {pred}\nAnswer as JSON: {json.dumps({'same_fact': True})} or "
                    f"{json.dumps({'same_fact': False})}."
                )
                comp = await client.chat([{"role": "user", "content": prompt}], schema=SameFact, tag="eval-judge")
                return None if comp.parsed is None else float(bool(comp.parsed["same_fact"]))

            return list(await client.map([lambda i=i: one(*i) for i in items]))

    return asyncio.run(go())


def answer_all(
    questions: Sequence[str],
    target: Target,
    *,
    system: str | None,
    max_new_tokens: int,
    batch_size: int,
    cache: Path | None,
    base_dir: Path | None = None,
    adapter_dir: Path | None = None,
    endpoint: TeacherConfig | None = None,
    on_done: Callable[[int], None] | None = None,
) -> tuple[list[str], LocalModel | None]:
    """Greedy answers of a local model (`base_dir` [+ `adapter_dir`]) or an `endpoint` to `questions`, and the
    local model (for perplexity; None for an endpoint, whose model id is written into `target`)."""
    if endpoint is not None:
        answers, target.model = endpoint_answers(endpoint, cache, questions, system, max_new_tokens, on_done)
        return answers, None
    if base_dir is None:
        raise TetherError("nothing to ask: give a model folder, an adapter, or an endpoint")
    model = LocalModel(base_dir, adapter_dir)
    return model.answer(list(questions), system, max_new_tokens, batch_size, on_done), model
