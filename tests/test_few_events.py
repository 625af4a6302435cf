"""Few events: a proportion's interval is Korn & Graubard's (Clopper-Pearson over an effective
size read from the bootstrap replicates) wherever the replicates vary; the percentile bootstrap
it replaces held 1-20 events' true rate in 0.88-0.94 of 95% intervals (benchmarks/
zero_events_coverage.py). Each expected interval here is worked out independently: the
binomial tails solved by bisection, the closed forms of the beta, published t quantiles."""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest

from halluscope.metrics.intervals import percentile_bounds
from halluscope.metrics.korn_graubard import (KORN_GRAUBARD, beta_cdf, beta_quantile,
                                          clopper_pearson, design_effect, t_quantile)
from halluscope.metrics.stats import SumState, rate, ratio

SHARE = rate(lambda s: ratio(s["events"], s["units"]), units="units", proportion=True)
# Student's t, 0.975 quantile, from a printed table (to 6 decimals)
T975 = {1: 12.706205, 9: 2.262157, 11: 2.200985, 15: 2.131450, 49: 2.009575, 71: 1.993943,
        199: 1.971957}


def _state(event_units, n: int = 200, per_cluster: int = 1, order_seed: int | None = None,
           shards: int = 1) -> SumState:
    """``n`` units, those in ``event_units`` with the event, ``per_cluster`` to a cluster, added
    in shuffled order over ``shards`` states merged at the end."""
    rows = [([1.0 if i in event_units else 0.0, 1.0], f"image:{i // per_cluster}")
            for i in range(n)]
    if order_seed is not None:
        random.Random(order_seed).shuffle(rows)
    states = [SumState(("events", "units")) for _ in range(shards)]
    for j, (row, key) in enumerate(rows):
        states[j % shards].add_rows(np.array([row]), states[0].draw_weights([key]),
                                    np.array([0]), [key])
    for other in states[1:]:
        states[0].merge(other)
    return states[0]


def _binomial_tail_bound(x: int, n: int, upper: bool, tail: float = 0.025) -> float:
    """Clopper-Pearson's bound by its definition: the p at which P(X >= x) (lower bound) or
    P(X <= x) (upper bound) of a Binomial(n, p) is ``tail``, found by bisection."""
    def p_tail(p: float) -> float:
        pmf = [math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)]
        return sum(pmf[:x + 1]) if upper else sum(pmf[x:])
    lo, hi = 0.0, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        # P(X <= x) falls as p grows; P(X >= x) rises
        if (p_tail(mid) > tail) == upper:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def test_beta_and_t_match_closed_forms_and_tables():
    for x in (1e-6, 0.01, 0.3, 0.5, 0.9, 0.999):
        assert beta_cdf(x, 1, 7.5) == pytest.approx(1 - (1 - x) ** 7.5, rel=1e-12)
        assert beta_cdf(x, 3.25, 1) == pytest.approx(x ** 3.25, rel=1e-12)
        assert beta_cdf(x, 2, 2) == pytest.approx(3 * x ** 2 - 2 * x ** 3, rel=1e-12)
    for q in (1e-9, 0.025, 0.5, 0.975):
        assert beta_quantile(q, 1, 200) == pytest.approx(1 - (1 - q) ** (1 / 200), rel=1e-10)
        assert beta_quantile(q, 40, 1) == pytest.approx(q ** (1 / 40), rel=1e-12)
    for df, t in T975.items():
        assert t_quantile(0.975, df) == pytest.approx(t, abs=1e-6)
        assert t_quantile(0.025, df) == pytest.approx(-t, abs=1e-6)


@pytest.mark.parametrize("x, n", [(1, 200), (3, 200), (7, 60), (59, 60)])
def test_clopper_pearson_is_the_binomial_tails_bound(x, n):
    lo, hi = clopper_pearson(x, n)
    assert lo == pytest.approx(_binomial_tail_bound(x, n, upper=False), rel=1e-9)
    assert hi == pytest.approx(_binomial_tail_bound(x, n, upper=True), rel=1e-9)
    # and at no event, or only events, the closed forms
    assert clopper_pearson(0, n) == pytest.approx((0.0, 1 - 0.025 ** (1 / n)), rel=1e-12)
    assert clopper_pearson(n, n) == pytest.approx((0.025 ** (1 / n), 1.0), rel=1e-12)


def test_one_event_unclustered_is_clopper_pearson_over_the_effective_size():
    """One event in 200 units, each its own cluster: the design effect is the replicates'
    variance over the binomial one (a little under 1 for one event under Poisson weights, and
    kept), n* = 200 / deff, and 199 degrees of freedom shrink nothing (t_199 / t_199); the
    interval is Clopper-Pearson's of n* / 200 events in n*, near its 1 of 200."""
    scipy_stats = pytest.importorskip("scipy.stats")
    state = _state({17})
    res = state.result("r", SHARE)
    assert res.value == 0.005 and res.n == 200
    assert res.ci_method == KORN_GRAUBARD and res.to_dict()["ci_method"] == "korn-graubard"
    reps = state.boot[:, 0] / state.boot[:, 1]
    deff = np.var(reps, ddof=1) / (0.005 * 0.995 / 200)
    size = 200 / deff
    x = 0.005 * size
    want = (scipy_stats.beta.ppf(0.025, x, size - x + 1),
            scipy_stats.beta.ppf(0.975, x + 1, size - x))
    assert res.ci == pytest.approx(want, rel=1e-9)
    assert f"effective {size:.1f} of 200 units" in res.ci_note
    assert 0.85 < deff < 1.15      # 0.894: one event shows no clustering
    # near Clopper-Pearson's 1 of 200, [0.000127, 0.027542]
    upper = _binomial_tail_bound(1, 200, upper=True)
    assert 0 < res.ci[0] < 0.005 and 0.9 * upper < res.ci[1] < 1.1 * upper


def test_clustered_events_count_over_the_effective_size():
    """Three events in one cluster of four (50 clusters, 200 units): the replicates' variance
    over the binomial one is the design effect, n* = 200 / deff, shrunk by (t_199 / t_49)^2
    for 49 degrees of freedom; Clopper-Pearson of 0.015 n* in n*."""
    scipy_stats = pytest.importorskip("scipy.stats")
    state = _state({4, 5, 6}, per_cluster=4)
    res = state.result("r", SHARE)
    reps = state.boot[:, 0] / state.boot[:, 1]
    p = 3 / 200
    deff = np.var(reps, ddof=1) / (p * (1 - p) / 200)
    assert deff > 1.5                                   # three events on one image
    size = 200 / deff * (T975[199] / T975[49]) ** 2
    x = p * size
    want = (scipy_stats.beta.ppf(0.025, x, size - x + 1),
            scipy_stats.beta.ppf(0.975, x + 1, size - x))
    assert res.ci == pytest.approx(want, rel=1e-5)
    assert res.ci_method == KORN_GRAUBARD and f"effective {size:.1f} of 200 units" in res.ci_note
    assert design_effect(p, 200, reps) == pytest.approx(deff, rel=1e-12)


def test_interval_with_events_depends_only_on_the_counts():
    """Shards (workers) and order give the same Korn-Graubard bounds, to the last digit."""
    events = {3, 50, 51, 120, 199}
    base = _state(events, per_cluster=4).result("r", SHARE)
    assert base.ci_method == KORN_GRAUBARD
    for seed, shards in ((1, 1), (2, 2), (3, 3)):
        other = _state(events, per_cluster=4, order_seed=seed, shards=shards).result("r", SHARE)
        assert (other.ci, other.ci_note, other.ci_method) == (base.ci, base.ci_note,
                                                              base.ci_method)


def test_other_statistics_keep_the_percentile_bootstrap():
    state = _state({3, 50, 51})
    plain = state.result("r", dataclasses.replace(SHARE, proportion=False))
    reps = ratio(state.boot[:, 0], state.boot[:, 1])
    assert plain.ci == percentile_bounds(reps, 0.95)[0] and plain.ci_method is None
    assert plain.ci_note is None


def test_too_few_replicates_still_gives_no_interval():
    state = SumState(("events", "units"), n_boot=20)
    keys = [f"image:{i}" for i in range(50)]
    x = np.array([[1.0 if i < 5 else 0.0, 1.0] for i in range(50)])
    state.add_rows(x, state.draw_weights(keys), np.arange(50), keys)
    res = state.result("r", SHARE)
    assert res.ci is None and res.ci_method is None and "fewer than the 40" in res.ci_note


def _simulated_coverage(sims: int, n: int, p: float, per_cluster: int, icc: float):
    """Two-sided coverage of halluscope's interval and of the percentile bootstrap over
    ``sims`` clustered data sets (the benchmark's model, kept small)."""
    rng = np.random.default_rng(12)
    a, b = p * (1 - icc) / icc, (1 - p) * (1 - icc) / icc
    hits = np.zeros(2)
    for s in range(sims):
        cluster = np.arange(n) // per_cluster
        rates = rng.beta(a, b, cluster[-1] + 1)[cluster]
        events = (rng.random(n) < rates).astype(float)
        keys = [f"image:{c}" for c in range(cluster[-1] + 1)]
        state = SumState(("events", "units"), seed=s)
        state.add_rows(np.column_stack([events, np.ones(n)]), state.draw_weights(keys),
                       cluster, [keys[c] for c in cluster])
        ours = state.result("r", SHARE).ci
        old = percentile_bounds(ratio(state.boot[:, 0], state.boot[:, 1]), 0.95)[0]
        old = old or (events.mean(),) * 2
        hits += [ours[0] <= p <= ours[1], old[0] <= p <= old[1]]
    return hits / sims


def test_few_clustered_events_are_covered_more_often_than_by_the_percentile_bootstrap():
    """300 data sets of 200 units on 50 images, 4 expected events (p = 0.02, ICC 0.2): the
    interval holds p in at least 0.94 of them; the percentile bootstrap in fewer."""
    ours, percentile = _simulated_coverage(300, 200, 0.02, 4, 0.2)
    assert ours >= 0.94 and percentile < ours, (ours, percentile)


def test_hallusionbench_with_a_wrong_answer_gets_korn_graubard():
    from halluscope.metrics.draws import replicate_weights
    from halluscope.metrics.hallusionbench import hallusionbench_scores, set_key
    from halluscope.metrics.hallusionbench_units import Unit
    units = [Unit(cluster=f"VD_x_{s}", figure=f"VD_x_{s}_{f}", pair=f"VD_x_{s}_{q}",
                  correct=not (s == 3 and f == q == 0), groups=("VD",), cell=(str(f), str(q)))
             for s in range(12) for f in range(2) for q in range(3)]
    aacc = hallusionbench_scores(units, n_boot=1000)["aacc"]
    assert aacc.value == pytest.approx(71 / 72) and aacc.ci_method == KORN_GRAUBARD
    sets = sorted({u.cluster for u in units})
    w = replicate_weights([set_key(s) for s in sets], 1000, 0)
    right = np.array([sum(bool(u.correct) for u in units if u.cluster == s) for s in sets])
    reps = (w @ right) / (w @ np.full(12, 6.0))
    deff = design_effect(71 / 72, 72, reps)
    size = 72 / deff * (T975[71] / T975[11]) ** 2       # 12 question sets: 11 df
    assert aacc.ci == pytest.approx(clopper_pearson(71 / 72 * size, size), rel=1e-6)
    assert f"effective {size:.1f} of 72 units" in aacc.ci_note


def test_pope_gate_on_the_lower_bound_reads_korn_graubard(tmp_path):
    """One false yes beside 120 right ones, on 40 images: precision 120/121, its lower bound
    Korn-Graubard's, and a gate on it passes below that bound and fails above it."""
    from halluscope.api import audit
    from halluscope.gates.thresholds import check_gates, parse_gates
    rows = [{"question_id": f"{img}-{q}", "image_id": img,
             "label": "yes" if (img + q) % 2 == 0 else "no",
             "prompt": "Is there a dog in the image?",
             "response": "yes" if (img + q) % 2 == 0 or (img, q) == (7, 2) else "no"}
            for img in range(40) for q in range(6)]
    res = audit(records=rows, metrics="pope", n_boot=1000)
    precision = res.get("pope.precision")
    assert precision.value == pytest.approx(120 / 121) and precision.ci_method == KORN_GRAUBARD
    lo = precision.ci[0]
    assert 0.9 < lo < 120 / 121 < precision.ci[1] <= 1.0
    assert check_gates(res, parse_gates(below=[f"pope.precision@lower={lo - 1e-3:.6f}"]),
                       warn=False) == []
    failures = check_gates(res, parse_gates(below=[f"pope.precision@lower={lo + 1e-3:.6f}"]),
                           warn=False)
    assert len(failures) == 1, failures


def test_degrees_of_freedom_never_exceed_the_units():
    """Where 100 or more clusters hold a statistic's units, the clusters resampled are counted
    (their exact number is not kept); 120 yes answers among 240 unclustered ones would then
    count 239 degrees of freedom and stretch the effective size by (t_119 / t_239)^2 = 1.0052
    past the units. No more than n clusters hold n units: df is at most n - 1."""
    from halluscope.metrics.korn_graubard import (degrees_of_freedom, df_factor,
                                                  korn_graubard_interval)
    assert degrees_of_freedom(120, 240) == degrees_of_freedom(120, None) == 119
    assert degrees_of_freedom(120, 40) == 39
    assert df_factor(120, 240) == df_factor(120, 120) == 1.0
    assert df_factor(120, 40) == pytest.approx((1.980100 / 2.022691) ** 2, abs=1e-5)
    reps = np.random.default_rng(0).binomial(120, 0.05, 1000) / 120
    assert korn_graubard_interval(0.05, 120, reps, 240)[0] == \
        korn_graubard_interval(0.05, 120, reps, 120)[0]


@pytest.mark.parametrize("events", [(2.0, 2.0), (2.0, 1.0)])
def test_a_proportion_over_one_is_a_clear_error(events):
    """A statistic declared a proportion whose columns count more than one event per unit:
    with every unit alike Korn & Graubard's interval failed with 'math domain error'; with
    units that differ a "share" of 1.5 got a percentile interval as if it were one."""
    from halluscope.errors import ConfigError
    state = SumState(("events", "units"))
    for i in range(30):
        state.add_rows(np.array([[events[i % 2], 1.0]]), state.draw_weights([f"image:{i}"]),
                       np.array([0]), [f"image:{i}"])
    with pytest.raises(ConfigError, match=r"'share' is declared a proportion .* value is 1\.5|"
                                          r"'share' is declared a proportion .* value is 2"):
        state.result("share", SHARE)
