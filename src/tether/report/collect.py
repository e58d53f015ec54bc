"""Everything the report shows, gathered from the workspace into plain data: one function per section.

Each section is a dict with `ran` (did its stage run?) and, when it did not, `missing`: the command that would
fill it. A report whose stage has not run says so instead of leaving the section out, so a reader can tell "not
measured" from "nothing to show".
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from tether.evaluate.monitor import collapse_flags, history_table
from tether.evaluate.stage import history_points, stored_evals
from tether.filters.stage import funnel_of
from tether.mix.store import list_mixes
from tether.records import Record
from tether.workspace.store import Manifest, Workspace

EXAMPLES_PER_REASON = 2


def _missing(command: str) -> dict:
    return {"ran": False, "missing": command}


def funnel(ws: Workspace, man: Manifest, records: list[Record]) -> dict:
    synthetic = [r for r in records if r.origin == "synthetic"]
    if not synthetic:
        return _missing("tether generate --budget N, then tether filter")
    if not any(name not in ("generate", "self_check") for r in synthetic for name in r.verdicts):
        return _missing("tether filter")
    steps = funnel_of(records, list(ws.config.filters.enabled))
    examples: dict[str, list[dict]] = defaultdict(list)
    for r in synthetic:
        for name, v in r.verdicts.items():
            if not v.keep:
                key = f"{name}:{v.reason or '?'}"
                if len(examples[key]) < EXAMPLES_PER_REASON:
                    examples[key].append(
                        {"id": r.id, "question": r.question(), "answer": r.answer()[:400], "detail": v.detail or ""}
                    )
                break
    return {
        "ran": True,
        "version": man.id,
        "synthetic": len(synthetic),
        "kept": sum(r.kept for r in synthetic),
        "steps": [{"name": s.name, "in": s.rows_in, "out": s.rows_out, "dropped": s.dropped} for s in steps],
        "examples": dict(examples),
    }


def provenance(ws: Workspace) -> dict:

    mixes = list_mixes(ws)
    if not mixes:
        return _missing("tether mix --generation 1")
    latest = mixes[-1]
    return {
        "ran": True,
        "mix": latest.id,
        "generation": latest.generation,
        "mode": latest.mode,
        "ceiling": latest.ceiling,
        "report": latest.report,
        "notes": latest.notes,
        "mixes": [
            {
                "id": m.id,
                "generation": m.generation,
                "mode": m.mode,
                "rows": m.report["provenance"]["rows"],
                "ai_share": m.report["provenance"]["ai_share"],
                "anchor": m.anchor,
                "leaks": m.report["leakage"]["removed"],
                "ceiling_dropped": m.report["ceiling"]["dropped"],
            }
            for m in mixes
        ],
    }


def _measured(ws: Workspace, man: Manifest) -> tuple[Manifest | None, Manifest | None]:
    """The latest measured version up to `man`, and the measured version before it (for deltas)."""
    chain = [m for m in ws.versions() if m.metrics]
    upto = [m for m in chain if m.created_at <= man.created_at] or chain
    if not upto:
        return None, None
    cur = upto[-1]
    earlier = [m for m in upto[:-1] if m.id != cur.id]
    return cur, (earlier[-1] if earlier else None)


def coverage_and_diversity(ws: Workspace, man: Manifest) -> tuple[dict, dict]:
    cur, prev = _measured(ws, man)
    if cur is None:
        return _missing("tether measure"), _missing("tether measure")
    m = cur.metrics
    map_png = m.get("map_png")
    coverage = {
        "ran": True,
        "version": cur.id,
        "concepts": m.get("concepts") or {},
        "status": m.get("concept_status") or {},
        "question_types": m.get("question_types") or {},  # absent from versions measured before it existed
        "embedding": m.get("coverage") or {},
        "map_png": map_png if map_png and Path(map_png).is_file() else None,
    }
    diversity = {"ran": True, "version": cur.id, "previous": prev.id if prev else None, "rows": []}
    for part, d in (m.get("diversity") or {}).items():
        old = (prev.metrics.get("diversity") or {}).get(part, {}) if prev else {}
        for name, value, before in _diversity_values(d, old):
            diversity["rows"].append({"part": part, "metric": name, "value": value, "previous": before})
    return coverage, diversity


def _diversity_values(d: dict, old: dict):
    for tau, v in (d.get("dcscore") or {}).items():
        yield f"DCScore τ={tau}", v, (old.get("dcscore") or {}).get(tau)
    yield "Vendi", d.get("vendi"), old.get("vendi")
    for n, v in (d.get("distinct") or {}).items():
        yield f"distinct-{n}", v, (old.get("distinct") or {}).get(n)


def budget(ws: Workspace, man: Manifest) -> dict:
    """Per teacher-calling version in the chain up to `man`: what was planned (budget) and what it cost."""
    rows = []
    for m in ws.versions():
        if m.created_at > man.created_at:
            break
        if not m.usage:
            continue
        u = m.usage
        rows.append(
            {
                "version": m.id,
                "stage": m.stage,
                "budget": m.notes.get("budget"),
                "planned_calls": m.notes.get("planned_calls"),
                "planned_tokens": m.notes.get("planned_tokens"),
                "planned_seconds": m.notes.get("planned_seconds"),
                "planned_cost": m.notes.get("planned_cost"),
                "requests": u.get("requests"),
                "calls": u.get("calls"),
                "cache_hits": u.get("cache_hits"),
                "prompt_tokens": u.get("prompt_tokens"),
                "completion_tokens": u.get("completion_tokens"),
                "seconds": u.get("wall_s"),
                "cost": u.get("cost"),
            }
        )
    return {"ran": True, "rows": rows} if rows else _missing("tether generate --budget N")


def teacher_and_judge(ws: Workspace) -> dict:
    reports = ws.store / "reports"
    acc_file, cal_file = reports / "teacher-accuracy.json", reports / "judge-calibration.json"
    out: dict = {"ran": acc_file.is_file() or cal_file.is_file()}
    if not out["ran"]:
        return _missing("tether teacher accuracy; tether judge calibrate (or tether filter, which calibrates)")
    if acc_file.is_file():
        acc = json.loads(acc_file.read_text("utf-8"))
        out["accuracy"] = {k: acc.get(k) for k in ("teacher", "n", "mean_f1", "fact_recall")}
    else:
        out["accuracy"] = None
    if cal_file.is_file():
        cal = json.loads(cal_file.read_text("utf-8"))
        out["calibration"] = {
            "judge": cal.get("judge"),
            "planted": cal.get("planted"),
            "filters": [
                {k: f.get(k) for k in ("filter", "model", "tpr", "fpr", "auc", "state")} for f in cal.get("filters", [])
            ],
        }
    else:
        out["calibration"] = None
    return out


def students(ws: Workspace) -> dict:

    evals = stored_evals(ws)
    compares = sorted((ws.store / "compare").glob("*.json")) if (ws.store / "compare").is_dir() else []
    if not evals and not compares:
        return _missing("tether eval --base, tether train, tether eval --student latest, tether compare")
    metric = ws.config.eval.metric
    points = history_points(ws)
    c = ws.config.eval.collapse
    rows = []
    for e in evals:
        s = e["summary"]
        rows.append(
            {
                "label": e["target"].get("label") or e["target"]["model"],
                "kind": e["target"]["kind"],
                "generation": e["target"].get("generation"),
                "accuracy": s["all"].get(metric),
                "edge": s["edge"].get(metric),
                "typical": s["typical"].get(metric),
                "perplexity": e.get("perplexity"),
                "n": s["all"]["n"],
            }
        )
    compare = max((json.loads(p.read_text("utf-8")) for p in compares), key=lambda r: r["created_at"], default=None)
    flags = collapse_flags(points, c.acc_drop, c.ppl_band)
    return {
        "ran": True,
        "metric": metric,
        "evals": rows,
        "history": history_table(points),
        "flags": [{"kind": f.kind, "generation": f.generation, "message": f.message} for f in flags],
        "compare": compare,
    }


def collect(ws: Workspace, version: str = "head") -> dict:
    man = ws.manifest(version)
    records = ws.records(man)
    coverage, diversity = coverage_and_diversity(ws, man)
    return {
        "project": ws.config.project,
        "version": man.id,
        "stage": man.stage,
        "created_at": man.created_at,
        "counts": man.counts,
        "funnel": funnel(ws, man, records),
        "provenance": provenance(ws),
        "coverage": coverage,
        "diversity": diversity,
        "budget": budget(ws, man),
        "teacher": teacher_and_judge(ws),
        "students": students(ws),
    }
