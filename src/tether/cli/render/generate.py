"""Rendering for `plan`, `generate`, `import` and `teacher accuracy`: the plan and its forecast, generated rows."""

from __future__ import annotations

from collections import Counter

from rich.table import Table

from tether.cli.render.console import console
from tether.cli.render.teacher import usage_summary


def import_summary(rep, log_path: str, show_skips: int = 10) -> None:  # rep: tether.generate.imported.ImportReport
    shapes = ", ".join(f"{k} {v}" for k, v in rep.formats.items())
    if rep.created and rep.manifest is not None:
        matched = sum(1 for r in rep.imported if r.source is not None)
        console.print(
            f"[green]version {rep.manifest.id}[/]: +{len(rep.imported)} imported synthetic rows ({shapes}); "
            f"{matched} matched to a source chunk" + (f"; {rep.unchanged} already present" if rep.unchanged else "")
        )
        if matched < len(rep.imported):
            console.print(
                f"[yellow]{len(rep.imported) - matched} rows match no chunk[/]: fact checks will call them "
                f"unverifiable (filters.facts.unverifiable) unless a seed answer backs them"
            )
    else:
        console.print(f"[yellow]nothing new to import[/] ({rep.unchanged} rows already in the workspace)")
    if rep.skipped:
        console.print(f"[yellow]skipped {len(rep.skipped)} rows[/]:")
        for where, why in rep.skipped[:show_skips]:
            console.print(f"  [dim]{where}[/]: {why}", highlight=False)
        if len(rep.skipped) > show_skips:
            console.print(f"  … {len(rep.skipped) - show_skips} more in {log_path}")
    console.print("next: tether filter (imported rows are filtered like generated ones)")


def plan_report(prep, brief: bool = False) -> None:  # prep: tether.generate.stage.Prepared
    plan, fc = prep.plan, prep.forecast
    console.print(
        f"[bold]Plan[/]: budget {plan.budget} teacher calls over {plan.seeds} seeds → {plan.rationale} "
        f"(mix from {plan.mix_source})"
    )
    if brief:
        return
    t = Table(title="Forecast (dry run: no teacher call made)")
    for col in ("strategy", "share", "rows", "calls", "kept after filters", "prompt tok", "completion tok"):
        t.add_column(col, justify="left" if col == "strategy" else "right")
    for s, f in zip(plan.strategies, fc.strategies, strict=True):
        t.add_row(
            s.strategy,
            f"{s.share:.0%}",
            str(s.rows),
            str(s.calls),
            str(s.kept_rows),
            f"{f.prompt_tokens:,}",
            f"{f.completion_tokens:,}",
        )
    t.add_row(
        "[bold]total",
        "",
        str(sum(s.rows for s in plan.strategies)),
        f"[bold]{fc.calls}",
        str(sum(s.kept_rows for s in plan.strategies)),
        f"{fc.prompt_tokens:,}",
        f"{fc.completion_tokens:,}",
    )
    console.print(t)
    if prep.false_premise:
        console.print(
            f"false-premise rows (strategy unanswerable): up to {prep.false_premise}, made from the seeds without a "
            "teacher call (generate.unanswerable)"
        )
    console.print(f"kept after filters: {prep.kept_source}")
    f = prep.filters
    if f.calls or f.calibration_calls:
        cal = f" + {f.calibration_calls} for a first judge calibration" if f.calibration_calls else ""
        console.print(
            f"[bold]filters[/]: ~{f.calls} more teacher calls{cal} ({f.source}); "
            f"generation + filters: ~{fc.calls + f.calls + f.calibration_calls} calls"
        )
    else:
        console.print(f"filters: no teacher calls ({f.source})")
    when = f"~{fc.seconds / 60:.1f} min" if fc.seconds is not None else "unknown"
    console.print(f"generation time: {when} ({fc.speed_source}); cost: {fc.cost:.4f} at the configured token prices")
    console.print(
        f"generation stays within the budget of {plan.budget} (the client refuses call {plan.budget + 1}); "
        f"filter calls are counted apart, in `tether filter`'s accounting"
    )


def generate_report(rep, runs_dir: str) -> None:  # rep: tether.generate.stage.GenerateReport
    new = rep.new
    t = Table(title="Generated rows")
    for col in ("strategy", "rows", "kept", "dropped (reason: count)"):
        t.add_column(col)
    by: dict[str, list] = {}
    for r in new:
        by.setdefault(r.strategy or "-", []).append(r)
    for strat, rows in sorted(by.items()):
        drops = Counter(f"{name}:{v.reason}" for r in rows for name, v in r.verdicts.items() if not v.keep)
        kept = sum(1 for r in rows if r.kept)
        t.add_row(strat, str(len(rows)), str(kept), ", ".join(f"{k}: {n}" for k, n in drops.most_common()) or "-")
    console.print(t)
    usage_summary(rep.usage)
    if rep.created:
        console.print(f"[green]version {rep.manifest.id}[/] (drops with reasons in {runs_dir}/)")
    else:
        console.print(f"[yellow]no new rows[/]: all {len(new)} already in version {rep.manifest.id[:12]}")


def accuracy_report(rep) -> None:  # rep: tether.filters.calibration.TeacherAccuracy
    t = Table(title=f"Teacher answers vs human answers ({rep.n} seeds)")
    for col in ("question", "human", "teacher", "F1", "facts"):
        t.add_column(col, overflow="fold", max_width=40 if col in ("human", "teacher", "question") else None)
    for i in rep.items[:10]:
        facts = "-" if i.fact_recall is None else f"{i.fact_recall:.0%}"
        t.add_row(i.question, i.human, i.teacher[:200], f"{i.f1:.2f}", facts)
    console.print(t)
    head = f"{rep.fact_recall:.0%} of key facts (numbers, codes) recalled" if rep.fact_recall is not None else ""
    console.print(
        f"[bold]Your teacher ({rep.teacher}) is ~{rep.headline:.0%} accurate on this domain[/] "
        f"({head}{'; ' if head else ''}mean token F1 {rep.mean_f1:.2f})"
    )
