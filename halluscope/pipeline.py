"""``run_audit``: records in, metrics + per-item verdicts + run sheet out, in one streaming pass.

Data flow (one way)::

    input JSONL ──> Record ──> each applicable Metric.update ──> items.jsonl (streamed)
                                        │
                                        └──> Metric state (sums) ──> AuditResult (run sheet)

A bad line or a record a metric cannot score is in ``items.jsonl`` with an ``"error"`` and
listed in the summary; the rest is scored. ``strict``: the first such problem stops the audit.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from halluscope.audit_inputs import (given_settings, manifest_blame, merge_settings,
                                     resolve_inputs, say_chosen_by, setting_origins)
from halluscope.config import AuditConfig, validation_problems
from halluscope.engine_choice import capped_workers, choose_workers, make_engine
from halluscope.errors import ConfigError, HalluscopeError, RecordError
from halluscope.finish_reasons import FinishScreen, finish_notes
from halluscope.hashing import remember_sha256
from halluscope.late_fields import add_late_fields
from halluscope.metrics.base import (Metric, MetricSummary, available_metrics, metric_class,
                                      remember)
from halluscope.metrics.build import build_metrics
from halluscope.metric_inference import PEEK, choose_metrics, infer_metrics
from halluscope.metrics.group_fold import sparse_group_notes
from halluscope.metrics.references import portable_reference
from halluscope.metrics.settings import declared_path_options
from halluscope.readers import iter_input_records, rows_of
from halluscope.records import Record, record_from_dict
from halluscope.result import (AuditResult, begin_outputs, hold_outputs, new_run_id,
                               refuse_outputs_as_inputs)
from halluscope.query_sheets import (query_runs, samples_notes, unfinished_inputs,
                                     unfinished_notes)
from halluscope.runsheet import build_runsheet, redact
from halluscope.column_scoring import score_columns
from halluscope.scoring import (Progress, StreamTally, empty_answers_note, judge_causes,
                                judge_failures_note, score_stream)

log = logging.getLogger(__name__)

ITEMS = "items.jsonl"


def count_lines(path: Path, fmt: str | None = None) -> int:
    """Records in a file: non-blank JSON lines, or table rows (for progress bars and by-order
    alignment checks)."""
    from halluscope.readers import count_input_records
    return count_input_records(path, fmt)


def check_fields(paths: list[Path], records: list[Any] | None, cfg: AuditConfig) -> None:
    """``--cluster-by FIELD`` that none of the first records has is a usage error (every item
    would silently be its own unit, and the intervals would change); ``--by FIELD`` likewise a
    warning (no group would come of it)."""
    from halluscope.metrics.units import cluster_field, record_field
    default_by = AuditConfig.model_fields["by"].default
    wanted = [f for f in cfg.by if f not in default_by]     # records without a model are fine
    cluster = cfg.cluster_by not in (None, "", "item", "none", "image")
    if cluster:
        wanted.append(cfg.cluster_by)
    if not wanted:
        return
    missing, seen, keys = set(wanted), 0, set()
    sample = records[:PEEK] if records is not None else (
        rec for p in paths for rec in iter_input_records(p, cfg.input_format))
    for rec in sample:
        if isinstance(rec, dict):
            try:
                rec = record_from_dict(rec, file="<records>", line=seen + 1)
            except RecordError:
                rec = None
        if isinstance(rec, Record):
            keys.update(rec.metadata)
            missing = {f for f in missing if (cluster_field if cluster and f == cfg.cluster_by
                                              else record_field)(rec, f) is None}
        seen += 1
        if not missing or seen >= PEEK:
            break
    if not seen or not keys and not missing:
        return
    known = "id, task, image, image_id, model, label, question_id" + (
        f"; metadata: {', '.join(sorted(keys))}" if keys else "")
    for field in sorted(missing):
        said = (f"none of the first {seen:,} records has a field or metadata key {field!r} "
                f"(fields: {known})")
        if cluster and field == cfg.cluster_by:
            said = f"none of the first {seen:,} records carries a document ('document')" \
                if field == "document" else said
            raise ConfigError(f"--cluster-by {field}: {said}; every item would be its own "
                              f"resampling unit")
        log.warning("--by %s: %s; no group comes of it", field, said)


def _iter_inputs(paths: list[Path], records: list[Any] | None, fmt: str | None = None
                 ) -> Iterator[Record | RecordError]:
    if records is not None:
        for i, obj in enumerate(records, 1):
            if isinstance(obj, Record):
                if obj.source.file is None and obj.source.line is None:
                    # its place in the list, as for dicts: its problems can be found
                    from dataclasses import replace

                    from halluscope.records import Source
                    obj = replace(obj, source=Source("<records>", i))
                yield obj
                continue
            try:
                yield record_from_dict(obj, file="<records>", line=i)
            except RecordError as exc:
                yield exc
        return
    for path in paths:
        yield from iter_input_records(path, fmt)


def complete_only(cfg: AuditConfig) -> bool:
    """Option ``complete_only`` (``--complete-only``): leave out the answers whose finish
    reason says they were cut at the token limit or that halluscope does not know."""
    from halluscope.adapters.offline import as_flag
    return bool(as_flag(cfg.options.get("complete_only")))


def _model_identities(cfg: AuditConfig) -> dict[str, Any]:
    """The detector's and segmenter's weights and versions, for the journal's header."""
    if not (cfg.detector or cfg.segmenter):
        return {}
    from halluscope.evidence.detector_facts import model_identities
    return model_identities(cfg)


def _run_stream(paths: list[Path], records: list[Any] | None, cfg: AuditConfig,
                metric_objs: list[Metric], tmp_path: Path, *, journal_dir: Path | None,
                header: dict[str, Any] | None, on_progress, total) -> StreamTally:
    """Stream the inputs through the engine the config names into ``tmp_path``, with a
    progress journal in ``journal_dir`` under ``header`` (resumed with ``cfg.resume``)."""
    from halluscope.engines import runs_in_parent
    from halluscope.journal import JOURNAL, Journal
    pairs = [(ref, m) for ref, m in zip(cfg.metrics, metric_objs) if not runs_in_parent(m)]
    built = [m for _, m in pairs]
    names = [portable_reference(ref) for ref, _ in pairs]   # what a worker builds them from
    if cfg.resume and journal_dir is None:
        raise ConfigError("resume needs an output folder (out=...) holding the interrupted run")
    if cfg.engine == "ray":
        workers, why = cfg.workers, "--workers" if cfg.workers is not None else "default"
    elif records is not None:       # records in memory: as given, but no more than the cores take
        workers, why = (capped_workers(cfg.workers) if cfg.workers is not None
                        else (None, "default"))
    else:
        workers, why = choose_workers(cfg, built, paths, total)
    engine = make_engine(cfg.engine, workers, names, cfg, paths, built)
    journal = None
    strict_stop = False
    try:
        if journal_dir is not None and header is not None:
            journal = Journal(journal_dir / JOURNAL, header, cfg.resume,
                              modules=_metric_modules(metric_objs))
        from halluscope.column_journal import open_items
        with open_items(tmp_path, tmp_path.with_suffix(""), journal) as sink:
            tally = None
            if records is None and not (journal is not None and journal.lines):
                tally = score_columns(paths, cfg, metric_objs, sink, on_progress=on_progress,
                                      total=total, finish=FinishScreen(complete_only(cfg)),
                                      journal=journal)
            if tally is not None:
                tally.execution = {"scored": "as columns (whole files)", "engine": "local",
                                   "workers": 1, **tally.execution}
                if (workers or 1) > 1:
                    why = (f"{why} gave {workers}; whole files scored as columns run in one "
                           f"process")
            else:
                finish = FinishScreen(complete_only(cfg))
                tally = score_stream(finish.screen(_iter_inputs(paths, records,
                                                                cfg.input_format)),
                                     metric_objs, sink, strict=cfg.strict,
                                     on_progress=on_progress, total=total, engine=engine,
                                     journal=journal)
                tally.finish = finish.counts()
                tally.execution = {"scored": f"record by record, {engine.name} engine",
                                   "engine": engine.name,
                                   "workers": getattr(engine, "workers", None) or 1}
                if hasattr(engine, "report"):
                    tally.execution[engine.name] = engine.report()
                if tally.resumed is not None:
                    tally.execution["resumed"] = tally.resumed
            tally.execution["workers_from"] = why
    except RecordError:
        if cfg.strict:      # a strict stop is no interruption: no part files to resume from
            strict_stop = True
            tmp_path.unlink(missing_ok=True)
        raise
    finally:
        # the journal first: what it holds is kept even if shutting the engine down fails
        if journal is not None:     # kept until the outputs are written (discard_journal)
            journal.close(discard=strict_stop)
        engine.close()
    return tally


def _metric_modules(metric_objs: list[Metric]) -> frozenset[str]:
    """The modules, not halluscope's, that this audit's metrics come from (a custom metric's
    file or module): the journal reads back the data classes they define
    (:mod:`halluscope.journal_safety`), which a custom metric's item notes may hold."""
    names = {type(m).__module__ for m in metric_objs}
    return frozenset(n for n in names if n.split(".")[0] not in ("halluscope", "builtins"))


def _decided_nothing(summaries: dict[str, MetricSummary], unscored: dict[str, list[str]],
                     tally: StreamTally) -> dict[str, list[str]]:
    """Metrics that scored records but whose every rate is undefined: nothing those records
    said could be decided (every citation or claim unverifiable: no region offered, a judge out
    of reach, boxes of an ambiguous scale). They fail the run as a metric that scored nothing
    does, instead of exiting 0 with only dashes."""
    import math
    out = {}
    for name, summary in summaries.items():
        if name in unscored or not tally.scored[name]:
            continue
        if (summary.info or {}).get("decided_nothing"):     # the metric says so itself
            out[name] = [str(summary.info["decided_nothing"])]
            continue
        # what the model is scored on: not the share of what could not be decided (claims'
        # unverifiable_rate), nor counts (whole numbers); an undefined rate holds None
        rates = [r.value for k, r in summary.results.items()
                 if (r.value is None or isinstance(r.value, float)) and "unverifiable" not in k]
        if not rates or any(v is not None for v in rates):
            continue
        n = tally.scored[name]
        why = [f"no statistic has a value: nothing the {n:,} {'record' if n == 1 else 'records'}"
               f" it scored said could be decided"]
        unverifiable = summary.results.get("unverifiable")
        share = summary.results.get("unverifiable_rate")
        if share is not None and share.value and not math.isnan(share.value):
            why.append(f"{share.value:.0%} of its claims unverifiable (no evidence could decide "
                       f"them: see the items' reasons)")
        elif unverifiable is not None and unverifiable.value:
            why.append(f"{unverifiable.value:,} unverifiable (no evidence could decide them: "
                       f"see the items' reasons)")
        if (bad := (summary.tallies or {}).get("malformed_citations")):   # ambiguous scale...
            why.append("malformed citations: " + ", ".join(f"{k} {v:,}" for k, v in bad.items()))
        out[name] = why + judge_causes((summary.info or {}).get("judge_reliability") or {})
    return out


#: Command-line flags whose Python spelling is not their name ("every option the CLI takes"
#: was refused by name alone: ``offline=True`` said "unknown audit option(s): 'offline'").
_CLI_SPELLINGS = {
    **{k: f" (--{k.replace('_', '-')}: options={{{k!r}: ...}} in Python)"
       for k in ("offline", "complete_only", "device", "region_iou", "box_format", "ocr")},
    "detector_threshold": " (--detector-threshold P,A: options={'detector_present': P, "
                          "'detector_absent': A} in Python)",
    "bootstrap": " (--bootstrap: n_boot=... in Python)",
    "format": " (--format: input_format=... in Python)",
}


def _check_option_names(options: dict[str, Any]) -> None:
    """An unknown audit option is a usage error that names the nearest known ones."""
    from halluscope.errors import UnknownNameError, suggest
    known = set(AuditConfig.model_fields)
    unknown = [k for k in options if k not in known]
    if unknown:
        hints = "; ".join(f"{k!r}{_CLI_SPELLINGS.get(k) or suggest(k, known) or ''}"
                          for k in unknown)
        raise UnknownNameError(f"unknown audit option(s): {hints} (options: "
                               f"{', '.join(sorted(known))})")


def _resume_header(paths: list[Path], cfg: AuditConfig) -> dict[str, Any]:
    """What a resume must match (:func:`~halluscope.journal.journal_header`): the journal's
    header, and the run sheet's ``resume`` key once the audit finished."""
    from halluscope.journal import journal_header
    return journal_header(paths, cfg, cfg.metrics, _model_identities(cfg))


def _runsheet(paths: list[Path], cfg: AuditConfig, summaries: dict[str, MetricSummary],
              tally: StreamTally, started: datetime, argv: list[str] | None,
              header: dict[str, Any] | None) -> dict[str, Any]:
    """The run sheet of a scored audit, with the :func:`~halluscope.finished.resume_key` of
    ``header`` (what a ``--resume`` after the run finished must match)."""
    runsheet = build_runsheet(
        inputs=paths, config=cfg, metrics={n: s.info for n, s in summaries.items()},
        started=started, finished=datetime.now(timezone.utc),
        counts={"items": tally.items, "errors": len(tally.problems),
                "skipped": tally.skipped, "scored": dict(tally.scored),
                **({"empty_answers_scored": dict(tally.empty)} if tally.empty else {}),
                **tally.finish},
        argv=argv if argv is not None else list(sys.argv), execution=tally.execution,
        option_files=declared_path_options())
    if header is not None:
        from halluscope.finished import RESUME, resume_key
        runsheet[RESUME] = resume_key(header)
    if runs := query_runs(paths):   # the query run sheets beside the inputs: who answered
        runsheet["query_runs"] = redact(runs)
        if unfinished := unfinished_inputs(runsheet["query_runs"]):  # partial numbers
            runsheet["unfinished_inputs"] = unfinished
            runsheet["allow_unfinished_query"] = cfg.allow_unfinished_query
    return runsheet


_FLAGS = ("offline", "judge_fatal_mismatch", "allow_download", "complete_only")


def check_metric_options(cfg: AuditConfig, custom: list[Metric],
                         where: Callable[[str], str | None] = lambda key: None) -> None:
    """Every ``--option`` key is read by something: a usage error names an unknown one (and
    the nearest known ones) or an audit setting given as an option (it has a flag of its own,
    and the option was ignored); an option of a metric this audit does not run is a warning.
    ``where(key)``: the manifest's file, line and key that set the option, put before its
    error (an option of a manifest was refused naming neither)."""
    from halluscope.config import AUDIT_OPTIONS
    if not cfg.options:
        return
    running = {opt.name for cls in [metric_class(m) for m in cfg.metrics]
               + [type(m) for m in custom] for opt in getattr(cls, "options", ())}
    declared: dict[str, str] = {}       # option -> metric, of every installed metric
    if any(k not in AUDIT_OPTIONS and k not in running for k in cfg.options):
        for name in available_metrics():     # imported only for a key found nowhere else
            for opt in getattr(metric_class(name), "options", ()):
                declared.setdefault(opt.name, name)
    for key in cfg.options:
        try:
            _check_option_key(key, cfg.options[key], running, declared)
        except ConfigError as exc:
            if (place := where(key)) is None:
                raise
            raise type(exc)(f"{place}: {exc}") from None


def _check_option_key(key: str, value: Any, running: set[str], declared: dict[str, str]
                      ) -> None:
    """:func:`check_metric_options` of one key (``running``: the options of the metrics the
    audit runs; ``declared``: option -> metric, of every installed one where needed)."""
    from halluscope.config import AUDIT_OPTIONS
    from halluscope.errors import UnknownNameError, suggest
    fields = set(AuditConfig.model_fields)
    if key in fields:
        raise ConfigError(f"option {key!r} is an audit setting, not an --option: pass "
                          f"{key}=... (on the command line, its own flag: see "
                          f"`halluscope audit --help`)")
    if key in _FLAGS:               # 'maybe' was taken for true
        from halluscope.adapters.offline import as_flag
        try:
            as_flag(value)
        except ConfigError as exc:
            raise ConfigError(f"option {key!r}: {exc}") from None
    if key in AUDIT_OPTIONS or key in running:
        return
    if key in declared:
        log.warning("option %r is read by metric %r, which this audit does not run",
                    key, declared[key])
        return
    known = set(AUDIT_OPTIONS) | set(declared) | running
    raise UnknownNameError(f"unknown option {key!r}{suggest(key, known) or ''} (known: "
                           f"{', '.join(sorted(known - fields))})")


#: Audit settings that only some metrics read (each declares it: ``MetricOption(config_field=True)``).
_METRIC_SETTINGS = ("gt_objects", "coco_annotations", "questions", "annotations", "detector",
                    "segmenter", "judge", "claim_splitter", "chair_variant", "pope_parser",
                    "pope_align")


def warn_unread_settings(cfg: AuditConfig, custom: list[Metric], given: set[str]) -> None:
    """Warn about each setting ``given`` (a flag, an argument; not a data folder's manifest,
    which sets up every metric it has data for) that none of the audit's metrics reads
    (``--gt-objects`` with ``--metric claims`` was left unused in silence, its claims all
    unverifiable). A metric of the caller's own may read any setting: then nothing is said."""
    installed = set(available_metrics())
    if custom or any(m not in installed for m in cfg.metrics):
        return
    read = {opt.name for m in cfg.metrics for opt in getattr(metric_class(m), "options", ())
            if opt.config_field}
    for key in _METRIC_SETTINGS:
        if key in read or key not in given or \
                getattr(cfg, key) == AuditConfig.model_fields[key].default:
            continue
        readers = sorted(m for m in installed for opt in getattr(metric_class(m), "options", ())
                         if opt.config_field and opt.name == key)
        log.warning("--%s (%s) is read by %s; this audit runs %s, which %s not read it: it is "
                    "left unused", key.replace("_", "-"), key, ", ".join(readers) or "no metric",
                    ", ".join(cfg.metrics), "does" if len(cfg.metrics) == 1 else "do")


def _config_of(inputs: Any, records: list[Any] | None, metrics: Any,
               config: AuditConfig | None, options: dict[str, Any], out: Path | None = None
               ) -> tuple[list[Path], list[Any] | None, AuditConfig, list[Metric]]:
    """The input paths (none of them a file the audit writes in ``out``), the in-memory
    records, the validated configuration and the metric objects passed in ``metrics`` (the
    rest of ``metrics`` are names in the configuration)."""
    if records is None and inputs is None:
        raise ConfigError("expected input files or records, got neither")
    if records is not None and inputs is not None:   # the files were dropped in silence
        raise ConfigError(f"expected input files or records, not both: got inputs={inputs!r:.80} "
                          f"and {type(records).__name__} records (audit each on its own, or "
                          f"read the files into the records)")
    paths: list[Path] = []
    manifest: dict[str, Any] = {}
    read: dict[str, Path] = {}
    base = config.model_dump(exclude_unset=True) if config else {}
    if records is not None:
        records = rows_of(records)        # DataFrames, datasets.Dataset, iterables of dicts
    if records is None:     # a folder's bad value, named by file and line before any work
        paths, manifest = resolve_inputs(inputs, given=given_settings(base, options),
                                         origins=read)
        if out is not None:
            refuse_outputs_as_inputs(paths, out)
    custom: list[Metric] = []
    if metrics is not None:
        if isinstance(metrics, Metric) or (not isinstance(metrics, str) and any(
                isinstance(m, Metric) for m in metrics)):
            metrics = [metrics] if isinstance(metrics, Metric) else list(metrics)
            custom = [m for m in metrics if isinstance(m, Metric)]
            metrics = [m for m in metrics if not isinstance(m, Metric)]
        options["metrics"] = metrics or None
    if "metric" in options and "metrics" not in options:     # audit(metric="chair") too
        options["metrics"] = options.pop("metric")
    _check_option_names(options)
    merged = merge_settings(manifest, base, options)
    try:
        cfg = AuditConfig(**{**merged, "set_by": setting_origins(read, base, options)})
    except ValidationError as exc:
        raise ConfigError(f"invalid audit options: {validation_problems(exc)}") from None
    if not cfg.metrics and not custom:
        if records is not None:
            raise ConfigError("pass metrics=... when auditing in-memory records")
        names, named = choose_metrics(paths, cfg)     # named: the records' benchmark field
        cfg = cfg.model_copy(update={"metrics": names, "metrics_inferred": not named})
    from halluscope.redact import register_options
    register_options(cfg.options)    # secret-named option values leave no file, log or message
    check_metric_options(cfg, custom, where=manifest_blame(read))
    warn_unread_settings(cfg, custom, given=set(base) | {k for k, v in options.items()
                                                         if v is not None})
    from halluscope.device_use import warn_unused_model_options
    warn_unused_model_options(cfg, custom)
    check_fields(paths, records, cfg)
    return paths, records, cfg, custom


#: What :func:`run_audit` calls with the configuration and the metrics it built, before it
#: scores a record or writes a file: what it raises stops the audit there (the gates'
#: :func:`~halluscope.gates.preflight.check_gates_ahead`, given by :func:`halluscope.audit`).
PlanCheck = Callable[[AuditConfig, list[Metric]], None]


def _begin_metrics(cfg: AuditConfig, custom: list[Metric], paths: list[Path],
                   check_plan: PlanCheck | None = None, n_records: int | None = None
                   ) -> list[Metric]:
    """The configured metrics plus the caller's own, built, shown to ``check_plan`` and begun
    on ``paths`` (or told of ``n_records`` records in memory: POPE aligns them by order)."""
    metric_objs = build_metrics(cfg.metrics, cfg) + custom
    if check_plan is not None:
        check_plan(cfg, metric_objs)
    for metric in custom:
        metric.reset()      # a notebook's second audit with the same object counted both runs
        metric.cluster_by = cfg.cluster_by
        metric.by = tuple(cfg.by)
        remember(type(metric))
    for metric in metric_objs:
        metric.begin(paths)
        if n_records is not None and hasattr(metric, "begin_records"):
            metric.begin_records(n_records)
    return metric_objs


def _warn_notes(tally: StreamTally, metric_objs: list[Metric],
                summaries: dict[str, MetricSummary], only: bool,
                runs: list[dict[str, Any]]) -> None:
    """Log what the records and the judges leave to be said: empty answers scored, judge
    calls that failed, answers cut short or withheld (``only``: complete_only), inputs whose
    query run did not finish or asked each prompt several times (``runs``: the run sheet's
    ``query_runs``), ``--by`` fields with nearly a value per item (noted in results.json)."""
    rules = {m.name: type(m).empty_answer for m in metric_objs}
    for line in empty_answers_note(tally, rules) + judge_failures_note(
            {n: s.info for n, s in summaries.items()}, _judge_sharers(metric_objs)) + \
            finish_notes(tally.finish, only) + \
            unfinished_notes(runs) + samples_notes(runs, [m.name for m in metric_objs]) + \
            sparse_group_notes(summaries, metric_objs):
        log.warning("%s", line)


def _judge_sharers(metric_objs: list[Metric]) -> list[list[str]]:
    """The names of metrics that ask one judge object (claims and faithscore of one
    configuration, as ``build_metrics`` shares it): their judge warnings are said once."""
    from halluscope.judges.fallback import is_model_judge
    by_judge: dict[int, list[str]] = {}
    for m in metric_objs:
        judge = getattr(m, "judge", None)
        if is_model_judge(judge):
            by_judge.setdefault(id(judge), []).append(m.name)
    return [names for names in by_judge.values() if len(names) > 1]


def _finish_metrics(metric_objs: list[Metric], items_path: Path) -> None:
    """Each metric's finish step, then the decisions that needed every record (HallusionBench's
    consistency check) put on the lines they are about: ``items_path`` rewritten once, in
    order (:mod:`halluscope.late_fields`)."""
    for metric in metric_objs:
        metric.finish()
    if (rewritten := add_late_fields(items_path, metric_objs)) is not None:
        remember_sha256(items_path, rewritten)


def run_audit(inputs: Any = None, *, records: list[Any] | None = None,
              metrics: str | Iterable[str] | None = None, out: str | Path | None = None,
              config: AuditConfig | None = None,
              on_progress: Callable[[Progress], None] | None = None,
              count_total: bool = False, argv: list[str] | None = None,
              check_plan: PlanCheck | None = None, **options: Any) -> AuditResult:
    """Score model outputs in one streaming pass and return the
    :class:`~halluscope.result.AuditResult` (data: metrics, problems, run sheet, items).

    This is the stage under :func:`halluscope.audit` (:mod:`halluscope.api`), which takes the
    same arguments and also writes the outputs. Here only ``items.jsonl`` (and, with ``out``,
    the journal of a resumable run, which stays until ``write_outputs`` has written the results,
    so that an interrupt in the metrics' finish step resumes from it) is written;
    ``results.json``, ``runsheet.json`` and ``report.html`` are written by
    :func:`halluscope.api.write_outputs`.

    Args:
        inputs: A JSONL file, a list of them, or a folder with a ``halluscope.toml``.
        records: Alternatively, records as dicts or :class:`Record` objects (notebooks).
        metrics: Metric names (``"chair"``, ``"pope"``, ``"chair,pope"``), references to
            metric classes that are not installed (``"module:Class"``,
            ``"path/to/file.py:Class"``) and/or :class:`~halluscope.metrics.base.Metric`
            instances; inferred when omitted.
        out: Folder for ``items.jsonl``; the previous run's ``results.json`` there is removed
            first. Without it, items go to a temporary folder.
        config: A full :class:`AuditConfig`; ``options`` override its fields.
        on_progress: Called with a :class:`Progress` after each record.
        count_total: Count input lines first so that progress knows the total.
        check_plan: Called with the configuration and the metrics built, before any record
            is scored or any output written (:data:`PlanCheck`).
        **options: Any :class:`AuditConfig` field (``chair_variant``, ``gt_objects``,
            ``coco_annotations``, ``questions``, ``pope_parser``, ``n_boot``, ``strict``, ...).

    Raises:
        ConfigError: bad options or a missing companion file.
        RecordError: with ``strict=True``, the first bad record.
        AlignmentError: POPE answers that cannot be aligned with the questions.
    """
    started = datetime.now(timezone.utc)
    paths, records, cfg, custom = _config_of(inputs, records, metrics, config, options,
                                             out=Path(out) if out is not None else None)
    metric_objs = _begin_metrics(cfg, custom, paths, check_plan,
                                 len(records) if records is not None else None)
    header = _resume_header(paths, cfg) if out is not None and records is None else None
    out_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="halluscope-"))
    with hold_outputs(out_dir) if out is not None else nullcontext():  # one writer
        if cfg.resume and out is not None:
            from halluscope.finished import finished_run
            if (done := finished_run(out_dir, header, cfg, metric_objs)) is not None:
                return done
        begin_outputs(out_dir)        # the previous run's results.json goes before anything else
        run_id = new_run_id()
        total = (sum(count_lines(p, cfg.input_format) for p in paths) if (count_total and paths)
                 else len(records) if records is not None else None)
        items_path = out_dir / ITEMS
        tmp_path = items_path.with_suffix(".jsonl.part")
        tally = _run_stream(paths, records, cfg, metric_objs, tmp_path,
                            journal_dir=out_dir if out is not None else None,
                            header=header, on_progress=on_progress, total=total)
        tmp_path.replace(items_path)
        if tally.items_sha256 is not None:      # hashed as written: results.json's outputs
            remember_sha256(items_path, tally.items_sha256)
        _finish_metrics(metric_objs, items_path)
        summaries: dict[str, MetricSummary] = {m.name: m.compute() for m in metric_objs}
        unscored = tally.unscored(metric_objs)  # shown by the CLI, repr and report; exit 2
        unscored.update(_decided_nothing(summaries, unscored, tally))
        say_chosen_by(unscored, cfg)
        runsheet = _runsheet(paths, cfg, summaries, tally, started, argv, header)
        log.info("audited %d items (%d problems) in %.2fs", tally.items, len(tally.problems),
                 runsheet["wall_time_s"])
        _warn_notes(tally, metric_objs, summaries, complete_only(cfg),
                    runsheet.get("query_runs", []))
        result = AuditResult(metrics=summaries, errors=tally.problems,
                             runsheet={"run_id": run_id, **runsheet}, items_path=items_path,
                             config=cfg, n_items=tally.items, n_skipped=tally.skipped,
                             unscored=unscored, run_id=run_id)
        if out is None:     # the temporary folder goes with the last result reading its items
            result.items.own_folder(out_dir)
    return result


__all__ = ["run_audit", "Progress", "StreamTally", "count_lines", "infer_metrics",
           "HalluscopeError"]
