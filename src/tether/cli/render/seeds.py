"""Rendering for `ingest` and `audit`: what was read and removed, and seed coverage by concept. No logic."""

from __future__ import annotations

from collections import Counter

from rich.table import Table

from tether.cli.render.console import console
from tether.seeds.audit import AuditReport
from tether.seeds.stage import IngestReport


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


def no_ontology(res, root) -> None:  # res: tether.seeds.audit_stage.AuditRun
    console.print(
        f"[yellow]no ontology configured[/]: {res.seeds} seeds, {res.chunks} chunks. Draft one from the documents "
        f"with `tether ontology suggest -w {root}` (writes ontology.yaml and sets `ontology:` in tether.yaml), "
        "edit it, then run the audit again."
    )
