"""The actor side of ``halluscope query --engine ray`` (:mod:`halluscope.adapters.ray_query`):
what each :class:`QueryWorker` actor is built from (:class:`WorkerSettings`, the credentials in
:class:`ForwardedEnv`), how it asks its batches, how its errors come back as plain data, and the
statistics the driver sums over the actors (:class:`WorkerStats`).

An actor whose process dies (the OOM killer, a node lost, a crash in a model's native code) is
restarted by Ray, at most :data:`MAX_RESTARTS` times, and the batches it was asking are asked
again by the new one (``max_task_retries``): answers the cache holds come from it, the others
are asked again. An actor that cannot be restarted (killed for good, or out of restarts) ends
the run with :class:`WorkerLost` (exit 3) naming the requests it left unanswered; the answers
received before are written, so the same command asks what is left.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halluscope._ray import DriverWatch, enter_driver_folder
from halluscope.adapters.cache import ResponseCache
from halluscope.adapters.client import ModelClient, RetryPolicy
from halluscope.adapters.images import ImageLoader
from halluscope.adapters.query import _QueryRun
from halluscope.adapters.registry import get_model
from halluscope.adapters.types import (AuthError, Decoding, Message, ModelNotFound,
                                       ServerUnreachable, SetupError)
from halluscope.errors import CacheMiss, InputError
from halluscope.redact import redact_mapping, redact_text, register_options, register_url

log = logging.getLogger(__name__)

MAX_RESTARTS = 2
"""Times Ray restarts a query actor whose process died; each batch it was asking is asked
again by the restarted actor (as many times)."""


class WorkerLost(RuntimeError):
    """A query actor died and could not be restarted: an internal error (exit 3) whose message
    names the requests it left unanswered; the answers received before are written.
    ``unanswered`` (those requests' ids) and ``why`` (Ray's reason) for the command line, which
    says them line by line (:func:`lost_message` is the one-line form, the run sheet's)."""

    def __init__(self, message: str, unanswered: Iterable[str] = (), why: str = ""):
        super().__init__(message)
        self.unanswered, self.why = list(unanswered), why


def actor_died(exc: BaseException) -> bool:
    """Whether ``exc`` is Ray's word that an actor died (``RayActorError``, ``ActorDiedError``:
    read by name, so that nothing here imports Ray)."""
    return any(c.__name__ == "RayActorError" for c in type(exc).__mro__)


def lost_reason(exc: BaseException) -> str:
    """Ray's reason for an actor's death, in one line (``The actor is dead because ...``)."""
    why = str(exc).strip().splitlines()
    return next((w.strip() for w in reversed(why) if w.strip().startswith("The actor")),
                why[0] if why else type(exc).__name__).split(". ")[0].rstrip(".")


def shown_ids(ids: list[str], most: int = 5) -> str:
    """The first ``most`` ids, comma-separated, with ``...`` when there are more."""
    return ", ".join(ids[:most]) + (", ..." if len(ids) > most else "")


def lost_message(ids: list[str], exc: BaseException) -> str:
    """What :class:`WorkerLost` says: the requests left unanswered and why."""
    return (f"a Ray query actor died and could not be restarted (at most {MAX_RESTARTS} "
            f"restarts each; {lost_reason(exc)}): the {len(ids)} request(s) it was asking went "
            f"unanswered ({shown_ids(ids)}); every answer received before is written: run the "
            f"same command again to ask what is left")


def worker_lost(ids: list[str], exc: BaseException) -> WorkerLost:
    """The :class:`WorkerLost` of an actor that died (``exc``) leaving requests ``ids``."""
    return WorkerLost(lost_message(ids, exc), ids, lost_reason(exc))


FORWARDED_ENV = re.compile(r"(_API_KEY|_TOKEN|_API_VERSION|_ENDPOINT|_BASE_URL)$|"
                           r"^(HALLUSCOPE_|OPENAI_|ANTHROPIC_|GEMINI_|GOOGLE_|AZURE_|HF_)")
"""Names of the driver's environment variables that each actor gets (credentials, endpoints,
halluscope's own settings)."""


class ForwardedEnv:
    """Environment variables for the actors; ``repr`` and ``str`` name them, never the values."""

    def __init__(self, env: Mapping[str, str]):
        self.env = dict(env)

    def __repr__(self) -> str:
        return f"ForwardedEnv({sorted(self.env)}, values redacted)"

    __str__ = __repr__


def forwarded_env(environ: Mapping[str, str] | None = None) -> ForwardedEnv:
    """The variables of ``environ`` (default ``os.environ``) that match :data:`FORWARDED_ENV`."""
    environ = os.environ if environ is None else environ
    return ForwardedEnv({k: v for k, v in environ.items() if FORWARDED_ENV.search(k)})


@dataclass(frozen=True)
class WorkerSettings:
    """What an actor needs to build the same adapter, client and cache as the driver."""

    model: str
    base_url: str | None
    model_options: dict[str, Any]
    offline: bool
    cache_path: str | None
    max_connections: int
    retry: RetryPolicy
    timeout: float
    allow_urls: bool
    samples: int
    system: str | None
    detail: str | None
    decoding: Decoding
    out_path: str | None
    driver: tuple[str, int] | None = None   # the driver's Ray node id and process id
    folder: str | None = None   # the driver's working folder: relative paths are read from it


#: Seconds between an actor's checks that the driver still runs (:meth:`QueryWorker._watch`).
DRIVER_CHECK_S = 0.1


class QueryWorker:
    """A Ray actor (async): builds the adapter, client and cache once, then asks batches of
    ``(PromptItem, sample index)`` and returns their output records in batch order."""

    def __init__(self, settings: WorkerSettings, env: ForwardedEnv, index: int = 0):
        os.environ.update(env.env)
        enter_driver_folder(settings.folder)    # images, cache, a local model: the driver's
        self.settings = settings
        self.name = uuid.uuid4().hex        # a restarted actor gets another
        self.index = index                  # its place in the pool: the same after a restart
        self.run: _QueryRun | None = None
        self.store: ResponseCache | None = None
        self.asking: set[Any] = set()       # the requests of the batches being asked
        self.stopping = False
        self.watch: Any = None              # the task of _watch

    def _setup(self) -> None:
        s = self.settings
        register_url(s.base_url)
        register_options(s.model_options)
        api = get_model(s.model, base_url=s.base_url, offline=s.offline, **s.model_options)
        self.store = (ResponseCache(s.cache_path, create=not s.offline)
                      if s.cache_path is not None else None)
        client = ModelClient(api, cache=self.store, max_connections=s.max_connections,
                             retry=s.retry, timeout=s.timeout,
                             images=ImageLoader(allow_urls=s.allow_urls,
                                                timeout=s.timeout or 30.0), offline=s.offline)
        self.run = _QueryRun(client, api.model, s.samples, set(),
                             Path(s.out_path) if s.out_path else None, False, None,
                             head=(Message.system(s.system),) if s.system else (),
                             detail=s.detail, decoding=s.decoding, window=0)

    def ready(self) -> str:
        """Build the adapter, client and cache now; this actor's name."""
        if self.run is None:
            self._setup()
        return self.name

    async def ask(self, batch: list[tuple[Any, int]]) -> dict[str, Any]:
        """The output records of ``batch`` (a failure that ends a run as ``{"_raise": ...}``,
        ``None`` for a request :meth:`stop` cancelled or never sent) and this actor's
        statistics so far."""
        import asyncio
        if self.run is None:
            self._setup()
        if self.watch is None:
            self.watch = asyncio.ensure_future(self._watch())
        run = self.run
        tasks = [] if self.stopping else \
            [asyncio.ensure_future(run.run_one(item, k)) for item, k in batch]
        self.asking.update(tasks)
        try:
            results = await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self.asking.difference_update(tasks)
        records = [None if isinstance(r, asyncio.CancelledError) else
                   {"_raise": portable_error(r)} if isinstance(r, BaseException) else r
                   for r in results] if tasks else [None] * len(batch)
        return {"worker": self.name, "actor": self.index, "records": records,
                "client": redact_mapping(run.client.describe()),
                "cache": self.store.describe() if self.store is not None else None}

    async def stop(self) -> None:
        """The run stops: the requests not answered yet are cancelled and no more are sent,
        so that the batches being asked return at once with the answers already received
        (the driver writes them: without a cache they were lost, and asked again on resume)."""
        self.stopping = True
        for task in self.asking:
            task.cancel()

    async def _watch(self) -> None:
        """Stop (:meth:`stop`) once the driver is gone (:class:`~halluscope._ray.DriverWatch`):
        a driver killed with SIGKILL left its actors sending requests until Ray ended them
        (about 2 s later on a local instance: 64-93 requests at 8 connections and 0.2 s a
        request)."""
        import asyncio
        driver = DriverWatch(self.settings.driver)
        if driver.pid is None:
            return
        while not self.stopping:
            await asyncio.sleep(DRIVER_CHECK_S)
            if driver.gone():
                log.warning("the driver (process %d) is gone: no more requests", driver.pid)
                await self.stop()

    async def close(self) -> None:
        if self.watch is not None:
            self.watch.cancel()
        if self.run is not None:
            await self.run.client.aclose()
        if self.store is not None:
            self.store.close()


def portable_error(exc: BaseException) -> dict[str, Any]:
    """An exception as plain data that survives pickling (halluscope's errors take keyword
    arguments that ``BaseException.__reduce__`` loses); messages redacted."""
    out = {"type": type(exc).__name__, "message": redact_text(str(exc)),
           "status": getattr(exc, "status", None)}
    if isinstance(exc, CacheMiss):
        out["cache_miss"] = (exc.model, exc.cache_path, exc.record_id, exc.role)
    return out


def rebuild_error(data: dict[str, Any]) -> BaseException:
    """The exception :func:`portable_error` described (a ``RuntimeError`` for unexpected ones,
    which the CLI reports as an internal error, exit 3)."""
    kinds = {"AuthError": AuthError, "SetupError": SetupError,
             "ServerUnreachable": ServerUnreachable, "ModelNotFound": ModelNotFound}
    if data.get("cache_miss"):
        model, path, record_id, role = data["cache_miss"]
        return CacheMiss(model, path, record_id=record_id, role=role)
    if data["type"] in kinds:
        return kinds[data["type"]](data["message"], status=data["status"])
    if data["type"] in ("InputError", "RecordError", "ConfigError"):
        return InputError(data["message"])
    return RuntimeError(f"{data['type']} in a Ray worker: {data['message']}")


class WorkerStats:
    """The actors' client and cache statistics, summed: what the run sheet and summary show.
    Stands in for the client and the cache in :func:`~halluscope.adapters.query._runsheet`."""

    SUMMED = ("calls", "cache_hits", "retries", "retry_wait_s", "rate_limited",
              "rate_limit_wait_s", "hits", "misses", "writes", "write_errors", "superseded",
              "replaced")

    def __init__(self, cache_base: dict[str, Any] | None, offline: bool):
        self.clients: dict[str, dict[str, Any]] = {}
        self.caches: dict[str, dict[str, Any] | None] = {}
        self.cache_base = cache_base
        self.offline = offline
        self.incarnations: dict[int, set[str]] = {}     # actor index -> the names it had

    def started(self, names: list[str]) -> None:
        """Take the actors' names when they were ready as their first incarnations: an actor
        that died before it answered a batch is seen restarted by its next answer all the
        same."""
        for index, name in enumerate(names):
            self.incarnations.setdefault(index, set()).add(name)

    def update(self, answer: dict[str, Any]) -> None:
        """Keep an actor's statistics (a restarted actor's are another incarnation's, summed
        with those its dead one reported)."""
        self.clients[answer["worker"]] = answer["client"]
        self.caches[answer["worker"]] = answer["cache"]
        names = self.incarnations.setdefault(answer.get("actor", 0), set())
        if names and answer["worker"] not in names:
            log.warning("Ray query actor %d was restarted (its process died): the batches it "
                        "was asking were asked again", answer.get("actor", 0))
        names.add(answer["worker"])

    @property
    def restarts(self) -> int:
        """Restarts seen: incarnations of an actor after the one that was ready first that
        answered a batch."""
        return sum(len(names) - 1 for names in self.incarnations.values())

    @property
    def reported_models(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for d in self.clients.values():
            total.update(d.get("reported_models") or {})
        return total

    @property
    def unreported_models(self) -> int:     # answers whose server named no model
        return sum(int(d.get("unreported_models") or 0) for d in self.clients.values())

    def _sum(self, rows: Iterable[dict[str, Any]], base: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for row in rows:
            for k, v in row.items():
                if k in self.SUMMED and isinstance(v, (int, float)):
                    out[k] = round(out.get(k, 0) + v, 3)
        return out

    def describe(self) -> dict[str, Any]:
        """The client statistics summed over the actors (``failures`` summed by cause)."""
        out = self._sum(self.clients.values(), {k: 0 for k in self.SUMMED[:6]})
        failures: Counter[str] = Counter()
        for d in self.clients.values():
            if isinstance(d.get("failures"), Mapping):
                failures.update(d["failures"])
        out.update(offline=self.offline, failures=dict(failures), workers=len(self.clients),
                   reported_models=dict(self.reported_models))
        return out

    def describe_cache(self) -> dict[str, Any] | None:
        if self.cache_base is None:
            return None
        rows = [c for c in self.caches.values() if c]
        base = {**self.cache_base, "hits": 0, "misses": 0, "writes": 0}
        return self._sum(rows, base)




class _CacheView:
    """The summed cache statistics, shaped as a cache for the run sheet."""

    def __init__(self, stats: WorkerStats):
        self.stats = stats

    def describe(self) -> dict[str, Any] | None:
        return self.stats.describe_cache()


__all__ = ["DRIVER_CHECK_S", "FORWARDED_ENV", "ForwardedEnv", "MAX_RESTARTS", "QueryWorker",
           "WorkerLost", "WorkerSettings", "WorkerStats", "actor_died", "forwarded_env",
           "lost_message", "lost_reason", "portable_error", "rebuild_error", "shown_ids",
           "worker_lost"]
