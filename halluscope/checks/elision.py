"""A quote that elides text with an ellipsis, matched in its parts.

A response often shortens what it quotes: "Revenue rose sharply … to 4.2 million". Such a quote
is never on its page whole, yet what it does quote may be. :func:`elided_parts` splits a
normalised quote (``…`` is already ``...`` there, see :mod:`halluscope.checks.pagetext`) at each
ellipsis (``...``, ``. . .``, ``[...]``, ``(...)``); :func:`in_order` finds the parts on one
page's text one after the other, each where the whole quote would be looked for (word edges,
not past a number's sign), and never overlapping.

Guard against trivial parts: every part must hold at least :data:`MIN_PART_CHARS` letters or
digits, or the quote is not matched in parts at all (a part "a" or "5%" is on almost any page
and would make nearly anything match). An ellipsis at the very start or end of a quote elides
nothing between parts and is left to the whole-quote match (its loose tier drops the dots).
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: The fewest letters or digits a part of an elided quote may hold.
MIN_PART_CHARS = 5

_ELLIPSIS = re.compile(r"\s*(?:\[\s*|\(\s*)?\.(?:\s?\.){2,}(?:\s*\]|\s*\))?\s*")


def elided_parts(normalised: str) -> list[str] | None:
    """The parts of a normalised quote between its ellipses, or ``None`` when it elides
    nothing between two parts or any part is too short (see :data:`MIN_PART_CHARS`)."""
    parts = _ELLIPSIS.split(normalised)
    if parts and not parts[0].strip():
        parts = parts[1:]
    if parts and not parts[-1].strip():
        parts = parts[:-1]
    if len(parts) < 2:
        return None
    if any(sum(c.isalnum() for c in p) < MIN_PART_CHARS for p in parts):
        return None
    return [p.strip() for p in parts]


def in_order(parts: list[str], hay: str,
             find: Callable[[str, str, int], int | None]) -> list[int] | None:
    """Where each of ``parts`` is in ``hay``, each after the one before it (``find(part, hay,
    start)`` gives the first place at or after ``start``), else ``None``. The earliest place
    of each part is taken: no later one leaves more room for the parts after it."""
    out: list[int] = []
    pos = 0
    for part in parts:
        k = find(part, hay, pos)
        if k is None:
            return None
        out.append(k)
        pos = k + len(part)
    return out
