"""Gates checked before an audit scores anything: a misspelled gate stops it at once.

``--fail-above chair.chiar_i=0.1`` was found wrong only after the whole audit had run and
written its outputs (exit 2): hours lost on a large one. :func:`halluscope.audit` (``gates=``,
which the CLI and the pytest plugin's auditor pass on) hands :func:`check_gates_ahead` to the
audit (:func:`halluscope.pipeline.run_audit`, ``check_plan``), which calls it once with its
configuration and the metrics it built, before it scores a record or writes a file. It checks
what they already tell:

- the metric against the metrics the audit runs (named, or inferred from the records);
- the statistic against those the metric declares for this configuration
  (:meth:`~halluscope.metrics.base.Metric.declared_statistics`; a metric that cannot tell
  before scoring is checked after, as before);
- the threshold against the statistic's range (a rate's [0, 1], a count's [0, inf]);
- the bound, which :func:`~halluscope.gates.thresholds.parse_gate` reads.

- the field of a group (``@modle:demo``) against the fields the metric can group by in this
  audit: ``--by`` (the metric's :attr:`~halluscope.metrics.base.Metric.by`) and those it forms
  groups of itself, which a metric declares as ``own_group_fields`` (POPE: ``split`` and
  ``object``; ``()`` for none), or whose own groups are bare names says which can be its
  (``bare_group_problem(group, fields)``: HallusionBench's ``VD``, ``VS_chart``; a gate on
  ``@category`` or ``@category:VD`` was refused only after every answer had gone to the
  judge); a metric that does neither (MMHal's question types; a third-party metric) has its
  groups checked after scoring only.

A group's value (``@model:demo``, ``@split:random``) exists only once records joined it: it is
checked after scoring, with everything else, by :func:`~halluscope.gates.thresholds.check_gates`,
whose message lists the groups of that field that exist. A gate weaker than it looks (:func:`~halluscope.gates.assertions.gate_notes`) is logged as a warning
here, before scoring, where its range is known; after scoring otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from halluscope.errors import ConfigError, HalluscopeError, UnknownNameError, suggest
from halluscope.gates.thresholds import Gate

log = logging.getLogger(__name__)


def check_gates_ahead(gates: Iterable[Gate], config: Any, metrics: Sequence[Any]) -> set[str]:
    """Raise :class:`ConfigError` (:class:`UnknownNameError` for a name) for the first gate
    that the audit's ``config`` and the ``metrics`` it built show to be wrong, naming the
    flag, the gate and the nearest known names; log what is allowed but weaker than it looks.
    Returns the specs of the gates whose warnings were all given here; the others (a metric
    that declares no statistics) are warned about after scoring, when their range is known."""
    built = {metric.name: metric for metric in metrics}
    return {gate.spec for gate in gates if _check_gate(gate, built, config)}


def _check_gate(gate: Gate, built: Mapping[str, Any], config: Any) -> bool:
    from halluscope.gates.arguments import resolve_bound
    from halluscope.gates.assertions import gate_notes, range_problem
    from halluscope.metrics.stats import range_of
    where = gate.where        # as the caller wrote it: a flag, or parse_gates(...) in Python
    metric, _, rest = gate.name.partition(".")
    stat = rest.split("@", 1)[0]
    if metric not in built:
        known = [f"{m}.{s}" for m, obj in built.items() for s in (_declared(obj, config) or ())]
        hint = suggest(metric, built) or suggest(gate.name.split("@", 1)[0], known)
        raise UnknownNameError(f"{where}: no metric {metric!r} in this audit{hint} (it runs: "
                               f"{', '.join(built)}); nothing was scored")
    _check_group_field(gate, built[metric], where)
    declared = _declared(built[metric], config)
    if declared is None:        # its range is known after scoring: checked and warned then
        return False
    if stat not in declared:
        raise UnknownNameError(f"{where}: metric {metric!r} has no statistic {stat!r}"
                               f"{suggest(stat, declared)} (statistics: "
                               f"{', '.join(declared)}); nothing was scored")
    bounds = range_of(declared[stat])
    problem = range_problem(gate.name, gate.limit, bounds)
    if problem:
        raise ConfigError(f"{where}: {problem}; nothing was scored")
    which = resolve_bound(gate.bound, gate.direction)
    for note in gate_notes(gate.name, gate.direction, which, gate.limit, bounds):
        log.warning("%s: %s", where, note)
    return True


def _check_group_field(gate: Gate, metric: Any, where: str) -> None:
    """Refuse a gate whose group (``@FIELD:VALUE``) names a field the metric forms no group
    of in this audit; said before scoring, with the fields it does group by. A metric that
    does not say which groups it forms itself (``own_group_fields``) is checked after."""
    group = gate.name.partition("@")[2]
    own = getattr(metric, "own_group_fields", None)
    bare = getattr(metric, "bare_group_problem", None)    # its own groups are bare names
    if not group or (own is None and bare is None):
        return
    fields = list(dict.fromkeys([*getattr(metric, "by", ()), *(own or ())]))
    if any(group.startswith(f"{field}:") for field in fields):
        return          # the value is known after scoring: checked then
    if bare is not None:
        if (problem := bare(group, fields)) is not None:
            raise UnknownNameError(f"{where}: metric {metric.name!r} {problem}; nothing was "
                                   f"scored")
        return
    field, colon, _ = group.partition(":")
    groups = ", ".join(f"{f}:VALUE" for f in fields) or "none"
    how = "; --by FIELD groups by another record or metadata field"
    if not colon:
        raise UnknownNameError(f"{where}: metric {metric.name!r} has no group {group!r}: its "
                               f"groups are named FIELD:VALUE (in this audit: {groups})"
                               f"{how}; nothing was scored")
    raise UnknownNameError(f"{where}: metric {metric.name!r} has no group field {field!r}"
                           f"{suggest(field, fields)} (its groups in this audit: {groups})"
                           f"{how}; nothing was scored")


def _declared(metric: Any, config: Any) -> Mapping[str, Any] | None:
    """The statistics ``metric`` declares for ``config``; ``None`` where it cannot tell (or its
    declaration fails: the audit reports that itself)."""
    declare = getattr(metric, "declared_statistics", None)
    try:
        return declare(config) if declare is not None else None
    except (HalluscopeError, ValueError, KeyError):
        return None


__all__ = ["check_gates_ahead"]
