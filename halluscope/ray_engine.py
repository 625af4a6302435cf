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
must be readable at the same paths on every node, e.g. on shared storage) and the records.
Ray is imported only here, when ``--engine ray`` asks for it.
"""

from __future__ import annotations

import logging
import pickle
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from halluscope._ray import import_ray, start_ray  # noqa: F401 - also importable from here
from halluscope.engines import (build_worker_metrics, chunked, claims_split_together,
                                default_workers, fold_judge_stats, score_outcomes,
                                take_judge_stats)
from halluscope.errors import ConfigError
from halluscope.metrics.base import Metric
from halluscope.records import Record

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
#: Restarts of a dead actor, and retries of its batch, before the run fails. Ray Data's default
#: is forever: an actor that dies on a record (a segfault, the OOM killer) hung the audit. Two
#: tries more survive a lost node or a preempted actor; a record that kills every actor it
#: meets ends the run as an internal error (exit 3).
RETRIES = 2
_PICKLE = pickle.HIGHEST_PROTOCOL


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


class RecordScorer:
    """A Ray Data actor: builds the metrics once, then scores batches of pickled entries."""

    def __init__(self, names: list[str], config: Any, paths: list[str]):
        import ray
        self.metrics = build_worker_metrics(names, config, paths)
        self.actor = ray.get_runtime_context().get_actor_id() or ""

    def __call__(self, batch):
        entries = [pickle.loads(e) for e in batch["entry"]]
        with claims_split_together([e for e in entries if isinstance(e, Record)], self.metrics):
            outs = [pickle.dumps(score_outcomes(e, self.metrics) if isinstance(e, Record)
                                 else None, protocol=_PICKLE) for e in entries]
        # the judge calls of the batch travel with its first row, to be counted by the driver
        judges = [pickle.dumps(take_judge_stats(self.metrics), protocol=_PICKLE)]
        return {"i": list(batch["i"]), "entry": list(batch["entry"]), "outcomes": outs,
                "actor": [self.actor] * len(entries),
                "judges": judges + [b""] * (len(entries) - 1)}


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
        self.num_gpus = _gpus_per_actor(config.options or {})
        try:
            if self._owns:
                start_ray(ray, address)
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

    def run(self, stream: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        size = self.block_size()
        refs, n = self._put(stream, size)
        self.blocks = len(refs)
        if not refs:
            return
        actors = min(self.workers, len(refs))
        log.info("ray: %d entries in %d blocks, %d actors", n, len(refs), actors)
        ds = self.ray.data.from_arrow_refs(refs)
        with warnings.catch_warnings():
            # Ray 2.60 deprecates remote args such as max_restarts in map_batches without a
            # named replacement; the locked Ray takes them (tests/test_ray_engine.py fails if not)
            warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
            # a batch no larger than a block: Ray Data would join small blocks into one batch
            ds = ds.map_batches(RecordScorer, batch_size=min(BATCH, size), batch_format="pandas",
                                fn_constructor_args=(self.names, self.config, self.paths),
                                compute=self.ray.data.ActorPoolStrategy(size=actors),
                                num_cpus=1, num_gpus=self.num_gpus or None,
                                max_restarts=RETRIES, max_task_retries=RETRIES)
        try:
            yield from self._in_order(ds.iter_rows(), n)
        except self.ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)    # what the actor raised, as the actor raised it
            if isinstance(cause, Exception) and not isinstance(cause, self.ray.exceptions.RayError):
                raise cause from exc
            raise

    def _in_order(self, rows: Iterable[dict], n: int) -> Iterator[tuple[Any, Any]]:
        """``(entry, outcomes)`` in input order from ``rows`` (in order already when Ray keeps
        it; held back here only when a row comes early)."""
        early: dict[int, dict] = {}
        nxt = 0
        for row in rows:
            early[int(row["i"])] = row
            while nxt in early:
                row = early.pop(nxt)
                self.actors.add(row["actor"])
                if row.get("judges"):
                    fold_judge_stats(self.covers, pickle.loads(row["judges"]))
                yield pickle.loads(row["entry"]), pickle.loads(row["outcomes"])
                nxt += 1
        if nxt != n:
            raise RuntimeError(f"Ray returned {nxt} of {n} entries in order "
                               f"({len(early)} held back)")

    def report(self) -> dict[str, Any]:
        """What the run sheet says about the Ray run: actors that scored, blocks."""
        return {"actors": len(self.actors), "blocks": self.blocks}

    def close(self) -> None:
        ctx, bars, order, original = self._ctx     # the caller's Ray Data settings, as they were
        ctx.enable_progress_bars = bars
        ctx.execution_options.preserve_order = order
        ctx.raise_original_map_exception = original
        if self._owns:
            self.ray.shutdown()
