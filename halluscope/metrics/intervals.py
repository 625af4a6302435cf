"""Whether a statistic gets a confidence interval, and why not: the one rule every metric,
HallusionBench's set-level scores and ``compare``'s paired differences go by.

:func:`decide_interval` takes a statistic's sizes (its units, the clusters resampled, the
clusters holding its units; for a paired difference, the paired items and each run's units) and
its bootstrap replicates, and gives the interval or an :class:`IntervalReason`: what kind of
reason and the note written as ``ci_note``, which names the numbers behind it. An interval over
too few units or clusters means nothing and is not computed; one whose replicates are too few,
or all equal, bounds nothing. A proportion is not read from its replicates' percentiles (which
cover a proportion with few events too rarely): where they vary, their variance gives the
design effect of Korn & Graubard's interval (:mod:`halluscope.metrics.korn_graubard`, kind
``korn_graubard``); where they all equal (0 events, only events), Korn & Graubard's interval at
a design effect of 1 (:func:`no_variation_bounds`, kind ``no_variation``): the effective size
is the units, shrunk for the clusters' degrees of freedom, so the bound at 0 events is never
wider than at one event. Both are ``ci_method`` ``korn-graubard``.

Callers read the reason's kind, not the note's words (``ci_method`` from
:attr:`IntervalReason.method`; compare says the bootstrap ran unless the reason is one of too
few units or clusters); a gate names the note. results.json and compare.json hold the kind as
``ci_reason`` beside the note, and reports label a statistic by it (:func:`ci_note_label`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from halluscope.metrics.held import HELD_CAP
from halluscope.metrics.korn_graubard import (KORN_GRAUBARD, degrees_of_freedom,
                                              korn_graubard_interval, no_variation_interval)

#: The kinds of :class:`IntervalReason`: too few units (``units``), clusters resampled
#: (``clusters``), clusters holding the units (``holding``), paired items (``paired``) or,
#: enough of those, their clusters (``paired_clusters``), defined replicates (``replicates``);
#: replicates all equal (``zero_width``);
#: Korn & Graubard's interval given a proportion instead of the percentile one
#: (``korn_graubard``), or, at a design effect of 1, instead of a zero-width one
#: (``no_variation``; these two are the kinds with an interval); no replicates drawn
#: (``no_bootstrap``), nothing paired (``no_paired``), a side with no value (``no_value``).
REASON_KINDS = ("units", "clusters", "holding", "paired", "paired_clusters", "replicates",
                "zero_width", "no_variation", "korn_graubard", "no_bootstrap", "no_paired",
                "no_value")

#: A few words for a table cell per kind of reason for no interval (:func:`ci_note_label`).
_LABELS = {"units": "too few units", "paired": "too few units",
           "clusters": "too few clusters", "holding": "too few clusters",
           "paired_clusters": "too few clusters", "replicates": "too few replicates",
           "zero_width": "zero width", "no_bootstrap": "no bootstrap",
           "no_paired": "no paired items", "no_value": "no value"}

#: The ``ci_method`` a reason of an interval names (:attr:`IntervalReason.method`).
_METHODS = {"no_variation": KORN_GRAUBARD, "korn_graubard": KORN_GRAUBARD}

ZERO_WIDTH = "no interval: zero width"
"""How the note of a statistic whose bootstrap replicates are all equal starts: a ``[x, x]``
interval is no evidence of a bound (0 false positives in 200 answers bound the rate only to
about 3/200), so none is reported, and a gate on a bound fails saying so."""


@dataclass(frozen=True)
class IntervalReason:
    """Why a statistic has no interval (or, kinds ``korn_graubard`` and ``no_variation``, why
    its interval is Korn & Graubard's rather than the percentile one).

    Attributes:
        kind: One of :data:`REASON_KINDS`.
        note: The words written as the result's ``ci_note``: the numbers that fell short and
            the number needed, or the sizes the interval was read over.
    """

    kind: str
    note: str

    @property
    def too_small(self) -> bool:
        """Whether the statistic is over too few units, clusters or paired items (its
        replicates were not even looked at)."""
        return self.kind in ("units", "clusters", "holding", "paired", "paired_clusters")

    @property
    def method(self) -> str | None:
        """The ``ci_method`` of the interval this reason comes with (``None``: a reason for
        no interval)."""
        return _METHODS.get(self.kind)


def too_few(n: int | tuple[int, int], clusters: int | None, min_units: int, *,
            holding: int | None = None, paired: int | None = None) -> IntervalReason | None:
    """Why an interval over these sizes means nothing (``None`` when it may be computed):
    ``paired`` items (a difference between two runs) or their ``clusters`` fewer than
    ``min_units``; fewer than ``min_units`` units (``n``; a pair ``(A, B)`` for a difference,
    each run's own); fewer than ``min_units`` clusters resampled (``clusters``); the units held
    by fewer than ``min_units`` clusters (``holding``, counted up to :data:`HELD_CAP`)."""
    if paired is not None and clusters is not None and (paired < min_units
                                                        or clusters < min_units):
        return IntervalReason("paired" if paired < min_units else "paired_clusters",
                              f"no interval: {paired} paired items in {clusters} clusters, "
                              f"fewer than {min_units}")
    if isinstance(n, tuple):
        if min(n) < min_units:
            return IntervalReason("units", f"no interval: n={n[0]} units in A, n={n[1]} in B, "
                                  f"fewer than {min_units}")
    elif n < min_units:
        return IntervalReason("units", f"no interval: n={n} units, fewer than {min_units}")
    if paired is None and clusters is not None and clusters < min_units:
        return IntervalReason("clusters", f"no interval: {clusters} clusters resampled, "
                              f"fewer than {min_units}")
    if holding is not None and holding < min(min_units, HELD_CAP):
        note = (f"no interval: the units lie in {holding} clusters resampled, fewer than "
                f"{min_units}" if paired is not None else
                f"no interval: {holding} clusters hold its units, fewer than {min_units}")
        return IntervalReason("holding", note)
    return None


def decide_interval(n: int | tuple[int, int], clusters: int | None, min_units: int,
                    confidence: float, replicates: Callable[[], np.ndarray] | None, *,
                    holding: int | None = None, paired: int | None = None,
                    score: tuple[float, int | None] | None = None
                    ) -> tuple[tuple[float, float] | None, IntervalReason | None]:
    """``(interval, reason)`` of a statistic: none over too few units or clusters
    (:func:`too_few`, which the sizes are passed to); else the percentile interval of its
    bootstrap ``replicates`` (asked for only then; ``None``: there are none, and no interval)
    or why there is none (:func:`percentile_bounds`). A proportion (``score``: its value and
    the clusters holding its units, :func:`effective_clusters`) gets Korn & Graubard's interval
    from the same replicates instead (kind ``korn_graubard``), or, where they all equal, at a
    design effect of 1 over its ``n`` units (kind ``no_variation``,
    :func:`no_variation_bounds`)."""
    reason = too_few(n, clusters, min_units, holding=holding, paired=paired)
    if reason is not None or replicates is None:
        return None, reason
    reps = replicates()
    ci, reason = percentile_bounds(reps, confidence)
    if score is None:
        return ci, reason
    units = int(n if not isinstance(n, tuple) else min(n))
    if reason is not None and reason.kind == "zero_width":
        return no_variation_bounds(score[0], units, score[1], confidence)
    if ci is not None:
        exact, note = korn_graubard_interval(score[0], units, reps, score[1], confidence)
        if exact is not None:       # (None: replicates that vary around a value of 0 or 1)
            return exact, IntervalReason("korn_graubard", note or "")
    return ci, reason


def min_replicates(confidence: float) -> int:
    """The fewest bootstrap replicates a percentile interval at ``confidence`` is read from:
    each tail must hold at least one replicate (40 for 95%, 200 for 99%). With fewer, the
    "interval" is a replicate or two that need not even hold the point estimate."""
    return max(2, math.ceil(2.0 / max(1.0 - confidence, 1e-9) - 1e-9))


def percentile_bounds(reps: np.ndarray, confidence: float
                      ) -> tuple[tuple[float, float] | None, IntervalReason | None]:
    """``(interval, None)`` from bootstrap replicates (undefined ones dropped), or ``(None,
    reason)`` when too few are defined (:func:`min_replicates`) or all equal."""
    reps = np.asarray(reps, dtype=float)
    reps = reps[~np.isnan(reps)]
    need = min_replicates(confidence)
    if reps.size < need:
        return None, IntervalReason(
            "replicates", f"no interval: {reps.size} defined bootstrap replicates, fewer than "
            f"the {need} a {confidence:.0%} interval needs")
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
    if reps.max() - reps.min() <= 1e-12 * max(1.0, abs(float(reps.max()))):
        return None, IntervalReason(
            "zero_width", f"{ZERO_WIDTH}: all {reps.size} defined bootstrap replicates equal "
            f"{float(lo):.6g} (no unit differs from another), which bounds nothing")
    return (float(lo), float(hi)), None


def effective_clusters(holding: int | None, clusters: int | None) -> int | None:
    """The clusters whose degrees of freedom a proportion's interval counts (Korn & Graubard's
    ``df`` = clusters - 1): those holding the statistic's units, noted
    exactly up to :data:`HELD_CAP`; where the cap is reached (at least that many hold them),
    the clusters resampled."""
    if holding is not None and holding >= HELD_CAP and clusters is not None:
        return max(holding, clusters)
    return holding


def no_variation_bounds(value: float, n: int, clusters: int | None, confidence: float
                        ) -> tuple[tuple[float, float], IntervalReason]:
    """Korn & Graubard's interval of a proportion ``value`` over ``n`` units whose bootstrap
    replicates all equal it (0 events, only events, the same share in every cluster), with its
    reason (kind ``no_variation``): with no variation no design effect can be read, so it is
    taken as 1, as Korn & Graubard and the NCHS standards for proportions do at a proportion
    of 0 or 1: Clopper-Pearson over an effective size of the ``n`` units, shrunk for the
    ``clusters`` holding them (see :func:`effective_clusters`) by ``(t_{n-1} / t_{C-1})^2``
    as where the replicates vary (:func:`~halluscope.metrics.korn_graubard.no_variation_interval`).
    One event's bound applies the same shrinkage to about the same size (its estimated design
    effect is about 1), so the bound at no event is not the wider of the two (the worst-case
    Wilson interval over the clusters, used up to the zero-events monotonicity change, was 2.6
    times one event's on 200 units in 50 clusters).
    Depends only on the counts: any sharding or order gives the same bounds."""
    ci, size = no_variation_interval(value, n, clusters, confidence)
    df = degrees_of_freedom(n, clusters)
    return ci, IntervalReason(
        "no_variation", f"Korn-Graubard: Clopper-Pearson over an effective {size:.1f} of {n} "
        f"units (design effect taken as 1: the bootstrap replicates all equal {value:.6g}, an "
        f"interval of zero width; {df} degrees of freedom)")


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


def ci_note_label(note: str | None, kind: str | None = None) -> str:
    """A few words for a table cell saying why a statistic has no interval: not every missing
    interval is one over too few units (the whole ``note`` belongs beside it, in a tooltip or
    results.json). Read from the reason's ``kind`` (``ci_reason`` in results.json and
    compare.json); files written before they held it have the note's words alone, which are
    read instead."""
    if not note:
        return ""
    if kind in _LABELS:
        return _LABELS[kind]
    if note.startswith(ZERO_WIDTH):
        return "zero width"
    if note.startswith("no bootstrap"):
        return "no bootstrap"
    if "replicates" in note:
        return "too few replicates"
    if "no value" in note:
        return "no value"
    if "no paired items" in note:
        return "no paired items"
    if "fewer than" not in note:
        return "no interval"
    return "too few clusters" if _few_clusters(note) else "too few units"


def result_ci_label(res: object) -> str:
    """:func:`ci_note_label` of a result: its ``ci_note`` and its ``ci_reason``'s kind."""
    return ci_note_label(getattr(res, "ci_note", None),
                         getattr(getattr(res, "ci_reason", None), "kind", None))


def _few_clusters(note: str) -> bool:
    """Whether a "fewer than N" note is about clusters rather than units: it names a count of
    clusters below N, and no count of units or paired items below N (compare's "6 paired items
    in 3 clusters" is too few items first)."""
    limit = re.search(r"fewer than (\d+)", note)
    clusters = re.search(r"(\d+) clusters", note)
    if limit is None or clusters is None or "n=" in note:
        return False
    items = re.search(r"(\d+) paired items", note)
    bound = int(limit.group(1))
    return int(clusters.group(1)) < bound and (items is None or int(items.group(1)) >= bound)
