"""A finite float as the report and the console print it: ``digits`` decimals, unless those
would show a number results.json does not hold as one a reader takes for exact. A value too
small for them reads in two significant digits (1 in 30,000 is ``3.3e-05``, not ``0.0000``),
and a value that is no whole number but would print as one gets the decimals that tell it from
it (29,999 in 30,000 is ``0.99997``, not a perfect ``1.0000``). Within 1e-12 of a whole
number a value is taken for it: that far off is float rounding, not a rate."""

from __future__ import annotations

import math


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


__all__ = ["fixed", "fixed_any", "signed"]
