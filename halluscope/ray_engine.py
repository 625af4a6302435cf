"""``--engine ray``: per-record scoring on Ray Data, folded in the parent in input order.

What runs where:

* the driver (this process) reads the inputs with halluscope's own readers (so bad lines keep
  their file and line) and puts them into Ray's object store in blocks of ``{"i": position,
  "entry": pickled record or bad line}`` rows (:meth:`RayEngine.block_size`); the driver keeps
  only the blocks' references, so its memory does not grow with the input (the object store
  spills to disk when it fills);
* one Ray dataset over all the blocks runs :class:`RecordScorer` in ``map_batches``, an actor
  pool of ``workers`` actors for the whole run: each actor builds the metrics from the
  :class:`~halluscope.config.AuditConfig` once (models such as detectors, segmenters and local
  judges are loaded once per actor, on a GPU when ``options.ray_num_gpus`` asks for one) and
  returns each entry with its pickled outcomes (bad lines pass through unscored);
* the driver takes the rows back in input order and folds them into the metrics
  (:mod:`halluscope.engines`), so ``items.jsonl`` and ``results.json`` are the ones a single
  process writes.

Shipped to workers: the config (small, paths included: the inputs, annotations and cache folder
must be readable at the same paths on every node, e.g. on shared storage), the records and the
driver's folder, which each actor works in, so that relative paths name the driver's files.
Ray is imported only here, when ``--engine ray`` asks for it.
"""

from __future__ import annotations

import logging
import pickle
import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from halluscope._ray import (ClusterLost, ClusterWatch,  # noqa: F401 - also importable
                             DriverWatch, driver_folder, enter_driver_folder, import_ray,
                             start_ray, stop_ray, this_driver)
from halluscope.engines import (build_worker_metrics, chunked, claims_split_together,
                                default_workers, died_on, score_outcomes, take_judge_stats)
from halluscope.errors import ConfigError, RecordError
from halluscope.metrics.base import Metric
from halluscope.records import Record
from halluscope.stopping import GRACE_SECONDS, InFlight, Interrupted

log = logging.getLogger(__name__)

#: Most entries in a batch an actor scores.
BATCH = 32
#: Entries per block in the object store: about :data:`BLOCKS_PER_ACTOR` blocks per actor,
#: within [MIN_BLOCK, MAX_BLOCK]. Ray Data costs some milliseconds per block, so blocks grow
#: with the input; small blocks spread a small run of heavy records evenly over the actors (an
#: actor's last block is the others' idle time).
MIN_BLOCK = 4
MAX_BLOCK = 2048
BLOCKS_PER_ACTOR = 16
# A dead actor's batch is tried again (Ray Data's default: for ever, which hung an audit whose
# record killed every actor it met). The :class:`BatchTracker` counts the tries that began
# scoring: the first retry scores the batch one record at a time, each noted with the tracker
# before it is scored and kept there once scored, so that the next death names its record and
# a later try scores only the records not kept (a death that lands late, after the record that
# caused it was kept, cannot land on the same innocent record again: it is tried first); once
# actors died :data:`DEATHS_TO_BLAME` times on a record, a later try lists it as a bad record
# (:func:`~halluscope.engines.died_on`) and scores the others. A batch
# whose records mostly kill their actor (as the processes engine judges it: no record's fault,
# an actor that cannot work) ends the run as an internal error (exit 3), with the journal kept
# for ``--resume``.

#: Deaths while scoring a record (one run of its batch each) before it is listed as the record
#: that kills its actor: two, so that a run of the batch that is still going on elsewhere
#: cannot get an innocent record blamed (see :meth:`RecordScorer._carefully`).
DEATHS_TO_BLAME = 2
#: Actors that died while they started (loading their models), beyond the pool's size, before
#: the run fails: a dead actor is restarted (its models loaded again) as often as records kill
#: it, but not for ever when it cannot start.
START_DEATHS = 3
_PICKLE = pickle.HIGHEST_PROTOCOL
# pickle.loads here only reads bytes this audit pickled (object store, tracker), never a file


def _gpus_per_actor(options: dict) -> float:
    """``options.ray_num_gpus`` as a number of GPUs (0: none); a usage error if it is not."""
    value = options.get("ray_num_gpus", 0) or 0
    try:
        gpus = float(value)
    except (TypeError, ValueError):
        gpus = -1.0
    if not gpus >= 0:
        raise ConfigError(f"expected option ray_num_gpus as a number of GPUs per Ray actor "
                          f"(0, 0.5, 1, ...), got {value!r}")
    return gpus


class ActorsKeepDying(RuntimeError):
    """Ray actors died on most of a batch's records, or while they started: no record's fault
    (too little memory, a crash loading the models); an internal error (exit 3)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __reduce__(self):
        return type(self), (self.reason,)


def _keeps_dying(exc: BaseException | None, depth: int = 0) -> ActorsKeepDying | None:
    """The :class:`ActorsKeepDying` that Ray wrapped in ``exc`` (an actor's error, or its
    constructor's), if any."""
    if exc is None or depth > 5:
        return None
    if isinstance(exc, ActorsKeepDying):
        return exc
    for attr in ("cause", "__cause__", "__context__"):
        found = _keeps_dying(getattr(exc, attr, None), depth + 1)
        if found is not None:
            return found
    # an actor's constructor error arrives as text only (ActorDiedError.error_msg)
    import re
    said = re.search(r"ActorsKeepDying: ([^\n]+)", str(exc))
    return ActorsKeepDying(said.group(1).strip()) if said else None


def _usage_error(exc: BaseException) -> ConfigError | None:
    """The usage error an actor's constructor raised (a file its node cannot read, an option
    its metric refuses), which Ray hands on as text only (``ActorDiedError``): it reached the
    user as an internal error (exit 3) wrapped in Ray's message, where one process says it
    as a usage error (exit 2)."""
    import re
    said = re.search(r"halluscope\.errors\.(?:ConfigError|InputError): ([^\n]+)", str(exc))
    return ConfigError(f"{said.group(1).strip()} (on a Ray actor, while it built its "
                       f"metrics)") if said else None


def _where(entry: Any) -> str:
    return str(entry.location) if isinstance(entry, RecordError) else \
        f"{entry.source.file}:{entry.source.line}"


class BatchTracker:
    """A small Ray actor beside the pool: which batches an actor began (a batch begun twice was
    being scored when its actor died), which records of such a batch were started and not
    finished when it is scored again one record at a time (the one an actor died on), and how
    many actors began to start and never finished; and, so that a stopping audit journals them
    (:meth:`RayEngine._salvage`), the outcomes of the batches scored and not yet handed on in
    input order (Ray Data holds them back until the batches before them are done), and which
    batches are being scored."""

    def __init__(self) -> None:
        self.begun: dict[int, int] = {}
        self.unfinished: dict[int, int] = {}
        self.kept: dict[int, bytes] = {}       # what a careful try scored, by entry
        self.starts = self.started = 0
        self.scored: dict[int, dict] = {}      # by batch: its positions, outcomes, judges, actor
        self.running: set[int] = set()         # batches begun and not yet scored
        self.upto = 0                          # entries the driver handed on
        self.stopping = False

    def starting(self) -> int:
        """Actors that began to start before this one and never finished (died, or still
        starting beside it)."""
        self.starts += 1
        return self.starts - 1 - self.started

    def ready(self) -> None:
        self.started += 1

    def begin(self, key: int) -> int | None:
        """How many times the batch ``key`` was begun before (0: its first try); ``None`` once
        the audit stops (:meth:`stop`), for a batch after every one scored or being scored:
        then it is not scored (one before such a batch is, so that the batches after it can be
        journaled, the journal holding the entries in input order)."""
        if self.stopping and key > max((*self.running, *self.scored), default=-1):
            return None
        self.running.add(key)
        before = self.begun.get(key, 0)
        self.begun[key] = before + 1
        return before

    def done(self, key: int, batch: dict) -> None:
        """The batch ``key`` was scored: ``batch`` holds its positions (``i``) and their pickled
        outcomes, judge counters and actor, kept until the driver has handed them on."""
        self.running.discard(key)
        if batch["i"] and batch["i"][-1] >= self.upto:
            self.scored[key] = batch

    def handed(self, upto: int) -> None:
        """The driver has handed on the entries before ``upto``: their batches are let go."""
        self.upto = max(self.upto, upto)
        for key in [k for k, batch in self.scored.items() if batch["i"][-1] < self.upto]:
            del self.scored[key]

    def stop(self) -> None:
        """The audit stops: no batch after those scored or being scored is begun any more."""
        self.stopping = True

    def pending(self, upto: int) -> bool:
        """Whether batches are being scored, or a batch not yet begun lies between ``upto``
        and a batch scored (which cannot be journaled before it is)."""
        if self.running:
            return True
        have = {i for batch in self.scored.values() for i in batch["i"] if i >= upto}
        return bool(have) and len(have) != max(have) - upto + 1

    def left(self, upto: int) -> list[dict]:
        """The scored batches that hold entries from ``upto`` on."""
        self.handed(upto)
        return list(self.scored.values())

    def start(self, i: int) -> tuple[int, bytes | None]:
        """How many times entry ``i`` was started before and never finished, and what a try
        that finished it kept (its pickled outcomes and judge counters), if one did."""
        if i in self.kept:
            return 0, self.kept[i]
        before = self.unfinished.get(i, 0)
        self.unfinished[i] = before + 1
        return before, None

    def finish(self, i: int, scored: bytes) -> None:
        self.unfinished.pop(i, None)
        self.kept[i] = scored

    def retried(self) -> int:
        """Batches tried again after an actor died on them."""
        return sum(1 for n in self.begun.values() if n > 1)


class RecordScorer:
    """A Ray Data actor: builds the metrics once, then scores batches of pickled entries (one
    record at a time, noted with the tracker, when the batch killed an actor before)."""

    def __init__(self, names: list[str], config: Any, paths: list[str], tracker: Any,
                 actors: int, driver: tuple[str, int] | None = None,
                 folder: str | None = None):
        import ray
        enter_driver_folder(folder)     # relative paths name the driver's files
        self.tracker = tracker
        self.driver = DriverWatch(driver)
        died = self._get(tracker.starting.remote()) - (actors - 1)
        if died >= START_DEATHS:
            raise ActorsKeepDying(f"Ray actors keep dying while they start ({died} so far: too "
                                  f"little memory for the models, a crash loading them)")
        self.metrics = build_worker_metrics(names, config, paths)
        self.actor = ray.get_runtime_context().get_actor_id() or ""
        tracker.ready.remote()

    def __call__(self, batch):
        entries = [pickle.loads(e) for e in batch["entry"]]
        positions = [int(i) for i in batch["i"]]
        tries = self._get(self.tracker.begin.remote(positions[0]))
        if tries is None:       # the audit stops: nothing more is scored
            return {key: [] for key in ("i", "entry", "outcomes", "actor", "judges")}
        if tries:
            scored = self._carefully(positions, entries, tries)
        else:
            with claims_split_together([e for e in entries if isinstance(e, Record)],
                                       self.metrics):
                scored = [self._score(e) if isinstance(e, Record) else (None, [])
                          for e in entries]
        # each record's judge calls travel with its row, to be counted by the driver with it
        out = {"i": positions, "outcomes": [pickle.dumps(o, protocol=_PICKLE) for o, _ in scored],
               "actor": [self.actor] * len(entries),
               "judges": [pickle.dumps(j, protocol=_PICKLE) for _, j in scored]}
        # a copy for the tracker, until the driver has it in order: journaled if the audit stops
        self.tracker.done.remote(positions[0], out)
        return {**out, "entry": list(batch["entry"])}

    def _carefully(self, positions: list[int], entries: list[Any], tries: int) -> list[Any]:
        """The outcomes and judge counters of a batch that killed an actor, one entry at a
        time: each record noted as started before it is scored and as finished after, with
        what it scored kept by the tracker (both awaited), so that a later try takes it from
        there instead of scoring it again; a bad record (:func:`~halluscope.engines.died_on`)
        once actors died :data:`DEATHS_TO_BLAME` times while scoring it: Ray may run a batch
        again while a first run still goes on (a task "may or may not have been executed"),
        and one unfinished start then blamed the record the other run was scoring. A death
        that lands late (after the record that caused it was kept) falls on the next record
        once; the try after scores that one first, and it is not named. When most records
        died (three at least), or the batch was begun more often than its records can
        explain, it is no record's fault."""
        outcomes, dead = [], 0
        for k, (i, entry) in enumerate(zip(positions, entries)):
            if not isinstance(entry, Record):
                outcomes.append((None, []))
                continue
            deaths, kept = self._get(self.tracker.start.remote(i))
            if kept is not None:
                outcomes.append(pickle.loads(kept))
            elif deaths >= DEATHS_TO_BLAME:
                dead += 1
                if dead >= 3 and dead * 2 > k + 1 or \
                        tries > DEATHS_TO_BLAME * (len(entries) + 2):
                    raise ActorsKeepDying(
                        f"the Ray actors scoring the records {_where(entries[0])} to "
                        f"{_where(entries[-1])} died {tries} times, on {dead} of the first "
                        f"{k + 1}: not one record's fault")
                outcomes.append((died_on(entry, self.metrics), []))
            else:
                scored = self._score(entry)
                self._get(self.tracker.finish.remote(i, pickle.dumps(scored, protocol=_PICKLE)))
                outcomes.append(scored)
        return outcomes

    def _score(self, record: Record) -> tuple[Any, Any]:
        """The outcomes and judge counters of ``record``; first this actor ends if the driver
        is gone (:class:`~halluscope._ray.DriverWatch`: a driver killed with SIGKILL left its
        actors scoring, judge requests included, about 2 s more, 67-79 records of 0.05 s)."""
        if self.driver.gone():
            import os
            log.warning("the driver (process %d) is gone: this Ray actor ends", self.driver.pid)
            os._exit(1)
        return score_outcomes(record, self.metrics), take_judge_stats(self.metrics)

    @staticmethod
    def _get(ref: Any) -> Any:
        import ray
        return ray.get(ref)


def _let_finish(before: set[threading.Thread], seconds: float = GRACE_SECONDS) -> None:
    """Wait (up to ``seconds`` in all) for the threads started since ``before`` (Ray Data's,
    fetching rows) to end, but the audit's own: one that still calls Ray once the audit shuts
    Ray down ends the process (exit 1, the code of a crossed gate, the journal not closed)."""
    import time
    until = time.monotonic() + seconds
    for thread in set(threading.enumerate()) - before:
        if not thread.name.startswith("halluscope-"):
            thread.join(max(0.0, until - time.monotonic()))


class RayEngine:
    """Scores records on Ray Data (a local instance, or the cluster at ``address``)."""

    name = "ray"

    def __init__(self, names: list[str], config: Any, paths: list[Path], *,
                 workers: int | None, address: str | None, covers: list[Metric]):
        ray = import_ray()
        self.ray = ray
        self.covers = covers
        self.names = list(names)
        self.config = config
        self.paths = [str(p) for p in paths]
        self._owns = not ray.is_initialized()
        ctx = ray.data.DataContext.get_current()
        self._ctx = (ctx, ctx.enable_progress_bars, ctx.execution_options.preserve_order,
                     ctx.raise_original_map_exception)
        ctx.enable_progress_bars = False
        ctx.execution_options.preserve_order = True     # bounds the rows held back below
        # an error raised while scoring reaches the CLI as itself (a ConfigError is a usage
        # error, a bug names its type and message), not as Ray's UserCodeException
        ctx.raise_original_map_exception = True
        self.actors: set[str] = set()     # the actors that scored (one model load each)
        self.blocks = 0
        self.tracker: Any = None
        self.handed = 0                   # entries handed on in order
        self._drained = False             # (_drain) once, by the drain thread or the caller
        self._refs: list[Any] = []        # the entries' object-store blocks, of _size each
        self._size = 1
        self.num_gpus = _gpus_per_actor(config.options or {})
        self.watch: Any = None
        try:
            if self._owns:
                start_ray(ray, address)
            self.watch = ClusterWatch(ray)      # (Ray ends a driver that lost it with exit 1)
            self.workers = self._actors_wanted(workers, address)
        except BaseException:
            self.close()        # the caller's Ray Data settings back, our Ray instance down
            raise

    def _actors_wanted(self, workers: int | None, address: str | None) -> int:
        """``workers``, or one actor per CPU of the cluster (this machine's cores on a local
        instance), and no more than its GPUs hold when actors ask for GPUs; a usage error when
        not one such actor fits (Ray Data would wait for it forever)."""
        resources = self.ray.cluster_resources()
        cpus = int(resources.get("CPU", 1))
        wanted = workers or max(1, min(cpus, default_workers() if address is None else cpus))
        if self.num_gpus:
            gpus = float(resources.get("GPU", 0))
            if gpus < self.num_gpus:
                from halluscope.redact import redact_text
                address = redact_text(address) if address else address     # no credentials
                raise ConfigError(
                    f"--option ray_num_gpus={self.num_gpus:g} asks {self.num_gpus:g} GPU(s) per "
                    f"Ray actor, but the Ray cluster ({address or 'a local instance'}) has "
                    f"{gpus:g}; drop the option to score on CPUs")
            if not workers:
                wanted = min(wanted, int(gpus // self.num_gpus))
        return wanted

    def block_size(self) -> int:
        """Entries per object-store block: about :data:`BLOCKS_PER_ACTOR` blocks per actor for
        the records the input files hold (counted ahead), within [MIN_BLOCK, MAX_BLOCK]."""
        from halluscope.readers import count_input_records
        fmt = getattr(self.config, "input_format", None)
        expected = sum(count_input_records(Path(p), fmt) for p in self.paths)
        size = -(-expected // (self.workers * BLOCKS_PER_ACTOR))
        return max(MIN_BLOCK, min(MAX_BLOCK, size))

    def _put(self, stream: Iterable[Any], size: int) -> tuple[list[Any], int]:
        """The entries of ``stream`` as object-store blocks of ``size``; their references and
        count."""
        import pyarrow
        refs, n = [], 0
        for block in chunked(stream, size):
            table = pyarrow.table({
                "i": pyarrow.array(range(n, n + len(block)), pyarrow.int64()),
                "entry": pyarrow.array([pickle.dumps(e, protocol=_PICKLE) for e in block],
                                       pyarrow.binary())})
            refs.append(self.ray.put(table))
            n += len(block)
        return refs, n

    def run(self, stream: Iterable[Any]) -> Iterator[tuple[Any, Any, Any]]:
        size = self.block_size()
        refs, n = self._put(stream, size)
        self.blocks = len(refs)
        if not refs:
            return
        actors = min(self.workers, len(refs))
        log.info("ray: %d entries in %d blocks, %d actors", n, len(refs), actors)
        ds = self.ray.data.from_arrow_refs(refs)
        self.tracker = self.ray.remote(num_cpus=0)(BatchTracker).remote()
        with warnings.catch_warnings():
            # Ray 2.60 deprecates remote args such as max_restarts in map_batches without a
            # named replacement; the locked Ray takes them (tests/test_ray_engine.py fails if not)
            warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
            # a batch no larger than a block: Ray Data would join small blocks into one batch
            ds = ds.map_batches(RecordScorer, batch_size=min(BATCH, size), batch_format="pandas",
                                fn_constructor_args=(self.names, self.config, self.paths,
                                                     self.tracker, actors,
                                                     this_driver(self.ray), driver_folder()),
                                compute=self.ray.data.ActorPoolStrategy(size=actors),
                                num_cpus=1, num_gpus=self.num_gpus or None,
                                max_restarts=-1, max_task_retries=-1)
        self._refs, self._size = refs, size
        try:
            with InFlight("the batches the Ray actors scored", drain=self._drain) as stop, \
                    self.watch:
                yield from self._in_order(ds.iter_rows(), n, stop)
        except (KeyboardInterrupt, Interrupted):
            if self.watch.lost:     # (its interruption, once what was scored is journaled)
                raise ClusterLost(self.watch.lost) from None
            raise
        except self.ray.exceptions.RayError as exc:
            if self.watch.lost:
                raise ClusterLost(self.watch.lost) from None
            dying = _keeps_dying(exc)
            if dying is not None:       # as itself, without what Ray Data appends to errors
                raise ActorsKeepDying(dying.reason) from None
            usage = _usage_error(exc) if isinstance(exc, self.ray.exceptions.ActorDiedError) \
                else None
            if usage is not None:
                raise usage from None
            cause = getattr(exc, "cause", None)    # what the actor raised, as the actor raised it
            if isinstance(exc, self.ray.exceptions.RayTaskError) and isinstance(
                    cause, Exception) and not isinstance(cause, self.ray.exceptions.RayError):
                raise cause from exc
            raise

    def _in_order(self, rows: Iterable[dict], n: int,
                  stop: InFlight) -> Iterator[tuple[Any, Any, Any]]:
        """``(entry, outcomes, judges)`` in input order from ``rows`` (in order already when
        Ray keeps it; held back here only when a row comes early). A first Ctrl-C or SIGTERM
        is noted by ``stop`` and taken at the next row, Ray going on meanwhile (raised inside
        Ray, its executor would cancel the batches being scored): it ends the rows after the
        batches already scored and those that finish within the grace (:meth:`_salvage`)."""
        early: dict[int, dict] = {}
        self.handed = 0
        # held here until the end: dropped when a signal ends the loop, it shut Ray Data down,
        # which cancelled the batches being scored before the grace could journal them
        it = iter(rows)
        threads = set(threading.enumerate())
        row: dict | None = {}
        stop.waiting = True
        try:
            while True:
                stop.blocked = True     # (a noted signal is sent again to end the wait)
                if stop.noted is not None:
                    raise Interrupted
                row = next(it, None)
                stop.blocked = False
                if row is None:
                    break
                early[int(row["i"])] = row
                while self.handed in early:
                    yield from self._hand_on(early.pop(self.handed), stop)
        except (KeyboardInterrupt, Interrupted):
            if stop.noted is None:      # (raised at once: the handler was not ours)
                stop.announce()
            yield from self._salvage(early, stop.settle())
            stop.raise_noted()
            raise
        finally:
            stop.waiting = stop.blocked = False
            getattr(it, "close", lambda: None)()    # Ray Data shut down now, not after Ray
            if row is not None:         # stopped early: Ray Data's threads end first
                _let_finish(threads)
        stop.raise_noted()      # noted while the last rows were folded
        if self.handed != n:
            raise RuntimeError(f"Ray returned {self.handed} of {n} entries in order "
                               f"({len(early)} held back)")

    def _hand_on(self, row: dict, stop: InFlight) -> Iterator[tuple[Any, Any, Any]]:
        """One row, as ``(entry, outcomes, judges)``; a signal noted while the caller folds and
        journals it is taken after it (:class:`Interrupted`)."""
        self.actors.add(row["actor"])
        yield (pickle.loads(row["entry"]), pickle.loads(row["outcomes"]),
               pickle.loads(row["judges"]))
        self.handed += 1
        if self.handed % BATCH == 0:
            self.tracker.handed.remote(self.handed)     # the tracker lets their batches go
        if stop.noted is not None:
            raise Interrupted

    def _salvage(self, early: dict[int, dict], grace: float) -> Iterator[tuple[Any, Any, Any]]:
        """After a first signal: no batch is begun any more, and the batches that the actors
        scored (held back by Ray Data until those before them are done, or here in ``early``)
        and those that finish within :data:`~halluscope.stopping.GRACE_SECONDS` are handed on
        in input order, up to the first entry not scored, so that they are journaled (the
        ``--workers`` engine's grace: :func:`~halluscope.stopping.in_grace`); ``grace``: its
        seconds left."""
        for entry, outcomes, judges, actor in self._scored_since(early, grace):
            self.actors.add(actor)
            yield entry, outcomes, judges
            self.handed += 1

    def _scored_since(self, early: dict[int, dict],
                      grace: float) -> list[tuple[Any, Any, Any, str]]:
        """The scored entries from :attr:`handed` on, in order up to the first not scored,
        once every batch being scored is done or the grace is over (none when the tracker
        cannot be reached)."""
        ray = self.ray
        rows = {i: (row["outcomes"], row["judges"], row["actor"]) for i, row in early.items()}
        entries = {i: row["entry"] for i, row in early.items()}
        try:
            if not self._drained:       # (the drain thread did, when the signal met Ray's wait)
                self._drain(grace)
            for batch in ray.get(self.tracker.left.remote(self.handed), timeout=GRACE_SECONDS):
                for k, i in enumerate(batch["i"]):
                    rows.setdefault(i, (batch["outcomes"][k], batch["judges"][k],
                                        batch["actor"][k]))
            out, i, blocks = [], self.handed, {}
            while i in rows:
                if i not in entries:        # the record itself, from its object-store block
                    b = i // self._size
                    if b not in blocks:
                        blocks[b] = ray.get(self._refs[b], timeout=GRACE_SECONDS)
                    entries[i] = blocks[b].column("entry")[i % self._size].as_py()
                outcomes, judges, actor = rows[i]
                out.append((pickle.loads(entries[i]), pickle.loads(outcomes),
                            pickle.loads(judges), actor))
                i += 1
        except ray.exceptions.RayError as exc:
            log.warning("could not collect the batches the Ray actors scored (%s)", exc)
            return []
        return out

    def _drain(self, seconds: float) -> None:
        """No batch after those scored or being scored is begun any more; returns once those
        being scored are done and those scored follow the entries handed on without a gap,
        or after ``seconds``."""
        import time
        until = time.monotonic() + seconds
        self.tracker.stop.remote()
        while self.ray.get(self.tracker.pending.remote(self.handed), timeout=seconds + 1) \
                and time.monotonic() < until:
            time.sleep(0.05)
        self._drained = True

    def report(self) -> dict[str, Any]:
        """What the run sheet says about the Ray run: actors that scored, blocks, batches tried
        again after an actor died on them."""
        retried = self.ray.get(self.tracker.retried.remote()) if self.tracker else 0
        return {"actors": len(self.actors), "blocks": self.blocks,
                "batches_retried_after_an_actor_died": retried}

    def close(self) -> None:
        ctx, bars, order, original = self._ctx     # the caller's Ray Data settings, as they were
        ctx.enable_progress_bars = bars
        ctx.execution_options.preserve_order = order
        ctx.raise_original_map_exception = original
        if self._owns:
            stop_ray(self.ray)      # (SIGTERM still interrupts while results are written)
        if self.watch is not None:
            self.watch.cancel()
