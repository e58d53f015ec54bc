"""Quantities in text: unit words with their dimensions and conversions, currencies, and spelled-out numbers.

The tables behind fact extraction (`tether.text.facts`): "2 weeks" and "14 days" are the same duration, "£" and
"pounds" the same currency, "one hundred and forty" the number 140, and "second and fourth" two numbers.
"""

from __future__ import annotations

import re

# -- units --------------------------------------------------------------------------------------------------
# unit word -> (dimension, factor to the dimension's base unit). Currencies have no conversions between them.
UNITS: dict[str, tuple[str, float]] = {}


def _unit(dim: str, factor: float, *words: str) -> None:
    for w in words:
        UNITS[w] = (dim, factor)


_unit("time", 1, "second", "seconds", "sec", "secs")
_unit("time", 60, "minute", "minutes", "min", "mins")
_unit("time", 3600, "hour", "hours", "hr", "hrs", "h")
_unit("time", 86400, "day", "days", "working day", "working days", "calendar day", "calendar days")
_unit("time", 86400, "business day", "business days", "clear day", "clear days")
_unit("time", 7 * 86400, "week", "weeks")
_unit("time", 14 * 86400, "fortnight", "fortnights")
_unit("months", 1, "month", "months")  # months and years convert between themselves, not to days
_unit("months", 12, "year", "years", "yr", "yrs")
_unit("months", 120, "decade", "decades")
_unit("length", 0.001, "mm", "millimetre", "millimetres", "millimeter", "millimeters")
_unit("length", 0.01, "cm", "centimetre", "centimetres", "centimeter", "centimeters")
_unit("length", 1, "m", "metre", "metres", "meter", "meters")
_unit("length", 1000, "km", "kilometre", "kilometres", "kilometer", "kilometers")
_unit("length", 1609.344, "mile", "miles")
_unit("length", 0.3048, "ft", "foot", "feet")
_unit("length", 0.9144, "yard", "yards")
_unit("area", 1, "m2", "m²", "sq m", "square metre", "square metres", "square meter", "square meters")
_unit("area", 1e6, "km2", "km²", "square kilometre", "square kilometres", "square kilometer", "square kilometers")
_unit("area", 1e4, "ha", "hectare", "hectares")
_unit("area", 4046.86, "acre", "acres")
_unit("volume", 1, "l", "litre", "litres", "liter", "liters")
_unit("volume", 0.001, "ml", "millilitre", "millilitres", "milliliter", "milliliters")
_unit("volume", 1000, "m3", "m³", "cubic metre", "cubic metres", "cubic meter", "cubic meters")
_unit("mass", 1, "g", "gram", "grams", "gramme", "grammes")
_unit("mass", 1000, "kg", "kilo", "kilos", "kilogram", "kilograms")
_unit("mass", 1e6, "tonne", "tonnes")
_unit("mass", 453.592, "lb", "lbs")
_unit("percent", 1, "%", "percent", "per cent", "percentage points")
_unit("temperature", 1, "°c", "degrees celsius", "degrees")
_unit("data", 1, "byte", "bytes")
_unit("data", 1024, "kb", "kib", "kilobyte", "kilobytes")
_unit("data", 1024**2, "mb", "mib", "megabyte", "megabytes")
_unit("data", 1024**3, "gb", "gib", "gigabyte", "gigabytes")
_unit("data", 1 / 8, "bit", "bits")
_unit("speed", 1, "km/h", "kph")
_unit("speed", 1.609344, "mph")
# currencies: dimension "money:<code>", no conversion (the point is to catch "yen" where the text says "marks")
_CURRENCY_WORDS = {
    "mark": "mark", "marks": "mark", "dollar": "usd", "dollars": "usd", "usd": "usd", "euro": "eur", "euros": "eur",
    "eur": "eur", "pound": "gbp", "pounds": "gbp", "gbp": "gbp", "sterling": "gbp", "yen": "jpy", "jpy": "jpy",
    "pence": "pence", "penny": "pence", "cent": "cent", "cents": "cent", "franc": "chf", "francs": "chf",
    "chf": "chf", "krona": "sek", "kronor": "sek", "krone": "nok", "kroner": "nok", "rupee": "inr", "rupees": "inr",
    "yuan": "cny", "renminbi": "cny", "peso": "peso", "pesos": "peso", "crown": "crown", "crowns": "crown",
    "shilling": "shilling", "shillings": "shilling", "guilder": "guilder", "guilders": "guilder",
}  # fmt: skip
for _w, _c in _CURRENCY_WORDS.items():
    UNITS[_w] = (f"money:{_c}", 1)
CURRENCY_SIGNS = {"£": "gbp", "$": "usd", "€": "eur", "¥": "jpy", "₹": "inr", "₩": "krw", "₽": "rub"}
_UNIT_NAMES = sorted(UNITS, key=len, reverse=True)  # longest first: "square metres" before "m"
UNIT_RE = re.compile(r"\s*(?:-\s*)?(" + "|".join(re.escape(u) for u in _UNIT_NAMES) + r")(?![\w²³])", re.IGNORECASE)

# -- number words ---------------------------------------------------------------------------------------------
SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12,
}  # fmt: skip
ORDINAL = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "twentieth": 20, "thirtieth": 30, "hundredth": 100,
}  # fmt: skip
SCALE = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMWORD = "|".join(sorted([*SMALL, *ORDINAL, *SCALE], key=len, reverse=True))
_WORD_RE = re.compile(rf"\b(?:{_NUMWORD})\b", re.IGNORECASE)


def words_to_number(text: str) -> float | None:
    """'one hundred and forty' -> 140, 'twenty-five' -> 25, 'third' -> 3; None if not a number."""
    groups = list(word_numbers(text))
    return groups[0][2] if len(groups) == 1 and groups[0][:2] == (0, len(text.strip())) else None


def word_numbers(text: str) -> list[tuple[int, int, float]]:
    """(start, end, value) of each spelled-out number. Words join into one number across spaces and hyphens,
    and across "and" only after a scale word ("one hundred and forty"): "second and fourth" are two numbers."""
    found: list[tuple[int, int, float]] = []
    total = cur = 0
    g_start = g_end = -1
    prev: str | None = None

    def close() -> None:
        nonlocal total, cur, g_start, prev
        if g_start >= 0:
            found.append((g_start, g_end, float(total + cur)))
        total = cur = 0
        g_start, prev = -1, None

    for m in _WORD_RE.finditer(text):
        w = m.group(0).lower()
        gap = text[g_end : m.start()] if g_start >= 0 else ""
        joins = (
            g_start >= 0
            and prev not in ORDINAL
            and (
                re.fullmatch(r"[\s-]+", gap) is not None
                or (re.fullmatch(r"\s+and\s+", gap) is not None and prev in SCALE)
            )
        )
        if not joins:
            close()
            g_start = m.start()
        if w in SMALL or w in ORDINAL:
            cur += SMALL.get(w, 0) + ORDINAL.get(w, 0)
        elif SCALE[w] >= 1000:
            total += max(cur, 1) * SCALE[w]
            cur = 0
        else:
            cur = max(cur, 1) * SCALE[w]
        g_end, prev = m.end(), w
    close()
    return found
