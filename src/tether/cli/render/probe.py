"""Rendering for `probe` and `generate --target mistakes`: tables, no logic."""

from __future__ import annotations

from rich.table import Table

from tether.cli.render.console import console


def probe_report(res: dict, root: str) -> None:
    s = res["summary"]
    acc = s["accuracy"]
    console.print(
        f"[bold]probe {res['key'][:12]}[/] of {res['target']['model']} on mix {res['mix'][:12]}: knows "
        f"{s['known']} of {s['n']} training facts ({acc['mean']:.0%}, 95% CI {acc['low']:.0%}–{acc['high']:.0%}); "
        f"missed rows come from {s['missed_chunks']} chunks"
    )
    origins = ", ".join(f"{o} {v['known']}/{v['n']}" for o, v in s["by_origin"].items())
    console.print(f"by origin: {origins}")
    t = Table(title="Known training facts by concept (fewest first)")
    for col in ("concept", "probed", "known", "share"):
        t.add_column(col, justify="left" if col == "concept" else "right")
    worst = sorted(s["by_concept"].items(), key=lambda kv: (kv[1]["known"] / kv[1]["n"], kv[0]))
    for name, v in worst[:12]:
        t.add_row(name, str(v["n"]), str(v["known"]), f"{v['known'] / v['n']:.0%}")
    console.print(t)
    missed = [it for it in res["items"] if not it["known"]][:5]
    for it in missed:
        lacks = ", ".join(it["missing"])
        console.print(f"  missed: {it['question'][:90]} → said {it['prediction'][:70]!r}; lacks {lacks}")
    if missed:
        console.print(f"next: tether generate --target mistakes --budget N -w {root}   (paraphrases and new questions "
                      "for the missed facts)")  # fmt: skip


def mistakes_report(rep) -> None:  # rep: tether.run.mistakes.MistakesReport
    if not rep.missed:
        console.print(f"probe {rep.probe[:12]}: the student knew all {rep.probed} probed facts; nothing to target")
        return
    made = ", ".join(f"{s} {n}" for s, n in rep.by_strategy.most_common())
    kept = sum(r.kept for r in rep.rows)
    console.print(
        f"probe {rep.probe[:12]}: {rep.missed} of {rep.probed} facts missed → {rep.jobs} jobs; {len(rep.rows)} rows "
        f"({made}), {kept} passed generation; teacher calls {rep.usage.get('calls', 0)}"
    )
    if rep.version is not None and rep.created:
        console.print(f"version {rep.version.id} (next: tether filter, tether mix --generation G+1, tether train)")
    else:
        console.print("no new rows (every request came back as rows already in the workspace)")


def improve_progress(stage: str, info: dict) -> None:
    if stage == "probe":
        console.print(f"probe: knows {info['known']} of {info['n']} training facts")
    else:
        console.print(f"generation {info['generation']}: {info['generated']} rows generated, mix of {info['rows']}")


def improve_report(rep) -> None:  # rep: tether.run.improve.ImproveReport
    t = Table(title=f"tether improve: probe facts known (of {rep.probe_n}), starting at {rep.start_known}")
    for col in ("round", "generation", "teacher calls", "rows", "mix rows", "student", "known"):
        t.add_column(col, justify="right")
    for r in rep.rounds:
        t.add_row(str(r.round), str(r.generation), str(r.calls), str(r.rows), str(r.mix_rows), r.student[:12],
                  str(r.probe_known))  # fmt: skip
    console.print(t)
    why = {
        "all_known": "the student knows every probed fact",
        "no_gain": "the last round did not raise the probe accuracy",
        "rounds": "the rounds ran out",
    }[rep.stopped]
    console.print(f"stopped: {why}")
