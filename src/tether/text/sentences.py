"""Sentences of a text, and a model's answer snapped onto them.

A weak teacher copies well and invents badly, so an answer that must be the text's own words is *checked* by
string match: a verbatim span is kept as the text's exact characters, a near copy of one sentence (or of two
neighbouring ones) becomes that sentence, anything else is rejected with the best match's share. Generation
(extractive answers) and the reader filter (its round trip) both read answers back this way.
"""

from __future__ import annotations

import itertools
import re

from tether.text import words

SNAP_MIN = 0.6  # share of the answer's words a chunk sentence must hold for the answer to be snapped to it
_PREFIX = re.compile(r"^\s*(?:answer|a|quote|sentence)\s*[:\-]\s*", re.IGNORECASE)

_HEADING = re.compile(r"^\s*(?:#{1,6}\s|[=\-~^*+#]{3,}\s*$)")  # markdown headings, rst underlines
_TABLE = re.compile(r"^\s*[|+]")  # markdown / rst grid table rows and borders
_UNDERLINE = re.compile(r"^\s*[=\-~^*+#]{3,}\s*$")
_STOP = r"[.!?][\"'”’*_)\]]*(?=\s|$)"  # a full stop, with any closing quote, bracket or emphasis after it


def _sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of the text's sentences and list items; list markers, headings and surrounding space left out.

    Consecutive lines that are not list items or headings are one flowing paragraph (hard-wrapped text, like the
    Python reference's 70-column lines), split into sentences at full stops."""
    lines = list(re.finditer(r"[^\n]+", text))
    blocks: list[tuple[int, int, int]] = []  # (start, end, marker length) of list items and paragraphs
    for k, m in enumerate(lines):
        line = m.group(0)
        underlined = k + 1 < len(lines) and _UNDERLINE.match(lines[k + 1].group(0))
        if _HEADING.match(line) or underlined or _TABLE.match(line) or not line.strip():
            continue  # a heading, an rst underline or the title above it, a table row
        marker = re.match(r"\s*(?:[-*•]|\d{1,2}[.)])\s+", line)
        joins = (
            blocks
            and not marker
            and k > 0
            and blocks[-1][1] == lines[k - 1].end()  # the previous line belongs to the block
            and text[lines[k - 1].end() : m.start()] == "\n"  # no blank line between
        )
        if joins:
            blocks[-1] = (blocks[-1][0], m.end(), blocks[-1][2])
        else:
            blocks.append((m.start(), m.end(), marker.end() if marker else 0))
    spans = []
    for start, end, offset in blocks:
        body = text[start + offset : end]
        for s in re.finditer(rf"(?s).+?(?:{_STOP}|$)", body):
            a, b = start + offset + s.start(), start + offset + s.end()
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if b > a:
                spans.append((a, b))
    return spans


def _plain(span: str) -> str:
    """A span of the text without markdown emphasis or hard line wraps (the words stay the text's own)."""
    return re.sub(r"\s*\n\s*", " ", re.sub(r"(\*\*|__|`)", "", span)).strip()


def sentences(text: str) -> list[str]:
    """The text's sentences and list items as plain text (no markup, no line wraps), in order."""
    return [_plain(text[a:b]) for a, b in _sentences(text)]


def snap_to_text(answer: str, text: str) -> tuple[str | None, str]:
    """(the answer as words of `text`, how) or (None, why): a verbatim span is kept as the text's own characters,
    a near copy of one sentence becomes that sentence, anything else is rejected."""
    cleaned = _PREFIX.sub("", answer.strip()).strip().strip("\"'“”‘’").strip()
    said = words(cleaned)
    if len(said) < 2:
        return None, "answer too short to locate in the text"
    sentences = _sentences(text)
    # a verbatim span (ignoring case, punctuation and spacing): map it back onto the text's characters
    tokens = [(m.group(0).lower(), m.start(), m.end()) for m in re.finditer(r"[A-Za-z0-9]+", text)]
    n = len(said)
    for i in range(len(tokens) - n + 1):
        if [t for t, _, _ in tokens[i : i + n]] == said:
            start, end = tokens[i][1], tokens[i + n - 1][2]
            for a, b in sentences:
                if a <= start and end <= b and (a == start or b - end <= 1):
                    # a sentence's start is the whole sentence (its full statement, not a cut one); a span running
                    # to its sentence's end keeps the stop
                    return _plain(text[start:b]), "exact span of the text" if b - end <= 1 else "sentence of the text"
            return _plain(text[start:end]), "exact span of the text"
    best, best_share, best_n = None, 0.0, 1
    answer_set = set(said)
    # one sentence, or two neighbouring ones when the answer joins them ("runs 6.3 km ... and takes 22 minutes"):
    # a pair must match clearly better than either sentence alone
    pairs = [(a, b) for a, b in itertools.pairwise(sentences) if "\n\n" not in text[a[1] : b[0]]]  # same paragraph
    windows = [(s, 1) for s in sentences] + [((a[0], b[1]), 2) for a, b in pairs]
    for (a, b), n in windows:
        sent = set(words(text[a:b]))
        if not sent:
            continue
        share = sum(1 for w in answer_set if w in sent) / len(answer_set)
        cover = sum(1 for w in sent if w in answer_set) / len(sent)
        score = min(share, cover + 0.3)  # the sentence must hold the answer, and the answer most of the sentence
        if score > best_share + (0.1 if n > best_n else 0):
            best, best_share, best_n = (a, b), score, n
    if best is not None and best_share >= SNAP_MIN:
        what = "sentence" if best_n == 1 else f"{best_n} sentences"
        return _plain(text[best[0] : best[1]]), f"snapped to the closest {what} ({best_share:.0%} of its words)"
    return None, f"not a sentence of the text (best match {best_share:.0%} of its words)"
