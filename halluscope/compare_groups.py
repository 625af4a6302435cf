"""Statistics over groups of items, which :func:`halluscope.comparison.compare` rebuilds from
each run's ``items.jsonl`` and pairs group by group: HallusionBench's fAcc (a figure counts as
right when every question on it is), qAcc (a question pair, when it is right on every
figure) and its easy and hard parts (the pairs over the questions asked with no figure or the
original one, and over those on edited figures). No one item's row can carry them, so they are
not sums over paired items.

A metric offers such statistics with ``GROUPED`` (statistic -> what its groups are, such as
``"figures"``) and a classmethod ``compare_groups(info, scored)`` (``info``: the run's metric
info; ``scored``: its items' row, unit and line; a line, here and for every hook below, holds
what compare keeps of it: :data:`~halluscope.compare_lines.LINE_FIELDS`, each scored metric's
payload and ``<metric>_summary``, and its ``scores``' ``model:`` groups) returning
``{statistic: {group key: (whose answers, right, counted, bootstrap unit)}}``, or raising
ValueError where the items cannot say.
A statistic the run's settings do not report is absent (HallusionBench's easy / hard qAcc,
which VLMEvalKit's variants have not): left out silently where neither run has it, and said
where one run alone has it. Then, per statistic:

* each run's groups are checked against its results.json: their share right and their number
  counted must be the audit's value and ``n``, else the statistic is left out saying so (the
  items do not say how the audit grouped them);
* groups pair by their key without whose answers they are (``model:...``) where each run holds
  one answerer's, and with it where a run holds several (each model's with its own); a group
  present in one run only is left out, counted in ``only_a`` / ``only_b`` and said
  (``unpaired``); a group present in both whose questions one run leaves out of the statistic
  (unanswered or undecided) counts on the other side only, as an undecided question does in
  aAcc;
* a statistic with no better direction (``UNDIRECTED``: HallusionBench's consistency shares)
  says so in its entry (``"direction": false``);
* each paired group is a row (right, counted) per run with its unit (the question set), from
  which compare gives both values, the difference and its interval by the rules of every
  compare statistic (:func:`halluscope.comparison._entry`), with the weights
  :func:`halluscope.metrics.draws.replicate_weights` draws from the units' names.

Statistics over paired items whose rows are read off each items.jsonl line rather than its
scores row (HallusionBench's Yes/No bias, which needs each question's truth from the payload)
are offered with ``compare_item_statistics(info)`` and ``compare_item_row(row, line)``
(:func:`item_statistics`), checked against results.json in the same way.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from halluscope.metrics.stats import Statistic, rate, ratio

#: The columns of a group's row: every question right (0/1), and counted in the statistic (0/1).
GROUP_COLUMNS = ("right", "counted")
#: The share of the counted groups that are right, over the counted groups.
GROUP_SHARE: Statistic = rate(lambda s: ratio(s["right"], s["counted"]), higher_is_better=True,
                              units="counted", proportion=True)

#: The same share for a statistic with no better direction (HallusionBench's consistency).
GROUP_SHARE_UNDIRECTED: Statistic = rate(lambda s: ratio(s["right"], s["counted"]),
                                         units="counted", proportion=True, direction=False)

#: The mean over the counted groups of each one's share right (``right`` a fraction, not 0/1:
#: HallusionBench's figure_score, a metric's ``MEANS``), whose interval is no proportion's.
GROUP_MEAN: Statistic = rate(lambda s: ratio(s["right"], s["counted"]), higher_is_better=True,
                             units="counted")

#: One group of a run: (whose answers, right, counted, bootstrap unit).
Tally = tuple[str, int, int, str]


@dataclass(frozen=True)
class PairedGroups:
    """One grouped statistic's groups present in both runs, each a row per run."""

    key: str                  # metric.statistic
    what: str                 # what its groups are ("figures")
    keys: list[str]           # the paired groups
    xa: np.ndarray            # (len(keys), 2): A's rows (right, counted)
    xb: np.ndarray
    units: list[str]          # each group's bootstrap unit
    only_a: int
    only_b: int
    unpaired: str | None      # what is left out, said; None where nothing is
    direction: bool = True    # False for a share with no better direction
    proportion: bool = True   # False for a mean of each group's share (``MEANS``)


def identified_items(name: str, a: Mapping[Any, Any], b: Mapping[Any, Any]
                     ) -> tuple[dict[str, Any], dict[str, Any], str | None] | None:
    """Metric ``name``'s items of runs A and B (:data:`~halluscope.compare_runs.Key` ->
    scored) keyed by the question each answers, for a metric whose class says it
    (``compare_identity(item)`` -> (whose answers, question): HallusionBench, whose rows carry
    no unique id and whose ``question_id`` repeats), so that they pair whatever the lines'
    order; ``None`` for a metric that does not (its items pair by image and id). Whose answers
    is part of the key only where a run holds several answerers' (each model's with its own).
    A question a run answers more than once is left out of that run, never paired by order;
    the third value says which questions are in one run only, and which repeat (``None``
    where none is). ValueError where an item does not say, or where a run answers every
    question more than once (nothing of it would pair)."""
    from halluscope.metrics.base import declared
    identity = getattr(declared(name), "compare_identity", None)
    if not callable(identity):
        return None
    sides = [[(identity(v[2]), v) for v in side.values()] for side in (a, b)]
    several = any(len({part for (part, _), _ in side}) > 1 for side in sides)
    out: list[dict[str, Any]] = []
    repeated: list[tuple[int, str]] = []
    for side in sides:
        held: dict[str, list[Any]] = {}
        for (part, question), scored in side:
            held.setdefault(f"{part}|{question}" if several else question, []).append(scored)
        twice = sorted(k for k, v in held.items() if len(v) > 1)
        if twice and len(twice) == len(held):
            raise ValueError(f"every question of run {'AB'[len(out)]} is answered more than "
                             f"once (such as {_shown(twice[0])}) and its items do not say whose "
                             f"answer each is (a file of several models' answers audited "
                             f"with --by leaving out model?)")
        repeated.append((len(twice), twice[0] if twice else ""))
        out.append({k: v[0] for k, v in held.items() if len(v) == 1})
    only = [sorted(out[0].keys() - out[1].keys()), sorted(out[1].keys() - out[0].keys())]
    said = [f"{len(keys)} question(s) only in {run}"
            + (f" (such as {_shown(keys[0])})" if keys else "")
            for run, keys in zip("AB", only)]
    said += [f"{n} answered more than once in {run} (such as {_shown(first)}), left out of "
             f"{run}, since which answer pairs with the other run's is not known"
             for run, (n, first) in zip("AB", repeated) if n]
    note = None
    if only[0] or only[1] or repeated[0][0] or repeated[1][0]:
        note = (f"{name}'s items pair by the question each answers, never by their order: "
                + "; ".join(said) + f"; A and B are over the "
                f"{len(out[0].keys() & out[1].keys())} questions both runs answer once")
    return out[0], out[1], note


def grouped_statistics(name: str) -> dict[str, str]:
    """The statistics of metric ``name`` that compare rebuilds from groups of items (statistic
    -> what its groups are); none for a metric that offers none."""
    from halluscope.metrics.base import declared
    cls = declared(name)
    grouped = getattr(cls, "GROUPED", None)
    if not isinstance(grouped, Mapping) or not callable(getattr(cls, "compare_groups", None)):
        return {}
    return {str(k): str(v) for k, v in grouped.items()}


def paired_groups(name: str, a: Any, b: Any) -> tuple[list[PairedGroups], dict[str, str]]:
    """The grouped statistics of metric ``name`` paired between runs ``a`` and ``b``
    (:class:`~halluscope.compare_runs.RunItems`), and ``metric.statistic`` -> why it is left
    out, for those that cannot be (see the module docstring)."""
    grouped = grouped_statistics(name)
    if not grouped:
        return [], {}
    from halluscope.metrics.base import declared
    cls = declared(name)
    sides = []
    for run in (a, b):
        try:
            sides.append(cls.compare_groups(run.info.get(name) or {},
                                            list(run.metrics[name].values())))
        except ValueError as exc:
            return [], {f"{name}.{stat}": f"its {what} cannot be rebuilt from "
                                          f"{run.path / 'items.jsonl'}: {exc}"
                        for stat, what in grouped.items()}
    out, left = [], {}
    for stat, what in grouped.items():
        key = f"{name}.{stat}"
        if stat not in sides[0] and stat not in sides[1]:
            continue        # neither run's settings report it (HallusionBench's easy / hard)
        if stat not in sides[0] or stat not in sides[1]:
            left[key] = (f"computed by run {'AB'[stat in sides[1]]} only (its settings "
                         f"differ: {name}'s variant, or its version)")
            continue
        tallies = [side[stat] for side in sides]
        why = next((w for run, t in zip((a, b), tallies)
                    if (w := _unlike_results(key, what, run, t)) is not None), None)
        paired = why if why is not None else _pair(key, what, *tallies)
        if isinstance(paired, str):
            left[key] = paired
        else:
            out.append(dataclasses.replace(
                paired, direction=stat not in getattr(cls, "UNDIRECTED", ()),
                proportion=stat not in getattr(cls, "MEANS", ())))
    return out, left


def paired_groups_within(name: str, a: Any, b: Any, keys: Any) -> dict[str, list[PairedGroups]]:
    """Audit group (``VD``, ``VS_chart``, ``model:NAME``) -> the grouped statistics of
    ``keys`` (``metric.statistic``: those :func:`paired_groups` paired over the whole runs,
    their items checked against results.json there) over the items in that group in each run,
    rebuilt as the audit rebuilds a group's (its figures and pairs from the group's items
    alone), for the per-group differences that diff gates with ``@GROUP`` read. A group whose
    figures or pairs the runs do not share (a group of one run only) pairs none: its entry
    has no value and says why (``unpaired``), so a gate on it fails, never passes."""
    from halluscope.compare_by_group import item_groups
    from halluscope.metrics.base import declared
    cls, grouped = declared(name), grouped_statistics(name)
    if not grouped or not keys:
        return {}
    scored = [list(run.metrics[name].values()) for run in (a, b)]
    out: dict[str, list[PairedGroups]] = {}
    for group in sorted({g for side in scored for s in side for g in item_groups(s, name)}):
        try:
            sides = [cls.compare_groups(run.info.get(name) or {},
                                        [s for s in items if group in item_groups(s, name)])
                     for run, items in zip((a, b), scored)]
        except ValueError:
            continue        # said for the whole runs by paired_groups
        for stat, what in grouped.items():
            key = f"{name}.{stat}"
            if key not in keys or stat not in sides[0] or stat not in sides[1]:
                continue
            paired = _pair(key, what, sides[0][stat], sides[1][stat])
            if isinstance(paired, str):     # none pairs: no value (a gate on it fails), said
                paired = PairedGroups(key, what, [], np.zeros((0, 2)), np.zeros((0, 2)), [],
                                      len(sides[0][stat]), len(sides[1][stat]), paired)
            out.setdefault(group, []).append(dataclasses.replace(
                paired, direction=stat not in getattr(cls, "UNDIRECTED", ()),
                proportion=stat not in getattr(cls, "MEANS", ())))
    return out


def _unlike_results(key: str, what: str, run: Any, tallies: Mapping[str, Tally]) -> str | None:
    """Why the groups rebuilt from ``run``'s items are not those its audit counted (their
    share right and number counted against results.json's value and ``n``); ``None`` when
    they are."""
    name, _, stat = key.partition(".")
    summary = run.summaries.get(name, {}).get(stat)
    right = sum(t[1] for t in tallies.values())
    counted = sum(t[2] for t in tallies.values())
    where = run.path / "results.json"
    if not isinstance(summary, Mapping):
        return f"{where} holds no {key} to check the {what} rebuilt from its items against"
    value, n = summary.get("value"), summary.get("n")
    if isinstance(value, float) and math.isnan(value):
        value = None
    mine = right / counted if counted else None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(n, int) and n == counted and (
            (value is None and mine is None)
            or (number and mine is not None and abs(value - mine) <= 1e-12)):
        return None
    return (f"the {what} rebuilt from {run.path / 'items.jsonl'} count {right} right of "
            f"{counted}, but {where} has {key} = {value!r} over n={n!r}: the items do not say "
            f"how the audit grouped them (such as a file of several models' answers audited "
            f"with --by leaving out model); audit again to compare it")


def _pair(key: str, what: str, ta: Mapping[str, Tally], tb: Mapping[str, Tally]
          ) -> PairedGroups | str:
    """The groups of ``ta`` (A's) and ``tb`` (B's) present in both, or why none is."""
    parts = [sorted({t[0] for t in side.values()}) for side in (ta, tb)]
    several = len(parts[0]) > 1 or len(parts[1]) > 1

    def ident(k: str, t: Tally) -> str:   # the key without whose answers, where one answerer
        return k if several else k[len(t[0]) + 1:]

    ia = {ident(k, t): t for k, t in ta.items()}
    ib = {ident(k, t): t for k, t in tb.items()}
    keys = sorted(ia.keys() & ib.keys())
    only_a, only_b = sorted(ia.keys() - ib.keys()), sorted(ib.keys() - ia.keys())
    whose = (f" (a run holds several models' answers, A: {', '.join(parts[0]) or 'none'}; B: "
             f"{', '.join(parts[1]) or 'none'}, and each model's {what} pair with its own)"
             if several else "")
    if not keys:
        return (f"no {what} of A are in B ({len(ia)} in A, such as "
                f"{_shown(only_a[0]) if only_a else 'none'}; {len(ib)} in B, such as "
                f"{_shown(only_b[0]) if only_b else 'none'}){whose}")
    unpaired = None
    if only_a or only_b:
        unpaired = (f"{len(only_a)} {what} only in A"
                    + (f" (such as {_shown(only_a[0])})" if only_a else "")
                    + f" and {len(only_b)} only in B"
                    + (f" (such as {_shown(only_b[0])})" if only_b else "")
                    + f" are left out of {key}, whose A and B are over the {len(keys)} {what} "
                    f"both runs hold{whose}")
    rows = [np.asarray([[side[k][1], side[k][2]] for k in keys], dtype=float).reshape(-1, 2)
            for side in (ia, ib)]
    return PairedGroups(key, what, keys, rows[0], rows[1], [ia[k][3] for k in keys],
                        len(only_a), len(only_b), unpaired)


def truth_clash(name: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    """Why the paired items of metric ``name`` (key -> row, unit, line) are not the same
    questions: the truth each was scored against differs between the runs (the class's
    ``compare_truth(line)``, or ``COMPARE_TRUTH`` = (payload, field): HallusionBench keeps each
    row's; POPE each answer's label and the object asked about, which an answer file may carry
    inline with no question file to check), such as two versions of the benchmark or its
    random and popular files; ``None`` where none differs or none is kept."""
    from halluscope.metrics.base import declared
    cls = declared(name)
    truth, path = getattr(cls, "compare_truth", None), getattr(cls, "COMPARE_TRUTH", None)
    if not callable(truth) and path:        # (payload, field): POPE's inline label
        def truth(item: Mapping[str, Any]) -> Any:
            payload = item.get(path[0])
            return payload.get(path[1]) if isinstance(payload, Mapping) else None
    if not callable(truth):
        return None
    differ = []
    for key in sorted(a.keys() & b.keys()):
        ta, tb = truth(a[key][2]), truth(b[key][2])
        field = None if ta == tb else _differing(ta, tb)    # equal truths differ in nothing
        if field:
            differ.append((key, field, ta, tb))
    if not differ:
        return None
    key, field, ta, tb = differ[0]
    if isinstance(ta, Mapping):
        ta, tb = ta[field], tb[field]
    if field == "object":
        ta, tb = (f"a question about {t!r:.40}" for t in (ta, tb))
    else:
        ta, tb = f"{ta!r:.40}", f"{tb!r:.40}"
    lead = ("were scored against another truth" if all(d[1] != "object" for d in differ)
            else "asked about another object, or were scored against another truth,")
    return (f"metric {name}: {len(differ)} paired question(s) {lead} in the two runs (such as "
            f"{_shown(key)}: {ta} in A, {tb} in B), so items paired by question are not the "
            f"same questions (another version of the benchmark, or another of its files?); "
            f"audit both against the same questions to compare them")


def _differing(ta: Any, tb: Any) -> str | None:
    """What differs between two truths of a paired question: ``"truth"`` for two values, the
    first field known on both sides that differs for two mappings (``{"label", "object"}``:
    POPE's), ``None`` when nothing known differs."""
    def same(x: Any, y: Any) -> bool:
        return x is None or y is None or str(x).strip().lower() == str(y).strip().lower()
    if isinstance(ta, Mapping) and isinstance(tb, Mapping):
        return next((f for f in ta if not same(ta[f], tb.get(f))), None)
    return None if same(ta, tb) else "truth"


@dataclass(frozen=True)
class ItemRows:
    """A statistic compare pairs item by item from rows it reads off the items' lines."""

    stat: Statistic
    columns: tuple[str, ...]
    xa: np.ndarray            # (len(keys), len(columns)): A's rows of the paired items
    xb: np.ndarray


def item_statistics(name: str, run_a: Any, run_b: Any, a: Mapping[str, Any],
                    b: Mapping[str, Any], keys: list[str]
                    ) -> tuple[dict[str, ItemRows], dict[str, str]]:
    """Metric ``name``'s statistics whose rows compare reads off each items.jsonl line rather
    than its scores row (HallusionBench's Yes/No bias, which needs each question's truth):
    the class offers ``compare_item_statistics(info)`` -> (columns, {statistic: Statistic})
    and ``compare_item_row(row, line)`` -> a row of those columns (ValueError where a line
    cannot say). ``a`` / ``b``: the paired items by key (row, unit, line); ``keys``: the
    paired keys. Returns statistic -> its rows, and ``metric.statistic`` -> why one is left
    out: one run's settings lack it, a run's lines cannot say, or the rows of all a run's
    lines do not give its results.json value and ``n`` (then the items do not say what the
    audit counted)."""
    from halluscope.metrics.base import declared
    cls = declared(name)
    offer, row_of = (getattr(cls, "compare_item_statistics", None),
                     getattr(cls, "compare_item_row", None))
    if not callable(offer) or not callable(row_of):
        return {}, {}
    (columns, stats_a), (_, stats_b) = (offer(run.info.get(name) or {}) for run in (run_a, run_b))
    left = {f"{name}.{s}": f"computed by run {'AB'[s in stats_b]} only (its settings differ: "
                           f"{name}'s variant, or its version)"
            for s in sorted(set(stats_a) ^ set(stats_b))}
    common = [s for s in stats_a if s in stats_b]

    def rows(scored) -> np.ndarray:
        return np.asarray([row_of(v[0], v[2]) for v in scored],
                          dtype=float).reshape(-1, len(columns))
    try:
        whole = [rows(run.metrics[name].values()) for run in (run_a, run_b)]
        xa, xb = rows(a[k] for k in keys), rows(b[k] for k in keys)
    except ValueError as exc:
        return {}, {**left, **{f"{name}.{s}": f"it cannot be recomputed from the items: {exc}"
                               for s in common}}
    out = {}
    for s in common:
        why = next((w for run, x in zip((run_a, run_b), whole)
                    if (w := _unlike_value(f"{name}.{s}", stats_a[s], columns, run, x))), None)
        if why:
            left[f"{name}.{s}"] = why
        else:
            out[s] = ItemRows(stats_a[s], tuple(columns), xa, xb)
    return out, left


def _unlike_value(key: str, stat: Statistic, columns: Sequence[str], run: Any,
                  rows: np.ndarray) -> str | None:
    """Why ``stat`` over all of ``run``'s lines (``rows``) is not its results.json value and
    ``n``; ``None`` when it is."""
    from halluscope.metrics.stats import units_over
    name, _, stat_name = key.partition(".")
    summary = run.summaries.get(name, {}).get(stat_name)
    where = run.path / "results.json"
    if not isinstance(summary, Mapping):
        return f"{where} holds no {key} to check the items' rows against"
    sums = rows.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mine = float(stat.fn({c: sums[i] for i, c in enumerate(columns)}))
    mine_n = units_over(stat, columns, sums, len(rows))
    value, n = summary.get("value"), summary.get("n")
    value = None if isinstance(value, float) and math.isnan(value) else value
    same = (value is None and math.isnan(mine)) or (
        isinstance(value, (int, float)) and not isinstance(value, bool)
        and not math.isnan(mine) and abs(value - mine) <= 1e-12)
    if same and n == mine_n:
        return None
    return (f"recomputed from {run.path / 'items.jsonl'} it is "
            f"{'none' if math.isnan(mine) else f'{mine:.6g}'} over n={mine_n}, but {where} has "
            f"{value!r} over n={n!r}: the items do not say what the audit counted; audit "
            f"again to compare it")


def _shown(ident: str) -> str:
    """A group's key as said: without the separator of an empty answerer."""
    return repr(ident[1:] if ident.startswith("|") else ident)


__all__ = ["GROUP_COLUMNS", "GROUP_MEAN", "GROUP_SHARE", "GROUP_SHARE_UNDIRECTED", "ItemRows",
           "PairedGroups", "grouped_statistics", "identified_items", "item_statistics",
           "paired_groups", "paired_groups_within", "truth_clash"]
