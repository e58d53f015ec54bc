"""The data card written beside every export: what the rows are made of and how they were chosen, in markdown.

A trainer downloading `train.parquet` months later should see, without the workspace, how much of it an AI wrote
(stated in the first lines, never left to arithmetic), which teachers wrote it, which documents and seed files it
comes from, what the filters dropped and why, the diversity metrics, and what was held out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from tether.records import Record

NONE = "(none)"
MAX_LISTED = 25  # documents and concepts beyond this are summarised in one line
MAX_METRICS = 80


def data_card(
    name: str,
    exported: list[Record],
    all_rows: list[Record] | None = None,
    sources: Sequence[str] = (),
    metrics: Mapping | None = None,
    holdout_policy: str | None = None,
    *,
    files: Mapping[str, str] | None = None,
    doc_names: Mapping[str, str] | None = None,
) -> str:
    """Markdown card of an export. `all_rows`: every row the mix was drawn from (kept and dropped), to count the
    filters' drops by reason; `files`: {file name: what it holds} of the export; `doc_names`: {doc_id: path} so
    the card names documents as their owners know them."""
    n = len(exported)
    synth = sum(r.origin == "synthetic" for r in exported)
    lines = [
        f"# Data card: {name}",
        "",
        f"{n} rows. **AI-generated (synthetic) share: {_pct(synth, n)} ({synth} of {n} rows)**; "
        f"human-written: {_pct(n - synth, n)} ({n - synth} rows).",
        "",
        "Every row carries `tether_id`, the id of its record in the tether workspace: "
        "`tether lineage <tether_id>` traces it to its seed, teacher, chunk and document.",
    ]
    if files:
        lines += ["", "## Files", "", *_table(("file", "content"), [(f"`{k}`", v) for k, v in files.items()])]
    lines += _sources(exported, sources, doc_names or {})
    lines += _teachers(exported)
    lines += ["", "## Composition"]
    lines += _shares("origin", (r.origin for r in exported), n)
    lines += _shares("kind", (r.kind for r in exported), n)
    lines += _shares("strategy", (r.strategy or NONE for r in exported), n)
    lines += _shares("generation", (r.generation for r in exported), n, sort_keys=True)
    concepts = Counter(c for r in exported for c in dict.fromkeys(r.concepts)) + Counter(
        NONE for r in exported if not r.concepts
    )
    lines += _shares("concept", concepts, n, note="a row may name several concepts: shares do not add up to 100 %")
    lines += _filters(exported, all_rows)
    lines += _metrics(metrics)
    lines += ["", "## Holdout policy", "", holdout_policy.strip() if holdout_policy else "Not stated."]
    return "\n".join(lines) + "\n"


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.1f} %" if n else "n/a"


def _cell(v: object) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _shares(
    what: str, values: Iterable[object] | Counter, n: int, sort_keys: bool = False, note: str | None = None
) -> list[str]:
    counts = values if isinstance(values, Counter) else Counter(values)
    items = sorted(counts.items()) if sort_keys else counts.most_common()
    rows = [(k, c, _pct(c, n)) for k, c in items[:MAX_LISTED]]
    out = ["", f"### By {what}", ""]
    if note:
        out += [f"({note})", ""]
    out += _table((what, "rows", "share"), rows)
    if len(items) > MAX_LISTED:
        rest = sum(c for _, c in items[MAX_LISTED:])
        out += ["", f"… and {len(items) - MAX_LISTED} more {what} values ({rest} row mentions)."]
    return out


def _sources(exported: list[Record], sources: Sequence[str], doc_names: Mapping[str, str]) -> list[str]:
    out = ["", "## Sources", ""]
    out += [f"- {s}" for s in sources] or ["- (not given)"]
    docs = Counter(doc_names.get(r.source.doc_id, r.source.doc_id) for r in exported if r.source)
    unsourced = sum(r.source is None for r in exported)
    out += ["", f"Rows draw on {len(docs)} document(s); {unsourced} row(s) name no source document."]
    if docs:
        out += ["", *_table(("document", "rows"), docs.most_common(MAX_LISTED))]
        if len(docs) > MAX_LISTED:
            out += ["", f"… and {len(docs) - MAX_LISTED} more documents."]
    return out


def _teachers(exported: list[Record]) -> list[str]:
    out = ["", "## Teachers", ""]
    teachers = Counter(
        (t.model, t.digest or "-", t.version or "-", t.quant or "-") for r in exported if (t := r.teacher) is not None
    )
    if not teachers:
        return [*out, "None: no exported row was written by a model."]
    no_teacher = sum(r.origin == "synthetic" and r.teacher is None for r in exported)
    out += _table(("model", "digest", "version", "quant", "rows"), [(*k, c) for k, c in teachers.most_common()])
    if no_teacher:
        out += ["", f"{no_teacher} synthetic row(s) name no teacher (imported from elsewhere)."]
    return out


def _filters(exported: list[Record], all_rows: list[Record] | None) -> list[str]:
    out = ["", "## Filters", ""]
    exported_ids = {r.id for r in exported}
    flagged = sum(not r.kept for r in exported)
    if all_rows is None:
        ran = Counter(name for r in exported for name in r.verdicts)
        out.append("Only the exported rows were given, so drops are not counted here.")
        if ran:
            out += ["", *_table(("filter", "exported rows it checked"), sorted(ran.items()))]
    else:
        dropped = [r for r in all_rows if not r.kept and r.id not in exported_ids]
        left_out = [r for r in all_rows if r.kept and r.id not in exported_ids]
        reasons = Counter(
            (name, v.reason or "?") for r in dropped for name, v in r.verdicts.items() if not v.keep
        ).most_common()
        out.append(
            f"{len(all_rows)} rows considered: {len(dropped)} left out with a verdict (a filter's, or the mix's: "
            f"holdout, holdout_leak, synthetic_ceiling), {len(left_out)} kept but not in this export, "
            f"{len(exported)} exported."
        )
        if reasons:
            out += [
                "",
                "Dropped rows by filter and reason (a row dropped by two filters counts under both):",
                "",
                *_table(("filter", "reason", "rows dropped"), [(f, why, c) for (f, why), c in reasons]),
            ]
        missing = len(exported_ids - {r.id for r in all_rows})
        if missing:
            out += ["", f"{missing} exported row(s) are not among the rows considered."]
    if flagged:
        out += ["", f"**{flagged} exported row(s) carry a drop verdict** (exported on purpose, or a mixing bug)."]
    return out


def _flatten(d: Mapping, prefix: str = "") -> Iterable[tuple[str, object]]:
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            yield from _flatten(v, key + ".")
        else:
            yield key, v


def _value(v: object) -> object:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list | tuple) and len(v) > 5:
        return f"[{len(v)} items]"  # e.g. drift example ids: the manifest has them, the card only counts them
    return v


def _metrics(metrics: Mapping | None) -> list[str]:
    out = ["", "## Metrics", ""]
    if not metrics:
        return [*out, "None given."]
    rows = [(k, _value(v)) for k, v in _flatten(metrics)]
    out += _table(("metric", "value"), rows[:MAX_METRICS])
    if len(rows) > MAX_METRICS:
        out += ["", f"… and {len(rows) - MAX_METRICS} more metrics (see the version's manifest)."]
    return out
