"""Folding groups over few resampling units without drawing their replicates.

``--by`` a field with nearly a value per answer (``question_id``) makes a group of one or two
answers each. An interval over fewer than ``min_units`` units is never computed ("too few
units"), yet folding such groups replicated each one like a large group: a column of
``per_unit`` per group and metric column (50,000 groups x 6 columns x 8,334 images: 20 GB) and
its product with 1,000 replicates of weights. Here the groups whose states may still defer
(:meth:`~halluscope.metrics.stats.SumState.deferring`) are split off and folded as their rows
summed per resampling key (:meth:`~halluscope.metrics.stats.SumState.add_pending`); their
replicates are drawn only if an interval asks for them, the same to the bit (the rows are
:func:`~halluscope.metrics.draws.small_integers`, whose weighted sums are exact in any order).
Everything is worked out for all the groups at once, in array passes over (group, item) pairs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from halluscope.metrics.intervals import too_few
from halluscope.metrics.stats import (DEFER_UNITS, NO_ITEM_COUNTED, MetricResult, RowUnits,
                                      Statistic, SumState, check_share, group_replicates,
                                      no_value_why, range_of)


@dataclass
class FewKeyGroups:
    """The groups to fold deferred, each with its resampling keys and their rows' sums:
    group ``names[j]`` has ``counts[j]`` items and keys ``key[start[j]:start[j + 1]]`` (indices
    into the fold's keys, ascending) whose column sums are ``sums[start[j]:start[j + 1]]``."""

    names: list[str]
    counts: np.ndarray
    start: np.ndarray
    key: np.ndarray
    sums: np.ndarray


def split_few_keys(members: Mapping[str, np.ndarray], key_of_row: np.ndarray, n_keys: int,
                   rows: np.ndarray, state_of: Callable[[str], SumState | None],
                   n_boot: int) -> tuple[dict[str, np.ndarray], FewKeyGroups | None]:
    """``(others, few)``: the groups of ``members`` (group -> its items, ascending) whose
    states cannot defer, and those that can (``state_of(g)``: the group's state, ``None``
    before its first rows), with their items' rows ``rows`` (m x k) summed per key
    (``key_of_row[i]``: item ``i``'s key, of ``n_keys``)."""
    if not n_boot or not members:
        return dict(members), None
    names = list(members)
    lens = np.fromiter((len(v) for v in members.values()), dtype=np.intp, count=len(names))
    if lens.min(initial=DEFER_UNITS) >= DEFER_UNITS and lens.sum() > 0 and \
            all(state_of(g) is not None and not state_of(g).deferring(0) for g in names):
        return dict(members), None      # (the usual groups: nothing to look at)
    item = np.concatenate([np.asarray(v, dtype=np.intp) for v in members.values()])
    pair = np.repeat(np.arange(len(names), dtype=np.int64), lens) * n_keys + key_of_row[item]
    pairs, pair_of = np.unique(pair, return_inverse=True)
    group_of_pair = pairs // n_keys
    keys_per_group = np.bincount(group_of_pair, minlength=len(names))
    few = np.zeros(len(names), dtype=bool)
    for j, g in enumerate(names):
        st = state_of(g)
        few[j] = (keys_per_group[j] < DEFER_UNITS if st is None
                  else st.deferring(int(keys_per_group[j])))
    if not few.any():
        return dict(members), None
    pair_of = pair_of.reshape(-1)
    sums = np.empty((len(pairs), rows.shape[1]))
    for c in range(rows.shape[1]):          # each pair's rows, summed in item order
        sums[:, c] = np.bincount(pair_of, rows[item, c], minlength=len(pairs))
    chosen = few[group_of_pair]
    start = np.concatenate([[0], np.cumsum(keys_per_group[few])])
    others = {g: members[g] for j, g in enumerate(names) if not few[j]}
    return others, FewKeyGroups([g for j, g in enumerate(names) if few[j]], lens[few], start,
                                (pairs[chosen] % n_keys).astype(np.intp), sums[chosen])


def fold_few_keys(few: FewKeyGroups | None, keys: Sequence[str],
                  state_of: Callable[[str], SumState],
                  count: Callable[[str, SumState], None] | None = None) -> None:
    """Fold :func:`split_few_keys`'s deferred groups into their states (``state_of`` makes
    one where there is none): their sums per key (``keys``: the names the weights are drawn
    from), pending, and the items' count, column totals, units and the clusters holding each
    column, from the sums per key (the keys being the units) or by ``count(group, state)``."""
    if few is None:
        return
    for j, g in enumerate(few.names):
        a, b = few.start[j], few.start[j + 1]
        sums, named = few.sums[a:b], [keys[k] for k in few.key[a:b].tolist()]
        st = state_of(g)
        if count is not None:
            count(g, st)
        else:
            nonzero = sums != 0
            st.add_summed(int(few.counts[j]), sums.sum(axis=0), None, named,
                          lambda c, u=named, on=nonzero: [x for x, y in zip(u, on[:, c].tolist()) if y])
        st.add_pending(named, sums)



def fold_groups_exact(metric, x: np.ndarray, weights: np.ndarray, inv: np.ndarray,
                      keys: Sequence[str], units: RowUnits,
                      members: Mapping[str, np.ndarray]) -> None:
    """Fold :func:`~halluscope.metrics.stats.small_integers` rows ``x`` (row ``i`` weighted by
    column ``inv[i]`` of ``weights``, drawn from ``keys``) into ``metric``'s group states: the
    groups over few keys deferred (:func:`split_few_keys`), every other group's replicates
    from one matrix product per batch of groups
    (:func:`~halluscope.metrics.stats.group_replicates`), bit-identical to group by group."""
    others, few = split_few_keys(members, inv, len(keys), x, metric.group_states.get,
                                 metric.n_boot)
    for g, boot in group_replicates(x, weights, inv, others):
        idx = others[g]
        if len(idx) == len(x):
            metric._group_state(g).add_replicated(x, boot, units)
        else:
            metric._group_state(g).add_replicated(x[idx], boot, units.take(idx))
    fold_few_keys(few, keys, metric._group_state,
                  lambda g, st: st._count(x[members[g]], units.take(members[g])))


def group_members(signatures: list[tuple[str, ...]], signature: np.ndarray) -> dict[str, np.ndarray]:
    """Each group's rows, ascending (``signature[i]``: row ``i``'s set of groups, an index into
    ``signatures``), groups in order of first naming: one sort of (group, row) pairs, not a
    pass over every row per group (50,000 groups of one answer each took minutes)."""
    index: dict[str, int] = {}
    code_groups = [[index.setdefault(g, len(index)) for g in groups] for groups in signatures]
    if not index:
        return {}
    lens = np.array([len(c) for c in code_groups], dtype=np.intp)
    flat = np.fromiter((g for c in code_groups for g in c), dtype=np.intp, count=int(lens.sum()))
    starts = np.concatenate([[0], np.cumsum(lens)])
    rows = np.repeat(np.arange(len(signature), dtype=np.intp), lens[signature])
    # each row's groups: flat[starts[sig] : starts[sig] + lens[sig]], laid end to end
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(lens[signature]) - lens[signature],
                                              lens[signature])
    group = flat[np.repeat(starts[:-1][signature], lens[signature]) + offset]
    order = np.argsort(group, kind="stable")            # rows stay ascending within a group
    bounds = np.searchsorted(group[order], np.arange(len(index) + 1))
    return {g: rows[order[bounds[j]:bounds[j + 1]]] for g, j in index.items()}


SPARSE_MIN_GROUPS = 50
"""Fewest groups of one ``--by`` field that :func:`sparse_group_notes` looks at (with fewer,
one group per answer costs and hides little)."""


def sparse_group_notes(summaries: Mapping[str, object], metrics: Sequence[object]) -> list[str]:
    """Warnings for ``--by`` fields with nearly a value per scored item (at least
    :data:`SPARSE_MIN_GROUPS` groups and half as many groups as the metric's items): how many
    groups, how many of them too small for an interval, and a coarser field to group by. Each
    is also noted in the metric's ``info`` (``sparse_by``, written to results.json); every
    group stays in the results."""
    notes = []
    for metric in metrics:
        summary = summaries.get(metric.name)
        if summary is None or not summary.groups or not summary.n:
            continue
        fields: dict[str, list[str]] = {}
        for g in summary.groups:
            fields.setdefault(g.split(":", 1)[0], []).append(g)
        sparse = {}
        for field in getattr(metric, "by", ()):
            groups = fields.get(field, [])
            if len(groups) < max(SPARSE_MIN_GROUPS, summary.n / 2):
                continue
            small = sum(max((r.n for r in summary.groups[g].values()), default=0)
                        < metric.min_units for g in groups)
            sparse[field] = {"groups": len(groups), "items": summary.n, "too_few_units": small}
            notes.append(
                f"{metric.name}: --by {field} made {len(groups):,} groups of {summary.n:,} scored "
                f"items ({summary.n / len(groups):.1f} items a group); {small:,} of them are over "
                f"fewer than {metric.min_units} units, too few for an interval. Every group is in "
                f"results.json ({field}:...); to compare parts of the run, group by a field with "
                f"fewer values (model, split, a category); each item's own result is in "
                f"items.jsonl")
        if sparse:
            summary.info["sparse_by"] = sparse
    return notes


BATCH_GROUPS = 64
"""Fewest groups whose statistics :func:`group_results` computes side by side."""


def group_results(states: Mapping[str, SumState], statistics: Mapping[str, Statistic],
                  confidence: float, min_units: int) -> dict[str, dict[str, MetricResult]]:
    """Every group's results (sorted by group), as :meth:`SumState.result` gives them: each
    statistic's point values for all the groups from one call of its function on their
    column sums side by side; a group with too few units or clusters for an interval
    (:func:`~halluscope.metrics.intervals.too_few`) gets its result here, any other from
    :meth:`SumState.result`. A function that does not map columns to columns (a value per
    group) is called group by group."""
    names = sorted(states)
    one = {g: {} for g in names}
    if len(names) < BATCH_GROUPS:
        return {g: {k: states[g].result(k, s, confidence, min_units)
                    for k, s in statistics.items()} for g in names}
    group = [states[g] for g in names]
    columns = group[0].columns
    for st in group:
        st.flush()
    totals = np.array([st.totals for st in group]).reshape(len(group), len(columns))
    items = np.array([st.n for st in group])
    clusters = [len(st.units) or None for st in group]
    for name, stat in statistics.items():
        try:
            with np.errstate(all="ignore"):
                point = np.asarray(stat.fn({c: totals[:, i] for i, c in enumerate(columns)}))
        except Exception:  # noqa: BLE001 - a function of scalars only: group by group
            point = None
        if point is None or point.shape != (len(group),):
            for g, st in zip(names, group):
                one[g][name] = st.result(name, stat, confidence, min_units)
            continue
        units = (items.tolist() if stat.units is None else [   # (units_over, side by side)
            int(round(v)) for v in sum(totals[:, columns.index(c)]
                                       for c in stat.unit_columns).tolist()])
        too_few_of = functools.lru_cache(maxsize=1024)(too_few)  # (many groups alike)
        for j, (g, st) in enumerate(zip(names, group)):
            one[g][name] = _one_result(st, name, stat, point[j], int(items[j]), units[j],
                                       clusters[j], confidence, min_units, too_few_of)
    return one


def _one_result(st: SumState, name: str, stat: Statistic, point, items: int, n: int,
                clusters: int | None, confidence: float, min_units: int,
                too_few_of: Callable = too_few) -> MetricResult:
    """:meth:`SumState.result` given the point value and units (``n``); the state's own
    where an interval may be computed."""
    if stat.count:
        return MetricResult(name, int(round(float(point))) if items else None, items,
                            stat.higher_is_better, bounds=range_of(stat), direction=False,
                            why_no_value=None if items else NO_ITEM_COUNTED)
    check_share(name, stat, point)
    reason = None
    if st.n_boot:
        reason = too_few_of(n, clusters, min_units, holding=st.clusters_holding(stat))
        if reason is None:
            return st.result(name, stat, confidence, min_units)
    why = no_value_why(stat, st.columns, list(st.sums().values()), items) \
        if math.isnan(float(point)) else None
    return MetricResult(name, float(point), n, stat.higher_is_better, None, None,
                        bounds=stat.bounds, ci_note=reason.note if reason else None,
                        clusters=clusters, direction=stat.direction, ci_reason=reason,
                        ci_method=None, why_no_value=why)
