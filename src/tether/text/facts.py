"""Checkable facts in a text: numbers with units and currencies, times, dates, codes and capitalised names.

Why: a weak teacher's answers mix the document's facts with inventions ("10,000 to 23,750 yen" for a fee the
bylaw gives in marks), and a judge of the same strength passes them. Inventions are mostly *specific*: a number,
an amount, a time, a date, a name. Those can be checked without any model, by requiring each to be present in the
evidence (the source chunk, the question, the seed answer), after normalisation: 1,000 = 1000, "five" = 5,
18:45 = 6:45 pm, "2 weeks" = "14 days", "£" = "pounds". Entity- and number-level consistency checks of this kind
are standard in summarisation factuality work (Nan et al., EACL 2021).

The extractor is strict on the claim and generous on the evidence: a fact in the answer must match something in
the evidence, but the evidence's facts are read in every way they could be meant (a bare "9:00" is 09:00 or
21:00; the 7 of "7 November" is also a bare 7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tether.text.quantities import CURRENCY_SIGNS, UNIT_RE, UNITS, word_numbers

MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3, "apr": 4,
    "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
_MONTH = (
    r"(?:(?:January|February|March|April|May|June|July|August|September|October|November|December)(?![a-z])"
    r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)(?:\.|(?![a-z])))"
)
_ORD = r"(?:st|nd|rd|th)?"
_DATE_DM = re.compile(rf"\b(\d{{1,2}}){_ORD}(?:\s+of)?\s+({_MONTH})(?:,?\s+(\d{{4}}))?")
_DATE_MD = re.compile(rf"\b({_MONTH})\s+(\d{{1,2}}){_ORD}\b(?:,?\s+(\d{{4}}))?")
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DATE_SLASH = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{2,4})\b")
_AMPM = r"(a\.\s?m\.|a\s?m|p\.\s?m\.|p\s?m)(?![a-z])"
_TIME_COLON = re.compile(rf"\b(\d{{1,2}}):(\d{{2}})(?::\d{{2}})?(?:\s*{_AMPM})?", re.IGNORECASE)
_TIME_AMPM = re.compile(rf"\b(\d{{1,2}})(?:\.(\d{{2}}))?\s*{_AMPM}", re.IGNORECASE)
_TIME_WORD = re.compile(r"\b(noon|midday|midnight)\b", re.IGNORECASE)
# a token with letters and digits (form numbers, versions, model names): BR-17, A4, CO2, utf-8, 3.11.7
_CODE = re.compile(r"(?<![\w.])(?=[\w.-]*\d)(?=[\w.-]*[A-Za-z])[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*(?![\w])")
_NOT_CODE = re.compile(
    r"^\d+(?:st|nd|rd|th|s)$|^\d+(?:[.,]\d+)?(?:" + "|".join(re.escape(u) for u in UNITS if u.isalnum()) + r")$",
    re.IGNORECASE,
)
_ENUM = re.compile(r"(?:^|\n)\s*(\(?\d{1,2}[.)])\s", re.MULTILINE)
_VERSION = re.compile(r"(?<![\w.])\d+\.\d+\.\d+(?:\.\d+)*(?!\w|\.\d)")
# each unit word, whole, as evidence that the text speaks in its dimension
_UNIT_WORDS = [(re.compile(rf"(?<![\w]){re.escape(u)}(?![\w])"), dim) for u, (dim, _) in UNITS.items()]
_NUMBER = re.compile(r"(?<![\w.,])([£$€¥₹₩₽])?\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\d])")


@dataclass(frozen=True)
class Fact:
    """One checkable fact. `key` says what must match; `text` is how the claim wrote it (for verdict details)."""

    kind: str  # number, time, date, code, name
    text: str
    value: float | None = None  # number: the value as written
    unit: str | None = None  # number: canonical unit word, or None for a bare number
    dim: str | None = None  # number: dimension of the unit (time, length, money:gbp, ...)
    base: float | None = None  # number: value in the dimension's base unit
    options: frozenset = field(default_factory=frozenset)  # time: minutes of day; date: (month, day); code/name


def _num(s: str, frac: str | None) -> float:
    return float(s.replace(",", "") + (f".{frac}" if frac else ""))


def _mask(text: str, spans: list[tuple[int, int]], fill: str = " ") -> str:
    chars = list(text)
    for a, b in spans:
        chars[a:b] = fill * (b - a)
    return "".join(chars)


def _unit_after(text: str, end: int) -> tuple[str | None, int]:
    m = UNIT_RE.match(text, end)
    if m is None:
        return None, end
    word = m.group(1).lower()
    return word, m.end()


def _number_fact(raw: str, value: float, unit: str | None, sign: str | None) -> Fact:
    if sign:
        cur = CURRENCY_SIGNS[sign]
        return Fact("number", raw.strip(), value, cur, f"money:{cur}", value)
    if unit is None:
        return Fact("number", raw.strip(), value)
    dim, factor = UNITS[unit]
    canon = dim.split(":", 1)[1] if dim.startswith("money:") else unit
    return Fact("number", raw.strip(), value, canon, dim, value * factor)


def _times(text: str, out: list[Fact], spans: list[tuple[int, int]]) -> None:
    for m in _TIME_COLON.finditer(text):
        h, mi, ap = int(m.group(1)), int(m.group(2)), m.group(3)
        if h > 24 or mi > 59:
            continue
        out.append(Fact("time", m.group(0).strip(), options=_clock(h, mi, ap, m.group(1).startswith("0"))))
        spans.append(m.span())
    masked = _mask(text, spans)
    for m in _TIME_AMPM.finditer(masked):
        h, mi = int(m.group(1)), int(m.group(2) or 0)
        if 1 <= h <= 12 and mi <= 59:
            out.append(Fact("time", m.group(0).strip(), options=_clock(h, mi, m.group(3), False)))
            spans.append(m.span())
    for m in _TIME_WORD.finditer(text):
        minutes = 0 if m.group(1).lower() == "midnight" else 720
        out.append(Fact("time", m.group(0), options=frozenset({minutes})))
        spans.append(m.span())


def _clock(h: int, mi: int, ampm: str | None, zero_padded: bool) -> frozenset[int]:
    """Minutes after midnight the clock reading can mean: '6:45 pm' one, '18:45' one, a bare '6:45' two."""
    if ampm:
        pm = ampm.lower().startswith("p")
        return frozenset({((h % 12) + (12 if pm else 0)) * 60 + mi})
    if h == 24:
        return frozenset({mi})
    if h > 12 or h == 0 or zero_padded:
        return frozenset({h * 60 + mi})
    return frozenset({h * 60 + mi, ((h + 12) % 24) * 60 + mi})


def _month(word: str) -> int | None:
    return MONTHS.get(word.rstrip(".").lower())


def _dates(text: str, out: list[Fact], spans: list[tuple[int, int]], years: list[tuple[str, float]]) -> None:
    for rx, day_i, mon_i in ((_DATE_DM, 1, 2), (_DATE_MD, 2, 1)):
        for m in rx.finditer(_mask(text, spans)):
            mon, day = _month(m.group(mon_i)), int(m.group(day_i))
            if mon is None or not 1 <= day <= 31:  # month names must be capitalised: "may" is a verb
                continue
            out.append(Fact("date", m.group(0).strip(), options=frozenset({(mon, day)})))
            spans.append(m.span())
            if m.group(3):
                years.append((m.group(3), float(m.group(3))))
    for m in _DATE_ISO.finditer(_mask(text, spans)):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if 1 <= mo <= 12 and 1 <= d <= 31:
            out.append(Fact("date", m.group(0), options=frozenset({(mo, d)})))
            years.append((m.group(1), float(y)))
            spans.append(m.span())
    for m in _DATE_SLASH.finditer(_mask(text, spans)):
        a, b, y = int(m.group(1)), int(m.group(2)), m.group(3)
        opts = {(mo, d) for mo, d in ((b, a), (a, b)) if 1 <= mo <= 12 and 1 <= d <= 31}
        if opts:
            out.append(Fact("date", m.group(0), options=frozenset(opts)))
            years.append((y, float(y if len(y) == 4 else "20" + y)))
            spans.append(m.span())


# capitalised words that start sentences or fill phrases without naming anything
_COMMON = frozenset(
    """a an the this that these those it its if in on at by for from to of and or but so as is are was be yes no
    not you your we our they their he she his her i my me there here when where what which who how why all any each
    every some most many much more less also however therefore thus then first next finally note please only
    always never usually typically generally otherwise according under over after before during until within
    between both either neither one each per with without about above below following since because although
    while do does did can could should would will may must shall might""".split()
)
_NAME_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’]*(?:-[A-Za-z]+)*")
_SENTENCE_BREAK = re.compile(r"[.!?]\s|[\n:;•(\[\"“”]|^\s*[-*]\s|\s[-–—]\s")


def _names(text: str, out: list[Fact]) -> None:
    """Capitalised phrases that are not just sentence openers, plus every weekday and month name."""
    run: list[str] = []
    run_at_start = False
    start = True  # at the start of a sentence
    last_end = 0

    def flush() -> None:
        words = list(run)
        if run_at_start and (not _always_name(words[0]) or words[0] == "May"):  # "May I ...?"
            # a sentence opener is capitalised whatever it is ("Send Form BR-31", "Moot Hall is"): only the
            # words after it are known to be capitalised for being names
            words.pop(0)
        words = [w for w in words if w.lower() not in _COMMON or _always_name(w)]
        if words:
            phrase = " ".join(words)
            out.append(Fact("name", phrase, options=frozenset({_norm_phrase(phrase)})))
        run.clear()

    for m in _NAME_TOKEN.finditer(text):
        gap = text[last_end : m.start()]
        if run and gap.strip():
            flush()  # punctuation or a masked number between two capitalised words: two names, not one
        if last_end == 0 or _SENTENCE_BREAK.search(gap):
            start = True
        w = m.group(0)
        if w[0].isupper() and w != "I":
            if not run:
                run_at_start = start
            run.append(w)
        elif run:
            flush()
        start = False
        last_end = m.end()
    if run:
        flush()
    for m in re.finditer(r"\b(?:" + "|".join(WEEKDAYS) + r")s?\b", text):  # lower-case weekdays are facts too
        out.append(Fact("name", m.group(0), options=frozenset({_norm_phrase(m.group(0))})))


def _always_name(w: str) -> bool:
    lw = w.lower().rstrip(".")
    weekday = lw in WEEKDAYS or lw.rstrip("s") in WEEKDAYS
    return weekday or (lw in MONTHS and (len(lw) > 3 or lw == "may")) or (w.isupper() and len(w) > 1)


def _stem(w: str) -> str:
    w = w.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.rstrip("'")
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w


def _norm_phrase(phrase: str) -> str:
    return " ".join(_stem(w) for w in re.findall(r"[A-Za-z0-9'’]+", phrase))


def extract_facts(text: str) -> list[Fact]:
    """The checkable facts of a claim, in order of kind: codes, times, dates, numbers (with units), names."""
    out: list[Fact] = []
    spans: list[tuple[int, int]] = [m.span(1) for m in _ENUM.finditer(text)]  # "1. ", "(2) ": list markers
    for m in _VERSION.finditer(_mask(text, spans)):
        out.append(Fact("code", m.group(0), options=frozenset({m.group(0)})))
        spans.append(m.span())
    for m in _CODE.finditer(_mask(text, spans)):
        tok = m.group(0)
        if _NOT_CODE.match(tok) or _TIME_AMPM.fullmatch(tok) or re.fullmatch(r"\d+(?:\.\d+)?", tok):
            continue
        out.append(Fact("code", tok, options=frozenset({_norm_code(tok)})))
        spans.append(m.span())
    _times(_mask(text, spans), out, spans)
    years: list[tuple[str, float]] = []
    _dates(_mask(text, spans), out, spans, years)
    out.extend(Fact("number", raw, value) for raw, value in years)
    masked = _mask(text, spans)
    num_spans: list[tuple[int, int]] = []
    for m in _NUMBER.finditer(masked):
        value = _num(m.group(2), m.group(3))
        unit, end = _unit_after(masked, m.end())
        out.append(_number_fact(masked[m.start() : end], value, unit, m.group(1)))
        num_spans.append((m.start(), end))
    masked = _mask(masked, num_spans)
    for a, b, value in word_numbers(masked):
        raw = masked[a:b]
        before = masked[max(0, a - 8) : a].lower()
        if raw.lower() == "second" and (re.search(r"(?:per|each|a|\d)\s+$", before)):
            continue  # "per second", "a second": a unit or an article, not the ordinal
        unit, end = _unit_after(masked, b)
        if raw.lower() == "one" and unit is None:
            continue  # "one of the ...": a pronoun far more often than a quantity
        out.append(_number_fact(masked[a:end], value, unit, None))
        num_spans.append((a, end))
    _names(_mask(masked, num_spans, fill="|"), out)
    return out


def _norm_code(tok: str) -> str:
    return re.sub(r"[-_\s]", "", tok.lower())


@dataclass
class Evidence:
    """Everything a claim may draw on, read generously: all numbers (bare values too), clock readings, dates,
    codes and the normalised word stream for names."""

    text: str
    values: set[float] = field(default_factory=set)  # every number, with or without a unit
    bare: set[float] = field(default_factory=set)  # numbers written without a unit beside them
    quantities: set[tuple[str, float]] = field(default_factory=set)  # (dimension, base value)
    unit_dims: set[str] = field(default_factory=set)  # dimensions whose units the text mentions anywhere
    minutes: set[int] = field(default_factory=set)
    days: set[tuple[int, int]] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    words: str = ""

    @classmethod
    def of(cls, *texts: str | None) -> Evidence:
        text = "\n".join(t for t in texts if t)
        return cls.of_facts(text, extract_facts(text))

    @classmethod
    def of_facts(cls, text: str, facts: list[Fact]) -> Evidence:
        """Evidence from `text` whose facts were already extracted (`extract_facts(text)`)."""
        ev = cls(text=text)
        for f in facts:
            if f.kind == "number":
                assert f.value is not None
                ev.values.add(round(f.value, 6))
                if f.dim is not None and f.base is not None:
                    ev.quantities.add((f.dim, round(f.base, 6)))
                else:
                    ev.bare.add(round(f.value, 6))
            elif f.kind == "time":
                ev.minutes |= f.options
                hours = {float(h) for mins in f.options for h in (mins // 60, (mins // 60) % 12 or 12)}
                ev.values |= hours  # "opens at 9" names the hour of "09:00"; "9 hours" is not in "09:30"
            elif f.kind == "date":
                ev.days |= f.options
                ev.values.update(float(d) for _, d in f.options)  # the 14th, but not "14 days", from 14 March
            elif f.kind == "code":
                ev.codes |= f.options
        low = text.lower()
        ev.unit_dims.update(dim for rx, dim in _UNIT_WORDS if rx.search(low))
        for sign, cur in CURRENCY_SIGNS.items():
            if sign in text:
                ev.unit_dims.add(f"money:{cur}")
        ev.words = " " + _norm_phrase(text) + " "
        return ev

    def __or__(self, other: Evidence) -> Evidence:
        """Both texts' evidence, as if read together (names never match across the seam between them)."""
        return Evidence(
            text=f"{self.text}\n{other.text}",
            values=self.values | other.values,
            bare=self.bare | other.bare,
            quantities=self.quantities | other.quantities,
            unit_dims=self.unit_dims | other.unit_dims,
            minutes=self.minutes | other.minutes,
            days=self.days | other.days,
            codes=self.codes | other.codes,
            words=self.words + other.words,
        )

    def supports(self, f: Fact) -> bool:
        if f.kind == "number":
            assert f.value is not None
            if f.dim is not None and f.base is not None:
                if (f.dim, round(f.base, 6)) in self.quantities:
                    return True
                # the value is here without a unit beside it (a table cell, "fee: 310"), and the unit is named
                return round(f.value, 6) in self.bare and f.dim in self.unit_dims
            return round(f.value, 6) in self.values
        if f.kind == "time":
            return bool(f.options & self.minutes)
        if f.kind == "date":
            return bool(f.options & self.days)
        if f.kind == "code":
            return bool(f.options & self.codes) or any(f" {o} " in self.words for o in f.options)
        return any(f" {o} " in self.words for o in f.options)

    def unsupported(self, facts: list[Fact]) -> list[Fact]:
        return [f for f in facts if not self.supports(f)]
