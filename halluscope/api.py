"""The Python API: :func:`audit`, the :class:`NotebookResult` it returns, and
:func:`write_outputs`, which writes an audit's output folder, report included.

>>> import halluscope
>>> result = halluscope.audit("data/")          # a NotebookResult
>>> result.summary, result.get("pope.f1").ci     # the data (halluscope.result.AuditResult)
>>> result.assert_below("chair.chair_i", 0.15)   # the gates
>>> result.save("runs/notebook")                 # results.json, items.jsonl, report.html, ...

This room sits above the report and the gates, beside the CLI and the pytest plugin (the faces):
:class:`~halluscope.result.AuditResult` stays data, and what needs the report or the gates is
added here. The CLI calls :func:`audit` (its gates checked before scoring through ``gates=``)
and then judges the gates; the plugin's fixture result is a :class:`NotebookResult` too.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from halluscope.atomicfiles import replace_atomically
from halluscope.errors import WRITE_ERRNOS
from halluscope.pipeline import Progress, run_audit
from halluscope.result import (DIGEST, ITEMS, REPORT, RESULTS, RUNSHEET, AuditResult,
                               begin_outputs, hold_outputs, results_digest, results_text)

if TYPE_CHECKING:  # pragma: no cover
    from halluscope.config import AuditConfig
    from halluscope.gates.thresholds import Gate


def write_outputs(result: AuditResult, out: str | Path, *, write_items: bool = True,
                  write_report: bool = True) -> Path:
    """Write ``items.jsonl``, ``runsheet.json``, ``report.html`` and, last, ``results.json``
    with the sha256 of the others (see :mod:`halluscope.result`) into ``out``; a report from
    an earlier run that this one does not rewrite is removed rather than left beside it.
    ``result.runsheet`` gets the run id. Returns ``out``."""
    from halluscope.journal import discard_journal
    from halluscope.redact import redact_mapping
    from halluscope.hashing import known_sha256
    out = Path(out)
    if write_items:
        result.items.check()        # never save another run's items under these metrics
    if write_items and result.items_path.resolve() != (out / ITEMS).resolve():
        begin_outputs(out)
        replace_atomically(out / ITEMS, lambda tmp: shutil.copyfile(result.items_path, tmp))
    else:
        out.mkdir(parents=True, exist_ok=True)
    from halluscope.textfiles import text_of       # file names that are not UTF-8, shown
    result.runsheet = text_of({**result.runsheet, "run_id": result.run_id})
    replace_atomically(out / RUNSHEET, lambda tmp: tmp.write_text(
        json.dumps(redact_mapping(result.runsheet), indent=2, ensure_ascii=False),
        encoding="utf-8"))
    written = [ITEMS, RUNSHEET]
    if write_report:
        from halluscope.report.html import write_report as _write
        replace_atomically(out / REPORT, lambda tmp: _write(result, tmp))
        written.append(REPORT)
    elif (out / REPORT).exists():
        (out / REPORT).unlink()
    data = text_of(redact_mapping(result.to_dict()))
    data["outputs"] = {name: {"sha256": known_sha256(out / name),
                              "size": (out / name).stat().st_size}
                       for name in written if (out / name).is_file()}
    data[DIGEST] = results_digest(data)
    replace_atomically(out / RESULTS, lambda tmp: tmp.write_text(
        results_text(data), encoding="utf-8"))
    discard_journal(out)        # kept till now: an interrupt before this resumes from it
    return out


class NotebookResult(AuditResult):
    """An :class:`~halluscope.result.AuditResult` with what notebooks and tests do with one:
    :meth:`save` (the outputs, report included), :meth:`assert_below`, :meth:`assert_above`,
    :meth:`gate_failures` (the gates) and an HTML summary in Jupyter."""

    #: The specs of the gates given to :func:`audit` whose weaker-than-they-look warnings
    #: were given before scoring (:func:`~halluscope.gates.thresholds.check_gates` skips them).
    gates_warned: frozenset[str] = frozenset()

    #: The folder :meth:`save` wrote last (its report is the one the HTML summary links).
    saved_to: Path | None = None

    @classmethod
    def of(cls, result: AuditResult) -> NotebookResult:
        """``result``'s data (shared, not copied: the same items file) as a ``cls``: every
        attribute, whatever AuditResult holds."""
        new = cls.__new__(cls)
        new.__dict__.update(vars(result))
        return new

    def save(self, out: str | Path, *, write_items: bool = True,
             write_report: bool = True) -> Path:
        """Write the outputs into ``out`` (:func:`write_outputs`); the notebook's summary links
        the report written last."""
        written = write_outputs(self, out, write_items=write_items, write_report=write_report)
        self.saved_to = written
        return written

    # -- gates (pytest plugin and notebooks) ---------------------------------------------------
    def assert_below(self, name: str, threshold: float, bound: str | None = None):
        """Raise AssertionError unless metric ``name`` (or its ``"upper"`` bound) <= threshold;
        the message shows the metric, its interval, the bound, the threshold and the worst
        items with their evidence."""
        __tracebackhide__ = True
        from halluscope.gates.assertions import check_threshold
        return check_threshold(self, name, threshold, bound=bound, direction="below")

    def assert_above(self, name: str, threshold: float, bound: str | None = None):
        """Raise AssertionError unless metric ``name`` (or its ``"lower"`` bound) >= threshold."""
        __tracebackhide__ = True
        from halluscope.gates.assertions import check_threshold
        return check_threshold(self, name, threshold, bound=bound, direction="above")

    def gate_failures(self, above: dict[str, float] | None = None,
                      below: dict[str, float] | None = None) -> list[str]:
        """Messages for every gate that does not hold: ``above`` fails when a value exceeds its
        limit, ``below`` when it falls under it, and either fails when the metric has no value.
        Keys are ``metric.stat[@group][@upper|@lower]``, thresholds numbers. Raises
        :class:`~halluscope.errors.ConfigError` for an unknown name or a threshold outside
        the statistic's range (a rate above 1), and for a threshold that is no number
        (``"0.1"``) the :class:`~halluscope.errors.GateArgumentError` :meth:`assert_below`
        raises, with the same message."""
        from halluscope.errors import ConfigError
        from halluscope.gates import check_gates, parse_gate
        from halluscope.gates.arguments import checked_threshold
        for side, given in (("above", above), ("below", below)):
            if given is not None and not isinstance(given, Mapping):
                raise ConfigError(f"gate_failures({side}=...): expected a dict of "
                                  f"{{'metric.stat': threshold}}, got {type(given).__name__}")
            for key, value in (given or {}).items():   # "0.1" was pasted into "name=0.1"
                checked_threshold(key, value)         # (a Fraction was read as "1/2")
        gates = ([parse_gate(f"{k}={checked_threshold(k, v)!r}", "below")
                  for k, v in (above or {}).items()]
                 + [parse_gate(f"{k}={checked_threshold(k, v)!r}", "above")
                    for k, v in (below or {}).items()])
        return check_gates(self, gates)

    # -- notebooks ----------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        from halluscope.metrics.stats import result_ci_label
        from halluscope.report.html import fmt_ci, fmt_value, statistic_meanings
        rows = []                                               # as report.html shows them
        off = getattr(self.config, "n_boot", None) == 0         # intervals turned off
        for name, summary in self.metrics.items():
            meanings = statistic_meanings(name)
            for stat, res in summary.results.items():
                level = f"{round(res.confidence * 100, 1):g}% " if res.confidence else ""
                # no interval says why ("too few clusters", the note on hover): a blank cell
                # read as a missing feature
                ci = (f"{level}{fmt_ci(res.ci)}" if fmt_ci(res.ci) else
                      f"<span title='{html.escape(str(res.ci_note))}'>"
                      f"{html.escape(result_ci_label(res))}</span>"
                      if getattr(res, "ci_note", None) and result_ci_label(res) else
                      "off (n_boot=0)" if off and isinstance(res.value, float) else "")
                meaning = meanings.get(stat, "")
                stat_cell = html.escape(stat) + (
                    f"<br><small>{html.escape(meaning)}</small>" if meaning else "")
                why = getattr(res, "why_no_value", None)   # a missing value, with its reason
                value = fmt_value(res.value) + (f" ({html.escape(str(why))})"
                                                if fmt_value(res.value) == "—" and why else "")
                rows.append(f"<tr><td>{html.escape(name)}</td><td>{stat_cell}</td>"
                            f"<td>{value}</td><td>{ci}</td><td>{res.n}</td></tr>")
        errors = self._errors_html()
        if self.n_skipped:
            errors += f"<p>{self.n_skipped} not scored (no selected metric applies)</p>"
        errors += "".join(f"<p>{n} {html.escape(what)} ({html.escape(how)})</p>"
                          for n, what, how in self._finish_facts())
        errors += "".join(f"<p><b>{html.escape(name)} scored nothing</b>: "
                          f"{html.escape('; '.join(reasons))}</p>"
                          for name, reasons in self.unscored.items())
        report = (self.saved_to or self.items_path.parent) / REPORT
        if not report.is_file():
            report = self.items_path.parent / REPORT
        if report.is_file():
            errors += (f"<p><a href='{html.escape(report.resolve().as_uri())}' target='_blank'>"
                       f"report.html</a></p>")
        return ("<div class='halluscope'>" + self._partial_html() + "<table><thead><tr><th>metric</th><th>statistic</th>"
                "<th>value</th><th>CI</th><th>n</th></tr></thead><tbody>"
                + "".join(rows) + f"</tbody></table><p>{len(self.items)} items</p>{errors}</div>")


    def _errors_html(self, limit: int = 5) -> str:
        """The bad records where they are (file:line, field, reason; identical problems on
        one line, as the console shows them): the view said only "2 bad record(s)"."""
        if not self.errors:
            return ""
        from halluscope.redact import redact_text
        from halluscope.report.console import collapse_errors
        groups = collapse_errors(self.errors)
        rows = "".join(f"<li><code>{html.escape(where)}</code>: "
                       + (f"field <code>{html.escape(str(err['field']))}</code>: "
                          if err.get("field") else "")
                       + f"{html.escape(redact_text(str(err.get('message') or '')))}</li>"
                       for err, _, where in groups[:limit])
        more = (f"<li>... and {len(groups) - limit:,} other problem(s)</li>"
                if len(groups) > limit else "")
        return (f"<p>{len(self.errors)} bad record(s); all in <code>.errors</code>:</p>"
                f"<ul>{rows}{more}</ul>")

    def _partial_html(self) -> str:
        """The console's red PARTIAL line: inputs of a query run that did not finish, so the
        numbers are over some of the requests only (the summary showed them as whole); and a
        READ IN PART line for each input whose reading a syntax error stopped."""
        from halluscope.result import stopped_said
        stopped = "".join(f"<p style='color:#b00000'><b>READ IN PART</b>: "
                          f"{html.escape(stopped_said(e))}</p>" for e in self.stopped_reading)
        if not self.unfinished_inputs:
            return stopped
        from halluscope.query_sheets import partial_said, undecided_of
        gates = ("no gate is decided on them" if undecided_of(self)
                 else "gates are judged on them (allow_unfinished_query)")
        return (stopped + f"<p style='color:#b00000'><b>PARTIAL</b>: "
                f"{html.escape(partial_said(self.unfinished_inputs))}; the numbers are over "
                f"the answers held only, and {gates}</p>")

    def _finish_facts(self) -> list[tuple[int, str, str]]:
        """The answers cut short, withheld or of an unknown finish reason read, as the
        console's first line says them (:func:`halluscope.finish_reasons.finish_facts`)."""
        from halluscope.adapters.offline import as_flag
        from halluscope.finish_reasons import finish_counts, finish_facts
        counts = finish_counts(self.runsheet)
        options = getattr(self.config, "options", None) or {}
        return finish_facts(counts, bool(as_flag(options.get("complete_only")))) \
            if counts else []


def audit(inputs: Any = None, *, records: list[Any] | None = None,
          metrics: str | Iterable[str] | None = None, out: str | Path | None = None,
          config: AuditConfig | None = None,
          on_progress: Callable[[Progress], None] | None = None,
          count_total: bool = False, argv: list[str] | None = None,
          write_report: bool = True, gates: Iterable[Gate] | None = None,
          **options: Any) -> NotebookResult:
    """Audit model outputs and return a :class:`NotebookResult`.

    Args:
        inputs: A JSONL file, a list of them, or a folder with a ``halluscope.toml``.
        records: Instead of ``inputs`` (never with them: a :class:`ConfigError`), records as
            dicts or :class:`~halluscope.records.Record` objects (notebooks).
        metrics: Metric names (``"chair"``, ``"pope"``, ``"chair,pope"``), references to
            metric classes that are not installed (``"module:Class"``,
            ``"path/to/file.py:Class"``) and/or :class:`~halluscope.metrics.base.Metric`
            instances; inferred when omitted.
        out: Folder for ``results.json``, ``items.jsonl``, ``report.html``, ``runsheet.json``.
            Without it, items go to a temporary folder and nothing else is written.
        config: A full :class:`~halluscope.config.AuditConfig`; ``options`` override its fields.
        on_progress: Called with a :class:`~halluscope.pipeline.Progress` after each record.
        count_total: Count input lines first so that progress knows the total.
        argv: The command line recorded in the run sheet (default: ``sys.argv``).
        write_report: Write ``report.html`` into ``out`` (with ``out`` only).
        gates: :class:`~halluscope.gates.Gate` objects (:func:`halluscope.gates.parse_gates`)
            checked against the metrics the audit builds before it scores anything
            (:func:`~halluscope.gates.preflight.check_gates_ahead`): a gate on a metric or
            statistic the audit will not compute, or a threshold outside its range, is a
            :class:`ConfigError` with nothing scored or written. They are not judged here:
            ``check_gates(result, gates, warned=result.gates_warned)`` does that after.
        **options: Any :class:`~halluscope.config.AuditConfig` field (``chair_variant``,
            ``gt_objects``, ``coco_annotations``, ``questions``, ``pope_parser``, ``n_boot``,
            ``strict``, ...).

    Raises:
        ConfigError: bad options, a missing companion file, or both ``inputs`` and
            ``records``.
        RecordError: with ``strict=True``, the first bad record.
        AlignmentError: POPE answers that cannot be aligned with the questions.
    """
    inputs = _input_paths(inputs)
    warned: set[str] = set()
    check_plan = None
    if gates is not None:
        gates = _gate_list(gates)
    if gates:
        from halluscope.gates.preflight import check_gates_ahead

        def check_plan(cfg: AuditConfig, built: list) -> None:
            warned.update(check_gates_ahead(gates, cfg, built))
    # one audit writes a folder at a time, from before its options are read to its last file
    with hold_outputs(Path(out)) if out is not None else nullcontext(), _where_writes_fail(out):
        result = NotebookResult.of(run_audit(
            inputs, records=records, metrics=metrics, out=out, config=config,
            on_progress=on_progress, count_total=count_total, argv=argv,
            check_plan=check_plan, **options))
        result.gates_warned = frozenset(warned)
        if out is not None and not result.reread:   # (a finished run read back: as it is)
            write_outputs(result, out, write_items=False, write_report=write_report)
    return result


def _gate_list(gates: Any) -> list[Gate]:
    """``gates`` as a list of :class:`~halluscope.gates.thresholds.Gate`; anything else (a
    spec string, a dict of thresholds, one Gate alone) a :class:`ConfigError` saying how to
    make them: ``gates=["chair.chair_i=0.1"]`` failed with "'str' object has no attribute
    'where'", and a Gate alone with "'Gate' object is not iterable"."""
    from halluscope.errors import ConfigError
    from halluscope.gates.thresholds import Gate
    how = ("halluscope.gates.parse_gates(above=['chair.chair_i=0.1'], below=['pope.f1=0.8']) "
           "makes them (above: fail when a value is above its threshold)")
    if isinstance(gates, Gate):
        gates = [gates]
    if isinstance(gates, (str, bytes, Mapping)) or not isinstance(gates, Iterable):
        raise ConfigError(f"audit(gates=...): expected a list of Gate objects, got "
                          f"{type(gates).__name__} {gates!r:.60}; {how}")
    gates = list(gates)
    bad = next((g for g in gates if not isinstance(g, Gate)), None)
    if bad is not None:
        raise ConfigError(f"audit(gates=...): expected Gate objects, got {type(bad).__name__} "
                          f"{bad!r:.60}; {how}")
    return gates


@contextmanager
def _where_writes_fail(out: str | Path | None) -> Iterator[None]:
    """A write into an open file that the disk refuses raises an OSError without a file name
    ("[Errno 28] No space left on device", exit 2): say that it was the output folder's, and
    that the journal there lets ``--resume`` go on once there is room."""
    try:
        yield
    except OSError as exc:
        if out is None or exc.filename is not None or exc.errno not in WRITE_ERRNOS:
            raise
        raise OSError(exc.errno, f"cannot write the audit's outputs in {out}: {exc.strerror}; "
                                 f"make room and run it again with --resume, which goes on "
                                 f"from the work journaled there") from exc


def _input_paths(inputs: Any) -> Any:
    """``inputs`` as a path or a list of paths; anything else is a :class:`ConfigError` that
    says where records go. A DataFrame was read as its column names ("input file id does not
    exist"), a list of dicts and a number failed deep inside with a bare TypeError."""
    from halluscope.errors import ConfigError
    if inputs is None or isinstance(inputs, (str, os.PathLike)):
        return inputs
    kind = f"a {type(inputs).__name__}"
    tabular = (type(inputs).__module__ or "").startswith(("pandas", "datasets"))
    if not tabular and isinstance(inputs, Iterable) and not isinstance(inputs, (bytes, Mapping)):
        inputs = list(inputs)
        bad = next((p for p in inputs if not isinstance(p, (str, os.PathLike))), None)
        if bad is None:
            return inputs
        kind = f"a list holding a {type(bad).__name__} ({bad!r:.60})"
    raise ConfigError(f"expected input files (a path or a list of paths), got {kind}; "
                      f"in-memory records (dicts, Record objects, a pandas DataFrame, a "
                      f"datasets.Dataset) go in records=...")


__all__ = ["NotebookResult", "audit", "write_outputs"]
