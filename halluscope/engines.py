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

Every engine yields ``(record, outcomes, judges)`` in input order: ``judges`` holds the judge
counters that record's scoring took (:func:`take_judge_stats`: its calls, failures, the model
names the server reported), taken record by record wherever it was scored, so that the parent
folds and journals each record's calls with its outcomes (a resumed audit adds back exactly the
calls of the lines it replays, and counts those it scores again once).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, NamedTuple

from halluscope.errors import ConfigError, RecordError, failed_outcome
from halluscope.forkfiles import close_reopenable, open_files, opened_between
from halluscope.metrics.base import Metric
from halluscope.metrics.judge_ahead import chunk_floor, judges_asked_ahead
from halluscope.records import Record
from halluscope.threadlimits import ThreadLimit, cores, limit_threads

log = logging.getLogger(__name__)

Outcome = tuple[str, Any]
Judges = list  # [(index of the first metric holding a judge, its JudgeStats)]


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
    except Exception as exc:    # a bad record, or a metric's bug said with its record
        return failed_outcome(exc, metric.name, rec)


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
    except Exception as exc:    # a bad record, or a metric's bug said with its record
        return failed_outcome(exc, metric.name, rec)


def score_outcomes(rec: Record, metrics: list[Metric]) -> list[Outcome]:
    """The outcomes of ``metrics`` (the ones that may run anywhere) for one record; metrics
    that need verification share one verification of the record per verifier."""
    done: dict = {}
    return [_verified_outcome(m, rec, done) if m.needs_verification else score_outcome(m, rec)
            for m in metrics]


@contextmanager
def claims_split_together(records: list[Record], metrics: list[Metric]) -> Iterator[None]:
    """Within the block, the claims of ``records`` that ``metrics`` will verify are split
    ahead, all in one parse per verifier (:meth:`~halluscope.verification.Verifier.split_ahead`)
    and taken as each record is verified, and judge questions asked together (:mod:`.metrics.
    judge_ahead`); the outcomes are those of one record at a time."""
    with _taken_ahead(split_claims_ahead(records, metrics)), judges_asked_ahead(records, metrics):
        yield


def split_claims_ahead(records: list[Record], metrics: list[Metric]) -> dict | None:
    """The claims of ``records`` that ``metrics`` will verify, split in one parse per verifier
    (verifier key -> :meth:`~halluscope.verification.Verifier.split_ahead`); ``None`` when no
    metric splits claims by rules."""
    groups: dict = {}
    for metric in metrics:      # verifiers that split claims by rules (not region, page)
        if metric.needs_verification and hasattr(metric.verifier, "split_ahead"):
            groups.setdefault(metric.verifier.key, (metric.verifier, []))[1].append(metric)
    if not groups:
        return None
    return {key: verifier.split_ahead([r for r in records
                                       if any(m.applies_to(r) for m in group)])
            for key, (verifier, group) in groups.items()}


def _taken_ahead(ahead: dict | None):
    """A block within which :meth:`Verifier.split` takes its claims from ``ahead``."""
    if ahead is None:
        return nullcontext()
    from halluscope.verification import claims_split_ahead
    return claims_split_ahead(ahead)


#: Records a local engine scores at a time (their claims split in one parse).
LOCAL_BATCH = 64


def default_workers() -> int:
    """The machine's cores (those this process may use)."""
    return cores()


class LocalEngine:
    """Scores in this process (the default)."""

    name = "local"

    def __init__(self, metrics: list[Metric]):
        self.metrics = metrics
        self.covers = metrics    # the parent's metrics whose outcomes ``run`` yields, in order
        self.also_ask: list[Metric] = []     # the parent's own, asked ahead too: score_stream

    def run(self, stream: Iterable[Any]) -> Iterator[tuple[Any, list[Outcome] | None, Judges]]:
        for chunk in chunked(stream, LOCAL_BATCH):
            ahead = split_claims_ahead([r for r in chunk if isinstance(r, Record)], self.metrics)
            # each record handed on (folded, journaled) as soon as it is scored: a Ctrl-C or an
            # offline cache miss in the chunk loses none before it (all 64 were scored before
            # the first was handed on); its judge counters taken with it (asked ahead or not)
            with judges_asked_ahead(chunk, self.metrics, ahead), \
                    judges_asked_ahead(chunk, self.also_ask):
                for rec in chunk:
                    if not isinstance(rec, Record):
                        yield rec, None, []
                        continue
                    # the judges' counters taken are this record's alone (the caller adds them
                    # back; all calls so far journaled with it were counted again on a resume)
                    totals = take_judge_stats(self.metrics)
                    try:
                        with _taken_ahead(ahead):
                            scored = (rec, score_outcomes(rec, self.metrics),
                                      take_judge_stats(self.metrics))
                    finally:
                        fold_judge_stats(self.metrics, totals)
                    yield scored

    def close(self) -> None:
        pass


# -- process pool ----------------------------------------------------------------------------
_WORKER_METRICS: list[Metric] = []

#: Records in the first chunks a process pool gets, before any record's cost is known.
FIRST_CHUNK_RECORDS = 4
#: Most records in one chunk (bounds the memory of the chunks in flight).
MAX_CHUNK_RECORDS = 256
#: Work aimed at per chunk: long enough that shipping a chunk costs little against it, short
#: enough that the last chunks leave no worker idle for long (load balance at the end).
CHUNK_SECONDS = 0.5

def build_worker_metrics(names: list[str], config: Any, paths: list[str]) -> list[Metric]:
    """The metrics a worker scores with: built from the config, ``begin`` called on the inputs
    (POPE looks at the answer files for by-order alignment)."""
    from halluscope.metrics.build import build_metrics
    metrics = build_metrics(names, config)
    for metric in metrics:
        metric.begin([Path(p) for p in paths])
    return metrics


def _leave_interrupts_to_the_parent(parent: int | None) -> None:
    """Ctrl-C reaches every process of the terminal's group, SIGTERM every process of a group
    that a supervisor stops: a worker lets the parent stop the pool (after the chunks in hand,
    about 0.5 s of work each) instead of printing its own KeyboardInterrupt traceback or dying
    under it (which the parent would take for a record that kills its worker). And it dies
    with the parent (:func:`~halluscope.stopping.die_with_parent`), even one killed with
    SIGKILL, instead of running on for ever."""
    import signal
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):     # (SIGHUP: a closed terminal)
        signal.signal(sig, signal.SIG_IGN)
    if parent is not None:
        from halluscope.stopping import die_with_parent
        die_with_parent(parent)


def _init_worker(names: list[str], config: Any, paths: list[str], threads: int = 0,
                 parent: int | None = None) -> None:
    from multiprocessing import util
    global _WORKER_METRICS
    _leave_interrupts_to_the_parent(parent)
    if threads > 0:
        limit_threads(threads)
    _WORKER_METRICS = build_worker_metrics(names, config, paths)
    util.Finalize(None, release_metrics, args=(_WORKER_METRICS,), exitpriority=10)


def release_metrics(metrics: list[Metric]) -> None:
    """Let a worker's metrics close what they hold open (documents, models)."""
    for metric in metrics:
        release = getattr(metric, "release", None)
        if release is not None:
            release()


class ChunkInfo(NamedTuple):
    """What a worker sends back with a chunk's outcomes (:func:`_score_chunk`): what the
    parent sizes chunks and reports from (:class:`ChunkSizer`), and the judge counters."""

    pid: int
    busy: float         #: seconds spent scoring the chunk
    median: float       #: the median record's seconds
    longest: float      #: the longest record's seconds
    cpu: float          #: the worker's CPU seconds so far
    judges: list[Judges]  #: the judge counters each record took (:func:`take_judge_stats`)


def _score_chunk(records: list[Record]) -> tuple[list[list[Outcome]], ChunkInfo]:
    """The outcomes of a chunk, with its :class:`ChunkInfo`: the parent adds up the judge
    counters record by record."""
    import time
    outcomes, seconds, judges = [], [], []
    t0 = time.perf_counter()
    with claims_split_together(records, _WORKER_METRICS):
        shared = (time.perf_counter() - t0) / max(1, len(records))   # each record's part
        for rec in records:
            t0 = time.perf_counter()
            outcomes.append(score_outcomes(rec, _WORKER_METRICS))
            judges.append(take_judge_stats(_WORKER_METRICS))
            seconds.append(time.perf_counter() - t0 + shared)
    ordered = sorted(seconds)
    return outcomes, ChunkInfo(os.getpid(), sum(seconds), ordered[len(ordered) // 2],
                               ordered[-1], time.process_time(), judges)


#: Why a record is listed as the one that kills its worker: a process died scoring it alone,
#: no other record scored before it in that try (the processes engine: a fresh worker's first
#: record; Ray: the second death, the records before it kept from an earlier try). The same
#: words on both engines, so that their items are the same bytes.
DIED_ALONE = ("the process scoring this record died while scoring it alone, no other record "
              "scored before it in that try (a crash in native code, or the OOM killer); it is "
              "left out and the other records are scored")


def died_on(rec: Record, metrics: list[Metric], why: str = DIED_ALONE) -> list[Outcome]:
    """The outcomes of a record that killed the worker process scoring it, alone: a bad record
    for every metric that would have scored it, ``why`` saying how it was found."""
    err = RecordError(why, file=rec.source.file, line=rec.source.line)
    log.error("%s:%s: %s", rec.source.file, rec.source.line, err.message)
    return [("error", err) if m.applies_to(rec) else ("skip", m.skip_reason(rec))
            for m in metrics]


def take_judge_stats(metrics: list[Metric]) -> list[tuple[int, Any]]:
    """The judge counters (calls, failures, the model names the server reported) gathered
    since the last call, per judge of ``metrics`` (by the index of the first metric holding
    it), and reset: what a worker sends back so that the parent's run sheet counts every call
    and sees a pin mismatch, not only its own."""
    from halluscope.journal import judge_counters
    out = judge_counters(metrics)
    for i, stats in out:
        metrics[i].judge.stats = type(stats)()
    return out


def fold_judge_stats(metrics: list[Metric], taken: list[tuple[int, Any]]) -> None:
    """Add what :func:`take_judge_stats` took elsewhere to the judges of ``metrics``."""
    for i, stats in taken:
        judge = getattr(metrics[i], "judge", None) if i < len(metrics) else None
        if judge is not None and hasattr(getattr(judge, "stats", None), "merge"):
            judge.stats.merge(stats)


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


class ChunkSizer:
    """Sizes the chunks of a process pool from what records cost: ``FIRST_CHUNK_RECORDS`` at
    first, then about ``CHUNK_SECONDS`` of work, judged by the median record of the last chunk
    (a worker's first record carries its start-up: imports, models). Keeps per-worker tallies
    (:attr:`workers`: pid -> records, scoring seconds, longest record, CPU seconds)."""

    def __init__(self, first: int = FIRST_CHUNK_RECORDS, most: int = MAX_CHUNK_RECORDS,
                 seconds: float = CHUNK_SECONDS, least: int = 1):
        self.size, self.least = max(first, least), least    # least: the judge's connections
        self.most = most
        self.seconds = seconds
        self.sizes: list[int] = []
        self.workers: dict[int, list[float]] = {}

    def observe(self, n: int, info: ChunkInfo) -> None:
        tally = self.workers.setdefault(info.pid, [0, 0.0, 0.0, 0.0])
        tally[0] += n
        tally[1] += info.busy
        tally[2] = max(tally[2], info.longest)
        tally[3] = info.cpu
        self.size = max(self.least, min(self.most, int(self.seconds / max(info.median, 1e-6))))

    def summary(self) -> str:
        """One line per worker for the log: records, seconds scoring, slowest record, CPU."""
        parts = [f"worker {pid}: {int(n)} records, {busy:.1f} s scoring (slowest record "
                 f"{longest:.1f} s), {cpu:.1f} s CPU"
                 for pid, (n, busy, longest, cpu) in sorted(self.workers.items())]
        sizes = f"{min(self.sizes)}-{max(self.sizes)}" if self.sizes else "-"
        return f"{len(self.sizes)} chunks of {sizes} records; " + "; ".join(parts)


def _ordered(stream: Iterable[Any], submit, window: int, sizer: ChunkSizer,
             rescue=None, stop=None) -> Iterator[tuple[Any, list[Outcome] | None, Judges]]:
    """Submit chunks of records to ``submit`` (returns something with ``.result()``: the pair
    :func:`_score_chunk` returns), keep at most ``window`` in flight, and yield ``(record,
    outcomes, judges)`` in input order. When a chunk's worker died (``BrokenProcessPool``),
    ``rescue(records, future)`` gives the chunk's outcomes and judge counters instead. A first
    signal that ``stop`` (:class:`~halluscope.stopping.InFlight`) notes ends it after the chunks
    in flight that finish within its grace (:func:`~halluscope.stopping.in_grace`)."""
    from concurrent.futures.process import BrokenProcessPool
    from itertools import islice
    from halluscope.stopping import Interrupted, in_grace
    pending: deque = deque()

    def drain_one(grace: bool = False):
        if stop is not None and stop.noted is not None and not grace:
            raise Interrupted       # (noted after the last wait: at this chunk boundary)
        chunk, good, future = pending[0]
        results: Any = ()
        judges: Any = ()
        if future is not None:
            try:
                results, info = stop.result(future) if stop is not None else future.result()
            except BrokenProcessPool:
                if rescue is None:
                    raise
                results, judges = rescue([r for r in chunk if isinstance(r, Record)], future)
            else:
                sizer.observe(good, info)
                judges = info.judges
        pending.popleft()
        results, judges = iter(results), iter(judges)
        for rec in chunk:
            if isinstance(rec, Record):
                yield rec, next(results), next(judges)
            else:
                yield rec, None, []

    it = iter(stream)
    try:
        while True:
            chunk = list(islice(it, sizer.size))
            if not chunk:
                break
            good = [r for r in chunk if isinstance(r, Record)]
            sizer.sizes.append(len(chunk))
            pending.append((chunk, len(good), submit(good) if good else None))
            while len(pending) > window:
                yield from drain_one()
        while pending:
            yield from drain_one()
    except Interrupted:
        yield from in_grace(pending, stop, drain_one)
    if stop is not None:
        stop.raise_noted()      # noted during the last wait


def fork_is_safe() -> bool:
    """Whether worker processes may be forked from this one: on Linux, and only while this
    process runs no other thread (a fork copies locks that another thread may hold)."""
    import sys
    import threading
    return sys.platform.startswith("linux") and threading.active_count() == 1


def _init_forked_worker(threads: int, parent: int | None = None) -> None:
    from multiprocessing import util
    _leave_interrupts_to_the_parent(parent)
    limit_threads(threads)
    util.Finalize(None, release_metrics, args=(_WORKER_METRICS,), exitpriority=10)


class ProcessEngine:
    """Scores in ``workers`` processes, each with its own metrics built from the config.

    Where forking is safe (:func:`fork_is_safe`), this process builds the workers' metrics
    once and scores the first record with them (which imports spaCy and loads the models,
    WordNet, the detector, ...), then forks the workers, which inherit everything loaded:
    the start-up is paid once instead of once per worker. Elsewhere the workers are spawned
    and each builds its metrics from the config (a pool initializer)."""

    name = "processes"

    def __init__(self, names: list[str], config: Any, paths: list[Path], workers: int,
                 covers: list[Metric]):
        self.workers = workers
        self.covers = covers
        self.sizer = ChunkSizer(least=chunk_floor(config))   # a chunk's judge calls overlap
        self.threads = max(1, default_workers() // workers)
        self.spec = (list(names), config, [str(p) for p in paths])
        self.pool: Any = None
        self.method = "fork" if fork_is_safe() else "spawn"
        self.warm_seconds = 0.0
        self.restarts = 0                      # pools started again after a worker died
        self._rescuer: Any = None              # the rescue's pool of one worker
        self._rescued: Record | None = None    # the last record its worker scored

    def _start(self, forked: bool) -> None:
        self.pool = self._new_pool(self.workers, forked)

    def _new_pool(self, workers: int, forked: bool) -> Any:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        if forked:
            return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                       initializer=_init_forked_worker,
                                       initargs=(self.threads, os.getpid()))
        # no fork of a process with threads
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker,
                                   initargs=(*self.spec, self.threads, os.getpid()))

    def _forks(self) -> bool:
        """Whether a new pool may be forked (the metrics warmed here, no thread running)."""
        return self.method == "fork" and bool(_WORKER_METRICS) and fork_is_safe()

    @staticmethod
    def _fork_or_spawn(before: dict | None, after: dict | None) -> str:
        """Fork only if warming left no thread running and no file or socket open that the
        workers would share with this process (a judge's connections, a document)."""
        if not fork_is_safe():
            log.info("processes engine: warming started a thread; spawning the workers")
            return "spawn"
        new = opened_between(before, after)
        if new is None:
            return "spawn"
        if new:
            log.info("processes engine: warming left %s open; spawning the workers",
                     ", ".join(sorted(set(new.values()))))
            return "spawn"
        return "fork"

    def run(self, stream: Iterable[Any]) -> Iterator[tuple[Any, list[Outcome] | None, Judges]]:
        it = iter(stream)
        if self.method == "fork":
            global _WORKER_METRICS
            for item in it:      # up to the first record: scored here, warming the metrics
                if not isinstance(item, Record):
                    yield item, None, []
                    continue
                import time
                t0 = time.perf_counter()
                before = open_files()
                with ThreadLimit(self.threads):
                    _WORKER_METRICS = build_worker_metrics(*self.spec)
                    first = score_outcomes(item, _WORKER_METRICS)
                    judges = take_judge_stats(_WORKER_METRICS)  # none left for the forks
                close_reopenable()
                self.warm_seconds = time.perf_counter() - t0
                self.method = self._fork_or_spawn(before, open_files())
                self._start(self.method == "fork")
                yield item, first, judges
                break
        elif self.pool is None:
            self._start(False)
        if self.pool is not None:
            from halluscope.stopping import InFlight
            with InFlight() as stop:    # a Ctrl-C journals the chunks in flight first
                yield from _ordered(it, self._submit, 2 * self.workers, self.sizer,
                                    rescue=self._rescue, stop=stop)

    def report(self) -> dict[str, Any]:
        """What the run sheet says about the pool: how it started its workers, and how many
        times a dead worker's pool was started again."""
        return {"start": self.method, "restarts_after_a_worker_died": self.restarts}

    def _submit(self, records: list[Record]) -> Any:
        from concurrent.futures import Future, process
        try:
            future = self.pool.submit(_score_chunk, records)
        except process.BrokenProcessPool as exc:  # a worker died since the last chunk went
            future = Future()                     # out: rescued like the chunks in flight
            future.set_exception(exc)
        return future

    def _rescue(self, records: list[Record], future: Any) -> tuple[list, list[Judges]]:
        """The outcomes (and judge counters) of a chunk whose worker died: its records scored
        again one at a time in a pool of one worker where nothing else runs, so that the record
        that kills its worker (a crash in native code, the OOM killer) is found and listed as a
        bad record, and the others are scored as ever. The main pool is let finish what it
        holds first: a chunk still running there could break a shared pool and get an innocent
        record blamed. Then a fresh main pool (forked again only where it is still safe)."""
        if getattr(self.pool, "_broken", False):
            # workers ignore SIGTERM (a group's SIGTERM is the parent's to handle), so the
            # executor's terminate() of a broken pool's survivors may not end one stuck on a
            # queue lock the dead worker held: kill them, or the join below could wait forever
            for proc in list((getattr(self.pool, "_processes", None) or {}).values()):
                proc.kill()
        self.pool.shutdown(wait=True)      # what it still runs ends, its results kept
        where = [f"{r.source.file}:{r.source.line}" for r in (records[0], records[-1])]
        log.warning("a worker process died with %d records (%s to %s) in flight; scoring them "
                    "one at a time to find the record it died on", len(records), *where)
        out, judges, died = [], [], 0
        self._rescuer, self._rescued = None, None    # the pool, the last record it scored
        try:
            for rec in records:
                scored = self._alone(rec)
                if scored is None:
                    died += 1
                    if died >= 3 and died * 2 > len(out) + 1:
                        # most records kill their worker: no record's fault (a worker that
                        # cannot start, memory too small for any record); stop, not list all
                        from concurrent.futures.process import BrokenProcessPool
                        raise BrokenProcessPool(f"worker processes keep dying ({died} of the "
                                                f"{len(out) + 1} records scored one at a "
                                                f"time): not one record's fault")
                    scored = (died_on(rec, self.covers), [])
                out.append(scored[0])
                judges.append(scored[1])
        finally:
            if self._rescuer is not None:
                self._rescuer.shutdown(wait=True)
        self.restarts += 1
        self._start(self._forks())
        return out, judges

    def _alone(self, rec: Record) -> tuple[list[Outcome], Judges] | None:
        """``rec``'s outcomes and judge counters from the rescue pool, or ``None`` when it
        kills its worker. A worker that dies on a record after scoring others may have been
        killed by one of those (a death that lands late: a thread's crash, the OOM killer's
        choice), so the record is tried again alone in a fresh worker before it is named: it
        is named only when a worker that had scored nothing before it died on it."""
        from concurrent.futures.process import BrokenProcessPool
        retried = False
        while True:
            after = self._rescued          # what this pool's worker scored before, if any
            self._rescuer = self._rescuer or self._new_pool(1, self._forks())
            try:
                outcomes, info = self._rescuer.submit(_score_chunk, [rec]).result()
            except BrokenProcessPool:
                self._rescuer.shutdown(wait=True)
                self._rescuer, self._rescued = None, None
                self.restarts += 1
                if after is None:          # a fresh worker died on it: its own doing
                    return None
                log.warning("a worker process died on %s:%s after it had scored %s:%s; "
                            "trying %s:%s alone in a fresh process before naming it",
                            rec.source.file, rec.source.line, after.source.file,
                            after.source.line, rec.source.file, rec.source.line)
                retried = True
                continue
            if retried:
                log.warning("%s:%s, scored alone in a fresh process, did not kill it: the death "
                            "was not its doing, and no record is named for it",
                            rec.source.file, rec.source.line)
            self._rescued = rec
            return outcomes[0], info.judges[0]

    def close(self) -> None:
        global _WORKER_METRICS
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if _WORKER_METRICS:      # warmed here before forking
            release_metrics(_WORKER_METRICS)
            _WORKER_METRICS = []
        if self.sizer.sizes:
            log.info("processes engine, %d workers (%s; first record and model loading in "
                     "the parent %.1f s): %s", self.workers, self.method, self.warm_seconds,
                     self.sizer.summary())
