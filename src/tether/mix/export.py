"""Export the rows of a mix in the formats trainers read, each row keeping a `tether_id` back to its record.

Pure functions over a list of `Record` (the mixer decides which rows; these only write them). Every row of the input
is written, in input order, or the export fails before any file is written: a row that cannot become a training
example (no answer, no question, an empty turn) is an error naming the row, never a silent drop.

How a row becomes a conversation (`conversation`), the same in every format:

* `messages` rows keep their turns as written; a trailing user turn is completed with `response` when the row has
  one. prompt/response rows become one user turn and one assistant turn.
* preference rows: the assistant turn is the chosen answer (`response`); `rejected` only appears in the Parquet
  column and in the OpenAI preference (DPO) file.
* cot rows: the assistant turn is the reasoning and the answer joined by `COT_FORMAT` ("<reasoning>\\n\\nAnswer:
  <answer>"), so a student learns to reason before answering and the answer stays findable after a fixed marker.
  Parquet also keeps `reasoning` and `response` apart.
* `system` (optional) is prepended as a system turn unless the row already starts with its own system turn.

Where `tether_id` lives: a column in Parquet, `id` in ShareGPT, `tether_id` in Alpaca. The OpenAI fine-tuning line
schema documents only `messages`, `tools`, `parallel_tool_calls` and `functions` (supervised) and `input`,
`preferred_output`, `non_preferred_output` (DPO), so tether adds no key to those lines: the ids go to a sidecar
`<path>.ids`, one tether_id per line in the same order as the JSONL lines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tether.errors import TetherError
from tether.mix.datacard import data_card
from tether.records import Record

COT_FORMAT = "{reasoning}\n\nAnswer: {answer}"
FORMATS = ("parquet", "openai", "sharegpt", "alpaca")
FILES = {
    "parquet": "train.parquet",
    "openai": "openai_chat.jsonl",
    "openai_preference": "openai_preference.jsonl",
    "sharegpt": "sharegpt.json",
    "alpaca": "alpaca.json",
    "data_card": "DATA_CARD.md",
}
SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}
# keys OpenAI's fine-tuning line schema and its data-prep checks accept (chat_finetuning_data_prep)
_CHAT_LINE_KEYS = {"messages", "tools", "parallel_tool_calls", "functions"}
_MESSAGE_KEYS = {"role", "content", "name", "weight"}
_PREF_LINE_KEYS = {"input", "preferred_output", "non_preferred_output"}
_ROLES = ("system", "user", "assistant")

Turn = dict[str, str]


class ExportError(TetherError):
    """A row cannot become a training example in the asked format."""


# -- one row → one conversation -------------------------------------------------------------------------------------


def assistant_text(rec: Record, answer: str) -> str:
    """The assistant turn a student learns: the answer, preceded by the reasoning for cot rows."""
    if rec.kind == "cot" and rec.reasoning and rec.reasoning.strip():
        return COT_FORMAT.format(reasoning=rec.reasoning.strip(), answer=answer)
    return answer


def conversation(rec: Record, system: str | None = None) -> list[Turn]:
    """The row as chat turns ending in the assistant's answer; raises `ExportError` naming the row if it has none."""
    turns, problems = _build(rec, system)
    if problems:
        raise ExportError(f"row {rec.id} cannot be exported: {'; '.join(problems)}")
    return turns


def _build(rec: Record, system: str | None) -> tuple[list[Turn], list[str]]:
    if rec.messages:
        turns = [{"role": m.role, "content": m.content} for m in rec.messages]
        if turns[-1]["role"] != "assistant" and rec.response is not None:
            turns.append({"role": "assistant", "content": rec.response})
    else:
        turns = [{"role": "user", "content": rec.prompt or ""}, {"role": "assistant", "content": rec.response or ""}]
    if turns[-1]["role"] == "assistant" and turns[-1]["content"].strip():
        turns[-1]["content"] = assistant_text(rec, turns[-1]["content"])
    if system and turns[0]["role"] != "system":
        turns.insert(0, {"role": "system", "content": system})
    return turns, _turn_problems(turns)


def _turn_problems(turns: Sequence[object]) -> list[str]:
    """What makes a list of turns unusable as a supervised example (shared by export and validation)."""
    problems: list[str] = []
    if not turns:
        return ["no messages"]
    for i, t in enumerate(turns):
        if not isinstance(t, dict):
            problems.append(f"message {i} is not an object")
            continue
        if t.get("role") not in _ROLES:
            problems.append(f"message {i} has role {t.get('role')!r} (allowed: {', '.join(_ROLES)})")
        content = t.get("content")
        if not isinstance(content, str) or not content.strip():
            last_answer = i == len(turns) - 1 and t.get("role") == "assistant"
            problems.append("no answer: the assistant message is empty" if last_answer else f"message {i} is empty")
    roles = [t.get("role") for t in turns if isinstance(t, dict)]
    if "user" not in roles:
        problems.append("no user message")
    if not roles or roles[-1] != "assistant":
        problems.append("no answer: the last message is not from the assistant")
    return problems


def check_exportable(records: Iterable[Record], system: str | None = None) -> None:
    """Raise one `ExportError` line listing the rows (up to 5) that cannot be exported, before anything is written."""
    bad = [f"{rec.id} ({'; '.join(p)})" for rec in records if (p := _build(rec, system)[1])]
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ExportError(f"{len(bad)} row(s) cannot be exported: {', '.join(bad[:5])}{more}")


# -- validation of the OpenAI line formats --------------------------------------------------------------------------


def validate_openai_chat_line(obj: object) -> list[str]:
    """Problems of one supervised fine-tuning line (empty list: valid). Checks what OpenAI's upload checks do:
    known keys, roles, non-empty string content, at least one user message, the last message from the assistant."""
    if not isinstance(obj, dict):
        return ["line is not a JSON object"]
    problems = [f"unknown key {k!r}" for k in sorted(set(obj) - _CHAT_LINE_KEYS)]
    messages = obj.get("messages")
    if not isinstance(messages, list):
        return [*problems, "missing 'messages' list"]
    for i, m in enumerate(messages):
        if isinstance(m, dict):
            problems += [f"message {i} has unknown key {k!r}" for k in sorted(set(m) - _MESSAGE_KEYS)]
            if "weight" in m and m["weight"] not in (0, 1):
                problems.append(f"message {i} has weight {m['weight']!r} (0 or 1)")
    return problems + _turn_problems(messages)


def validate_openai_preference_line(obj: object) -> list[str]:
    """Problems of one DPO line: `input.messages` ending in a user turn, one non-empty assistant message in each of
    `preferred_output` and `non_preferred_output`, and the two outputs different."""
    if not isinstance(obj, dict):
        return ["line is not a JSON object"]
    problems = [f"unknown key {k!r}" for k in sorted(set(obj) - _PREF_LINE_KEYS)]
    inp = obj.get("input")
    messages = inp.get("messages") if isinstance(inp, dict) else None
    if not isinstance(messages, list) or not messages:
        problems.append("missing 'input.messages' list")
    else:
        # the prompt side: a valid conversation once an answer is appended, ending in a user turn
        probe = [*messages, {"role": "assistant", "content": "x"}]
        problems += [p for p in _turn_problems(probe) if "last message" not in p]
        if isinstance(messages[-1], dict) and messages[-1].get("role") != "user":
            problems.append("input.messages does not end with a user message")
    outputs = []
    for key in ("preferred_output", "non_preferred_output"):
        out = obj.get(key)
        ok = isinstance(out, list) and len(out) == 1 and isinstance(out[0], dict)
        if not ok or out[0].get("role") != "assistant" or not str(out[0].get("content") or "").strip():
            problems.append(f"'{key}' is not one non-empty assistant message")
        else:
            outputs.append(out[0]["content"])
    if len(outputs) == 2 and outputs[0].strip() == outputs[1].strip():
        problems.append("preferred and non-preferred outputs are identical")
    return problems


# -- writers ---------------------------------------------------------------------------------------------------------


def _write_text(path: Path, text: str) -> Path:
    """Write atomically: a killed export never leaves a half-written file under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    os.replace(tmp, path)
    return path


def _jsonl(objs: Iterable[object]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs)


def ids_path(path: Path) -> Path:
    """The sidecar of an OpenAI JSONL file: one tether_id per line, in the order of the JSONL lines."""
    path = Path(path)
    return path.with_name(path.name + ".ids")


def export_openai_jsonl(records: Sequence[Record], path: Path, system: str | None = None) -> Path:
    """OpenAI chat fine-tuning JSONL (`{"messages": [...]}` per line) plus the `<path>.ids` sidecar."""
    check_exportable(records, system)
    _write_text(path, _jsonl({"messages": conversation(r, system)} for r in records))
    _write_text(ids_path(path), "".join(f"{r.id}\n" for r in records))
    return Path(path)


def export_openai_preference_jsonl(records: Sequence[Record], path: Path, system: str | None = None) -> Path:
    """OpenAI DPO JSONL for preference rows: the conversation up to the answer as `input.messages`, the chosen answer
    as `preferred_output`, `rejected` as `non_preferred_output`; plus the `<path>.ids` sidecar."""
    others = [r.id for r in records if r.kind != "preference"]
    if others:
        n = len(others)
        raise ExportError(f"{n} row(s) are not preference rows, e.g. {others[0]}: a DPO line needs a rejected answer")
    check_exportable(records, system)
    lines = []
    for r in records:
        turns = conversation(r, system)
        lines.append(
            {
                "input": {"messages": turns[:-1]},
                "preferred_output": [turns[-1]],
                "non_preferred_output": [{"role": "assistant", "content": r.rejected or ""}],
            }
        )
    bad = [(r.id, p) for r, line in zip(records, lines, strict=True) if (p := validate_openai_preference_line(line))]
    if bad:
        raise ExportError(f"row {bad[0][0]} cannot be a DPO example: {'; '.join(bad[0][1])}")
    _write_text(path, _jsonl(lines))
    _write_text(ids_path(path), "".join(f"{r.id}\n" for r in records))
    return Path(path)


def export_sharegpt(records: Sequence[Record], path: Path, system: str | None = None) -> Path:
    """ShareGPT JSON: a list of `{"id": tether_id, "conversations": [{"from": system|human|gpt, "value"}]}`."""
    check_exportable(records, system)
    rows = [
        {"id": r.id, "conversations": [{"from": SHAREGPT_ROLES[t["role"]], "value": t["content"]} for t in turns]}
        for r in records
        for turns in [conversation(r, system)]
    ]
    return _write_text(path, json.dumps(rows, ensure_ascii=False, indent=1) + "\n")


def alpaca_row(rec: Record, system: str | None = None) -> dict:
    """`{"instruction", "input", "output", "tether_id"}`; a system turn becomes `system` and earlier turns of a
    multi-turn row become `history` (`[[user, assistant], ...]`, the Alpaca extension LLaMA-Factory reads), so no
    turn is lost. `input` stays empty: tether rows do not separate an instruction from its input."""
    turns = conversation(rec, system)
    sys_text = turns.pop(0)["content"] if turns[0]["role"] == "system" else None
    roles = [t["role"] for t in turns]
    if len(turns) % 2 or roles != ["user", "assistant"] * (len(turns) // 2):
        raise ExportError(f"row {rec.id} cannot be an Alpaca row: its turns do not alternate user/assistant ({roles})")
    row: dict = {"instruction": turns[-2]["content"], "input": "", "output": turns[-1]["content"], "tether_id": rec.id}
    if sys_text is not None:
        row["system"] = sys_text
    if len(turns) > 2:
        row["history"] = [[turns[i]["content"], turns[i + 1]["content"]] for i in range(0, len(turns) - 2, 2)]
    return row


def export_alpaca(records: Sequence[Record], path: Path, system: str | None = None) -> Path:
    """Alpaca JSON: a list of `alpaca_row`s."""
    check_exportable(records, system)
    return _write_text(path, json.dumps([alpaca_row(r, system) for r in records], ensure_ascii=False, indent=1) + "\n")


_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
PARQUET_SCHEMA = pa.schema(
    [
        pa.field("tether_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("messages", pa.list_(_MESSAGE), nullable=False),
        pa.field("prompt", pa.string()),
        pa.field("response", pa.string()),
        pa.field("rejected", pa.string()),
        pa.field("reasoning", pa.string()),
        pa.field("origin", pa.string(), nullable=False),
        pa.field("teacher_model", pa.string()),
        pa.field("teacher_digest", pa.string()),
        pa.field("strategy", pa.string()),
        pa.field("generation", pa.int32(), nullable=False),
        pa.field("concepts", pa.list_(pa.string()), nullable=False),
        pa.field("source_doc", pa.string()),
    ],
    metadata={"tether.export": "mix/1"},
)


def parquet_row(rec: Record, system: str | None = None) -> dict:
    """Flat columns: `messages` is the whole conversation (cot: reasoning joined in); `prompt` is the last user
    turn and `response` the final answer alone (the chosen one for preference rows), as DPO/SFT trainers read them."""
    turns = conversation(rec, system)
    return {
        "tether_id": rec.id,
        "kind": rec.kind,
        "messages": turns,
        "prompt": rec.question(),
        "response": rec.answer(),
        "rejected": rec.rejected,
        "reasoning": rec.reasoning,
        "origin": rec.origin,
        "teacher_model": rec.teacher.model if rec.teacher else None,
        "teacher_digest": rec.teacher.digest if rec.teacher else None,
        "strategy": rec.strategy,
        "generation": rec.generation,
        "concepts": list(rec.concepts),
        "source_doc": rec.source.doc_id if rec.source else None,
    }


def export_parquet(records: Sequence[Record], path: Path, system: str | None = None) -> Path:
    """One Parquet file that `datasets.load_dataset("parquet", data_files=str(path))` reads as a train split."""
    check_exportable(records, system)
    table = pa.Table.from_pylist([parquet_row(r, system) for r in records], schema=PARQUET_SCHEMA)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


# -- everything at once ----------------------------------------------------------------------------------------------


def export(
    records: Sequence[Record],
    out_dir: Path,
    formats: Sequence[str] = FORMATS,
    *,
    name: str | None = None,
    system: str | None = None,
    all_rows: Sequence[Record] | None = None,
    sources: Sequence[str] = (),
    metrics: dict | None = None,
    holdout_policy: str | None = None,
    doc_names: dict[str, str] | None = None,
) -> dict[str, Path]:
    """Write the asked formats and `DATA_CARD.md` into `out_dir`; returns {what: path} (sidecars included).

    `openai` also writes `openai_preference.jsonl` (DPO) when the mix holds preference rows; the chat file still
    has every row. All rows are checked before the first file is written."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown export format(s) {', '.join(unknown)} (known: {', '.join(FORMATS)})")
    if not records:
        raise ExportError("nothing to export: the mix has no rows")
    check_exportable(records, system)
    out_dir = Path(out_dir)
    out: dict[str, Path] = {}
    described: dict[str, str] = {}
    if "parquet" in formats:
        out["parquet"] = export_parquet(records, out_dir / FILES["parquet"], system)
        described[FILES["parquet"]] = "Parquet for `datasets.load_dataset('parquet', ...)`; column `tether_id`"
    if "openai" in formats:
        out["openai"] = export_openai_jsonl(records, out_dir / FILES["openai"], system)
        out["openai_ids"] = ids_path(out["openai"])
        ids_name = out["openai_ids"].name
        described[FILES["openai"]] = f"OpenAI chat fine-tuning JSONL; tether_ids line by line in `{ids_name}`"
        prefs = [r for r in records if r.kind == "preference"]
        if prefs:
            p = export_openai_preference_jsonl(prefs, out_dir / FILES["openai_preference"], system)
            out["openai_preference"], out["openai_preference_ids"] = p, ids_path(p)
            described[p.name] = f"OpenAI DPO JSONL of the {len(prefs)} preference row(s); tether_ids in `{p.name}.ids`"
    if "sharegpt" in formats:
        out["sharegpt"] = export_sharegpt(records, out_dir / FILES["sharegpt"], system)
        described[FILES["sharegpt"]] = "ShareGPT JSON; `id` is the tether_id"
    if "alpaca" in formats:
        out["alpaca"] = export_alpaca(records, out_dir / FILES["alpaca"], system)
        described[FILES["alpaca"]] = "Alpaca JSON (`system`/`history` where a row has them); key `tether_id`"
    card = data_card(
        name or out_dir.name,
        list(records),
        list(all_rows) if all_rows is not None else None,
        list(sources),
        metrics,
        holdout_policy,
        files=described,
        doc_names=doc_names,
    )
    out["data_card"] = _write_text(out_dir / FILES["data_card"], card)
    return out
