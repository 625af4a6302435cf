"""``halluscope query --engine ray``: the prompts of :func:`~halluscope.adapters.query.aquery`,
asked by a pool of Ray actors, written by this process in prompt order.

What runs where:

* the driver (this process) does everything the one-process run does before and after the calls,
  with the same functions: it validates the prompts file (bad lines named by file:line, before
  any call), builds the adapter once to check the provider and credentials, locks the output
  file, checks a resume, opens the response cache (moving a damaged one aside: not for a refused
  resume, which creates nothing) and reads what the file already answers. It then sends the prompts left to ask, in batches of :data:`BATCH`, to the actors,
  keeps at most two batches per actor in flight, and writes the answers in prompt order with the
  same :class:`~halluscope.adapters.query._QueryRun` (same fields, redaction, counts, failure
  groups, run sheet and exit codes); a run that stops (Ctrl-C, SIGTERM, a failure that ends
  it) first writes every answer the actors already received, with or without a cache;
* each :class:`QueryWorker` actor builds the same adapter from the same settings once (a local
  transformers model is loaded once per actor, on ``gpus_per_worker`` GPUs when asked), with its
  own :class:`~halluscope.adapters.client.ModelClient` over the same response cache (SQLite in
  WAL mode: several processes read and write it at once; the first answer for a key stays), and
  asks its batches concurrently (``max_connections`` is the total: each of ``workers`` actors
  gets an equal share, at least one).

Credentials: environment variables that adapters read (``*_API_KEY``, ``*_TOKEN``, endpoints,
``HALLUSCOPE_*``) are handed to each actor as a constructor argument whose ``repr`` is redacted,
and set in the actor's environment; they are not put in a ``runtime_env`` (Ray's runtime-env
agent logs those) and never written to a file. Answers, errors and statistics come back
redacted, as in the one-process run.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from halluscope._ray import (ClusterLost, ClusterWatch, driver_folder, import_ray, start_ray,
                             stop_ray, this_driver)
from halluscope.adapters.cache import open_response_cache
from halluscope.adapters.client import RetryPolicy
from halluscope.adapters.outlock import answers_of, unlock_output
from halluscope.adapters.query import (QueryCounts, QueryResult, _group_dict, _QueryRun,
                                       interruption,
                                       _run_sync, _runsheet, check_prompts, iter_prompts)
# the actors' side, re-exported: ray_query named them all before it was split
from halluscope.adapters.ray_actors import (  # noqa: F401
    DRIVER_CHECK_S, FORWARDED_ENV, MAX_RESTARTS, ForwardedEnv, QueryWorker, WorkerLost,
    WorkerSettings, WorkerStats, actor_died, forwarded_env, lost_message, portable_error,
    rebuild_error, worker_lost, _CacheView)
from halluscope.adapters.registry import get_model, server_and_options
from halluscope.adapters.types import AuthError, Decoding, ServerUnreachable, check_detail
from halluscope.errors import CacheMiss, ConfigError, InputError
from halluscope.records import Record
from halluscope.redact import redact_mapping, redact_text, register_options, register_url
from halluscope.atomicfiles import write_json_atomically

log = logging.getLogger(__name__)

BATCH = 32
"""Prompts per batch sent to an actor."""
STOP_WAIT_S = 2.0
"""Seconds a stopping run waits for its actors to hand back the answers they received (they
come back at once: the requests still unanswered are cancelled)."""


@dataclass
class RayPool:
    """The actors of one run and how to reach them."""

    ray: Any
    actors: list[Any]
    owns_ray: bool
    address: str | None
    gpus_per_worker: float
    startup_s: float = 0.0
    inflight: deque = field(default_factory=deque)
    watch: Any = None       # ClusterWatch: Ray ends a driver that lost its cluster (exit 1)
    sent: dict = field(default_factory=dict)    # id(ref) -> (actor index, its request ids)
    names: list = field(default_factory=list)   # each actor's name when it was ready

    def send(self, n: int, batch: list[tuple[Any, int]], ids: list[str]) -> None:
        """Send ``batch`` (whose requests are ``ids``) to actor ``n`` (of the pool, round)."""
        n %= len(self.actors)
        ref = self.actors[n].ask.remote(batch)
        self.inflight.append(ref)
        self.sent[id(ref)] = (n, ids)

    def unanswered(self, ref: Any) -> list[str]:
        """The requests of every batch in flight on the actor ``ref`` went to, in order, but
        those of a batch whose answers came back before the actor died (the stopping run
        writes them: they were named unanswered, and written)."""
        actor = self.sent.get(id(ref), (None, []))[0]
        return [i for r in self.inflight if self.sent.get(id(r), (None,))[0] == actor
                and not self._came_back(r) for i in self.sent[id(r)][1]]

    def _came_back(self, ref: Any) -> bool:
        """Whether the answers of the batch ``ref`` are here (without waiting for them)."""
        try:
            self.ray.get(ref, timeout=0)
        except Exception:   # noqa: BLE001 - not yet (a timeout), or its actor died
            return False
        return True

    def close(self) -> None:
        """Close the actors (none waited for once the cluster is lost) and the Ray instance
        this run started."""
        for ref in self.inflight:
            self.ray.cancel(ref, force=False)
        for actor in self.actors:
            try:
                self.ray.get(actor.close.remote(), timeout=0 if self.watch.lost else 30)
            except Exception as exc:  # noqa: BLE001 - best effort, the run is over
                log.debug("closing a query actor: %s", exc)
            self.ray.kill(actor)
        if self.owns_ray:
            stop_ray(self.ray)
        self.watch.cancel()


def start_pool(settings_for: Callable[[int], WorkerSettings], *, workers: int | None,
               address: str | None, gpus_per_worker: float) -> RayPool:
    """Start Ray (or join ``address``) and ``workers`` actors (default: one per CPU of the
    cluster, or per ``gpus_per_worker`` GPUs when asked); ``settings_for(n)`` the settings of
    ``n`` actors."""
    ray = import_ray()
    owns = not ray.is_initialized()
    if owns:
        start_ray(ray, address)
    try:
        workers = _actors_that_fit(ray.cluster_resources(), workers, gpus_per_worker, address)
    except ConfigError:
        if owns:
            stop_ray(ray)
        raise
    settings = settings_for(workers)
    # an actor whose process dies is restarted and asks its batches again (ray_actors)
    actor_cls = ray.remote(QueryWorker).options(num_cpus=1, num_gpus=gpus_per_worker or 0,
                                                max_concurrency=64, max_restarts=MAX_RESTARTS,
                                                max_task_retries=MAX_RESTARTS)
    env = forwarded_env()
    t0 = time.perf_counter()
    actors = [actor_cls.remote(settings, env, n) for n in range(workers)]
    pool = RayPool(ray, actors, owns, address, gpus_per_worker, watch=ClusterWatch(ray))
    try:
        pool.names = ray.get([a.ready.remote() for a in actors])
    except BaseException:
        pool.close()
        raise
    pool.startup_s = round(time.perf_counter() - t0, 3)
    log.info("%d query actor(s) ready in %.1f s", workers, pool.startup_s)
    return pool


def _actors_that_fit(resources: dict, workers: int | None, gpus_per_worker: float,
                     address: str | None) -> int:
    """``workers`` query actors (default: one per CPU of the cluster, or per
    ``gpus_per_worker`` GPUs); a usage error when the cluster cannot hold them all (1 CPU
    each, and the GPUs asked): waiting for every actor to be ready would wait for ever."""
    cpus, gpus = float(resources.get("CPU", 0)), float(resources.get("GPU", 0))
    if workers is None:
        workers = max(1, int(cpus))
        if gpus_per_worker:
            workers = max(1, min(workers, int(gpus // gpus_per_worker)))
    if workers > cpus or workers * gpus_per_worker > gpus:
        asked = f"1 CPU{f' and {gpus_per_worker:g} GPU(s)' if gpus_per_worker else ''}"
        from halluscope.redact import redact_text
        address = redact_text(address) if address else address     # without its credentials
        raise ConfigError(f"{workers} query actor(s) of {asked} each do not fit the Ray cluster "
                          f"({address or 'a local instance'}: {cpus:g} CPU(s), {gpus:g} "
                          f"GPU(s)); pass fewer --ray-workers or --ray-gpus-per-worker")
    return workers


def _start_for(run: _QueryRun, settings_for: Callable[[int], WorkerSettings],
               **pool: Any) -> RayPool:
    """:func:`start_pool` for ``run``, whose run sheet says why nothing was asked when it
    cannot start: a usage error, or an interruption (SIGTERM or Ctrl-C while Ray and its
    actors start, seconds of every run) that left ``aborted`` unset, a run sheet that looked
    finished."""
    try:
        return start_pool(settings_for, **pool)
    except ConfigError as exc:
        run.aborted = redact_text(f"{type(exc).__name__}: {exc}")
        raise
    except KeyboardInterrupt as exc:
        run.aborted = interruption(exc)
        raise


def _batches(run: _QueryRun, items: Iterable[Any], size: int) -> Iterator[list[tuple[Any, int]]]:
    """Consecutive batches of ``(item, sample index)`` not yet done, in prompt order."""
    batch: list[tuple[Any, int]] = []
    for task in run.todo(items):
        batch.append(task)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def drive_pool(run: _QueryRun, pool: RayPool, stats: WorkerStats, items: Iterable[Any], *,
               batch_size: int = BATCH) -> None:
    """Send the batches round-robin (two per actor in flight at most; batches no larger than
    an equal share of the run) and emit their records in
    prompt order; the same stops as the one-process run: an unreachable server sets
    ``stopped``, refused credentials and cache misses raise. A run that stops for any reason
    first writes every answer the actors already received (:func:`_keep_received`), as the
    one-process run writes its finished requests."""
    ray, inflight = pool.ray, pool.inflight
    stats.started(pool.names)   # (an actor restarted before its first answer is one too)
    limit = 2 * len(pool.actors)
    # small runs: smaller batches, so that every actor gets some
    batch_size = max(1, min(batch_size, math.ceil(run.counts.to_ask / len(pool.actors))))
    held: deque = deque()       # the records of a batch taken and not written yet

    def write(records: list[dict[str, Any] | None]) -> None:
        held.extend(records)
        while held:
            rec = held.popleft()
            if rec is not None and "_raise" not in rec:
                run.emit(rec)

    def take() -> None:
        try:
            answer = ray.get(inflight[0])     # (left in flight while a signal may land)
        except Exception as exc:
            if not actor_died(exc):     # (restarted, it asks its batches again: not here)
                raise
            raise worker_lost(pool.unanswered(inflight[0]), exc) from None
        pool.sent.pop(id(inflight.popleft()), None)
        stats.update(answer)
        raised = [rec["_raise"] for rec in answer["records"] if rec and "_raise" in rec]
        write(answer["records"])    # the batch's answers are kept even when it stops
        if raised:
            raise rebuild_error(raised[0])
        if None in answer["records"]:   # (never unless the actor thought the driver gone)
            raise RuntimeError("a Ray query actor stopped asking while the run went on")

    try:
        with pool.watch:
            for n, batch in enumerate(_batches(run, items, batch_size)):
                pool.send(n, batch, [run.task_id(item.id, k) for item, k in batch])
                if len(inflight) >= limit:
                    take()
            while inflight:
                take()
    except ServerUnreachable as exc:
        run.stopped = run.aborted = redact_text(f"{type(exc).__name__}: {exc}")
    except (AuthError, CacheMiss) as exc:
        run.aborted = redact_text(f"{type(exc).__name__}: {exc}")
        raise
    except BaseException as exc:    # Ctrl-C, SIGTERM (halluscope._ray), an actor or the
        if pool.watch.lost:         # cluster lost: never a run sheet that looks finished
            run.aborted = pool.watch.lost
            raise ClusterLost(pool.watch.lost) from None    # (exit 3; Ray's own end: 1)
        run.aborted = interruption(exc) if isinstance(exc, KeyboardInterrupt) else \
            redact_text(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if inflight or held:
            _keep_received(pool, stats, write)


def _keep_received(pool: RayPool, stats: WorkerStats, write: Callable[[list], None]) -> None:
    """The run stops with batches in flight: each actor cancels the requests not answered yet
    and sends no more (:meth:`QueryWorker.stop`), so that its batches come back at once with
    the answers it already received, which are written (behind the gap of the requests
    cancelled: the run puts the file back in prompt order when it ends) within
    :data:`STOP_WAIT_S`. Without a cache these answers were lost and asked again on resume.
    A second Ctrl-C stops at once."""
    ray, inflight = pool.ray, pool.inflight
    for actor in pool.actors:
        actor.stop.remote()
    write([])                   # what is left of the batch being written
    until = time.monotonic() + STOP_WAIT_S
    for ref in list(inflight):
        try:
            answer = ray.get(ref, timeout=max(0.0, until - time.monotonic()))
        except ray.exceptions.RayError as exc:  # (a timeout too): cancelled by pool.close
            if not actor_died(exc):     # (a dead actor's batches: WorkerLost names them)
                log.warning("could not collect the answers of a batch in flight (%s)", exc)
            continue
        inflight.remove(ref)
        stats.update(answer)
        write(answer["records"])


def _cache_location(cache: Any, offline: bool) -> tuple[str | None, dict[str, Any] | None]:
    """The cache file the actors share (checked, and a damaged one moved aside, here first)
    and its description without counters."""
    store, owned = open_response_cache(cache, create=not offline)
    if store is None:
        return None, None
    try:
        return str(store.path), {k: v for k, v in store.describe().items()
                                 if k not in ("hits", "misses", "writes")}
    finally:
        if owned:
            store.close()


def _write_sheet(sheet: dict[str, Any], run: _QueryRun, pool: RayPool | None,
                 out_path: Path | None, stats: WorkerStats, **engine: Any) -> dict[str, Any]:
    """The run sheet with the failure groups and the ``engine`` entry (with the actors'
    restarts: ``actor_restarts``, of ``max_restarts`` each), redacted, written beside
    ``out_path``."""
    sheet["failures"] = [_group_dict(g) for g in run.groups.values()]
    sheet["engine"] = {"name": "ray", **engine, "workers": len(pool.actors) if pool else 0,
                       "startup_s": pool.startup_s if pool else 0.0,
                       "max_restarts": MAX_RESTARTS, "actor_restarts": stats.restarts}
    sheet = redact_mapping(sheet)
    if out_path is not None:
        from halluscope.runsheet import query_sheet_path
        write_json_atomically(query_sheet_path(out_path), sheet)
    return sheet


def _prepare(run: _QueryRun, api: Any, stats: WorkerStats, cache: Any, offline: bool,
             *args: Any, **resume: Any) -> tuple[Any, str | None]:
    """:meth:`_QueryRun.prepare` (a refused resume touches nothing: the cache is located, and
    a new one made, only once the resume is not refused), the adapter closed when it raises;
    the output's lock and the cache file the actors share (``stats`` told its description)."""
    located: list[str | None] = []

    def locate() -> None:
        path, stats.cache_base = _cache_location(cache, offline)
        located.append(path)
    try:
        lock = run.prepare(*args, before_write=locate, **resume)
    except BaseException:
        _run_sync(api.aclose())
        raise
    return lock, located[0]


def query_ray(prompts: str | Path | Iterable[Mapping[str, Any] | Record], model: str, *,
              out: str | Path | None = None, base_url: str | None = None,
              max_connections: int = 8, cache: Any = None, decoding: Decoding | None = None,
              samples: int = 1, system: str | None = None, allow_urls: bool = False,
              image_root: str | Path | None = None, detail: str | None = None,
              timeout: float | None = None, max_attempts: int = 6,
              retry: RetryPolicy | None = None, resume: bool = True,
              retry_failed: bool | None = None, collect: bool = True, progress: Callable[[QueryCounts], None] | None = None,
              model_options: Mapping[str, Any] | None = None, offline: bool | None = None,
              argv: list[str] | None = None, workers: int | None = None,
              address: str | None = None, gpus_per_worker: float = 0.0, batch_size: int = BATCH,
              benchmark: Mapping[str, Any] | None = None) -> QueryResult:
    """:func:`~halluscope.adapters.query.aquery` with the calls made by Ray actors (see the
    module docstring); the same arguments, output, run sheet and errors, plus ``workers``,
    ``address`` (a Ray cluster; default a local instance), ``gpus_per_worker`` and
    ``batch_size``. Raises :class:`~halluscope.errors.ConfigError` when Ray is missing."""
    from halluscope.adapters.offline import is_offline
    offline = is_offline(offline)
    if samples < 1:
        raise InputError(f"expected samples >= 1, got {samples}")
    check_detail(detail)
    ray = import_ray()  # a missing extra is a usage error before anything else happens
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    if not isinstance(prompts, (str, Path)):
        prompts = list(prompts)
    prompt_ids = check_prompts(prompts, image_root=image_root)
    decoding = decoding or Decoding()
    register_options(model_options)
    base_url, options = server_and_options(base_url, model_options)
    register_url(base_url)
    api = get_model(model, base_url=base_url, offline=offline, **options)  # checks credentials
    timeout = timeout if timeout is not None else getattr(api, "default_timeout", 120.0)
    out_path = Path(out) if out is not None else None
    retry = retry or RetryPolicy(max_attempts=max_attempts)

    def settings_for(n: int) -> WorkerSettings:
        return WorkerSettings(model, base_url, options, offline, cache_path,
                              max(1, math.ceil(max_connections / n)), retry, timeout,
                              allow_urls, samples, system, detail, decoding,
                              str(out_path) if out_path is not None else None,
                              this_driver(ray), driver_folder())

    stats = WorkerStats(None, offline)     # (the cache's description: once it is located)
    run = _QueryRun(stats, api.model, samples, {}, out_path, collect, progress,
                    head=(), detail=detail, decoding=decoding, window=0)
    lock, cache_path = _prepare(
        run, api, stats, cache, offline,
        answers_of(api, decoding, system, samples=samples, detail=detail), prompts, prompt_ids,
        image_root, resume=resume, retry_failed=retry_failed)
    pool = None
    try:
        run.start(prompt_ids)
        if run.counts.to_ask:
            pool = _start_for(run, settings_for, workers=workers, address=address,
                              gpus_per_worker=gpus_per_worker)
            drive_pool(run, pool, stats, iter_prompts(prompts, image_root=image_root),
                       batch_size=batch_size)
        else:   # nothing to ask: the kept lines are checked against the prompts all the same
            deque(run.todo(iter_prompts(prompts, image_root=image_root)), maxlen=0)
    finally:
        if run.fh is not None:
            run.fh.close()
        run.restore_order()
        if pool is not None:
            pool.close()
        elapsed = time.perf_counter() - t0
        sheet = _runsheet(api, stats, _CacheView(stats), prompts, out_path, decoding, samples,
                          max_connections, run.counts, started, elapsed, run.aborted, argv,
                          system=system, allow_urls=allow_urls, offline=offline, detail=detail,
                          prompt_ids=prompt_ids, retry=retry, timeout=timeout, benchmark=benchmark)
        sheet = _write_sheet(sheet, run, pool, out_path, stats, address=address,
                             gpus_per_worker=gpus_per_worker, batch_size=batch_size)
        if lock is not None:    # removed, still held: see unlock_output
            unlock_output(lock, remove=Path(lock.name))
        _run_sync(api.aclose())
    return QueryResult(run.final_records(), run.counts, sheet, dict(stats.reported_models),
                       elapsed, failures=sorted(run.groups.values(), key=lambda g: -g.count),
                       stopped=run.stopped)
