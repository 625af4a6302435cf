"""Gates on the differences :func:`halluscope.comparison.compare` computes.

``diff.chair.chair_i@upper=0`` reads the upper bound of the interval of B − A of CHAIR_i, in
every comparison (each run after the first against the first). A group comes before the bound,
as in an audit's gates: ``diff.pope.f1@split:random@lower=-0.02`` reads the difference over the
paired items of that group (:mod:`halluscope.compare_by_group`), ``diff.pope.f1@split:*=...``
that of each group of the field, every one gated; a group of one run only pairs no item, so its
gate fails. :func:`diff_value` reads one
value; :func:`diff_gate_failures` judges gates, as the CLI's ``compare --fail-above`` /
``--fail-below`` (and the lead's gate parser) do. Both take a
:class:`~halluscope.comparison.CompareResult`, a compare.json dict, or one comparison's
``metrics``. This module does not import comparison, which imports it and re-exports these
names (an import back would be a cycle between rooms).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from halluscope.errors import ConfigError

#: A :class:`~halluscope.comparison.CompareResult` (``metrics``, ``comparisons``), or a
#: compare.json dict, or one comparison's ``metrics``.
Compared = Any


def diff_value(compared: Compared, name: str) -> float:
    """The value a diff gate reads: ``diff.<metric>.<statistic>`` (the difference b - a),
    ``...@upper`` / ``...@lower`` (its interval's bounds), ``...@GROUP`` (over the paired items
    of one group, ``split:random``), of the first comparison; a compare.json dict, or one
    comparison's ``metrics``, works too."""
    (_, metrics, _, groups), *_ = _comparisons(compared)
    targets = _targets(metrics, groups, name)
    if len(targets) != 1:
        raise KeyError(f"{name} names {len(targets)} groups: diff_value reads one (name it)")
    return _bound_value(*targets[0])


def _gate_entry(metrics: Mapping[str, Any], name: str, left_out: Mapping[str, Any] | None = None
                ) -> tuple[str, dict[str, Any], str]:
    """``(key, entry, bound)`` a gate ``name`` without a group reads; KeyError for a name that
    is none (saying why, for a metric or statistic the comparison left out: ``left_out``,
    metric or ``metric.statistic`` -> why)."""
    if not name.startswith("diff."):
        raise KeyError(f"expected diff.METRIC.STATISTIC[@GROUP][@upper|@lower], got {name!r}")
    key, _, bound = name[len("diff."):].partition("@")
    metric = key.partition(".")[0]
    if key not in metrics and left_out and metric in left_out:
        raise KeyError(f"no {key!r} in the comparison: {metric} is left out of the comparison: "
                       f"{left_out[metric]}")
    if key not in metrics and left_out and key in left_out:    # one statistic of a metric
        raise KeyError(f"no {key!r} in the comparison: it is left out of the comparison: "
                       f"{left_out[key]}")
    if key not in metrics:
        from halluscope.errors import suggest
        raise KeyError(f"no {key!r} in the comparison{suggest(key, metrics)} (have: "
                       f"{', '.join(metrics)})")
    if bound and bound not in ("upper", "lower"):
        raise KeyError(f"expected @upper or @lower after {key}, got @{bound}")
    return key, metrics[key], bound


def _targets(metrics: Mapping[str, Any], groups: Mapping[str, Any], name: str,
             left_out: Mapping[str, Any] | None = None) -> list[tuple[str, dict[str, Any], str]]:
    """``(name as judged, entry, bound)`` of each difference gate ``name`` reads: the whole
    comparison's, one group's (``@split:random``), or each group of a field (``@split:*``);
    KeyError, saying why and what exists, for a name that is none."""
    from halluscope.compare_by_group import matching_groups
    from halluscope.errors import suggest
    head, _, rest = name.partition("@")
    key, entry, _ = _gate_entry(metrics, head, left_out)
    parts = rest.split("@") if rest else []
    bound = parts.pop() if parts and parts[-1] in ("upper", "lower") else ""
    group = "@".join(parts)
    if not group:
        return [(name, entry, bound)]
    # a bare name is a group where the metric names its groups so (HallusionBench's VD, whose
    # misspelling is said with those that exist), unless it is a misspelled bound
    bare = any(":" not in g and key in groups[g] for g in groups)
    if ":" not in group and group not in groups and (
            not bare or suggest(group, ("upper", "lower"))):
        raise KeyError(f"expected @upper or @lower after {key}, or a group @FIELD:VALUE, got "
                       f"@{group}")
    named = [g for g in matching_groups(group, groups, key.partition(".")[0])
             if key in groups[g]]
    if not named:
        raise KeyError(_no_group(key, group, groups))
    return [(f"diff.{key}@{g}" + (f"@{bound}" if bound else ""), groups[g][key], bound)
            for g in named]


def _no_group(key: str, group: str, groups: Mapping[str, Any]) -> str:
    """Why gate group ``group`` of ``key`` names no group of the comparison, with those that
    exist (of its field where it has some)."""
    from halluscope.compare_by_group import group_fields
    from halluscope.errors import suggest
    have = [g for g in groups if key in groups[g]]
    metric = key.partition(".")[0] + "."
    others = [k for k in groups.get(group, {}) if k.startswith(metric)] if not have else []
    if others:      # the group is there, with the metric's other statistics
        return (f"{key} has no per-group differences: compare pairs it over the whole runs "
                f"only (group {group!r} has {', '.join(sorted(others))}); gate it without "
                f"@{group}")
    field = group.partition(":")[0]
    same = [g for g in have if field in group_fields(g, metric[:-1])]
    fields = sorted({f for g in have for f in group_fields(g, metric[:-1])})
    listed = (f"its {field} groups: {', '.join(same)}" if same else
              f"{key} has groups of the fields {', '.join(fields)}" if fields else
              f"groups of {key}: {', '.join(have)}" if have else
              f"the runs' items name no group of {key}")
    hint = suggest(group, [f"{f}:*" for f in fields] if group.endswith(":*") else have)
    return (f"no group {group!r} of {key} in the comparison{hint} ({listed}; @FIELD:* names "
            f"each group of a field)")


def _bound_value(name: str, entry: Mapping[str, Any], bound: str) -> Any:
    """What a gate on ``entry`` compares: its difference, or a bound of its interval."""
    if not bound:
        return entry["diff"]
    if not entry.get("ci"):
        why = "a count" if entry.get("count") else entry.get("ci_note", "none was computed")
        raise NoInterval(f"{name.rpartition('@')[0]} (B − A) has no interval ({why}"
                         f"{no_value(entry)}), so a gate on its {bound} bound cannot hold")
    return entry["ci"][1 if bound == "upper" else 0]


def no_value(entry: Mapping[str, Any]) -> str:
    """Which side of ``entry`` has no value and why (its ``why_no_value``), as said after a
    reason; ``""`` where both have one."""
    why = entry.get("why_no_value")
    if not isinstance(why, Mapping) or not why:
        return ""
    return "".join(f"; {side.upper()} has no value: {text}" for side, text in sorted(why.items()))


def too_few_paired(paired: int, n_a: int, n_b: int) -> bool:
    """Whether ``paired`` items are less than half of either run's (``n_a``, ``n_b``): compare
    warns, and a diff gate fails, since the difference holds those items alone."""
    return 2 * paired < max(n_a, n_b)


def _paired_few(entry: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """(paired, A's items, B's items) of ``entry`` where it pairs too few items, or None."""
    if not all(isinstance(entry.get(k), int) for k in ("n_paired", "only_a", "only_b")):
        return None                          # a hand-made entry without its counts
    paired = entry["n_paired"]
    n_a, n_b = paired + entry["only_a"], paired + entry["only_b"]
    if not paired or not too_few_paired(paired, n_a, n_b):    # none paired: it has no value
        return None
    return paired, n_a, n_b


def _few_pairs(entry: Mapping[str, Any]) -> str | None:
    """Why a gate cannot hold on ``entry`` for pairing too few items, or None."""
    few = _paired_few(entry)
    if few is None:
        return None
    paired, n_a, n_b = few
    return (f"only {paired} of A's {n_a} and B's {n_b} items were paired (less than half of "
            f"a run's), so the difference is not the runs' and the gate cannot hold")


def few_pairs_note(entry: Mapping[str, Any]) -> str | None:
    """What compare says beside the table and in compare.html of an entry that pairs less
    than half of a run's items (runs on other data: the log alone said it), or None."""
    few = _paired_few(entry)
    if few is None:
        return None
    paired, n_a, n_b = few
    return (f"only {paired} of A's {n_a} and B's {n_b} items pair (by image, document and "
            f"id); its numbers hold those {paired} items alone, and a diff gate on it fails")


def partial_reason(a: str, b: str, partial: Any) -> str:
    """Which side of a comparison (runs ``a``, ``b``) is partial and why, from its
    ``partial`` (side -> the run's ``unfinished_inputs``); ``""`` where neither is."""
    from halluscope.query_sheets import partial_said
    if not isinstance(partial, Mapping):
        return "" if not partial else f"its 'partial' cannot be read ({partial!r})"
    return "; ".join(f"{side.upper()} ({run}) is partial: {partial_said(partial[side])}"
                     for side, run in (("a", a), ("b", b)) if partial.get(side))


def undecided(a: str, b: str, partial: Any, allowed: bool) -> str | None:
    """What every diff gate on a comparison says where a side's audit read an input from a
    ``halluscope query`` run that did not finish (its difference is over part of the
    requests), unless ``allowed`` (``compare --allow-unfinished-query``); else None."""
    why = partial_reason(a, b, partial)
    if not why or allowed is True:
        return None
    return (f"not decided: {why}; finish the query (run the same command again), audit it "
            f"again and compare again, or judge the gates on the answers held with compare "
            f"--allow-unfinished-query")


class NoInterval(KeyError):
    """A gate on a bound of a difference that has none: it fails (exit 1), as an audit gate on
    a missing value does, rather than being a usage error."""

    def __str__(self) -> str:
        return str(self.args[0])


Gates = Mapping[str, float] | Iterable[tuple[str, float]]


def _comparisons(compared: Compared
                 ) -> list[tuple[str, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]]:
    """``(run b, metrics, left_out, groups)`` of every comparison (each run after the first
    against the first; ``left_out``: metric -> why it is not compared; ``groups``: group ->
    ``metric.statistic`` -> its entry over the group's paired items)."""
    if not isinstance(compared, Mapping):               # a CompareResult
        return [(c.b, c.metrics, c.left_out, getattr(c, "groups", None) or {})
                for c in compared.comparisons]
    if isinstance(compared.get("comparisons"), list):
        return [(c.get("b", "?"), c["metrics"], c.get("left_out") or {}, c.get("groups") or {})
                for c in compared["comparisons"]]
    return [("B", compared.get("metrics", compared), {}, compared.get("groups") or {})]


def _check_limit(metrics: Mapping[str, Any], name: str, limit: float) -> None:
    """A usage error for a threshold no difference of the statistic can cross (a rate's
    difference compared with 12 rather than 0.12; a threshold that is no finite number is
    refused by :func:`_checks`)."""
    entry = metrics.get(name[len("diff."):].partition("@")[0]) or {}
    lo, hi = entry.get("diff_bounds") or (-math.inf, math.inf)
    if not lo <= limit <= hi:
        hint = ""
        if hi == 1 and 2 <= abs(limit) <= 100:       # percentage points, surely
            hint = f"; rates are fractions: did you mean {limit / 100:g}?"
        elif hi == 1 and 1 < abs(limit) < 2:         # as likely a ratio B / A (1.05: 5% worse)
            hint = (f"; a diff gate reads the difference B − A, not a ratio B / A (as "
                    f"percentage points, {limit:g} would be {limit / 100:g})")
        raise ConfigError(f"the threshold {limit:g} is outside the range of a difference of "
                          f"its values [{lo:g}, {hi:g}]{hint}")


def _check_setup(run: str, metrics: Mapping[str, Any], name: str) -> None:
    """A usage error for a gate on a difference between runs scored with other settings (a
    parser, variant or threshold): the difference is not the model's alone, and a gate judges
    unattended, where no warning beside the numbers is read; so it is refused, as two runs
    against other companion files are."""
    differ = metrics[name[len("diff."):].partition("@")[0]].get("setup_differs")
    if differ:
        metric = name[len("diff."):].partition(".")[0]
        raise ConfigError(f"{name} is refused: {run} and the baseline scored {metric} with "
                          f"other settings ({'; '.join(differ)}), so the difference mixes the "
                          f"change of model with the change of settings; audit both with the "
                          f"same settings to gate on it")


#: How the gates are named in messages by default: the keywords, as a Python caller wrote them.
FLAGS = ("above", "below")


def gate_where(name: str, limit: Any, flag: str) -> str:
    """A diff gate as its caller wrote it, for messages: ``--fail-above diff.pope.f1=0.1`` on
    the command line (``flag`` a CLI flag), ``diff gate diff.pope.f1=0.1 (above)`` in Python."""
    shown = f"{limit:g}" if type(limit) is float else repr(limit)
    return (f"{flag} {name}={shown}" if flag.startswith("--")
            else f"diff gate {name}={shown} ({flag})")


def parse_diff_gate(raw: str, flag: str = "--fail-above") -> tuple[str, float]:
    """``diff.METRIC.STAT[@BOUND]=VALUE`` as ``(name, limit)``; a
    :class:`~halluscope.errors.ConfigError` naming ``flag``, the gate and what is wrong with
    it when it is none (its threshold no finite number: ``<= abc``, ``nan``, ``-inf``)."""
    name, sep, value = raw.partition("=")
    name = name.strip()
    if not sep or not name.startswith("diff."):
        raise ConfigError(f"{flag}: expected diff.METRIC.STATISTIC[@upper|@lower]=VALUE (e.g. "
                          f"diff.chair.chair_i@upper=0), got {raw!r}")
    try:
        limit = float(value)
    except ValueError:
        raise ConfigError(f"{flag} {raw.strip()}: expected a number as the threshold, got "
                          f"{value.strip()!r}") from None
    if not math.isfinite(limit):
        from halluscope.gates.arguments import NO_LIMIT
        raise ConfigError(f"{flag} {raw.strip()}: expected a finite number as the threshold, "
                          f"got {value.strip()!r} ({NO_LIMIT})")
    return name, limit


def _checks(above: Gates | None, below: Gates | None, flags: tuple[str, str] = FLAGS
            ) -> list[tuple[str, float, Any, str, str]]:
    """``(name, limit, worse, word, where)`` of every gate, ``worse(value, limit)`` when
    crossed, ``where`` the gate as written (:func:`gate_where`); a usage error naming the gate
    for a threshold that is no finite number (text such as ``"abc"``, a bool, nan, an
    infinity: NaN passed every gate, v > nan being false)."""
    from halluscope.gates.arguments import NO_LIMIT, finite_real
    out = []
    for gates, worse, word, flag in ((above, lambda v, t: v > t, "above", flags[0]),
                                     (below, lambda v, t: v < t, "below", flags[1])):
        for name, limit in (gates.items() if isinstance(gates, Mapping) else gates or ()):
            where = gate_where(name, limit, flag)
            value = finite_real(limit)
            if value is None:
                number = isinstance(limit, float) and not isinstance(limit, bool)
                raise ConfigError(f"{where}: expected a finite number as the threshold, got "
                                  + (f"{limit} ({NO_LIMIT})" if number
                                     else f"{type(limit).__name__} {limit!r:.60}"))
            out.append((name, value, worse, word, where))
    return out


def _undecided_each(compared: Compared) -> list[str | None]:
    """:func:`undecided` of every comparison (as :func:`_comparisons` lists them)."""
    if not isinstance(compared, Mapping):               # a CompareResult
        allowed = getattr(compared, "allow_unfinished_query", False)
        return [undecided(c.a, c.b, getattr(c, "partial", None), allowed)
                for c in compared.comparisons]
    if isinstance(compared.get("comparisons"), list):
        allowed = compared.get("allow_unfinished_query", False)
        return [undecided(c.get("a", "A"), c.get("b", "B"), c.get("partial"), allowed)
                for c in compared["comparisons"]]
    return [None]


def check_diff_gates(compared: Compared, above: Gates | None = None,
                     below: Gates | None = None, *, flags: tuple[str, str] = FLAGS) -> None:
    """The usage errors of the gates as written, in every comparison: a name that is no
    difference (KeyError), a threshold that is no finite number or outside the difference's
    range, a gate on a metric the runs scored with other settings
    (:class:`~halluscope.errors.ConfigError`); each message starts with the gate as written
    (``flags`` name its flag: the keywords by default, ``("--fail-above", "--fail-below")``
    on the command line). The CLI calls it before writing compare.json, as an audit checks its
    gates before scoring: a compare whose gate is refused writes nothing."""
    comparisons = _comparisons(compared)
    checks = _checks(above, below, flags)
    for name, limit, _, _, where in checks:
        for _, metrics, left_out, groups in comparisons:
            with _named(where):
                _targets(metrics, groups, name, left_out)
                _check_limit(metrics, name, limit)
    for name, _, _, _, where in checks:   # every name is known: then whether a run may be gated
        for run, metrics, _, _ in comparisons:
            with _named(where):
                _check_setup(run, metrics, name)


@contextmanager
def _named(where: str) -> Iterator[None]:
    """Say which gate a usage error is about: its message starts with the gate as written."""
    try:
        yield
    except NoInterval:
        raise
    except (KeyError, ConfigError) as exc:
        raise type(exc)(f"{where}: {exc.args[0] if exc.args else exc}") from None


def diff_gate_failures(compared: Compared, above: Gates | None = None,
                       below: Gates | None = None, *,
                       flags: tuple[str, str] = FLAGS) -> list[str]:
    """Messages for every diff gate crossed (``above``: value > limit; ``below``: < limit), in
    every comparison (with three runs or more, each run against the first); a gate given
    twice with two thresholds is two gates.

    A gate never passes on a missing value: a difference that is undefined (a statistic one of
    the runs could not compute over the paired items) fails its gate, saying so. Nor does one
    pass on a comparison with a ``partial`` side (an input from a ``halluscope query`` run that
    did not finish): it fails as not decided, unless ``allow_unfinished_query`` is set. An unknown
    name, a threshold that is no finite number or one outside the difference's range is a
    usage error (KeyError, :class:`~halluscope.errors.ConfigError`, naming the gate as written:
    ``flags`` as in :func:`check_diff_gates`), and so is a gate on a metric the two runs scored
    with other settings (``setup_differs``)."""
    comparisons = _comparisons(compared)
    checks = _checks(above, below, flags)
    check_diff_gates(compared, above, below, flags=flags)   # usage errors before any is judged
    failures = []
    for (run, metrics, _, groups), not_decided in zip(comparisons, _undecided_each(compared)):
        label = f"{run}: " if len(comparisons) > 1 else ""
        for name, limit, worse, word, _ in checks:
            if not_decided:                  # over part of a query run's requests
                failures.append(f"{label}{name}: {not_decided}")
                continue
            whole = metrics[name[len("diff."):].partition("@")[0]]
            for shown, entry, bound in _targets(metrics, groups, name):
                failure = _judged(shown, entry, bound, limit, worse, word, whole)
                if failure:
                    failures.append(f"{label}{failure}")
    return failures


def _judged(name: str, entry: Mapping[str, Any], bound: str, limit: float, worse: Any,
            word: str, whole: Mapping[str, Any]) -> str | None:
    """Why the gate ``name`` on ``entry`` (the whole comparison's, or one group's: ``whole``
    is the comparison's entry of its statistic) fails, or None where it holds."""
    few = _few_pairs(whole) or (_few_pairs(entry) if entry is not whole else None)
    if few:                              # never passes on a small share of the items
        return f"{name}: {few}"
    if entry is not whole and entry.get("n_paired") == 0:     # a group of one run only
        a, b, what = entry.get("only_a", 0), entry.get("only_b", 0), entry.get("paired_by")
        held = (f"none of the group's {what} pairs (A holds {a} of them, B {b})" if what else
                f"no item of the group pairs (A holds {a} of its items, B {b})")
        return f"{name} has no value: {held}, so the gate cannot hold"
    try:
        value = _bound_value(name, entry, bound)
    except NoInterval as exc:
        return str(exc)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (f"{name} has no value (" + (no_value(entry)[2:] or "undefined over the paired "
                                             "items") + "), so the gate cannot hold")
    if worse(value, limit):
        shown = f"{value:+.0f}" if entry.get("count") else _signed_apart(value, limit)
        return f"{name} = {shown} is {word} {limit:g}"
    return None


def _signed_apart(value: float, limit: float) -> str:
    """A crossed difference as the report writes numbers, signed, with the decimals that keep
    it from reading as its limit: ``{value:+.4f}`` said 'diff.chair.chair_i = +0.0000 is above
    0' of +0.00003, and '-0.1000 is below -0.1' of -0.100004."""
    from halluscope.numbers import fixed_apart
    text = fixed_apart(value, limit)
    return text if text.startswith(("-", "+")) else "+" + text


__all__ = ["FLAGS", "Gates", "NoInterval", "check_diff_gates", "diff_gate_failures",
           "diff_value", "few_pairs_note", "gate_where", "parse_diff_gate",
           "no_value", "partial_reason", "too_few_paired", "undecided"]
