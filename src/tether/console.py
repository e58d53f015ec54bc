"""Terminal rendering of tether's results (rich tables and trees), kept out of the CLI so the CLI stays thin."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from tether.seeds.audit import AuditReport
from tether.seeds.stage import IngestReport
from tether.workspace.lineage import Step
from tether.workspace.store import Manifest

console = Console()
if not console.is_terminal:
    console.width = max(console.width, 150)  # piped or CI output: do not squeeze tables into 80 columns
err_console = Console(stderr=True)


def ingest_summary(rep: IngestReport, log_path: str, show_skips: int = 15) -> None:
    r = rep.result
    if rep.ontology_found:
        console.print(
            f"using the ontology found beside the documents: {rep.ontology_found} (set as `ontology:` in tether.yaml)"
        )
    if rep.manifest is None or not rep.created:
        console.print(f"[yellow]nothing new to ingest[/] ({r.unchanged} documents and seeds already in the workspace)")
    else:
        console.print(
            f"[green]version {rep.manifest.id}[/]: +{len(r.documents)} documents, +{len(r.chunks)} chunks, "
            f"+{len(r.seeds)} seed examples" + (f" ({r.unchanged} already present)" if r.unchanged else "")
        )
        unresolved = [s for s in r.seeds if s.source is None]
        if unresolved:
            console.print(
                f"[yellow]{len(unresolved)} seeds have no source document[/] (no chunk clearly holds "
                f"the answer; add a 'source' field to name it)"
            )
        c = r.cleaning  # boilerplate removed from the new documents
        parts = []
        if c.main_chars:
            parts.append(f"{c.main_chars:,} by main-content extraction of {c.html_pages} HTML pages")
        if c.repeated_chars:
            parts.append(f"{c.repeated_chars:,} in {c.repeated_lines:,} lines repeated across a folder's documents")
        if c.furniture_chars:
            parts.append(
                f"{c.furniture_chars:,} in {c.furniture_lines:,} running headers, footers, page numbers and contents "
                f"lines of {c.paged_docs} PDFs"
            )
        if parts:
            share = c.chars_removed / c.chars_read if c.chars_read else 0.0
            console.print(f"removed as boilerplate: {c.chars_removed:,} characters ({share:.1%}): " + "; ".join(parts))
        if c.html_fallbacks:
            console.print(f"{len(c.html_fallbacks)} HTML pages kept whole (too little main content found; {log_path})")
        if c.chunks_merged:
            console.print(f"{c.chunks_merged} short chunks without a sentence merged into a neighbour")
    if r.skipped:
        reasons = Counter(s.reason.split(" (")[0].split(":")[0] for s in r.skipped)
        summary = ", ".join(f"{n} {why}" for why, n in reasons.most_common())
        console.print(f"[yellow]skipped {len(r.skipped)}[/]: {summary}")
        for s in r.skipped[:show_skips]:
            console.print(f"  [dim]{s.path}[/]: {s.reason}")
        if len(r.skipped) > show_skips:
            console.print(f"  … {len(r.skipped) - show_skips} more in {log_path}")


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


def audit_table(rep: AuditReport) -> None:
    t = Table(title=f"Seed coverage by concept (version {rep.version[:12]}, matcher: {rep.matcher})")
    for col, kw in [
        ("concept", {}),
        ("parent", {"style": "dim"}),
        ("seeds", {"justify": "right"}),
        ("coverage", {}),
        ("chunks", {"justify": "right"}),
        ("docs", {"justify": "right"}),
        ("held-out", {"justify": "right"}),
        *([("synthetic", {"justify": "right"}), ("status", {})] if rep.thin else []),
    ]:
        t.add_column(col, **kw)
    status_style = {"uncovered": "bold red", "thin": "yellow", "covered": "green"}
    style = {"0": "bold red"}
    for c in sorted(rep.concepts, key=lambda c: (c.seeds, c.name)):
        bucket_style = style.get(c.bucket, "green" if c.seeds >= rep.well_covered else "yellow")
        t.add_row(
            c.name,
            c.parent or "",
            str(c.seeds),
            f"[{bucket_style}]{c.bucket}[/]",
            str(c.chunks),
            str(len(c.documents)),
            str(c.heldout) if rep.heldout_total else "-",
            *([str(c.synthetic), f"[{status_style[c.status]}]{c.status}[/]"] if rep.thin else []),
        )
    console.print(t)
    counts = rep.bucket_counts()
    order = sorted(counts, key=lambda b: (b != "0", b))
    console.print("concepts by seed count: " + ", ".join(f"{b} seeds: {counts[b]}" for b in order))
    gaps = rep.gaps_with_documents()
    if gaps:
        console.print(
            "\n[bold]Concepts no seed touches, and the documents that cover them[/] "
            "(generate new questions from these first):"
        )
        for c in gaps:
            console.print(f"  [red]{c.name}[/]: {', '.join(c.documents)}")
    for c in rep.uncoverable():
        console.print(f"  [bold red]{c.name}[/]: no seed and no document mentions it; add documents or keywords")
    wanted = rep.seeds_to_write()
    if wanted:
        console.print(
            f"\n[bold]Seeds to write[/]: {sum(c.seeds_wanted for c in wanted)} more would give every concept the "
            f"documents cover {rep.well_covered} seeds: " + ", ".join(f"{c.name} ({c.seeds_wanted})" for c in wanted)
        )
    if rep.seeds_without_concept:
        console.print(f"[yellow]{len(rep.seeds_without_concept)} of {rep.seeds_total} seeds match no concept[/]")
    for name, n in sorted(rep.unknown_seed_concepts.items()):
        console.print(f"[yellow]{n} seeds name concept '{name}', which is not in the ontology[/]")
    if rep.heldout_leaks:
        console.print(
            f"[bold red]{len(rep.heldout_leaks)} held-out questions also appear among the seeds[/] "
            f"(leakage): {rep.heldout_leaks[0]!r}…"
        )


def versions_table(mans: list[Manifest]) -> None:
    t = Table(title="Dataset versions (oldest first)")
    for col in (
        "id",
        "stage",
        "created",
        "rows",
        "by origin",
        "by strategy",
        "verdicts",
        "docs",
        "chunks",
        "parent",
    ):
        t.add_column(col)
    for m in mans:
        tables = m.counts.get("tables", {})
        verdicts = m.counts.get("verdicts", {})
        drops = sum(n for k, n in verdicts.items() if ":drop" in k)
        t.add_row(
            m.id[:12],
            m.stage,
            m.created_at.replace("T", " ")[:19],
            str(tables.get("records", 0)),
            _kv(m.counts.get("origin", {})),
            _kv(m.counts.get("strategy", {})),
            f"{drops} dropped" if verdicts else "-",
            str(tables.get("documents", 0)),
            str(tables.get("chunks", 0)),
            ", ".join(p[:12] for p in m.parents) or "-",
        )
    console.print(t)


def _kv(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items()) or "-"


def lineage_tree(steps: list[Step]) -> None:
    start = steps[0].node
    tree = Tree(f"[bold]{start.type} {start.id}[/] {start.label}")
    branches = {start.id: tree}
    for s in steps[1:]:
        parent_branch = branches.get(s.child or "", tree)
        icon = {"document": "📄", "chunk": "§", "record": "•"}.get(s.node.type, "")
        label = f"{icon} [cyan]{s.relation}[/] {s.node.type} [dim]{s.node.id[:16]}[/] {s.node.label}"
        label += f" [dim](version {s.node.version[:12]})[/]"
        if s.node.id not in branches:
            branches[s.node.id] = parent_branch.add(label)
    console.print(tree)


def usage_summary(usage: dict) -> None:
    """The end-of-run teacher accounting line(s): what the run cost and what went wrong, by kind."""
    line = (
        f"teacher: {usage['requests']} requests, {usage['calls']} calls sent, {usage['cache_hits']} cache hits, "
        f"{usage['retries']} retries, {usage['prompt_tokens']:,} prompt + {usage['completion_tokens']:,} "
        f"completion tokens"
    )
    if usage.get("cost"):
        line += f", cost {usage['cost']:.4f}"
    if usage.get("busy_fraction") is not None:
        line += f", teacher busy {usage['busy_fraction']:.0%}"
    console.print(line)
    if usage.get("errors"):
        console.print("[yellow]errors by kind[/]: " + ", ".join(f"{k} {v}" for k, v in usage["errors"].items()))


def teacher_check_report(client, comp) -> None:  # client: TeacherClient, comp: Completion
    ident = client.identity
    t = Table(title="Teacher", show_header=False)
    for k, v in [
        ("endpoint", client.base_url),
        ("model", ident.model),
        ("digest", ident.digest or "-"),
        ("quant", ident.quant or "-"),
        ("runtime", ident.version or "-"),
        ("structured output", f"{client.cfg.structured} (now {client.mode})"),
    ]:
        t.add_row(k, str(v))
    console.print(t)
    if comp.error:
        console.print(f"[red]answer failed[/]: {comp.error} {comp.error_detail or ''}")
    tps = comp.completion_tokens / comp.latency_s if comp.latency_s else 0
    console.print(
        f"[bold]answer[/] ({comp.finish_reason}, {comp.completion_tokens} tokens"
        + (", cached)" if comp.cached else f", {comp.latency_s:.2f}s, {tps:.0f} tok/s)")
        + f": {comp.text}"
    )
    usage_summary(client.stats.as_dict())
    if ident.endpoint == "embedded":
        console.print(
            "[yellow]The embedded teacher is a small offline model (0.1-1.5B): it restates and asks about its "
            "documents' sentences, and cannot judge. Point teacher.base_url at a real endpoint for real work.[/]"
        )


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


def funnel_trust(lines: list[str]) -> None:
    """The top of the funnel: what each model filter's verdicts may do, and why."""
    for line in lines:
        style = "yellow" if ("UNINFORMATIVE" in line or "uncalibrated" in line) else "dim"
        console.print(f"[{style}]{line}[/]", highlight=False)


@contextlib.contextmanager
def rows_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A bar over a funnel pass's rows (gone when the pass ends): `advance(rows)` after each batch. Off when output
    is not a terminal: a transient bar leaves only a blank line in a log."""
    with Progress(
        TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
        transient=True, disable=not console.is_terminal,
    ) as bar:  # fmt: skip
        task = bar.add_task(label, total=total)
        yield lambda rows: bar.update(task, advance=rows)


def funnel_step(step) -> None:  # step: tether.filters.stage.FunnelStep, printed as each filter finishes
    n = sum(step.dropped.values())
    console.print(f"[dim]{step.name}: {step.rows_in} in, {n} dropped, {step.rows_out} out[/]")


def funnel_table(rep, runs_dir: str) -> None:  # rep: tether.filters.stage.FilterReport
    t = Table(title=f"Filter funnel ({rep.synthetic} synthetic rows; human seeds are never filtered)")
    for col in ("stage", "rows in", "dropped", "rows out", "reasons"):
        t.add_column(col, justify="left" if col in ("stage", "reasons") else "right")
    for s in rep.steps:
        n = sum(s.dropped.values())
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(s.dropped.items(), key=lambda kv: -kv[1])) or "-"
        t.add_row(s.name, str(s.rows_in), str(n), str(s.rows_out), reasons)
    console.print(t)
    console.print(
        f"[bold]kept {rep.kept} of {rep.synthetic}[/] synthetic rows; dropped rows stay in the version with "
        f"their verdicts (`tether show --dropped REASON`; log in {runs_dir}/)"
    )
    if rep.usage:
        usage_summary(rep.usage)
    console.print(f"version {rep.version}" + ("" if rep.created else " (unchanged)"))


def show_rows(
    rows, limit: int, dropped: str | None, total: int | None = None, sources: dict[str, str] | None = None
) -> None:
    """`rows`: the first matches; `total`: how many rows match in all (default len(rows)); `sources`: row id →
    where its source lies ("manual.pdf p. 12 [chars 100-900]")."""
    total = len(rows) if total is None else total
    what = f"dropped for '{dropped}'" if dropped else "kept"
    console.print(f"{total} rows {what}" + (f"; first {limit}:" if total > limit else ":"))
    for r in rows[:limit]:
        console.print(f"\n[bold]{r.id}[/] {r.strategy} ({r.kind})", highlight=False)
        console.print(f"  Q: {r.question()}", highlight=False, markup=False)
        console.print(f"  A: {r.answer()[:500]}", highlight=False, markup=False)
        if r.rejected:
            console.print(f"  rejected: {r.rejected[:300]}", highlight=False, markup=False)
        if sources and sources.get(r.id):
            console.print(f"  source: {sources[r.id]}", highlight=False, markup=False)
        for name, v in r.verdicts.items():
            mark = "keep" if v.keep else f"DROP {v.reason}"
            console.print(f"  [dim]{name}: {mark}{' - ' + v.detail if v.detail else ''}[/]", highlight=False)


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


def calibration_report(rep, cfg, judge_cfg) -> None:  # rep: CalibrationReport, cfg: CalibrationConfig, JudgeConfig
    kinds = ", ".join(f"{k} {n}" for k, n in rep.planted.items())
    t = Table(title=f"Filters on planted rows from {rep.seeds} seeds ({kinds}); judge model {rep.judge}")
    for col in ("filter", "uses", "true kept (TPR)", "false kept (FPR)", "AUC", "false dropped, by kind", "verdict"):
        t.add_column(col, justify="right" if col in ("true kept (TPR)", "false kept (FPR)", "AUC") else "left")
    for f in rep.filters:
        state = f.state or "-"
        style = {"uninformative": "bold red", "trusted": "green", "informative": "yellow"}.get(state, "dim")
        by_kind = ", ".join(f"{k} {v:.0%}" for k, v in f.false_dropped_by_kind.items())
        t.add_row(
            f.filter,
            "model" if f.model else "rules",
            f"{f.tpr:.0%}",
            f"{f.fpr:.0%}",
            f"{f.auc:.2f}",
            by_kind,
            f"[{style}]{state}[/]",
        )
    console.print(t)
    early = [f"{f.filter} after {f.seeds}" for f in rep.filters if f.model and 0 < f.seeds < rep.seeds]
    if early:
        console.print(f"settled early (its AUC interval already fixed its state), seeds asked: {', '.join(early)}")
    j = judge_cfg
    fate = "not asked" if j.uninformative == "advisory" else "may only veto"
    console.print(
        f"AUC < {cfg.min_auc:g}: uninformative ({fate}, filters.judge.uninformative: {j.uninformative}); "
        f"AUC >= {cfg.trust_auc:g} with false kept <= {cfg.max_fpr:.0%}: trusted (may veto, and rescue rows the "
        f"evidence rejects); otherwise informative (may only veto)."
    )
    for f in rep.filters:
        if f.state == "uninformative":
            console.print(
                f"[bold red]{f.filter} is uninformative with this model[/]: its verdicts barely separate true from "
                f"false rows, so `tether filter` {'does not ask it' if fate == 'not asked' else 'lets it veto only'}; "
                f"a stronger model as filters.judge.endpoint would be calibrated on its own."
            )
