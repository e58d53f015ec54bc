"""Do the filters keep the generated rows that are right and drop the ones that are not? Hand labels, replayed.

    python bench/question_truth.py                  # the example domain's labelled new questions (Qwen2.5-0.5B)
    python bench/question_truth.py --labels FILE --domain DIR
    python bench/question_truth.py --reader         # also the reader filter, with the embedded teacher (~2 s a row)
    python bench/question_truth.py --planted [--domain DIR]   # seeds' questions on their own chunk and on others
    python bench/question_truth.py --show ...       # also print the bad rows kept and the good rows dropped
    python bench/question_truth.py --judge expected ...  # the rows the deterministic filters keep, scored by the
                                                    # judge (expected | greedy | votes): AUC, precision per bar

Label files in bench/labels (Qwen2.5-Coder-0.5B, every row past generation unless named "kept"):

    brindlemoor-new-questions-qwen05b.jsonl          40 rows, example domain (the default --labels)
    brindlemoor-quickstart-kept-qwen05b.jsonl        30 rows the quickstart kept at 65f190b (filters after it only)
    pyref-new-questions-qwen05b.jsonl                38 rows, pyref (--domain DIR after bench/domains/pyref/build.py)
    pyref-new-questions-qwen05b-65f190b.jsonl        51 rows, pyref, `generate.mix: {new_questions: 1.0}`, budget 100
    pyref-new-questions-qwen05b-785cb9e.jsonl        59 rows, the same, generated at 785cb9e
    pyref-other-new-questions-qwen05b-95fb7ba.jsonl  60 rows, `build.py DIR --other` (held-out topics), 0.5B
    pyref-other-kept-qwen15b-b71d529.jsonl           39 rows the 1.5B kept on `--other` (kept rows only)
    pyref-third-new-questions-qwen15b-b0bea93.jsonl  79 rows, `build.py DIR --third`, Qwen2.5-Coder-1.5B (default)
    pyref-fourth-new-questions-qwen15b.jsonl         85 rows, `build.py DIR --fourth`, 1.5B, generated at ebfa78e
    licenses-new-questions-qwen15b.jsonl             82 rows, bench/domains/licenses (legal text), 1.5B, at 31e3d8a
    brindlemoor-kept-qwen15b-budget40-c715058.jsonl  21 teacher rows the 1.5B kept on the example domain

Each held-out sample was labelled before the rules written after reading it existed; bench/RESULTS.md gives both
numbers (the rules as they stood when it was generated, and after).

`bench/filter_truth.py` plants corruptions of the seeds; this bench asks the question on what a teacher actually
wrote. A label file holds generated rows as they left `tether generate` (before any filter), each read against
its chunk once by a person and labelled `good` (the answer answers the question) or `bad` (it answers something
else, the question states its own answer, or assumes what the text does not say), with the chunk it came from.
The bench rebuilds the rows, runs the deterministic filters over them in their configured order (validity, facts,
question; no teacher call, so the numbers replay exactly; `--reader` adds the teacher's round trip, which asks
the configured embedded teacher), and prints, per filter and in all: good rows kept
(recall), bad rows dropped, and the share of kept rows that are good (precision).

`--planted` asks whether the question filter knows which chunk a question is about, with no labels needed: every
seed question that names its source chunk becomes a new-question row on its own chunk (must be kept), on
OTHER_DOCS chunks of other documents and on every other chunk of its own document (both must be dropped). Two kinds
of row are left out because their truth is not what the case says: a seed whose answer spans two chunks is not
asked on its matched chunk (that chunk lacks part of the answer), and a sibling chunk that holds half of the seed
answer's word stems is not asked it (chunks overlap, and a section's next chunk often goes on answering). It prints
two tables: the question filter alone with the seed's own answer, and every deterministic filter with the row
answered as the pipeline answers (extractively: on its own chunk the sentence closest to the seed's answer, kept
only where that sentence is the answer, word F1 >= ONE_SENTENCE; on another chunk the sentence most like the
question, the likeliest-looking wrong answer). `--planted --reader` adds the teacher's round trip to the second.

Target (issue 24): kept rows >= 90 % good; planted: off-chunk questions dropped >= 95 %, seed questions kept >= 95 %.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

import yaml

from tether.documents import Chunk
from tether.filters.reader import token_f1
from tether.filters.registry import BuildContext, build_filters
from tether.llm.teacher import open_teacher
from tether.prompts.templates import load_templates
from tether.records import Record, Source, Teacher
from tether.text import stem_support, support
from tether.workspace.store import Workspace

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "bench" / "labels" / "brindlemoor-new-questions-qwen05b.jsonl"
DOMAIN = ROOT / "examples" / "brindlemoor"
FILTERS = ["validity", "facts", "question"]
# share of a seed answer's content words a chunk must hold to answer the seed's question
ANSWERED = 0.5
# word F1 between a seed's answer and its chunk's closest sentence at which that sentence is the answer
ONE_SENTENCE = 0.6
# chunks of other documents each seed question is asked on
OTHER_DOCS = 5


def load(path: Path) -> tuple[list[Record], list[bool], dict[str, Chunk]]:
    rows, labels, chunks = [], [], {}
    for line in path.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        text = d["chunk"]
        chunks[d["chunk_id"]] = Chunk(
            chunk_id=d["chunk_id"], doc_id=d["doc_id"], start=0, end=len(text), heading=d["heading"], text=text
        )
        rows.append(
            Record(
                prompt=d["question"],
                response=d["answer"],
                origin="synthetic",
                teacher=Teacher(model="labelled"),
                strategy=d["strategy"],
                source=Source(doc_id=d["doc_id"], chunk_id=d["chunk_id"]),
                meta=d.get("meta", {}),
            )
        )
        labels.append(d["label"] == "good")
    return rows, labels, chunks


def context(domain: Path | None, chunks: dict[str, Chunk], tmp: Path) -> BuildContext:
    """The filters' context: the domain's seeds and every chunk of its documents when `domain` is given (a
    question's premise is looked up in the whole corpus), else only the labelled rows' chunks."""
    ws = Workspace.init(tmp / "w", yaml.safe_dump({"project": "labels"}))
    records: list[Record] = []
    if domain is not None:
        from tether.seeds.stage import run_ingest

        run_ingest(ws, [domain / "docs", domain / "seeds"])
        head = ws.head()
        assert head is not None
        chunks = {**{c.chunk_id: c for c in ws.chunks(head)}, **chunks}
        records = ws.human_records(head)
    return BuildContext(ws.config, chunks, load_templates({}), "labels", records=records)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--domain", type=Path, default=DOMAIN, help="domain folder (docs/, seeds/); 'none' to skip")
    ap.add_argument("--reader", action="store_true", help="also run the reader filter with the embedded teacher")
    ap.add_argument("--planted", action="store_true", help="seed questions on their own and on other chunks")
    ap.add_argument("--show", action="store_true", help="print the bad rows kept and the good rows dropped")
    ap.add_argument("--judge", choices=["expected", "greedy", "votes"], help="score the kept rows with the judge")
    args = ap.parse_args()
    if args.planted:
        planted(args.domain, args.reader)
        return
    if args.judge:
        asyncio.run(judged(args.labels, None if str(args.domain) == "none" else args.domain, args.judge))
        return
    asyncio.run(replay(args.labels, None if str(args.domain) == "none" else args.domain, args.reader, args.show))


async def replay(labels: Path, domain: Path | None, reader: bool, show: bool = False) -> None:
    rows, good, chunks = load(labels)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = context(domain, chunks, Path(tmp))
        if reader:
            async with open_teacher(ctx.cfg.teacher, None) as client:
                ctx.client = client
                await report(labels, rows, good, build_filters(ctx, [*FILTERS, "reader"]), show)
        else:
            await report(labels, rows, good, build_filters(ctx, FILTERS), show)


async def report(labels: Path, rows: list[Record], good: list[bool], filters: list, show: bool = False) -> None:
    alive = [True] * len(rows)
    why: dict[int, str] = {}
    print(f"{labels.name}: {len(rows)} rows, {sum(good)} labelled good")
    print(f"{'filter':<10} {'dropped':>7} {'good dropped':>13} {'bad dropped':>12}  reasons")
    for f in filters:
        live = [i for i in range(len(rows)) if alive[i]]  # each row is charged to the first filter dropping it
        batch = [rows[i] for i in live]
        said = await f.ajudge(batch) if hasattr(f, "ajudge") else f.judge(batch)
        verdicts = dict(zip(live, said, strict=True))
        dropped = [i for i, v in verdicts.items() if v is not None and not v.keep]
        reasons: dict[str, int] = {}
        for i in dropped:
            alive[i] = False
            reason = verdicts[i].reason  # type: ignore[union-attr]
            why[i] = f"{f.name}:{reason}: {verdicts[i].detail}"  # type: ignore[union-attr]
            reasons[reason] = reasons.get(reason, 0) + 1
        g = sum(good[i] for i in dropped)
        print(f"{f.name:<10} {len(dropped):>7} {g:>13} {len(dropped) - g:>12}  {reasons or '-'}")
    kept = [i for i in range(len(rows)) if alive[i]]
    kept_good = sum(good[i] for i in kept)
    bad = len(rows) - sum(good)
    print(
        f"kept {len(kept)}: {kept_good} good ({kept_good / max(1, len(kept)):.0%} precision; "
        f"{sum(good)} good before filtering, {sum(good) / len(rows):.0%}); good kept {kept_good}/{sum(good)}, "
        f"bad dropped {bad - (len(kept) - kept_good)}/{bad}"
    )
    if show:
        for i in kept:
            if not good[i]:
                print(f"  bad kept:     {rows[i].question()[:100]} -> {rows[i].answer()[:100]}")
        for i, reason in why.items():
            if good[i]:
                print(f"  good dropped: {rows[i].question()[:100]} -> {rows[i].answer()[:80]}\n      {reason[:160]}")


async def judged(labels: Path, domain: Path | None, scoring: str) -> None:
    """The judge's score, read as `scoring` says (filters.judge.scoring; votes: 3 sampled score-only judgements),
    on the rows the deterministic filters keep: does it rank the good ones above the bad, and what would a bar on
    it keep?"""
    from tether.filters.calibration import auc
    from tether.filters.judged import LLMJudge

    rows, good, chunks = load(labels)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = context(domain, chunks, Path(tmp))
        alive, _ = funnel(build_filters(ctx, FILTERS), rows)
        async with open_teacher(ctx.cfg.teacher, None) as client:
            judge = LLMJudge(client, ctx.templates["judge"], ctx.domain, ctx.chunks, scoring=scoring)
            got = await client.map([lambda r=rows[i]: judge.judged(r, brief=True) for i in alive])
    scores = {i: s or 0.0 for i, (s, _, _) in zip(alive, got, strict=True)}
    pos = [scores[i] for i in alive if good[i]]
    neg = [scores[i] for i in alive if not good[i]]
    print(f"{labels.name}: {len(alive)} rows past the deterministic filters, {len(pos)} good; judge scoring "
          f"{scoring}: AUC {auc(pos, neg):.2f}")  # fmt: skip
    for bar in (3.0, 4.0, 4.25, 4.5, 4.75, 5.0):
        kept = [i for i in alive if scores[i] >= bar]
        g = sum(good[i] for i in kept)
        share = g / max(1, len(kept))
        print(f"  mean score >= {bar}: kept {len(kept)}, good {g} ({share:.0%}), good kept {g}/{len(pos)}")


def planted(domain: Path, reader: bool = False) -> None:
    import random

    with tempfile.TemporaryDirectory() as tmp:
        ctx = context(domain, {}, Path(tmp))
        chunks = list(ctx.chunks.values())
        rng = random.Random(0)
        cases: dict[str, list[Record]] = {
            "own chunk": [],
            "another document's chunk": [],
            "another chunk, same document": [],
        }
        spanning = answering = seeds = 0
        for seed in ctx.records:
            own = ctx.chunks.get(seed.source.chunk_id or "") if seed.source else None
            if own is None:
                continue
            seeds += 1
            other_doc = [c for c in chunks if c.doc_id != own.doc_id]
            # a sibling chunk that states most of the seed's answer (chunks overlap; a section's next chunk goes on
            # about the same thing) answers the question: asked there it is no false row
            siblings = [c for c in chunks if c.doc_id == own.doc_id and c.chunk_id != own.chunk_id]
            same_doc = [c for c in siblings if answers(seed.answer(), c) < ANSWERED]
            answering += len(siblings) - len(same_doc)
            # a seed whose answer spans two chunks (a fee in one section, what it is for in the next) has no chunk
            # that answers its question alone: asked on its matched chunk it is no true row
            spans = (seed.source.start, seed.source.end) != (own.start, own.end)  # type: ignore[union-attr]
            spanning += spans
            for case, pool in (
                ("own chunk", [] if spans else [own]),
                ("another document's chunk", other_doc),
                ("another chunk, same document", same_doc),
            ):
                # every sibling that does not answer it (a document's chunks are few), OTHER_DOCS of the others
                asked = pool if case != "another document's chunk" else rng.sample(pool, min(OTHER_DOCS, len(pool)))
                for c in asked:
                    cases[case].append(
                        Record(
                            prompt=seed.question(),
                            response=seed.answer(),
                            origin="synthetic",
                            teacher=Teacher(model="planted"),
                            strategy="new_question",
                            source=Source(doc_id=c.doc_id, chunk_id=c.chunk_id),
                        )
                    )
        (f,) = build_filters(ctx, ["question"])
        print(
            f"{domain.name}: {seeds} seed questions with a source "
            f"chunk ({spanning} whose answer spans two chunks: not asked on their own chunk), {len(chunks)} chunks; "
            f"{answering} sibling chunks that state half of a seed's answer are not asked it"
        )
        print("the question filter alone, the seed's own answer:")
        for case, rows in cases.items():
            show_case(case, rows, [f])
        print("every deterministic filter, answered as the pipeline answers: by the chunk's sentence closest to the")
        print("seed's answer (own chunk) or most like the question (other chunks; the likeliest-looking wrong answer)")
        names = [*FILTERS, "reader"] if reader else FILTERS
        answered = {
            case: [extractive(r, ctx.chunks[r.source.chunk_id], case) for r in rows]  # type: ignore[union-attr]
            for case, rows in cases.items()
        }
        # on its own chunk, only where one sentence is the seed's answer: a person's answer that joins two sentences
        # ("Yes. Letting for fewer than 28 nights ...") has no extractive twin, and a teacher asks one sentence
        one = [r for r in answered["own chunk"] if token_f1(r.answer(), r.meta["seed_answer"]) >= ONE_SENTENCE]
        print(f"  (own chunk: {len(one)} of {len(answered['own chunk'])} seeds' answers are one sentence of it)")
        answered["own chunk"] = one
        if not reader:
            funnel = build_filters(ctx, names)
            for case, rows in answered.items():
                show_case(case, rows, funnel)
            return

        async def go() -> None:
            async with open_teacher(ctx.cfg.teacher, None) as client:
                ctx.client = client
                filters = build_filters(ctx, names)
                for case, rows in answered.items():
                    show_case(case, rows, filters, await afunnel(filters, rows))

        print("(with the reader: the configured teacher answers each question from its chunk)")
        asyncio.run(go())


def answers(answer: str, chunk: Chunk) -> float:
    """Share of the answer's word stems that `chunk` (with its headings) holds: "overwrites all previous
    assignments" states "overwriting your assignment"."""
    return stem_support(answer, chunk.headed)


def extractive(seed_row: Record, chunk: Chunk, case: str) -> Record:
    """The row a teacher writes from `chunk` when it asks the seed's question: an extractive answer, on its own
    chunk the sentence that shares most words with the seed's answer (word F1: a right teacher's pick), on another
    chunk the sentence that holds most of the question's words."""
    from tether.filters.reader import token_f1
    from tether.text.focus import focus_sentences

    sentences = focus_sentences(chunk.text) or [chunk.text.strip()]
    if case == "own chunk":
        best = max(sentences, key=lambda s: token_f1(seed_row.answer(), s))
    else:
        best = max(sentences, key=lambda s: support(seed_row.question(), s))
    meta = {"extractive": "the focus sentence", "focus": best, "seed_answer": seed_row.answer()}
    return Record(
        prompt=seed_row.prompt,
        response=best,
        origin="synthetic",
        teacher=seed_row.teacher,
        strategy="new_question",
        source=seed_row.source,
        meta=meta,
    )


def funnel(filters: list, rows: list[Record]) -> tuple[list[int], list[str]]:
    """The rows (indices) the deterministic filters keep, in order, and the reason of each row they drop."""
    alive = list(range(len(rows)))
    dropped: list[str] = []
    for f in filters:
        said = f.judge([rows[i] for i in alive])
        dropped += [v.reason for v in said if v is not None and not v.keep]
        alive = [i for i, v in zip(alive, said, strict=True) if v is None or v.keep]
    return alive, dropped


async def afunnel(filters: list, rows: list[Record]) -> tuple[list[int], list[str]]:
    """`funnel` with filters that ask the teacher (the reader)."""
    alive = list(range(len(rows)))
    dropped: list[str] = []
    for f in filters:
        batch = [rows[i] for i in alive]
        said = await f.ajudge(batch) if hasattr(f, "ajudge") else f.judge(batch)
        dropped += [v.reason for v in said if v is not None and not v.keep]
        alive = [i for i, v in zip(alive, said, strict=True) if v is None or v.keep]
    return alive, dropped


def show_case(case: str, rows: list[Record], filters: list, done: tuple[list[int], list[str]] | None = None) -> None:
    _, dropped = done or funnel(filters, rows)
    reasons = {r: dropped.count(r) for r in sorted(set(dropped))}
    share = len(dropped) / max(1, len(rows))
    want = "kept" if case == "own chunk" else "dropped"
    print(f"  {case:<30} {len(rows):>4} rows  {want} {1 - share if want == 'kept' else share:.0%}  {reasons}")


if __name__ == "__main__":
    main()
