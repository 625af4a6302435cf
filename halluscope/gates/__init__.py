"""The CI side: release gates, assertions, worst items and baselines.

- :mod:`~halluscope.gates.thresholds`: ``METRIC.STAT[@GROUP][@BOUND]=VALUE`` gates (the CLI's
  ``--fail-above`` / ``--fail-below``, :meth:`NotebookResult.gate_failures`); re-exported here.
- :mod:`~halluscope.gates.assertions`: :func:`check_threshold` and :func:`check_regression`,
  the one place every face ends in, with the worst items in the failure message.
- :mod:`~halluscope.gates.worst_items`: which items cost the most, explained per metric.
- :mod:`~halluscope.gates.baseline`: the baseline file of ``--halluscope-update-baseline``.

The pytest plugin (:mod:`halluscope.pytest_plugin`) and the CLI sit above this room.
"""

from halluscope.gates.thresholds import (BOUNDS, Gate, check_gates, parse_gate, parse_gates,
                                         suggest)

__all__ = ["BOUNDS", "Gate", "check_gates", "parse_gate", "parse_gates", "suggest"]
