"""Page numbers written in words or as ordinals, for :mod:`halluscope.claims.page_citations`:
``page three``, ``page twenty-one``, ``page forty two`` (one to ninety-nine), and the
ordinals ``first`` ... ``ninety-ninth`` and ``1st``, ``2nd``, ``3rd``, ``21st``
(``on the second page``). The numbers' spelling is :mod:`halluscope.numbers`'."""

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
# a number one to ninety-nine in words, whole ("page one hundred" is not page one)
CARDINAL = (rf"(?:{_alt(_TEN_WORDS)}(?:{_JOIN}{_alt(list(_UNIT_WORDS)[:9])})?|"
            rf"{_alt(_UNIT_WORDS)})\b(?!{_JOIN}(?:hundred|thousand))")
# an ordinal: in words (first ... ninety-ninth) or digits with a suffix (1st, 22nd, 103rd)
ORDINAL = (rf"(?:(?:{_alt(_TEN_WORDS)}{_JOIN})?{_alt(_ORDINAL_UNITS)}|{_alt(_ORDINAL_TENS)}"
           r"|\d{1,5}(?:st|nd|rd|th))\b")


def word_value(words: str) -> int | None:
    """The number a :data:`CARDINAL` or :data:`ORDINAL` match names (``"twenty-one"``: 21,
    ``"second"``: 2, ``"3rd"``: 3), or ``None``."""
    w = words.strip().lower()
    if w[:1].isdigit():
        return int(re.match(r"\d+", w).group(0))
    parts = re.split(_JOIN, w)
    tens = _TEN_WORDS.get(parts[0], 0) if len(parts) == 2 else 0
    last = parts[-1]
    unit = _UNIT_WORDS.get(last) or _ORDINAL_UNITS.get(last) or _ORDINAL_TENS.get(last) or \
        _TEN_WORDS.get(last)
    return None if unit is None else tens + unit
