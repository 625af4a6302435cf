"""SumState notes, per column, the clusters where it is nonzero (up to HELD_CAP): coded once per
fold (RowUnits), the same clusters as a walk down each column's rows, row by row."""

import numpy as np
import pytest

from halluscope.metrics.held import HELD_CAP, RowUnits
from halluscope.metrics.stats import SumState


def walked(folds, k):
    """What a walk down every column of every fold notes: (clusters seen, held per column)."""
    units, held = set(), [[] for _ in range(k)]
    for x, us in folds:
        units |= {u for u in us if u is not None}
        for c in range(k):
            for i in np.flatnonzero(x[:, c]):
                if us[i] is not None and us[i] not in held[c] and len(held[c]) < HELD_CAP:
                    held[c].append(us[i])
    return units, [set(h) for h in held]


@pytest.mark.parametrize("rows,clusters,none_share", [
    (2048, 50, 0.0), (2048, 5000, 0.0), (40, 7, 0.3), (300, 400, 0.1), (5, 3, 0.0)])
def test_noted_clusters_are_those_a_walk_down_the_rows_notes(rows, clusters, none_share):
    rng = np.random.default_rng(rows + clusters)
    folds = []
    for _ in range(4):
        x = rng.integers(0, 3, size=(rows, 4)).astype(float)
        x[:, 1] = rng.random(rows) < 0.03       # a rare column, open for long
        x[:, 3] = 0.0                           # a column never nonzero
        us = [None if rng.random() < none_share else f"img{u}"
              for u in rng.integers(0, clusters, size=rows)]
        folds.append((x, us))
    plain, coded, taken = (SumState("abcd", 0) for _ in range(3))
    for x, us in folds:
        plain.add_rows(x, None, np.arange(len(x)), us)            # a list: coded there
        coded.add_rows(x, None, np.arange(len(x)), RowUnits.of(us))
        every = np.arange(len(x), dtype=np.intp)
        taken.add_rows(x, None, every, RowUnits.of(us + ["other"]).take(every))
    units, held = walked(folds, 4)
    for state in (plain, coded, taken):
        assert state.units == units
        assert state.held == held
        assert state.n == 4 * rows


def test_keys_without_a_unit_are_in_no_cluster():
    inv = np.array([0, 1, 0, 2])
    units = RowUnits.of_keys(inv, ["a", "#1", "b"], ["a", None, "a", "b"])
    assert units.codes.tolist() == [0, -1, 0, 2] and not units.complete
    assert sorted(units.present()) == ["a", "b"]
    whole = RowUnits.of_keys(inv, ["a", "c", "b"], ["a", "c", "a", "b"])
    assert whole.whole and whole.complete and whole.present() == ["a", "c", "b"]
