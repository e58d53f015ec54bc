"""Turn one file's decoded text into plain text plus its section structure.

Each reader returns the text that gets stored and the heading-delimited sections as character spans of that text,
so the chunker can keep chunks inside sections (a chunk that straddles two topics grounds neither well).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Section:
    heading: list[str]  # path of headings, outermost first; [] before the first heading
    start: int
    end: int


@dataclass
class Parsed:
    title: str
    text: str
    sections: list[Section] = field(default_factory=list)
    # spans of code blocks (fences, literal blocks, <pre>): their lines repeat across documents ("fn main() {")
    # without being boilerplate, so repeated-line removal leaves them alone
    verbatim: list[tuple[int, int]] = field(default_factory=list)
    # a paged document (PDF): a form feed ends each page (text/pages.py), and chunks break there first
    paged: bool = False


def _close(sections: list[tuple[list[str], int]], end: int) -> list[Section]:
    """Turn (heading path, start) marks into spans that end where the next begins."""
    out = []
    for i, (path, start) in enumerate(sections):
        stop = sections[i + 1][1] if i + 1 < len(sections) else end
        if stop > start:
            out.append(Section(path, start, stop))
    return out


def _push(stack: list[tuple[int, str]], level: int, title: str) -> list[str]:
    while stack and stack[-1][0] >= level:
        stack.pop()
    stack.append((level, title))
    return [t for _, t in stack]


_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^(```|~~~)")
_SETEXT = re.compile(r"^(=+|-+)[ \t]*$")


def read_markdown(text: str, fallback_title: str) -> Parsed:
    marks: list[tuple[list[str], int]] = [([], 0)]
    stack: list[tuple[int, str]] = []
    title = ""
    in_fence = False
    fence_start = 0
    verbatim: list[tuple[int, int]] = []
    lines = text.splitlines(keepends=True)
    pos = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        prev = lines[i - 1].strip() if i else ""
        if _FENCE.match(stripped):
            in_fence = not in_fence
            if in_fence:
                fence_start = pos
            else:
                verbatim.append((fence_start, pos + len(line)))
        elif not in_fence:
            m = _ATX.match(stripped)
            if m:
                level, heading = len(m.group(1)), m.group(2).strip()
                marks.append((_push(stack, level, heading), pos))
                title = title or (heading if level == 1 else "")
            elif _SETEXT.match(stripped) and prev and not _ATX.match(prev) and not _SETEXT.match(prev):
                # setext: the underline directly follows its title line, which starts the section
                level = 1 if stripped.startswith("=") else 2
                marks.append((_push(stack, level, prev), pos - len(lines[i - 1])))
                title = title or (prev if level == 1 else "")
        pos += len(line)
    if in_fence:  # an unclosed fence runs to the end, as markdown renders it
        verbatim.append((fence_start, len(text)))
    return Parsed(title or _first_line(text, fallback_title), text, _close(marks, len(text)), verbatim)


_RST_ADORN = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}[ \t]*$")


def read_rst(text: str, fallback_title: str) -> Parsed:
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    styles: list[tuple[str, bool]] = []  # adornment styles in order of first use = heading levels
    marks: list[tuple[list[str], int]] = [([], 0)]
    stack: list[tuple[int, str]] = []
    title = ""
    i = 0
    while i < len(lines):
        cur = lines[i].rstrip("\n").rstrip()
        nxt = lines[i + 1].rstrip() if i + 1 < len(lines) else ""
        over = _RST_ADORN.match(cur)
        if over and i + 2 < len(lines) and _RST_ADORN.match(lines[i + 2].rstrip()) and lines[i + 1].strip():
            heading, char, overline, start, skip = lines[i + 1].strip(), cur[0], True, offsets[i], 3
        elif cur.strip() and not over and _RST_ADORN.match(nxt) and len(nxt) >= len(cur.strip()):
            heading, char, overline, start, skip = cur.strip(), nxt[0], False, offsets[i], 2
        else:
            i += 1
            continue
        if (char, overline) not in styles:
            styles.append((char, overline))
        level = styles.index((char, overline)) + 1
        marks.append((_push(stack, level, heading), start))
        title = title or heading
        i += skip
    return Parsed(
        title or _first_line(text, fallback_title), text, _close(marks, len(text)), _rst_literals(lines, offsets)
    )


_RST_CODE = re.compile(r"^\s*\.\.\s+(code|code-block|sourcecode)::")


def _rst_literals(lines: list[str], offsets: list[int]) -> list[tuple[int, int]]:
    """Spans of literal blocks: the indented lines after a paragraph ending in '::' or a code directive."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        i += 1
        if not (line.endswith("::") or _RST_CODE.match(line)):
            continue
        indent = len(line) - len(line.lstrip())
        j = i
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
            j += 1
        while j > i and not lines[j - 1].strip():
            j -= 1  # trailing blank lines belong to the text after the block
        if j > i:
            spans.append((offsets[i], offsets[j]))
        i = max(i, j)
    return spans


def read_text(text: str, fallback_title: str) -> Parsed:
    return Parsed(_first_line(text, fallback_title), text, [Section([], 0, len(text))])


def _first_line(text: str, fallback: str) -> str:
    for line in text.splitlines():
        if line.strip():
            s = line.strip().lstrip("#").strip()
            return s[:120]
    return fallback


_BLOCK = {
    "p",
    "div",
    "section",
    "article",
    "br",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "pre",
    "blockquote",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "dl",
    "dt",
    "dd",
    "hr",
    "form",
}
_SKIP = {"script", "style", "noscript", "template", "head"}


class _HTMLText(HTMLParser):
    """Extract readable text; headings become section marks, table rows become ' | '-joined lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.len = 0
        self.skip = 0
        self.title = ""
        self.in_title = False
        self.heading_level = 0
        self.heading_buf: list[str] = []
        self.marks: list[tuple[list[str], int]] = [([], 0)]
        self.stack: list[tuple[int, str]] = []
        self.cells_in_row = 0
        self.space = False  # whitespace seen between inline elements, not yet written

    def _emit(self, s: str) -> None:
        self.parts.append(s)
        self.len += len(s)
        self.space = False

    def _newline(self, n: int = 1) -> None:
        tail = "".join(self.parts[-3:])
        have = len(tail) - len(tail.rstrip("\n"))
        if self.len and have < n:
            self._emit("\n" * (n - have))

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP:
            self.skip += 1
        if tag == "title":
            self.in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self._newline(2)
            self.heading_level = int(tag[1])
            self.heading_buf = []
            self.marks.append(([], self.len))  # path filled at end tag
        elif tag in ("td", "th"):
            if self.cells_in_row:
                self._emit(" | ")
            self.cells_in_row += 1
        elif tag == "li":
            self._newline()
            self._emit("- ")
        elif tag in _BLOCK:
            self._newline(2 if tag in ("p", "table", "ul", "ol", "pre", "section") else 1)
        if tag == "tr":
            self.cells_in_row = 0

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        if tag == "title":
            self.in_title = False
        elif re.fullmatch(r"h[1-6]", tag) and self.heading_level:
            heading = " ".join("".join(self.heading_buf).split())
            path = _push(self.stack, self.heading_level, heading)
            self.marks[-1] = (path, self.marks[-1][1])
            self.title = self.title or (heading if self.heading_level == 1 else "")
            self.heading_level = 0
            self._newline(2)
        elif tag in _BLOCK:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title = self.title or " ".join(data.split())
            return
        if self.skip:
            return
        text = re.sub(r"\s+", " ", data)
        if not text.strip():
            self.space = True  # '<a>initialized</a> <a>variable</a>': the space separates two words
            return
        if not self.parts or self.parts[-1].endswith("\n"):
            text = text.lstrip()
        elif self.space and not text.startswith(" ") and not self.parts[-1].endswith(" "):
            text = " " + text
        self._emit(text)
        if self.heading_level:
            self.heading_buf.append(text)


def read_html(text: str, fallback_title: str) -> Parsed:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    body = "".join(parser.parts).strip("\n") + "\n"
    # strip("\n") may have removed leading newlines: shift marks accordingly
    lead = len("".join(parser.parts)) - len("".join(parser.parts).lstrip("\n"))
    marks = [(p, max(0, s - lead)) for p, s in parser.marks]
    return Parsed(parser.title or _first_line(body, fallback_title), body, _close(marks, len(body)))


READERS = {
    "md": read_markdown,
    "markdown": read_markdown,
    "rst": read_rst,
    "txt": read_text,
    "text": read_text,
    "html": read_html,
    "htm": read_html,
}
