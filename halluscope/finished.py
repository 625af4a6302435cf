"""``--resume`` on an audit that had already finished: its results read back, nothing scored.

A CI job retried with ``--resume`` after the audit finished (it crossed a gate and exited 1, and
the runner retries failed jobs) was refused as a usage error (exit 2): the journal is gone once
``results.json`` is written, so there was nothing to resume, and the retry reported 2 instead of
the run's verdict. Now the run sheet of every audit with an output folder holds its *resume key*
(:func:`resume_key`: the journal's header, :func:`halluscope.journal.journal_header`, and its
digest). A resume that finds ``results.json`` and no journal compares the key with its own
header: the same inputs, options, companion files, models and code read the finished results
back (:func:`reread_finished`), so that the gates given now are judged on them and the exit code
is a fresh run's; nothing is scored or written. Anything else is refused as before, naming what
differs, the folder left as it is; so are the options that a resume of an interrupted audit may
change because it folds the journaled outcomes again (:data:`~halluscope.journal.FOLD_ONLY`:
the journal that held them is gone), and a folder whose files do not match its
``results.json`` (:func:`~halluscope.result.check_outputs`).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError, InputError
from halluscope.hashing import json_sha256
from halluscope.metrics.base import MetricSummary
from halluscope.metrics.intervals import REASON_KINDS, IntervalReason
from halluscope.metrics.stats import MetricResult, range_of
from halluscope.result import RESULTS, RUNSHEET, AuditResult, check_outputs

log = logging.getLogger(__name__)

#: The run sheet's key holding the :func:`resume_key`.
RESUME = "resume"
_AGAIN = "its results are left as they are; run without --resume to audit again"


def _redacted(header: dict[str, Any]) -> dict[str, Any]:
    """``header`` as the run sheet keeps it: JSON's types, the options' credentials redacted."""
    from halluscope.redact import redact_mapping
    return redact_mapping(json.loads(json.dumps(header, default=str)))


def _digest(header: dict[str, Any]) -> str:
    """The header's sha256, over its text with the credentials of the options redacted (as the
    run sheet shows it: a digest of a short secret could be tried against guesses) and its
    files by path, size and modification time only: an inode or change time that moved (a
    ``chmod``, a move away and back, a restored cache) is checked by content instead
    (:func:`_changed_content`), as the resume of an interrupted run does."""
    stable = _redacted(header)
    for key in ("inputs", "companions"):
        stable[key] = [list(f[:3]) for f in stable.get(key) or ()]
    return json_sha256(stable)


def _changed_content(found: dict[str, Any], header: dict[str, Any],
                     sheet: dict[str, Any]) -> list[str]:
    """The files of ``found`` (the finished run's header) whose inode or change time moved
    since and whose content is not the sha256 its run sheet recorded."""
    from halluscope.journal_diff import _content_changes
    digests = {f.get("path"): f.get("sha256") for f in sheet.get("files") or ()
               if isinstance(f, dict)}
    return _content_changes(found, json.loads(json.dumps(header, default=str)), digests)


def resume_key(header: dict[str, Any]) -> dict[str, Any]:
    """What the run sheet records for a later ``--resume``: the journal's ``header`` (as JSON
    reads it back) and its digest, which is what is compared (the header only says what
    differs)."""
    return {"key": _digest(header),
            "header": json.loads(json.dumps(header, ensure_ascii=False, default=str))}


def finished_run(out: Path, header: dict[str, Any] | None, config: Any,
                 metrics: list[Any]) -> AuditResult | None:
    """``--resume`` into ``out``: ``None`` when there is no finished audit there (nothing, or
    an interrupted one's journal), else its results read back (:func:`reread_finished`) or a
    usage error that leaves the folder as it is (scoring again would delete its results).
    ``header`` is ``None`` for records in memory: nothing says what the finished run read."""
    from halluscope.journal import JOURNAL
    if not (out / RESULTS).is_file() or (out / JOURNAL).is_file():
        return None
    if header is None:
        raise ConfigError(f"--resume: {out} holds a finished audit ({RESULTS}) and no journal, "
                          f"so nothing to resume; {_AGAIN}")
    return reread_finished(out, header, config, metrics)


def reread_finished(out: Path, header: dict[str, Any], config: Any,
                    metrics: list[Any]) -> AuditResult:
    """The finished audit in ``out`` as an :class:`AuditResult` (``reread`` set), when its run
    sheet's resume key is ``header``'s and it computed the ``metrics`` built now; else a
    :class:`ConfigError` saying what differs."""
    try:
        results = check_outputs(out)
        sheet = json.loads((out / RUNSHEET).read_text(encoding="utf-8"))
    except (InputError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--resume: {out} holds a finished audit ({RESULTS}) and no journal, "
                          f"but it cannot be read back: {exc}; {_AGAIN}") from None
    found = sheet.get(RESUME) if isinstance(sheet, dict) else None
    if not isinstance(found, dict) or sheet.get("run_id") != results.get("run_id"):
        raise ConfigError(f"--resume: {out} holds a finished audit ({RESULTS}) and no journal, "
                          f"and its run sheet does not say what it was run on (written by an "
                          f"older halluscope), so nothing to resume; {_AGAIN}")
    if found.get("key") != _digest(header):
        from halluscope.journal import header_difference
        said = header_difference(found.get("header"), _redacted(header))
        raise ConfigError(f"--resume: {out} holds a finished audit of other inputs, options or "
                          f"code ({said}); {_AGAIN}")
    changed = _changed_content(found.get("header") or {}, header, sheet)
    if changed:
        raise ConfigError(f"--resume: {out} holds a finished audit, but the content of "
                          f"{', '.join(changed[:5])} changed since (another sha256, though the "
                          f"size and modification time are the same); {_AGAIN}")
    names, then = [m.name for m in metrics], list(results["metrics"])
    if sorted(names) != sorted(then):
        raise ConfigError(f"--resume: {out} holds a finished audit of the metrics {then}, not "
                          f"{names}; {_AGAIN}")
    declared = {m.name: _declared(m, config) for m in metrics}
    summaries = {name: _summary(name, data, declared.get(name) or {},
                                f"{out / RESULTS}: field 'metrics.{name}")
                 for name, data in results["metrics"].items()}
    unscored = results.get("unscored") or {}
    _expect(isinstance(unscored, dict) and all(isinstance(v, list) for v in unscored.values()),
            f"{out / RESULTS}: field 'unscored", "an object (metric -> why it scored nothing)",
            unscored)
    log.warning("--resume: %s holds a finished audit of these inputs and options (run %s): "
                "its results are read back and the gates judged on them; nothing is scored "
                "again", out, results.get("run_id"))
    result = AuditResult(metrics=summaries, errors=list(results.get("errors") or []),
                         runsheet=sheet, items_path=out / "items.jsonl", config=config,
                         n_items=int(results.get("n_items") or 0),
                         n_skipped=int(results.get("n_skipped") or 0),
                         unscored=unscored, run_id=results.get("run_id"))
    result.reread = True
    return result


def _declared(metric: Any, config: Any) -> dict[str, Any]:
    """The statistics ``metric`` declares for ``config`` (their ranges, which results.json
    does not hold, are what a gate's threshold is checked against); empty where unknown."""
    try:
        return dict(metric.declared_statistics(config) or {})
    except Exception:  # noqa: BLE001 - a metric that cannot tell: its gates' ranges go unchecked
        return {}


def _summary(name: str, data: Any, declared: dict[str, Any], where: str) -> MetricSummary:
    """A :class:`MetricSummary` from its ``results.json`` entry (the inverse of its
    ``to_dict``). ``where`` names the file and the field (``...results.json: field
    'metrics.pope``, the quote left open) for an entry that is not what an audit writes."""
    extra = ("n", "groups", "tallies", "info")
    _expect(isinstance(data, dict), where, "an object (statistic -> its value)", data)
    groups = data.get("groups")
    groups = {} if groups is None else groups
    _expect(isinstance(groups, dict), f"{where}.groups", "an object (group -> statistics)",
            groups)
    for group, stats in groups.items():
        _expect(isinstance(stats, dict), f"{where}.groups.{group}",
                "an object (statistic -> its value)", stats)
    results = {stat: _result(stat, entry, declared.get(stat), f"{where}.{stat}")
               for stat, entry in data.items() if stat not in extra}
    groups = {group: {stat: _result(stat, entry, declared.get(stat),
                                    f"{where}.groups.{group}.{stat}")
                      for stat, entry in stats.items()}
              for group, stats in groups.items()}
    return MetricSummary(name=name, results=results, n=int(data.get("n") or 0), groups=groups,
                         tallies=data.get("tallies") or {}, info=data.get("info") or {})


def _result(stat: str, entry: Any, declared: Any, where: str) -> MetricResult:
    """One statistic read back, checked: a gate judged it as a fresh run would, so a value
    that is text (``"0.99"`` passed as 0.99), ``true`` (read as 1.0), outside the
    statistic's range (an F1 of 7), an interval that is not two ordered numbers or an ``n``
    that is no count is an input error naming the field, never a verdict or a traceback."""
    _expect(isinstance(entry, dict), where, "an object with 'value' and 'n'", entry)
    bounds = None
    if declared is not None:
        bounds = range_of(declared) if declared.count else declared.bounds
    value, ci, n = entry.get("value"), entry.get("ci"), entry.get("n")
    _expect(value is None or (_number(value) and (
        bounds is None or bounds[0] <= value <= bounds[1])), f"{where}.value",
        "a finite number" + (f" in [{bounds[0]:g}, {bounds[1]:g}]" if bounds else "")
        + " or null", value)
    _expect(ci is None or (isinstance(ci, list) and len(ci) == 2 and all(map(_number, ci))
                           and ci[0] <= ci[1]), f"{where}.ci",
            "null or [lower, upper], two finite numbers in order", ci)
    _expect(n is None or (isinstance(n, int) and not isinstance(n, bool) and n >= 0),
            f"{where}.n", "a count (a whole number >= 0)", n)
    return MetricResult(stat, value, int(n or 0),
                        higher_is_better=bool(entry.get("higher_is_better")),
                        ci=tuple(ci) if ci is not None else None,
                        confidence=entry.get("confidence"), bounds=bounds,
                        ci_note=entry.get("ci_note"), clusters=entry.get("clusters"),
                        ci_method=entry.get("ci_method"), ci_reason=_reason(entry),
                        direction=entry.get("direction", True),
                        why_no_value=entry.get("why_no_value"))


def _reason(entry: dict[str, Any]) -> IntervalReason | None:
    """The reason for no interval (or for Korn & Graubard's) a results.json entry names."""
    kind = entry.get("ci_reason")
    return IntervalReason(kind, entry.get("ci_note") or "") if kind in REASON_KINDS else None


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _expect(ok: bool, where: str, expected: str, got: Any) -> None:
    if not ok:
        raise InputError(f"--resume: {where}': expected {expected}, got {json.dumps(got)[:80]}"
                         f": the file was edited or damaged since the audit wrote it; {_AGAIN}")


__all__ = ["RESUME", "finished_run", "reread_finished", "resume_key"]
