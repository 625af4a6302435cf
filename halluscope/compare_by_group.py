"""Which paired items each group holds, for the per-group differences of
:func:`halluscope.comparison.compare` (``comparisons[i].groups`` in compare.json) that diff gates
with ``@GROUP`` read (``diff.chair.chair_i@split:val@upper=0``, ``diff.pope.f1@split:*=-0.02``).

A group is one the audits formed (``--by`` fields such as ``model:NAME``, a metric's own such as
POPE's ``split:random`` and ``object:dog``), read off each item's ``scores`` in ``items.jsonl``.
A paired item is in a group where the group is among its groups in *both* runs; an item of the
group in one run whose pair is not in it there (or that has no pair) counts in that group's
``only_a`` / ``only_b``. A group present in one run only has no paired item: its entry has no
value, so a gate on it fails, as every gate on a missing value does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _groups(scored: Any, name: str) -> tuple[str, ...]:
    """The groups of one item (:data:`~halluscope.compare_runs.Scored`) for metric ``name``."""
    line = scored[2] if len(scored) > 2 and isinstance(scored[2], Mapping) else {}
    entry = (line.get("scores") or {}).get(name) or {}
    groups = entry.get("groups") if isinstance(entry, Mapping) else None
    return tuple(g for g in groups or () if isinstance(g, str))


def group_members(name: str, keys: Sequence[Any], a: Mapping[Any, Any], b: Mapping[Any, Any]
                  ) -> dict[str, tuple[list[int], int, int]]:
    """Group -> (the indexes into ``keys`` (the paired items) of those in it in both runs, its
    items in A alone, its items in B alone), for every group either run formed, sorted by
    name."""
    paired = set(keys)
    inside: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        for group in set(_groups(a[key], name)) & set(_groups(b[key], name)):
            inside.setdefault(group, []).append(i)
    counts: dict[str, list[int]] = {}
    for side, items in ((0, a), (1, b)):
        other = b if side == 0 else a
        for key, scored in items.items():
            mine = _groups(scored, name)
            theirs = set(_groups(other[key], name)) if key in paired else set()
            for group in mine:
                tally = counts.setdefault(group, [0, 0])
                if group not in theirs:
                    tally[side] += 1
    return {g: (inside.get(g, []), *counts.get(g, (0, 0))) for g in sorted(counts)}


def matching_groups(pattern: str, groups: Mapping[str, Any]) -> list[str]:
    """The groups a gate's ``@GROUP`` names: itself, or every group of a field for
    ``FIELD:*`` (``split:*``: each split)."""
    if pattern.endswith(":*"):
        return [g for g in groups if g.startswith(pattern[:-1])]
    return [pattern] if pattern in groups else []


__all__ = ["group_members", "matching_groups"]
