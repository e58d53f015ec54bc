"""`tether mix`: the training set of one generation, built from a dataset version under the mixing policy.

Order of work, each step recording why a row is left out (nothing vanishes):

1. The fixed real-only holdout (`mix.holdout`): chosen once, then read from the workspace.
2. Eligible rows: human rows, and synthetic rows the filters kept. Synthetic rows never filtered are left out as
   `unfiltered` (a mix of unchecked rows would defeat the funnel), rows the filters dropped keep their verdicts.
3. The generation's rows (`mix.assemble`): anchor + synthetic generations <= G, or generation G alone (replace).
4. The leakage check (`mix.leakage`) on every row of the set, human rows included → `holdout_leak`.
5. The anchor rule: in accumulate mode, a generation whose human anchor is smaller than the previous generation's
   is refused, with one line saying how to get the rows back.
6. The synthetic ceiling (`mix.ceiling`): diversity-aware down-sampling → `synthetic_ceiling`.
7. The provenance report, and the mix stored in `.tether/mixes/` (content-addressed: the same inputs give the
   same mix id). Every training row's id is written to the lineage db with the mix, so `tether lineage` says
   which training sets a row went into.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import numpy as np

from tether.embed.embedder import workspace_embedder
from tether.errors import TetherError
from tether.measure.context import concept_matcher
from tether.mix.assemble import REPLACE_WARNING, Mode, assemble
from tether.mix.ceiling import REASON as CEILING
from tether.mix.ceiling import max_synthetic, select_synthetic
from tether.mix.leakage import REASON as LEAK
from tether.mix.leakage import leak_counts, without_leaks
from tether.mix.provenance import provenance
from tether.mix.store import MixManifest, mix_rows, previous_mix, save_mix
from tether.records import Record, Verdict, content_hash, records_to_table
from tether.seeds.audit import row_text, seed_concepts
from tether.seeds.holdout import VALIDATION, FixedHoldout, fixed_holdout
from tether.seeds.ontology import load_ontology
from tether.workspace.store import Workspace, new_run_id

log = logging.getLogger(__name__)
VERDICT = "mix"  # the verdict name under which a mix records why it left a row out
UNFILTERED = "unfiltered"
HELD_OUT = "holdout"


class MixError(TetherError):
    """A mix that would break the policy (e.g. a shrinking anchor)."""


@dataclass
class MixResult:
    manifest: MixManifest
    created: bool
    train: list[Record]
    excluded: list[Record]  # rows the mix left out, each with a `mix` verdict
    holdout: FixedHoldout
    warnings: list[str] = field(default_factory=list)


def _drop(r: Record, reason: str, detail: str) -> Record:
    return r.model_copy(update={"verdicts": {**r.verdicts, VERDICT: Verdict(keep=False, reason=reason, detail=detail)}})


def _concepts(ws: Workspace, rows: list[Record], embedder, man) -> tuple[list[set[str]], str | None]:
    """Each row's concepts (declared + matched), or all empty when the workspace has no ontology."""
    cfg = ws.config
    if cfg.ontology is None:
        return [set() for _ in rows], "no ontology: the ceiling keeps rows by embedding diversity alone"
    onto = load_ontology(cfg.ontology)
    chunks = ws.chunks(man)  # the mixed version's chunks: concept profiles are built from them
    matcher = concept_matcher(ws, onto, chunks, embedder)
    return seed_concepts(rows, matcher, set(onto.names())), None


def build_mix(
    ws: Workspace,
    generation: int,
    *,
    mode: Mode | None = None,
    ceiling: float | str | None = "config",
    version: str = "head",
    reset_holdout: bool = False,
) -> MixResult:
    """Assemble, check and store the training set of `generation` from `version`."""
    cfg = ws.config
    mode = mode or cfg.mix.mode
    cap = cfg.mix.ceiling if ceiling == "config" else ceiling
    if cap is not None and not 0 <= float(cap) < 1:
        raise MixError(f"the synthetic ceiling must be in [0, 1), got {cap} (leave it unset for no ceiling)")
    man = ws.manifest(version)
    records = ws.records(man)
    by_id = {r.id: r for r in records}
    warnings: list[str] = []
    holdout = fixed_holdout(ws, reset=reset_holdout)
    warnings += holdout.notes
    if mode == "replace":
        warnings.append(REPLACE_WARNING.format(g=generation))

    excluded: list[Record] = []
    eligible: list[Record] = []
    for r in records:
        if r.origin == "synthetic" and not r.verdicts:
            excluded.append(_drop(r, UNFILTERED, "synthetic row not yet filtered: run `tether filter`"))
        elif r.kept:
            eligible.append(r)
    unfiltered = len(excluded)
    if unfiltered:
        warnings.append(f"{unfiltered} synthetic rows were never filtered and are left out (run `tether filter`)")

    asm = assemble(eligible, generation, mode)
    held_ids = holdout.holdout.ids
    candidates = []
    for r in (eligible[i] for i in asm.anchor + asm.synthetic):
        if r.id in held_ids:  # the validation seeds themselves: held out, not leaked
            excluded.append(_drop(r, HELD_OUT, f"{VALIDATION} seed, held out since {holdout.holdout.created_at}"))
        else:
            candidates.append(r)
    embedder = workspace_embedder(ws)
    clean, leaks = without_leaks(candidates, holdout.rows, embedder, cfg.mix.leakage, by_id)
    for i, leak in sorted(leaks.items()):
        excluded.append(_drop(candidates[i], LEAK, leak.detail))
    anchor = [r for r in clean if r.origin == "human"]
    synthetic = [r for r in clean if r.origin == "synthetic"]

    prev = previous_mix(ws, generation) if mode == "accumulate" else None
    churn = {}
    if prev is not None:
        if len(anchor) < prev.anchor:
            raise MixError(
                f"generation {generation}'s human anchor would have {len(anchor)} rows, generation {prev.generation}'s "
                f"(mix {prev.id[:12]}) had {prev.anchor}: a training generation never loses real rows. Restore the "
                "missing seeds and re-ingest, or mix from the version that had them (--version)"
            )
        prev_train = {r.id for r in mix_rows(ws, prev)}
        churn = {
            "previous_mix": prev.id,
            "anchor_rows_kept": sum(r.id in prev_train for r in anchor),
            "synthetic_rows_kept": sum(r.id in prev_train for r in synthetic),
        }

    tags, concept_note = _concepts(ws, anchor + synthetic, embedder, man)
    if concept_note:
        warnings.append(concept_note)
    syn_tags = tags[len(anchor) :]
    ceiling_report: dict = {"ceiling": cap, "allowed": None, "dropped": 0}
    if cap is not None and mode == "accumulate":
        allowed = max_synthetic(len(anchor), cap)
        ceiling_report["allowed"] = allowed
        if len(synthetic) > allowed:
            emb = np.asarray(embedder.embed([row_text(r) for r in synthetic]), dtype=np.float32)
            concept_rows: dict[str, int] = {}
            for t in tags:
                for c in t:
                    concept_rows[c] = concept_rows.get(c, 0) + 1
            sel = select_synthetic(synthetic, allowed, emb, [sorted(t) for t in syn_tags], concept_rows, ceiling=cap)
            for i, why in sorted(sel.dropped.items()):
                excluded.append(_drop(synthetic[i], CEILING, why))
            ceiling_report["dropped"] = len(sel.dropped)
            synthetic = [synthetic[i] for i in sel.chosen]
            syn_tags = [syn_tags[i] for i in sel.chosen]
    elif cap is not None:
        warnings.append("replace mode: the synthetic ceiling does not apply (there is no anchor to measure it by)")

    train = anchor + synthetic
    report = {
        "provenance": provenance(train, tags[: len(anchor)] + syn_tags),
        "eligible": {
            "human": len(asm.anchor) - len(held_ids & {eligible[i].id for i in asm.anchor}),
            "synthetic": len(asm.synthetic),
            "other_generations": len(asm.left_out),
        },
        "unfiltered": unfiltered,
        "filter_dropped": sum(not r.kept for r in records),
        "leakage": {"removed": len(leaks), "by_matcher": leak_counts(leaks)},
        "ceiling": ceiling_report,
        "holdout": {"validation": len(holdout.holdout.validation), "evaluation": len(holdout.holdout.evaluation)},
        "churn": churn,
    }
    return _store(ws, generation, mode, cap, man.id, holdout, train, excluded, report, warnings)


def _store(ws, generation, mode, cap, version, holdout, train, excluded, report, warnings) -> MixResult:
    train_ref = ws.put_table(records_to_table(train))
    excluded_ref = ws.put_table(records_to_table(excluded))
    mix_id = content_hash(
        {
            "generation": generation,
            "mode": mode,
            "ceiling": cap,
            "version": version,
            "holdout": holdout.holdout.table.object,
            "train": train_ref.object,
            "excluded": excluded_ref.object,
        },
        n=16,
    )
    existing = ws.store / "mixes" / f"{mix_id}.json"
    created = not existing.is_file()
    if created:
        man = MixManifest(
            id=mix_id,
            generation=generation,
            mode=mode,
            ceiling=cap,
            version=version,
            holdout_object=holdout.holdout.table.object,
            created_at=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            run_id=new_run_id(),
            tables={"train": train_ref, "excluded": excluded_ref},
            anchor=sum(r.origin == "human" for r in train),
            report=report,
            notes=warnings,
        )
        save_mix(ws, man)
        ws.lineage.add_mix(mix_id, generation, [r.id for r in train])
        ws.log_all(
            man.run_id,
            [{"event": "mix_drop", "row": r.id, **r.verdicts[VERDICT].model_dump(exclude={"keep"})} for r in excluded],
        )
    else:
        man = MixManifest.model_validate_json(existing.read_text("utf-8"))
    return MixResult(man, created, train, excluded, holdout, warnings)
