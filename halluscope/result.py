"""``AuditResult``: the outcome of an audit as data (metrics, problems, run sheet, items).

This module imports nothing above the audit pipeline: writing the outputs with the report
(:func:`halluscope.api.write_outputs`) and asserting thresholds (:mod:`halluscope.gates`) live
above it, and :func:`halluscope.audit` returns a :class:`halluscope.api.NotebookResult`, an
``AuditResult`` with ``save``, ``assert_below``, ``assert_above``, ``gate_failures`` and an HTML
view for notebooks.

One run, one set of outputs. Every file of an output folder carries the run's id
(``results.json`` and ``runsheet.json`` as ``run_id``, ``report.html`` in its header), and the
files are written so that a reader never takes a mix of two runs for one: the previous
``results.json`` is removed before anything else is written (:func:`begin_outputs`), each file is
written to a temporary name and renamed into place
(:func:`halluscope.atomicfiles.replace_atomically`), and ``results.json`` comes last, holding the
sha256 of the others. :func:`check_outputs` is the reader's side: it refuses a folder whose
``results.json`` is missing (an interrupted run) or whose files do not match it (a mix of runs).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from halluscope import _json as fast_json
from halluscope.errors import InputError, UnknownNameError, suggest
from halluscope.hashing import path_stamp
from halluscope.metrics.base import MetricSummary
from halluscope.metrics.stats import MetricResult

RESULTS = "results.json"
RUNSHEET = "runsheet.json"
REPORT = "report.html"
ITEMS = "items.jsonl"


def new_run_id() -> str:
    """A fresh run id (32 hex digits)."""
    return uuid.uuid4().hex




#: The lock file an audit holds in its output folder while it writes there (removed after).
LOCK = ".audit.lock"
AUDIT_LOCKED = ("another audit (pid {pid}) is writing to {out} (lock {lock}); wait for it to "
                "finish or pass another --out")
_HELD: dict[Path, dict[str, Any]] = {}     # folder -> its lock file, depth, thread, begun


def _check_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: expected a folder for the audit's outputs, got a file")


@contextmanager
def hold_outputs(out: Path) -> Iterator[None]:
    """Hold ``out``'s lock (:data:`LOCK`, ``fcntl.flock``, the holder's pid inside) while the
    block writes the folder: a second audit writing there, in this process or another, is
    refused at once (:class:`~halluscope.adapters.outlock.OutputLocked`, an input error)
    instead of scoring everything again and failing at the end over the first one's files.
    The same thread may hold it again (``audit`` around ``run_audit``). The OS releases the
    lock of a process that dies; a folder this made and no audit began writing is removed."""
    import threading
    from halluscope.adapters.outlock import OutputLocked, lock_output, unlock_output
    _check_folder(out)
    key = out.resolve()
    held = _HELD.get(key)
    if held is not None:
        if held["thread"] != threading.get_ident():
            raise OutputLocked(AUDIT_LOCKED.format(pid=f"{os.getpid()}, another thread",
                                                   out=out, lock=out / LOCK))
        held["depth"] += 1
        try:
            yield
        finally:
            held["depth"] -= 1
        return
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    fh = lock_output(out, lock_path=out / LOCK, message=AUDIT_LOCKED)
    _HELD[key] = held = {"depth": 1, "thread": threading.get_ident(), "begun": False}
    try:
        yield
    finally:
        del _HELD[key]
        if fh is not None:
            unlock_output(fh, remove=out / LOCK)
        if made and not held["begun"]:
            try:
                out.rmdir()         # a usage error before the audit began: no folder left
            except OSError:
                pass


def refuse_outputs_as_inputs(paths: list[Path], out: Path) -> None:
    """An input that is one of the files an audit writes in ``out`` (``items.jsonl``, its part
    file, the journal, ``results.json``, ...; by name, through a link or a hard link) is a
    usage error: the audit replaced it with its items, and the user's answers were gone
    without a word."""
    from halluscope.errors import ConfigError
    from halluscope.journal import JOURNAL
    own = []
    for name in (ITEMS, ITEMS + ".part", JOURNAL, RESULTS, RUNSHEET, REPORT, LOCK):
        try:
            own.append((name, (out / name).stat()))
        except (OSError, ValueError):
            continue
    for path in paths if own else ():
        try:
            st = Path(path).stat()
        except (OSError, ValueError):
            continue
        for name, theirs in own:
            if os.path.samestat(st, theirs):
                raise ConfigError(f"input {path} is the audit's own output file {name} in "
                                  f"--out {out}, which the audit writes over: copy it out of "
                                  f"that folder, or pass another --out")


def begin_outputs(out: Path) -> None:
    """Mark ``out`` as being rewritten: the previous run's ``results.json`` goes first, so that
    an interrupted run leaves a folder :func:`check_outputs` refuses, not a mix."""
    _check_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    held = _HELD.get(out.resolve())
    if held is not None:
        held["begun"] = True
    try:
        (out / RESULTS).unlink()
    except FileNotFoundError:
        pass
    _remove_parts_of_dead_writers(out)


def _remove_parts_of_dead_writers(out: Path) -> None:
    """Remove the temporary files (``.report.html.<pid>.<random>.part``,
    :func:`halluscope.atomicfiles.replace_atomically`) that a writer of ``out``'s outputs
    killed midway (``kill -9``, the OOM killer) left behind: they stayed through every later
    run and resume. A file whose process still runs is left to it."""
    import re
    names = "|".join(re.escape(n) for n in (ITEMS, RESULTS, RUNSHEET, REPORT))
    shape = re.compile(rf"\.(?:{names})\.(\d+)\.[0-9a-f]{{8}}\.part")
    try:
        found = [(p, int(m.group(1))) for p in out.iterdir()
                 if (m := shape.fullmatch(p.name))]
    except OSError:
        return
    for path, pid in found:
        if pid == os.getpid() or _running(pid):
            continue
        try:
            path.unlink()
        except OSError:
            pass


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True         # another user's process, or a number no process has: left alone
    return True


DIGEST = "digest"
"""The key of results.json's own sha256 (:func:`results_digest`)."""


def results_digest(data: dict[str, Any]) -> str:
    """The sha256 of results.json's content but its :data:`DIGEST` (keys sorted, ASCII JSON):
    written into the file, so that a value edited by hand is told from the run's own, which
    the other outputs' sha256 cannot tell (results.json holds them)."""
    from halluscope.hashing import json_sha256
    return json_sha256({k: v for k, v in data.items() if k != DIGEST})


#: More entries than this in a metric's ``groups``, or in ``errors``, and :func:`results_text`
#: writes each entry on a line of its own.
ONE_LINE_OVER = 100


def results_text(data: dict[str, Any]) -> str:
    """results.json's text: ``json.dumps(data, indent=2, ensure_ascii=False)``, except that a
    metric's ``groups`` with more than :data:`ONE_LINE_OVER` groups, and ``errors`` with more
    than that many entries, hold one entry a line, written without spaces. The same JSON
    values either way; with ``--by question_id`` (50,000 groups) indenting every statistic of
    every group made the file 112 MB instead of 61 MB and its writing (Python's indenting
    encoder) took 4.6 s of an audit's 5.5 s of JSON, one line a group 1 s."""
    def one_line(value: Any) -> bool:
        return (isinstance(value, dict) and len(value) > ONE_LINE_OVER
                and all(type(k) is str for k in value)) or (
            isinstance(value, list) and len(value) > ONE_LINE_OVER)
    marks: dict[str, Any] = {}

    def mark(value: Any) -> str:
        token = f"halluscope-one-line-{uuid.uuid4().hex}"
        marks[token] = value
        return token
    top = dict(data)
    if isinstance(top.get("metrics"), dict):
        top["metrics"] = {name: {**m, "groups": mark(m["groups"])}
                          if isinstance(m, dict) and one_line(m.get("groups")) else m
                          for name, m in top["metrics"].items()}
    if one_line(top.get("errors")):
        top["errors"] = mark(top["errors"])
    text = json.dumps(top, indent=2, ensure_ascii=False)
    if not marks:
        return text
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    parts, start = [], 0
    for at, token in sorted((text.index(f'"{token}"'), token) for token in marks):
        line = text.rfind("\n", 0, at) + 1
        pad = " " * (at - line - len(text[line:at].lstrip(" ")) + 2)
        value = marks[token]
        rows = ([f"{pad}{encode(k)}: {encode(v)}" for k, v in value.items()]
                if isinstance(value, dict) else [f"{pad}{encode(v)}" for v in value])
        brackets = "{}" if isinstance(value, dict) else "[]"
        parts += [text[start:at], brackets[0], "\n", ",\n".join(rows), "\n", pad[2:],
                  brackets[1]]
        start = at + len(token) + 2
    parts.append(text[start:])
    return "".join(parts)


def check_outputs(out: str | Path) -> dict[str, Any]:
    """The content of ``out/results.json`` after checking that it is as the run wrote it (its
    :data:`DIGEST`, where it has one: files written before it was kept have none) and that
    every output file beside it is the one that run wrote (same sha256). Raises
    :class:`~halluscope.errors.InputError` naming the folder when ``results.json`` is missing (the run was interrupted or is still going) or
    when a file differs from what it records (edited, truncated, or another run's)."""
    from halluscope.runsheet import sha256_file
    out = Path(out)
    path = out / RESULTS
    if not path.is_file():
        raise InputError(f"{out}: expected a finished audit with {RESULTS}, found none: the "
                         f"run that wrote this folder was interrupted or is still running")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: expected the JSON an audit writes, got a damaged file "
                         f"({exc}); audit again") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict) \
            or not isinstance(data.get("outputs"), dict) or not data["outputs"]:
        got = ("an object without them" if isinstance(data, dict) else "null" if data is None
               else "an array" if isinstance(data, list) else f"a JSON {type(data).__name__}")
        raise InputError(f"{path}: expected an audit's results (with 'metrics' and "
                         f"'outputs'), got {got}: the file is damaged or not halluscope's; "
                         f"audit again")
    if DIGEST in data and data[DIGEST] != results_digest(data):
        raise InputError(f"{path}: the content differs from the sha256 the run wrote into it "
                         f"({DIGEST}): the file was edited; audit again")
    for name, entry in data["outputs"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            got = "null" if entry is None else ("an object without a 'sha256' string"
                                                 if isinstance(entry, dict)
                                                 else f"a JSON {_json_kind(entry)}")
            raise InputError(f"{path}: expected outputs.{name} to be an object holding the "
                             f"file's sha256, got {got}: the file is damaged or not "
                             f"halluscope's; audit again")
        f = out / name
        if not f.is_file():
            raise InputError(f"{out}: {name} of run {data.get('run_id')} is missing")
        if sha256_file(f) != entry.get("sha256"):
            raise InputError(f"{out}: {name} does not match the sha256 results.json records for "
                             f"it (run {data.get('run_id')}): the file was edited, truncated or "
                             f"is from another run; audit again")
    return data


def _json_kind(value: Any) -> str:
    """What JSON type ``value`` came from, as a message names it."""
    return {bool: "boolean", str: "string", list: "array", int: "number",
            float: "number"}.get(type(value), type(value).__name__)


def _plain_integer(value: Any) -> bool:
    """Whether an id reads back as itself as an integer: "7" does, "007", "²" and a 20-digit
    id do not (as integers they would merge with "7", or fail)."""
    return (isinstance(value, str) and value.isascii() and value.isdigit()
            and str(int(value)) == value and int(value) < 2 ** 63)


def _stamp(path: Path) -> tuple[int, ...] | None:
    """What tells one ``items.jsonl`` from the next written at the same path: its size, mtime
    and inode, not its change time. Another audit writes a new file (renamed into place: a new
    inode; or rewritten: a new size or mtime), while a ``chmod``, a backup tool's extended
    attributes or a move away and back only move the change time of the same items, which
    must not be called replaced."""
    return path_stamp(path, ctime=False)


class Items:
    """The per-item results, read lazily from ``items.jsonl`` (never all held in memory)."""

    def __init__(self, path: Path, n: int):
        self.path = path
        self._n = n
        self._stamp = _stamp(path)

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        """What a notebook shows for ``result.items`` (was ``<...Items object at 0x...>``)."""
        return f"<Items: {self._n:,} item(s) in {self.path}; .head(n), [i], iterate>"

    def own_folder(self, folder: Path) -> None:
        """Delete ``folder`` (a temporary one holding ``items.jsonl``) once nothing reads
        these items any more: an audit without ``out`` left a folder behind every time."""
        import shutil
        import weakref
        weakref.finalize(self, shutil.rmtree, str(folder), True)

    def check(self) -> None:
        """An :class:`~halluscope.errors.InputError` when ``items.jsonl`` is no longer the file
        this audit wrote: a later audit into the same folder replaced it, and reading it would
        give that run's items under this result's metrics."""
        if self._stamp is not None and _stamp(self.path) != self._stamp:
            raise InputError(f"{self.path} was replaced after this audit wrote it (another "
                             f"audit into the same folder?): this result's items are gone; "
                             f"give each audit its own out=")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.check()
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                yield fast_json.loads(line)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            wanted = list(range(self._n)[index])
            picked = set(wanted)
            found = {i: item for i, item in enumerate(self) if i in picked} if picked else {}
            return [found[i] for i in wanted]
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError(index)
        for i, item in enumerate(self):
            if i == index:
                return item
        raise IndexError(index)

    def head(self, n: int = 5) -> list[dict[str, Any]]:
        out = []
        for item in self:
            if len(out) >= n:
                break
            out.append(item)
        return out


def stopped_said(entry: dict[str, Any]) -> str:
    """One sentence for an input whose reading stopped at a bad record (``entry``: one of
    :attr:`AuditResult.stopped_reading`): where, what the numbers cover, what was not read."""
    element = entry.get("element")
    where = f"{entry.get('file')}"
    line = f" (line {entry['line']:,})" if isinstance(entry.get("line"), int) else ""
    if isinstance(element, int):
        upto = (f"{where} was read only up to element {element:,}{line}, where a syntax error "
                f"stopped the reading: the numbers cover the {element - 1:,} element"
                f"{'' if element == 2 else 's'} before it only")
    else:
        upto = (f"{where}: a syntax error{line} stopped the reading: the numbers cover what "
                f"came before it only")
    unread = entry.get("unread")
    rest = (f"about {unread:,} element{'' if unread == 1 else 's'} after it were not read"
            if isinstance(unread, int) else "the rest of the file was not read")
    return f"{upto}; {rest} (fix the file and audit again)"


class AuditResult:
    """Metrics, per-item verdicts, problems and the run sheet of one audit (data: lookups and
    exports only; see the module docstring for what sits above it).

    Attributes:
        metrics: Metric name -> :class:`~halluscope.metrics.base.MetricSummary`.
        errors: Every bad line or unscorable record: file, line, field, message (and metric).
        runsheet: What the run was (versions, hashes, variants, seeds, wall time).
        items: Per-record results, streamed from ``items.jsonl``.
        config: The :class:`~halluscope.config.AuditConfig` that ran.
        n_skipped: Records that no selected metric applies to (marked ``skipped`` in items).
        unscored: Metric name -> why it scored no record (per cause, counted); the CLI exits 2
            when this is not empty, and a gate on such a metric fails with these reasons.
        reread: Read back from a finished audit's ``results.json`` (``--resume`` after it
            finished: :mod:`halluscope.finished`); nothing was scored or written.
    """

    reread: bool = False

    def __init__(self, *, metrics: dict[str, MetricSummary], errors: list[dict[str, Any]],
                 runsheet: dict[str, Any], items_path: Path, config: Any, n_items: int,
                 n_skipped: int = 0, unscored: dict[str, list[str]] | None = None,
                 run_id: str | None = None):
        self.metrics = metrics
        self.errors = errors
        self.runsheet = runsheet
        self.items_path = Path(items_path)
        self.items = Items(self.items_path, n_items)
        self.config = config
        self.n_skipped = n_skipped
        self.unscored = dict(unscored or {})
        self.run_id = run_id or (runsheet or {}).get("run_id") or new_run_id()

    # -- lookup -------------------------------------------------------------------------------
    def get(self, name: str) -> MetricResult:
        """The result named ``"<metric>.<statistic>"`` (e.g. ``"chair.chair_i"``, ``"pope.f1"``);
        ``"<metric>.<statistic>@<group>"`` picks a group (``"pope.f1@split:random"``)."""
        metric, _, stat = name.partition(".")
        group = None
        if "@" in stat:
            stat, _, group = stat.partition("@")
        if metric not in self.metrics:
            known = [f"{m}.{s}" for m, summary in self.metrics.items() for s in summary.results]
            hint = suggest(name, known) or suggest(metric, self.metrics)
            raise UnknownNameError(f"no metric {metric!r} in this audit{hint} (computed: "
                                   f"{', '.join(self.metrics) or 'none'})")
        summary = self.metrics[metric]
        if not stat:        # said "has no statistic ''"
            raise UnknownNameError(f"expected a name '<metric>.<statistic>' such as "
                                   f"'{metric}.{next(iter(summary.results), 'rate')}', got "
                                   f"{name!r} (statistics: {', '.join(summary.results)})")
        results = summary.results if group is None else summary.groups.get(group)
        if results is None:     # the groups of its field where it has some (not 80 objects)
            field = group.partition(":")[0] + ":"
            same = [g for g in summary.groups if g.startswith(field)] if ":" in group else []
            raise UnknownNameError(f"metric {metric!r} has no group {group!r}"
                                   f"{suggest(group, summary.groups)} ("
                                   + (f"its {field[:-1]} groups: {', '.join(same)}" if same
                                      else f"groups: {', '.join(summary.groups) or 'none'}")
                                   + ")")
        if stat not in results:
            raise UnknownNameError(f"metric {metric!r} has no statistic {stat!r}"
                                   f"{suggest(stat, results)} (statistics: {', '.join(results)})")
        return results[stat]

    @property
    def summary(self) -> dict[str, float]:
        """Flat ``{"metric.statistic": value}`` of every top-level result."""
        out = {}
        for name, summary in self.metrics.items():
            for stat, res in summary.results.items():
                out[f"{name}.{stat}"] = res.value
        return out

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json`` (``n_truncated``, ``n_filtered`` and
        ``unrecognised_finish`` only where the answers' finish reasons gave any:
        :mod:`halluscope.finish_reasons`)."""
        from halluscope.finish_reasons import finish_counts
        finish = finish_counts(self.runsheet)
        return {
            "run_id": self.run_id,
            "metrics": {name: s.to_dict() for name, s in self.metrics.items()},
            "n_items": len(self.items),
            "n_errors": len(self.errors),
            "n_skipped": self.n_skipped,
            **{f"n_{k}": finish[k] for k in ("truncated", "filtered") if k in finish},
            **({"unrecognised_finish": finish["unrecognised_finish"]}
               if "unrecognised_finish" in finish else {}),
            "unscored": self.unscored,
            # inputs from a query run that did not finish: the numbers are over part of them
            **({"partial": True, "unfinished_inputs": self.unfinished_inputs}
               if self.unfinished_inputs else {}),
            "errors": self.errors,
        }

    @property
    def stopped_reading(self) -> list[dict[str, Any]]:
        """The bad records at which the reading of an input stopped before its end (a syntax
        error inside a JSON array: ``reading_stopped`` in ``errors``): what follows them in
        the file was not read, so the metrics cover the elements before them only; the CLI
        exits 2 and the pytest plugin fails the test (:func:`stopped_said` says it)."""
        return [e for e in self.errors if isinstance(e, dict) and e.get("reading_stopped")]

    @property
    def unfinished_inputs(self) -> list[dict[str, Any]]:
        """The inputs written by a ``halluscope query`` run that did not finish (the run
        sheet's ``unfinished_inputs``: input, reason, requests, answered, missing): the
        metrics are over the answers they hold only, and no gate is decided on them unless
        ``allow_unfinished_query`` is set."""
        found = (self.runsheet or {}).get("unfinished_inputs")
        return list(found) if isinstance(found, list) else []

    # -- export -------------------------------------------------------------------------------
    def to_pandas(self, level: str = "items"):
        """A DataFrame: one row per item (``level="items"``, metric payloads flattened; ids that
        are all integers come out as integers), one row per claim (``level="claims"``), or one
        row per metric, statistic and group (``level="metrics"``: ``group`` is empty overall,
        ``model:demo-vlm-a`` per model, ...; ``why_no_value`` says why a value is missing
        where the metric knows)."""
        import pandas as pd
        if level == "metrics":
            return pd.DataFrame(self._metric_rows())
        if level == "claims":
            rows = []
            for item in self.items:
                for claim in item.get("claims") or ():
                    rows.append({"id": item.get("id"), "image": item.get("image"), **claim})
            return pd.DataFrame(rows)
        if level != "items":
            raise ValueError(f"expected level 'items', 'claims' or 'metrics', got {level!r}")
        rows = []
        for item in self.items:
            row = {k: v for k, v in item.items() if not isinstance(v, (dict, list))}
            for name in self.metrics:
                payload = item.get(name)
                if not isinstance(payload, dict):
                    payload = item.get(f"{name}_summary")
                if isinstance(payload, dict):
                    for k, v in payload.items():
                        row[f"{name}.{k}"] = v
            if "claims" in item:
                row["n_claims"] = len(item["claims"])
            rows.append(row)
        frame = pd.DataFrame(rows)
        if "id" in frame and len(frame) and frame["id"].map(_plain_integer).all():
            frame["id"] = frame["id"].astype("int64")
        if "image_id" in frame and frame["image_id"].notna().all():
            frame["image_id"] = frame["image_id"].astype("int64")
        return frame

    def _metric_rows(self) -> list[dict[str, Any]]:
        rows = []
        for name, summary in self.metrics.items():
            for group, results in [("", summary.results), *summary.groups.items()]:
                for stat, res in results.items():
                    rows.append({"metric": name, "statistic": stat, "group": group,
                                 "value": res.value, "ci_lower": res.ci[0] if res.ci else None,
                                 "ci_upper": res.ci[1] if res.ci else None, "n": res.n,
                                 "ci_note": getattr(res, "ci_note", None),
                                 "ci_method": getattr(res, "ci_method", None),
                                 "ci_reason": getattr(getattr(res, "ci_reason", None), "kind",
                                                      None),
                                 "why_no_value": getattr(res, "why_no_value", None)})
        return rows

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in self.summary.items())
        unscored = f", unscored={sorted(self.unscored)}" if self.unscored else ""
        partial = (", PARTIAL: inputs of an unfinished query run (see .unfinished_inputs)"
                   if self.unfinished_inputs else "")
        stopped = (", READ IN PART: a syntax error stopped the reading of an input (see "
                   ".stopped_reading)" if self.stopped_reading else "")
        return (f"AuditResult({parts}; items={len(self.items)}, errors={len(self.errors)}"
                f"{unscored}{partial}{stopped})")
