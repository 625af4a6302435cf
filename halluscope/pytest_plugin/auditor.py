"""The auditor behind the pytest plugin's fixtures, and the NotebookResult subclass they return.

:class:`Auditor` runs :func:`halluscope.audit` with the plugin's options (command line, ini file)
applied and memoises identical audits for the session. :func:`gate_result` gives the fixture's
result an ``assert_no_regression`` that uses the session's baseline. With ``model=``, prompts are
answered first through :mod:`halluscope.adapters`; in offline mode a missing cached answer fails
the test with a message that names the model and the cache.

Importing this module loads only pytest and the standard library.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import pytest

from halluscope.cachedir import default_cache_dir
from halluscope.pytest_plugin.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from halluscope.gates.assertions import Outcome
    from halluscope.result import AuditResult

_PATH_KEYS = ("gt_objects", "questions", "cache_dir")
_PATHS_KEYS = ("coco_annotations", "annotations")


def cached_answers(cache: Path | None) -> int:
    """How many answers the adapters' response cache in ``cache`` holds (0 when there is none,
    also when caching is off: ``None``); read-only: never creates the cache."""
    import sqlite3
    if cache is None:
        return 0
    path = cache if cache.suffix in (".sqlite3", ".sqlite", ".db") else \
        cache / "responses.sqlite3"
    if not path.is_file():
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


class AuditSession(Protocol):
    """What the auditor needs of the plugin's session (``GateSession`` in
    :mod:`halluscope.pytest_plugin`, which imports this module, not the other way round)."""

    settings: Settings
    worker: str | None

    def scratch(self) -> Path: ...

    def record_audit(self, key: str, inputs: list[str], result: AuditResult,
                     out: Path | None, overrides: dict[str, Any] | None = None) -> None: ...

    def check_regression(self, result: AuditResult, name: str,
                         tolerance: float | None = None) -> Outcome: ...


def _key(inputs: list[str], records: Any, options: dict[str, Any]) -> str:
    blob = json.dumps({"inputs": inputs, "records": records, "options": options},
                      sort_keys=True, default=_canonical)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    """What a memo key holds of a value JSON cannot write: all of it. ``str`` shows a
    DataFrame's or a long array's first and last rows only, so two inputs that differ in
    between had one key and the second audit got the first one's result."""
    import dataclasses
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__class__": type(value).__qualname__, **dataclasses.asdict(value)}
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()                   # numpy arrays and scalars
    if isinstance(value, (set, frozenset)):
        return sorted(map(repr, value))
    return repr(value)


class Auditor:
    """Runs audits with the plugin's options; identical audits run once per process.

    ``audit(outputs=None, *, records=None, model=None, **overrides)``: ``outputs`` replaces the
    configured outputs (paths relative to the rootdir), ``records`` audits in-memory records,
    ``model`` answers prompts without responses through :mod:`halluscope.adapters` first, and
    ``overrides`` are :func:`halluscope.audit` options (``metrics``, ``confidence``,
    ``n_boot``, ``gt_objects``, ... and ``offline``). The result has the fixture's three
    assertions (``assert_below``, ``assert_above``, ``assert_no_regression``).
    """

    def __init__(self, session: AuditSession):
        self.session = session
        self._cache: dict[str, AuditResult] = {}
        self._given: dict[str, list[tuple[str, Any]]] = {}    # key -> its inputs' stamps
        self._reruns: dict[str, int] = {}       # key -> audits again after a file changed

    @property
    def settings(self) -> Settings:
        return self.session.settings

    def _resolve(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, (list, tuple)):
            return [self._resolve(v) for v in value]
        p = Path(value)
        return p if p.is_absolute() else (self.settings.rootpath / p).resolve()

    def prepare(self, outputs: Any = None, *, records: Any = None, **overrides: Any
                ) -> tuple[list[Path], dict[str, Any]]:
        """The inputs and :func:`halluscope.audit` keyword arguments an audit would use."""
        overrides = dict(overrides)
        if "metric" in overrides:          # the marker's spelling: metric="chair" as metrics=
            overrides.setdefault("metrics", overrides.pop("metric"))
            overrides.pop("metric", None)
        if outputs is None:
            outputs = overrides.pop("inputs", None)
        opts = self.settings.audit_options()
        offline = overrides.pop("offline", None)
        for key in _PATH_KEYS:
            if overrides.get(key) is not None:
                overrides[key] = self._resolve(overrides[key])
        for key in _PATHS_KEYS:
            if overrides.get(key) is not None:
                value = overrides[key]
                overrides[key] = self._resolve(value if isinstance(value, (list, tuple))
                                               else [value])
        extra = dict(opts.pop("options", {}))
        extra.update(overrides.pop("options", None) or {})
        if offline is not None:
            extra["offline"] = bool(offline)
        opts.update(overrides)
        if extra:
            opts["options"] = extra
        if outputs is None:         # records given replace the ini's outputs, never join them
            inputs = [] if records is not None else list(self.settings.outputs)
        else:
            inputs = self._resolve(outputs if isinstance(outputs, (list, tuple)) else [outputs])
        if not inputs and records is None:
            pytest.fail("halluscope: no model outputs to audit: pass --halluscope-outputs PATH, "
                        "set halluscope_outputs in the ini file, or give outputs=... to "
                        "@pytest.mark.halluscope or halluscope_auditor.audit()", pytrace=False)
        return inputs, opts

    def audit(self, outputs: Any = None, *, records: Any = None, model: str | None = None,
              base_url: str | None = None, **overrides: Any) -> AuditResult:
        """Audit with the plugin's options applied; see the class docstring. ``base_url`` is
        the server ``model`` is asked on (answers are cached per endpoint, so an offline run
        names the same server as the run that filled the cache)."""
        __tracebackhide__ = True
        from halluscope.errors import HalluscopeError
        if records is not None and not isinstance(records, (list, tuple)):
            from halluscope.readers import rows_of  # a DataFrame, a Dataset, a generator: read
            try:                                    # once, all rows in the memo key
                records = rows_of(records)
            except HalluscopeError as exc:
                fail_alone(f"halluscope audit failed: {exc}")
        inputs, opts = self.prepare(outputs, records=records, **overrides)
        key = _key([str(p) for p in inputs], records, {**opts, "model": model,
                                                        "base_url": base_url})
        cached = self._cache.get(key)
        given = _given_stamps(inputs)
        if cached is not None and not _files_changed(cached, self._given.get(key, [])):
            _fail_if_unscored(cached)
            return cached
        if cached is not None:          # a file changed: audited again, into a folder of its own
            self._reruns[key] = self._reruns.get(key, 0) + 1
        run = key if key not in self._reruns else f"{key}-{self._reruns[key]}"
        out = self._out_dir(run, opts)
        try:
            if model is not None:
                inputs = self._answer_with_model(inputs, model, opts, out or self.session
                                                 .scratch() / short_key(run), base_url=base_url)
            from halluscope.api import audit
            result = audit(inputs or None, records=records, out=out or self.session.scratch()
                           / short_key(run), write_report=out is not None, **opts)
        except HalluscopeError as exc:
            offline = (opts.get("options") or {}).get("offline")
            note = " (offline mode: only cached model/judge answers are used)" if offline \
                else ""
            fail_alone(f"halluscope audit failed{note}: {exc}")
        # with the regression check too: it raised AttributeError on the auditor's result
        result = gate_result(result, self.session)
        self._cache[key], self._given[key] = result, given + _read_stamps(result)
        shown = {k: v for k, v in overrides.items() if k not in ("inputs", "options")}
        if model is not None:
            shown["model"] = model
        self.session.record_audit(run, [str(p) for p in inputs], result, out, shown)
        _fail_if_unscored(result)
        return result

    def _out_dir(self, key: str, opts: dict[str, Any]) -> Path | None:
        base = self.settings.out
        if base is None:
            return None
        if self.session.worker:
            base = base / self.session.worker
        metrics = opts.get("metrics")
        label = metrics if isinstance(metrics, str) else "-".join(metrics or ()) or "audit"
        return base / f"{label.replace(',', '-')}-{key[:8]}{key[64:]}"    # a rerun's "-1"

    def _answer_with_model(self, inputs: list[Path], model: str, opts: dict[str, Any],
                           folder: Path, base_url: str | None = None) -> list[Path]:
        """Answer the prompts in ``inputs`` with ``model`` through the adapters' cache; one
        answers file per prompts file. In offline mode the answers must all be cached."""
        __tracebackhide__ = True
        offline = bool((opts.get("options") or {}).get("offline"))
        cache = Path(opts["cache_dir"]) if opts.get("cache_dir") else default_cache_dir()
        mode = "halluscope offline mode" if offline else "halluscope"
        from halluscope.adapters.query import query
        folder.mkdir(parents=True, exist_ok=True)
        answers: list[Path] = []
        for i, prompts in enumerate(inputs):
            out = folder / ("answers.jsonl" if len(inputs) == 1 else f"answers-{i}.jsonl")
            try:
                records = query(prompts, model, out=out,
                                cache=cache if cache is not None else False, base_url=base_url,
                                offline=True if offline else None)
            except Exception as exc:  # noqa: BLE001 - reported as a clear test failure
                if offline:
                    held = cached_answers(cache)
                    fail_alone(f"{mode}: model {model!r} has no cached answer in {cache} "
                               f"(it holds {held} answer(s)): {type(exc).__name__}: {exc}")
                fail_alone(f"{mode}: asking model {model!r} failed: {type(exc).__name__}: "
                           f"{exc}")
            failed = [r for r in records if "error" in r]
            if failed:
                where = f" from the cache {cache}" if offline else f" (cache {cache})"
                pytest.fail(f"{mode}: model {model!r} could not answer {len(failed)} of "
                            f"{len(records)} prompt(s) of {prompts}{where}; first: "
                            f"{failed[0].get('id')!r}: {failed[0]['error']}", pytrace=False)
            answers.append(out)
        return answers


def short_key(run: str) -> str:
    """An audit's key as its folder and the report name it: the memo key's first 12 digits,
    and ``-N`` for its N-th audit again after a file changed."""
    return run[:12] + run[64:]


def _given_stamps(inputs: list[Path]) -> list[tuple[str, Any]]:
    """The stamp (size, modification time, inode, change time) of each input as given
    (prompts that a model answers, a folder's ``halluscope.toml``), which the run sheet's
    files do not show. Size and modification time alone missed a file replaced by one of the
    same size whose modification time was kept (``shutil.copy2``, ``cp -p``, a tar's second
    resolution): the second audit's tests got the first one's numbers."""
    from halluscope.hashing import path_stamp
    paths = [Path(p) for p in inputs]
    paths += [p / "halluscope.toml" for p in paths if p.is_dir()]
    return [(str(p), path_stamp(p) or ()) for p in paths]


def _sheet_files(result: AuditResult) -> list[tuple[str, tuple[Any, ...]]]:
    """The inputs and companion files (annotations, questions, a metric's file) ``result``'s
    run sheet lists, each with the size and modification time the audit read."""
    header = ((result.runsheet or {}).get("resume") or {}).get("header") or {}
    return [(entry[0], tuple(entry[1:3])) for key in ("inputs", "companions")
            for entry in header.get(key) or () if isinstance(entry, list) and entry]


def _read_stamps(result: AuditResult) -> list[tuple[str, Any]]:
    """The full stamps of the run sheet's files that are still as the audit read them, so
    that a later replacement keeping size and modification time is seen (see
    :func:`_given_stamps`)."""
    from halluscope.hashing import path_stamp
    out = []
    for path, stamp in _sheet_files(result):
        now = path_stamp(path) or ()
        if now[:2] == stamp:
            out.append((path, now))
    return out


def _files_changed(result: AuditResult, given: list[tuple[str, Any]]) -> bool:
    """Whether an input of ``result``'s audit (``given``, and those its run sheet lists), or a
    file its options name (annotations, questions, a metric's file), is gone or has another
    stamp now: the memo is keyed by path, and a test that wrote other outputs to the same
    file got the first audit's result, its gate passing on numbers of outputs no longer
    there."""
    from halluscope.hashing import path_stamp
    return any((path_stamp(path) or ()) != tuple(stamp) for path, stamp in given) or any(
        (path_stamp(path) or ())[:2] != stamp for path, stamp in _sheet_files(result))


def fail_alone(message: str) -> NoReturn:
    """``pytest.fail(message, pytrace=False)`` without the exception being handled: called in
    an ``except`` block, pytest.fail showed that exception's message, then "During handling of
    the above exception, another exception occurred:" and the message again. (Not hidden
    from the traceback: pytest shows the message alone, where it said "All traceback entries
    are hidden" beside it when every frame was.)"""
    raise pytest.fail.Exception(message, pytrace=False) from None


def _fail_if_unscored(result: AuditResult) -> None:
    """A metric that was asked for and scored nothing fails the test with the reason, as the
    CLI exits 2 with it (the session passed with "0 problem(s)" and ``n=0``); so does an input
    read only in part (a syntax error inside a JSON array stopped its reading: a gate passed
    on the elements before it, the rest of the file unread)."""
    __tracebackhide__ = True
    if result.unscored or result.stopped_reading:
        from halluscope.result import stopped_said
        pytest.fail("halluscope audit failed: " + "; ".join(
            [f"{name} scored nothing: {'; '.join(reasons)}"
             for name, reasons in result.unscored.items()]
            + [f"input read in part: {stopped_said(e)}" for e in result.stopped_reading])
            + _bad_records_said(result), pytrace=False)


def _bad_records_said(result: AuditResult, limit: int = 5) -> str:
    """Where the bad records are (file:line, field, message; identical problems as one line,
    as the console's problems table shows them): the reasons alone ("5 records: bad record:
    field 'error': ...") named no file or line to open."""
    if not result.errors:
        return ""
    from halluscope.redact import redact_text
    from halluscope.report.console import collapse_errors
    groups = collapse_errors(result.errors)
    lines = ["\n  bad records:"]
    for err, _, where in groups[:limit]:
        field = f"field {err['field']!r}: " if err.get("field") else ""
        lines.append(f"\n    {where}: {field}{redact_text(str(err.get('message') or ''))}")
    if len(groups) > limit:
        lines.append(f"\n    ... and {len(groups) - limit:,} other problem(s)")
    return "".join(lines)


# -- the returned result --------------------------------------------------------------------
class _GateMixin:
    """What the plugin adds to :class:`~halluscope.api.NotebookResult` (whose ``assert_below``
    and ``assert_above`` return the :class:`~halluscope.gates.assertions.Outcome`)."""

    _halluscope_session: AuditSession

    def assert_no_regression(self, name: str, tolerance: float | None = None) -> Outcome:
        """Fail when ``name`` got worse than the baseline by more than ``tolerance`` (default:
        ``--halluscope-tolerance``); with ``--halluscope-update-baseline``, record it instead."""
        __tracebackhide__ = True
        return self._halluscope_session.check_regression(self, name, tolerance)


_GATE_CLASS: type | None = None


def gate_result(result: AuditResult, session: AuditSession) -> AuditResult:
    """``result`` as the plugin's NotebookResult subclass (same data, shared items file)."""
    global _GATE_CLASS
    if _GATE_CLASS is None:
        from halluscope.api import NotebookResult
        _GATE_CLASS = type("GateResult", (_GateMixin, NotebookResult),
                           {"__module__": __name__, "__doc__": "A NotebookResult with the "
                            "plugin's regression check (``assert_no_regression``)."})
    gate = _GATE_CLASS.of(result)
    # the audit is run once and shared by the tests; each gets its own copy of what it can
    # change, so that a test that edits a value cannot pass or fail another test's gate
    import copy
    for name in ("metrics", "runsheet", "errors", "unscored"):
        if name in vars(gate):
            setattr(gate, name, copy.deepcopy(getattr(gate, name)))
    gate._halluscope_session = session
    return gate


__all__ = ["AuditSession", "Auditor", "cached_answers", "fail_alone", "gate_result",
           "short_key"]
