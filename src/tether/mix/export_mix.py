"""Export a stored mix: its training rows in the asked formats, its validation rows beside them, and the data card.

The validation rows (the holdout's seed part) are written as `validation.parquet` and `validation_openai.jsonl`,
so a trainer outside tether (an OpenAI fine-tuning job's `validation_file`, a TRL script) validates on the same
real-only rows as `tether train`. The evaluation part of the holdout is not exported with the training data: it
stays in the workspace for `tether eval`, where nothing can train on it by mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tether.mix.export import FORMATS, ExportError, export, export_openai_jsonl, export_parquet, ids_path
from tether.mix.mixer import VERDICT
from tether.mix.store import MixManifest, mix_rows
from tether.seeds.holdout import VALIDATION, fixed_holdout, policy_text
from tether.workspace.store import Workspace


def export_mix(
    ws: Workspace,
    man: MixManifest,
    out_dir: Path,
    formats: Sequence[str] = FORMATS,
    system: str | None = None,
) -> dict[str, Path]:
    """Write the mix's training rows, validation rows and data card into `out_dir`; returns {what: path}."""
    train = mix_rows(ws, man, "train")
    flagged = [r.id for r in train if VERDICT in r.verdicts]
    if flagged:
        raise ExportError(f"mix {man.id[:12]} is damaged: training row {flagged[0]} carries the mix's drop verdict")
    excluded = {r.id: r for r in mix_rows(ws, man, "excluded")}
    version = ws.manifest(man.version)
    # every row the mix was drawn from, with the mix's own verdict where it left a row out
    all_rows = [excluded.get(r.id, r) for r in ws.records(version)]
    docs = {d.doc_id: d.path for d in ws.documents(version)}
    sources = [f"documents: {len(docs)} file(s) ingested into version {version.id[:12]}"]
    seed_files = sorted({r.meta["seed_file"] for r in train if r.origin == "human" and "seed_file" in r.meta})
    sources += [f"seed examples: {f}" for f in seed_files]
    holdout = fixed_holdout(ws, save=False)
    if holdout.holdout.table.object != man.holdout_object:
        raise ExportError(
            f"mix {man.id[:12]} was checked against another holdout than the workspace's current one: "
            f"re-run `tether mix --generation {man.generation}` before exporting"
        )
    metrics = {"mix": {k: v for k, v in man.report.items() if k in ("leakage", "ceiling", "holdout")}}
    if version.metrics:
        metrics["version"] = version.metrics
    out = export(
        train,
        out_dir,
        formats,
        name=f"{ws.config.project}, training generation {man.generation} (mix {man.id[:12]}, {man.mode})",
        system=system,
        all_rows=all_rows,
        sources=sources,
        metrics=metrics,
        holdout_policy=policy_text(holdout.holdout),
        doc_names=docs,
    )
    validation = holdout.part(VALIDATION)
    if validation:
        out["validation_parquet"] = export_parquet(validation, out_dir / "validation.parquet", system)
        out["validation_openai"] = export_openai_jsonl(validation, out_dir / "validation_openai.jsonl", system)
        out["validation_openai_ids"] = ids_path(out["validation_openai"])
    return out
