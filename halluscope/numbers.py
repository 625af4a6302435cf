"""Number words: the one table both the rule-based claims (a count's numeral) and the judges
(whether a judge's count is said in the response) read counts with; and the one rule every
layer writes a float with (:func:`fixed`: the report, the console, and the reasons checks give,
so a verdict's reason never says "IoU 1.00" for 0.9972 while the report shows 0.9972).

It sits at the bottom layer so that :mod:`halluscope.judges` and :mod:`halluscope.claims`,
which may not import each other downward-up, share one spelling of each number.

Writing a float (:func:`fixed`): ``digits`` decimals, unless those would show a number
results.json does not hold as one a reader takes for exact. A value too small for them reads in
two significant digits (1 in 30,000 is ``3.3e-05``, not ``0.0000``), and a value that is no
whole number but would print as one gets the decimals that tell it from it (29,999 in 30,000 is
``0.99997``, not a perfect ``1.0000``). Within 1e-12 of a whole number a value is taken for it:
that far off is float rounding, not a rate. :func:`fixed_apart` likewise never writes a value
as a bound it differs from ("best IoU 0.4996 < 0.5" read "0.50 < 0.5"); :func:`percent`
writes a share by the same rule ("99.6%", never "100%").
"""

from __future__ import annotations

import math

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
          "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()

#: Number words read as counts ("two cats" -> count 2): zero to nineteen, the tens, hundred.
NUMBER_WORDS: dict[str, int] = ({w: n for n, w in enumerate(_UNITS)}
                                | {w: 10 * n for n, w in enumerate(_TENS, start=2)}
                                | {"hundred": 100})

#: The tens (20, 30, ... 90): a unit word after one of them adds to it ("twenty-one": 21).
TENS: tuple[int, ...] = tuple(NUMBER_WORDS[w] for w in _TENS)


def fixed(value: float, digits: int = 4) -> str:
    """``value`` (finite) with ``digits`` decimals, or as many more as keep it from reading as
    0 or as a whole number it is not (see the module)."""
    text = f"{value:.{digits}f}"
    whole = round(value)
    if abs(value - whole) <= 1e-12 * max(1, abs(whole)):
        return text     # a whole number but for float rounding (0.9999999999999999, 5.6e-17)
    if abs(value) < 0.5 * 10 ** -digits:
        return f"{value:.2g}"
    more = digits
    while float(text) == whole:
        more += 1
        text = f"{value:.{more}f}".rstrip("0")
    return text


def fixed_any(value: float, digits: int = 4) -> str:
    """:func:`fixed` for a finite value; a NaN or infinity as Python writes it."""
    value = float(value)
    return fixed(value, digits) if math.isfinite(value) else str(value)


def signed(value: float, digits: int = 4) -> str:
    """:func:`fixed_any` with its sign always written (a difference: ``+0.00003``, never the
    ``+0.0000`` that reads as no change)."""
    text = fixed_any(value, digits)
    return text if text.startswith(("-", "+")) or text == "nan" else "+" + text


def fixed_apart(value: float, *bounds: float, digits: int = 4) -> str:
    """:func:`fixed_any` of ``value``, with the decimals that keep it from reading as one of the
    ``bounds`` it is compared with and is not (``0.4996`` beside ``< 0.5`` is ``0.4996``, not
    ``0.50``)."""
    text = fixed_any(value, digits)
    value = float(value)
    near = [float(b) for b in bounds if math.isfinite(float(b)) and float(b) != value]
    if not math.isfinite(value) or not near:
        return text
    more = max(digits, len(text.partition(".")[2]))
    while float(text) in near and more < 17:
        more += 1
        text = f"{value:.{more}f}".rstrip("0")
    return text


def percent(share: float, *bounds: float) -> str:
    """A share (0.996) as a whole percent where it is one, else with the decimals that keep it
    from reading as a whole number or as one of the ``bounds`` (shares too) it is not:
    ``99.6%``, never ``100%``; ``69.96%`` beside a bound of 0.7, never ``70%``."""
    return fixed_apart(100 * share, *(100 * b for b in bounds), digits=0) + "%"
