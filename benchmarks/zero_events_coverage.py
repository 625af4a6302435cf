"""Coverage of a rare rate's interval: the percentile bootstrap alone, Wilson alone, and what
halluscope reports (the bootstrap, or Wilson where the bootstrap has zero width).

Draws ``--sims`` data sets of ``n`` units with event probability ``p`` (unclustered, and in
clusters of ``--per-cluster`` units sharing a cluster effect: each cluster's rate is drawn from
a Beta with intra-cluster correlation ``--icc``), scores each through :class:`SumState` (the
same streaming Poisson bootstrap, 1,000 replicates, a seed per data set) and prints, per
``p``: two-sided coverage (lower <= p <= upper), one-sided coverage of the upper bound (what an
``@upper`` gate needs: p <= upper), and how often there was no event at all.

    python benchmarks/zero_events_coverage.py [--sims 2000] [--n 200] [--per-cluster 4]

Not a test: it takes a minute or two and its numbers are statistical.
"""

from __future__ import annotations

import argparse

import numpy as np

from halluscope.metrics.stats import SumState, percentile_interval, rate, ratio, wilson_interval

SHARE = rate(lambda s: ratio(s["events"], s["units"]), units="units", proportion=True)


def _one(events: np.ndarray, per_cluster: int, seed: int):
    keys = [f"c{i // per_cluster}" for i in range(len(events))]
    state = SumState(("events", "units"), seed=seed)
    x = np.column_stack([events, np.ones(len(events))]).astype(float)
    state.add_rows(x, state.draw_weights(keys), np.arange(len(x)), keys)
    new = state.result("r", SHARE).ci
    old = percentile_interval(ratio(state.boot[:, 0], state.boot[:, 1]), 0.95)[0]
    if old is None:                       # the zero-width interval the bootstrap gave before
        v = float(events.mean())
        old = (v, v)
    eff = len(events) / per_cluster       # Wilson over the clusters, the conservative size
    return old, new, wilson_interval(float(events.mean()) * eff, eff)


def run(p: float, n: int, per_cluster: int, icc: float, sims: int, rng) -> dict:
    hits = {k: [0, 0] for k in ("bootstrap", "halluscope", "wilson")}
    zero = 0
    for s in range(sims):
        if per_cluster > 1 and icc > 0:
            a = p * (1 - icc) / icc
            b = (1 - p) * (1 - icc) / icc
            rates = np.repeat(rng.beta(a, b, n // per_cluster), per_cluster)
            events = (rng.random(n) < rates).astype(float)
        else:
            events = (rng.random(n) < p).astype(float)
        zero += events.sum() == 0
        for k, (lo, hi) in zip(hits, _one(events, per_cluster, seed=s)):
            hits[k][0] += lo <= p <= hi
            hits[k][1] += p <= hi
    return {"p": p, "no_event": zero / sims,
            **{k: (v[0] / sims, v[1] / sims) for k, v in hits.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--per-cluster", type=int, default=4)
    ap.add_argument("--icc", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    for per_cluster, icc in ((1, 0.0), (args.per_cluster, args.icc)):
        print(f"n={args.n}, {per_cluster} unit(s) per cluster, icc={icc}, {args.sims} sims; "
              f"coverage two-sided / upper bound only")
        for p in (0.001, 0.005, 0.01, 0.02, 0.05):
            r = run(p, args.n, per_cluster, icc, args.sims, rng)
            cells = "  ".join(f"{k} {a:.3f}/{b:.3f}" for k, (a, b) in
                              ((k, r[k]) for k in ("bootstrap", "halluscope", "wilson")))
            print(f"  p={p:<6} no event {r['no_event']:.3f}  {cells}")


if __name__ == "__main__":
    main()
