"""Paired comparison of audit runs: does run B hallucinate less than run A?

:func:`compare` reads the output folders of two or more audits (``items.jsonl`` keeps, per item
and metric, the row of column values, the bootstrap unit and the groups) and, for every metric
both runs computed, re-aggregates the statistics over the items the runs share:

* items are paired by image and id (POPE: image id + question id), by the file's name too where
  an id repeats across a run's input files, and by the model where a run holds several models'
  answers (:mod:`halluscope.compare_runs`); items one run lacks are counted and named
  (``only_a``, ``only_b``, ``unpaired_items``), answers whose model the other run lacks are
  said (``ambiguous_pairs``);
* ``a`` and ``b`` are the statistic over the paired items of each run, ``diff`` is ``b - a``;
* ``ci`` is a paired-bootstrap interval of ``diff``: the SAME replicate weights for both runs,
  drawn per resampling unit (the image where several items share one; A's unit joined with B's
  where B clustered coarser: :func:`~halluscope.compare_runs.joined_units`), so a run compared
  with itself gives ``[0, 0]``; the runs' own replicates, seed and confidence do not enter it,
  and a difference in any is said (``bootstrap_differs``);
* statistics over groups no item's row carries (HallusionBench's fAcc, qAcc, easy / hard qAcc)
  are rebuilt from each run's items, checked against its results.json and paired group by
  group (:mod:`halluscope.compare_groups`); a group in one run only is said (``unpaired``);
* statistics read off the items' lines (HallusionBench's Yes/No bias) pair item by item; a
  statistic compare does not pair is in ``left_out`` with why, a side with no value says why
  (``why_no_value``), answers not known to be whole are said (``finish``);
* below :data:`~halluscope.metrics.stats.MIN_UNITS` paired items, or where a side's statistic
  is over fewer units of its own (mentions, yes answers) or clusters, there is no interval
  (``ci_note`` says so), as in the audit.

Gates on differences (``diff.chair.chair_i@upper=0``) are evaluated by :func:`diff_value` and
:func:`diff_gate_failures` (:mod:`halluscope.gates.diff`, re-exported here).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from halluscope.compare_by_group import group_members
from halluscope.compare_groups import (GROUP_COLUMNS, GROUP_MEAN, GROUP_SHARE,
                                       GROUP_SHARE_UNDIRECTED, PairedGroups, identified_items,
                                       item_statistics, paired_groups, paired_groups_within,
                                       truth_clash)
from halluscope.compare_changes import (_clean, _evaluate, changed_items, unpaired_items,
                                        unpaired_note)
from halluscope.compare_inputs import (find_metric_class, load_metric_files, not_in_both,
                                       recomputable_statistics, run_folders)
from halluscope.compare_runs import (RunItems, _setup, align, bootstrap_differs,  # noqa: F401
                                     finish_note, joined_units, load_run, pair_key,
                                     partial_of, same_setup)  # (re-exported)
from halluscope.errors import ConfigError
from halluscope.gates.assertions import over_no_units
from halluscope.gates.diff import (Gates, NoInterval, diff_gate_failures, diff_value,  # re-exported
                                   few_pairs_note, no_value, partial_reason, too_few_paired)
from halluscope.metrics.intervals import decide_interval
from halluscope.report.compare_html import render_html  # noqa: F401  (re-exported)
from halluscope.report.compare_view import CompareViews
from halluscope.metrics.draws import ReplicateSums
from halluscope.metrics.stats import DEFAULT_BOOTSTRAP, MIN_UNITS, Statistic, units_over

log = logging.getLogger(__name__)

COMPARE_JSON = "compare.json"
COMPARE_HTML = "compare.html"


def _compare_metric(name: str, a: dict, b: dict, *, n_boot: int, seed: int,
                    confidence: float, runs: tuple[RunItems, RunItems]
                    ) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], dict[str, str],
                               dict[str, dict[str, dict[str, Any]]]]:
    """Each run's statistics as that run computed them (its info: a POPE run with lmms-eval's
    parser has lmms-eval's definitions, the other run may not), over the paired items, those
    read off the items' lines too (:func:`~halluscope.compare_groups.item_statistics`); and
    ``metric.statistic`` -> why one of those is left out, and the entries per group."""
    info_a, info_b = (run.info.get(name) for run in runs)
    keys = sorted(set(a) & set(b))
    width = len(next(iter(a.values()))[0])
    stats_a = recomputable_statistics(name, width, info_a)
    stats_b = recomputable_statistics(name, len(next(iter(b.values()))[0]), info_b)
    if not stats_a or not stats_b:
        log.warning("compare: metric %s: its statistics cannot be recomputed from the items "
                    "(they depend on how the run was set up, or the columns differ); left out",
                    name)
        return {}, [], {}, {}
    one_side = {f"{name}.{s}": f"computed by run {'AB'[s in stats_b]} only (its settings "
                               f"differ: {name}'s variant or parser)"
                for s in sorted(set(stats_a) ^ set(stats_b))}     # (said by the caller)
    xa = np.asarray([a[k][0] for k in keys], dtype=float).reshape(len(keys), width)
    xb = np.asarray([b[k][0] for k in keys], dtype=float).reshape(len(keys), width)
    units = joined_units(keys, a, b)
    weights = ReplicateSums(units, n_boot, seed) if n_boot and keys else None
    common = {"n_paired": len(keys), "only_a": len(set(a) - set(b)),
              "only_b": len(set(b) - set(a)), "clusters": len(set(units))}
    # paired answers not known to be whole (cut at the token limit, an unknown finish reason)
    unfinished = {side: sum(items[k][2].get("finish_reason") is not None for k in keys)
                  for side, items in (("a", a), ("b", b))}
    if any(unfinished.values()):
        common["unfinished"] = unfinished
    cluster_of = (weights.cluster_of if weights is not None else
                  np.unique(units, return_inverse=True)[1].reshape(-1)) if keys else None
    out: dict[str, dict[str, Any]] = {}
    for stat_name in (s for s in stats_a if s in stats_b):
        out[f"{name}.{stat_name}"] = _entry(stats_a[stat_name], stats_b[stat_name], xa, xb,
                                           weights, dict(common), n_boot, confidence,
                                           cluster_of)
    extra, left = item_statistics(name, *runs, a, b, keys)
    left.update(one_side)
    for stat_name, r in extra.items():
        out[f"{name}.{stat_name}"] = _entry((r.stat, r.columns), (r.stat, r.columns), r.xa, r.xb,
                                           weights, dict(common), n_boot, confidence,
                                           cluster_of)
    by_group = {group: {f"{name}.{s}": entry for s, entry in entries.items()}
                for group, entries in _group_entries(name, keys, a, b, (stats_a, stats_b),
                                                     (xa, xb), units, n_boot, seed,
                                                     confidence, extra).items()}
    return out, changed_items(name, stats_a, stats_b, keys, a, b, xa, xb), left, by_group


def _group_entries(name: str, keys: list, a: dict, b: dict, stats: tuple[dict, dict],
                   x: tuple[np.ndarray, np.ndarray], units: list[str], n_boot: int, seed: int,
                   confidence: float, extra: Mapping[str, Any]
                   ) -> dict[str, dict[str, dict[str, Any]]]:
    """Group -> statistic -> its entry over the paired items in that group in both runs
    (:func:`~halluscope.compare_by_group.group_members`), by the rules of every entry; its
    replicate weights are drawn from its units' names as the whole comparison's are, so each
    paired item keeps its weights. A group of one run only pairs no item: no value. ``extra``:
    the statistics read off the items' lines (:class:`~halluscope.compare_groups.ItemRows`
    over ``keys``: HallusionBench's Yes/No bias), taken over the group's rows of them too."""
    (stats_a, stats_b), (xa, xb) = stats, x
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for group, (rows, only_a, only_b) in group_members(name, keys, a, b).items():
        mine = [units[i] for i in rows]
        weights = ReplicateSums(mine, n_boot, seed) if n_boot and rows else None
        common = {"n_paired": len(rows), "only_a": only_a, "only_b": only_b,
                  "clusters": len(set(mine))}
        cluster_of = (weights.cluster_of if weights is not None else
                      np.unique(mine, return_inverse=True)[1].reshape(-1)) if rows else None
        ga, gb = xa[rows], xb[rows]
        out[group] = {s: _entry(stats_a[s], stats_b[s], ga, gb, weights, dict(common), n_boot,
                                confidence, cluster_of) for s in stats_a if s in stats_b}
        out[group].update({s: _entry((r.stat, r.columns), (r.stat, r.columns), r.xa[rows],
                                     r.xb[rows], weights, dict(common), n_boot, confidence,
                                     cluster_of) for s, r in extra.items()})
    return out


def _entry(side_a: tuple[Statistic, tuple[str, ...]], side_b: tuple[Statistic, tuple[str, ...]],
           xa: np.ndarray, xb: np.ndarray, weights: ReplicateSums | None, entry: dict[str, Any],
           n_boot: int, confidence: float, cluster_of: np.ndarray | None = None
           ) -> dict[str, Any]:
    """One statistic's entry: A's value by A's definition, B's by B's, and the paired-bootstrap
    interval of the difference: none where a side is over fewer than ``MIN_UNITS`` units of
    its own (the audit's rule: mentions for CHAIR_i, yes answers for precision) or those units
    lie in fewer than ``MIN_UNITS`` clusters (``cluster_of``: each paired item's cluster)."""
    (stat, columns), (stat_b, columns_b) = side_a, side_b
    n_keys, clusters = entry["n_paired"], entry["clusters"]
    va, vb = (_side_value(s, c, x, n_keys) for s, c, x in
              ((stat, columns, xa), (stat_b, columns_b, xb)))
    entry = {"a": va, "b": vb, "diff": None if va is None or vb is None else _clean(vb - va),
             **entry, "higher_is_better": stat.higher_is_better,
             **({} if stat.direction else {"direction": False})}
    why = {side: _why_no_value(s, c, x, n_keys) for side, v, s, c, x in
           (("a", va, stat, columns, xa), ("b", vb, stat_b, columns_b, xb)) if v is None}
    if why:         # said beside the entry, and by a gate on it
        entry["why_no_value"] = why
    if stat.count and isinstance(va, int) and isinstance(vb, int):
        entry["diff"] = vb - va         # whole counts stay whole (:func:`_side_value`)
    if stat.bounds is not None:         # a difference of two values in [lo, hi]
        lo, hi = stat.bounds
        entry["diff_bounds"] = [lo - hi, hi - lo]
    if stat.count:
        entry["count"] = True
    elif va is None or vb is None:
        entry.update(ci=None, ci_note="no difference: a side has no value", ci_reason="no_value")
    elif weights is None:
        note, kind = (("no bootstrap replicates", "no_bootstrap") if not n_boot
                      else ("no paired items", "no_paired"))
        entry.update(ci=None, ci_note=note, ci_reason=kind)
    else:
        def replicates() -> np.ndarray:
            boot_a, boot_b = weights.of(xa), weights.of(xb)
            return (np.asarray(_evaluate(stat_b, columns_b, boot_b), dtype=float)
                    - np.asarray(_evaluate(stat, columns, boot_a), dtype=float))

        units, holding = _side_units(side_a, side_b, xa, xb, cluster_of)
        ci, reason = decide_interval(units, clusters, MIN_UNITS, confidence, replicates,
                                     holding=holding, paired=n_keys)
        entry["ci"] = list(ci) if ci is not None else None
        if reason is not None:
            entry.update(ci_note=reason.note, ci_reason=reason.kind)
        if reason is None or not reason.too_small:
            entry["confidence"] = confidence        # the bootstrap ran
    return entry


def _side_units(side_a: tuple[Statistic, tuple[str, ...]],
                side_b: tuple[Statistic, tuple[str, ...]], xa: np.ndarray, xb: np.ndarray,
                cluster_of: np.ndarray | None) -> tuple[tuple[int, int], int | None]:
    """What the audit's rule (:func:`~halluscope.metrics.intervals.too_few`) weighs for a
    difference besides its paired items: each side's units, and the clusters holding them
    (where either side has some; ``None`` without clusters)."""
    n_keys = len(xa)
    holds = np.zeros(n_keys, dtype=bool)
    ns = []
    for (stat, columns), x in ((side_a, xa), (side_b, xb)):
        ns.append(units_over(stat, columns, x.sum(axis=0), n_keys))
        cols = [columns.index(c) for c in stat.unit_columns]
        holds |= (np.abs(x[:, cols]).sum(axis=1) > 0) if cols else True
    over = len(np.unique(cluster_of[holds])) if cluster_of is not None else None
    return (ns[0], ns[1]), over


def _side_value(stat: Statistic, columns: tuple[str, ...], x: np.ndarray,
                n_keys: int) -> float | None:
    """One side's value, or ``None`` when it has none: undefined, a rate over no units
    (AMBER's 0.001 starting counters give one), which the audit's gates refuse as well, or
    any statistic, a count too, over no paired item (a 0 there would come from nothing, and a
    gate on it would pass). A whole count is an int; a rate stays a float."""
    if n_keys == 0:
        return None
    sums = x.sum(axis=0)
    value = _clean(_evaluate(stat, columns, sums))
    if not stat.count and over_no_units(units_over(stat, columns, sums, n_keys), value):
        return None
    if stat.count and value is not None and value.is_integer():
        return int(value)       # a count written as results.json writes it (96, not 96.0)
    return value


def _why_no_value(stat: Statistic, columns: tuple[str, ...], x: np.ndarray, n_keys: int) -> str:
    """Why one side of an entry has no value (:func:`_side_value`)."""
    if n_keys == 0:
        return "no item pairs"
    sums = x.sum(axis=0)
    own = stat.why_none({c: sums[i] for i, c in enumerate(columns)}) if stat.why_none else None
    if own:
        return own
    if stat.unit_columns and not units_over(stat, columns, sums, n_keys):
        return f"over no {' or '.join(stat.unit_columns)} among the {n_keys} paired items"
    return f"undefined over the {n_keys} paired items"


@dataclass
class Comparison:
    """Run ``b`` against run ``a``: metric -> entry, and the items that changed verdict."""

    a: str
    b: str
    metrics: dict[str, dict[str, Any]]
    changed: list[dict[str, Any]] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)   # metric (or metric.statistic) -> why
    #: the runs' answers not known to be whole (``a``, ``b``: :func:`finish_of`) and what that
    #: means for B − A (``note``); empty where both read only whole answers, alike
    finish: dict[str, Any] = field(default_factory=dict)
    #: side (``a``, ``b``) -> its run's inputs from a query run that did not finish
    partial: dict[str, list[Any]] = field(default_factory=dict)
    #: group (``split:random``) -> ``metric.statistic`` -> its entry over the group's paired
    #: items (:func:`_group_entries`): what diff gates with ``@GROUP`` read
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: metric -> its items that pair with none (:func:`~halluscope.compare_changes.unpaired_items`)
    unpaired_items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def partial_note(self, allowed: bool = False) -> str | None:
        """What is said beside the table where a side is partial (``allowed``: compare
        --allow-unfinished-query was given); None where neither is."""
        why = partial_reason(self.a, self.b, self.partial)
        if not why:
            return None
        return (f"{why}: its numbers are over the answers held only, so B − A is not over the "
                f"whole benchmark; " + ("the diff gates were judged on them "
                                        "(--allow-unfinished-query)" if allowed else
                                        "no diff gate is decided on this comparison"))

    def item_changes(self) -> dict[str, str]:
        """Item -> how its verdict changed, each item once however many metrics scored it:
        ``better`` (better by one metric or more, worse by none), ``worse`` (the reverse) or
        ``mixed`` (better by one metric, worse by another)."""
        moves: dict[str, set[str]] = {}
        for c in self.changed:
            moves.setdefault(c["key"], set()).add(c["change"])
        return {k: next(iter(m)) if len(m) == 1 else "mixed" for k, m in moves.items()}

    def change_counts(self) -> dict[str, Any]:
        """Items that changed verdict (``better``, ``worse``, ``mixed``: each item counted
        once), and per metric the items its verdict moved (``by_metric``)."""
        kinds = list(self.item_changes().values())
        by_metric: dict[str, dict[str, int]] = {}
        for c in self.changed:
            counts = by_metric.setdefault(c["metric"], {"better": 0, "worse": 0})
            counts[c["change"]] += 1
        return {**{k: kinds.count(k) for k in ("better", "worse", "mixed")},
                "by_metric": by_metric}

    def setup_notes(self) -> list[str]:
        """One line per metric the two runs scored with other settings (``setup_differs``)."""
        notes: dict[str, str] = {}
        for key, entry in self.metrics.items():
            if entry.get("setup_differs"):
                metric = key.partition(".")[0]
                notes.setdefault(metric, f"{metric} was scored with other settings "
                                         f"({'; '.join(entry['setup_differs'])}): A and B are "
                                         f"each run's own numbers, B − A is not the model's "
                                         f"change alone, and diff gates on {metric} are refused")
        return list(notes.values())

    def notes(self) -> list[str]:
        """What to say beside the table: :meth:`setup_notes`, then per metric the items of
        repeated keys that could not be paired and a bootstrap set otherwise in the runs."""
        notes: dict[str, str] = {}
        for key, entry in self.metrics.items():
            metric = key.partition(".")[0]
            if entry.get("ambiguous_pairs"):
                notes.setdefault(f"p:{metric}", f"{metric}: {entry['ambiguous_pairs']}")
            if entry.get("unpaired"):
                notes.setdefault(f"u:{entry['unpaired']}", entry["unpaired"])  # said once
            if entry.get("bootstrap_differs"):
                notes.setdefault(f"b:{metric}",
                                 _bootstrap_note(metric, entry["bootstrap_differs"]))
            few = few_pairs_note(entry)       # runs on other data: few items pair
            if few:
                notes.setdefault(f"f:{metric}", f"{metric}: {few}")
            if entry.get("why_no_value"):     # a gate on it fails, saying the same
                notes[f"v:{key}"] = f"{key} has no difference{no_value(entry)}"
        finish = [self.finish["note"]] if self.finish.get("note") else []
        alone = [unpaired_note(m, u) for m, u in self.unpaired_items.items()]
        return self.setup_notes() + finish + list(notes.values()) + alone

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "metrics": self.metrics,
                "changed": self.change_counts(),
                **({"left_out": self.left_out} if self.left_out else {}),
                **({"finish": self.finish} if self.finish else {}),
                **({"partial": self.partial} if self.partial else {}),
                **({"groups": self.groups} if self.groups else {}),
                **({"unpaired_items": self.unpaired_items} if self.unpaired_items else {})}


@dataclass
class CompareResult(CompareViews):
    """Every run after the first compared with the first (the baseline); in a notebook,
    ``to_pandas()`` and the console's table as HTML (:mod:`halluscope.report.compare_view`)."""

    runs: list[str]
    comparisons: list[Comparison]
    #: compare's own bootstrap (``n_boot``, ``seed``, ``confidence``): its intervals' settings
    bootstrap: dict[str, Any] = field(default_factory=dict)
    #: judge the diff gates on a partial run (``compare --allow-unfinished-query``)
    allow_unfinished_query: bool = False

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """The first comparison's metrics (run 2 against run 1)."""
        return self.comparisons[0].metrics if self.comparisons else {}

    def to_dict(self) -> dict[str, Any]:
        partial = any(c.partial for c in self.comparisons)
        return {"runs": self.runs, "baseline": self.runs[0],
                **({"bootstrap": self.bootstrap} if self.bootstrap else {}),
                **({"partial": True} if partial else {}),
                **({"allow_unfinished_query": self.allow_unfinished_query}
                   if partial or self.allow_unfinished_query else {}),
                "metrics": self.metrics, "comparisons": [c.to_dict() for c in self.comparisons]}

    def save(self, out: str | Path) -> Path:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        from halluscope.atomicfiles import write_text_atomically
        from halluscope.redact import redact_strings
        from halluscope.report.visible import visible_controls
        # whole or not at all, as the audit's outputs: a reader never sees half a file; its
        # texts (paths, notes, model names) redacted as compare.html's are
        write_text_atomically(out / COMPARE_JSON,
                              json.dumps(redact_strings(self.to_dict()), indent=2) + "\n")
        write_text_atomically(out / COMPARE_HTML, visible_controls(render_html(self, out)))
        return out / COMPARE_JSON


def _check_pairs(a: RunItems, b: RunItems, pairs: Mapping[str, tuple[dict, dict, str | None]]
                 ) -> None:
    """Two runs that pair no item are refused (nothing would be compared: the inputs differ,
    or their items are named otherwise; ``pairs``: metric -> A's and B's aligned items and
    what could not be paired); a metric that pairs less than half of either run's items is
    said, since its numbers hold only the items both runs have."""
    def example(items: dict) -> str:
        return repr(next(iter(items)))

    if all(not set(ia) & set(ib) for ia, ib, _ in pairs.values()):
        n, (ia, ib, _) = next(iter(pairs.items()))
        unclear = "".join(f"; {name}: {note}" for name, (_, _, note) in pairs.items() if note)
        raise ConfigError(f"{a.path} and {b.path} share no item: items pair by image, document "
                          f"and id, and no key of A is one of B (A's first is "
                          f"{example(ia)}, B's {example(ib)}); were they "
                          f"audited on the same questions or images?{unclear}")
    for n, (ia, ib, _) in pairs.items():
        paired = len(set(ia) & set(ib))
        if too_few_paired(paired, len(ia), len(ib)):     # a diff gate fails there too
            log.warning("compare: metric %s: only %d of A's %d and B's %d items pair (by image, "
                        "document and id); its numbers hold those %d items alone", n, paired,
                        len(ia), len(ib), paired)


def _said(name: str, base: RunItems, other: RunItems) -> tuple[list[str], list[str]]:
    """How ``name`` was scored otherwise in the two runs (settings; bootstrap), said in the
    log as well as returned."""
    differ = same_setup(name, base, other)
    if differ:
        log.warning("compare: %s was scored with other settings in the two runs (%s): "
                    "each run's numbers are its own, so B − A mixes the change of "
                    "model with the change of settings, and a diff gate on %s is "
                    "refused", name, "; ".join(differ), name)
    boot = bootstrap_differs(name, base, other)
    if boot:
        log.warning("compare: %s", _bootstrap_note(name, boot))
    return differ, boot


def _bootstrap_note(metric: str, differs: Sequence[str]) -> str:
    clusters = any(d.startswith("cluster_by") for d in differs)
    return (f"{metric}'s two runs bootstrapped otherwise ({'; '.join(differs)}): compare's "
            f"interval draws its own replicates (its --bootstrap, --seed, --confidence)"
            + (", resampling A's units joined with B's wherever B's cluster holds items of "
               "several of A's (a cluster of either run is never split)" if clusters else
               ", so the runs' own settings do not enter it"))


def _compare_runs(base: RunItems, other: RunItems, n_boot: int, seed: int,
                  confidence: float) -> Comparison:
    """``other`` against ``base``: every metric both scored, over their paired items."""
    metrics: dict[str, dict[str, Any]] = {}
    changed: list[dict[str, Any]] = []
    pairs: dict[str, tuple[dict, dict, str | None]] = {}
    groups: dict[str, dict[str, dict[str, Any]]] = {}       # group -> metric.statistic -> entry
    alone: dict[str, dict[str, Any]] = {}                   # metric -> items that pair with none
    left_out = not_in_both(base, other)
    for name, why in left_out.items():
        log.warning("compare: metric %s left out: %s", name, why)
    for name in (n for n in base.metrics if n in other.metrics):
        missing = find_metric_class(name, (base, other))
        if missing:
            log.warning("compare: metric %s left out: %s", name, missing)
            left_out[name] = missing
            continue
        differ, boot = _said(name, base, other)
        try:        # by the question answered where the metric says it (HallusionBench)
            aligned = identified_items(name, base.metrics[name], other.metrics[name])
        except ValueError as exc:
            left_out[name] = f"its items cannot be paired by question: {exc}"
            log.warning("compare: metric %s left out: %s", name, left_out[name])
            continue
        a_items, b_items, unclear = aligned or align(base.metrics[name], other.metrics[name])
        clash = truth_clash(name, a_items, b_items)
        if clash:       # as other companion files are refused: not the same questions
            raise ConfigError(f"{base.path} and {other.path}: {clash}")
        if unclear:
            log.warning("compare: metric %s: %s", name, unclear)
        unpaired, unclear = (unclear, None) if aligned else (None, unclear)
        entries, moved, skipped, by_group = _compare_metric(
            name, a_items, b_items, n_boot=n_boot, seed=seed, confidence=confidence,
            runs=(base, other))
        for entry in entries.values() if unpaired else ():     # the questions left out
            entry["unpaired"] = unpaired
        if not entries:     # said in the log by _compare_metric; listed, never dropped
            left_out[name] = _not_recomputed(name, base, other)
            continue
        grouped, more, within = _grouped_entries(name, base, other, n_boot, seed, confidence)
        entries.update(grouped)
        for group, part in within.items():      # fAcc, qAcc ... within VD, VS_chart, ...
            by_group.setdefault(group, {}).update(part)
        skipped.update(more)
        skipped.update(_not_compared(name, entries.keys() | skipped.keys(), base, other))
        for key, why in skipped.items():
            log.warning("compare: %s left out: %s", key, why)
        left_out.update(skipped)
        for entry in entries.values():
            entry.update({"setup_differs": differ} if differ else {},
                         **({"bootstrap_differs": boot} if boot else {}),
                         **({"ambiguous_pairs": unclear} if unclear else {}))
        metrics.update(entries)
        for group, part in by_group.items():
            groups.setdefault(group, {}).update(part)
        changed.extend(moved)
        pairs[name] = (a_items, b_items, unclear or unpaired)
        alone[name] = unpaired_items(a_items, b_items)
    if not metrics:
        why = "".join(f"; {name}: {reason}" for name, reason in left_out.items())
        raise ConfigError(f"{base.path} and {other.path} share no metric to compare{why}")
    _check_pairs(base, other, pairs)
    note = finish_note(base, other)
    if note:
        log.warning("compare: %s", note)
    return Comparison(str(base.path), str(other.path), metrics, changed, left_out,
                      {"a": base.finish, "b": other.finish, "note": note} if note else {},
                      partial_of(base, other), dict(sorted(groups.items())),
                      {k: v for k, v in alone.items() if v})


def _not_compared(name: str, known: Any, *runs: RunItems) -> dict[str, str]:
    """``metric.statistic`` -> why, for each statistic of ``name`` in a run's results.json that
    is not ``known`` (compared, or left out for a reason of its own), so that nothing a run
    reports drops out in silence (and a gate on it says why)."""
    from halluscope.metrics.base import declared
    said = getattr(declared(name), "NOT_PAIRED", None) or {}
    out = {}
    for run in runs:
        for stat, res in (run.summaries.get(name) or {}).items():
            key = f"{name}.{stat}"
            if isinstance(res, Mapping) and "value" in res and key not in known | out.keys():
                out[key] = (f"{run.path / 'results.json'} reports it, but compare does not "
                            f"recompute it over the paired items: "
                            + (said.get(stat) or "it is no sum over the items compare reads")
                            + "; each run's value is in its results.json")
    return out


def _not_recomputed(name: str, base: RunItems, other: RunItems) -> str:
    """Why ``name``'s statistics cannot be recomputed from the items: rows of another width
    than its columns here (a run written by another version, such as HallusionBench's rows of
    3 values before 'decided'), said with the runs and widths; else the settings."""
    from halluscope.metrics.base import declared
    columns = getattr(declared(name), "columns", None)
    widths = {run.path: len(next(iter(run.metrics[name].values()))[0]) for run in (base, other)}
    if columns is not None and any(w != len(columns) for w in widths.values()):
        odd = "; ".join(f"{path}: {w}" for path, w in widths.items() if w != len(columns))
        return (f"its statistics cannot be recomputed from the items: their rows hold another "
                f"number of values ({odd}) than {name}'s {len(columns)} columns here "
                f"({', '.join(columns)}), so the run was audited by another version of "
                f"halluscope; audit it again to compare it")
    return ("its statistics cannot be recomputed from the items (they depend on how the run "
            "was set up, or the columns differ)")


def _grouped_entries(name: str, base: RunItems, other: RunItems, n_boot: int, seed: int,
                     confidence: float) -> tuple[dict[str, dict[str, Any]], dict[str, str],
                                                 dict[str, dict[str, dict[str, Any]]]]:
    """The entries of ``name``'s statistics over groups of items (HallusionBench's fAcc, qAcc,
    easy / hard qAcc: :mod:`halluscope.compare_groups`); ``metric.statistic`` -> why one is
    left out; audit group -> the same entries within it (``VD``: ``paired_groups_within``)."""
    paired, left = paired_groups(name, base, other)       # (left: said by the caller)
    for p in paired:
        if p.unpaired:
            log.warning("compare: %s", p.unpaired)
    within = paired_groups_within(name, base, other, {p.key for p in paired})
    return ({p.key: _grouped_entry(p, n_boot, seed, confidence) for p in paired}, left,
            {g: {p.key: _grouped_entry(p, n_boot, seed, confidence) for p in ps}
             for g, ps in within.items()})


def _grouped_entry(p: PairedGroups, n_boot: int, seed: int, confidence: float
                   ) -> dict[str, Any]:
    """One grouped statistic's entry over its paired figures or pairs (each a row whose unit
    is its question set), overall or within one audit group (``VD``)."""
    weights = ReplicateSums(p.units, n_boot, seed) if n_boot and p.keys else None
    common = {"n_paired": len(p.keys), "only_a": p.only_a, "only_b": p.only_b,
              "clusters": len(set(p.units)), "paired_by": p.what}
    cluster_of = np.unique(p.units, return_inverse=True)[1].reshape(-1)
    side = (GROUP_MEAN if not p.proportion else GROUP_SHARE if p.direction
            else GROUP_SHARE_UNDIRECTED, GROUP_COLUMNS)
    out = _entry(side, side, p.xa, p.xb, weights, common, n_boot, confidence, cluster_of)
    if not p.keys:      # (said of its figures or pairs: "no item pairs" read as none held)
        out["why_no_value"] = {side: f"none of the group's {p.what} pairs" for side in "ab"}
    if p.unpaired:
        out["unpaired"] = p.unpaired
    return out


def compare(runs: Sequence[str | Path], *, out: str | Path | None = None,
            n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0, confidence: float = 0.95,
            metric_files: Sequence[str] = (), allow_unfinished_query: bool = False
            ) -> CompareResult:
    """Compare audit output folders: every run after the first against the first.
    ``metric_files``: metrics to load first (``module:Class``, ``path/to/file.py:Class``), for
    runs of a metric that is not installed (a file a run sheet names is never run unasked).
    ``allow_unfinished_query``: judge diff gates on a run whose input came from a query run
    that did not finish (else they fail as not decided); recorded in compare.json."""
    runs = run_folders(runs)
    load_metric_files(metric_files)
    loaded = [load_run(r) for r in runs]
    comparisons = [_compare_runs(loaded[0], other, n_boot, seed, confidence)
                   for other in loaded[1:]]
    result = CompareResult([str(r.path) for r in loaded], comparisons,
                           {"n_boot": n_boot, "seed": seed, "confidence": confidence},
                           allow_unfinished_query)
    if out is not None:
        result.save(out)
    return result


# --- gates on differences --------------------------------------------------------------------

# diff_value and diff_gate_failures live in halluscope/gates/diff.py (imported above, and
# re-exported: halluscope.comparison.diff_gate_failures is where callers find them)


__all__ = ["compare", "CompareResult", "Comparison", "diff_value", "diff_gate_failures",
           "load_run", "pair_key"]
