"""Intervals for a proportion over clustered units: Clopper-Pearson over an effective size
(Korn & Graubard 1998), and the beta and t quantiles it needs, written out here (no scipy).

A proportion's percentile bootstrap interval covers its true value too rarely when events are
few: at 5-20 expected events in 200-500 units, in clusters of 3-6 units, 0.895-0.928 of 95%
intervals held it (``benchmarks/zero_events_coverage.py``); this one, 0.950-0.988. Korn & Graubard's interval, made for
proportions with a small expected number of positives estimated from a clustered sample,
keeps the exact binomial (Clopper-Pearson) interval and replaces the number of units by an
*effective* number: the number a simple random sample would need for the variance the
clustered one has, ``n* = p (1 - p) / var(p)`` with ``var(p)`` the design variance, here the
variance of the statistic's bootstrap replicates (the cluster bootstrap already measures the
design effect), shrunk for the few clusters the variance is estimated from:
``n*_df = n* (t_{n-1} / t_df)^2``, ``df`` = clusters - 1. Then ``x* = p n*_df`` events in
``n*_df`` trials (neither need be an integer) give the Clopper-Pearson bounds, the beta
quantiles ``Beta(x*, n* - x* + 1)`` at ``alpha / 2`` and ``Beta(x* + 1, n* - x*)`` at
``1 - alpha / 2``.

A design effect below 1 is kept (``n*`` above ``n``), not taken as 1, as some uses of this
interval do: POPE asks three questions of each label about every image, so its yes-ratio
varies less from image to image than binomially (a design effect near 0.5), and taking it as
1 made that interval 1.4 times as wide as the bootstrap's on POPE's reference answers, and
over-covering (0.996 in a simulation of that design at p = 0.5 on 200 units, against 0.950
kept). Where the events are few the estimated design effect is about 1 or above (0.9-1 for a
single event), and keeping it or not gave the same coverage in the simulations.

Where the replicates do not vary at all (0 events, only events, or the same share in every
cluster) no design effect can be read, and Korn & Graubard's own rule for a proportion of 0 or
1 applies (:func:`no_variation_interval`): the effective size is the actual number of units,
a design effect of 1, and the degrees-of-freedom shrinkage is kept. That is how the NCHS Data
Presentation Standards for Proportions (Parker et al. 2017, Vital Health Stat 2(175)) are
implemented by NCHS (its SAS macro for SUDAAN output sets ``n_eff = n`` at p = 0 or 1; its R
package surveytable's ``svyciprop_adjusted`` the same), and how Dean & Pagano's svypd treats a
zero standard error ("homogeneity; set neff to n"). Those leave out the shrinkage at 0 or 1;
keeping it makes the bound at 0 events a little wider (0.0190 against 0.0183 for 0 of 200 on
50 images) and, since the bound at one event applies the same factor, never above it. (Up to
the zero-events monotonicity change this case got Wilson's interval over the clusters holding
the units, the worst design effect: 0 of 200 on 50 images gave [0, 0.0713], wider than one
event's [0.0001, 0.028], so a model with no hallucination failed a bound gate that one with a
hallucination passed.)

Everything here is a function of the folded sums (the point value, the units, the clusters and
the replicates, which add across shards): any sharding or order gives the same bounds.
"""

from __future__ import annotations

import math

import numpy as np

KORN_GRAUBARD = "korn-graubard"
"""The ``ci_method`` of :func:`korn_graubard_interval`."""

_EPS = 1e-15


def _beta_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the regularized incomplete beta function (DLMF 8.17.22),
    evaluated by the modified Lentz method; converges fast for ``x < (a + 1) / (a + b + 2)``."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    out = d
    for m in range(1, 10_000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            out *= c * d
        if abs(c * d - 1.0) < _EPS:
            break
    return out


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def beta_cdf(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function ``I_x(a, b)``: the CDF at ``x`` of a
    Beta(``a``, ``b``) variable (``a``, ``b`` > 0)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(a * math.log(x) + b * math.log1p(-x) - _log_beta(a, b))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(x, a, b) / a
    return 1.0 - front * _beta_fraction(1.0 - x, b, a) / b


def beta_quantile(q: float, a: float, b: float) -> float:
    """The ``q`` quantile of Beta(``a``, ``b``): Newton steps on :func:`beta_cdf`, kept inside
    a bracket that bisection narrows whenever a step leaves it."""
    if not 0.0 < q < 1.0:
        return 0.0 if q <= 0.0 else 1.0
    lo, hi = 0.0, 1.0
    x = min(max(a / (a + b), 1e-12), 1.0 - 1e-12)
    log_norm = _log_beta(a, b)
    for _ in range(300):
        err = beta_cdf(x, a, b) - q
        if abs(err) <= 1e-15 * max(q, 1e-300):
            break
        if err > 0:
            hi = x
        else:
            lo = x
        if hi - lo <= _EPS * x:
            break
        density = math.exp((a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x) - log_norm)
        step = x - err / density if 0.0 < density < math.inf else math.nan
        x = step if lo < step < hi else (lo + hi) / 2.0
    return x


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (through the beta: for
    ``T`` with ``df`` degrees of freedom, ``df / (df + T^2)`` is Beta(df / 2, 1 / 2))."""
    if q == 0.5:
        return 0.0
    tail = min(q, 1.0 - q)
    x = beta_quantile(2.0 * tail, df / 2.0, 0.5)
    t = math.sqrt(df * (1.0 - x) / x) if x > 0 else math.inf
    return t if q > 0.5 else -t


def clopper_pearson(x: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """The Clopper-Pearson ("exact") interval of ``x`` events in ``n`` trials; neither need be
    an integer (an effective size)."""
    if n <= 0:
        return (math.nan, math.nan)
    alpha = 1.0 - confidence
    lo = 0.0 if x <= 0 else beta_quantile(alpha / 2.0, x, n - x + 1.0)
    hi = 1.0 if x >= n else beta_quantile(1.0 - alpha / 2.0, x + 1.0, n - x)
    return (lo, hi)


def design_effect(value: float, n: int, reps: np.ndarray) -> float | None:
    """The variance of the (defined) bootstrap replicates ``reps`` over the binomial variance
    ``value (1 - value) / n``: how many times a simple random sample's variance the clustered
    one has. ``None`` where either is 0."""
    reps = np.asarray(reps, dtype=float)
    reps = reps[~np.isnan(reps)]
    binomial = value * (1.0 - value) / n if n > 0 else 0.0
    if reps.size < 2 or binomial <= 0.0:
        return None
    var = float(np.var(reps, ddof=1))
    return var / binomial if var > 0.0 else None


def degrees_of_freedom(n: int, clusters: int | None) -> int:
    """The degrees of freedom of the design variance: clusters - 1 (``None``: every one of
    the ``n`` units its own cluster, n - 1), never more than n - 1: the clusters counted may be
    all those resampled (where at least :data:`~halluscope.metrics.held.HELD_CAP` hold the
    units, their number is not kept), but no more than ``n`` of them hold units, and a ``df``
    above n - 1 would stretch the effective size past the units."""
    return min(clusters if clusters is not None else n, n) - 1


def df_factor(n: int, clusters: int | None, confidence: float = 0.95) -> float:
    """Korn & Graubard's shrinkage of the effective size for the few clusters the variance is
    estimated from, ``(t_{n-1} / t_df)^2`` at ``df`` = :func:`degrees_of_freedom` (1 where
    either has no degree of freedom)."""
    df = degrees_of_freedom(n, clusters)
    if df < 1 or n <= 1:
        return 1.0
    level = 0.5 + confidence / 2.0
    return (t_quantile(level, n - 1) / t_quantile(level, df)) ** 2


def korn_graubard_interval(value: float, n: int, reps: np.ndarray, clusters: int | None,
                           confidence: float = 0.95
                           ) -> tuple[tuple[float, float] | None, str | None]:
    """Korn & Graubard's interval of a proportion ``value`` over ``n`` units in ``clusters``
    clusters (``None``: every unit its own), the design effect read from the bootstrap
    replicates ``reps`` (see the module docstring), with a note naming the effective size.
    ``(None, None)`` where the design effect cannot be read (no variation in the replicates,
    or a value of 0 or 1): the caller gives :func:`no_variation_interval` then, or keeps its
    own interval."""
    deff = design_effect(value, n, reps)
    if deff is None:
        return None, None
    size = n / deff * df_factor(n, clusters, confidence)
    ci = clopper_pearson(value * size, size, confidence)
    return ci, (f"Korn-Graubard: Clopper-Pearson over an effective {size:.1f} of {n} units "
                f"(design effect {deff:.3g} from the bootstrap replicates; "
                f"{degrees_of_freedom(n, clusters)} degrees of freedom)")


def no_variation_interval(value: float, n: int, clusters: int | None,
                          confidence: float = 0.95) -> tuple[tuple[float, float], float]:
    """Korn & Graubard's interval of a proportion ``value`` whose bootstrap replicates show no
    variation (0 events, only events, or the same share in every cluster), where no design
    effect can be read: taken as 1, the effective size is the ``n`` units, still shrunk for the
    ``clusters`` by :func:`df_factor` (see the module docstring). ``(interval, effective
    size)``; at 0 events the upper bound is ``1 - (alpha / 2)^(1 / n*)``."""
    size = n * df_factor(n, clusters, confidence)
    return clopper_pearson(value * size, size, confidence), size
