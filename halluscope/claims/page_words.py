"""Page numbers written in words or as ordinals, for :mod:`halluscope.claims.page_citations`:
``page three``, ``page twenty-one``, ``page forty two``, ``page one hundred and two``, ``page
one hundred two``, ``page twelve hundred``, ``page two thousand and five``, ``page three
thousand four hundred fifty-six`` (one to 9,999: :data:`CARDINAL`; a number that goes on past
that, ``ten thousand`` or ``two million``, is no page number, never read in part), and the
ordinals over the same range, ``first`` ... ``ninety-ninth``, ``hundredth``, ``one hundred and
second``, ``twelve hundredth``, ``two thousand and fifth``, ``nine thousand nine hundred and
ninety-ninth`` (:data:`ORDINAL`), and ``1st``, ``2nd``, ``3rd``, ``21st`` (``on the second
page``). The numbers' spelling is :mod:`halluscope.numbers`'."""

from __future__ import annotations

import re

from halluscope.numbers import NUMBER_WORDS, TENS

_UNIT_WORDS = {w: n for w, n in NUMBER_WORDS.items() if 1 <= n <= 19}
_TEN_WORDS = {w: n for w, n in NUMBER_WORDS.items() if n in TENS}
_ORDINAL_UNITS = dict(zip(
    ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
     "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth").split(),
    range(1, 20)))
_ORDINAL_TENS = {w[:-1] + "ieth": n for w, n in _TEN_WORDS.items()}     # twentieth ... ninetieth


def _alt(words) -> str:
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"


_JOIN = r"(?:-|\s+)"
_AND = rf"{_JOIN}(?:and{_JOIN})?"
_DIGIT = _alt(list(_UNIT_WORDS)[:9])                              # one ... nine
# one to ninety-nine; with hundreds (one hundred and two, twelve hundred); with thousands,
# one to nine of them (two thousand and five)
_TENS_UNITS = rf"(?:{_alt(_TEN_WORDS)}(?:{_JOIN}{_DIGIT})?|{_alt(_UNIT_WORDS)})"
_HUNDREDS = rf"(?:{_alt(_UNIT_WORDS)}{_JOIN}hundred(?:{_AND}{_TENS_UNITS}\b)?)"
_THOUSANDS = (rf"(?:{_DIGIT}{_JOIN}thousand(?:{_AND}(?:{_DIGIT}{_JOIN}hundred"
              rf"(?:{_AND}{_TENS_UNITS}\b)?|{_TENS_UNITS}\b))?)")
# a number in words, whole: never the start of a larger one ("page ten thousand" is not page
# ten, nor "page two thousand thousand" page 2,000)
CARDINAL = (rf"(?:{_THOUSANDS}|{_HUNDREDS}|{_TENS_UNITS})\b"
            rf"(?!{_JOIN}(?:hundred|thousand|million|billion|trillion)\b)")
# an ordinal in words: first to ninety-ninth (twenty-first: a ten, then first to ninth); with
# hundreds (one hundred and second, two hundredth, twelve hundredth, the hundredth alone); with
# thousands, one to nine of them (two thousand and fifth, the thousandth)
_ORDINAL_DIGIT = _alt(list(_ORDINAL_UNITS)[:9])                   # first ... ninth
_ORD_TENS_UNITS = (rf"(?:{_alt(_TEN_WORDS)}{_JOIN}{_ORDINAL_DIGIT}|{_alt(_ORDINAL_UNITS)}"
                   rf"|{_alt(_ORDINAL_TENS)})")
_ORD_HUNDREDS = (rf"(?:{_alt(_UNIT_WORDS)}{_JOIN}(?:hundredth|hundred{_AND}{_ORD_TENS_UNITS})"
                 r"|hundredth)")
_ORD_THOUSANDS = (rf"(?:{_DIGIT}{_JOIN}(?:thousandth|thousand{_AND}(?:{_DIGIT}{_JOIN}"
                  rf"(?:hundredth|hundred{_AND}{_ORD_TENS_UNITS})|{_ORD_TENS_UNITS}))"
                  r"|thousandth)")
# an ordinal: in words (first ... nine thousand nine hundred and ninety-ninth) or digits with a
# suffix (1st, 22nd, 103rd)
ORDINAL = (rf"(?:{_ORD_THOUSANDS}|{_ORD_HUNDREDS}|{_ORD_TENS_UNITS}"
           r"|\d{1,5}(?:st|nd|rd|th))\b")


def word_value(words: str) -> int | None:
    """The number a :data:`CARDINAL` or :data:`ORDINAL` match names (``"twenty-one"``: 21,
    ``"second"``: 2, ``"3rd"``: 3), or ``None``."""
    w = words.strip().lower()
    if w[:1].isdigit():
        return int(re.match(r"\d+", w).group(0))
    total = current = 0
    for part in re.split(_JOIN, w):
        if part == "and":
            continue
        if part in ("hundred", "hundredth"):        # "hundredth" alone: the 100th
            current = (current or part == "hundredth") * 100
        elif part in ("thousand", "thousandth"):
            total, current = total + (current or part == "thousandth") * 1000, 0
        else:
            unit = _UNIT_WORDS.get(part) or _TEN_WORDS.get(part) or \
                _ORDINAL_UNITS.get(part) or _ORDINAL_TENS.get(part)
            if unit is None:
                return None
            current += unit
    return total + current or None
