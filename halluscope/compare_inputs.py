"""What :func:`halluscope.comparison.compare` is given, checked, and what it cannot compare,
said: the list of run folders, why a metric scored nothing in a run (its results.json
``unscored``), the metric references a run sheet records (to load a metric that is not
installed as the audit loaded it), and why a metric is left out of a comparison.

A run here is a :class:`halluscope.comparison.RunItems` (``path``, ``metrics``, ``unscored``,
``references``); this module does not import it, so that it sits beside comparison.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from halluscope.errors import ConfigError

if TYPE_CHECKING:
    from halluscope.metrics.stats import Statistic


def run_folders(runs: Any) -> list[str | Path]:
    """``runs`` as a list of at least two folders; one folder given as a string (whose
    characters would be taken for folders) or anything but a list is a usage error."""
    if isinstance(runs, (str, bytes, os.PathLike)):
        one = os.fsdecode(runs)
        raise ConfigError(f"expected a list of at least two audit output folders, got one "
                          f"folder, {one!r}; pass compare([{one!r}, 'other/run'])")
    if not isinstance(runs, Iterable):
        raise ConfigError(f"expected a list of at least two audit output folders, got "
                          f"{type(runs).__name__}")
    runs = list(runs)
    bad = [r for r in runs if not isinstance(r, (str, os.PathLike))]
    if bad:
        raise ConfigError(f"expected audit output folders as paths (str or Path), got "
                          f"{type(bad[0]).__name__} {bad[0]!r}")
    if len(runs) < 2:
        raise ConfigError(f"expected at least two audit output folders, got {len(runs)}")
    return runs


def metric_references(path: Path) -> tuple[str, ...]:
    """The metrics the run's ``runsheet.json`` names by reference (``module:Class``,
    ``path/to/file.py:Class``, as the audit was given them): where compare finds the class of a
    metric that is not installed. A missing or damaged run sheet names none."""
    from halluscope.result import RUNSHEET
    try:
        sheet = json.loads((path / RUNSHEET).read_text(encoding="utf-8"))
        names = sheet["config"]["metrics"]
    except (OSError, ValueError, KeyError, TypeError):
        return ()
    return tuple(n for n in names if isinstance(n, str) and ":" in n) \
        if isinstance(names, list) else ()


def unscored_reasons(results: Mapping[str, Any], where: Path | str = "results.json"
                     ) -> dict[str, str]:
    """Metric -> why it scored nothing in the run (its results.json 'unscored': metric -> a
    list of reasons). An entry that is not that shape is an input error naming ``where`` (the
    results.json) and the field: dropped, a metric that scored nothing would read as one the
    run did not compute. A results.json without the field (or with null) names none."""
    unscored = results.get("unscored")
    if unscored is None:
        return {}

    def bad(field: str, expected: str, got: Any) -> ConfigError:
        return ConfigError(f"{where}: field {field!r}: expected {expected}, got "
                           f"{_json_kind(got)}: the file is damaged or not halluscope's; "
                           f"audit again")

    if not isinstance(unscored, Mapping):
        raise bad("unscored", "an object (metric -> why it scored nothing)", unscored)
    for name, reasons in unscored.items():
        if not isinstance(reasons, list):
            raise bad(f"unscored.{name}", "a list of reasons", reasons)
    return {str(name): f"{name} scored nothing ({_first_reasons(reasons)})"
            if reasons else f"{name} scored nothing" for name, reasons in unscored.items()}


def _first_reasons(reasons: list[Any], shown: int = 7) -> str:
    """The first ``shown`` reasons, the rest counted: a run audited before the audit capped
    its causes holds one per record (CHAIR's unknown image ids), 60,000 characters."""
    more = len(reasons) - shown
    return "; ".join(map(str, reasons[:shown])) + (
        f"; {more:,} more" if more > 0 else "")


def load_metric_files(refs: Sequence[str]) -> None:
    """Load the metrics the caller names (``--metric-file``, ``compare(metric_files=...)``):
    ``module:Class`` or ``path/to/file.py:Class``, as ``audit --metric`` takes them. This is the
    only way compare runs a metric's Python file: one a run folder's run sheet names is never
    run on the folder's word (a folder from elsewhere could name a file it carries)."""
    from halluscope.metrics.references import load_reference
    for ref in refs:
        if not isinstance(ref, str) or ":" not in ref:
            raise ConfigError(f"expected a metric reference module:Class or "
                              f"path/to/file.py:Class, got {ref!r}")
        try:
            load_reference(ref)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - the user's metric file, said as it failed
            raise ConfigError(f"metric {ref!r} (--metric-file) does not load: "
                              f"{type(exc).__name__}: {exc}") from exc


def find_metric_class(name: str, runs: Sequence[Any]) -> str | None:
    """Make the class of metric ``name`` known to compare (``metrics.base.declared``): an
    installed metric, one this process ran or loaded (:func:`load_metric_files`), or one
    imported from a ``module:Class`` reference its run sheet names (an installed module). A
    ``file.py:Class`` reference is not run (see :func:`load_metric_files`). ``None`` once
    found; else why it cannot be (said when the metric is left out)."""
    from halluscope.metrics.base import declared
    from halluscope.metrics.references import is_file_reference, load_reference
    from halluscope.result import RUNSHEET
    if declared(name) is not None:
        return None
    failed, files, tried = [], [], set()
    for run in runs:
        for ref in run.references:
            if ref in tried:
                continue
            tried.add(ref)
            if is_file_reference(ref):
                files.append(ref)
                continue
            try:
                if load_reference(ref).name == name:
                    return None
            except Exception as exc:  # noqa: BLE001 - a user's metric module, said as it failed
                text = str(exc).removeprefix(f"metric {ref!r}: ") if isinstance(
                    exc, ConfigError) else f"{type(exc).__name__}: {exc}"
                failed.append(f"{ref}, which {run.path / RUNSHEET} names, does not load here "
                              f"({text})")
    if files:
        failed.append(f"the run sheets name the Python file(s) {', '.join(files)}, which "
                      f"compare runs only when asked: pass --metric-file "
                      f"{files[0]} (compare(..., metric_files=[...]) from Python) if you trust "
                      f"it (a relative path is read from the current folder)")
    why = ("; ".join(failed) if failed else "no metric reference its run sheets name "
           "(module:Class or path/to/file.py:Class) is it")
    return (f"{name} is not an installed metric, and {why}; its statistics cannot be "
            f"recomputed without its class: load it with --metric-file, or install the metric "
            f"(entry point halluscope.metrics)")


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def checked_scores(item: Any, where: str, widths: dict[str, tuple[int, str]]
                   ) -> dict[str, tuple[list[float], str | None]]:
    """An ``items.jsonl`` line's per-metric scores, ``metric -> (row, unit)``, checked: a line
    that is not an object, ``scores`` that are not an object of ``{"row": [numbers], "unit"}``,
    a value that is not a finite number, or a row of another width than the metric's earlier
    rows (``widths``: metric -> (width, where it was first seen), filled here) is an input
    error naming ``where`` (``file:line``) and the field; it never reaches the arithmetic
    (an internal error) nor leaves a metric out in silence."""
    def bad(field: str, expected: str, got: str) -> ConfigError:
        return ConfigError(f"{where}: field {field!r}: expected {expected}, got {got}: the "
                           f"folder's items.jsonl is damaged or not halluscope's; audit again")

    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected a JSON object (one item), got {_json_kind(item)}: "
                          f"the folder's items.jsonl is damaged or not halluscope's; audit again")
    scores = item.get("scores")
    if scores is None:
        return {}
    if not isinstance(scores, dict):
        raise bad("scores", "an object (metric -> its row)", _json_kind(scores))
    out = {}
    for name, score in scores.items():
        field = f"scores.{name}"
        if not isinstance(score, dict):
            raise bad(field, "an object with 'row' and 'unit'", _json_kind(score))
        row, unit = score.get("row"), score.get("unit")
        if type(row) is list and _finite_floats(row) and (unit is None or type(unit) is str) \
                and widths.get(name, (len(row),))[0] == len(row):
            widths.setdefault(name, (len(row), where))  # as checked below, in fewer steps
            out[name] = (row, unit)        # floats already: the list JSON gave, not a copy
            continue
        if not isinstance(row, list):
            raise bad(f"{field}.row", "a list of numbers",
                      "none" if "row" not in score else _json_kind(row))
        for value in row:
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise bad(f"{field}.row", "finite numbers",
                          repr(value) if isinstance(value, float) else _json_kind(value))
        width, first = widths.setdefault(str(name), (len(row), where))
        if len(row) != width:
            raise bad(f"{field}.row", f"{width} values, as at {first}", f"{len(row)}")
        if unit is not None and not isinstance(unit, str):
            raise bad(f"{field}.unit", "a string (the bootstrap unit) or null", _json_kind(unit))
        out[str(name)] = ([float(v) for v in row], unit)
    return out


def _finite_floats(row: list) -> bool:
    """Whether every value of ``row`` is a float (what an audit writes) and finite: their sum
    is finite only if each is (one that overflows says no, and the row is checked one by one)."""
    return all(type(v) is float for v in row) and math.isfinite(sum(row))


def not_in_both(a: Any, b: Any) -> dict[str, str]:
    """Metric -> why it is left out, for every metric one run (or neither) scored items of:
    the run that lacks it did not compute it, or computed it and scored nothing."""
    names = dict.fromkeys([*a.metrics, *b.metrics, *a.unscored, *b.unscored])
    out = {}
    for name in names:
        why = [f"{run.path} {run.unscored[name] if name in run.unscored else 'did not compute it'}"
               for run in (a, b) if name not in run.metrics]
        if why:
            out[name] = "; ".join(why)
    return out


def recomputable_statistics(name: str, width: int, info: Mapping[str, Any] | None = None
                            ) -> dict[str, tuple[Statistic, tuple[str, ...]]] | None:
    """The statistics ``name`` computed in the run whose metric ``info`` is given (a POPE run
    with lmms-eval's parser has lmms-eval's definitions); ``None`` when they cannot be known."""
    from halluscope.metrics.base import declared
    cls = declared(name)   # installed, or made known by find_metric_class
    if cls is None:
        return None
    stats = cls.statistics_for(info or {})
    columns = getattr(cls, "columns", None)
    if not isinstance(stats, dict) or columns is None or len(columns) != width:
        return None
    return {k: (v, tuple(columns)) for k, v in stats.items()}


__all__ = ["checked_scores", "find_metric_class", "load_metric_files", "metric_references",
           "not_in_both", "recomputable_statistics", "run_folders", "unscored_reasons"]
