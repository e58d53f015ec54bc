"""Rendering for the training-set commands (`mix`, `mixes`, `export`): tables, no logic."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from tether.cli.render.console import console

MAX_CONCEPTS = 20


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _shares(title: str, table: dict, limit: int | None = None, caption: str | None = None) -> Table:
    t = Table(title=title, caption=caption, title_justify="left")
    t.add_column(title.split()[-1])
    t.add_column("rows", justify="right")
    t.add_column("share", justify="right")
    items = list(table.items())
    for k, v in items[:limit] if limit else items:
        t.add_row(str(k), str(v["rows"]), _pct(v["share"]))
    if limit and len(items) > limit:
        t.add_row(f"… {len(items) - limit} more", "", "")
    return t


def mix_report(res) -> None:  # res: tether.mix.mixer.MixResult
    man, rep = res.manifest, res.manifest.report
    prov = rep["provenance"]
    state = "new" if res.created else "unchanged (same inputs, same mix)"
    console.print(
        f"[bold]mix {man.id[:12]}[/] — training generation {man.generation} ({man.mode}), drawn from version "
        f"{man.version[:12]}: {state}"
    )
    console.print(
        f"[bold]AI-generated share: {_pct(prov['ai_share'])}[/] ({prov['synthetic']} synthetic, "
        f"{prov['human']} human rows; {prov['rows']} in all)"
    )
    for w in res.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    cap = rep["ceiling"]
    if cap["ceiling"] is not None and cap["allowed"] is not None:
        console.print(
            f"ceiling {cap['ceiling']:g}: at most {cap['allowed']} synthetic rows for {man.anchor} human rows; "
            f"{cap['dropped']} dropped as synthetic_ceiling (diversity-aware: thinnest concepts first, then "
            "farthest rows)"
        )
    elif man.mode == "accumulate":
        console.print("[yellow]no synthetic ceiling[/]")
    leak = rep["leakage"]
    matchers = ", ".join(f"{k} {v}" for k, v in leak["by_matcher"].items())
    h = rep["holdout"]
    console.print(
        f"holdout (fixed, real rows only): {h['validation']} validation seeds, {h['evaluation']} held-out rows; "
        f"leakage check removed {leak['removed']} rows as holdout_leak ({matchers})"
    )
    leaks = [r for r in res.excluded if r.verdicts["mix"].reason == "holdout_leak"]
    for r in leaks[:5]:
        console.print(f"  [dim]{r.id[:12]} {r.question()[:60]!r} — {r.verdicts['mix'].detail}[/]")
    elig = rep["eligible"]
    console.print(
        f"eligible: {elig['human']} human, {elig['synthetic']} synthetic (kept by the filters); "
        f"{rep['filter_dropped']} dropped by filters, {rep['unfiltered']} never filtered, "
        f"{elig['other_generations']} from other generations"
    )
    churn = rep.get("churn") or {}
    if churn:
        console.print(
            f"since mix {churn['previous_mix'][:12]}: anchor rows kept {churn['anchor_rows_kept']}, "
            f"synthetic rows kept {churn['synthetic_rows_kept']}"
        )
    console.print(_shares("Rows by origin", prov["by_origin"]))
    console.print(_shares("Rows by teacher", prov["by_teacher"]))
    console.print(_shares("Rows by strategy", prov["by_strategy"]))
    if "by_question_type" in prov:  # absent from mixes built before question types were counted
        console.print(_shares("Rows by question type", prov["by_question_type"]))
    console.print(_shares("Rows by generation", prov["by_generation"]))
    console.print(
        _shares(
            "Rows by concept",
            prov["by_concept"],
            MAX_CONCEPTS,
            caption="a row may name several concepts: shares do not add up to 100 %",
        )
    )
    console.print("[dim]every row: tether lineage <id> (also names the mixes that hold it)[/]")


def mixes_table(mixes) -> None:
    if not mixes:
        console.print("no mixes yet (run `tether mix --generation 1`)")
        return
    t = Table(title="Training sets")
    for col in ("mix", "gen", "mode", "version", "rows", "AI share", "anchor", "leaks", "ceiling drops", "created"):
        t.add_column(col, justify="right" if col in ("gen", "rows", "anchor", "leaks", "ceiling drops") else "left")
    for m in mixes:
        r = m.report
        t.add_row(
            m.id[:12],
            str(m.generation),
            m.mode,
            m.version[:12],
            str(r["provenance"]["rows"]),
            _pct(r["provenance"]["ai_share"]),
            str(m.anchor),
            str(r["leakage"]["removed"]),
            str(r["ceiling"]["dropped"]),
            m.created_at,
        )
    console.print(t)


def export_report(files: dict[str, Path]) -> None:
    t = Table(title="Exported")
    t.add_column("what")
    t.add_column("file")
    for what, path in files.items():
        t.add_row(what, str(path))
    console.print(t)
