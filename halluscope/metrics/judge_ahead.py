"""Judge questions of a batch of records asked together (engines: a chunk, a Ray batch).

A metric that puts one judge question per record (HallusionBench, MMHal-Bench, Object HalBench)
defines ``ask_judge_ahead(records)``: it works out, without changing anything, the question its
:meth:`~halluscope.metrics.base.Metric.score` will ask of each record (none for one that fails
before its call) and hands them to :meth:`Judge.ask_ahead
<halluscope.judges.judge.Judge.ask_ahead>`, which sends them concurrently; it returns the judge
asked. The records are then scored one at a time as before, each call answered from what was
asked ahead (:mod:`halluscope.judges.ahead`): the same items, numbers, cache entries and judge
counters as one call at a time, with up to ``judge_max_connections`` calls in flight.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from halluscope.records import Record


@contextmanager
def judges_asked_ahead(records: list[Any], metrics: list[Any]) -> Iterator[None]:
    """Within the block, the judge questions ``metrics`` will ask of ``records`` (those they
    apply to) were asked ahead; what no record took is dropped at its end."""
    asked: list[Any] = []
    try:
        for metric in metrics:
            ahead = getattr(metric, "ask_judge_ahead", None)
            if ahead is None:
                continue
            todo = [r for r in records if isinstance(r, Record) and metric.applies_to(r)]
            judge = ahead(todo) if todo else None
            if judge is not None:
                asked.append(judge)
        yield
    finally:
        for judge in asked:
            judge.forget_ahead()


def chunk_floor(config: Any) -> int:
    """The fewest records a worker's chunk should hold so that its judge questions can fill
    the judge's connections (``judge_max_connections``, default 4); 1 without a judge."""
    if not getattr(config, "judge", None):
        return 1
    try:
        return max(1, int((config.options or {}).get("judge_max_connections", 4)))
    except (TypeError, ValueError):
        return 1


def asker(judge: Any):
    """``judge.ask_ahead`` where the judge has one (a test's stand-in may not), else None."""
    return getattr(judge, "ask_ahead", None)


__all__ = ["asker", "chunk_floor", "judges_asked_ahead"]
