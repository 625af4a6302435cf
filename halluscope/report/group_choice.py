"""Which groups the by-group displays (the console's table, report.html's) leave out: a group
that is the one value of its field among a metric's groups and whose numbers are the overall
ones (it covers every item) says nothing the metrics table has not said. ``--by model`` on an
answer file of one model put a ``model:<name>`` row repeating the overall numbers among
MMHal-Bench's question types; one POPE split, one MMHal-Bench question type or one Reefknot
relation type did the same. results.json keeps every group (gates and compare read them there),
and a field the user asked for (``--by`` or ``by =`` in a manifest, not the default) is shown
even so.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from halluscope.metrics.base import MetricSummary


def group_field(group: str) -> str:
    """The field a group is a value of: ``model`` for ``model:x``, ``""`` for a bare name (a
    metric's own, such as MMHal-Bench's question types)."""
    field, sep, _ = group.partition(":")
    return field if sep else ""


def asked_fields(config: Any) -> frozenset[str]:
    """The ``by`` fields the user set (the CLI's ``--by``, ``audit(by=...)``, a manifest's
    ``by``), not the default ``model``: pydantic notes which fields were given."""
    given = getattr(config, "model_fields_set", None) or ()
    return frozenset(getattr(config, "by", ()) or ()) if "by" in given else frozenset()


def _same(a: Any, b: Any) -> bool:
    """Whether two results hold the same value over the same n (no value is held as None)."""
    if a is None or b is None:
        return a is b
    return (a.value, a.n) == (b.value, b.n)


def repeating_groups(summary: MetricSummary, asked: frozenset[str] = frozenset()) -> set[str]:
    """The groups of ``summary`` the displays leave out (module docstring): the only group of
    its field, that field not ``asked`` for, with every statistic's value and n the overall
    ones."""
    fields = Counter(group_field(g) for g in summary.groups)
    out = set()
    for group, results in summary.groups.items():
        field = group_field(group)
        if fields[field] != 1 or (field and field in asked) or not results:
            continue
        if all(_same(res, summary.results.get(stat)) for stat, res in results.items()):
            out.add(group)
    return out


__all__ = ["asked_fields", "group_field", "repeating_groups"]
