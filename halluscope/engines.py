"""Engines: where per-record scoring runs (this process, N worker processes, or Ray).

The audit splits every metric's work into a pure part and a fold:

* :meth:`Metric.score` (pure: the record and the metric's fixed resources) runs wherever the
  engine puts it; what it returns for a record is an *outcome* per metric, ``("ok", ItemScore)``,
  ``("skip", reason)`` or ``("error", RecordError)``, all picklable.
* :meth:`Metric.fold` runs in the parent, in input order, so that ``items.jsonl`` and every
  state (sums, tallies, bookkeeping) is built exactly as in one process; the bootstrap weights
  come from each item's identity (:func:`~halluscope.metrics.base.item_key`), so the results do
  not depend on the engine either.

Workers never receive metric objects (detectors and judges are expensive to pickle, and
:mod:`~halluscope.metrics.claims` keeps a process-wide memo): each worker builds its own metrics
from the :class:`~halluscope.config.AuditConfig` once (a process-pool initializer, a Ray actor).
Metrics that keep state across records in ``update`` (consistency, and any metric that overrides
``update`` without overriding ``fold``) and metric *instances* passed by the caller run in the
parent with ``update``.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError, RecordError, UnreadableImage
from halluscope.metrics.base import Metric
from halluscope.records import Record

log = logging.getLogger(__name__)

CHUNK_RECORDS = 32
Outcome = tuple[str, Any]


def runs_in_parent(metric: Metric) -> bool:
    """Whether ``metric`` must be updated in the parent (cross-record state in ``update``)."""
    cls = type(metric)
    if not getattr(cls, "parallel", True):
        return True
    return cls.update is not Metric.update and cls.fold is Metric.fold


def score_outcome(metric: Metric, rec: Record) -> Outcome:
    """One metric's outcome for one record: scored, passed by, or refused (pure)."""
    if not metric.applies_to(rec):
        return ("skip", metric.skip_reason(rec))
    try:
        return ("ok", metric.score(rec))
    except RecordError as exc:
        if isinstance(exc, UnreadableImage) and exc.location.file is None \
                and exc.location.line is None:
            exc = exc.at(rec.source.file, rec.source.line)
        return ("error", exc)


def _verified_outcome(metric: Metric, rec: Record, done: dict) -> Outcome:
    """``metric``'s outcome from the record's verification, done once per verifier key
    (``done`` maps it to the verified record or the error that verifying raised); the first
    metric of a key writes the claims list into the item."""
    if not metric.applies_to(rec):
        return ("skip", metric.skip_reason(rec))
    verifier = metric.verifier
    first = verifier.key not in done
    if first:
        try:
            done[verifier.key] = verifier.verify(rec)
        except RecordError as exc:
            done[verifier.key] = exc
    verified = done[verifier.key]
    try:
        if isinstance(verified, Exception):
            raise verified
        return ("ok", metric.score_verified(verified, emit_claims=first))
    except RecordError as exc:
        if isinstance(exc, UnreadableImage) and exc.location.file is None \
                and exc.location.line is None:
            exc = exc.at(rec.source.file, rec.source.line)
        return ("error", exc)


def score_outcomes(rec: Record, metrics: list[Metric]) -> list[Outcome]:
    """The outcomes of ``metrics`` (the ones that may run anywhere) for one record; metrics
    that need verification share one verification of the record per verifier."""
    done: dict = {}
    return [_verified_outcome(m, rec, done) if m.needs_verification else score_outcome(m, rec)
            for m in metrics]


def default_workers() -> int:
    """The machine's cores (those this process may use)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class LocalEngine:
    """Scores in this process (the default)."""

    name = "local"

    def __init__(self, metrics: list[Metric]):
        self.metrics = metrics
        self.covers = metrics    # the parent's metrics whose outcomes ``run`` yields, in order

    def run(self, stream: Iterable[Any]) -> Iterator[tuple[Any, list[Outcome] | None]]:
        for rec in stream:
            yield rec, (score_outcomes(rec, self.metrics) if isinstance(rec, Record) else None)

    def close(self) -> None:
        pass


# -- process pool ----------------------------------------------------------------------------
_WORKER_METRICS: list[Metric] = []


def build_worker_metrics(names: list[str], config: Any, paths: list[str]) -> list[Metric]:
    """The metrics a worker scores with: built from the config, ``begin`` called on the inputs
    (POPE looks at the answer files for by-order alignment)."""
    from halluscope.metrics.build import build_metrics
    metrics = build_metrics(names, config)
    for metric in metrics:
        metric.begin([Path(p) for p in paths])
    return metrics


def _init_worker(names: list[str], config: Any, paths: list[str]) -> None:
    from multiprocessing import util
    global _WORKER_METRICS
    _WORKER_METRICS = build_worker_metrics(names, config, paths)
    util.Finalize(None, release_metrics, args=(_WORKER_METRICS,), exitpriority=10)


def release_metrics(metrics: list[Metric]) -> None:
    """Let a worker's metrics close what they hold open (documents, models)."""
    for metric in metrics:
        release = getattr(metric, "release", None)
        if release is not None:
            release()


def _score_chunk(records: list[Record]) -> list[list[Outcome]]:
    return [score_outcomes(rec, _WORKER_METRICS) for rec in records]


def chunked(stream: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    chunk: list[Any] = []
    for item in stream:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _ordered(stream: Iterable[Any], submit, window: int
             ) -> Iterator[tuple[Any, list[Outcome] | None]]:
    """Submit chunks of records to ``submit`` (returns something with ``.result()``), keep at
    most ``window`` in flight, and yield ``(record, outcomes)`` in input order."""
    pending: deque = deque()

    def drain_one():
        chunk, future = pending.popleft()
        results = iter(future.result() if future is not None else ())
        for rec in chunk:
            yield rec, (next(results) if isinstance(rec, Record) else None)

    for chunk in chunked(stream, CHUNK_RECORDS):
        good = [r for r in chunk if isinstance(r, Record)]
        pending.append((chunk, submit(good) if good else None))
        while len(pending) > window:
            yield from drain_one()
    while pending:
        yield from drain_one()


class ProcessEngine:
    """Scores in ``workers`` processes, each with its own metrics built from the config."""

    name = "processes"

    def __init__(self, names: list[str], config: Any, paths: list[Path], workers: int,
                 covers: list[Metric]):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        self.workers = workers
        self.covers = covers
        ctx = multiprocessing.get_context("spawn")   # no fork of a process holding threads
        self.pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=(list(names), config, [str(p) for p in paths]))

    def run(self, stream: Iterable[Any]) -> Iterator[tuple[Any, list[Outcome] | None]]:
        return _ordered(stream, lambda chunk: self.pool.submit(_score_chunk, chunk),
                        2 * self.workers)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
