"""Gates checked before an audit scores anything: a misspelled gate stops it at once.

``--fail-above chair.chiar_i=0.1`` was found wrong only after the whole audit had run and
written its outputs (exit 2): hours lost on a large one. What the configuration already tells
is checked first, by :func:`check_gates_ahead`:

- the metric against the metrics the audit runs (named, or inferred from the records as the
  audit infers them);
- the statistic against those the metric declares for this configuration
  (:meth:`~halluscope.metrics.base.Metric.declared_statistics`; a metric that cannot tell
  before scoring is checked after, as before);
- the threshold against the statistic's range (a rate's [0, 1], a count's [0, inf]);
- the bound, which :func:`~halluscope.gates.thresholds.parse_gate` reads.

A group (``@model:demo``, ``@split:random``) exists only once records joined it: it is checked
after scoring, with everything else, by :func:`~halluscope.gates.thresholds.check_gates`. A gate
weaker than it looks (:func:`~halluscope.gates.assertions.gate_notes`) is logged as a warning
here, before scoring.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from halluscope.errors import ConfigError, HalluscopeError, UnknownNameError, suggest
from halluscope.gates.thresholds import Gate

log = logging.getLogger(__name__)


def planned_metrics(inputs: Any, metrics: Iterable[str] | None,
                    options: Mapping[str, Any]) -> tuple[dict[str, type], Any] | None:
    """``({metric name: class}, AuditConfig)`` of the audit that ``inputs``, ``metrics`` and
    the audit ``options`` describe, as the audit resolves them (a folder's halluscope.toml, the
    metrics inferred from the first records); ``None`` when that cannot be told, which the
    audit itself then reports in its own words."""
    from pydantic import ValidationError

    from halluscope.config import AuditConfig
    from halluscope.metrics.base import metric_class
    from halluscope.pipeline import infer_metrics, resolve_inputs
    try:
        paths, manifest = resolve_inputs(inputs)
        given = {k: v for k, v in options.items() if v is not None}
        if metrics:
            given["metrics"] = list(metrics)
        config = AuditConfig(**{**manifest, **given})
        names = config.metrics or infer_metrics(paths, config)
        classes = [metric_class(name) for name in names]
    except (HalluscopeError, ValidationError, OSError):
        return None
    return {getattr(cls, "name", None) or name: cls for name, cls in zip(names, classes)}, config


def check_gates_ahead(gates: Iterable[Gate], inputs: Any, metrics: Iterable[str] | None,
                      options: Mapping[str, Any]) -> set[str]:
    """Raise :class:`ConfigError` (:class:`UnknownNameError` for a name) for the first gate
    that the audit's configuration shows to be wrong, naming the flag, the gate and the
    nearest known names; log what is allowed but weaker than it looks. Returns the specs of the
    gates whose warnings were all given here; the others (a plan that cannot be told, a metric
    that declares no statistics) are warned about after scoring, when their range is known."""
    gates = list(gates)
    if not gates:
        return set()
    plan = planned_metrics(inputs, metrics, options)
    if plan is None:
        return set()
    classes, config = plan
    return {gate.spec for gate in gates if _check_gate(gate, classes, config)}


def _check_gate(gate: Gate, classes: Mapping[str, type], config: Any) -> bool:
    from halluscope.gates.assertions import _resolve_bound, gate_notes, range_problem
    from halluscope.metrics.stats import range_of
    where = f"{'--fail-above' if gate.direction == 'below' else '--fail-below'} {gate.spec}"
    metric, _, rest = gate.name.partition(".")
    stat = rest.split("@", 1)[0]
    if metric not in classes:
        known = [f"{m}.{s}" for m, cls in classes.items()
                 for s in (_declared(cls, config) or ())]
        hint = suggest(metric, classes) or suggest(gate.name.split("@", 1)[0], known)
        raise UnknownNameError(f"{where}: no metric {metric!r} in this audit{hint} (it runs: "
                               f"{', '.join(classes)}); nothing was scored")
    declared = _declared(classes[metric], config)
    bounds = None
    if declared is not None:
        if stat not in declared:
            raise UnknownNameError(f"{where}: metric {metric!r} has no statistic {stat!r}"
                                   f"{suggest(stat, declared)} (statistics: "
                                   f"{', '.join(declared)}); nothing was scored")
        bounds = range_of(declared[stat])
        problem = range_problem(gate.name, gate.limit, bounds)
        if problem:
            raise ConfigError(f"{where}: {problem}; nothing was scored")
    if declared is None:        # its range is known after scoring: warned then, all at once
        return False
    which = _resolve_bound(gate.bound, gate.direction)
    for note in gate_notes(gate.name, gate.direction, which, gate.limit, bounds):
        log.warning("%s: %s", where, note)
    return True


def _declared(cls: type, config: Any) -> Mapping[str, Any] | None:
    """The statistics ``cls`` declares for ``config``; ``None`` where it cannot tell (or its
    declaration fails: the audit reports that itself)."""
    declare = getattr(cls, "declared_statistics", None)
    try:
        return declare(config) if declare is not None else None
    except (HalluscopeError, ValueError, KeyError):
        return None


__all__ = ["check_gates_ahead", "planned_metrics"]
