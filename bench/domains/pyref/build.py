"""Build the `pyref` benchmark domain from the Python language reference topics shipped with CPython.

    python bench/domains/pyref/build.py DEST

The documents are real documentation text that nobody on this project wrote: the help topics in the stdlib module
`pydoc_data.topics` (the text `help("for")` shows). They are not stored in the repository; this script regenerates
them from the running Python, so the text follows the interpreter it runs on (the seeds were checked against
3.11.7; see README.md).

DEST gets:

    DEST/docs/<topic>.txt   the text of `pydoc_data.topics.topics[topic]`, unchanged, one file per topic in TOPICS
    DEST/seeds/seeds.jsonl  copied from this folder ({question, answer, source}, source = "docs/<topic>.txt")
    DEST/ontology.yaml      copied from this folder

so `tether init w --domain DEST` points a workspace at it like at examples/brindlemoor.

Existing files with these names are overwritten; nothing else in DEST is touched.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Topics with concrete, checkable facts (numbers, keyword / exception / method names, defaults). Every seed's
# `source` names one of these. Keys of `pydoc_data.topics.topics`, which are also the file names under docs/.
TOPICS = [
    "assert",  # AssertionError, __debug__, -O
    "booleans",  # and / or / not and what they return
    "del",  # NameError, left-to-right deletion
    "floating",  # float literal syntax, radix 10, underscores since 3.6
    "for",  # for/else, break, continue, range(3)
    "formatstrings",  # str.format() and the format-spec mini-language: defaults, precision 6, '%'
    "integers",  # integer literal prefixes, underscores, leading zeros
    "operator-summary",  # operator precedence table
    "raise",  # RuntimeError with no active exception, __cause__, __context__, "from None"
    "return",  # None, StopIteration, StopAsyncIteration
    "string-methods",  # str methods and their defaults
    "strings",  # string and bytes literals, escape sequences
    "truth",  # truth value testing: what counts as false
    "try",  # except / except* / else / finally
    "typesmapping",  # dict and its methods
    "with",  # the with statement, __enter__ / __exit__
]

# `--other`: fourteen topics none of the above shares, a held-out sample of the same manual for filters tuned on
# the first set (issue 24), with 6 seeds and a 3-concept ontology (seeds-other.jsonl, ontology-other.yaml)
OTHER_TOPICS = [
    "import", "execmodel", "comparisons", "typesseq", "typesseq-mutable", "lambda", "nonlocal", "yield",
    "slicings", "while", "imaginary", "power", "shifting", "global",
]  # fmt: skip


# `--third`: fourteen more topics that neither list above shares, kept for a final held-out measurement after rules
# were fitted on the `--other` sample (issue 24): 6 seeds, 3 concepts (seeds-third.jsonl, ontology-third.yaml)
THIRD_TOPICS = [
    "class", "function", "exceptions", "dynamic-features", "calls", "binary", "bitwise", "unary", "break",
    "continue", "augassign", "specialattrs", "subscriptions", "atom-identifiers",
]  # fmt: skip

# `--fourth`: fourteen topics none of the lists above shares, for a held-out measurement of the rules written after
# reading the `--third` sample's rows: 6 seeds, 3 concepts (seeds-fourth.jsonl, ontology-fourth.yaml)
FOURTH_TOPICS = [
    "assignment", "async", "objects", "identifiers", "context-managers", "in", "dict", "lists", "typesmethods",
    "typesmodules", "conversions", "id-classes", "bltin-null-object", "bltin-code-objects",
]  # fmt: skip

SAMPLES = {"": TOPICS, "other": OTHER_TOPICS, "third": THIRD_TOPICS, "fourth": FOURTH_TOPICS}


def build(dest: Path, sample: str = "") -> Path:
    """Write the domain (docs/<topic>.txt, seeds/seeds.jsonl, ontology.yaml) into `dest` and return `dest`;
    `sample` "other" or "third" writes that held-out sample's topics, seeds and ontology instead.

    Raises SystemExit with a one-line message if a topic in TOPICS is missing from this Python's pydoc_data.
    """
    wanted = SAMPLES[sample]
    suffix = f"-{sample}" if sample else ""
    try:
        from pydoc_data.topics import topics
    except ImportError as exc:  # some distributions strip pydoc_data
        raise SystemExit(f"pyref: this Python ({sys.version.split()[0]}) has no pydoc_data.topics: {exc}") from None
    missing = [t for t in wanted if t not in topics]
    if missing:
        raise SystemExit(
            f"pyref: topic(s) {', '.join(missing)} missing from pydoc_data.topics of Python {sys.version.split()[0]}"
        )

    dest = Path(dest)
    docs = dest / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for topic in wanted:
        # newline="" keeps the text byte-for-byte as Python holds it (no \n -> \r\n translation on Windows)
        (docs / f"{topic}.txt").write_text(topics[topic], encoding="utf-8", newline="")
    (dest / "seeds").mkdir(exist_ok=True)
    shutil.copyfile(HERE / f"seeds{suffix}.jsonl", dest / "seeds" / "seeds.jsonl")
    shutil.copyfile(HERE / f"ontology{suffix}.yaml", dest / "ontology.yaml")
    return dest


def main(argv: list[str]) -> int:
    flags = [f"--{name}" for name in SAMPLES if name]
    sample = next((a[2:] for a in argv if a in flags), "")
    argv = [a for a in argv if a not in flags]
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python bench/domains/pyref/build.py DEST [--other | --third | --fourth]", file=sys.stderr)
        return 2
    dest = build(Path(argv[0]), sample)
    n = len(SAMPLES[sample])
    print(f"pyref: wrote {n} documents, seeds.jsonl and ontology.yaml to {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
