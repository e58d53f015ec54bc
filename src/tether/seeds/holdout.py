"""The real-only holdout: the rows that validate and evaluate every student, fixed once and never trained on.

Two parts, both human-written:

* **validation**: a share (`mix.validation_share`) of the seed examples, for validation loss and early stopping.
  Chosen by the sha256 of each seed's id (lowest first), so the choice depends on nothing but the rows: no random
  state, same choice on any machine.
* **evaluation**: every row of the held-out file (`heldout:` in tether.yaml), with its accepted aliases and its
  edge/typical flag, for factual accuracy. Never used for early stopping: a test set that picks the checkpoint
  stops being a test set.

Once chosen, the holdout is stored by id in `.tether/holdout.json` (plus its rows as a content-addressed table)
and reused by every later command, so accuracy across training generations is measured on the same questions.
Seeds added later join the training anchor, not the holdout; a changed held-out file is reported, not silently
absorbed (`tether mix --reset-holdout` rebuilds the holdout, and says that comparability across generations ends).
Generation leaves the validation seeds out of its prompts, so no teacher call restates a validation question.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from tether.config.yamlconf import read_text_file
from tether.errors import ConfigError, WorkspaceError
from tether.records import Record, records_to_table, table_to_records
from tether.seeds.tabular import TabularResult, classify_row, jsonl_rows
from tether.workspace.store import TableRef, Workspace

HOLDOUT_NAME = "holdout.json"
VALIDATION, EVALUATION = "validation", "evaluation"


class Holdout(BaseModel):
    created_at: str
    validation_share: float
    validation: list[str]  # seed record ids
    evaluation: list[str]  # held-out file record ids
    table: TableRef  # the rows of both parts, meta["holdout"] naming the part
    seeds_version: str  # the version whose seeds the validation part was drawn from
    seeds_total: int
    heldout_file: str | None = None
    heldout_sha256: str | None = None

    @property
    def ids(self) -> set[str]:
        return set(self.validation) | set(self.evaluation)


@dataclass
class FixedHoldout:
    holdout: Holdout
    rows: list[Record]
    created: bool
    notes: list[str] = field(default_factory=list)  # what changed since it was fixed, for the user to decide

    def part(self, name: str) -> list[Record]:
        return [r for r in self.rows if r.meta.get("holdout") == name]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def heldout_records(path: Path) -> list[Record]:
    """The held-out file as human records: question, answer, meta `heldout_id`, `aliases` (JSON list), `edge`,
    `source`. A malformed row stops with its line number (an evaluation set with silently missing rows would
    report accuracy on a different set than the user wrote)."""
    text = read_text_file(path, "held-out file")
    rows: list[Record] = []
    for line, raw, error in jsonl_rows(text):
        if error is not None:
            raise ConfigError(f"{path}:{line}: {error}")
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}:{line}: a held-out row must be a JSON object")
        parsed = TabularResult()
        classify_row(raw, line, parsed)
        if parsed.row_errors or not parsed.seeds:
            why = parsed.row_errors[0][1] if parsed.row_errors else "no question/answer"
            raise ConfigError(f"{path}:{line}: {why}")
        seed = parsed.seeds[0]
        aliases = raw.get("aliases") or []
        if isinstance(aliases, str):
            aliases = [aliases]
        meta = {
            "holdout": EVALUATION,
            "heldout_file": path.name,
            "line": str(line),
            "heldout_id": str(raw.get("id", f"line{line}")),
            "aliases": json.dumps([str(a) for a in aliases], ensure_ascii=False),
            "edge": "true" if raw.get("edge") in (True, "true", "True", 1, "1") else "false",
        }
        if raw.get("answerable") in (False, "false", "False", 0, "0"):
            meta["answerable"] = "false"  # the documents do not answer it: scored by abstention, not accuracy
        if seed.source:
            meta["source"] = str(seed.source)
        if seed.messages:
            rec = Record(messages=seed.messages, origin="human", strategy="heldout", concepts=seed.concepts, meta=meta)
        else:
            rec = Record(
                prompt=seed.question,
                response=seed.answer,
                origin="human",
                strategy="heldout",
                concepts=seed.concepts,
                meta=meta,
            )
        rows.append(rec)
    return rows


def choose_validation(seeds: list[Record], share: float) -> list[Record]:
    """round(share x seeds) seeds with the lowest sha256(id): a choice made by the rows alone."""
    k = int(share * len(seeds) + 0.5)  # half rounds up (Python's round() would send 0.5 to 0)
    ranked = sorted(seeds, key=lambda r: (_sha(r.id.encode()), r.id))
    chosen = {r.id for r in ranked[:k]}
    return [r for r in seeds if r.id in chosen]


def _path(ws: Workspace) -> Path:
    return ws.store / HOLDOUT_NAME


def load_holdout(ws: Workspace) -> Holdout | None:
    path = _path(ws)
    if not path.is_file():
        return None
    try:
        return Holdout.model_validate_json(path.read_text("utf-8"))
    except ValueError as e:
        raise WorkspaceError(
            f"{path} is unreadable ({str(e).splitlines()[0]}); restore it, or rebuild with `tether mix --reset-holdout`"
        ) from None


def _build(ws: Workspace) -> tuple[Holdout, list[Record]]:
    cfg = ws.config
    head = ws.head()
    if head is None:
        raise WorkspaceError(f"{ws.root} has no versions yet (run `tether ingest` first)")
    seeds = ws.human_records(head)
    validation = choose_validation(seeds, cfg.mix.validation_share)
    val_rows = [r.model_copy(update={"meta": {**r.meta, "holdout": VALIDATION}}) for r in validation]
    evaluation = heldout_records(cfg.heldout) if cfg.heldout else []
    rows = val_rows + evaluation
    h = Holdout(
        created_at=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        validation_share=cfg.mix.validation_share,
        validation=[r.id for r in val_rows],
        evaluation=[r.id for r in evaluation],
        table=ws.put_table(records_to_table(rows)),
        seeds_version=head.id,
        seeds_total=len(seeds),
        heldout_file=str(cfg.heldout) if cfg.heldout else None,
        heldout_sha256=_sha(cfg.heldout.read_bytes()) if cfg.heldout else None,
    )
    return h, rows


def _save(ws: Workspace, h: Holdout) -> None:
    path = _path(ws)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(h.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _rows(ws: Workspace, h: Holdout) -> list[Record]:
    try:
        return table_to_records(ws.read_ref(h.table))
    except WorkspaceError as e:
        raise WorkspaceError(
            f"the holdout's rows cannot be read ({e}); rebuild with `tether mix --reset-holdout`"
        ) from None


def _changes(ws: Workspace, h: Holdout) -> list[str]:
    """What differs between the stored holdout and what would be chosen now: reported, never applied."""
    cfg = ws.config
    notes = []
    now = str(cfg.heldout) if cfg.heldout else None
    if now != h.heldout_file:
        notes.append(f"tether.yaml now names held-out file {now}, the holdout was fixed from {h.heldout_file}")
    elif cfg.heldout and _sha(cfg.heldout.read_bytes()) != h.heldout_sha256:
        notes.append(f"{cfg.heldout.name} changed since the holdout was fixed ({h.created_at})")
    if cfg.mix.validation_share != h.validation_share:
        notes.append(
            f"mix.validation_share is {cfg.mix.validation_share}, the holdout was fixed at {h.validation_share}"
        )
    if notes:
        notes.append(
            "the stored holdout is used as it is; `tether mix --reset-holdout` rebuilds it "
            "(accuracy across generations stops being comparable)"
        )
    return notes


def fixed_holdout(ws: Workspace, *, save: bool = True, reset: bool = False) -> FixedHoldout:
    """The workspace's holdout: the stored one, else chosen now (and stored when `save`; a dry run passes False)."""
    h = None if reset else load_holdout(ws)
    if h is not None:
        return FixedHoldout(h, _rows(ws, h), created=False, notes=_changes(ws, h))
    h, rows = _build(ws)
    if save:
        _save(ws, h)
    return FixedHoldout(h, rows, created=True)


def policy_text(h: Holdout) -> str:
    """The data card's holdout paragraph."""
    heldout = (
        f"all {len(h.evaluation)} rows of the held-out file `{Path(h.heldout_file).name}` (sha256 "
        f"{(h.heldout_sha256 or '')[:12]})"
        if h.heldout_file
        else "none (no held-out file configured)"
    )
    return (
        f"Held out since {h.created_at}, by id, and never trained on. Validation: {len(h.validation)} of "
        f"{h.seeds_total} human seed examples ({h.validation_share:.0%}, chosen by the sha256 of their ids). "
        f"Evaluation: {heldout}. Every training row was checked against them before mixing (same question, "
        "near-duplicate question by MinHash, paraphrase by embedding, the held-out answer restated under a similar "
        "question, and rows generated from a held-out seed); matches were removed as `holdout_leak`."
    )
