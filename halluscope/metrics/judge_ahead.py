"""Judge questions of a batch of records asked together (engines: a chunk, a Ray batch).

A metric that puts judge questions to records (HallusionBench, MMHal-Bench, Object HalBench,
POPE's fallback, the verification of ``claims`` and ``faithscore``) defines
``ask_judge_ahead(records)``: it works out, without changing anything, the questions its
:meth:`~halluscope.metrics.base.Metric.score` will ask of each record (none for one that fails
before its call) and hands them to :meth:`Judge.ask_ahead
<halluscope.judges.judge.Judge.ask_ahead>`, which sends them concurrently; it returns what to
forget after the batch (the judge asked: its ``forget_ahead``). The records are then scored one
at a time as before, each call answered from what was asked ahead (:mod:`halluscope.judges.
ahead`): the same items, numbers, cache entries and judge counters as one call at a time, with
up to ``judge_max_connections`` calls in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from halluscope.records import Record


@contextmanager
def judges_asked_ahead(records: list[Any], metrics: list[Any], split: dict | None = None
                       ) -> Iterator[None]:
    """Within the block, the judge questions ``metrics`` will ask of ``records`` (those they
    apply to) were asked ahead; what no record took is dropped at its end. ``split``: the
    claims of the records split ahead (:func:`halluscope.engines.split_claims_ahead`), taken
    while the questions are worked out (not in the block: it may hold a generator's yields)."""
    from halluscope.verification import claims_split_ahead
    asked: list[Any] = []
    try:
        with claims_split_ahead(split) if split is not None else nullcontext():
            for metric, todo in _askers(records, metrics):
                judge = metric.ask_judge_ahead(todo)
                if judge is not None:
                    asked.append(judge)
        yield
    finally:
        for judge in asked:
            judge.forget_ahead()


def parent_askers(metrics: list[Any], covered: list[Any]) -> list[Any]:
    """The metrics of ``metrics`` that the audit's parent updates itself (not in ``covered``,
    those an engine scores: a caller's metric objects, metrics with state across records)
    and that ask a judge ahead."""
    ids = {id(m) for m in covered}
    return [m for m in metrics
            if id(m) not in ids and getattr(m, "ask_judge_ahead", None) is not None]


def asked_in_windows(entries: Iterable[tuple], metrics: list[Any], size: int
                     ) -> Iterator[tuple]:
    """``entries`` (tuples whose first item is a record), handed on in windows of ``size``
    within which the judge questions ``metrics`` will ask of the window's records were asked
    ahead (:func:`judges_asked_ahead`): for the metrics a parent updates itself, whatever
    engine scores the others. What raises while a window is read (a stop, an engine's
    error) comes after the entries read before it, handed on without asking ahead."""
    it = iter(entries)
    while True:
        window: list[tuple] = []
        try:
            for entry in it:
                window.append(entry)
                if len(window) >= size:
                    break
        except BaseException:
            yield from window
            raise
        if not window:
            return
        with judges_asked_ahead([e[0] for e in window], metrics):
            yield from window


def _askers(records: list[Any], metrics: list[Any]) -> list[tuple[Any, list[Record]]]:
    """(metric, the records it asks about) for each metric that asks ahead. Metrics that
    verify alike (one verification per verifier key: ``claims`` and ``faithscore``) ask
    through the first of them that applies to a record, the one whose verifier verifies it
    (:func:`halluscope.engines.score_outcomes`)."""
    out = []
    verified: dict[Any, set[int]] = {}
    for metric in metrics:
        if getattr(metric, "ask_judge_ahead", None) is None:
            continue
        todo = [r for r in records if isinstance(r, Record) and metric.applies_to(r)]
        if getattr(metric, "needs_verification", False):
            seen = verified.setdefault(metric.verifier.key, set())
            todo = [r for r in todo if id(r) not in seen]
            seen.update(map(id, todo))
        if todo:
            out.append((metric, todo))
    return out


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


__all__ = ["asked_in_windows", "asker", "chunk_floor", "judges_asked_ahead", "parent_askers"]
