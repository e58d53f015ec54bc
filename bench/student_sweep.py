"""What does the student need to learn a fact from its training rows? Training settings against held-out accuracy.

`tether compare` answers "did the data help?" for one training recipe. This bench asks the question under it:
given one training set (an arm of the comparison: `human` or `kept`), which recipe makes the student state
held-out answers? Each variant overrides `train.*` keys (learning rate, LoRA rank and modules, steps, full
fine-tune), trains from the same student and seed, and is evaluated on the same held-out questions. Beside
accuracy it prints the final training loss (a student that has not memorised its rows, loss near 3, cannot
recall them) and accuracy on the questions whose answer some training row states (the learnable ones).

Oracle arms (`--arm oracle` / `oracle-reworded` with `--paraphrases K`) are a diagnosis, never training data:
the human rows plus the held-out questions' own answers, asked verbatim (can the recipe memorise a fact?) or in
K teacher rewordings of each held-out question (can it answer a question worded unlike the row it learned the
fact from, and do more wordings per fact help?). They bound what any synthetic data could do for this student.

`--arm kept-reworded` / `unfiltered-reworded` with `--paraphrases K` are training sets a pipeline could make: arm
(b) or (c) plus up to K rewordings of each of its new questions, written from tether's own `rephrase` prompt and
answered with the parent row's answer (leak-checked like any row). Measured on the example domain they taught no
more held-out facts than the rows they reword (README, Evaluation).

Run: `python bench/student_sweep.py -w WORKSPACE [--arm kept] [--variant 'learning_rate=1e-3,steps=120' ...]`
(needs the train extra; on 2 cores about 2-4 s per step plus 2 min per evaluation).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from pathlib import Path

from tether.config.training import ATTENTION_MLP
from tether.evaluate.compare import arm_rows, stated
from tether.evaluate.runner import Target
from tether.evaluate.stage import run_eval
from tether.llm.teacher import open_teacher
from tether.mix.store import resolve_mix
from tether.records import Record
from tether.seeds.holdout import fixed_holdout
from tether.train.sft import students_dir, train_student
from tether.train.student import resolve_student
from tether.workspace.store import Workspace

DEFAULT_VARIANTS = [
    "learning_rate=2e-4,steps=60",  # tether compare's recipe before this bench
    "learning_rate=1e-3,steps=60",
    "learning_rate=1e-3,steps=60,modules=all,r=16",
    "learning_rate=1e-3,steps=150,modules=all,r=16",
]


def parse_variant(spec: str, base):
    """'learning_rate=1e-3,steps=120,modules=all,r=16,full=1' -> the TrainConfig."""
    upd, lora, steps = {}, {}, 60
    for part in filter(None, spec.split(",")):
        k, v = part.split("=", 1)
        if k == "steps":
            steps = int(v)
        elif k == "learning_rate":
            upd["learning_rate"] = float(v)
        elif k == "modules":
            lora["target_modules"] = list(ATTENTION_MLP) if v == "all" else v.split("+")
        elif k == "r":
            lora["r"], lora["alpha"] = int(v), 2 * int(v)
        elif k == "keep":
            upd["keep"] = v
        elif k == "full":
            upd["full_finetune"] = v not in ("0", "false")
        else:
            raise SystemExit(f"unknown variant key {k!r} in {spec!r}")
    if lora:
        upd["lora"] = base.lora.model_copy(update=lora)
    upd.update(max_steps=steps, early_stopping_patience=None)
    return base.model_copy(update=upd)


REWORD = (
    "Rewrite this question in different words. Keep its meaning and every name, number and date in it. "
    "Reply with the rewritten question only.\n\nQuestion: {q}"
)


async def rewordings(ws: Workspace, questions: list[Record], k: int) -> list[list[str]]:
    """K teacher rewordings per question (cached in the workspace like any teacher call); a rewording that comes
    back empty or identical to the question is left out."""
    async with open_teacher(ws.config.teacher, ws.store / "cache.sqlite") as client:

        async def one(q: Record, i: int) -> str:
            msgs = [{"role": "user", "content": REWORD.format(q=q.question())}]
            comp = await client.chat(msgs, sample=i, temperature=0.9, max_tokens=64, tag="bench:reword")
            text = (comp.text or "").strip().strip('"').splitlines()[0:1]
            return text[0].strip() if text else ""

        got = await client.map([lambda q=q, i=i: one(q, i) for q in questions for i in range(k)])
    out = []
    for j, q in enumerate(questions):
        mine = [t for t in got[j * k : (j + 1) * k] if t and t.lower() != q.question().lower()]
        out.append(list(dict.fromkeys(mine)))
    return out


def oracle_rows(ws: Workspace, human: list[Record], questions: list[Record], arm: str, k: int) -> list[Record]:
    """Human rows + every held-out answer, asked verbatim or in teacher rewordings (see the module's docstring)."""

    def row(q: str, a: str) -> Record:
        return Record(kind="qa", prompt=q, response=a, origin="synthetic", strategy=f"oracle:{arm}")

    if arm == "oracle":
        return human + [row(q.question(), q.answer()) for q in questions]
    words = asyncio.run(rewordings(ws, questions, k))
    extra = [row(w, q.answer()) for q, ws_ in zip(questions, words, strict=True) for w in ws_]
    print(f"{len(extra)} rewordings of {len(questions)} held-out questions, e.g.:")
    for q, ws_ in list(zip(questions, words, strict=True))[:3]:
        print(f"  {q.question()!r} -> {ws_}")
    return human + extra


async def reword_kept(ws: Workspace, parents: list[Record], k: int) -> list[tuple[Record, str]]:
    """K rewordings of each parent row's question from tether's `rephrase` template (the product's paraphrase prompt),
    checked as `run_rephrase` checks a paraphrase (`paraphrase_problem`). (parent, rewording) pairs; the rewording
    is answered with the parent's answer."""
    from tether.generate.stage import gen_context
    from tether.generate.strategies import Paraphrase, paraphrase_problem

    async with gen_context(ws, 2, need_seeds=False) as (ctx, _):
        t = ctx.templates["rephrase"]

        async def one(r: Record, i: int) -> str:
            msgs = t.render(domain=ctx.domain, question=r.question(), variant=i + 1)
            comp = await ctx.client.chat(msgs, schema=Paraphrase, sample=i, tag=f"reword:{t.hash}")
            return (comp.parsed or {}).get("question", "").strip()

        got = await ctx.client.map([lambda r=r, i=i: one(r, i) for i in range(k) for r in parents])
    pairs, why = [], Counter()
    for j, new_q in enumerate(got):
        r = parents[j % len(parents)]
        if (problem := paraphrase_problem(r.question(), new_q)) is not None:
            why[problem[0]] += 1
        elif new_q not in {q for p, q in pairs if p.id == r.id}:
            pairs.append((r, new_q))
        else:
            why["repeated"] += 1
    print(f"{len(got)} rewordings asked of {len(parents)} rows: {len(pairs)} usable, {dict(why)}")
    return pairs


def reworded_rows(ws: Workspace, arm: list[Record], k: int) -> list[Record]:
    """An arm plus K rewordings of each of its synthetic rows that wrote a question (new questions), each answered
    with its parent's answer and checked against the holdout as the mix checks any row."""
    from tether.embed.embedder import workspace_embedder
    from tether.mix.leakage import without_leaks

    parents = [r for r in arm if r.origin == "synthetic" and r.strategy == "new_question"]
    pairs = asyncio.run(reword_kept(ws, parents, k))
    extra = [
        Record(kind="qa", prompt=q, response=p.answer(), origin="synthetic", strategy="rephrase", parents=[p.id],
               source=p.source, concepts=p.concepts)
        for p, q in pairs
    ]  # fmt: skip
    held = fixed_holdout(ws, save=False)
    by_id = {r.id: r for r in [*ws.records(ws.head()), *extra]}
    clean, leaks = without_leaks(extra, held.rows, workspace_embedder(ws), ws.config.mix.leakage, by_id)
    print(f"{len(leaks)} rewordings dropped as holdout leaks, {len(clean)} added, e.g.:")
    for p, q in pairs[:5]:
        print(f"  {p.question()!r} -> {q!r}")
    return arm + clean


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-w", "--workspace", type=Path, required=True)
    arms = ["human", "kept", "unfiltered", "oracle", "oracle-reworded", "kept-reworded", "unfiltered-reworded"]
    ap.add_argument("--arm", default="kept", choices=arms)
    ap.add_argument(
        "--paraphrases", type=int, default=1, help="rewordings per held-out question (oracle-reworded) or kept row"
    )
    ap.add_argument("--generation", type=int, default=1)
    ap.add_argument("--variant", action="append", help="comma-separated train overrides (repeatable)")
    a = ap.parse_args()
    ws = Workspace.open(a.workspace)
    mix = resolve_mix(ws, "latest", a.generation)
    held = fixed_holdout(ws)
    questions = held.part("evaluation")
    if a.arm.startswith("oracle"):
        rows = oracle_rows(ws, arm_rows(ws, mix)["human"], questions, a.arm, a.paraphrases)
    elif a.arm.endswith("-reworded"):
        rows = reworded_rows(ws, arm_rows(ws, mix)[a.arm.removesuffix("-reworded")], a.paraphrases)
    else:
        rows = arm_rows(ws, mix)[a.arm]
    learnable = {q.question() for q, known in zip(questions, stated(rows, questions), strict=True) if known}
    base_dir, student_id = resolve_student(ws.config.train.student)
    print(f"arm {a.arm}: {len(rows)} rows; {len(learnable)} of {len(questions)} held-out answers stated in them")
    out = []
    for spec in a.variant or DEFAULT_VARIANTS:
        cfg = parse_variant(spec, ws.config.train)
        t0 = time.monotonic()
        run = train_student(
            rows, held.part("validation"), cfg, students_dir(ws.store), mix_id=f"{mix.id}:{a.arm}",
            generation=mix.generation, label=f"sweep:{a.arm}:{spec}",
        )  # fmt: skip
        target = Target("adapter", student_id, adapter=run.meta["id"], label=f"sweep:{spec}")
        res = run_eval(ws, target, base_dir=base_dir, adapter_dir=run.dir)
        items = res["items"]
        acc = sum(it["scores"]["contains"] for it in items) / len(items)
        hit = [it["scores"]["contains"] for it in items if it["question"] in learnable]
        evals = run.meta["eval_history"]
        out.append((spec, run.meta, acc, sum(hit), len(hit), evals, time.monotonic() - t0))
        print(
            f"{spec}: accuracy {acc:.2f}, learnable {sum(hit):.0f}/{len(hit)}, "
            f"mean train loss {run.meta['train_loss']:.2f}, "
            f"validation {evals[0]['eval_loss'] if evals else float('nan'):.2f} -> {run.meta['best_eval_loss']:.2f} "
            f"(best), kept {run.meta.get('kept', 'best')}, {time.monotonic() - t0:.0f} s",
            flush=True,
        )
    print("\nvariant | steps | mean train loss | best validation loss | accuracy | learnable recalled | seconds")
    for spec, meta, acc, hit, n, _evals, secs in out:
        print(f"{spec} | {meta['steps']} | {meta['train_loss']:.2f} | {meta['best_eval_loss']:.2f} | {acc:.2f} | "
              f"{hit:.0f}/{n} | {secs:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
