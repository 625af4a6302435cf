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


def item_groups(scored: Any, name: str) -> tuple[str, ...]:
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
        for group in set(item_groups(a[key], name)) & set(item_groups(b[key], name)):
            inside.setdefault(group, []).append(i)
    counts: dict[str, list[int]] = {}
    for side, items in ((0, a), (1, b)):
        other = b if side == 0 else a
        for key, scored in items.items():
            mine = item_groups(scored, name)
            theirs = set(item_groups(other[key], name)) if key in paired else set()
            for group in mine:
                tally = counts.setdefault(group, [0, 0])
                if group not in theirs:
                    tally[side] += 1
    return {g: (inside.get(g, []), *counts.get(g, (0, 0))) for g in sorted(counts)}


def matching_groups(pattern: str, groups: Mapping[str, Any], metric: str = "") -> list[str]:
    """The groups a gate's ``@GROUP`` names: itself, or every group of a field for
    ``FIELD:*`` (``split:*``: each split), those of ``metric`` named bare included
    (:func:`group_fields`: HallusionBench's ``category:*`` names ``VD`` and ``VS``)."""
    if pattern.endswith(":*"):
        field = pattern[:-2]
        return [g for g in groups if field in group_fields(g, metric)]
    return [pattern] if pattern in groups else []


def group_fields(group: str, metric: str = "") -> tuple[str, ...]:
    """The fields ``group`` is a value of: its own for ``FIELD:VALUE``; for a group named bare,
    those its metric's class says (``bare_group_fields``: HallusionBench's), else none."""
    if ":" in group:
        return (group.partition(":")[0],)
    from halluscope.metrics.base import declared
    fields = getattr(declared(metric) if metric else None, "bare_group_fields", None)
    return tuple(fields(group)) if callable(fields) else ()


def worse_by(entry: Mapping[str, Any]) -> float | None:
    """How much worse B is than A by one entry's difference (negative: better); ``abs`` of the
    difference for a statistic with no better direction; None where it has no difference."""
    diff = entry.get("diff")
    if not isinstance(diff, (int, float)) or diff != diff:
        return None
    if entry.get("direction") is False:
        return abs(diff)
    return -diff if entry.get("higher_is_better", True) else diff


def flagged(entry: Mapping[str, Any]) -> str | None:
    """``"worse"`` / ``"better"`` where the entry's interval lies wholly on that side of 0 (a
    change the paired bootstrap tells from none), else None (no interval, one holding 0, or a
    statistic with no better direction)."""
    ci = entry.get("ci")
    if not ci or entry.get("direction") is False or entry.get("count"):
        return None
    lo, hi = ci
    up = lo > 0 if lo is not None else False
    down = hi < 0 if hi is not None else False
    if not (up or down):
        return None
    return "worse" if up != entry.get("higher_is_better", True) else "better"


def standardised(entry: Mapping[str, Any]) -> float | None:
    """:func:`worse_by` on a scale every statistic shares: over the half width of the
    entry's interval where it has one (about 2 where the interval just reaches 0 at 95%,
    whatever the statistic's units: a rate, a count, a 0-6 score), else over the larger of
    |A| and |B| (the relative change: 1 from 0 to anything); None where there is no
    difference."""
    bad = worse_by(entry)
    if bad is None:
        return None
    ci = entry.get("ci")
    if ci and all(isinstance(x, (int, float)) for x in ci) and ci[1] > ci[0]:
        return bad / ((ci[1] - ci[0]) / 2)
    sizes = [abs(x) for x in (entry.get("a"), entry.get("b")) if isinstance(x, (int, float))]
    scale = max(sizes, default=0.0)
    return bad / scale if scale > 0 else 0.0


def change_rank(entry: Mapping[str, Any]) -> tuple[int, float]:
    """Where a difference ranks, worst first: worse beyond doubt (its interval wholly on the
    worse side of 0), then worse with an interval holding 0, then worse with no interval
    (too few units: a one-answer group's swing of 1.0 ranked above a split's significant
    drop, when raw B - A was compared), then those not worse, then no difference; within a
    rank by :func:`standardised` change, largest first. Raw B - A mixed scales (a 0-6 score
    with a rate)."""
    size = standardised(entry)
    if size is None:
        return (5, 0.0)
    has_ci = bool(entry.get("ci"))
    if flagged(entry) == "worse":
        rank = 0
    elif size > 0:
        rank = 1 if has_ci else 2
    else:
        rank = 4 if has_ci else 3
    return (rank, -size)


def _worst_first(row: tuple[str, Mapping[str, Any]]) -> tuple[int, float, str]:
    return (*change_rank(row[1]), row[0])


def groups_by_statistic(groups: Mapping[str, Mapping[str, Mapping[str, Any]]]
                        ) -> dict[str, list[tuple[str, Mapping[str, Any]]]]:
    """``metric.statistic`` -> its (group, entry) rows, worst change first
    (:func:`change_rank`), those with no difference last, ties by group name."""
    out: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for group, entries in groups.items():
        for key, entry in entries.items():
            out.setdefault(key, []).append((group, entry))
    return {key: sorted(rows, key=_worst_first) for key, rows in out.items()}


def _as_overall(entry: Mapping[str, Any], overall: Mapping[str, Any] | None) -> bool:
    """Whether a group's entry is the overall one over again: the group holds every paired item
    (one model's answers under ``--by model``, POPE's one object), so A, B and B − A alike."""
    return overall is not None and all(entry.get(k) == overall.get(k)
                                       for k in ("a", "b", "diff", "n_paired"))


def worst_group_changes(groups: Mapping[str, Mapping[str, Mapping[str, Any]]], limit: int,
                        overall: Mapping[str, Mapping[str, Any]] | None = None
                        ) -> tuple[list[tuple[str, str, Mapping[str, Any]]], int, int]:
    """The (group, ``metric.statistic``, entry) rows a console shows: the changes of a
    directional statistic (no count) that got worse or are flagged (:func:`flagged`), worst
    first (:func:`change_rank`: worse beyond doubt first, by standardised change, which
    statistics of other scales share), at most ``limit``, leaving out a group's entry that
    is the ``overall`` one (the comparison's ``metrics``) over again; how many group entries
    are not shown; and how many of all have no difference (a group of one run only, a side
    with no value)."""
    rows = []
    total = missing = 0
    overall = overall or {}
    for group, entries in groups.items():
        for key, entry in entries.items():
            total += 1
            bad = worse_by(entry)
            missing += bad is None
            if (bad is None or entry.get("count") or entry.get("direction") is False
                    or (bad <= 0 and not flagged(entry))
                    or _as_overall(entry, overall.get(key))):
                continue
            rows.append(((*change_rank(entry), group, key), (group, key, entry)))
    rows.sort(key=lambda r: r[0])
    shown = [r[1] for r in rows[:limit]]
    return shown, total - len(shown), missing


__all__ = ["change_rank", "flagged", "group_fields", "group_members", "groups_by_statistic",
           "item_groups", "matching_groups", "standardised", "worse_by", "worst_group_changes"]
