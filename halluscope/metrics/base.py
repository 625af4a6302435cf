"""The metric protocol: explicit state, ``update`` / ``compute`` / ``reset`` / ``merge``.

A metric scores one :class:`~halluscope.records.Record` at a time (:meth:`Metric.score`, a pure
function of the record and the metric's fixed resources), keeps only column sums
(:class:`~halluscope.metrics.stats.SumState`), and computes dataset-level
:class:`~halluscope.metrics.stats.MetricResult` values with bootstrap intervals. Each metric also
has a pure-function twin over plain Python data in its own module (``chair_scores``,
``pope_scores``, ...).

A metric is one file. Its class declares on this base everything the rest of halluscope needs:

* ``name``, ``columns``, ``statistics`` and :meth:`Metric.score` (required);
* ``options``: its typed options (:class:`MetricOption`: name, type, default, help), read with
  :meth:`Metric.option`; ``halluscope metrics`` lists them;
* ``needs_verification``: whether it scores verified records (claims and verdicts) rather than
  bare records;
* ``headline``: the statistics that best sum it up, in order (the console ranks groups by them);
* :meth:`Metric.from_config`, :meth:`Metric.begin`, :meth:`Metric.explain_item` (per-item
  explanation for gate messages and reports), ``report_view`` (how report.html draws its
  payload), with defaults that suit most metrics.

Metrics register once, under the ``halluscope.metrics`` entry-point group, built-ins the same
way third-party metrics do; :func:`metric_class` looks a name up, and also loads a metric that is
not installed from ``module:Class`` or ``path/to/file.py:Class``.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from halluscope.errors import ConfigError, RecordError, UnknownNameError, UnreadableImage
from halluscope.metrics.explain import Explanation, explain_payload
from halluscope.metrics.stats import (CHUNK, DEFAULT_BOOTSTRAP, MIN_UNITS, MetricResult,
                                      NonzeroUnits, RowUnits, Statistic, SumState, block_replicates,
                                      one_blas_thread, small_integers)
from halluscope.metrics.group_fold import (fold_few_keys, fold_groups_exact, group_results,
                                           split_few_keys)
from halluscope.metrics.unit_sets import UnitNames
from halluscope.metrics.units import (CLUSTER_DEFAULT, ImageKeys, group_names, item_key,
                                      record_field, unit_of)
from halluscope.records import Record

__all__ = ["CLUSTER_DEFAULT", "InputSample", "ItemScore", "Metric", "MetricOption",
           "MetricSummary", "group_names", "item_key", "record_field", "unit_of"]

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


@dataclass(frozen=True)
class InputSample:
    """What the first records of an audit's inputs hold: what metrics are inferred from
    (:meth:`Metric.fits`) when none is named."""

    tasks: frozenset[str]
    metadata_keys: frozenset[str]
    benchmarks: frozenset[str] = frozenset()
    """The ``name@version`` values of their ``benchmark`` field (``query --benchmark`` writes
    it)."""


@dataclass(frozen=True)
class MetricOption:
    """One option a metric reads, declared on its class (``Metric.options``).

    Attributes:
        name: The key: a field of :class:`~halluscope.config.AuditConfig` when ``config_field``
            (it has a CLI flag of its own), else a key of ``AuditConfig.options``
            (``--option NAME=VALUE``).
        type: ``str``, ``int``, ``float``, ``bool`` or ``Path``; a value given is checked
            (and a number or path given as text converted) against it.
        default: The value when none is given (``None``: the metric decides).
        help: One line on what it does, for ``halluscope metrics``.
        config_field: Whether ``name`` is an ``AuditConfig`` field.
        choices: The values allowed, when they are few.
    """

    name: str
    type: type
    default: Any
    help: str
    config_field: bool = False
    choices: tuple[Any, ...] = ()

    @property
    def flag(self) -> str:
        """How it is set on the command line."""
        if self.config_field:
            return "--" + self.name.replace("_", "-")
        return f"--option {self.name}=VALUE"

    def read(self, config: Any, metric: str = "") -> Any:
        """The option's value in ``config`` (an ``AuditConfig``): given, else the default."""
        if self.config_field:        # typed and checked by AuditConfig already
            value = getattr(config, self.name, None)
            return self.default if value is None else value
        value = (getattr(config, "options", None) or {}).get(self.name)
        if value is None:
            return self.default
        return self.check(value, metric)

    def check(self, value: Any, metric: str = "") -> Any:
        """``value`` as this option's type, or a :class:`ConfigError` saying what was expected."""
        where = f"option {self.name!r}" + (f" of metric {metric!r}" if metric else "")
        kind = self.type
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if not ok:
            try:
                if kind is bool and isinstance(value, str) and value.lower() in (
                        "1", "0", "true", "false", "yes", "no"):
                    value = value.lower() in ("1", "true", "yes")
                elif kind in (int, float) and isinstance(value, (str, int, float)) \
                        and not isinstance(value, bool):
                    value = kind(value)
                elif kind is Path and isinstance(value, str):
                    value = Path(value)
                elif kind is str and isinstance(value, (int, float)) \
                        and not isinstance(value, bool):
                    value = str(value)
                else:
                    raise ValueError
            except ValueError:
                raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}") from None
        if self.choices and value not in self.choices:
            raise ConfigError(f"{where}: expected {self.name} in {self.choices}, got {value!r}")
        return value

    def describe(self) -> str:
        """``name (type, default X): help`` for listings."""
        default = "" if self.default is None else f", default {self.default}"
        choices = f"; one of {', '.join(map(str, self.choices))}" if self.choices else ""
        return f"{self.name} ({self.type.__name__}{default}{choices}): {self.help}"


class Metric(ABC):
    """Base class of metrics; subclasses set ``name``, ``columns``, ``statistics``, ``score``,
    and whatever else of the declaration below differs from the defaults."""

    name: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    statistics: ClassVar[dict[str, Statistic]]
    options: ClassVar[tuple[MetricOption, ...]] = ()
    """The options it reads (:meth:`option`), with types, defaults and help."""
    headline: ClassVar[tuple[str, ...]] = ()
    """The statistics that best sum the metric up, most telling first (the console ranks
    groups by the first one a group defines; without any, statistics in declared order)."""
    meanings: ClassVar[dict[str, str]] = {}   #: statistic -> in words (report, `metrics -s`)
    empty_answer: ClassVar[str] = ("read as any other answer: an empty text, which names no "
                                   "object, claim or yes/no")
    """How the metric scores an empty model answer (nothing, or only whitespace): listed by
    ``halluscope metrics`` and said in the warning of a run that scored some."""
    infer_rank: ClassVar[int] = 100
    """Where the metric comes among those inferred for an audit (lower first)."""
    report_view: ClassVar[str] = "details"
    """How report.html shows its per-item payload: ``details`` (a list of its fields),
    ``mentions`` (object mentions highlighted in the response: ``mentioned``,
    ``hallucinated``, ``spans``, ``gt``) or ``yes-no`` (question, answer read, truth)."""
    cluster_by: str | None = CLUSTER_DEFAULT
    """Record field whose value is the bootstrap's resampling unit (set by the pipeline)."""
    by: tuple[str, ...] = ("model",)
    """Record fields whose values make groups reported beside the overall numbers."""
    explicit: bool = True
    """Whether the user asked for this metric (``--metric``; set by the pipeline, false when it
    was inferred from the records). A record of an explicit metric's kind that it cannot score
    and no other selected metric scores is a bad record (:meth:`refusal`), not passed by."""
    min_units: int = MIN_UNITS
    """Fewest units (and clusters) an interval is computed over; below it, ``ci_note`` says so."""
    needs_verification: ClassVar[bool] = False
    """Whether it scores verified records (claims, evidence, verdicts; see
    :mod:`halluscope.verification`) rather than bare ones: such a metric has a ``verifier`` and
    ``score_verified(verified, *, emit_claims=True)``; the engines verify each record once for
    all metrics that share a verifier."""

    def __init__(self, *, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                 confidence: float = 0.95):
        self.n_boot = n_boot
        self.seed = seed
        self.confidence = confidence
        self.reset()

    # -- declaration: defaults ------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Any, **kw: Any) -> "Metric":
        """Build from an :class:`~halluscope.config.AuditConfig` (the default: bootstrap
        settings only; metrics with options override it and read them with :meth:`option`)."""
        kw.setdefault("n_boot", config.n_boot)
        kw.setdefault("seed", config.seed)
        kw.setdefault("confidence", config.confidence)
        return cls(**kw)

    @classmethod
    def fits(cls, sample: InputSample, config: Any) -> bool:
        """Whether an audit that names no metric runs this one, given what its first records
        hold and the companion files ``config`` names; no by default (asked for by name)."""
        return False

    @classmethod
    def option(cls, config: Any, name: str) -> Any:
        """The value of the declared option ``name`` in ``config`` (its default if not given)."""
        for opt in cls.options:
            if opt.name == name:
                return opt.read(config, cls.name)
        raise KeyError(f"{cls.__name__} declares no option {name!r}")

    @classmethod
    def summary_line(cls) -> str:
        """The first line of the class docstring (for ``halluscope metrics``)."""
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def listing(cls) -> list[str]:
        """Extra lines ``halluscope metrics`` prints under the metric's options (POPE lists its
        answer parsers); none by default."""
        return []

    def begin(self, inputs: list[Path]) -> None:
        """Called once with the input files before the first record (POPE looks at the answer
        files for by-order alignment); nothing by default."""

    @classmethod
    def explain_item(cls, item: dict, statistic: str, group: str | None
                     ) -> Explanation | None:
        """Why one line of ``items.jsonl`` counts against ``statistic`` (within ``group``):
        ``(severity, lines)``, or ``None`` when it does not. Gate failure messages list the
        items with the highest severity. The default reads the fields of the metric's payload
        that are about hallucinations."""
        return explain_payload(item, cls.name)

    @classmethod
    def declared_statistics(cls, config: Any) -> Mapping[str, Statistic] | None:
        """The statistics an audit with ``config`` computes, known before it scores (gates are
        checked against them first: a misspelled statistic stops the audit at once); ``None``
        where only scoring tells. The class's own, by default; a metric whose statistics
        depend on its options says so here."""
        return cls.statistics or None

    @classmethod
    def statistics_for(cls, info: Mapping[str, Any]) -> dict[str, Statistic] | None:
        """The statistics a run with run-sheet ``info`` computed (``compare`` recomputes them
        from the items); ``None`` when ``info`` does not say. The class's own by default."""
        return cls.statistics

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

    def refusal(self, record: Record) -> RecordError | None:
        """Why ``record``, passed by (:meth:`applies_to` false), is nonetheless of this metric's
        kind and cannot be scored (a caption without a COCO image id for CHAIR), as the bad
        record's error; ``None`` (the default) when it is simply not this metric's. Asked only
        of a metric the user named (:attr:`explicit`), for a record no selected metric scored."""
        return None

    @abstractmethod
    def score(self, record: Record) -> ItemScore:
        """Score one record (pure: no change to the metric's state)."""

    def scores_columns(self) -> bool:
        """Whether :meth:`score_columns` can score a whole file read as columns (none by
        default: records are scored one by one)."""
        return False

    def score_columns(self, cols: Any, fold: bool = True) -> Any:
        """Score each line of a :class:`~halluscope.columns.RecordColumns` and fold the scored
        ones (or, if not ``fold``, let :meth:`fold_columns` do it), as :meth:`update` would line
        by line. Returns ``ok`` (a boolean array: scored), ``outcome[i]`` (``ok``, ``error``,
        ``skip``), ``errors[i]``, ``item(i)`` (an :class:`ItemScore`) and ``item_columns``, the
        items as columns (``row``, ``unit``, ``groups``, the ``payload``'s keys). Only called
        when :meth:`scores_columns`."""
        raise NotImplementedError(f"{self.name} does not score columns")

    def fold_columns(self, cols: Any, scores: Any) -> None:
        """Fold ``score_columns(cols, fold=False)``; changes only the state, not its inputs."""
        raise NotImplementedError(f"{self.name} does not score columns")

    def describe(self) -> dict[str, Any]:
        """What the run sheet records about this metric (variant, spec, data hashes)."""
        return {}

    def finish(self) -> None:
        """Called once after the last record: final consistency checks."""

    # -- state --------------------------------------------------------------------------------
    def reset(self) -> None:
        self._unit_names = UnitNames()          # (one numbering of the clusters: its states')
        self.state = SumState(self.columns, self.n_boot, self.seed, self._unit_names)
        self.group_states: dict[str, SumState] = {}
        self.tallies: dict[str, Counter] = {}
        self._rows: list[tuple[float, ...]] = []
        self._row_groups: list[tuple[str, ...]] = []
        self._row_units: list[str | None] = []
        self._row_keys: list[str] = []
        self._added = 0
        self._own_units: dict[str, int] = {}    # the ids unit_of saw: a repeat is another item
        self._images = ImageKeys()              # the image paths it saw: same file, same cluster

    #: Whether :meth:`score` may run in another process (workers, Ray) with :meth:`fold` in the
    #: parent. Metrics whose ``update`` keeps cross-record state (consistency) set False and
    #: run in the parent.
    parallel: ClassVar[bool] = True

    def update(self, record: Record) -> ItemScore:
        """Score ``record``, fold it into the state and return the item's score.

        A record whose image (or document page) cannot be read is not scored: it is counted in
        ``tallies["unreadable"]["records"]`` (apart from claims that are merely unverifiable).
        A :class:`~halluscope.errors.RecordError` (that one included) is raised again at the
        record's ``file:line`` for the audit to list."""
        try:
            item = self.score(record)
        except RecordError as exc:
            if isinstance(exc, UnreadableImage):
                self.fold_error(record, exc)
            located = exc.located(record.source)
            if located is exc:
                raise
            raise located from None
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
            record: Record | None = None, unit: str | None = None) -> None:
        """Fold one item's row in. With its ``record``, the item is resampled with its cluster
        (:func:`unit_of`, whose key draws its bootstrap weights) and joins the groups of
        :attr:`by` as well; else ``unit`` (a cluster the metric knows for an item built from
        several records, such as their image) or ``key`` (:func:`item_key`) draws its weights
        (without any: its position among the items added)."""
        if len(item.row) != len(self.columns):
            raise ValueError(f"{self.name}: expected {len(self.columns)} values "
                             f"{self.columns}, got {len(item.row)}")
        if record is not None:
            # a metric that knows the image better than the record (POPE: from the aligned
            # question) sets the unit itself for the default image clustering
            unit = (item.unit if item.unit is not None and self.cluster_by == CLUSTER_DEFAULT
                    else unit_of(record, self.cluster_by, self._own_units, self._images))
            if self.by:
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
        resampling unit, shared by the unit's items and groups (each group's interval uses the
        same replicates). Rows are summed per unit first, so the replicates cost
        ``n_boot x units`` rather than ``n_boot x items`` (six POPE questions share an image)."""
        if not self._rows:
            return
        x = np.asarray(self._rows, dtype=float)
        index: dict[str, int] = {}
        inv = np.fromiter((index.setdefault(k, len(index)) for k in self._row_keys),
                          dtype=np.intp, count=len(x))
        weights = self.state.draw_weights(list(index))
        units = RowUnits.of_keys(inv, list(index), self._row_units)    # once for all states
        self.state.add_rows(x, weights, inv, units)
        listed: dict[str, list[int]] = {}
        for i, groups in enumerate(self._row_groups):
            for g in groups:
                listed.setdefault(g, []).append(i)
        members = {g: np.asarray(idx, dtype=np.intp) for g, idx in listed.items()}
        if weights is not None and members and small_integers(x):
            fold_groups_exact(self, x, weights, inv, list(index), units, members)
        else:
            for g, idx in members.items():
                st = self._group_state(g)
                if len(idx) == len(x):      # every item (a POPE split, one model): no copies
                    st.add_rows(x, weights, inv, units)
                else:
                    st.add_rows(x[idx], weights, inv[idx], units.take(idx))
        self._rows, self._row_groups, self._row_units, self._row_keys = [], [], [], []

    def add_block(self, x: np.ndarray, unit_of_row: np.ndarray, units: list[str],
                  members: dict[str, np.ndarray], codes: np.ndarray | None = None) -> None:
        """Fold many items at once: rows ``x`` (m x k, :func:`small_integers` only; with
        ``codes``, the distinct rows, item ``i``'s row being ``x[codes[i]]``), each item's
        resampling unit (``units[unit_of_row[i]]``, distinct names whose keys draw the weights,
        as :meth:`add` with a record) and each group's items (``members``, ascending). The
        state is the one :meth:`add` item by item gives, to the bit; each unit's weights are
        drawn once for the whole block and all its groups
        (:func:`~halluscope.metrics.stats.block_replicates`)."""
        self.flush()
        if codes is None:
            x, codes = np.unique(x, axis=0, return_inverse=True) if len(x) else (x, x[:, 0])
        codes = np.asarray(codes, dtype=np.intp).reshape(-1)
        if not len(codes):
            return
        if not small_integers(x):
            raise ValueError(f"{self.name}: add_block takes rows of small integers")
        k, n_units, d = x.shape[1], len(units), len(x)
        members, few = split_few_keys(members, unit_of_row, n_units, x[codes],
                                      self.group_states.get, self.n_boot)
        rows = [np.arange(len(codes)), *(np.asarray(i, dtype=np.intp) for i in members.values())]
        per_unit = np.zeros((n_units, k * len(rows)))
        present = []
        small = len(codes) * float(np.abs(x).max(initial=0)) < 2.0 ** 31   # bounds every sum
        # every product on one BLAS thread: with the other core busy, a threaded OpenBLAS took
        # 50-60 ms per (units x 6) @ (6 x 6) product (0.4 ms on one), and its spinning threads
        # slowed what came after; integer sums are the same on any number of threads
        one_hot = d == k and np.array_equal(x, np.eye(k))     # (POPE's rows): counts as they are
        with one_blas_thread():
            for j, idx in enumerate(rows):     # items per (unit, distinct row), times the rows
                units_of = unit_of_row[idx]
                counts = np.bincount(units_of * d + codes[idx],
                                     minlength=n_units * d).reshape(n_units, d)
                per_unit[:, j * k:(j + 1) * k] = counts if one_hot else counts @ x  # (exact)
                present.append(np.bincount(units_of, minlength=n_units) > 0)
            boot = (block_replicates(per_unit, units, self.n_boot, self.seed,
                                     integers=small or None) if self.n_boot else None)
        nonzero = NonzeroUnits(per_unit, units)
        for j, (g, idx) in enumerate(zip(["", *members], rows)):
            state = self.state if j == 0 else self._group_state(g)
            # small sums are exact in any order: the counts of each distinct row times the
            # rows (a column sum of per_unit's slice went row by row: 18 ms a group at 50,000)
            totals = (np.bincount(codes[idx], minlength=d) @ x if small
                      else per_unit[:, j * k:(j + 1) * k].sum(axis=0))
            state.add_summed(len(idx), totals,
                             None if boot is None else boot[:, j * k:(j + 1) * k],
                             [units[u] for u in np.flatnonzero(present[j]).tolist()],
                             lambda c, j=j: nonzero.units(j * k + c))
        fold_few_keys(few, units, self._group_state)    # (after: the others' order as it was)
        self._added += len(codes)

    def _group_state(self, group: str) -> SumState:
        if group not in self.group_states:
            self.group_states[group] = SumState(self.columns, self.n_boot, self.seed,
                                                self._unit_names)
        return self.group_states[group]

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
        for key, count in other._own_units.items():
            self._own_units[key] = self._own_units.get(key, 0) + count
        self._images.merge(other._images)

    def _results(self, state: SumState) -> dict[str, MetricResult]:
        return {name: state.result(name, stat, self.confidence, self.min_units)
                for name, stat in self.statistics.items()}

    def compute(self) -> MetricSummary:
        self.flush()
        return MetricSummary(
            name=self.name,
            results=self._results(self.state),
            n=self.state.n,
            groups=(group_results(self.group_states, self.statistics, self.confidence,
                                  self.min_units) if type(self)._results is Metric._results
                    else {g: self._results(st) for g, st in sorted(self.group_states.items())}),
            tallies={k: dict(c.most_common()) for k, c in self.tallies.items()},
            info={**self.describe(), "bootstrap": {
                "n_boot": self.n_boot, "cluster_by": self.cluster_by or "item",
                "clusters": len(self.state.units), "min_units": self.min_units}},
        )


def available_metrics() -> dict[str, Any]:
    """Registered metrics: entry-point name -> entry point (not loaded)."""
    return {ep.name: ep for ep in metadata.entry_points(group="halluscope.metrics")}


_REGISTERED: dict[str, type[Metric]] = {}
"""Registered metric classes this process has loaded, by name: an audit looks its metrics up
several times (options, settings, console, report), and each :func:`available_metrics` reads
the entry points of every installed package (~10 ms)."""


def metric_class(name: str) -> type[Metric]:
    """The metric class registered as ``name``, or the class a reference ``module:Class`` /
    ``path/to/file.py:Class`` names (a metric that is not installed). An unknown name is a
    :class:`~halluscope.errors.UnknownNameError` naming the registered ones."""
    if ":" in name:
        from halluscope.metrics.references import load_reference
        return load_reference(name)
    if name in _REGISTERED:
        return _REGISTERED[name]
    eps = available_metrics()
    if name in eps:
        cls = _REGISTERED[name] = eps[name].load()
        return cls
    known = sorted(eps)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise UnknownNameError(f"unknown metric {name!r}{hint}; expected one of: {', '.join(known)} "
                           f"(or module:Class, path/to/file.py:Class)")


_SEEN: dict[str, type[Metric]] = {}
"""Metric classes this process ran that are not registered (``module:Class`` references,
objects passed to ``audit``), by metric name, so that the report finds their declarations."""


def remember(cls: type[Metric]) -> None:
    """Note the latest metric class run in this process under its name (:func:`declared`)."""
    name = getattr(cls, "name", None)
    if isinstance(name, str):
        _SEEN[name] = cls


def declared(name: str) -> type[Metric] | None:
    """The class that declares metric ``name`` (registered, or run in this process), or
    ``None`` when there is none: what readers of results (console, report, gate messages) use
    to find a metric's declaration without failing on a metric they do not know."""
    if name in _SEEN:
        return _SEEN[name]
    try:
        return metric_class(name)
    except Exception:  # noqa: BLE001 - a broken third-party entry point must not stop a report
        return None
