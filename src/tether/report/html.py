"""`tether report`: one self-contained HTML file (inline CSS, PNGs as data URIs, no script, no network).

Every section has a stable id (`section-<name>`) and either its content or a line saying which command fills it.
Text from rows is escaped: a generated answer is data, never markup.
"""

from __future__ import annotations

import base64
import datetime as dt
from html import escape
from pathlib import Path

from tether.evaluate.compare import ARM_TITLES
from tether.report import plots

SECTIONS = ("funnel", "provenance", "coverage", "diversity", "budget", "teacher", "students")
TITLES = {
    "funnel": "Filter funnel",
    "provenance": "Provenance and the synthetic ceiling",
    "coverage": "Concept coverage",
    "diversity": "Diversity",
    "budget": "Budget: plan vs actual",
    "teacher": "Teacher accuracy and judge calibration",
    "students": "Students: factual accuracy by generation",
}
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #3b6ea5;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left}
th{background:#f3f6fa} td.n{text-align:right;font-variant-numeric:tabular-nums}
.missing{color:#8a6d3b;background:#fcf8e3;padding:.6em;border-radius:4px}
.ai{font-size:1.3em;font-weight:bold} .flag{color:#c0392b;font-weight:bold} .ok{color:#2e8b57}
.ex{font-size:.85em;color:#555;margin:.2em 0 .6em 1em} img{max-width:100%;border:1px solid #eee}
code{background:#f5f5f5;padding:0 .2em}
"""


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:,.0f}"
    return escape(str(v))


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{_fmt(c)}</td>' if isinstance(c, int | float) else f"<td>{_fmt(c)}</td>" for c in r)
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _ci(s: dict | None) -> str:
    if not s or s.get("mean") is None:
        return "-"
    return f"{s['mean']:.3f} [{s['low']:.3f}, {s['high']:.3f}]"


def _funnel(d: dict) -> str:
    out = [f"<p>{d['kept']} of {d['synthetic']} synthetic rows kept (version <code>{d['version'][:12]}</code>).</p>"]
    out.append(_img(plots.funnel_chart(d["steps"]), "filter funnel chart"))
    rows = [
        [
            s["name"],
            s["in"],
            s["in"] - s["out"],
            s["out"],
            ", ".join(f"{k} {v}" for k, v in s["dropped"].items()) or "-",
        ]
        for s in d["steps"]
    ]
    out.append(_table(["stage", "rows in", "dropped", "rows out", "reasons"], rows))
    out.append("<h3>Example rows per drop reason</h3>")
    for reason, exs in sorted(d["examples"].items()):
        out.append(f"<p><b>{escape(reason)}</b></p>")
        for e in exs:
            out.append(
                f'<div class="ex"><code>{escape(e["id"][:12])}</code> Q: {escape(e["question"])}<br>'
                f"A: {escape(e['answer'])}<br><i>{escape(e['detail'])}</i></div>"
            )
    return "".join(out)


def _provenance(d: dict) -> str:
    rep = d["report"]
    prov = rep["provenance"]
    out = [
        f'<p class="ai">AI-generated share: {prov["ai_share"]:.1%} '
        f"({prov['synthetic']} synthetic of {prov['rows']} rows)</p>",
        f"<p>Latest mix <code>{d['mix'][:12]}</code>: training generation {d['generation']} ({d['mode']}), "
        f"ceiling {_fmt(d['ceiling'])}; {rep['leakage']['removed']} rows removed as holdout_leak "
        f"({', '.join(f'{k} {v}' for k, v in rep['leakage']['by_matcher'].items())}); "
        f"{rep['ceiling']['dropped']} dropped by the ceiling.</p>",
        _img(plots.shares_chart(prov["by_origin"], "By origin", d["ceiling"]), "shares by origin"),
        _img(plots.shares_chart(prov["by_strategy"], "By strategy"), "shares by strategy"),
    ]
    for what in ("by_teacher", "by_question_type", "by_generation"):
        if what not in prov:  # a mix built before question types were counted
            continue
        out.append(f"<h3>{escape(what.replace('_', ' '))}</h3>")
        out.append(
            _table([what[3:], "rows", "share"], [[k, v["rows"], f"{v['share']:.1%}"] for k, v in prov[what].items()])
        )
    out.append("<h3>Mixes</h3>")
    rows = [[m["id"][:12], m["generation"], m["mode"], m["rows"], f"{m['ai_share']:.1%}", m["anchor"], m["leaks"],
             m["ceiling_dropped"]] for m in d["mixes"]]  # fmt: skip
    out.append(_table(["mix", "generation", "mode", "rows", "AI share", "anchor", "leaks", "ceiling drops"], rows))
    return "".join(out)


def _coverage(d: dict) -> str:
    out = [f"<p>Measured on version <code>{d['version'][:12]}</code>: "
           + ", ".join(f"{k} {v}" for k, v in d["status"].items()) + " concepts.</p>"]  # fmt: skip
    rows = [[c, v.get("human"), v.get("synthetic"), v.get("chunks"), v.get("status")] for c, v in d["concepts"].items()]
    out.append(_table(["concept", "human", "synthetic", "chunks", "status"], rows))
    types = d.get("question_types") or {}
    if types:
        parts = [p for p in ("human", "synthetic") if p in types]
        order = list(types[parts[0]]) if parts else []
        header = ["question type", *("synthetic (kept)" if p == "synthetic" else p for p in parts)]
        out.append(_table(header, [[t, *(types[p].get(t, 0) for p in parts)] for t in order]))
    emb = {k: v for k, v in d["embedding"].items() if isinstance(v, int | float)}
    out.append(_table(["embedding coverage", "value"], [[k, v] for k, v in emb.items()]))
    if d["map_png"]:
        out.append(_img(Path(d["map_png"]).read_bytes(), "2-D map of rows and concepts"))
    else:
        out.append('<p class="missing">No 2-D map stored (tether measure without --no-map draws it).</p>')
    return "".join(out)


def _diversity(d: dict) -> str:
    prev = f" against version <code>{d['previous'][:12]}</code>" if d["previous"] else " (no earlier measured version)"
    rows = []
    for r in d["rows"]:
        delta = r["value"] - r["previous"] if r["value"] is not None and r["previous"] is not None else None
        rows.append([r["part"], r["metric"], r["value"], r["previous"], delta])
    return f"<p>Version <code>{d['version'][:12]}</code>{prev}.</p>" + _table(
        ["rows", "metric", "value", "previous", "delta"], rows
    )


def _budget(d: dict) -> str:
    """Per teacher-calling version: the plan (budget, forecast) beside what it cost. Filter versions have no plan of
    their own: their calls follow from the rows generation left."""
    header = ["version", "stage", "budget", "planned calls", "calls sent", "cache hits", "planned tokens", "tokens",
              "planned s", "seconds", "planned cost", "cost"]  # fmt: skip
    rows = []
    for r in d["rows"]:
        tokens = (r["prompt_tokens"] or 0) + (r["completion_tokens"] or 0)
        plan = [r["planned_calls"], r["calls"], r["cache_hits"], r["planned_tokens"], tokens]
        rows.append([r["version"][:12], r["stage"], r["budget"], *plan, r["planned_seconds"], r["seconds"],
                     r["planned_cost"], r["cost"]])  # fmt: skip
    return _table(header, rows)


def _teacher(d: dict) -> str:
    out = []
    a = d.get("accuracy")
    if a:
        out.append(f"<p>Teacher {escape(str(a['teacher']))} on {a['n']} seed questions: token F1 {_fmt(a['mean_f1'])}, "
                   f"fact recall {_fmt(a['fact_recall'])}.</p>")  # fmt: skip
    else:
        out.append('<p class="missing">Teacher accuracy not estimated: run <code>tether teacher accuracy</code>.</p>')
    c = d.get("calibration")
    if c:
        out.append(f"<p>Planted rows: {escape(str(c['planted']))}.</p>")
        rows = [[f["filter"], "model" if f["model"] else "rule", f["tpr"], f["fpr"], f["auc"], f["state"] or "-"]
                for f in c["filters"]]  # fmt: skip
        out.append(_table(["filter", "kind", "TPR (true kept)", "FPR (false kept)", "AUC", "state"], rows))
    else:
        out.append('<p class="missing">No judge calibration: run <code>tether judge calibrate</code>.</p>')
    return "".join(out)


def _students(d: dict) -> str:
    out = []
    rows = [[e["label"], e["kind"], e["generation"], _ci(e["accuracy"]), _ci(e["edge"]), _ci(e["typical"]),
             e["perplexity"], e["n"]] for e in d["evals"]]  # fmt: skip
    out.append(
        _table(["model", "kind", "generation", f"accuracy ({d['metric']})", "edge", "typical", "perplexity", "n"], rows)
    )
    if len(d["history"]) >= 2:
        out.append(_img(plots.history_chart(d["history"]), "accuracy and perplexity by generation"))
    flags = d["flags"]
    lines = [f"{escape(f['kind'])} at generation {f['generation']}: {escape(f['message'])}" for f in flags]
    out.append("".join(f'<p class="flag">{x}</p>' for x in lines) or '<p class="ok">No collapse flags.</p>')
    cmp = d.get("compare")
    if cmp:
        out.append(f"<h3>Did the synthetic data help? ({cmp['steps']} steps each, seed {cmp['seed']})</h3>")
        out.append(_img(plots.compare_chart(cmp["accuracy"], ARM_TITLES), "comparison of students"))
        rows = [
            [ARM_TITLES[a], cmp["rows"].get(a, "-"), _ci(cmp["accuracy"][a]), cmp["perplexity"].get(a)]
            for a in ARM_TITLES
            if a in cmp["accuracy"]
        ]
        out.append(_table(["student", "training rows", "accuracy", "perplexity"], rows))
        diffs = [
            [k, f"{v['diff']:+.3f} [{v['low']:+.3f}, {v['high']:+.3f}]", v["p_b_better"]]
            for k, v in cmp["differences"].items()
        ]
        out.append(_table(["difference", "accuracy (95 % CI)", "P(better)"], diffs))
    else:
        out.append('<p class="missing">No comparison yet: run <code>tether compare</code>.</p>')
    return "".join(out)


RENDER = {
    "funnel": _funnel,
    "provenance": _provenance,
    "coverage": _coverage,
    "diversity": _diversity,
    "budget": _budget,
    "teacher": _teacher,
    "students": _students,
}


def render(data: dict) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>tether report: {escape(data['project'])}</title><style>{CSS}</style></head><body>",
        f"<h1>tether report: {escape(data['project'])}</h1>",
        f"<p>Version <code>{data['version'][:16]}</code> ({escape(data['stage'])}, {escape(data['created_at'])}); "
        f"written {dt.datetime.now().astimezone().isoformat(timespec='seconds')}.</p>",
        "<nav>" + " · ".join(f'<a href="#section-{s}">{TITLES[s]}</a>' for s in SECTIONS) + "</nav>",
    ]
    for name in SECTIONS:
        d = data[name]
        body = (
            RENDER[name](d)
            if d.get("ran")
            else (f'<p class="missing">Not run yet: <code>{escape(d["missing"])}</code></p>')
        )
        parts.append(f'<section id="section-{name}"><h2>{TITLES[name]}</h2>{body}</section>')
    parts.append("</body></html>")
    return "\n".join(parts)
