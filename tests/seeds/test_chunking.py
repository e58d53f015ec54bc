import itertools
import random

from tether.seeds.chunking import chunk_document, split_span
from tether.seeds.readers import read_markdown


def test_split_span_covers_text_with_bounded_size_and_overlap() -> None:
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    paras = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 80))) + "." for _ in range(40)]
    text = "\n\n".join(paras)
    spans = split_span(text, 0, len(text), 300, 50)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (s1, e1), (s2, _e2) in itertools.pairwise(spans):
        assert s2 <= e1  # contiguous or overlapping: nothing is lost
        assert e1 - s2 <= 50  # overlap bounded
        assert s2 > s1  # progress
    assert all(e - s <= 300 for s, e in spans)
    # breaks land on whitespace, never inside a word
    for _s, e in spans[:-1]:
        assert text[e - 1].isspace() or text[e - 1] == "." or text[e].isspace()


def test_giant_word_is_hard_cut() -> None:
    text = "x" * 1000
    spans = split_span(text, 0, 1000, 300, 0)
    assert spans == [(0, 300), (300, 600), (600, 900), (900, 1000)]


def test_chunks_stay_inside_sections() -> None:
    md = "# A\n\n" + "First section text. " * 20 + "\n\n# B\n\n" + "Second section text. " * 20
    parsed = read_markdown(md, "t")
    chunks = chunk_document("doc", parsed, 1000, 100)
    assert [c.heading for c in chunks] == [["A"], ["B"]]
    assert "Second" not in chunks[0].text
