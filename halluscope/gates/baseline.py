"""Baseline files: the metric values a release is compared against.

A baseline is a small JSON file kept in the repository next to the tests::

    {
      "halluscope": "0.1.0",
      "created": "2026-01-31T12:00:00+00:00",
      "metrics": {
        "chair.chair_i": {"value": 0.118, "ci": [0.09, 0.15], "confidence": 0.95, "n": 500,
                          "higher_is_better": false},
        "pope.f1":       {"value": 0.861, "ci": [0.84, 0.88], "confidence": 0.95, "n": 3000,
                          "higher_is_better": true}
      }
    }

Only ``value`` is compared; ``ci`` and ``n`` are kept so that a reviewer of a baseline change can
see how sure the old number was. ``settings`` (the metric's variant, parser, vocabulary,
detector, ...) say how the number was made: a run whose metric scored with other settings
fails its regression check, naming them, instead of comparing two measures (an entry written
without them is compared as before). Writing merges into the existing file: entries for
metrics that were not recorded this time are kept, so that several test modules can share one
baseline.

This module imports only the standard library and :mod:`halluscope.atomicfiles` (itself standard
library only; the pytest plugin imports it lazily anyway).
"""

from __future__ import annotations

import json
import math
import numbers
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from halluscope.atomicfiles import write_json_atomically

FORMAT_KEYS = ("halluscope", "created", "metrics")


class BaselineError(ValueError):
    """A baseline file exists but is not a halluscope baseline."""


def _number(x: Any) -> float | int | None:
    if x is None:
        return None
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    if type(x).__name__.startswith("int"):   # numpy integers, without importing numpy
        return int(x)
    x = float(x)
    return None if math.isnan(x) else x


def entry_from_result(metric_result: Any) -> dict[str, Any]:
    """The baseline entry of one :class:`~halluscope.metrics.stats.MetricResult`."""
    entry: dict[str, Any] = {"value": _number(metric_result.value)}
    ci = getattr(metric_result, "ci", None)
    if ci is not None:
        entry["ci"] = [_number(ci[0]), _number(ci[1])]
        entry["confidence"] = getattr(metric_result, "confidence", None)
    entry["n"] = int(metric_result.n)
    entry["higher_is_better"] = bool(getattr(metric_result, "higher_is_better", False))
    if not getattr(metric_result, "direction", True):
        entry["direction"] = False      # as in results.json: a length, a count, a yes-ratio
    return entry


def metric_settings(result: Any, name: str) -> dict[str, Any]:
    """How the metric of ``name`` (``"pope.f1@split:random"``) scored in ``result``: the
    settings that change its numbers (a variant, a parser, a vocabulary, a detector: those
    ``halluscope compare`` says beside two runs, :func:`halluscope.compare_runs._setup`), as
    JSON reads them back; ``{}`` when its ``info`` says none."""
    from halluscope.compare_runs import _setup
    summary = getattr(result, "metrics", {}).get(name.partition(".")[0])
    info = getattr(summary, "info", None)
    if not isinstance(info, dict):
        return {}
    return json.loads(json.dumps(_setup(info)["settings"], default=str))


def baseline_entry(result: Any, name: str) -> dict[str, Any]:
    """The baseline entry of ``name`` in ``result``: :func:`entry_from_result` and, where the
    metric has any, the ``settings`` it scored with, which a later check compares
    (:func:`settings_differences`)."""
    entry = entry_from_result(result.get(name))
    settings = metric_settings(result, name)
    if settings:
        entry["settings"] = settings
    return entry


def settings_differences(entry: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The settings of a baseline ``entry`` that differ from ``now``'s (``"parser: 'original'
    in the baseline, 'strict' now"``); none for an entry that records none (an older file)."""
    then = entry.get("settings")
    if not isinstance(then, dict):
        return []
    return [f"{k}: {then.get(k)!r:.80} in the baseline, {now.get(k)!r:.80} now"
            for k in sorted(set(then) | set(now)) if then.get(k) != now.get(k)]


def entries_clash(name: str, first: dict[str, Any], first_test: str | None,
                  entry: dict[str, Any], test: str | None = None) -> str | None:
    """Why ``entry`` (recorded by ``test``) cannot be recorded as ``name`` beside ``first``,
    recorded in the same run by ``first_test``: another value or other settings (``None``
    when they agree). A baseline holds one value per name; two tests gating two models'
    outputs on one name left whichever ran last, and the next run compared one model with the
    other's number."""
    differ = [k for k in ("value", "settings") if first.get(k) != entry.get(k)]
    if not differ:
        return None

    def said(e: dict[str, Any], by: str | None) -> str:
        parts = [f"{e.get(k)!r:.60}" if k == "value" else f"settings {e.get(k)!r:.60}"
                 for k in differ]
        return f"{', '.join(parts)} by {by or 'another test'}"

    what = "values" if differ == ["value"] else \
        "settings" if differ == ["settings"] else "values and settings"
    return (f"two audits wrote different {what} for baseline {name}: {said(first, first_test)}"
            f"; {said(entry, test or 'a later test')}. A baseline holds one value per name, "
            f"so neither is recorded; gate each audit under its own name (a group, such as "
            f"'{name}@model:NAME') or record them in separate runs with separate "
            f"--halluscope-baseline files")


def empty_baseline() -> dict[str, Any]:
    from halluscope._version import __version__
    return {"halluscope": __version__, "created": None, "metrics": {}}


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read a baseline file; a missing file is an empty baseline (``{"metrics": {}}``)."""
    path = Path(path)
    if not path.is_file():
        return empty_baseline()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}:{exc.lineno}: expected a JSON baseline file, got invalid "
                            f"JSON ({exc.msg})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise BaselineError(f"{path}: expected a halluscope baseline (a JSON object with a "
                            f"'metrics' object), got {type(data).__name__}"
                            + (f" with keys {sorted(data)}" if isinstance(data, dict) else ""))
    for name, entry in data["metrics"].items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise BaselineError(f"{path}: metric {name!r}: expected an object with a 'value', "
                                f"got {entry!r:.80}")
        problem = entry_problem(entry)
        if problem:
            raise BaselineError(f"{path}: metric {name!r}: {problem}")
    return data


def entry_problem(entry: dict[str, Any]) -> str | None:
    """Why a baseline entry is not one (``None`` when it is): its ``value``
    (:func:`value_problem`), a ``ci`` that is not ``[lower, upper]`` (numbers, or null for an
    end that was undefined: a failing check ended in "not enough values to unpack"), an ``n``
    that is no count (``"0"`` slipped past the refusal of a baseline over no units)."""
    problem = value_problem(entry.get("value"))
    if problem:
        return problem
    ci, n = entry.get("ci"), entry.get("n")
    if ci is not None and not (isinstance(ci, list) and len(ci) == 2 and all(
            x is None or value_problem(x) is None for x in ci)):
        return f"expected [lower, upper] (numbers or null) as the 'ci', got {ci!r:.80}"
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        return f"expected a count (a whole number >= 0, or null) as the 'n', got {n!r:.80}"
    settings = entry.get("settings")
    if settings is not None and not isinstance(settings, dict):
        return (f"expected an object (setting -> value) as the 'settings', got "
                f"{settings!r:.80}")
    return None


def value_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a baseline's value (``None`` when it can: a number, or null for
    no value). ``Infinity`` passed every later run of a lower-is-better metric, ``true`` was
    read as 1.0, ``"0.3"`` as 0.3 and ``"abc"`` failed with a bare ValueError."""
    if value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool)
                         and not math.isinf(value)):
        return None
    return f"expected a finite number (or null) as the 'value', got {value!r:.80}"


def write_baseline(path: str | Path, entries: dict[str, dict[str, Any]]) -> Path:
    """Merge ``entries`` (metric name -> entry) into the baseline at ``path`` and write it
    atomically (a reader never sees a half-written file)."""
    from halluscope._version import __version__
    path = Path(path)
    data = load_baseline(path)
    metrics = dict(data.get("metrics", {}))
    metrics.update(entries)
    out = {"halluscope": __version__,
           "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "metrics": dict(sorted(metrics.items()))}
    path.parent.mkdir(parents=True, exist_ok=True)
    # the mode open() gives (a baseline is shared: kept in the repository, read by CI); it was
    # owner-only before, by accident of tempfile.mkstemp
    write_json_atomically(path, out)
    return path


__all__ = ["BaselineError", "baseline_entry", "entries_clash", "entry_from_result",
           "entry_problem",
           "empty_baseline", "load_baseline", "metric_settings", "settings_differences",
           "value_problem", "write_baseline"]
