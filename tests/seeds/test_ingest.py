from pathlib import Path

from tether.config import IngestConfig
from tether.seeds.ingest import ingest
from tether.seeds.readers import read_html, read_markdown, read_rst


def by_path(result, name):
    return next(d for d in result.documents if d.path.endswith(name))


def test_every_format_and_every_bad_file(corpus: Path) -> None:
    res = ingest([corpus / "docs", corpus / "seeds"], IngestConfig())
    paths = sorted(d.path.rsplit("/", 1)[-1] for d in res.documents)
    assert paths == [
        "articles.jsonl:1",
        "articles.jsonl:2",
        "fees.csv",
        "harbour.rst",
        "library.html",
        "notes.txt",
        "rules.md",
    ]
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in res.skipped}
    assert reasons["empty.md"] == "empty file"
    assert reasons["blank.txt"] == "empty (whitespace only)"
    assert reasons["image.txt"].startswith("binary content")
    assert reasons["latin1.md"].startswith("not UTF-8 (byte 0xe9")
    assert reasons["report.pdf"].startswith("truncated or broken PDF")  # 8 bytes: a PDF header and nothing else
    assert reasons[".hidden.md"] == "hidden file"
    assert reasons["zz-notes-copy.txt"].startswith("duplicate document (same content as")
    assert reasons["seeds.jsonl:4"].startswith("invalid JSON")
    assert reasons["seeds.jsonl:5"].startswith("row has no question/answer")
    assert reasons["seeds.jsonl:6"].startswith("duplicate seed")
    assert reasons["more.csv:3"].startswith("empty or non-text 'question'")
    # 4 good seeds: 2 jsonl qa, 1 jsonl messages, 1 csv
    assert len(res.seeds) == 4
    assert all(s.origin == "human" and s.strategy == "seed" and s.generation == 0 for s in res.seeds)
    assert {s.meta["seed_file"].rsplit("/", 1)[-1] for s in res.seeds} == {"seeds.jsonl", "more.csv"}
    csv_seed = next(s for s in res.seeds if s.meta["seed_file"].endswith("more.csv"))
    assert csv_seed.concepts == ["parking"]
    # every input file that was read is recorded with its hash
    assert all(len(i["sha256"]) == 64 for i in res.inputs)


def test_chunk_spans_index_document_text(corpus: Path) -> None:
    res = ingest([corpus / "docs"], IngestConfig(chunk_size=200, chunk_overlap=40))
    text = {d.doc_id: d.text for d in res.documents}
    assert res.chunks
    for c in res.chunks:
        assert text[c.doc_id][c.start : c.end] == c.text
        assert len(c.text) <= 200


def test_chunk_ids_are_stable_across_runs(corpus: Path) -> None:
    a = ingest([corpus / "docs"], IngestConfig())
    b = ingest([corpus / "docs"], IngestConfig())
    assert [c.chunk_id for c in a.chunks] == [c.chunk_id for c in b.chunks]
    assert [d.doc_id for d in a.documents] == [d.doc_id for d in b.documents]


def test_seed_sources_resolve_given_and_auto(corpus: Path) -> None:
    res = ingest([corpus / "docs", corpus / "seeds"], IngestConfig())
    rules = by_path(res, "rules.md")
    harbour = by_path(res, "harbour.rst")
    chunk_text = {c.chunk_id: c.text for c in res.chunks}
    permit = next(s for s in res.seeds if s.prompt and "permit" in s.prompt)
    assert permit.meta["source_match"] == "given"
    assert permit.source.doc_id == rules.doc_id
    assert "23 marks" in chunk_text[permit.source.chunk_id]
    boats = next(s for s in res.seeds if s.prompt and "boats" in s.prompt)
    assert boats.meta["source_match"] == "auto" and boats.source.doc_id == harbour.doc_id
    assert "7 November" in chunk_text[boats.source.chunk_id]
    library = next(s for s in res.seeds if s.messages)
    assert "07:40" in chunk_text[library.source.chunk_id]


def test_unknown_source_is_kept_with_reason(corpus: Path) -> None:
    (corpus / "seeds" / "x.jsonl").write_text('{"question": "q?", "answer": "zebra", "source": "docs/none.md"}\n')
    res = ingest([corpus / "docs", corpus / "seeds" / "x.jsonl"], IngestConfig())
    (seed,) = res.seeds
    assert seed.source is None
    assert seed.meta["source_match"].startswith("unresolved: source 'docs/none.md'")


def test_size_limit_and_disabled_format(corpus: Path) -> None:
    big = corpus / "docs" / "big.txt"
    big.write_text("word " * 300_000)
    res = ingest([big, corpus / "docs" / "library.html"], IngestConfig(max_file_mb=1, formats=["md", "txt"]))
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in res.skipped}
    assert reasons["big.txt"].startswith("too large: 1.4 MB > ingest.max_file_mb=1")
    assert reasons["library.html"] == "format 'html' not enabled (ingest.formats)"
    assert not res.documents


def test_missing_path_is_a_skip_not_a_crash(tmp_path: Path) -> None:
    res = ingest([tmp_path / "nope"], IngestConfig())
    assert res.skipped[0].reason == "path does not exist"


def test_readers_find_headings() -> None:
    from tests.conftest import HTML, MD, RST

    md = read_markdown(MD, "x")
    assert md.title == "Parking Rules"
    heads = [s.heading for s in md.sections]
    assert ["Parking Rules", "Permits"] in heads and ["Parking Rules", "Setext Title"] in heads
    assert not any("not a heading inside a fence" in " ".join(h) for h in heads)
    rst = read_rst(RST, "x")
    assert [s.heading for s in rst.sections][-2:] == [["Harbour", "Moorings"], ["Harbour", "Winter"]]
    html = read_html(HTML, "x")
    assert html.title == "Library"
    assert "secret" not in html.text and "color" not in html.text
    assert "Open 07:40 to 19:10 & closed Sundays." in html.text
    assert "- Late: 2 marks/day" in html.text and "Day | Hours" in html.text
    assert ["Library hours", "Fees"] in [s.heading for s in html.sections]
    for s in html.sections:
        assert 0 <= s.start < s.end <= len(html.text)


def test_links_out_of_the_folder_are_skipped_unless_followed(tmp_path: Path) -> None:
    """A `notes.txt` that links to a secret outside the docs folder is never read silently; links that stay
    inside it are read once; a broken link and a linked folder outside are skipped with their reasons."""
    secret_dir = tmp_path / "home" / ".aws"
    secret_dir.mkdir(parents=True)
    (secret_dir / "credentials").write_text("[default]\naws_secret_access_key = SECRETSECRETSECRET\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "more.md").write_text("# More\n\nThe ferry leaves at 7:15 every morning from the north pier.\n")
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "rules.md").write_text("# Rules\n\nDogs must be kept on a lead in the market square on Saturdays.\n")
    (docs / "notes.txt").symlink_to(secret_dir / "credentials")
    (docs / "sub" / "rules-link.md").symlink_to(docs / "rules.md")
    (docs / "gone.md").symlink_to(tmp_path / "nothing-here.md")
    (docs / "linked").symlink_to(outside, target_is_directory=True)

    res = ingest([docs], IngestConfig())
    assert [d.path.rsplit("/", 1)[-1] for d in res.documents] == ["rules.md"]
    assert not any("SECRET" in c.text for c in res.chunks)
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in res.skipped}
    assert reasons["notes.txt"].startswith(f"symbolic link to {secret_dir / 'credentials'}, outside ")
    assert "not followed" in reasons["notes.txt"] and "follow_symlinks" in reasons["notes.txt"]
    assert reasons["linked"].startswith(f"symbolic link to {outside}")
    assert reasons["gone.md"].startswith("broken symbolic link")
    assert "rules-link.md" not in reasons  # inside the folder: the same file, read once

    followed = ingest([docs], IngestConfig(follow_symlinks=True))
    names = sorted(d.path.rsplit("/", 1)[-1] for d in followed.documents)
    assert names == ["more.md", "notes.txt", "rules.md"]
    # a link named explicitly is read as given
    explicit = ingest([docs / "notes.txt"], IngestConfig())
    assert len(explicit.documents) == 1


def test_a_seed_is_matched_to_the_chunk_that_states_its_answer_in_other_word_forms() -> None:
    """Stems, not words: the answer's "overwriting your assignment" is the second chunk's "overwrites all previous
    assignments"; the first chunk shares more exact words with the question only."""
    from tether.documents import Chunk
    from tether.seeds.seed_source import best_chunk

    def section(chunk_id: str, start: int, text: str) -> Chunk:
        return Chunk(chunk_id=chunk_id, doc_id="d", start=start, end=start + 100, heading=["For"], text=text)

    opening = section(
        "a",
        0,
        "The for statement is used to iterate over the elements of a sequence, such as a loop over a list. "
        "Each item is assigned to the target list in turn.",
    )
    stating = section(
        "b",
        100,
        "The for-loop makes assignments to the variables in the target list. This overwrites all previous "
        "assignments to those variables, including those made in the suite of the loop.",
    )
    q = "If I reassign the loop variable inside a for loop, does that change the next iteration?"
    a = "No, the loop assigns the next item to the target list, overwriting your assignment."
    chunk, share = best_chunk(f"{q} {a}", [opening, stating], a)
    assert chunk is stating and 0 < share <= 1
