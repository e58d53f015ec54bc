"""Shared fixtures: a small crafted corpus with every format and every kind of bad file."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "brindlemoor"

MD = """\
# Parking Rules

Intro line about parking in the town.

## Permits

A resident permit costs 23 marks per year. Apply with Form BR-17 at the Town Hall.
Permits are valid in zone A and zone B only.

## Fines

Parking in a tow zone costs 41 marks. On public holidays the fine is halved.

```
# not a heading inside a fence
```

Setext Title
------------

Body under a setext heading with enough words that it is not merged into the section before it.
"""

RST = """\
=======
Harbour
=======

Moorings
--------

A mooring at Lake Vessary costs 310 marks per season, from 1 April to 31 October.

Winter
------

Boats must leave the harbour by 7 November, or pay 12 marks per day.
"""

HTML = """<html><head><title>Library</title><style>p{color:red}</style></head><body>
<h1>Library hours</h1><p>Open 07:40 to 19:10 &amp; closed Sundays.</p>
<h2>Fees</h2><ul><li>Card: free</li><li>Late: 2 marks/day</li></ul>
<table><tr><th>Day</th><th>Hours</th></tr><tr><td>Mon</td><td>9-5</td></tr></table>
<script>var secret = 1;</script></body></html>
"""

SEEDS = """\
{"question": "How much is a resident parking permit?", "answer": "A resident permit costs 23 marks per year.", "source": "docs/rules.md", "concepts": ["parking"]}
{"question": "When must boats leave the harbour?", "answer": "By 7 November."}
{"messages": [{"role": "user", "content": "Library hours?"}, {"role": "assistant", "content": "07:40 to 19:10."}]}
not json
{"foo": 1}
{"question": "How much is a resident parking permit?", "answer": "A resident permit costs 23 marks per year.", "source": "docs/rules.md", "concepts": ["parking"]}
"""


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """tmp/docs (3 good docs + a duplicate + bad files) and tmp/seeds (jsonl with bad rows, csv)."""
    docs = tmp_path / "docs"
    seeds = tmp_path / "seeds"
    docs.mkdir()
    seeds.mkdir()
    (docs / "rules.md").write_text(MD)
    (docs / "harbour.rst").write_text(RST)
    (docs / "library.html").write_text(HTML)
    (docs / "notes.txt").write_text("Plain text notes.\n\nSecond paragraph about snow clearing.\n")
    (docs / "zz-notes-copy.txt").write_text("Plain text notes.\n\nSecond paragraph about snow clearing.\n")
    (docs / "fees.csv").write_text("item,fee\nmooring,310\npermit,23\n")
    (docs / "articles.jsonl").write_text(
        '{"title": "Tram", "text": "The Tidewell tram runs every 9 minutes."}\n'
        '{"title": "Ferry", "text": "The ferry leaves at 06:50."}\n'
    )
    (docs / "empty.md").write_text("")
    (docs / "blank.txt").write_text("  \n\n ")
    (docs / "image.txt").write_bytes(b"\x89PNG\x00\x01\x02binary")
    (docs / "latin1.md").write_bytes("café au lait\n".encode("latin-1"))
    (docs / "report.pdf").write_bytes(b"%PDF-1.4")
    (docs / ".hidden.md").write_text("# hidden\n")
    (seeds / "seeds.jsonl").write_text(SEEDS)
    (seeds / "more.csv").write_text(
        'question,answer,concepts\n"Tow fine?","41 marks; halved on public holidays.",parking\n"",no question,\n'
    )
    return tmp_path


def example_workspace(root: Path):
    """A workspace over the example domain (docs, seeds, ontology, held-out file), ingested."""
    from tether.config import render_default_config
    from tether.seeds.stage import run_ingest
    from tether.workspace.store import Workspace

    ws = Workspace.init(root, render_default_config("brindlemoor", EXAMPLE, root))
    run_ingest(ws, [])
    return ws


def commit_rows(ws, rows: list) -> None:
    """A version with `rows` added to the head's records, and their lineage, as generate + filter would leave it."""
    from tether.records import records_to_table
    from tether.workspace.lineage import lineage_for
    from tether.workspace.store import new_run_id

    head = ws.head()
    ws.lineage.add(*lineage_for(head.id, rows))
    tables = {
        "records": records_to_table(ws.records(head) + rows),
        **{k: head.tables[k] for k in ("chunks", "documents")},
    }
    ws.commit("filter", tables, [head.id], new_run_id())
