"""Rendering for `versions`, `lineage` and `show`: the workspace's versions, a row's ancestry, example rows."""

from __future__ import annotations

from rich.table import Table
from rich.tree import Tree

from tether.cli.render.console import console
from tether.workspace.lineage import Step
from tether.workspace.store import Manifest


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
