"""Token counts a provider reports, read without ever failing a call whose answer is fine
(:func:`token_counts`; its old home, :mod:`halluscope.adapters.types`, still names it)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

_USAGE_WARNED: set[tuple[str, str]] = set()
#: More tokens than any call has; past it a count would not even survive a float.
MAX_TOKEN_COUNT = 2 ** 53


def _is_count(value: Any) -> bool:
    """Whether ``value`` is a whole number in [0, MAX_TOKEN_COUNT] (bools are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return False
    return 0 <= value <= MAX_TOKEN_COUNT


def token_counts(reported: Any, names: Mapping[str, str], *, where: str) -> dict[str, int]:
    """The token counts a provider reported, as ``{our name: count}`` for each
    ``{our name: provider's name}`` in ``names``, read from the mapping or object ``reported``.

    A count is kept when it is a whole number from 0 to :data:`MAX_TOKEN_COUNT` (``12.0``
    counts as 12); a missing or null one is left out (not reported, so unknown), and so is one
    that is negative, fractional, not finite (JSON ``1e400`` reads as infinity), absurdly large
    or no number at all: usage is bookkeeping, so a
    nonsense count never fails or crashes a call whose answer is fine. It is logged as a warning
    naming ``where`` and the field (once per field, then at debug level), never guessed."""
    counts: dict[str, int] = {}
    for ours, theirs in names.items():
        value = (reported.get(theirs) if isinstance(reported, Mapping)
                 else getattr(reported, theirs, None))
        if value is None:
            continue
        if _is_count(value):
            counts[ours] = int(value)
            continue
        level = logging.DEBUG if (where, theirs) in _USAGE_WARNED else logging.WARNING
        _USAGE_WARNED.add((where, theirs))
        try:
            shown = repr(value)[:60]
        except ValueError:  # an int too long for str()
            shown = "a number too long to print"
        log.log(level, "%s: usage field %r: expected a whole number of tokens from 0 to 2**53, "
                "got %s; the count is left out (unknown), the answer is kept", where, theirs,
                shown)
    return counts
