"""The metric protocol: explicit state, ``update`` / ``compute`` / ``reset`` / ``merge``.

A metric scores one :class:`~halluscope.records.Record` at a time (:meth:`Metric.score`, a pure
function of the record and the metric's fixed resources), keeps only column sums
(:class:`~halluscope.metrics.stats.SumState`), and computes dataset-level
:class:`~halluscope.metrics.stats.MetricResult` values with bootstrap intervals. Each metric also
has a pure-function twin over plain Python data in its own module (``chair_scores``,
``pope_scores``, ...).

Metrics register under the ``halluscope.metrics`` entry-point group, the same way third-party
metrics do; :func:`metric_class` looks them up.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar

from halluscope.errors import ConfigError, UnreadableImage
import numpy as np

from halluscope.metrics.stats import (CHUNK, DEFAULT_BOOTSTRAP, MIN_UNITS, MetricResult,
                                      Statistic, SumState)
from halluscope.records import Record

CLUSTER_DEFAULT = "image"
"""Items that share an image are resampled together unless ``--cluster-by`` says otherwise."""


def record_field(record: Record, name: str) -> Any:
    """The value of a record field (``model``, ``task``, ``image_id``, ...) or of a metadata key
    (dotted paths reach into nested metadata); ``None`` when the record has none."""
    if name in ("id", "task", "image", "image_id", "model", "label", "question_id"):
        return getattr(record, name)
    value: Any = record.metadata
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def unit_of(record: Record, cluster_by: str | None = CLUSTER_DEFAULT) -> str:
    """The key of the resampling unit ``record`` belongs to: its image (``image_id``, else the
    image path, else the document) by default, any field given, or the item itself (``item``)
    when the field is empty or ``cluster_by`` is ``None``/``"item"``."""
    own = f"item:{record.id}|{record.question_id or ''}"
    if cluster_by in (None, "", "item", "none"):
        return own
    if cluster_by == "image":
        for value in (record.image_id, record.image, record.document):
            if isinstance(value, (int, str)) and value != "":
                return f"image:{value}"
        return own
    value = record_field(record, cluster_by)
    return own if value is None else f"{cluster_by}:{json.dumps(value, sort_keys=True)}"


def group_names(record: Record, by: tuple[str, ...]) -> tuple[str, ...]:
    """The groups ``field:value`` a record joins for each field of ``by`` it has a value for."""
    out = []
    for name in by:
        value = record_field(record, name)
        if isinstance(value, (str, int, float, bool)) and value != "":
            out.append(f"{name}:{value}")
    return tuple(out)


@dataclass
class ItemScore:
    """What a metric says about one record.

    Attributes:
        payload: JSON-ready per-item detail, written under the metric's name in ``items.jsonl``.
        row: One value per column of the metric (aligned with ``Metric.columns``).
        groups: Names of the groups (split, category, ...) this item also counts towards.
        tallies: Named counters to add up over the dataset (e.g. hallucinated object -> count).
        top: Keys written at the top level of the item in ``items.jsonl`` rather than under the
            metric's name (the claim-level ``"claims"`` list is one).
        unit: The bootstrap resampling unit (cluster) the item was folded in with.
    """

    payload: dict[str, Any]
    row: tuple[float, ...]
    groups: tuple[str, ...] = ()
    tallies: dict[str, Counter] = field(default_factory=dict)
    top: dict[str, Any] = field(default_factory=dict)
    unit: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    """Bookkeeping a metric's :meth:`Metric.fold` needs beyond the row (never written out),
    e.g. how POPE aligned the answer; plain JSON-ready data, so it can cross processes."""


def item_key(record: Record) -> str:
    """The identity of a record, from which its bootstrap weights are drawn: the source file's
    name, the 1-based line and the record id (``"outputs.jsonl:12:img-7"``). The same in one
    process, in N workers and on Ray, whatever the order of scoring; records passed in memory
    without a source are keyed by their id and position (``"<records>:3:img-7"``)."""
    file = record.source.file
    name = file.replace("\\", "/").rsplit("/", 1)[-1] if file else "<records>"
    return f"{name}:{record.source.line}:{record.id}"


@dataclass
class MetricSummary:
    """Dataset-level output of one metric."""

    name: str
    results: dict[str, MetricResult]
    n: int
    groups: dict[str, dict[str, MetricResult]] = field(default_factory=dict)
    tallies: dict[str, dict[str, int]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v.to_dict() for k, v in self.results.items()}
        out["n"] = self.n
        if self.groups:
            out["groups"] = {g: {k: v.to_dict() for k, v in res.items()}
                             for g, res in self.groups.items()}
        if self.tallies:
            out["tallies"] = self.tallies
        if self.info:
            out["info"] = self.info
        return out


class Metric(ABC):
    """Base class of metrics; subclasses set ``name``, ``columns``, ``statistics``, ``score``."""

    name: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    statistics: ClassVar[dict[str, Statistic]]
    cluster_by: str | None = CLUSTER_DEFAULT
    """Record field whose value is the bootstrap's resampling unit (set by the pipeline)."""
    by: tuple[str, ...] = ("model",)
    """Record fields whose values make groups reported beside the overall numbers."""
    min_units: int = MIN_UNITS
    """Fewest units (and clusters) an interval is computed over; below it, ``ci_note`` says so."""
    needs_verification: ClassVar[bool] = False
    """Whether the metric scores verified records (:mod:`halluscope.verification`): such a
    metric has a ``verifier`` and ``score_verified(verified, *, emit_claims=True)``, and the
    engines verify each record once for all metrics that share a verifier."""

    def __init__(self, *, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                 confidence: float = 0.95):
        self.n_boot = n_boot
        self.seed = seed
        self.confidence = confidence
        self.reset()

    # -- to implement -------------------------------------------------------------------------
    def applies_to(self, record: Record) -> bool:
        """Whether this metric scores ``record`` (others pass it by)."""
        return True

    def skip_reason(self, record: Record) -> str:
        """Why :meth:`applies_to` passed ``record`` by, in a few words (counted per cause and
        shown when the metric scores nothing)."""
        if record.response is None:
            return "no model answer"
        return f"not a {self.name} item ({record.task} record)"

    @abstractmethod
    def score(self, record: Record) -> ItemScore:
        """Score one record (pure: no change to the metric's state)."""

    def describe(self) -> dict[str, Any]:
        """What the run sheet records about this metric (variant, spec, data hashes)."""
        return {}

    def finish(self) -> None:
        """Called once after the last record: final consistency checks."""

    # -- state --------------------------------------------------------------------------------
    def reset(self) -> None:
        self.state = SumState(self.columns, self.n_boot, self.seed)
        self.group_states: dict[str, SumState] = {}
        self.tallies: dict[str, Counter] = {}
        self._rows: list[tuple[float, ...]] = []
        self._row_groups: list[tuple[str, ...]] = []
        self._row_units: list[str | None] = []
        self._row_keys: list[str] = []
        self._added = 0

    #: Whether :meth:`score` may run in another process (workers, Ray) with :meth:`fold` in the
    #: parent. Metrics whose ``update`` keeps cross-record state (consistency) set False and
    #: run in the parent.
    parallel: ClassVar[bool] = True

    def update(self, record: Record) -> ItemScore:
        """Score ``record``, fold it into the state and return the item's score.

        A record whose image (or document page) cannot be read is not scored: it is counted in
        ``tallies["unreadable"]["records"]`` (apart from claims that are merely unverifiable)
        and the :class:`~halluscope.errors.UnreadableImage` is raised again at the record's
        ``file:line`` for the audit to list."""
        try:
            item = self.score(record)
        except UnreadableImage as exc:
            self.fold_error(record, exc)
            if exc.location.file is None and exc.location.line is None:
                exc = exc.at(record.source.file, record.source.line)
            raise exc from None
        self.fold(record, item)
        return item

    def fold(self, record: Record, item: ItemScore) -> None:
        """Fold a score computed by :meth:`score` (here or in a worker) into the state."""
        self.add(item, record=record)

    def fold_error(self, record: Record, error: Exception) -> None:
        """Note that :meth:`score` refused ``record``: an unreadable image is counted in
        ``tallies["unreadable"]``; overrides add their own bookkeeping."""
        if isinstance(error, UnreadableImage):
            self.tallies.setdefault("unreadable", Counter())["records"] += 1

    def add(self, item: ItemScore, key: str | None = None, *,
            record: Record | None = None) -> None:
        """Fold one item's row in. With its ``record``, the item is resampled with its cluster
        (:func:`unit_of`, whose key draws its bootstrap weights) and joins the groups of
        :attr:`by` as well; else ``key`` (:func:`item_key`) draws its weights (without either:
        its position among the items added)."""
        if len(item.row) != len(self.columns):
            raise ValueError(f"{self.name}: expected {len(self.columns)} values "
                             f"{self.columns}, got {len(item.row)}")
        unit = None
        if record is not None:
            unit = unit_of(record, self.cluster_by)
            extra = tuple(g for g in group_names(record, self.by) if g not in item.groups)
            if extra:
                item.groups = tuple(item.groups) + extra
            item.unit = unit
        self._row_keys.append(unit if unit is not None else key if key is not None
                              else f"#{self._added}")
        self._added += 1
        self._rows.append(item.row)
        self._row_groups.append(item.groups)
        self._row_units.append(unit)
        for key, counter in item.tallies.items():
            self.tallies.setdefault(key, Counter()).update(counter)
        if len(self._rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Fold buffered rows into the overall and group states with ONE bootstrap draw per
        item, shared by the item's groups (each group's interval uses the same replicates)."""
        if not self._rows:
            return
        x = np.asarray(self._rows, dtype=float)
        units = self._row_units
        weights = self.state.draw_weights(self._row_keys)
        self.state.add_block(x, weights, units)
        members: dict[str, list[int]] = {}
        for i, groups in enumerate(self._row_groups):
            for g in groups:
                members.setdefault(g, []).append(i)
        for g, idx in members.items():
            st = self.group_states.get(g)
            if st is None:
                st = self.group_states[g] = SumState(self.columns, self.n_boot, self.seed)
            if len(idx) == len(x):      # every item (a POPE split, one model): no copies
                st.add_block(x, weights, units)
            else:
                st.add_block(x[idx], None if weights is None else weights[:, idx],
                             [units[i] for i in idx])
        self._rows, self._row_groups, self._row_units, self._row_keys = [], [], [], []

    def merge(self, other: "Metric") -> None:
        """Fold another instance's state (a shard of the same run) into this one."""
        self.flush()
        other.flush()
        self.state.merge(other.state)
        for g, st in other.group_states.items():
            if g in self.group_states:
                self.group_states[g].merge(st)
            else:
                self.group_states[g] = st
        for key, counter in other.tallies.items():
            self.tallies.setdefault(key, Counter()).update(counter)

    def _results(self, state: SumState) -> dict[str, MetricResult]:
        return {name: state.result(name, stat, self.confidence, self.min_units)
                for name, stat in self.statistics.items()}

    def compute(self) -> MetricSummary:
        self.flush()
        return MetricSummary(
            name=self.name,
            results=self._results(self.state),
            n=self.state.n,
            groups={g: self._results(st) for g, st in sorted(self.group_states.items())},
            tallies={k: dict(c.most_common()) for k, c in self.tallies.items()},
            info={**self.describe(), "bootstrap": {
                "n_boot": self.n_boot, "cluster_by": self.cluster_by or "item",
                "clusters": len(self.state.units), "min_units": self.min_units}},
        )


def available_metrics() -> dict[str, Any]:
    """Registered metrics: entry-point name -> entry point (not loaded)."""
    return {ep.name: ep for ep in metadata.entry_points(group="halluscope.metrics")}


# Mirrors pyproject's entry points, for source trees that were never installed.
_BUILTIN = {
    "chair": "halluscope.metrics.chair:ChairMetric",
    "pope": "halluscope.metrics.pope:PopeMetric",
    "claims": "halluscope.metrics.claims:ClaimsMetric",
    "faithscore": "halluscope.metrics.faithscore:FaithScoreMetric",
    "amber": "halluscope.metrics.amber:AmberMetric",
    "hallusionbench": "halluscope.metrics.hallusionbench:HallusionBenchMetric",
    "mmhal": "halluscope.metrics.mmhal:MMHalMetric",
    "region": "halluscope.metrics.grounding:RegionMetric",
    "page": "halluscope.metrics.grounding:PageMetric",
    "consistency": "halluscope.metrics.consistency:ConsistencyMetric",
    "reefknot": "halluscope.metrics.reefknot:ReefknotMetric",
    "objhal": "halluscope.metrics.objhal:ObjhalMetric",
}


def metric_class(name: str) -> type[Metric]:
    """The metric class registered as ``name``."""
    eps = available_metrics()
    if name in eps:
        return eps[name].load()
    if name in _BUILTIN:  # running from a source tree that was never installed
        module, _, attr = _BUILTIN[name].partition(":")
        import importlib
        return getattr(importlib.import_module(module), attr)
    known = sorted(set(eps) | set(_BUILTIN))
    raise ConfigError(f"unknown metric {name!r}; expected one of: {', '.join(known)}")
