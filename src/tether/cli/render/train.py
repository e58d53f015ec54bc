"""Rendering for `train`, `eval`, `compare`: progress bars and tables, no logic."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from tether.cli.render.console import console


@contextlib.contextmanager
def train_progress() -> Iterator:
    """A progress bar fed by the trainer's callback: steps, ETA, training loss and validation loss."""
    cols = (
        TextColumn("train"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[losses]}"),
    )
    with Progress(*cols, console=console, transient=False) as prog:
        task = None

        def update(s: dict) -> None:
            nonlocal task
            losses = f"loss {s['loss']:.3f}" if s.get("loss") is not None else ""
            if s.get("eval_loss") is not None:
                losses += f" · val {s['eval_loss']:.3f}"
            if task is None or (s["step"] == 0 and s["total"]):
                task = prog.add_task("train", total=s["total"] or None, losses=losses)
            prog.update(task, completed=s["step"], losses=losses)

        yield update


@contextlib.contextmanager
def eval_progress(n: int) -> Iterator:
    cols = (TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*cols, console=console) as prog:
        task = prog.add_task("eval", total=n)
        yield lambda k: prog.advance(task, k)


def train_report(res) -> None:  # res: tether.train.sft.TrainResult
    m = res.meta
    state = "reused (same mix, student and config)" if res.reused else f"trained in {m['seconds']} s on {m['device']}"
    console.print(f"[bold]student {m['id'][:12]}[/] ({m['student']}, {'LoRA' if m['adapter'] else 'full'}): {state}")
    console.print(
        f"mix {m['mix'][:12]} (generation {m['generation']}), {m['rows']} rows; "
        f"{m['steps']} of {m['max_steps']} steps; "
        f"train loss {m['train_loss']:.3f}; best validation loss "
        + (f"{m['best_eval_loss']:.3f}" if m.get("best_eval_loss") is not None else "n/a")
        + (" (early stopped)" if m.get("early_stopped") else "")
    )
    if m.get("note"):
        console.print(f"[yellow]{m['note']}[/]")
    console.print(f"saved: {res.dir}")


def _acc(s: dict | None) -> str:
    if not s or s.get("mean") is None:
        return "-"
    return f"{s['mean']:.3f} [{s['low']:.3f}, {s['high']:.3f}]"


def eval_report(res: dict) -> None:
    t, s, metric = res["target"], res["summary"], res["metric"]
    who = t["label"] or t["model"]
    console.print(
        f"[bold]{who}[/] ({t['kind']}: {t['model']}{', adapter ' + t['adapter'][:12] if t['adapter'] else ''})"
    )
    tab = Table(title=f"Factual accuracy on {s['all']['n']} held-out questions (95 % bootstrap intervals)")
    tab.add_column("cases")
    tab.add_column("n", justify="right")
    for m in ("contains", "exact", "f1", "judge"):
        if m in s["all"]:
            tab.add_column(m + (" *" if m == metric else ""), justify="right")
    for name in ("all", "edge", "typical"):
        part = s[name]
        tab.add_row(
            name, str(part["n"]), *(_acc(part.get(m)) for m in ("contains", "exact", "f1", "judge") if m in s["all"])
        )
    console.print(tab)
    ppl = res.get("perplexity")
    console.print(f"perplexity of the gold answers: {ppl:.2f}" if ppl else "perplexity: n/a (endpoint)")
    hallucination_lines(res)
    worst = sorted(s["by_concept"].items(), key=lambda kv: kv[1].get(metric, {}).get("mean", 0))[:5]
    if worst:
        console.print("weakest concepts: " + ", ".join(f"{c} {v[metric]['mean']:.2f} (n={v['n']})" for c, v in worst))
    wrong = [it for it in res["items"] if not it["scores"][metric]][:3]
    for it in wrong:
        console.print(
            f"  [dim]{it['heldout_id']}: {it['question'][:60]!r} → {it['prediction'][:80]!r} "
            f"(gold {it['golds'][0]!r})[/]"
        )
    console.print(f"[dim]* headline metric (eval.metric); stored in .tether/evals/{res['key']}.json[/]")


def hallucination_lines(res: dict) -> None:
    """The hallucination rate of one evaluation, with two of the answers behind it."""
    h = res.get("hallucination") or {}
    if not h.get("n"):
        return
    console.print(
        f"hallucination rate: [bold]{h['rate']:.2f}[/] [{h['low']:.2f}, {h['high']:.2f}] — answered instead of "
        f"declined, of {h['n']} questions no document answers; declined {h.get('declined_answerable', 0):.0%} of "
        "the answerable ones"
    )
    if (j := h.get("judge")) is not None:
        use = (
            f"its verdicts count: {j['declines_found']} declines the patterns missed"
            if j["trusted"]
            else "not trusted, the patterns alone decide"
        )
        console.print(f"abstention judge: {j['accuracy']:.0%} right on {j['n']} planted replies; {use}")
    for it in [it for it in res.get("unanswerable_items", []) if not it["abstained"]][:2]:
        made = f" ({it['invented']!r} is invented)" if it.get("invented") else ""
        console.print(f"  [dim]{it['question'][:70]!r} → {it['prediction'][:70]!r}{made}[/]")


def history_report(points, flags) -> None:
    if not points:
        console.print("no evaluations with a generation yet (tether eval --base, then --student after each training)")
        return
    from tether.evaluate.monitor import history_table

    tab = Table(title="Accuracy and perplexity by training generation")
    rows = history_table(points)
    for col in rows[0]:
        tab.add_column(col)
    for r in rows:
        tab.add_row(*("-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()))
    console.print(tab)
    for f in flags:
        console.print(f"[bold red]{f.kind}[/] at generation {f.generation}: {f.message}")
    if not flags:
        console.print("[green]no collapse flags[/]")


def compare_report(rep: dict) -> None:
    from tether.evaluate.compare import ARM_TITLES

    metric = rep["metric"]
    tab = Table(title=f"Did the synthetic data help? ({rep['steps']} steps each, seed {rep['seed']}, metric {metric})")
    stated, n = rep.get("answers_stated", {}), rep.get("questions")
    for col in (
        "student",
        "rows",
        "synthetic",
        "answers stated",
        "accuracy [95 % CI]",
        "edge",
        "typical",
        "perplexity",
        "hallucination",
    ):
        tab.add_column(col)
    for arm, title in ARM_TITLES.items():
        if arm not in rep["accuracy"]:
            continue  # (b-) is trained only when the mix holds false-premise rows
        ppl = rep["perplexity"].get(arm)
        h = (rep.get("hallucination") or {}).get(arm) or {}
        tab.add_row(
            title,
            str(rep["rows"].get(arm, "-")),
            str(rep["synthetic_rows"].get(arm, "-")),
            f"{stated[arm]}/{n}" if arm in stated and n else "-",
            _acc(rep["accuracy"][arm]),
            _acc(rep["edge"][arm]),
            _acc(rep["typical"][arm]),
            f"{ppl:.2f}" if ppl else "-",
            f"{h['rate']:.2f} [{h['low']:.2f}, {h['high']:.2f}]" if h.get("n") else "-",
        )
    console.print(tab)
    for name, d in rep["differences"].items():
        b, a = name.split("-")
        console.print(
            f"{ARM_TITLES[b]} vs {ARM_TITLES[a]}: {d['diff']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}], "
            f"P(better) {d['p_b_better']:.2f}"
        )
    for name, d in (rep.get("hallucination_differences") or {}).items():
        b, a = name.split("-")
        console.print(
            f"hallucination, {ARM_TITLES[b]} vs {ARM_TITLES[a]}: {d['diff']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
        )
    moved = [(c, r) for c, r in rep["by_concept"].items() if r["kept_vs_human"] or r["unfiltered_vs_human"]]
    if moved:
        ct = Table(title="Per concept: questions gained (+) or lost (-) against (a)")
        for col in ("concept", "n", "(b) kept", "(c) unfiltered"):
            ct.add_column(col)
        for c, r in moved:
            ct.add_row(c, str(r["n"]), f"{r['kept_vs_human']:+g}", f"{r['unfiltered_vs_human']:+g}")
        console.print(ct)
    if stated:
        console.print(
            "[dim]hallucination: share of questions no document answers (an invented name) that the student "
            "answered instead of declining[/]"
        )
        console.print(
            "[dim]answers stated: held-out answers some training row of the arm states, in a row about the "
            "question's subject (what a student can learn; correct answers beyond these are guesses or prior "
            "knowledge)[/]"
        )
    console.print(f"[dim]stored in .tether/compare/{rep['id']}.json[/]")
