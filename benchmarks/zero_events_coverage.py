"""Coverage and width of a rare rate's 95% interval: what halluscope reports, against candidate
intervals, over a grid of expected event counts, sizes and cluster designs.

Each cell draws ``--sims`` data sets of ``n`` units with event probability ``p = events / n``
(``events`` is the EXPECTED number of events: 0.5, 1, 2, 3, 5, 10, 20). Designs: unclustered (one
unit per cluster), and clusters of 3 to 6 units (sizes drawn uniformly) sharing a cluster effect:
each cluster's rate is drawn from a Beta with mean ``p`` and intra-cluster correlation ``--icc``.
Every data set is folded through :class:`SumState` exactly as an audit folds it (1,000 Poisson
replicates, weights drawn from the cluster keys, a seed per data set), and the intervals are
read from that folded state:

- ``halluscope``: what :meth:`SumState.result` reports (the method of each interval is counted
  by its ``ci_method``; since the few-events change, Korn & Graubard's interval,
  :mod:`halluscope.metrics.korn_graubard`; since the zero-events monotonicity change, the same
  at a design effect of 1 where the replicates have no width);
- ``kg+wilson-clusters``, ``kg+cp-n-df``, ``kg+cp-n``: Korn & Graubard's interval where the
  replicates vary, and where they have no width Wilson's over the clusters (the rule before
  the monotonicity change), Clopper-Pearson over ``n (t_{n-1} / t_{C-1})^2`` (the rule after
  it) or Clopper-Pearson over ``n`` (NCHS's macros, no degrees-of-freedom factor at 0 or 1);
- ``percentile``: the percentile bootstrap, with the Wilson bound over the clusters holding the
  units where it has zero width (halluscope's rule up to and including the zero-events change);
- ``wilson-deff``: the Wilson score interval over the effective size ``n / deff``, the design
  effect read from the variance of the bootstrap replicates (at least 1: the size is never
  above ``n``) and the size shrunk for the clusters' degrees of freedom by ``(z / t_df)^2``
  (Korn & Graubard 1998), the zero-width rule as above;
- ``wilson-deff-nodf``: the same without the degrees-of-freedom shrinkage;
- ``agresti-coull-deff``: the Agresti-Coull interval over the same effective size;
- ``kg-capped``: Clopper-Pearson over that size: Korn & Graubard's interval with the design
  effect taken as at least 1 (halluscope keeps one below 1).

Designs: ``unclustered``; ``clusters 3-6`` (above); ``balanced 6``, POPE's design: clusters of 6
units, alternately at rate ``1.7 p`` and ``0.3 p`` (three questions of each label per image),
whose shares vary less between clusters than binomially (a design effect below 1 at large p).

It prints, per cell, two-sided coverage (lower <= p <= upper), coverage of the upper bound alone
(what an ``@upper`` gate needs), and mean width; then coverage conditional on the number of
events OBSERVED (0, 1, 2, 3, 5, 10, 20), pooled over the cells of a design.

    python benchmarks/zero_events_coverage.py [--sims 2000] [--n 200 500] [--icc 0.2]
        [--jobs 2] [--events 50 100] [--designs unclustered "clusters 3-6" "balanced 6"]
        [--show halluscope kg+wilson-clusters kg+cp-n-df kg+cp-n]

Not a test: a full grid takes minutes and its numbers are statistical (at 2,000 data sets a
coverage near 0.95 has a Monte Carlo standard error of about 0.005).
"""

from __future__ import annotations

import argparse
import math
from concurrent.futures import ProcessPoolExecutor
from statistics import NormalDist

import numpy as np

from halluscope.metrics.korn_graubard import clopper_pearson, korn_graubard_interval
from halluscope.metrics.korn_graubard import t_quantile as exact_t
from halluscope.metrics.intervals import percentile_bounds
from halluscope.metrics.stats import SumState, rate, ratio, wilson_interval

SHARE = rate(lambda s: ratio(s["events"], s["units"]), units="units", proportion=True)
EXPECTED = (0.5, 1, 2, 3, 5, 10, 20)
OBSERVED = (0, 1, 2, 3, 5, 10, 20)
Z = NormalDist().inv_cdf(0.975)
DESIGNS = {"unclustered": 1, "clusters 3-6": 0, "balanced 6": 2}
"""The designs of :func:`draw`, each with the number that seeds its data sets."""


def t_quantile(q: float, df: float) -> float:
    """Student's t quantile by the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5)."""
    z = NormalDist().inv_cdf(q)
    g = ((z ** 3 + z) / 4, (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
         (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
         (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160)
    return z + sum(gi / df ** (i + 1) for i, gi in enumerate(g))


def effective_size(p: float, n: int, reps: np.ndarray, clusters: int, df_adjust: bool) -> float:
    """Korn & Graubard's effective size: ``p (1 - p) / var``, never above ``n``, shrunk by
    ``(z / t_df)^2`` for ``clusters - 1`` degrees of freedom when ``df_adjust``."""
    var = float(np.var(reps[~np.isnan(reps)], ddof=1))
    eff = n if var <= 0 else min(n, p * (1 - p) / var)
    if df_adjust and clusters > 1:
        eff *= (Z / t_quantile(0.975, clusters - 1)) ** 2
    return eff


def agresti_coull(x: float, n: float) -> tuple[float, float]:
    nt = n + Z * Z
    pt = (x + Z * Z / 2) / nt
    half = Z * math.sqrt(pt * (1 - pt) / nt)
    return max(0.0, pt - half), min(1.0, pt + half)




def candidates(state: SumState) -> dict[str, tuple[float, float]]:
    """Every interval of the module docstring, from one folded state."""
    res = state.result("r", SHARE)
    total, n = state.totals
    p, n, clusters = total / n, int(n), len(state.units)
    reps = ratio(state.boot[:, 0], state.boot[:, 1])
    out = {"halluscope": res.ci, "method:" + (res.ci_method or "percentile"): (0.0, 1.0)}
    ci, _ = percentile_bounds(reps, 0.95)
    zero = ci is None
    if zero:
        ci = wilson_over_clusters(p, n, clusters)
    out["percentile"] = ci
    out.update(zero_width_rules(p, n, reps, clusters, zero))
    kinds = {"wilson-deff": (True, wilson_interval), "wilson-deff-nodf": (False, wilson_interval),
             "agresti-coull-deff": (True, agresti_coull), "kg-capped": (True, clopper_pearson)}
    for name, (df_adjust, interval) in kinds.items():
        if zero:
            out[name] = out["percentile"]
            continue
        eff = effective_size(p, n, reps, clusters, df_adjust)
        out[name] = interval(p * eff, eff)
    return out


def wilson_over_clusters(p: float, n: int, clusters: int) -> tuple[float, float]:
    """The zero-width rule up to the zero-events monotonicity change: Wilson's interval over
    the clusters holding the units (at most one unit per cluster, the worst design effect),
    the bound at 0 (or 1) exact."""
    eff = max(1, min(n, clusters))
    lo, hi = wilson_interval(round(p * eff), eff)
    return (0.0 if p == 0 else lo, 1.0 if p == 1 else hi)


def zero_width_rules(p: float, n: int, reps: np.ndarray, clusters: int, zero: bool
                     ) -> dict[str, tuple[float, float]]:
    """Korn & Graubard's interval where the replicates vary; where they have no width, each
    candidate rule: ``kg+wilson-clusters``, Wilson over the clusters holding the
    units (halluscope's rule up to the zero-events monotonicity change); ``kg+cp-n-df``,
    Clopper-Pearson over ``n (t_{n-1} / t_{C-1})^2`` (a design effect of 1, the
    degrees-of-freedom factor kept); ``kg+cp-n``, Clopper-Pearson over ``n`` (the NCHS macros'
    reading: design effect 1, no degrees-of-freedom factor)."""
    if not zero:
        ci = korn_graubard_interval(p, n, reps, clusters, 0.95)[0]
        return {"kg+wilson-clusters": ci, "kg+cp-n-df": ci, "kg+cp-n": ci}
    df_size = n * (exact_t(0.975, n - 1) / exact_t(0.975, clusters - 1)) ** 2 \
        if clusters > 1 and n > 1 else float(n)
    return {"kg+wilson-clusters": wilson_over_clusters(p, n, clusters),
            "kg+cp-n-df": clopper_pearson(p * df_size, df_size),
            "kg+cp-n": clopper_pearson(p * n, n)}


def draw(p: float, n: int, design: str, icc: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """``(events, cluster of each unit)`` for one data set."""
    if design == "unclustered":
        return (rng.random(n) < p).astype(float), np.arange(n)
    if design == "balanced 6":      # POPE's design: 3 units of each label per cluster
        cluster = np.arange(n) // 6
        high = min(1.0, 1.7 * p)
        rates = np.where(np.arange(n) % 2 == 0, high, 2 * p - high)
        return (rng.random(n) < rates).astype(float), cluster
    sizes = rng.integers(3, 7, n // 3 + 1)
    cluster = np.repeat(np.arange(len(sizes)), sizes)[:n]
    c = int(cluster[-1]) + 1
    rates = rng.beta(p * (1 - icc) / icc, (1 - p) * (1 - icc) / icc, c)
    return (rng.random(n) < rates[cluster]).astype(float), cluster


def cell(args: tuple) -> dict:
    """One grid cell: per candidate, two-sided and upper-bound hits and summed widths, and per
    observed events count the same (see the module docstring)."""
    expected, n, design, icc, sims, seed = args
    rng = np.random.default_rng([seed, int(expected * 10), n, DESIGNS[design]])
    p = expected / n
    tally: dict = {}
    by_events: dict = {}
    for s in range(sims):
        events, cluster = draw(p, n, design, icc, rng)
        state = SumState(("events", "units"), seed=s)
        keys = [f"image{c}" for c in range(int(cluster[-1]) + 1)]
        x = np.column_stack([events, np.ones(n)])
        state.add_rows(x, state.draw_weights(keys), cluster, [keys[c] for c in cluster])
        k = int(events.sum())
        for name, ci in candidates(state).items():
            for where in (tally, by_events.setdefault(k, {})):
                t = where.setdefault(name, [0, 0, 0.0, 0])
                if ci is None:
                    continue
                t[0] += ci[0] <= p <= ci[1]
                t[1] += p <= ci[1]
                t[2] += ci[1] - ci[0]
                t[3] += 1
    return {"expected": expected, "n": n, "design": design, "sims": sims, "tally": tally,
            "by_events": by_events}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--n", type=int, nargs="+", default=[200, 500])
    ap.add_argument("--icc", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--events", type=float, nargs="+", default=list(EXPECTED),
                    help="expected numbers of events (p = events / n)")
    ap.add_argument("--designs", nargs="+", default=["unclustered", "clusters 3-6"],
                    choices=list(DESIGNS))
    ap.add_argument("--show", nargs="+", default=[],
                    help="the candidates to print (default: all)")
    args = ap.parse_args()
    SHOW[:] = args.show
    grid = [(e, n, d, args.icc, args.sims, args.seed) for d in args.designs
            for n in args.n for e in args.events]
    with ProcessPoolExecutor(args.jobs) as pool:
        cells = list(pool.map(cell, grid))
    print_cells(cells)
    print_observed(cells)


SHOW: list[str] = []
"""The candidates printed (``--show``; every one when empty)."""


def _row(tally: dict, total: int) -> str:
    out = []
    for name, (two, upper, width, defined) in tally.items():
        if SHOW and not name.startswith("method:") and name not in SHOW:
            continue
        if name.startswith("method:"):
            out.append(f"{name[7:]} {defined / total:.2f}")
        elif defined:
            out.append(f"{name} {two / total:.3f}/{upper / total:.3f} w{width / defined:.4f}")
    return "  ".join(out)


def print_cells(cells: list[dict]) -> None:
    print("coverage two-sided/upper bound, mean width; share of each halluscope method")
    for c in cells:
        print(f"{c['design']:<13} n={c['n']:<4} E[events]={c['expected']:<4} "
              f"{_row(c['tally'], c['sims'])}")


def print_observed(cells: list[dict]) -> None:
    print("\nby events observed (pooled over a design's cells and sizes)")
    for design in dict.fromkeys(c["design"] for c in cells):
        pooled: dict = {}
        for c in (c for c in cells if c["design"] == design):
            for k, tally in c["by_events"].items():
                for name, t in tally.items():
                    into = pooled.setdefault(k, {}).setdefault(name, [0, 0, 0.0, 0])
                    for i in range(4):
                        into[i] += t[i]
        for k in OBSERVED:
            if k in pooled:
                total = max(t[3] for name, t in pooled[k].items()
                            if not name.startswith("method:"))
                print(f"{design:<13} events={k:<3} ({total} sets) {_row(pooled[k], total)}")


if __name__ == "__main__":
    main()
