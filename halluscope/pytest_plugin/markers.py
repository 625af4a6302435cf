"""The pytest plugin's ``@pytest.mark.halluscope`` read as a gate: which keywords make one
(:func:`gate_kwargs`) and what in a marker would check nothing, or less than it says
(:func:`marker_mistake`). Imports only pytest."""

from __future__ import annotations

from typing import Any

import pytest

#: The marker's assertion keywords; any other keyword is an option of the audit it gates.
ASSERT_KEYS = frozenset({"metric", "max_rate", "max_value", "min_value", "min_rate", "bound",
                         "no_regression", "tolerance", "worst"})


def gate_kwargs(marker: pytest.Mark) -> dict[str, Any]:
    """The assertion keywords of a marker that gates (a threshold or no_regression=True),
    its first positional argument as the metric; {} for a marker that gates nothing."""
    kw = {k: v for k, v in marker.kwargs.items() if k in ASSERT_KEYS}
    if marker.args:
        kw.setdefault("metric", marker.args[0])
    given = {k for k in ("max_rate", "max_value", "min_value", "min_rate")
             if kw.get(k) is not None}
    return kw if (given or kw.get("no_regression")) else {}


_SIDES = {"below": "max_rate= or max_value=", "above": "min_value= or min_rate="}


def marker_mistake(marker: pytest.Mark) -> str | None:
    """What in a marker would check nothing, or less than it says: a metric without a
    threshold, a ``tolerance`` beside no ``no_regression`` (a threshold is compared as
    written), a ``bound`` beside no threshold (a regression check compares the value) or for
    a side that has none (``bound={"below": "upper"}`` with ``min_value=`` alone). Each was
    dropped without a word, and the test passed on other terms than those written."""
    kw = marker.kwargs
    named = kw.get("metric") or (marker.args[0] if marker.args else None)
    if named and not gate_kwargs(marker):
        return (f"@pytest.mark.halluscope names the metric {named!r} but no threshold, so it "
                f"would check nothing: add max_rate=, max_value=, min_value=, min_rate= or "
                f"no_regression=True")
    shown = ", ".join([*map(repr, marker.args), *(f"{k}={v!r}" for k, v in kw.items())])
    where = f"@pytest.mark.halluscope({shown})"
    sides = {side for side, keys in (("below", ("max_rate", "max_value")),
                                     ("above", ("min_value", "min_rate")))
             if any(kw.get(k) is not None for k in keys)}
    tolerance, bound = kw.get("tolerance"), kw.get("bound")
    if tolerance is not None and not kw.get("no_regression"):
        return (f"{where}: tolerance={tolerance!r} applies to no_regression=True only (a "
                f"threshold is compared as it is written)")
    if bound is not None and not sides:
        return (f"{where}: bound={bound!r} applies to a threshold ({_SIDES['below']}, "
                f"{_SIDES['above']}) of this marker; a regression check compares the value")
    for side in (bound if isinstance(bound, dict) else ()):
        if side in _SIDES and side not in sides:
            return (f"{where}: bound={bound!r} names the side {side!r}, which has no "
                    f"threshold ({_SIDES[side]})")
    return None


def marker_bound(bound: Any, direction: str) -> str | None:
    """A marker's ``bound``: ``None``, ``"upper"``, ``"lower"``, ``"conservative"`` (the end
    that is harder to pass), or ``{"below": ..., "above": ...}`` when it sets both a maximum and
    a minimum."""
    if isinstance(bound, dict):
        wrong = sorted(set(map(str, bound)) - {"below", "above"})
        if wrong:
            from halluscope.gates import suggest
            pytest.fail(f"@pytest.mark.halluscope: expected bound={{'below': ..., 'above': "
                        f"...}}, got the key {wrong[0]!r}{suggest(wrong[0], ['below', 'above'])}",
                        pytrace=False)
        return bound.get(direction)
    return bound


__all__ = ["ASSERT_KEYS", "gate_kwargs", "marker_mistake", "marker_bound"]
