"""Rendering for the measuring commands (`measure`, `diff`, `fill`, `ontology suggest`): tables, no logic."""

from __future__ import annotations

from rich.table import Table

from tether.cli.render.console import console

STATUS_STYLE = {"uncovered": "bold red", "thin": "yellow", "covered": "green"}


def measurement_report(m) -> None:  # m: tether.measure.stage.Measurement
    t = Table(title=f"Diversity of version {m.version[:12]} (kernel {m.kernel})", caption=f"embedder: {m.embedder}")
    parts = [p for p in ("synthetic", "human", "all") if p in m.diversity]
    taus = sorted({tau for p in parts for tau in m.diversity[p].dcscore}, key=float, reverse=True)
    t.add_column("rows")
    for p in parts:
        t.add_column(p + (" (kept)" if p == "synthetic" else ""), justify="right")
    t.add_row("rows", *(str(m.diversity[p].rows) for p in parts))
    for tau in taus:
        t.add_row(f"DCScore τ={tau}", *(_num(m.diversity[p].dcscore.get(tau)) for p in parts))
    t.add_row("Vendi", *(_num(m.diversity[p].vendi) for p in parts))
    for n in ("1", "2", "3"):
        t.add_row(f"distinct-{n}", *(_num(m.diversity[p].distinct.get(n), 3) for p in parts))
    console.print(t)
    console.print(
        "[dim]DCScore τ=1 as in the paper (saturates for cosine); τ=0.1 reads as an effective number of distinct "
        "rows. Vendi: effective number of distinct rows from the kernel's eigenvalues.[/]"
    )
    cov = m.coverage
    groups = [k for k in cov if k not in ("radius", "drift")]
    console.print(
        f"\n[bold]Embedding coverage[/] (a real row is covered when a kept synthetic row is within cosine "
        f"{cov['radius']}): " + ", ".join(f"{g} {_pct(cov[g])}" for g in groups)
    )
    console.print(f"drift: {_pct(cov.get('drift'))} of kept synthetic rows are far from every real row")
    if m.drift_examples:
        console.print(f"  [dim]farthest: {', '.join(i[:12] for i in m.drift_examples[:5])} (tether show / lineage)[/]")
    if m.concepts:
        concept_table(m.concepts)
    if m.question_types:
        question_type_table(m.question_types)
    if m.map_png:
        console.print(f"2-D map: {m.map_png}")


def concept_table(concepts: dict[str, dict], title: str = "Concept coverage") -> None:
    t = Table(title=title)
    for col, kw in [("concept", {}), ("human", {"justify": "right"}), ("synthetic", {"justify": "right"})]:
        t.add_column(col, **kw)
    t.add_column("chunks", justify="right")
    t.add_column("status")
    for name, c in sorted(concepts.items(), key=lambda kv: (kv[1]["human"] + kv[1]["synthetic"], kv[0])):
        st = str(c["status"])
        t.add_row(name, str(c["human"]), str(c["synthetic"]), str(c["chunks"]), f"[{STATUS_STYLE[st]}]{st}[/]")
    console.print(t)


def question_type_table(counts: dict[str, dict[str, int]]) -> None:
    """Rows per question type, human and kept synthetic, with each one's share of its column."""
    parts = [p for p in ("human", "synthetic") if p in counts]
    totals = {p: sum(counts[p].values()) for p in parts}
    t = Table(title="Question types", caption="decided by rules over the question's words (README, tether measure)")
    t.add_column("type")
    for p in parts:
        t.add_column(p + (" (kept)" if p == "synthetic" else ""), justify="right")
    for qtype in counts[parts[0]] if parts else []:
        t.add_row(qtype, *(_count_share(counts[p].get(qtype, 0), totals[p]) for p in parts))
    console.print(t)


def _count_share(n: int, total: int) -> str:
    return f"{n} ({n / total:.0%})" if total else str(n)


def diff_report(a, b, deltas, show_all: bool = False) -> None:  # a, b: Manifest; deltas: list[Delta]
    t = Table(title=f"{a.id[:12]} ({a.stage}) → {b.id[:12]} ({b.stage})")
    for col, kw in [("metric", {}), ("before", {"justify": "right"}), ("after", {"justify": "right"})]:
        t.add_column(col, **kw)
    t.add_column("change", justify="right")
    shown = 0
    for d in deltas:
        if not show_all and d.change == 0:
            continue
        ch = d.change
        style = "" if ch is None or ch == 0 else "green" if ch > 0 else "red"
        t.add_row(d.name, _num(d.before), _num(d.after), f"[{style}]{_num(ch, signed=True)}[/]" if style else "-")
        shown += 1
    console.print(t)
    if not show_all:
        console.print(f"[dim]{len(deltas) - shown} unchanged metrics hidden (--all shows them)[/]")


def fill_round(rnd: int, cov, questions: int) -> None:  # cov: ConceptCoverageReport
    below = [c for c in cov.concepts if c.status != "covered"]
    console.print(
        f"[bold]round {rnd}[/]: {len(below)} concepts below {cov.thin} rows "
        f"({', '.join(f'{c.name} {c.rows}' for c in below[:8])}{'…' if len(below) > 8 else ''}); "
        f"asking {questions} new questions"
    )


def fill_filtered(rep) -> None:  # rep: FilterReport
    console.print(f"  filtered: {rep.kept} of {rep.synthetic} synthetic rows kept (version {rep.version[:12]})")


def fill_report(rep) -> None:  # rep: tether.run.fill.FillReport
    t = Table(title=f"Gap filling: target {rep.per_concept} rows per concept")
    for col, kw in [
        ("concept", {}),
        ("before", {"justify": "right"}),
        ("after", {"justify": "right"}),
        ("asked", {"justify": "right"}),
        ("kept", {"justify": "right"}),
        ("why still thin", {}),
    ]:
        t.add_column(col, **kw)
    for c in sorted(rep.concepts, key=lambda c: (c.after >= rep.per_concept, c.after, c.name)):
        style = "green" if c.after >= rep.per_concept else "yellow" if c.after else "bold red"
        t.add_row(c.name, str(c.before), f"[{style}]{c.after}[/]", str(c.asked), str(c.kept), c.why)
    console.print(t)
    why = {
        "filled": "every concept with a source chunk reached the target",
        "budget": "the call budget is spent",
        "rounds": "the last round ran",
        "no_progress": "the last round kept no new row; more of the same questions would not either",
    }[rep.stopped]
    console.print(
        f"stopped: {rep.stopped} ({why}) after {rep.rounds} rounds; {rep.spent} of {rep.budget} teacher calls "
        f"spent; {len(rep.thin())} concepts below target"
    )


def suggestion_report(sug, path) -> None:  # sug: tether.measure.suggest.Suggestion
    t = Table(title=f"Draft ontology: {sug.k} concepts from {sug.n_chunks} chunks of {sug.n_documents} documents")
    for col, kw in [
        ("concept", {}),
        ("parent", {"style": "dim"}),
        ("chunks", {"justify": "right"}),
        ("docs", {"justify": "right"}),
        ("keywords", {}),
        ("e.g. headings", {"style": "dim"}),
    ]:
        t.add_column(col, **kw)
    stats = {s.name: s for s in sug.stats}
    for c in sug.ontology.concepts:
        st = stats.get(c.name)
        t.add_row(
            c.name,
            c.parent or "",
            str(st.chunks) if st else "",
            str(st.documents) if st else "",
            ", ".join(c.keywords[:5]),
            "; ".join(st.example_headings[:2]) if st else "",
        )
    console.print(t)
    console.print(f"k: {sug.criterion}")
    console.print(f"[green]wrote[/] {path}: a draft to read and edit (names, descriptions, keywords, parents)")


def _num(v, digits: int = 2, signed: bool = False) -> str:
    if v is None:
        return "-"
    if float(v).is_integer():
        return f"{int(v):+d}" if signed else str(int(v))
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def _pct(v) -> str:
    return "-" if v is None else f"{v:.0%}"
