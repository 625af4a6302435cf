"""The items whose verdict changed between two runs (:func:`changed_items`), for
:func:`halluscope.comparison.compare`: each paired item's value of the metric's first
directional statistic in A and in B, and its evidence in each run."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from halluscope.metrics.stats import Statistic


def _evaluate(stat: Statistic, columns: Sequence[str], sums: np.ndarray) -> Any:
    return stat.fn({c: sums[..., i] for i, c in enumerate(columns)})


def _clean(x: Any) -> Any:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _primary(stats: Mapping[str, tuple[Statistic, tuple[str, ...]]]) -> tuple[str, Any] | None:
    for stat_name, (stat, columns) in stats.items():
        if not stat.count and stat.direction:
            return stat_name, (stat, columns)
    return None


def changed_items(name: str, stats_a, stats_b, keys: list[str], a: dict, b: dict,
                  xa: np.ndarray, xb: np.ndarray) -> list[dict[str, Any]]:
    """Items whose per-item value of the metric's first directional statistic differs (each
    run's by its own definition): better in B than in A (``better``: fewer hallucinated
    objects, a right answer where A's was wrong) or the reverse (``worse``). ``xa``, ``xb``:
    the items' rows, in ``keys``' order."""
    primary = _primary(stats_a)
    if primary is None or primary[0] not in stats_b:
        return []
    stat_name, (stat, columns) = primary
    stat_b, columns_b = stats_b[stat_name]
    values_a, values_b = _row_values(stat, columns, xa), _row_values(stat_b, columns_b, xb)
    out = []
    for k, va, vb in zip(keys, values_a, values_b):
        if va is None or vb is None or va == vb:
            continue
        better = (vb > va) == stat.higher_is_better
        out.append({"metric": name, "statistic": stat_name, "key": k, "a": va, "b": vb,
                    "change": "better" if better else "worse",
                    "item_a": _evidence(a[k][2], name), "item_b": _evidence(b[k][2], name)})
    return out


#: How many keys of a metric's items held by one run only compare.json lists a side.
MAX_UNPAIRED_LISTED = 100


def unpaired_items(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """One metric's items that pair with none (in run A only, in run B only): how many and
    the first :data:`MAX_UNPAIRED_LISTED` keys of each, in its run's order; ``{}`` where every
    item pairs.
    Counted in each entry's ``only_a`` / ``only_b``, they were named nowhere, so which
    answers B − A left out could not be found."""
    only_a, only_b = [k for k in a if k not in b], [k for k in b if k not in a]
    if not only_a and not only_b:
        return {}
    return {"n_only_a": len(only_a), "n_only_b": len(only_b),
            "only_a": only_a[:MAX_UNPAIRED_LISTED], "only_b": only_b[:MAX_UNPAIRED_LISTED]}


def unpaired_note(metric: str, unpaired: Mapping[str, Any]) -> str:
    """The line said beside the table for :func:`unpaired_items`."""
    sides = []
    for side in ("a", "b"):
        n, keys = unpaired[f"n_only_{side}"], unpaired[f"only_{side}"]
        if n:
            more = f" and {n - 3:,} more" if n > 3 else ""
            sides.append(f"{n:,} only in {side.upper()} ({', '.join(map(str, keys[:3]))}{more})")
    return (f"{metric}: items that pair with none in the other run, counted in only A / only "
            f"B and not in B − A: {'; '.join(sides)} (compare.json's unpaired_items lists the "
            f"first {MAX_UNPAIRED_LISTED} of each side)")


def _row_values(stat: Statistic, columns: Sequence[str], x: np.ndarray) -> list[float | None]:
    """The statistic of each row of ``x`` on its own, evaluated once per distinct row (the
    same bits: POPE's 50,000 rows are 6 one-hot rows) as it always was, on that row alone."""
    if not len(x) or not x.shape[1]:
        return [_clean(_evaluate(stat, columns, row.copy())) for row in x]
    x = np.ascontiguousarray(x, dtype=float)
    rows = x.view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).reshape(-1)  # bitwise
    first, index = np.unique(rows, return_index=True, return_inverse=True)[1:]
    values = [_clean(_evaluate(stat, columns, x[i].copy())) for i in first.tolist()]
    return [values[j] for j in index.reshape(-1).tolist()]


def _evidence(item: Mapping[str, Any], metric: str) -> dict[str, Any]:
    keep = {k: item.get(k) for k in ("id", "image", "image_id", "prompt", "response")
            if item.get(k) is not None}
    keep["evidence"] = item.get(metric, item.get(f"{metric}_summary"))
    return keep


__all__ = ["MAX_UNPAIRED_LISTED", "changed_items", "unpaired_items", "unpaired_note"]
