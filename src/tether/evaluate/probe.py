"""`tether probe`: which facts of its own training set a trained student still does not know.

Held-out accuracy says how much a student knows; it cannot say where to spend the next budget without spending
the holdout (a question generated to fix a held-out miss is that held-out question in training). The probe asks
the student training-side questions instead: rows of the mix it was trained on (human seeds and kept synthetic
rows, written from the chunks and leak-checked against the holdout at mixing), and checks each reply against the
row's own answer. A row is known when the reply states every checkable fact of the answer (numbers, times, dates,
codes, names: `text.facts`) that its question does not already give away; rows whose answer has no such fact are
not probed (a deterministic check cannot score them). The misses point at chunks and concepts the student did not
learn from one or two exposures; `tether generate --target mistakes` spends the next budget there
(`run/mistakes.py`).

Results are stored like evaluations (`.tether/probes/<key>.json`, key = student, mix, questions, settings): the
same probe is read back, not asked again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tether.errors import TetherError
from tether.evaluate.metrics import bootstrap_ci
from tether.evaluate.runner import Target, answer_all
from tether.records import Record, content_hash
from tether.text.facts import Evidence, Fact, extract_facts
from tether.workspace.store import Workspace

PROBES = "probes"
# strategies whose rows make no probe: a false-premise row's answer declines its question by design
NOT_PROBED = frozenset({"unanswerable"})


@dataclass(frozen=True)
class ProbeQuestion:
    """One training row asked back: its question, its answer, and the facts a reply must state."""

    row_id: str
    question: str
    answer: str
    facts: tuple[str, ...]  # the answer's checkable facts the question does not give away (as written)
    chunk_id: str
    concepts: tuple[str, ...]
    origin: str
    strategy: str


def key_facts(question: str, answer: str) -> list[Fact]:
    """The answer's checkable facts that its question does not already state (each fact once)."""
    given = Evidence.of(question)
    seen: set[tuple[str, str]] = set()
    out = []
    for f in extract_facts(answer):
        if given.supports(f) or (f.kind, f.text.lower()) in seen:
            continue
        seen.add((f.kind, f.text.lower()))
        out.append(f)
    return out


def probe_questions(rows: Sequence[Record], limit: int) -> list[ProbeQuestion]:
    """Up to `limit` probes from training rows with a source chunk and a fact to check, spread over the chunks:
    one row per chunk in an order fixed by a hash, then a second, and so on."""
    by_chunk: dict[str, list[ProbeQuestion]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: _order(r.id)):
        if r.strategy in NOT_PROBED or r.meta.get("declined") or not r.source or not r.source.chunk_id:
            continue
        facts = key_facts(r.question(), r.answer())
        if not facts or not r.question().strip():
            continue
        by_chunk[r.source.chunk_id].append(
            ProbeQuestion(
                row_id=r.id,
                question=r.question(),
                answer=r.answer(),
                facts=tuple(f.text for f in facts),
                chunk_id=r.source.chunk_id,
                concepts=tuple(r.concepts),
                origin=r.origin,
                strategy=r.strategy or "",
            )
        )
    chunks = sorted(by_chunk, key=_order)
    out: list[ProbeQuestion] = []
    for depth in range(max((len(v) for v in by_chunk.values()), default=0)):
        for c in chunks:
            if depth < len(by_chunk[c]) and len(out) < limit:
                out.append(by_chunk[c][depth])
    return out


def _order(text: str) -> str:
    return hashlib.sha256(f"probe:{text}".encode()).hexdigest()


def missing_facts(reply: str, probe: ProbeQuestion) -> list[str]:
    """The probe's facts the reply does not state (empty: the student knows it)."""
    said = Evidence.of(reply)
    wanted = [f for f in extract_facts(probe.answer) if f.text in probe.facts]
    return sorted({f.text for f in wanted if not said.supports(f)})


def probe_path(ws: Workspace, key: str) -> Path:
    return ws.store / PROBES / f"{key}.json"


def run_probe(
    ws: Workspace,
    target: Target,
    rows: Sequence[Record],
    mix_id: str,
    *,
    limit: int,
    base_dir: Path | None = None,
    adapter_dir: Path | None = None,
    endpoint=None,
    on_done: Callable[[int], None] | None = None,
    force: bool = False,
) -> dict:
    """Ask a local student (`base_dir` [+ `adapter_dir`]) or an `endpoint` the probes of `rows` (the training rows
    of mix `mix_id`); returns the stored result, read back when the same probe ran before."""
    cfg = ws.config
    probes = probe_questions(rows, limit)
    if not probes:
        raise TetherError(
            "nothing to probe: no training row of this mix has a source chunk and a number, date, code or name in its "
            "answer to check a reply against"
        )
    settings = {
        "target": target.key(),
        "mix": mix_id,
        "probes": [p.row_id for p in probes],
        "max_new_tokens": cfg.eval.max_new_tokens,
        "system": cfg.train.system,
    }
    key = content_hash(settings)
    path = probe_path(ws, key)
    if path.is_file() and not force:
        return json.loads(path.read_text("utf-8"))
    answers, _ = answer_all(
        [p.question for p in probes],
        target,
        system=cfg.train.system,
        max_new_tokens=cfg.eval.max_new_tokens,
        batch_size=cfg.eval.batch_size,
        cache=ws.store / "cache.sqlite",
        base_dir=base_dir,
        adapter_dir=adapter_dir,
        endpoint=endpoint,
        on_done=on_done,
    )
    items = []
    for p, a in zip(probes, answers, strict=True):
        missing = missing_facts(a, p)
        items.append({**asdict(p), "prediction": a, "missing": missing, "known": not missing})
    result = {
        "key": key,
        "target": asdict(target),
        "mix": mix_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "summary": summarise(items, cfg.eval.bootstrap),
        "items": items,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1), "utf-8")
    tmp.replace(path)
    return result


def summarise(items: list[dict], resamples: int) -> dict:
    """Share of probes known, with its interval; per concept and per origin (the seeds' own rows vs synthetic)."""
    known = [1.0 if it["known"] else 0.0 for it in items]
    mean, lo, hi = bootstrap_ci(known, n_resamples=resamples)
    by_concept: dict[str, list[float]] = defaultdict(list)
    by_origin: dict[str, list[float]] = defaultdict(list)
    for it, k in zip(items, known, strict=True):
        for c in it["concepts"] or ["(none)"]:
            by_concept[c].append(k)
        by_origin[it["origin"]].append(k)
    return {
        "n": len(items),
        "known": int(sum(known)),
        "accuracy": {"mean": mean, "low": lo, "high": hi},
        "by_concept": {c: {"n": len(v), "known": int(sum(v))} for c, v in sorted(by_concept.items())},
        "by_origin": {o: {"n": len(v), "known": int(sum(v))} for o, v in sorted(by_origin.items())},
        "missed_chunks": len({it["chunk_id"] for it in items if not it["known"]}),
    }


def latest_probe(ws: Workspace) -> dict:
    """The newest stored probe of the workspace; one clear error when there is none."""
    root = ws.store / PROBES
    found = [json.loads(p.read_text("utf-8")) for p in root.glob("*.json")] if root.is_dir() else []
    if not found:
        raise TetherError("no probe yet: train a student (`tether train`), then run `tether probe`")
    return max(found, key=lambda r: r["created_at"])
