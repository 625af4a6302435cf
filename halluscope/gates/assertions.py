"""Dataset-level assertions: a metric against a threshold or a baseline, failing with evidence.

:func:`check_threshold` backs :meth:`NotebookResult.assert_below` and
:meth:`NotebookResult.assert_above`; :func:`check_regression` compares with a stored baseline
(:mod:`halluscope.gates.baseline`). Both return an :class:`Outcome` when the check passes and raise
:class:`HalluscopeAssertionError` (an ``AssertionError``) when it fails. The message names the
metric, its point value, confidence interval and sample size, the bound that was compared, the
threshold, and the worst few items with their evidence, read by streaming ``result.items``::

    chair.chair_i: upper bound of the 95% CI 0.3125 is above the threshold 0.05
      metric     chair.chair_i (lower is better)
      value      0.1667   95% CI [0.0625, 0.3125]   n = 12
      compared   upper bound 0.3125 <= 0.05 required: exceeded by 0.2625
      worst items (2 of 3 items with hallucinations):
        1. id 7 (data/outputs.jsonl:7), image 000000000139.jpg
           hallucinated: 'dog' (x2), 'frisbee'; ground truth: person, tv, chair
           response: 'A dog catches a frisbee while a man watches television.'

Comparisons are inclusive: ``assert_below(name, 0.05)`` passes at exactly 0.05.

Every check, passed or failed, is also handed to the observers registered with
:func:`add_observer`; the pytest plugin uses this for its summary, JSON report and JUnit
properties. The worst items come from :mod:`halluscope.gates.worst_items`.

Importing this module loads only the standard library.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from halluscope.gates.worst_items import (DEFAULT_WORST, WorstItem, explain_claims, explain_generic,
                                    explainer_for, worst_items, worst_items_block)
from halluscope.errors import GateArgumentError
from halluscope.gates.arguments import (bound_in_name, check_name, checked_threshold,
                                        checked_tolerance, finite_real, resolve_bound)
from halluscope.numbers import fixed_apart

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """One assertion made about an audit.

    Attributes:
        kind: ``threshold`` or ``regression``.
        name: The metric (``"chair.chair_i"``, ``"pope.f1@split:random"``).
        passed: Whether the check held.
        value: The point estimate (``None`` when undefined, e.g. nothing was scored).
        ci: The confidence interval, when there is one.
        confidence: Its level.
        n: Items the metric was computed from.
        higher_is_better: The metric's direction.
        bound: ``None`` (point estimate), ``"upper"`` or ``"lower"``.
        compared: The number that was compared (the value or the bound).
        direction: ``below`` (must be at most ``limit``), ``above`` (at least ``limit``) or,
            for a regression check of a statistic with no better direction, ``either``.
        limit: The threshold, or the baseline value moved by the tolerance.
        baseline: The baseline value (regression checks).
        tolerance: The allowed worsening (regression checks).
        message: The full message (the failure message when the check failed).
        nodeid: The pytest test that made the check, filled in by the plugin.
    """

    kind: str
    name: str
    passed: bool
    value: float | None
    ci: tuple[float, float] | None
    confidence: float | None
    n: int
    higher_is_better: bool
    bound: str | None
    compared: float | None
    direction: str
    limit: float | None
    baseline: float | None = None
    tolerance: float | None = None
    message: str = ""
    nodeid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ci"] = list(self.ci) if self.ci is not None else None
        return out

    def describe(self) -> str:
        """What was found and what was required: ``chair.chair_i = 0.3810, required <= 0.05``
        (not "value 0.3810 <= 0.05", as if it held); for a failed check that compared nothing
        (no value, interval or baseline entry), the first line of its message."""
        if not self.passed and self.message and (not _defined(self.compared)
                                                 or self.limit is None):
            return self.message.split("\n", 1)[0]    # compared nothing: why, not "undefined"
        if self.kind == "baseline":
            return f"{self.name} recorded {_fmt(self.value)} into the baseline"
        what = f"{self.name} {self.bound} bound" if self.bound else self.name
        if self.direction == "either":        # no better direction: a move either way
            return (f"{what} = {_fmt(self.compared, self.baseline)}, required within "
                    f"{_fmt(self.baseline)} ± {self.tolerance:g} (the baseline)")
        op = "<=" if self.direction == "below" else ">="
        text = f"{what} = {_fmt(self.compared, self.limit)}, required {op} {_fmt(self.limit)}"
        if self.kind == "regression":
            text += f" (baseline {_fmt(self.baseline)}, tolerance {self.tolerance:g})"
        return text


class HalluscopeAssertionError(AssertionError):
    """A threshold or regression check failed; ``outcome`` holds the details."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome
        super().__init__(outcome.message)


# -- observers ------------------------------------------------------------------------------
_observers: list[Callable[[Outcome], None]] = []


def add_observer(fn: Callable[[Outcome], None]) -> None:
    """Call ``fn(outcome)`` after every check (the pytest plugin's summary uses this)."""
    _observers.append(fn)


def remove_observer(fn: Callable[[Outcome], None]) -> None:
    try:
        _observers.remove(fn)
    except ValueError:
        pass


def _notify(outcome: Outcome) -> Outcome:
    for fn in list(_observers):
        fn(outcome)
    return outcome


# -- helpers --------------------------------------------------------------------------------
def _conclude(outcome: Outcome) -> Outcome:
    """Tell the observers, then raise :class:`HalluscopeAssertionError` if the check failed."""
    __tracebackhide__ = True
    _notify(outcome)
    if not outcome.passed:
        raise HalluscopeAssertionError(outcome)
    return outcome


def _fmt(x: Any, *bounds: Any) -> str:
    """``x`` by the report's rule, never reading as one of ``bounds`` it is not (numbers)."""
    if x is None:
        return "undefined"
    if isinstance(x, int):      # a bool too: True, not 1.0000
        return str(x)
    x = float(x)
    if math.isnan(x):
        return "undefined"
    return fixed_apart(x, *(float(b) for b in bounds if _defined(b) and not isinstance(b, bool)))


def _defined(x: Any) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _compared(result: Any, name: str, metric: Any, threshold: float, which: str | None
              ) -> tuple[float | None, str | None]:
    """``(the value or bound compared, None)``, or ``(None, why it cannot be compared)``: no
    value, a value over no units, no interval for a bound, an undefined bound."""
    if not _defined(metric.value):
        problem = (f"{name} has no value (n = {metric.n}): {why_undefined(metric)}, so the "
                   f"threshold {threshold:g} cannot be checked")
        reasons = (getattr(result, "unscored", None) or {}).get(name.split(".", 1)[0])
        if reasons:
            problem += " (" + "; ".join(reasons) + ")"
        return None, problem
    if over_no_units(metric.n, metric.value):
        return None, (f"{name} = {_fmt(metric.value)} is computed over no units (n = 0): a "
                      f"value given over nothing (a compatibility variant's default, such as "
                      f"AMBER's 0.001 starting counters), so the threshold {threshold:g} cannot "
                      f"be checked")
    if which is not None and metric.ci is None:
        return None, (f"{name} has no confidence interval ({_why_no_interval(metric)}), so its "
                      f"{which} bound cannot be compared with {threshold:g}")
    compared = _num(metric.bound(which))
    if not _defined(compared):
        return compared, f"the {which} bound of {name} is undefined"
    return (None, why) if (why := _undecided(name, result)) else (compared, None)


def _undecided(name: str, result: Any) -> str | None:   # from an unfinished query run
    from halluscope.query_sheets import undecided_of
    return f"{name}: {why}" if (why := undecided_of(result)) else None


def over_no_units(n: int, value: Any) -> bool:
    """A rate or average with a value although it is computed over no units (n = 0): never a
    measurement a gate can pass or fail on (counts, whose value may well be 0, are not). The
    audit's gates refuse it; ``compare`` gives such a side no value."""
    return n == 0 and isinstance(value, float) and _defined(value)


def _interval(metric: Any) -> str:
    if metric.ci is None:
        return "no CI"
    level = f"{round(metric.confidence * 100, 1):g}% " if metric.confidence else ""
    return f"{level}CI [{_fmt(metric.ci[0])}, {_fmt(metric.ci[1])}]"


def _bound_label(which: str | None, metric: Any) -> str:
    if which is None:
        return "value"
    level = f"{round(metric.confidence * 100, 1):g}% " if metric.confidence else ""
    return f"{which} bound of the {level}CI"


def _detail_lines(name: str, metric: Any) -> list[str]:
    better = ("higher is better" if metric.higher_is_better else "lower is better") if getattr(
        metric, "direction", True) else "no better direction: a move either way is a change"
    return [f"  metric     {name} ({better})",
            f"  value      {_fmt(metric.value)}   {_interval(metric)}   n = {metric.n}"]


# -- threshold ------------------------------------------------------------------------------
def check_threshold(result: Any, name: str, threshold: float, bound: str | None = None,
                    direction: str = "below", *, worst: int = DEFAULT_WORST,
                    warn: bool = True, spec: str | None = None,
                    notes: list[str] | None = None) -> Outcome:
    """Check metric ``name`` of ``result`` against ``threshold``.

    Args:
        result: An :class:`~halluscope.result.AuditResult`.
        name: ``"<metric>.<statistic>"``, optionally ``@<group>`` (``"pope.f1@split:random"``).
        threshold: The limit; inclusive.
        bound: ``None`` compares the point estimate; ``"upper"`` / ``"lower"`` an end of the
            confidence interval; ``"conservative"`` the end that is harder to pass (upper for
            ``below``, lower for ``above``).
        direction: ``below`` (value must be at most the threshold) or ``above`` (at least).
        worst: How many of the worst items to show in a failure message.
        warn: Log a warning for a gate weaker than it looks (:func:`gate_notes`).
        spec: The gate as the user wrote it, for that warning.
        notes: Where given, that warning is added to it instead of logged (a caller that
            says it later: the command line, after its summary).

    Returns:
        The :class:`Outcome` when the check passes.

    Raises:
        HalluscopeAssertionError: the check failed (also when the metric is undefined or has no
            interval for the bound asked for).
        KeyError: no such metric in the audit.
        GateArgumentError: a bad ``bound``, ``direction`` or ``threshold`` (a
            :class:`~halluscope.errors.ConfigError` and a ``ValueError``).
    """
    __tracebackhide__ = True
    check_name(name)
    if direction not in ("below", "above"):
        raise GateArgumentError(f"expected direction 'below' or 'above', got {direction!r}")
    threshold = checked_threshold(name, threshold)     # inf passed every gate
    name, bound = bound_in_name(name, bound)
    which = resolve_bound(bound, direction)
    metric = validate_threshold(result, name, threshold)
    if warn:
        shown = spec or f"{name}{f'@{which}' if which else ''}={threshold:g}"
        for note in gate_notes(name, direction, which, threshold, getattr(metric, "bounds", None)):
            if notes is None:
                log.warning("gate %s: %s", shown, note)
            else:
                notes.append(f"gate {shown}: {note}")
    op = "<=" if direction == "below" else ">="
    compared, problem = _compared(result, name, metric, threshold, which)
    passed = problem is None and (compared <= threshold if direction == "below"
                                  else compared >= threshold)
    label = _bound_label(which, metric)
    if passed:
        message = f"{name}: {label} {_fmt(compared)} {op} {threshold:g}"
    else:
        if problem is not None:
            head = problem
        else:
            side = "above" if direction == "below" else "below"
            head = f"{name}: {label} {_fmt(compared)} is {side} the threshold {threshold:g}"
        lines = [head, *_detail_lines(name, metric)]
        if compared is not None:
            gap = abs(compared - threshold)
            if isinstance(compared, int) and threshold.is_integer():
                gap = int(gap)                  # a count's distance is whole
            verb = "exceeded" if direction == "below" else "short"
            lines.append(f"  compared   {label} {_fmt(compared)} {op} {threshold:g} required: "
                         f"{verb} by {_fmt(gap)}")
        else:
            lines.append(f"  threshold  {label} {op} {threshold:g} required")
        hint = _direction_hint(name, metric, direction)
        if hint:
            lines.append(hint)
        lines.extend(worst_items_block(result, name, worst))
        message = "\n".join(lines)
    outcome = Outcome(kind="threshold", name=name, passed=passed, value=_num(metric.value),
                      ci=tuple(metric.ci) if metric.ci is not None else None,
                      confidence=metric.confidence, n=metric.n,
                      higher_is_better=metric.higher_is_better, bound=which,
                      compared=compared, direction=direction, limit=threshold,
                      message=message)
    return _conclude(outcome)


def validate_threshold(result: Any, name: str, threshold: float) -> Any:
    """The metric ``name`` of ``result``, after checking that ``threshold`` lies in the
    statistic's range. Raises :class:`~halluscope.errors.ConfigError` for a threshold outside
    it (a rate compared with 12 rather than 0.12, a count with -5) and
    :class:`~halluscope.errors.UnknownNameError` for an unknown name."""
    from halluscope.errors import ConfigError
    metric = result.get(name)
    problem = range_problem(name, threshold, getattr(metric, "bounds", None))
    if problem:
        raise ConfigError(problem)
    return metric


def range_problem(name: str, threshold: float, bounds: tuple[float, float] | None
                  ) -> str | None:
    """Why ``threshold`` is no threshold of statistic ``name`` whose values lie in ``bounds``
    (a gate past the range always passes or never does); ``None`` when it is one."""
    if bounds is None or bounds[0] <= threshold <= bounds[1]:
        return None
    hint = ""
    if bounds == (0.0, 1.0) and 1 < threshold <= 100:
        hint = f"; rates are fractions: did you mean {threshold / 100:g}?"
    elif bounds == (0.0, math.inf):
        hint = ": a count is never negative"
    return (f"the threshold {threshold:g} of {name} is outside its range "
            f"[{bounds[0]:g}, {bounds[1]:g}]{hint}")


def gate_notes(name: str, direction: str, which: str | None, threshold: float,
               bounds: tuple[float, float] | None) -> list[str]:
    """What a user should know of a gate that is allowed but weaker than it looks: a bound
    on the lenient side (the lower end of the interval under a maximum passes more easily
    than the value) and a threshold at the end of the range (a rate at most 1), which no
    value can fail; such a gate fails only where there is no value."""
    notes = []
    lenient = {"below": "lower", "above": "upper"}[direction]
    if which == lenient:
        strict = "upper" if lenient == "lower" else "lower"
        side, need = ("above", "at most") if direction == "below" else ("below", "at least")
        notes.append(f"the {lenient} end of the interval passes more easily than the value: "
                     f"the gate fails only when even the {lenient} end is {side} "
                     f"{threshold:g}; @{strict} passes only when the data show the value is "
                     f"{need} {threshold:g}")
    if bounds is not None and (threshold >= bounds[1] if direction == "below"
                               else threshold <= bounds[0]):
        need = "at most" if direction == "below" else "at least"
        notes.append(f"every value of {name} is {need} {threshold:g} (its range is "
                     f"[{bounds[0]:g}, {bounds[1]:g}]): the gate can fail on no value, only "
                     f"where there is none")
    return notes


def _num(x: Any) -> float | None:
    """``x`` as a number, ``None`` when undefined; a count stays whole (it was shown as
    ``2.0000``)."""
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return int(x)
    return float(x) if _defined(x) else None


def _direction_hint(name: str, metric: Any, direction: str) -> str | None:
    if metric.higher_is_better and direction == "below":
        return (f"  note       {name} is higher-is-better; a release gate usually wants "
                f"assert_above(..., bound='lower')")
    if not metric.higher_is_better and direction == "above":
        return (f"  note       {name} is lower-is-better; a release gate usually wants "
                f"assert_below(..., bound='upper')")
    return None


# -- regression -----------------------------------------------------------------------------
def _why_no_interval(metric: Any) -> str:
    """Why a statistic has no interval: its reason (too few units, clusters or replicates, as
    :func:`~halluscope.metrics.intervals.decide_interval` gave it; a result read back from a
    file has the note alone), a count, or no bootstrap."""
    reason = getattr(metric, "ci_reason", None)
    if reason is not None:
        return reason.note
    note = getattr(metric, "ci_note", None)
    if note:
        return note
    if not getattr(metric, "direction", True) and isinstance(metric.value, int):
        return "a count"
    return "bootstrap disabled with n_boot=0"


def why_undefined(metric: Any) -> str:
    """Why a statistic has no value: its metric's reason, nothing scored, or a ratio over
    nothing."""
    if getattr(metric, "why_no_value", None):
        return metric.why_no_value
    from halluscope.metrics.stats import undefined_why
    return undefined_why(metric.n)


def _baseline_entry(baseline: Any, name: str) -> Mapping[str, Any] | None:
    """``name``'s entry in a baseline (``{"metrics": {name: {...}}}``, ``{name: {...}}`` or
    ``{name: value}``), as a mapping; ``None`` when it has none."""
    entries = baseline.get("metrics", baseline) if isinstance(baseline, Mapping) else {}
    entry = entries.get(name) if isinstance(entries, Mapping) else None
    if isinstance(entry, (int, float)) and not isinstance(entry, bool):
        entry = {"value": entry}        # checked by entry_problem; a count stays whole
    return entry


def _baseline_line(entry: Mapping[str, Any], base: float, where: str) -> str:
    """The baseline's value, interval and size, for a failure message."""
    line = f"  baseline   {_fmt(base)}"
    if entry.get("ci"):
        lo, hi = entry["ci"]
        line += f"   CI [{_fmt(lo)}, {_fmt(hi)}]"
    if entry.get("n") is not None:
        line += f"   n = {entry['n']}"
    return line + (f"   ({where})" if where != "the baseline" else "")


def _why_unchecked(name: str, metric: Any, entry: Mapping[str, Any] | None,
                   base: float | None, where: str) -> str | None:
    """Why ``name`` cannot be checked against its baseline (``None`` when it can)."""
    if entry is None:
        return (f"no baseline value for {name} in {where}; record one with "
                f"`pytest --halluscope-update-baseline` (or halluscope.gates.baseline."
                f"write_baseline)")
    if base is None:
        why = entry.get("why_no_value")
        return (f"the baseline value of {name} in {where} is undefined"
                + (f" ({why})" if isinstance(why, str) and why else ""))
    if entry.get("n") == 0 and isinstance(entry.get("value"), float):
        return (f"the baseline value {_fmt(base)} of {name} in {where} is computed over no "
                f"units (n = 0), which is no measurement to compare with")
    if not _defined(metric.value):
        return (f"{name} has no value now (n = {metric.n}): {why_undefined(metric)}; the "
                f"baseline has {_fmt(base)}")
    if over_no_units(metric.n, metric.value):      # as check_threshold: a default, never a measurement
        return (f"{name} = {_fmt(metric.value)} is computed over no units (n = 0) now, so it "
                f"cannot be compared with the baseline {_fmt(base)}")
    return None


def _other_settings(result: Any, name: str, entry: Mapping[str, Any], where: str
                    ) -> str | None:
    """Why the baseline's value of ``name`` is another measure than the run's (recorded with
    another variant, parser, vocabulary, ...), ``None`` when it is not or the entry does not
    say."""
    from halluscope.gates.baseline import metric_settings, settings_differences
    differ = settings_differences(dict(entry), metric_settings(result, name))
    if not differ:
        return None
    return (f"the baseline value of {name} in {where} was recorded with other settings "
            f"({'; '.join(differ)}): it is another measure, not compared; audit with the "
            f"baseline's settings, or re-record it (`pytest --halluscope-update-baseline`)")


def check_regression(result: Any, baseline: Mapping[str, Any] | str | Path, name: str,
                     tolerance: float = 0.0, *, worst: int = DEFAULT_WORST,
                     source: str | Path | None = None) -> Outcome:
    """Check that metric ``name`` is no worse than in ``baseline`` by more than ``tolerance``.

    "Worse" follows the metric's direction: a lower-is-better metric (CHAIR_i) fails above
    ``baseline + tolerance``, a higher-is-better one (POPE F1) below ``baseline - tolerance``,
    and one with no better direction (POPE's yes-ratio, ideally 0.5; a count; a length) fails
    when it moved either way by more than ``tolerance``.

    Args:
        result: An :class:`~halluscope.result.AuditResult`.
        baseline: A baseline file's content (``{"metrics": {name: {"value": ...}}}``), a plain
            mapping ``{name: {"value": ...}}`` or ``{name: value}``, or the file's path.
        name: The metric name, as for :func:`check_threshold`.
        tolerance: How much worse than the baseline is still accepted (>= 0).
        worst: How many of the worst items to show in a failure message.
        source: Where the baseline came from, for messages (its path is used when given one).
    """
    __tracebackhide__ = True
    check_name(name)
    tolerance = checked_tolerance(tolerance)
    where = str(source) if source is not None else "the baseline"
    if isinstance(baseline, (str, Path)):
        from halluscope.gates.baseline import load_baseline
        where = str(source or baseline)
        baseline = load_baseline(baseline)
    entry = _baseline_entry(baseline, name)
    if isinstance(entry, Mapping):
        from halluscope.gates.baseline import entry_problem
        problem = entry_problem(entry)
        if problem:
            raise ValueError(f"{where}: {name}: {problem}")
    metric = result.get(name)
    either_way = not getattr(metric, "direction", True)
    direction = "either" if either_way else "above" if metric.higher_is_better else "below"
    op = "within" if either_way else ">=" if metric.higher_is_better else "<="
    base = _num(entry.get("value")) if isinstance(entry, Mapping) else None
    problem = _why_unchecked(name, metric, entry, base, where) or _other_settings(
        result, name, entry, where) or _undecided(name, result)
    limit = None
    if problem is None:
        limit = base - tolerance if metric.higher_is_better else base + tolerance
    value = _num(metric.value)
    if either_way and limit is not None:
        passed = abs(value - base) <= tolerance
        shown = f"{_fmt(base)} ± {tolerance:g}"
    else:
        passed = problem is None and (value >= limit if metric.higher_is_better else
                                      value <= limit)
        shown = _fmt(limit) if limit is not None else "?"
    if passed:
        message = (f"{name}: value {_fmt(value)} {op} {shown} (baseline {_fmt(base)}, "
                   f"tolerance {tolerance:g})")
    else:
        if problem is not None:
            head = problem
        else:
            named = "" if source is None and where == "the baseline" else where + " "
            moved = "moved" if either_way else "worse"
            head = (f"{name} regressed: {_fmt(value)} now vs {_fmt(base)} in the baseline "
                    f"{named}({moved} by {_fmt(abs(value - base))}, tolerance {tolerance:g})")
        lines = [head, *_detail_lines(name, metric)]
        if isinstance(entry, Mapping) and base is not None:
            lines.append(_baseline_line(entry, base, where))
        if limit is not None:
            sign = "±" if either_way else "-" if metric.higher_is_better else "+"
            lines.append(f"  compared   value {_fmt(value)} {op} {shown} required "
                         f"(baseline {sign} tolerance)")
        if entry is not None:
            lines.extend(worst_items_block(result, name, worst))
        message = "\n".join(lines)
    outcome = Outcome(kind="regression", name=name, passed=passed, value=value,
                      ci=tuple(metric.ci) if metric.ci is not None else None,
                      confidence=metric.confidence, n=metric.n,
                      higher_is_better=metric.higher_is_better, bound=None, compared=value,
                      direction=direction, limit=limit, baseline=base, tolerance=tolerance,
                      message=message)
    return _conclude(outcome)


__all__ = ["DEFAULT_WORST", "HalluscopeAssertionError", "Outcome", "WorstItem",
           "add_observer", "check_name", "check_regression", "check_threshold", "checked_threshold",
           "checked_tolerance", "finite_real",
           "explain_claims", "explain_generic", "explainer_for", "gate_notes", "range_problem",
           "remove_observer", "worst_items", "worst_items_block"]
