"""``--engine ray``: per-record scoring on Ray Data, folded in the parent in input order.

What runs where:

* the driver (this process) reads the inputs with halluscope's own readers (so bad lines keep
  their file and line), cuts them into windows of :data:`WINDOW` records, and turns each window
  into a Ray dataset of ``{"i": position, "record": pickled Record}`` rows;
* ``map_batches`` runs :class:`RecordScorer`, an actor pool of ``workers`` actors: each actor
  builds the metrics from the :class:`~halluscope.config.AuditConfig` once (models such as
  detectors, segmenters and local judges are loaded once per actor, on a GPU when
  ``options.ray_num_gpus`` asks for one) and returns the pickled outcomes of each record;
* the driver puts the outcomes back in input order and folds them into the metrics
  (:mod:`halluscope.engines`), so ``items.jsonl`` and ``results.json`` are the ones a single
  process writes.

Shipped to workers: the config (small, paths included: the inputs, annotations and cache folder
must be readable at the same paths on every node, e.g. on shared storage) and the records.
Ray is imported only here, when ``--engine ray`` asks for it.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from halluscope._ray import import_ray  # noqa: F401 - also importable from here
from halluscope.engines import (build_worker_metrics, chunked, claims_split_together,
                                default_workers, score_outcomes)
from halluscope.metrics.base import Metric
from halluscope.records import Record

log = logging.getLogger(__name__)

WINDOW = 20_000
BATCH = 32


class RecordScorer:
    """A Ray Data actor: builds the metrics once, then scores batches of pickled records."""

    def __init__(self, names: list[str], config: Any, paths: list[str]):
        self.metrics = build_worker_metrics(names, config, paths)

    def __call__(self, batch):
        records = [pickle.loads(r) for r in batch["record"]]
        with claims_split_together(records, self.metrics):
            outs = [pickle.dumps(score_outcomes(rec, self.metrics),
                                 protocol=pickle.HIGHEST_PROTOCOL) for rec in records]
        return {"i": list(batch["i"]), "outcomes": outs}


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
        ctx.enable_progress_bars = False
        if self._owns:
            ray.init(address=address, log_to_driver=False, include_dashboard=False,
                     ignore_reinit_error=True)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers or max(1, min(cpus, default_workers() if address is None
                                              else cpus))
        opts = config.options or {}
        self.num_gpus = float(opts.get("ray_num_gpus", 0) or 0)

    def _score_window(self, window: list[Record]) -> list[Any]:
        import pandas  # noqa: F401  - Ray Data's pandas batches
        rows = [{"i": i, "record": pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL)}
                for i, r in enumerate(window)]
        ds = self.ray.data.from_items(rows)
        ds = ds.map_batches(RecordScorer, batch_size=BATCH, batch_format="pandas",
                            fn_constructor_args=(self.names, self.config, self.paths),
                            compute=self.ray.data.ActorPoolStrategy(
                                size=min(self.workers, max(1, len(window) // BATCH + 1))),
                            num_cpus=1, num_gpus=self.num_gpus or None)
        out: list[Any] = [None] * len(window)
        for row in ds.iter_rows():
            out[int(row["i"])] = pickle.loads(row["outcomes"])
        return out

    def run(self, stream: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        for window in chunked(stream, WINDOW):
            good = [r for r in window if isinstance(r, Record)]
            outcomes = iter(self._score_window(good) if good else ())
            for rec in window:
                yield rec, (next(outcomes) if isinstance(rec, Record) else None)

    def close(self) -> None:
        if self._owns:
            self.ray.shutdown()
