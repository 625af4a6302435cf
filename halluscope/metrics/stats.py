"""Statistics over sums: streaming state, Poisson bootstrap intervals, Wilson intervals.

Every dataset-level number halluscope reports is a function of per-item column sums (CHAIR_i is
hallucinated mentions / mentions, POPE F1 is a function of TP, FP and FN, ...). :class:`SumState`
keeps those sums and, alongside, ``B`` Poisson-bootstrap replicates of them: each item enters
replicate ``b`` with a weight drawn from Poisson(1) (Hanley & MacGibbon 2006; Chamandy et al.
2012). This gives bootstrap confidence intervals for any function of sums in one streaming pass,
with memory independent of the number of items, and states from shards merge by addition.

Clustered intervals: when several items share a unit of resampling (an image that six POPE
questions are asked about), the items of a unit get the SAME weights, so that the bootstrap
resamples units, not items (questions on one image are not independent). The weights of a unit
are drawn from its identity (:func:`unit_weights`: a hash of the seed and the unit's key), so
any sharding or order of the items, and any two runs over the same units (paired comparisons),
see the same replicates.

An interval over fewer than :data:`MIN_UNITS` units (or resampling fewer than
:data:`MIN_UNITS` clusters) means nothing; it is not computed and the result says why
(``ci_note``) instead of printing a degenerate ``[x, x]``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_BOOTSTRAP = 1000
CHUNK = 2048
MIN_UNITS = 10
"""Fewest units (and fewest resampled clusters) an interval is computed over."""


def unit_weights(keys: Iterable[str], n_boot: int, seed: int = 0) -> np.ndarray:
    """Poisson(1) bootstrap weights, shape ``(n_boot, len(keys))``, drawn from each key's
    identity: the same key always gets the same column (for any order, shard or run)."""
    keys = list(keys)
    out = np.empty((n_boot, len(keys)))
    cache: dict[str, np.ndarray] = {}
    for j, key in enumerate(keys):
        col = cache.get(key)
        if col is None:
            digest = hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest()
            rng = np.random.default_rng(int.from_bytes(digest, "little"))
            col = cache[key] = rng.poisson(1.0, size=n_boot).astype(float)
        out[:, j] = col
    return out


def ratio(num, den):
    """``num / den`` elementwise, NaN where ``den`` is 0."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)
    return out if out.ndim else float(out)


def f1(tp, fp, fn):
    """F1 from counts (NaN when there are no positives at all)."""
    tp, fp, fn = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
    return ratio(2 * tp, 2 * tp + fp + fn)


@dataclass(frozen=True)
class Statistic:
    """A dataset-level number computed from column sums.

    Attributes:
        fn: Maps a mapping of column name -> sum (floats or arrays of bootstrap replicates) to the
            value (same shape).
        higher_is_better: Direction, for reports and gates.
        count: An integer count, reported without an interval.
        bounds: The range every value lies in, when it has one: ``(0.0, 1.0)`` for rates and
            fractions (see :func:`rate`); gates refuse a threshold outside it.
        units: The column whose sum is the number of units the statistic is computed over (the
            denominator: mentions for CHAIR_i, counted claims for count_rate); ``None`` when
            the statistic is over items.
        direction: Whether the statistic has a better direction at all (a length or a count
            has none; reports draw no arrow then).
    """

    fn: Callable[[Mapping[str, np.ndarray]], np.ndarray]
    higher_is_better: bool = False
    count: bool = False
    bounds: tuple[float, float] | None = None
    units: str | None = None
    direction: bool = True


RATE_BOUNDS = (0.0, 1.0)


def rate(fn: Callable[[Mapping[str, np.ndarray]], np.ndarray], *,
         higher_is_better: bool = False, units: str | None = None,
         direction: bool = True) -> Statistic:
    """A :class:`Statistic` that is a fraction in [0, 1] (a rate, an accuracy, an F1)."""
    return Statistic(fn, higher_is_better=higher_is_better, bounds=RATE_BOUNDS, units=units,
                     direction=direction)


@dataclass(frozen=True)
class MetricResult:
    """One reported number with its sample size and (optionally) a confidence interval."""

    name: str
    value: float
    n: int
    higher_is_better: bool = False
    ci: tuple[float, float] | None = None
    confidence: float | None = None
    bounds: tuple[float, float] | None = None
    ci_note: str | None = None
    clusters: int | None = None
    direction: bool = True

    @property
    def defined(self) -> bool:
        """Whether there is a value (a metric that scored nothing has none)."""
        return self.value is not None and not (isinstance(self.value, float)
                                               and math.isnan(self.value))

    def to_dict(self) -> dict:
        out: dict = {"value": _clean(self.value)}
        if self.ci is not None:
            out["ci"] = [_clean(self.ci[0]), _clean(self.ci[1])]
            out["confidence"] = self.confidence
        if self.ci_note:
            out["ci_note"] = self.ci_note
        out["n"] = self.n
        if self.clusters is not None:
            out["clusters"] = self.clusters
        out["higher_is_better"] = self.higher_is_better
        if not self.direction:
            out["direction"] = False        # a count, a length, a ratio with an ideal middle
        return out

    def bound(self, which: str | None) -> float:
        """The point estimate (``None``), or the ``"upper"``/``"lower"`` end of the interval."""
        if which is None:
            return self.value
        if self.ci is None:
            raise ValueError(f"{self.name} has no confidence interval; cannot use the "
                             f"{which} bound")
        if which == "upper":
            return self.ci[1]
        if which == "lower":
            return self.ci[0]
        raise ValueError(f"expected bound None, 'upper' or 'lower', got {which!r}")


def _clean(x):
    if x is None:
        return None
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    return None if math.isnan(x) else x


class SumState:
    """Column sums over items plus their Poisson-bootstrap replicates; streaming and mergeable."""

    def __init__(self, columns: Sequence[str], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0):
        self.columns = tuple(columns)
        self.n_boot = int(n_boot)
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        k = len(self.columns)
        self.n = 0
        self.units: set[str] = set()
        self.totals = np.zeros(k)
        self.boot = np.zeros((self.n_boot, k))
        self._buffer: list[Sequence[float]] = []
        self._rng = np.random.default_rng(self.seed)

    def add(self, row: Sequence[float]) -> None:
        if len(row) != len(self.columns):
            raise ValueError(f"expected {len(self.columns)} values {self.columns}, got {len(row)}")
        self._buffer.append(row)
        if len(self._buffer) >= CHUNK:
            self.flush()

    def draw_weights(self, m: int) -> np.ndarray | None:
        """Poisson(1) bootstrap weights for ``m`` items, shape ``(n_boot, m)``."""
        if not self.n_boot:
            return None
        return self._rng.poisson(1.0, size=(self.n_boot, m)).astype(float)

    def add_block(self, x: np.ndarray, weights: np.ndarray | None,
                  units: Sequence[str | None] | None = None) -> None:
        """Add rows ``x`` (m x k) with the given bootstrap weights (n_boot x m), so that several
        states (overall and per group) can share one draw per item; ``units`` names each row's
        cluster (for the count of clusters resampled)."""
        if not len(x):
            return
        self.n += len(x)
        if units is not None:
            self.units.update(u for u in units if u is not None)
        self.totals += x.sum(axis=0)
        if self.n_boot and weights is not None:
            self.boot += weights @ x

    def flush(self) -> None:
        if not self._buffer:
            return
        x = np.asarray(self._buffer, dtype=float)
        self._buffer = []
        self.add_block(x, self.draw_weights(len(x)))

    def merge(self, other: "SumState") -> None:
        if other.columns != self.columns or other.n_boot != self.n_boot:
            raise ValueError("cannot merge states with different columns or bootstrap sizes")
        self.flush()
        other.flush()
        self.n += other.n
        self.units |= other.units
        self.totals += other.totals
        self.boot += other.boot

    def sums(self) -> dict[str, float]:
        self.flush()
        return {c: float(v) for c, v in zip(self.columns, self.totals)}

    def result(self, name: str, stat: Statistic, confidence: float = 0.95,
               min_units: int = MIN_UNITS) -> MetricResult:
        """The statistic with its interval (none, with ``ci_note`` saying why, over fewer than
        ``min_units`` units or clusters)."""
        self.flush()
        point = stat.fn({c: self.totals[i] for i, c in enumerate(self.columns)})
        if stat.count:
            return MetricResult(name, int(round(float(point))), self.n, stat.higher_is_better,
                                bounds=stat.bounds, direction=False)
        n = self.n
        if stat.units is not None:
            n = int(round(float(self.totals[self.columns.index(stat.units)])))
        clusters = len(self.units) or None
        ci = None
        note = None
        if self.n_boot and n < min_units:
            note = f"no interval: n={n} units, fewer than {min_units}"
        elif self.n_boot and clusters is not None and clusters < min_units:
            note = f"no interval: {clusters} clusters resampled, fewer than {min_units}"
        elif self.n_boot and self.n:
            reps = np.asarray(stat.fn({c: self.boot[:, i] for i, c in enumerate(self.columns)}),
                              dtype=float)
            reps = reps[~np.isnan(reps)]
            if reps.size:
                alpha = (1.0 - confidence) / 2.0
                lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
                ci = (float(lo), float(hi))
        return MetricResult(name, float(point), n, stat.higher_is_better, ci,
                            confidence if ci else None, bounds=stat.bounds, ci_note=note,
                            clusters=clusters, direction=stat.direction)


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if n <= 0:
        return (math.nan, math.nan)
    from statistics import NormalDist
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))
