"""A gate's arguments, checked alike in every face: the metric name, the threshold, the bound,
the tolerance. A wrong one is a :class:`~halluscope.errors.GateArgumentError`, the project's
usage error (a :class:`~halluscope.errors.ConfigError`, exit 2 on the command line) that is
also a ``ValueError``, as these checks raised before: ``assert_below("pope.f1", "0.5")``
raised ``ValueError`` and ``gate_failures(above={"pope.f1": "0.5"})`` ``ConfigError``, with
two messages for one mistake."""

from __future__ import annotations

import math
import numbers
from typing import Any

from halluscope.errors import GateArgumentError

#: Why a threshold must be finite, as a gate's usage error says it.
NO_LIMIT = ("nan is crossed by no value, and an infinity by every value or by none, so the "
            "gate would decide nothing")

#: The bounds a gate may name after ``@`` in its metric name.
NAMED_BOUNDS = ("upper", "lower", "value", "conservative")


def finite_real(x: Any) -> float | None:
    """``x`` as a float when it is a finite real number (an int, a float, a numpy number, a
    ``Fraction`` or a ``Decimal``: a Fraction was taken where a Decimal was "no number"), else
    ``None``: a bool, text, nan, an infinity."""
    import decimal
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, decimal.Decimal)):
        return None
    if isinstance(x, decimal.Decimal) and not x.is_finite():   # (sNaN raises in float())
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def check_name(name: Any) -> None:
    """Refuse a name that is no text (a marker's ``metric=["pope.f1"]`` ended in an
    AttributeError through the plugin's hooks)."""
    if not isinstance(name, str):
        kind = {list: "a list", tuple: "a tuple", dict: "a dict"}.get(type(name),
                                                                       type(name).__name__)
        raise GateArgumentError(f"expected a metric name such as 'chair.chair_i', got {kind} "
                                f"{name!r:.80}; check one metric per call (or per marker)")


def checked_threshold(name: str, threshold: Any) -> float:
    """``threshold`` of the gate on ``name`` as a float; refused, naming the gate and the
    type received, unless it is a finite number (text such as ``"0.5"``, a bool, nan or inf:
    inf passed every gate), as the CLI refuses it."""
    value = finite_real(threshold)
    if value is None:
        got = "None" if threshold is None else f"{type(threshold).__name__} {threshold!r:.60}"
        raise GateArgumentError(f"expected a number as the threshold of {name}, got {got} (a "
                                f"finite one: nan and inf are no limit)")
    return value


def bound_typo(last: str) -> str | None:
    """The bound that ``last``, the end of a gate's name after ``@`` that names no bound and
    no ``FIELD:VALUE`` group, was likely meant to be (``UPPER``, ``lowr``), else None. At
    similarity 0.75, not difflib's 0.6: MMHal's question-type group ``other`` is not
    ``lower``, HallusionBench's ``VS_table`` (0.62) not ``value``."""
    import difflib
    if ":" in last or last in NAMED_BOUNDS:
        return None
    close = difflib.get_close_matches(last.lower(), NAMED_BOUNDS, n=1, cutoff=0.75)
    return close[0] if close else None


def bound_in_name(name: str, bound: str | None) -> tuple[str, str | None]:
    """``"pope.f1@lower"`` as ``("pope.f1", "lower")``: the README writes gates
    ``METRIC.STAT[@GROUP][@BOUND]`` alike in every face, but ``assert_above("pope.f1@lower",
    ...)`` looked the bound up as a group. A bound in the name and another in ``bound`` is
    refused."""
    head, sep, last = name.rpartition("@")
    meant = bound_typo(last) if sep else None
    if meant is not None:        # said now, not as "no group 'split:val@uper'"
        raise GateArgumentError(f"unknown bound {last!r} in {name!r}: did you mean @{meant}? "
                                f"(bounds: {', '.join(NAMED_BOUNDS)})")
    if not sep or last not in NAMED_BOUNDS:
        return name, bound
    if bound is not None and bound != last:
        raise GateArgumentError(f"{name!r} names the bound @{last} and bound={bound!r} "
                                f"another: give one of them")
    return head, last


def resolve_bound(bound: str | None, direction: str) -> str | None:
    """The end of the interval a gate compares (``None``: the point estimate)."""
    if bound in (None, "value", "point"):
        return None
    if bound in ("conservative", "auto"):
        return "upper" if direction == "below" else "lower"
    if bound not in ("upper", "lower"):
        raise GateArgumentError(f"expected bound None, 'upper', 'lower' or 'conservative', "
                                f"got {bound!r}")
    return bound


def checked_tolerance(tolerance: Any) -> float:
    """``tolerance`` as a float, refused unless it is a finite number >= 0 (nan slipped past
    ``< 0``; inf passed everything; text and booleans are no tolerance). The comparing run and
    the run that updates the baseline check it alike."""
    value = finite_real(tolerance)
    if value is None or value < 0:
        raise GateArgumentError(f"expected a tolerance >= 0, got {tolerance!r} (a finite one)")
    return value


__all__ = ["NAMED_BOUNDS", "NO_LIMIT", "bound_in_name", "bound_typo", "check_name", "checked_threshold",
           "checked_tolerance", "finite_real", "resolve_bound"]
