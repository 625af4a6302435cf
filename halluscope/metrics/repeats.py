"""Answers that repeat a question already answered, for the benchmarks whose original scorers
count every row they are given (AMBER's inference.py, VLMEvalKit, MMHal-Bench's and Object
HalBench's scorers; HallusionBench's refined variant does the same, although its original
refuses a repeat): a repeated id is scored again, as the original scores it, and the repeats are
counted and said, so that a file with a question answered twice is not taken for a clean run.
Where the question set is known (a template, a question file), the questions never answered are
counted and said too (:meth:`Repeats.missing`, :func:`warn_unanswered`)."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable

from halluscope.metrics.stats import NO_ITEM_COUNTED, MetricResult, Statistic

log = logging.getLogger(__name__)


class Repeats:
    """The keys a metric has scored and how many of them came again (mergeable: two workers'
    counts plus the keys both saw give the count one process would have found)."""

    def __init__(self) -> None:
        self.seen: set[Hashable] = set()
        self.count = 0

    def note(self, key: Hashable) -> None:
        """Record one scored answer to ``key``."""
        if key in self.seen:
            self.count += 1
        else:
            self.seen.add(key)

    def merge(self, other: "Repeats") -> None:
        """Add another worker's keys and repeats."""
        self.count += other.count + len(self.seen & other.seen)
        self.seen |= other.seen

    def warn(self, metric: str, what: str,
             why: str = "as the original scorer scores every row") -> None:
        """Say how many answers repeated one already scored (nothing when none did), and
        ``why`` they are scored all the same."""
        if self.count:
            one = self.count == 1
            log.warning("%s: %d %s %s already answered; %s scored, %s (info.repeated_answers)",
                        metric, self.count, "answer repeats" if one else "answers repeat", what,
                        "it is" if one else "each is", why)

    def describe(self, out: dict) -> None:
        """Add ``repeated_answers`` to a metric's description when there were any."""
        if self.count:
            out["repeated_answers"] = self.count

    def missing(self, keys: Iterable[Hashable]) -> list[Hashable]:
        """The ``keys`` (the questions asked, in order) that no scored answer answered."""
        return [k for k in keys if k not in self.seen]


def warn_unanswered(metric: str, missing: list, total: int, what: str) -> None:
    """Say how many of the ``total`` questions no scored answer answered (nothing when none;
    a question answered only by a bad record is among them)."""
    if missing:
        first = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        log.warning("%s: %d of the %d questions never answered (or answered only by a bad "
                    "record), in neither the scores nor n: %s %s (info.unanswered)",
                    metric, len(missing), total, what, first)


def describe_unanswered(out: dict, missing: list) -> None:
    """Add ``unanswered`` (the count) and ``unanswered_first`` (up to ten of them) to a
    metric's description when questions were never answered."""
    if missing:
        out["unanswered"] = len(missing)
        out["unanswered_first"] = missing[:10]


#: The statistic a benchmark metric reports beside its own: the questions never answered.
UNANSWERED = Statistic(lambda s: s, count=True)

#: What ``compare`` does not pair, and why (said in its ``left_out``).
UNANSWERED_NOT_PAIRED = {
    "unanswered": "a count of the benchmark's questions a run has no answer to "
                  "(info.unanswered_first names the first ten), not a sum over items, so it "
                  "has no paired difference"}


def unanswered_result(missing: list, total: int, scored: int, unknown: str) -> MetricResult:
    """``unanswered``, the count of the ``total`` questions no scored answer answered: 0
    included, so that ``--fail-above NAME.unanswered=0`` passes on a whole file; no value
    when nothing was scored, or when the question set is not known (``total`` 0: ``unknown``
    says why and what to pass), so that no gate passes on a count never made."""
    if not scored:
        return MetricResult("unanswered", None, total, False, why_no_value=NO_ITEM_COUNTED)
    if not total:
        return MetricResult("unanswered", None, 0, False, why_no_value=unknown)
    return MetricResult("unanswered", len(missing), total, False)


__all__ = ["Repeats", "UNANSWERED", "UNANSWERED_NOT_PAIRED", "describe_unanswered",
           "unanswered_result", "warn_unanswered"]
