"""What the ``halluscope query`` run sheet beside an audited file says about it.

``halluscope query -o out.jsonl`` writes ``out.jsonl.runsheet.json``: the model and settings
that answered, and whether the run finished (``aborted``: interrupted, a server that could
not be reached, killed). An audit of ``out.jsonl`` reads it when it is there, so that

* the audit's run sheet names the model, pin, endpoint and decoding behind the answers it
  scored (``query_runs``), not only the model name each line carries;
* an audit of a run that did not finish says so: its file holds the answers of some prompts
  only, and the scores are over those (the prompts never asked are in no line, so nothing
  else could tell).

A file without such a run sheet (not query's output) is audited as before. A run sheet that
cannot be read is said as such, never guessed at.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from halluscope.runsheet import query_sheet_path

#: The parts of a query run sheet that say what answered (copied into the audit's run sheet).
_WHAT_ANSWERED = ("model", "decoding", "samples", "detail", "system_prompt")


def query_run(path: Path) -> dict[str, Any] | None:
    """The audit run sheet's entry for input ``path`` written by ``halluscope query``; None
    when no query run sheet lies beside it (or one of another kind)."""
    sheet_path = query_sheet_path(path)
    if not sheet_path.is_file():
        return None
    entry: dict[str, Any] = {"input": str(path), "runsheet": str(sheet_path)}
    try:
        sheet = json.loads(sheet_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return {**entry, "finished": None,
                "unreadable": f"expected a JSON object, could not read it ({exc})"}
    if not isinstance(sheet, dict):
        return {**entry, "finished": None,
                "unreadable": f"expected a JSON object, got {type(sheet).__name__}"}
    if sheet.get("kind") != "query":
        return None
    entry.update({k: sheet[k] for k in _WHAT_ANSWERED if k in sheet})
    entry["finished"] = sheet.get("aborted") is None
    if sheet.get("aborted") is not None:
        entry["aborted"] = sheet["aborted"]
        if (pid := _writer(path)) is not None:    # not killed: still asking
            entry["in_progress"] = pid
    counts = sheet.get("counts")
    if isinstance(counts, dict) and _whole(counts.get("total")) and _whole(counts.get("skipped")):
        answered = sum(counts.get(k, 0) for k in ("skipped", "cached", "new")
                       if _whole(counts.get(k)))
        # total is the whole set where the sheet has to_ask; an older sheet's total was the
        # requests left to ask, besides the skipped ones
        entry["requests"] = counts["total"] + (0 if "to_ask" in counts else counts["skipped"])
        entry["answered"] = answered
    return entry


def _writer(path: Path) -> int | None:
    """The process id of the query run writing ``path`` now, if one is: the one its lock file
    (``<file>.lock``, removed when a run ends; a killed run leaves its id there) names, when
    that process is alive and (where ``/proc`` tells) started before the lock was written, so
    that a killed run's id taken since by another process is not it."""
    lock = path.with_name(path.name + ".lock")
    try:
        pid = int(lock.read_text(encoding="utf-8").strip())
        locked_at = lock.stat().st_mtime
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if pid <= 0 or pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except PermissionError:         # alive, another user's
        pass
    except OSError:
        return None
    started = _started_at(pid)
    return pid if started is None or started <= locked_at + 1 else None


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from Linux's ``/proc``; None
    where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(float(line.split()[1]) for line in
                    Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def query_runs(paths: list[Path]) -> list[dict[str, Any]]:
    """:func:`query_run` of every input that has a query run sheet beside it."""
    return [run for p in paths if (run := query_run(Path(p))) is not None]


def unfinished_notes(runs: list[dict[str, Any]]) -> list[str]:
    """One warning for each audited file whose query run did not finish (or whose run sheet
    cannot be read): the scores are over the answers it holds only."""
    notes = []
    for run in runs:
        if run.get("unreadable"):
            notes.append(f"{run['input']}: its query run sheet {run['runsheet']} cannot be read "
                         f"({run['unreadable']}): whether the query finished is unknown")
        elif run.get("in_progress"):
            notes.append(f"{run['input']} is being written by a halluscope query run still in "
                         f"progress (process {run['in_progress']}): it holds the answers that "
                         f"run has written so far, and the scores are over those only; audit "
                         f"it once the run has finished")
        elif run.get("finished") is False:
            held = (f"it holds answers to {run['answered']:,} of the {run['requests']:,} "
                    f"requests it was to make" if "requests" in run
                    else "it may hold answers to some of its prompts only")
            again = ("" if "run again" in str(run["aborted"])
                     else "; run the same query command again to finish it")
            notes.append(f"{run['input']} was written by a halluscope query run that did not "
                         f"finish ({run['aborted']}{again}): {held}, and the scores are over "
                         f"those answers only")
    return notes


def unfinished_inputs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audited files whose query run did not finish (interrupted, killed, still in
    progress) or whose run sheet cannot be read, from the run sheet's ``query_runs``: each
    with its ``input``, why (``reason``) and, where the run sheet counts them, how many
    ``requests`` the run was to make, how many were ``answered`` and how many are ``missing``.
    The audit's scores are over the answers held only: ``results.json`` says so
    (``unfinished_inputs``) and a gate is not decided on them (:func:`undecided_reason`)."""
    out = []
    for run in runs:
        if not isinstance(run, dict) or run.get("finished") is True:
            continue
        entry: dict[str, Any] = {"input": run.get("input"), "runsheet": run.get("runsheet")}
        if run.get("unreadable") or run.get("finished") is not False:
            entry["reason"] = (f"its query run sheet cannot be read ({run.get('unreadable')}): "
                               f"whether the query finished is unknown")
        elif run.get("in_progress"):
            entry["reason"] = f"still in progress, process {run['in_progress']}"
        else:
            entry["reason"] = str(run.get("aborted"))
        if _whole(run.get("requests")) and _whole(run.get("answered")):
            entry.update(requests=run["requests"], answered=run["answered"],
                         missing=max(run["requests"] - run["answered"], 0))
        out.append(entry)
    return out


def undecided_reason(runsheet: Any, allowed: bool = False) -> str | None:
    """Why no gate can be decided on the audit whose run sheet is ``runsheet``: an input from a
    query run that did not finish (its numbers are over some of the benchmark's requests
    only); None when every input's query run finished (or none has one), or when ``allowed``
    (``allow_unfinished_query``: the user said to judge the gates on the answers held)."""
    runs = runsheet.get("query_runs") if isinstance(runsheet, dict) else None
    unfinished = unfinished_inputs(runs) if isinstance(runs, list) and not allowed else []
    if not unfinished:
        return None
    return ("not decided: " + partial_said(unfinished) + "; finish the query (run the same "
            "command again) and audit again, or allow it to judge the gates on the answers held "
            "(audit --allow-unfinished-query, allow_unfinished_query=True, pytest "
            "--halluscope-allow-unfinished-query)")


def partial_said(entries: Any) -> str:
    """``results.json``'s ``unfinished_inputs`` (input, reason, requests, answered, missing)
    said in one line: which inputs a query run did not finish and how many requests each
    lacks; an entry that is not such an object is said as unreadable, never left out."""
    said = []
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, dict) or "input" not in entry:
            said.append(f"an unfinished input whose entry cannot be read ({entry!r})")
            continue
        reason = entry.get("reason", "no reason recorded")
        if "cannot be read" in str(reason):        # whether it finished is unknown
            said.append(f"input {entry['input']}: {reason}")
            continue
        held = (f"{entry['answered']:,} of {entry['requests']:,} requests answered, "
                f"{entry['missing']:,} missing" if all(_whole(entry.get(k)) for k in
                                                      ("requests", "answered", "missing"))
                else "how many requests it lacks is unknown")
        said.append(f"input {entry['input']} is from a query run that did not finish ({held}; "
                    f"{reason})")
    return "; ".join(said)


def undecided_of(result: Any) -> str | None:
    """:func:`undecided_reason` of an audit result (its run sheet; allowed where its
    configuration's ``allow_unfinished_query`` is set): what every gate on it says instead of
    passing or failing on its numbers."""
    allowed = getattr(getattr(result, "config", None), "allow_unfinished_query", False)
    return undecided_reason(getattr(result, "runsheet", None), allowed is True)


#: Metrics that read a query run's samples (``-n N``) as groups of one prompt's answers.
_READ_SAMPLES = frozenset({"consistency", "self_consistency"})


def samples_notes(runs: list[dict[str, Any]], metrics: list[str]) -> list[str]:
    """One warning for each audited file that holds several samples of each prompt (``query
    -n N``) when a metric that scores answers one by one reads it: each sample counts as an
    answer of its own (a question asked once weighs N answers), which nothing else says when
    the answers carry their own labels."""
    others = [m for m in metrics if m not in _READ_SAMPLES]
    notes = []
    for run in runs:
        n = run.get("samples")
        if others and isinstance(n, int) and not isinstance(n, bool) and n > 1:
            notes.append(f"{run['input']} holds {n} sampled answers to each prompt (halluscope "
                         f"query -n {n}): {', '.join(others)} scores every sample as an answer "
                         f"of its own, so each prompt counts {n} times; --metric consistency "
                         f"reads them as groups")
    return notes
