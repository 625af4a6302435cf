"""Release gates: ``METRIC.STAT[@GROUP][@BOUND]=VALUE`` checked the same way everywhere.

The CLI's ``--fail-above`` / ``--fail-below``, :meth:`NotebookResult.gate_failures` and the pytest
plugin's assertions all end in :func:`halluscope.gates.assertions.check_threshold`, so a gate cannot
pass by accident in one face and fail in another:

- a gate on a metric that has no value (nothing was scored) fails, with the reason;
- so does a gate on a value computed over no units (n = 0: a compatibility variant's
  default, such as AMBER's starting counters), which is no measurement;
- a threshold outside a statistic's range (a rate above 1, a count below 0) is a usage error
  (:class:`~halluscope.errors.ConfigError`) that suggests the fraction ("did you mean 0.12?");
- a gate weaker than it looks is a warning: a bound on the lenient side (``@lower`` under
  ``--fail-above``), a threshold at the end of the range, which no value can cross;
- an unknown metric or statistic is a usage error naming the nearest known names.

``--fail-above chair.chair_i@upper=0.12`` compares the upper end of the confidence interval,
``--fail-below pope.f1@lower=0.8`` the lower end; without a bound the point value is compared.
A group comes before the bound: ``pope.f1@split:random@lower=0.8``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from halluscope.errors import ConfigError, suggest  # suggest: re-exported here
from halluscope.gates.arguments import NO_LIMIT, bound_typo

BOUNDS = ("upper", "lower", "value", "conservative")


@dataclass(frozen=True)
class Gate:
    """One threshold on one statistic.

    Attributes:
        name: ``metric.statistic`` with an optional ``@group``.
        direction: ``below`` (the value must be at most ``limit``; ``--fail-above``) or
            ``above`` (at least ``limit``; ``--fail-below``).
        limit: The threshold, inclusive.
        bound: ``None`` (the point value), ``upper``, ``lower`` or ``conservative``.
        spec: The gate as the user wrote it, for messages.
        flag: How it was given: the command line's flag (``--fail-above``), the keyword of
            :func:`parse_gates` (``above``), or nothing (:func:`parse_gate` alone).
    """

    name: str
    direction: str
    limit: float
    bound: str | None = None
    spec: str = ""
    flag: str = ""

    @property
    def where(self) -> str:
        """The gate as its caller wrote it, for messages: ``--fail-above chair.chair_i=0.1``
        on the command line, ``parse_gates(above=['chair.chair_i=0.1'])`` in Python (a
        message from ``halluscope.audit(gates=...)`` named flags the caller never wrote)."""
        spec = self.spec or f"{self.name}={self.limit:g}"     # a Gate built by hand
        if self.flag.startswith("--"):
            return f"{self.flag} {spec}"
        if self.flag:
            return f"parse_gates({self.flag}=[{spec!r}])"
        return f"gate {spec!r}"


def parse_gate(raw: str, direction: str, flag: str = "") -> Gate:
    """Read ``METRIC.STAT[@GROUP][@BOUND]=VALUE``; :class:`ConfigError` when it is not one.
    ``flag`` is how it was given (:attr:`Gate.flag`), named in messages."""
    where = ("" if not flag else f"{flag}: " if flag.startswith("--")
             else f"parse_gates({flag}=...): ")
    name, sep, value = raw.rpartition("=")     # a group value may hold '=' (split:a=b)
    name = name.strip()
    if not sep or "." not in name.split("@", 1)[0]:
        raise ConfigError(f"{where}expected METRIC.STAT[@GROUP][@BOUND]=VALUE (e.g. "
                          f"chair.chair_i=0.1, chair.chair_i@upper=0.1 or "
                          f"pope.f1@split:random@lower=0.8), got {raw!r}")
    # the gate is well formed: only its threshold is wrong, and that is said with the gate
    said = Gate(name, direction, 0.0, spec=raw.strip(), flag=flag).where
    try:
        limit = float(value)
    except ValueError:
        raise ConfigError(f"{said}: expected a number as the threshold, got "
                          f"{value.strip()!r}") from None
    if not math.isfinite(limit):       # nan is never crossed, inf never either
        raise ConfigError(f"{said}: expected a finite number as the threshold, got "
                          f"{value.strip()!r} ({NO_LIMIT})")
    parts = name.split("@")
    bound = None
    if len(parts) > 1 and parts[-1] in BOUNDS:
        bound = parts.pop()
        bound = None if bound == "value" else bound
    elif len(parts) > 1 and (meant := bound_typo(parts[-1])):    # @UPPER, @lowr; not @other
        raise ConfigError(f"{where}unknown bound {parts[-1]!r} in {raw!r}: did you mean "
                          f"@{meant}? (bounds: {', '.join(BOUNDS)})")
    if len(parts) > 1 and (parts[-1] in BOUNDS or not all(parts[1:])):
        # said now, not as "no group 'lower'" (or '') once the whole audit has run
        raise ConfigError(f"{where}expected one @GROUP and one @BOUND at most, "
                          f"the bound last, got {raw!r} (bounds: {', '.join(BOUNDS)})")
    return Gate("@".join(parts), direction, limit, bound, raw, flag)


def parse_gates(above: Iterable[str] | None = None, below: Iterable[str] | None = None, *,
                flags: tuple[str, str] = ("above", "below")) -> list[Gate]:
    """The gates ``above`` (fail when a value is above: values must stay at or below) and
    ``below``. ``flags`` name them in messages: the keywords by default, as a Python caller
    wrote them (``parse_gates(above=['chair.chair_i=0.1'])``); the command line passes
    ``("--fail-above", "--fail-below")``."""
    for side, given in (("above", above), ("below", below)):
        if isinstance(given, (str, bytes)):     # each character was read as a gate: "got 'c'"
            raise ConfigError(f"parse_gates({side}=...): expected a list of gates such as "
                              f"[{given!r:.60}], got the string {given!r:.60}")
    return ([parse_gate(r, "below", flags[0]) for r in above or ()]
            + [parse_gate(r, "above", flags[1]) for r in below or ()])


def check_gates(result: Any, gates: Iterable[Gate], *, warn: bool = True,
                warned: Collection[str] = (), notes: list[str] | None = None) -> list[str]:
    """Failure messages of every gate that does not hold on ``result``.

    Raises :class:`ConfigError` (a usage error) for an unknown metric or statistic and for a
    threshold outside the statistic's range, before any gate is judged. With ``warn``, a gate
    weaker than it looks (a lenient bound, a threshold no value can cross) is logged as a
    warning, but for the gates whose spec is in ``warned`` (the CLI warned about those before
    scoring); with ``notes``, such warnings are added to it instead, for the caller to say.
    """
    gates = list(gates)
    if not gates:       # (an audit without --fail-above/--fail-below does not import them)
        return []
    from halluscope.errors import HalluscopeError
    from halluscope.gates.assertions import HalluscopeAssertionError, check_threshold, validate_threshold
    for gate in gates:
        try:      # (a group exists only after scoring: a gate found wrong here names itself)
            validate_threshold(result, gate.name, gate.limit)
        except HalluscopeError as exc:
            raise type(exc)(f"{gate.where}: {exc}") from None
    failures = []
    for gate in gates:
        try:
            check_threshold(result, gate.name, gate.limit, bound=gate.bound,
                            direction=gate.direction, worst=0,
                            warn=warn and gate.spec not in warned, spec=gate.spec,
                            notes=notes)
        except HalluscopeAssertionError as exc:
            failures.append(_with_margin(str(exc).splitlines()[0], exc.outcome))
    return failures


def _with_margin(head: str, outcome: Any) -> str:
    """A crossed gate's line with how far it crossed (``... above the threshold 0.12 (by
    0.0083)``): the one line the command line prints left that to the reader, though the full
    message says it. A gate that failed for another reason (no value, not decided) is kept."""
    from halluscope.gates.assertions import _fmt
    compared, limit = outcome.compared, outcome.limit
    if compared is None or limit is None or not head.endswith(f"the threshold {limit:g}"):
        return head
    gap = abs(compared - limit)
    if isinstance(compared, int) and float(limit).is_integer():
        gap = int(gap)                  # a count's distance is whole
    return f"{head} (by {_fmt(gap)})"


__all__ = ["BOUNDS", "Gate", "check_gates", "parse_gate", "parse_gates", "suggest"]
