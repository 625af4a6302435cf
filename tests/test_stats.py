"""Streaming sums with Poisson-bootstrap intervals."""

import math

import numpy as np
import pytest

from halluscope.metrics.stats import (MetricResult, Statistic, SumState, f1, ratio,
                                      wilson_interval)

MEAN = Statistic(lambda s: ratio(s["x"], s["one"]))


def test_ratio_and_f1_edge_cases():
    assert ratio(1, 4) == 0.25
    assert math.isnan(ratio(1, 0))
    assert f1(2, 1, 1) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert math.isnan(f1(0, 0, 0))


def test_point_value_and_interval_cover_the_mean():
    rng = np.random.default_rng(1)
    data = rng.binomial(1, 0.3, size=5000)
    st = SumState(("x", "one"), n_boot=400, seed=3)
    for v in data:
        st.add((v, 1))
    res = st.result("mean", MEAN)
    assert res.value == pytest.approx(data.mean())
    assert res.n == 5000
    lo, hi = res.ci
    assert lo < data.mean() < hi
    # close to the binomial standard error
    se = math.sqrt(0.3 * 0.7 / 5000)
    assert (hi - lo) == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_merge_equals_sums_of_shards():
    a, b, whole = (SumState(("x", "one"), n_boot=50, seed=s) for s in (1, 2, 3))
    for i in range(100):
        (a if i % 2 else b).add((i, 1))
        whole.add((i, 1))
    a.merge(b)
    assert a.sums() == whole.sums() and a.n == 100
    assert a.result("m", MEAN).value == whole.result("m", MEAN).value


def test_counts_have_no_interval_and_empty_state_has_no_value():
    st = SumState(("x", "one"), n_boot=10)
    res = st.result("n", Statistic(lambda s: s["one"], count=True))
    # a count over nothing scored is no value (never a 0 from nothing), and says why
    assert res.value is None and res.ci is None and "no scored item" in res.why_no_value
    assert st.result("m", MEAN).value is None
    st.add((1, 0))
    res = st.result("n", Statistic(lambda s: s["one"], count=True))
    assert res.value == 0 and res.ci is None      # a count of 0 over scored items stays 0


def test_no_bootstrap():
    st = SumState(("x", "one"), n_boot=0)
    st.add((1, 1))
    assert st.result("m", MEAN).ci is None


def test_result_bounds():
    r = MetricResult("chair_i", 0.1, 10, ci=(0.05, 0.2), confidence=0.95)
    assert r.bound(None) == 0.1 and r.bound("upper") == 0.2 and r.bound("lower") == 0.05
    with pytest.raises(ValueError):
        MetricResult("x", 0.1, 10).bound("upper")
    assert r.to_dict()["ci"] == [0.05, 0.2]


def test_wilson():
    lo, hi = wilson_interval(5, 10)
    assert 0.2 < lo < 0.5 < hi < 0.8


def _weights_by_definition(keys, n_boot, seed):
    """Replicate weights written out as the definition says: the float uniform
    ``(splitmix64(hash + (b + 1) * golden) >> 11) / 2**53`` through searchsorted on the float
    Poisson(1) CDF, one step at a time with no in-place tricks."""
    from halluscope.metrics.draws import _GOLDEN, _poisson1_cdf, key_hash
    out = np.zeros((n_boot, len(keys)))
    mask = (1 << 64) - 1
    for j, key in enumerate(keys):
        h = key_hash(key, seed)
        for b in range(n_boot):
            x = (h + (b + 1) * int(_GOLDEN)) & mask
            x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
            x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
            x = x ^ (x >> 31)
            u = (x >> 11) * (1.0 / 9007199254740992.0)
            out[b, j] = np.searchsorted(_poisson1_cdf(), u, side="right")
    return out


def test_replicate_weights_match_their_definition():
    from halluscope.metrics.stats import replicate_weights
    keys = [f"image:{i}" for i in range(40)] + ["", "é", "#3"]
    for seed in (0, 11):
        fast = replicate_weights(keys, 300, seed)
        assert np.array_equal(fast, _weights_by_definition(keys, 300, seed))
        assert fast.max() >= 4          # the binary-searched tail is exercised too
    assert np.array_equal(replicate_weights(keys[5:9], 50, 11), replicate_weights(
        keys, 50, 11)[:, 5:9])


def test_group_replicates_equal_group_by_group_sums():
    from halluscope.metrics.stats import group_replicates, replicate_weights, small_integers
    rng = np.random.default_rng(4)
    x = rng.integers(0, 3, size=(60, 3)).astype(float)
    unit_of_row = np.sort(rng.integers(0, 12, size=60))
    _, unit_of_row = np.unique(unit_of_row, return_inverse=True)
    weights = replicate_weights([f"u{i}" for i in range(unit_of_row.max() + 1)], 200)
    members = {"all": list(range(60)), "even": list(range(0, 60, 2)), "one": [7]}
    assert small_integers(x) and not small_integers(x + 0.5)
    got = dict(group_replicates(x, weights, unit_of_row, members))
    for g, idx in members.items():
        want = np.zeros((200, 3))
        for i in idx:                       # weight of the row's unit times the row, by hand
            want += np.outer(weights[:, unit_of_row[i]], x[i])
        assert np.array_equal(got[g], want), g
