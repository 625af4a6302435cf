"""UnitSet: the clusters a bootstrap state has seen, as flags over its metric's numbering, is the
set of names it replaces for everything a state does with it."""

from __future__ import annotations

import pickle
import random

import numpy as np

from halluscope.metrics.stats import SumState
from halluscope.metrics.unit_sets import UnitNames, UnitSet


def test_a_unit_set_is_the_set_of_names_it_replaces():
    rng = random.Random(0)
    names = UnitNames()
    a, b, other = UnitSet(names), UnitSet(names), UnitSet()     # other: its own numbering
    plain_a, plain_b, plain_other = set(), set(), set()
    for _ in range(50):
        for unit_set, plain in ((a, plain_a), (b, plain_b), (other, plain_other)):
            batch = [f"image:{rng.randrange(300)}.jpg" for _ in range(rng.randrange(20))]
            unit_set.update(batch)
            plain.update(batch)
            assert len(unit_set) == len(plain) and bool(unit_set) == bool(plain)
            assert unit_set == plain and set(unit_set) == plain
    a |= b
    a |= other
    plain_a |= plain_b | plain_other
    assert a == plain_a and len(a) == len(plain_a) and "image:7.jpg" in a
    back = pickle.loads(pickle.dumps(a))
    assert back == plain_a and back.names is not a.names
    assert not UnitSet() and len(UnitSet(units=["x", "x"])) == 1
    some = UnitSet(units=["x", None, "y"])          # (a row without a cluster, then dropped)
    some.discard(None)
    some.discard("z")
    assert some == {"x", "y"} and len(some) == 2


def test_states_of_a_metric_share_one_numbering_and_merge_by_name():
    names = UnitNames()
    one = SumState(("hit",), n_boot=0, unit_names=names)
    two = SumState(("hit",), n_boot=0)
    one.add_summed(2, [1.0], None, ["image:a", "image:b"])
    two.add_summed(2, [1.0], None, ["image:b", "image:c"])
    one.merge(pickle.loads(pickle.dumps(two)))      # (a shard from another process)
    assert one.units == {"image:a", "image:b", "image:c"} and one.units.names is names
    assert len(one.units) == 3


def test_rows_without_a_cluster_get_no_number_once_every_column_is_capped():
    """Past the cap (every column's holding clusters noted), a fold's rows go straight to the
    clusters seen: a row without a cluster (``None``) was numbered in the metric's shared
    names and then dropped from the state, leaving ``None`` among the names its states share."""
    from halluscope.metrics.held import HELD_CAP
    names = UnitNames()
    state = SumState(("hit",), n_boot=0, unit_names=names)
    keys = [f"image:{i}" for i in range(HELD_CAP + 5)]
    state.add_rows(np.ones((len(keys), 1)), None, None, keys)
    assert not state.holding()                      # capped: the next fold takes the fast path
    state.add_rows(np.ones((2, 1)), None, None, [None, "image:new"])
    assert None not in names.numbers and None not in names.names
    assert len(state.units) == len(keys) + 1 and state.n == len(keys) + 2
