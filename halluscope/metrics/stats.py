"""Statistics over sums: streaming state, Poisson bootstrap intervals, Korn-Graubard intervals.

Every dataset-level number halluscope reports is a function of per-item column sums (CHAIR_i is
hallucinated mentions / mentions, POPE F1 is a function of TP, FP and FN, ...). :class:`SumState`
keeps those sums and, alongside, ``B`` Poisson-bootstrap replicates of them: each item enters
replicate ``b`` with a weight drawn from Poisson(1) (Hanley & MacGibbon 2006; Chamandy et al.
2012). This gives bootstrap confidence intervals for any function of sums in one streaming pass,
with memory independent of the number of items, and states from shards merge by addition.

The weight an item gets in replicate ``b`` is a function of the item's *identity* (a string key,
see :func:`item_key`) and the seed only, never of its position in the stream
(:func:`replicate_weights`): one process, ``--workers N`` or Ray, in any order or sharding, give
every item the same weights and so the same intervals. The key is any string, so a clustered
bootstrap can pass the cluster (the image) instead of the item.

Clustered intervals: when several items share a unit of resampling (an image that six POPE
questions are asked about), the items of a unit are given the unit's key, so they get the SAME
weights and the bootstrap resamples units, not items (questions on one image are not
independent); two runs over the same units (paired comparisons) see the same replicates.

An interval over fewer than :data:`MIN_UNITS` units (or resampling fewer than
:data:`MIN_UNITS` clusters, or whose units, such as CHAIR_i's mentions, lie in fewer than
:data:`MIN_UNITS` clusters) means nothing; it is not computed and the result says why
(``ci_note``, and ``ci_reason`` as a kind beside those words) instead of printing a degenerate
``[x, x]``. That rule is :func:`~halluscope.metrics.intervals.decide_interval`, the one every
statistic, HallusionBench's set-level scores and ``compare``'s differences go by.

A proportion (:attr:`Statistic.proportion`) reads its interval from the same replicates but not
as their percentiles: their variance gives the design effect of Korn & Graubard's interval
(:mod:`halluscope.metrics.korn_graubard`), ``ci_method`` ``"korn-graubard"``; where they have
no width, the same interval at a design effect of 1 (the effective size is the units, shrunk
for the clusters' degrees of freedom), also ``"korn-graubard"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from halluscope.metrics.draws import (  # noqa: F401  (re-exported: callers import them here)
    block_replicates, key_hash, key_hashes, one_blas_thread, replicate_weights, small_integers)
from halluscope.metrics.held import HELD_CAP, NonzeroUnits, RowUnits  # noqa: F401  (re-exported)
from halluscope.metrics.intervals import (  # noqa: F401  (re-exported: callers import them here)
    ZERO_WIDTH, IntervalReason, ci_note_label, decide_interval, effective_clusters,
    min_replicates, result_ci_label, wilson_interval)
from halluscope.metrics.unit_sets import UnitNames, UnitSet

DEFAULT_BOOTSTRAP = 1000
CHUNK = 2048
MIN_UNITS = 10
"""Fewest units (and fewest resampled clusters) an interval is computed over."""
DEFER_UNITS = MIN_UNITS
"""Fewest resampling keys whose replicates a group's state draws as its rows come; a group
over fewer (``--by`` a field with a value per answer) keeps their sums and draws them only
when an interval asks (:meth:`SumState.add_pending`), which one over so few units never does."""


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
        proportion: The value is a share of its units (``units``; items when ``None``), each
            unit counted 0 or 1: CHAIR_i, POPE precision, an accuracy; not an F1 or a mean of
            scores. Its interval is not the percentile bootstrap's (which covers a proportion
            with few events too rarely) but Korn & Graubard's, Clopper-Pearson over the
            effective size the bootstrap replicates give, or, where the replicates have no
            width (no unit with an event, or no unit without one), the same at a design
            effect of 1 (:func:`~halluscope.metrics.intervals.decide_interval`).
    """

    fn: Callable[[Mapping[str, np.ndarray]], np.ndarray]
    higher_is_better: bool = False
    count: bool = False
    bounds: tuple[float, float] | None = None
    units: str | tuple[str, ...] | None = None
    direction: bool = True
    proportion: bool = False
    #: Why the value is undefined, from the column sums, where "undefined over the items" would
    #: not say (HallusionBench's Yes/No bias: a question with no truth to read); ``None``: none.
    why_none: Callable[[Mapping[str, Any]], str | None] | None = None

    @property
    def unit_columns(self) -> tuple[str, ...]:
        """The :attr:`units` columns as a tuple (empty when it names none)."""
        return (self.units,) if isinstance(self.units, str) else tuple(self.units or ())


RATE_BOUNDS = (0.0, 1.0)
#: The range of a count (:attr:`Statistic.count`) that declares none: never negative.
COUNT_BOUNDS = (0.0, math.inf)


def range_of(stat: Statistic) -> tuple[float, float] | None:
    """The range every value of ``stat`` lies in: its own, ``[0, inf]`` for a count, else
    ``None`` (gates refuse a threshold outside it)."""
    return stat.bounds if stat.bounds is not None else COUNT_BOUNDS if stat.count else None


def rate(fn: Callable[[Mapping[str, np.ndarray]], np.ndarray], *,
         higher_is_better: bool = False, units: str | tuple[str, ...] | None = None,
         direction: bool = True, proportion: bool = False) -> Statistic:
    """A :class:`Statistic` that is a fraction in [0, 1] (a rate, an accuracy, an F1);
    ``proportion`` when it is a share of its units (see :attr:`Statistic.proportion`)."""
    return Statistic(fn, higher_is_better=higher_is_better, bounds=RATE_BOUNDS, units=units,
                     direction=direction, proportion=proportion)


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
    ci_method: str | None = None
    """How ``ci`` was computed where not by the percentile bootstrap: ``"korn-graubard"`` (a
    proportion, its replicates varying or not; ``ci_reason.kind`` tells which)."""
    clusters: int | None = None
    direction: bool = True
    why_no_value: str | None = None
    """Why the statistic has no value, where its metric knows (over no units of its own)."""
    ci_reason: IntervalReason | None = field(default=None, compare=False, repr=False)
    """Why there is no interval (or why it is Korn & Graubard's) as a kind and a note (written
    as ``ci_reason``, the kind, and ``ci_note``; read back from results.json, from those two)."""

    def __post_init__(self) -> None:
        # nan is no number: held as None, as results.json writes it and --resume reads it
        # back (a fresh result held nan, the resumed one None), saying why
        if isinstance(self.value, (float, np.floating)) and math.isnan(self.value):
            object.__setattr__(self, "value", None)
            if not self.why_no_value:
                object.__setattr__(self, "why_no_value", undefined_why(self.n))

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
        if self.ci_method:
            out["ci_method"] = self.ci_method
        if self.ci_reason is not None:
            out["ci_reason"] = self.ci_reason.kind
        if self.why_no_value:
            out["why_no_value"] = self.why_no_value
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

    def __init__(self, columns: Sequence[str], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                 unit_names: UnitNames | None = None):
        self.columns = tuple(columns)
        self.n_boot = int(n_boot)
        self.seed = seed
        self.unit_names = unit_names    # (a metric's states number their units alike)
        self.reset()

    def reset(self) -> None:
        k = len(self.columns)
        self.n = 0
        self.units = UnitSet(self.unit_names)    # the clusters seen: a set of their names
        # per column, the clusters where it is nonzero (up to HELD_CAP): a statistic over
        # mentions that lie in two images rests on two clusters, however many were resampled
        self.held: list[set[str]] = [set() for _ in range(k)]
        self.totals = np.zeros(k)
        self._boot: np.ndarray | None = None    # the replicates, made when first added to
        # per resampling key, the column sums whose replicates are not drawn yet (a group over
        # fewer than DEFER_UNITS keys: drawn only if an interval asks, see add_pending)
        self.pending: dict[str, np.ndarray] = {}
        self._buffer: list[Sequence[float]] = []
        self._keys: list[str] = []

    def add(self, row: Sequence[float], key: str | None = None) -> None:
        """Add one item's row; ``key`` is its identity (the bootstrap weights come from it;
        without one, its position among the rows added to this state)."""
        if len(row) != len(self.columns):
            raise ValueError(f"expected {len(self.columns)} values {self.columns}, got {len(row)}")
        self._keys.append(key if key is not None else f"#{self.n + len(self._buffer)}")
        self._buffer.append(row)
        if len(self._buffer) >= CHUNK:
            self.flush()

    @property
    def boot(self) -> np.ndarray:
        """The replicates of the column sums (n_boot x columns), the pending ones drawn."""
        return self._draw()

    @boot.setter
    def boot(self, value: np.ndarray) -> None:
        self._boot = value

    def _draw(self) -> np.ndarray:
        if self._boot is None:
            self._boot = np.zeros((self.n_boot, len(self.columns)))
        if self.pending:
            keys, sums = list(self.pending), np.array(list(self.pending.values()))
            self.pending = {}
            with one_blas_thread():     # small integers: exact, as any other order adds them
                self._boot += replicate_weights(keys, self.n_boot, self.seed) @ sums
        return self._boot

    def deferring(self, keys: int) -> bool:
        """Whether ``keys`` more resampling keys may be kept pending (:meth:`add_pending`)
        rather than replicated now: no replicates were made yet and all would stay fewer than
        :data:`DEFER_UNITS`."""
        return bool(self.n_boot) and self._boot is None and len(self.pending) + keys < DEFER_UNITS

    def add_pending(self, keys: Sequence[str], sums: np.ndarray) -> None:
        """Add the replicates of rows summed per resampling key (``sums[i]``: the
        :func:`small_integers` column sums of key ``keys[i]``'s rows) without drawing them: they
        are drawn when :attr:`boot` is first read (an interval over this state, a merge, rows
        added otherwise), as exact as drawn now. The point totals, units and held clusters
        are the caller's (:meth:`add_summed`)."""
        if not self.n_boot:
            return
        for key, row in zip(keys, sums):
            had = self.pending.get(key)
            self.pending[key] = row if had is None else had + row
        if self._boot is not None or len(self.pending) >= DEFER_UNITS:
            self._draw()

    def draw_weights(self, keys: Sequence[str]) -> np.ndarray | None:
        """Poisson(1) bootstrap weights for the items ``keys``, shape ``(n_boot, len(keys))``
        (see :func:`replicate_weights`)."""
        if not self.n_boot:
            return None
        return replicate_weights(keys, self.n_boot, self.seed)

    def add_rows(self, x: np.ndarray, weights: np.ndarray | None, unit_of_row: np.ndarray,
                 units: Sequence[str | None] | RowUnits | None = None) -> None:
        """Add rows ``x`` (m x k) whose bootstrap weights are columns of ``weights`` (n_boot x
        U): row ``i`` takes column ``unit_of_row[i]``. The rows of one unit are summed before
        the weights are applied, which is the same sum with fewer products."""
        with one_blas_thread():
            self._add_rows(x, weights, unit_of_row, units)

    def _add_rows(self, x: np.ndarray, weights: np.ndarray | None, unit_of_row: np.ndarray,
                  units: Sequence[str | None] | RowUnits | None = None) -> None:
        if not self._count(x, units) or not self.n_boot or weights is None:
            return
        if len(unit_of_row) == weights.shape[1] and (np.diff(unit_of_row) == 1).all() \
                and (len(x) == 0 or unit_of_row[0] == 0):
            self.boot += weights @ x            # row i is unit i: no copies, nothing to sum
            return
        used, local = np.unique(unit_of_row, return_inverse=True)
        if len(used) == len(x):                 # one row per unit: nothing to sum
            self.boot += weights[:, unit_of_row] @ x
            return
        per_unit = np.empty((len(used), x.shape[1]))
        for c in range(x.shape[1]):             # row order, as np.add.at would add them
            per_unit[:, c] = np.bincount(local, x[:, c], minlength=len(used))
        every = len(used) == weights.shape[1] and used[-1] == len(used) - 1
        self.boot += (weights if every else weights[:, used]) @ per_unit

    def add_replicated(self, x: np.ndarray, boot: np.ndarray,
                       units: Sequence[str | None] | RowUnits | None = None) -> None:
        """Add rows ``x`` (m x k) whose bootstrap replicates the caller has already summed
        (``boot``: n_boot x k, the weighted column sums of ``x``)."""
        if self._count(x, units) and self.n_boot:
            self.boot += boot

    def add_summed(self, n: int, totals: np.ndarray, boot: np.ndarray | None,
                   units: Iterable[str],
                   held: Callable[[int], Iterable[str]] | None = None) -> None:
        """Add ``n`` rows by their column sums (``totals``), the replicates of those sums
        (``boot``; ``None`` without replicates) and the units they belong to; ``held(c)``:
        the units where column ``c`` is nonzero (asked only while :meth:`holding` wants
        them)."""
        if not n:
            return
        self.n += n
        self.units.update(units)
        self.totals += totals
        if self.n_boot and boot is not None:
            self.boot += boot
        if held is not None:
            for c in self.holding():
                self._hold(c, held(c))

    def holding(self) -> list[int]:
        """The columns whose holding clusters are still noted (fewer than :data:`HELD_CAP`)."""
        return [c for c, h in enumerate(self.held) if len(h) < HELD_CAP]

    def _hold(self, c: int, units: Iterable[str]) -> None:
        h = self.held[c]
        for u in units:
            if len(h) >= HELD_CAP:
                return
            h.add(u)

    def _count(self, x: np.ndarray, units: Sequence[str | None] | RowUnits | None) -> bool:
        """Adds rows ``x`` to the point totals and their units to the clusters seen (and, per
        column still noting them, those where it is nonzero); whether there were any rows.
        The rows' units are coded once (:class:`RowUnits`; a caller folding several states
        passes them coded), and only the columns short of :data:`HELD_CAP` are looked at."""
        if units is None:
            self.add_summed(len(x), x.sum(axis=0), None, ())
            return bool(len(x))
        if not len(x):
            return False
        columns = self.holding()
        if not columns and not isinstance(units, RowUnits):     # no column to look at
            self.add_summed(len(x), x.sum(axis=0), None, [u for u in units if u is not None])
            return True
        rows = units if isinstance(units, RowUnits) else RowUnits.of(units)
        self.add_summed(len(x), x.sum(axis=0), None, rows.present())
        if columns:
            for c, clusters in rows.nonzero(x, columns):
                held = self.held[c]
                if len(held) + len(clusters - held) <= HELD_CAP:
                    held |= clusters
                else:       # the cap is reached: the rows' order decides which are noted
                    self._hold(c, rows.down(x, c))
        return True

    def clusters_holding(self, stat: Statistic) -> int | None:
        """How many clusters hold the units ``stat`` is over (nonzero in one of its ``units``
        columns; every cluster for a statistic over items), counted up to :data:`HELD_CAP`;
        ``None`` when no cluster was noted."""
        if not self.units:
            return None
        if stat.units is None:
            return len(self.units)
        held: set[str] = set()
        for name in stat.unit_columns:
            held |= self.held[self.columns.index(name)]
        return len(held)

    def flush(self) -> None:
        if not self._buffer:
            return
        x = np.asarray(self._buffer, dtype=float)
        keys, self._buffer, self._keys = self._keys, [], []
        self.add_rows(x, self.draw_weights(keys), np.arange(len(x)))

    def merge(self, other: "SumState") -> None:
        if other.columns != self.columns or other.n_boot != self.n_boot:
            raise ValueError("cannot merge states with different columns or bootstrap sizes")
        self.flush()
        other.flush()
        self.n += other.n
        self.units |= other.units
        for c, h in enumerate(other.held):
            self._hold(c, sorted(h))
        self.totals += other.totals
        if self._boot is None and other._boot is None:
            self.add_pending(list(other.pending), list(other.pending.values()))
        else:
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
        if stat.count:      # a count over no scored item is no number (a 0 would pass gates)
            return MetricResult(name, int(round(float(point))) if self.n else None, self.n,
                                stat.higher_is_better, bounds=range_of(stat), direction=False,
                                why_no_value=None if self.n else NO_ITEM_COUNTED)
        check_share(name, stat, point)
        n = units_over(stat, self.columns, self.totals, self.n)
        clusters = len(self.units) or None
        holding = self.clusters_holding(stat)
        ci = reason = None
        if self.n_boot:
            ci, reason = decide_interval(
                n, clusters, min_units, confidence,
                (lambda: stat.fn({c: self.boot[:, i] for i, c in enumerate(self.columns)}))
                if self.n else None, holding=holding,
                score=(float(point), effective_clusters(holding, clusters))
                if stat.proportion else None)
        return MetricResult(name, float(point), n, stat.higher_is_better, ci,
                            confidence if ci else None, bounds=stat.bounds,
                            ci_note=reason.note if reason else None, clusters=clusters,
                            direction=stat.direction, ci_reason=reason,
                            ci_method=reason.method if ci is not None and reason else None,
                            why_no_value=no_value_why(stat, self.columns, self.totals, self.n)
                            if math.isnan(float(point)) else None)


def check_share(name: str, stat: Statistic, value: Any) -> None:
    """A :class:`ConfigError` when a statistic declared a proportion (a share of its units)
    has a value outside [0, 1]: its columns count more than one event per unit, so no
    proportion's interval applies (Korn & Graubard's failed with 'math domain error', or the
    percentile interval of a "share" of 1.5 was given as if it were one)."""
    if stat.proportion and value is not None and math.isfinite(float(value)) and \
            not -1e-9 <= float(value) <= 1.0 + 1e-9:
        from halluscope.errors import ConfigError
        raise ConfigError(f"statistic {name!r} is declared a proportion (proportion=True: a "
                          f"share of its units, in [0, 1]) but its value is {float(value):g}: "
                          f"its columns count more than one event per unit; declare it "
                          f"without proportion=True or count each unit's event once")


def undefined_why(n: int) -> str:
    """Why a statistic over ``n`` units whose formula gave nan (a precision with no "yes"
    answer) has no value."""
    if n:
        return f"undefined over its {n} scored items (a ratio with nothing in its denominator)"
    return "nothing it needs was scored"


def no_value_why(stat: Statistic, columns: Sequence[str], totals: Any, items: int
                 ) -> str | None:
    """Why ``stat`` has no value over column sums ``totals`` of ``items`` scored items, as
    its formula sees it: its own :attr:`Statistic.why_none` (POPE's precision: no "yes"
    answer), else the units it divides by that are none; ``None`` where neither says
    (:func:`undefined_why` then does)."""
    sums = {c: float(v) for c, v in zip(columns, np.asarray(totals, dtype=float))}
    own = stat.why_none(sums) if stat.why_none is not None else None
    if own:
        return own
    if stat.unit_columns and items and not sum(sums[c] for c in stat.unit_columns):
        return (f"over no {' or '.join(stat.unit_columns)} (what it divides by) among its "
                f"{items} scored item(s)")
    return None


#: Why a count (:attr:`Statistic.count`) over no scored item has no value.
NO_ITEM_COUNTED = "a count over no scored item: the metric scored nothing to count"


def units_over(stat: Statistic, columns: Sequence[str], totals: np.ndarray, items: int) -> int:
    """The number of units ``stat`` is computed over: the sum of its ``units`` columns in
    ``totals`` (summed over ``columns``), or ``items`` when it names none."""
    if stat.units is None:
        return items
    return int(round(float(sum(totals[list(columns).index(c)] for c in stat.unit_columns))))


GROUP_COLUMNS = 1024
"""Columns (groups x metric columns) of one matrix product in :func:`group_replicates`."""


def group_replicates(x: np.ndarray, weights: np.ndarray, unit_of_row: np.ndarray,
                     members: Mapping[str, Sequence[int]]):
    """``(group, replicates)`` for every group: the weighted column sums (n_boot x k) of the
    group's rows ``x[members[group]]``, row ``i`` weighted by column ``unit_of_row[i]`` of
    ``weights``. The groups' rows are summed per unit side by side and multiplied by the weights
    in one product per batch of groups; for :func:`small_integers` rows this is exact, so the
    same to the bit as one group at a time."""
    n_units, k = weights.shape[1], x.shape[1]
    names = list(members)
    per_batch = max(1, GROUP_COLUMNS // k)
    for start in range(0, len(names), per_batch):
        batch = names[start:start + per_batch]
        per_unit = np.zeros((n_units, k * len(batch)))
        for j, g in enumerate(batch):
            idx = np.asarray(members[g], dtype=np.intp)
            rows, where = x[idx], unit_of_row[idx]
            for c in range(k):
                per_unit[:, j * k + c] = np.bincount(where, rows[:, c], minlength=n_units)
        with one_blas_thread():
            boot = weights @ per_unit
        for j, g in enumerate(batch):
            yield g, boot[:, j * k:(j + 1) * k]


def shared_n(results: Mapping[str, Any], names: Sequence[str]) -> int | None:
    """The n every statistic of ``names`` in ``results`` (statistic -> a result with ``n``) is
    over; ``None`` when they differ (CHAIR's chair_s is over captions, chair_i over
    mentions): one "n" beside them all would label a value with another's count. 0 when none
    of them is there."""
    ns = {results[c].n for c in names if c in results}
    return next(iter(ns)) if len(ns) == 1 else (0 if not ns else None)
