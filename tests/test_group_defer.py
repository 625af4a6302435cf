"""Groups over few resampling units (``--by question_id``) keep their sums per unit and draw
their replicates only when an interval asks: the same to the bit as drawing them at once, in
add_block (the columnar path), item by item (flush) and across merged shards."""

import json
import random

import numpy as np
import pytest

from halluscope.metrics import group_fold, stats
from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.group_fold import group_members
from halluscope.metrics.stats import Statistic, ratio


class Dogs(Metric):
    name = "dogs"
    columns = ("dog", "one")
    statistics = {"dog_rate": Statistic(lambda s: ratio(s["dog"], s["one"]), proportion=True),
                  "mean": Statistic(lambda s: ratio(s["dog"] + 0.5, s["one"] + 1.0)),
                  "n_dog": Statistic(lambda s: s["dog"], count=True)}

    def score(self, record):
        return ItemScore({}, (int("dog" in record.response), 1))


def _data(n=600, n_units=150, seed=3):
    rng = random.Random(seed)
    table = np.array([[1, 1], [0, 1], [1, 2], [0, 0]], dtype=float)
    codes = np.array([rng.randrange(4) for _ in range(n)])
    unit_of_row = np.array([rng.randrange(n_units) for _ in range(n)])
    units = [f"image:{u}" for u in range(n_units)]
    groups = {"model:a": np.flatnonzero(codes % 2 == 0),
              "few:x": np.array([3, 10, 11, 40]),           # 4 items: deferred
              **{f"question_id:{i}": np.array([i]) for i in range(0, n, 5)},
              "nine": np.flatnonzero(unit_of_row < 9)}       # a group over 9 units
    return table, codes, unit_of_row, units, groups


def _fold(table, codes, unit_of_row, units, groups, how, min_units, parts=1):
    metrics = []
    for p in range(parts):          # shards: each a slice of the items, merged after
        m = Dogs(n_boot=200, seed=5)
        m.min_units = min_units
        keep = np.arange(len(codes)) % parts == p
        if how == "block":
            at = np.cumsum(keep) - 1
            m.add_block(table, unit_of_row[keep], units,
                        {g: at[r[keep[r]]] for g, r in groups.items()}, codes=codes[keep])
        else:
            for i in np.flatnonzero(keep).tolist():
                names = tuple(g for g, rows in groups.items() if i in set(rows.tolist()))
                m.add(ItemScore({}, tuple(table[codes[i]]), groups=names),
                      unit=units[unit_of_row[i]])
        metrics.append(m)
    for m in metrics[1:]:
        metrics[0].merge(m)
    return json.dumps(metrics[0].compute().to_dict(), sort_keys=True), metrics[0]


@pytest.mark.parametrize("how", ["block", "items"])
@pytest.mark.parametrize("parts", [1, 3])
@pytest.mark.parametrize("min_units", [1, 10])
def test_deferred_groups_give_the_results_drawn_at_once(monkeypatch, how, parts, min_units):
    data = _data()
    deferred, metric = _fold(*data, how, min_units, parts)
    assert metric.group_states["question_id:5"]._boot is None or min_units == 1
    monkeypatch.setattr(stats, "DEFER_UNITS", 0)
    monkeypatch.setattr(group_fold, "DEFER_UNITS", 0)
    eager, metric = _fold(*data, how, min_units, parts)
    assert metric.group_states["question_id:5"]._boot is not None
    assert deferred == eager
    groups = json.loads(deferred)["groups"]
    if min_units == 1:      # the small groups' intervals are read: drawn when asked
        assert all(groups[g]["mean"].get("ci_reason") not in ("units", "clusters")
                   for g in ("few:x", "nine", "question_id:5"))
        assert "ci" in groups["nine"]["mean"]
    else:
        assert groups["question_id:5"]["dog_rate"]["ci_reason"] == "units"
        assert groups["nine"]["mean"]["ci_reason"] == "clusters"


def test_group_members_is_the_pass_per_group_it_replaces():
    rng = random.Random(1)
    signatures = [tuple(rng.sample("abcdefg", rng.randrange(4))) for _ in range(30)]
    signature = np.array([rng.randrange(30) for _ in range(500)])
    codes_of: dict = {}
    for code, groups in enumerate(signatures):
        for g in groups:
            codes_of.setdefault(g, []).append(code)
    expected = {g: np.flatnonzero(np.isin(signature, c)) for g, c in codes_of.items()}
    got = group_members(signatures, signature)
    assert list(got) == list(expected)
    assert all(np.array_equal(got[g], expected[g]) for g in expected)


@pytest.mark.parametrize("min_units", [1, 10])
def test_group_results_side_by_side_equal_group_by_group(min_units):
    """Metric.compute's groups (group_fold.group_results: point values of all groups in one
    call, intervals only where allowed) are SumState.result's, group by group; a statistic
    whose function takes scalars only (a count: no replicates) is computed group by group."""
    from halluscope.metrics.group_fold import group_results
    statistics = {**Dogs.statistics,
                  "scalar": Statistic(lambda s: float(max(s["dog"], 1.0)), count=True)}
    _, metric = _fold(*_data(), "block", min_units)
    assert len(metric.group_states) > 64
    got = group_results(metric.group_states, statistics, 0.9, min_units)
    expected = {g: {k: st.result(k, s, 0.9, min_units) for k, s in statistics.items()}
                for g, st in sorted(metric.group_states.items())}
    assert list(got) == list(expected)

    def as_json(x):
        return json.dumps({g: {k: r.to_dict() for k, r in v.items()} for g, v in x.items()})
    assert as_json(got) == as_json(expected)
