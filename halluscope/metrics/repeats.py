"""Answers that repeat a question already answered, for the benchmarks whose original scorers
count every row they are given (AMBER's inference.py, VLMEvalKit; HallusionBench's refined
variant does the same, although its original refuses a repeat): a repeated id is scored again,
and the repeats are counted and said, so that a file with a question answered twice is not
taken for a clean run."""

from __future__ import annotations

import logging
from collections.abc import Hashable

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


__all__ = ["Repeats"]
