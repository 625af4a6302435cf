"""``halluscope audit``: score model outputs, print the summary, write the results, apply gates.

Exit codes: 0 fine; 1 a ``--fail-above`` / ``--fail-below`` gate was crossed; 2 usage or input
errors, also an audit in which a metric that was asked for scored nothing, or whose input was
read only in part (a syntax error inside a JSON array stopped its reading: the numbers cover the
elements before it only).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from halluscope.cli.common import (EXIT_GATE, EXIT_INTERNAL, EXIT_USAGE, err_console, exit_usage,
                                   make_console, print_error, print_lost)
from halluscope.cli.helpformat import PanelledCommand
from halluscope.cli.options import at_least, parse_key_values
from halluscope.errors import HalluscopeError

# -- the options, one alias each (typer reads them from the signature) ----------------------
_Paths = Optional[list[Path]]
Inputs = Annotated[list[Path], typer.Argument(
    help="Model outputs (JSONL; .gz and JSON arrays too), or a folder with a halluscope.toml.",
    show_default=False,
    metavar='INPUTS')]
Metric = Annotated[Optional[list[str]], typer.Option(
    "--metric", "-m", help="Metric(s) to compute: registered names (`halluscope metrics` "
    "lists them with their options), module:Class or path/to/file.py:Class for one that "
    "is not installed (comma-separated or repeated). Default: inferred.",
    rich_help_panel='Metrics', metavar='NAME')]
Out = Annotated[Optional[Path], typer.Option(
    "--out", "-o", help="Output folder for results.json, items.jsonl, report.html, "
    "runsheet.json (default: ./halluscope-out).",
    rich_help_panel='Output', metavar='DIR')]
ChairVariant = Annotated[Optional[str], typer.Option(
    help="CHAIR variant: 'original' reproduces Rohrbach et al.'s code, 'refined' (the default) "
    "fixes its known defects.",
    rich_help_panel='Metrics', metavar='NAME')]
GtObjects = Annotated[Optional[Path], typer.Option(
    help="CHAIR ground-truth objects file (image id -> object words).",
    rich_help_panel='Metrics', metavar='FILE')]
CocoAnnotations = Annotated[_Paths, typer.Option(
    help="COCO instance (and caption) annotation files; repeat for several.",
    rich_help_panel='Metrics', metavar='FILE')]
Questions = Annotated[Optional[Path], typer.Option(
    help="POPE question file the answers are aligned with.",
    rich_help_panel='Metrics', metavar='FILE')]
PopeParser = Annotated[Optional[str], typer.Option(
    help="Yes/no parser: original, strict, llava, vlmevalkit, ... "
    "(see `halluscope metrics`; default: original).",
    rich_help_panel='Metrics', metavar='NAME')]
PopeAlign = Annotated[Optional[str], typer.Option(
    help="Align answers to questions by 'id', by 'order', or 'auto' (the default).",
    rich_help_panel='Metrics', metavar='HOW')]
Annotations = Annotated[_Paths, typer.Option(
    help="Object annotations for claim checks (halluscope JSON, AMBER, Visual Genome).",
    rich_help_panel='Evidence', metavar='FILE')]
Detector = Annotated[Optional[str], typer.Option(
    help="Detector for claim and region checks: coco-ssd (packaged COCO-80 SSD, offline), "
    "coco-ssd:<model>[,<config>], hf:<path or id> (GroundingDINO, OWL-ViT/OWLv2), "
    "groundingdino:<config>,<weights>[,<text encoder folder>].",
    rich_help_panel='Evidence', metavar='SPEC')]
DetectorThreshold = Annotated[Optional[str], typer.Option(
    help="Detector scores PRESENT[,ABSENT]: at or above PRESENT an object is there, below "
    "ABSENT it is not, in between undecided (defaults per backend).",
    rich_help_panel='Evidence', metavar='PRESENT[,ABSENT]')]
Segmenter = Annotated[Optional[str], typer.Option(
    help="Segmenter for colour attributes: grabcut (OpenCV, no weights), "
    "sam:\\[vit_b|vit_l|vit_h:]<checkpoint>, hf-sam:<path or id>.",
    rich_help_panel='Evidence', metavar='SPEC')]
Ocr = Annotated[Optional[str], typer.Option(
    help="OCR for page images and PDF pages without a text layer: rapidocr (default) or "
    "tesseract[:<langs>].",
    rich_help_panel='Evidence', metavar='SPEC')]
RegionIou = Annotated[Optional[float], typer.Option(
    help="IoU a cited box needs with a known instance of its object (default 0.5).",
    rich_help_panel='Evidence', metavar='IOU')]
BoxFormat = Annotated[Optional[str], typer.Option(
    help="Coordinates of cited boxes: auto (the default), pixels, norm (0-1), "
    "norm1000 (0-1000) as \\[x1, y1, x2, y2]; xywh, xywh-norm, xywh-norm1000 as "
    "\\[x, y, width, height] (COCO's bbox).",
    rich_help_panel='Evidence', metavar='FORMAT')]
Device = Annotated[Optional[str], typer.Option(
    help="Device of the torch models: an hf: or groundingdino: detector, a sam: or hf-sam: "
    "segmenter, a judge of provider hf (cpu, cuda, cuda:1, ...); a judge spec's device = "
    "\"auto\" is replaced, a device of the spec's own or judge_options' is kept (warned "
    "about). A warning when the audit runs none of them.",
    rich_help_panel='Evidence', metavar='DEVICE')]
Judge = Annotated[Optional[str], typer.Option(
    help="Judge spec (name in judges/ or a path to a .toml) for claims no other evidence "
    "decides and POPE answers the parser reads as unknown. Options: judge_base_url, "
    "judge_fatal_mismatch, judge_max_connections, judge_options (--option).",
    rich_help_panel='Judge', metavar='SPEC')]
ClaimSplitter = Annotated[Optional[str], typer.Option(
    help="Claim splitter: 'rules' (spaCy; the default) or 'judge'.",
    rich_help_panel='Evidence', metavar='NAME')]
CacheDir = Annotated[Optional[Path], typer.Option(
    help="Cache folder for evidence and model answers.",
    rich_help_panel='Run and scale', metavar='DIR')]
Option = Annotated[Optional[list[str]], typer.Option(
    "--option", help="Extra metric option KEY=VALUE (JSON values allowed), repeatable; "
    "`halluscope metrics` lists each metric's options.",
    rich_help_panel='Metrics', metavar='KEY=VALUE')]
Strict = Annotated[Optional[bool], typer.Option(
    "--strict/--no-strict", show_default=False, help="Stop at the first bad record instead of "
    "reporting it and going on (--no-strict: report and go on, whatever halluscope.toml says).",
    rich_help_panel='Inputs')]
CompleteOnly = Annotated[Optional[bool], typer.Option(
    "--complete-only/--no-complete-only", show_default=False, help="Leave out (as bad records) the answers whose finish reason says "
    "the token limit cut them (length, max_tokens, MAX_TOKENS) or that halluscope does not know; "
    "answers a filter withheld (content_filter, refusal, SAFETY) are never scored "
    "(--option complete_only=true).",
    rich_help_panel='Inputs')]
Offline = Annotated[Optional[bool], typer.Option(
    "--offline/--no-offline", show_default=False, help="Judge answers from the cache only: no connection, a missing answer "
    "stops the audit (also HALLUSCOPE_OFFLINE=1 or --option offline=true).",
    rich_help_panel='Judge')]
FailAbove = Annotated[Optional[list[str]], typer.Option(
    help="Gate METRIC.STAT\\[@GROUP]\\[@BOUND]=VALUE: exit 1 when the value (@upper / @lower: that "
         "end of its interval) is above VALUE, or missing (repeatable), e.g. "
         "chair.chair_i@upper=0.12.",
    rich_help_panel='Gates', metavar='GATE')]
FailBelow = Annotated[Optional[list[str]], typer.Option(
    help="Gate METRIC.STAT\\[@GROUP]\\[@BOUND]=VALUE: exit 1 when the value (or that end of its "
         "interval) is below VALUE, or missing (repeatable), e.g. pope.f1@split:random@lower=0.8.",
    rich_help_panel='Gates', metavar='GATE')]
AllowUnfinishedQuery = Annotated[Optional[bool], typer.Option(
    "--allow-unfinished-query/--no-allow-unfinished-query", show_default=False, help="Judge the gates on an input written by a `halluscope "
    "query` run that did not finish (interrupted, killed, still running), over the answers it "
    "holds; without it such a gate fails as not decided. Recorded in the run sheet.",
    rich_help_panel='Gates')]
Bootstrap = Annotated[Optional[int], typer.Option(
    min=0, parser=at_least(0), help="Bootstrap replicates for confidence intervals (default 1000; 0: none).",
    rich_help_panel='Statistics', metavar='N')]
Confidence = Annotated[Optional[float], typer.Option(
    help="Confidence level of the intervals (default 0.95).",
    rich_help_panel='Statistics', metavar='LEVEL')]
Seed = Annotated[Optional[int], typer.Option(help="Random seed (default 0).",
    rich_help_panel='Statistics', metavar='N')]
Workers = Annotated[Optional[int], typer.Option(
    min=0, parser=at_least(0), help="Score in N processes (0: one per core; default: one per core for a detector or "
    "segmenter over 64 records or more, else 1); results are identical for any N.",
    rich_help_panel='Run and scale', metavar='N')]
Engine = Annotated[Optional[str], typer.Option(
    help="Where scoring runs: local (this process or --workers processes) or ray "
    "(Ray Data; pip install 'halluscope\\[ray]'); default: local.",
    rich_help_panel='Run and scale', metavar='NAME')]
RayAddress = Annotated[Optional[str], typer.Option(
    help="Ray cluster address for --engine ray: host:port, ray://host:port, auto, or local "
    "(a new local Ray instance). Default: $RAY_ADDRESS, else the cluster `ray start` started "
    "on this machine, else a new local instance.",
    rich_help_panel='Run and scale', metavar='ADDRESS')]
Resume = Annotated[Optional[bool], typer.Option(
    "--resume/--no-resume", show_default=False, help="Continue an interrupted audit in the same --out folder, scoring "
    "only what is missing; after a finished one with the same inputs and options, read its "
    "results back and judge the gates given now.",
    rich_help_panel='Run and scale')]
NoReport = Annotated[bool, typer.Option("--no-report", help="Skip report.html.",
    rich_help_panel='Output')]
InputFormat = Annotated[Optional[str], typer.Option(
    "--format", help="Input format: jsonl, lmms-eval, coco-caption, vlmevalkit, csv, tsv, "
    "parquet, xlsx (default: detected from each file).",
    rich_help_panel='Inputs', metavar='FORMAT')]
By = Annotated[Optional[list[str]], typer.Option(
    "--by", help="Also report every metric per value of this record field (repeatable; "
    "default: model).",
    rich_help_panel='Statistics', metavar='FIELD')]
ClusterBy = Annotated[Optional[str], typer.Option(
    "--cluster-by", help="Bootstrap resampling unit: image (default: items sharing an image "
    "are resampled together), document (items about the same documents, whatever image they "
    "name), item, or a record field.",
    rich_help_panel='Statistics', metavar='UNIT')]
LogTo = Annotated[Optional[list[str]], typer.Option(
    "--log", help="Also log metrics, intervals, n, the run sheet and report.html to wandb "
    "or mlflow (repeatable; offline into the output folder unless WANDB_MODE / "
    "MLFLOW_TRACKING_URI say otherwise).",
    rich_help_panel='Output', metavar='NAME')]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table, and no "
    "notes of --log's trackers (failed gates, metrics that scored nothing, bad records, the "
    "judge line and a tracker's failure are still said, on stderr).",
    rich_help_panel='Output')]


def audit(
    ctx: typer.Context, inputs: Inputs, metric: Metric = None, out: Out = None, chair_variant: ChairVariant = None,
    gt_objects: GtObjects = None, coco_annotations: CocoAnnotations = None,
    questions: Questions = None, pope_parser: PopeParser = None, pope_align: PopeAlign = None,
    annotations: Annotations = None, detector: Detector = None,
    detector_threshold: DetectorThreshold = None, segmenter: Segmenter = None, ocr: Ocr = None,
    region_iou: RegionIou = None, box_format: BoxFormat = None, device: Device = None,
    judge: Judge = None, claim_splitter: ClaimSplitter = None, cache_dir: CacheDir = None,
    option: Option = None, strict: Strict = None, complete_only: CompleteOnly = None,
    offline: Offline = None,
    fail_above: FailAbove = None, fail_below: FailBelow = None,
    allow_unfinished_query: AllowUnfinishedQuery = None, bootstrap: Bootstrap = None,
    confidence: Confidence = None, seed: Seed = None, workers: Workers = None,
    engine: Engine = None, ray_address: RayAddress = None, resume: Resume = None,
    no_report: NoReport = False, input_format: InputFormat = None, by: By = None,
    cluster_by: ClusterBy = None, log_to: LogTo = None, quiet: Quiet = False,
) -> None:
    """Score model outputs: summary table, results.json, items.jsonl, report.html, runsheet.json."""
    from halluscope.gates import parse_gates

    try:
        gates = parse_gates(fail_above, fail_below, flags=("--fail-above", "--fail-below"))
        if log_to:      # a misspelt tracker or a missing extra costs a second, not the audit
            from halluscope.tracking import check_trackers
            check_trackers(log_to)
    except HalluscopeError as exc:
        print_error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    options = dict(chair_variant=chair_variant, gt_objects=gt_objects,
                   coco_annotations=coco_annotations or None, questions=questions,
                   pope_parser=pope_parser, pope_align=pope_align,
                   annotations=annotations or None, detector=detector, segmenter=segmenter,
                   judge=judge, claim_splitter=claim_splitter, cache_dir=cache_dir,
                   n_boot=bootstrap, confidence=confidence, seed=seed,
                   strict=strict, input_format=input_format, by=by or None,
                   cluster_by=cluster_by, workers=workers, engine=engine,
                   ray_address=ray_address, resume=resume,
                   allow_unfinished_query=allow_unfinished_query)
    extra = _extra_options(option, offline, detector_threshold, ocr=ocr, region_iou=region_iou,
                           box_format=box_format, device=device,
                           complete_only=complete_only)
    _refuse_settings_as_options(extra, ctx.command.params)
    if extra:
        options["options"] = extra
    if out is None:
        out = Path("halluscope-out")
    # the gates go in too: the audit checks them against its plan before it scores anything
    result = _run(inputs, metric or None, out, quiet, not no_report, dict(options, gates=gates))
    _finish(result, out, gates, log_to, quiet)


#: The audit settings whose flag's parameter has another name (the parameter -> the setting).
_SETTING_OF_PARAM = {"bootstrap": "n_boot", "metric": "metrics"}


def setting_flag(setting: str, params: list[Any]) -> str | None:
    """The flag among the command's ``params`` that sets audit setting ``setting`` (``n_boot``
    -> ``--bootstrap``, ``input_format`` -> ``--format``); ``None`` if none does."""
    for param in params:
        if _SETTING_OF_PARAM.get(param.name or "", param.name) == setting:
            return max((o for o in param.opts if o.startswith("--")), key=len, default=None)
    return None


def _refuse_settings_as_options(extra: dict[str, Any], params: list[Any]) -> None:
    """``--option n_boot=5`` is a usage error that names the real flag (the message was
    ``pass --n-boot``, a flag that does not exist: the setting's name, not the CLI's)."""
    from halluscope.config import AuditConfig
    for key in extra:
        if key in AuditConfig.model_fields:
            flag = setting_flag(key, params)
            how = (f"pass {flag}" if flag else "it has no flag; set it in the folder's "
                   "halluscope.toml or in Python")
            raise typer.BadParameter(f"{key!r} is an audit setting, not an --option: {how}",
                                     param_hint="--option")


def _extra_options(option: list[str] | None, offline: bool | None,
                   detector_threshold: str | None,
                   **named: Any) -> dict[str, Any]:
    """``--option KEY=VALUE`` pairs plus the flags that travel as metric options."""
    extra = parse_key_values(option)
    if offline is not None:     # --no-offline: the file's (or the environment's) true is off
        extra["offline"] = offline
    if detector_threshold:
        present, _, absent = detector_threshold.partition(",")
        try:
            extra["detector_present"] = float(present)
            if absent:
                extra["detector_absent"] = float(absent)
        except ValueError:
            raise typer.BadParameter(f"expected PRESENT[,ABSENT] scores, got "
                                     f"{detector_threshold!r}",
                                     param_hint="--detector-threshold") from None
    for key, value in named.items():
        if value is not None:
            extra[key] = value
    return extra


def _run(inputs: list[Path], metrics: list[str] | None, out: Path, quiet: bool,
         write_report: bool, options: dict[str, Any]):
    """Run the audit (with a progress bar unless quiet; ``options``: :func:`halluscope.audit`'s
    keyword arguments, ``gates`` among them); input and output errors exit 2, a Ray cluster
    lost mid-run exit 3 (said as ``query`` says a lost actor: no traceback file)."""
    from halluscope._ray import ClusterLost
    from halluscope.stopping import sigterm_as_interruption
    try:
        with sigterm_as_interruption():     # SIGTERM stops the audit as Ctrl-C does (exit 143)
            return _audit(inputs, metrics, out, quiet, write_report, options)
    except ClusterLost as exc:      # (its message says what was kept and what to do)
        print_lost("ClusterLost", str(exc))
        raise typer.Exit(EXIT_INTERNAL) from None


def _audit(inputs: list[Path], metrics: list[str] | None, out: Path, quiet: bool,
           write_report: bool, options: dict[str, Any]):
    """:func:`_run` without the SIGTERM handler."""
    from halluscope.api import audit as run_audit
    try:
        if quiet:
            return run_audit(inputs, metrics=metrics, out=out, argv=sys.argv,
                             write_report=write_report, **options)
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
        import time
        # refreshed from here rather than by rich's refresh thread: with no other thread
        # running, --workers may fork its workers from this process (halluscope.engines)
        with Progress(TextColumn("[bold]auditing"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[errors]} bad"), TimeElapsedColumn(),
                      TimeRemainingColumn(), console=err_console, transient=True,
                      auto_refresh=False) as bar:
            task = bar.add_task("audit", total=None, errors=0)
            shown = [time.monotonic()]

            def on_progress(p) -> None:
                now = time.monotonic()
                if p.done % 64 == 0 or p.done == p.total or now - shown[0] > 0.25:
                    bar.update(task, completed=p.done, total=p.total, errors=p.errors)
                    bar.refresh()
                    shown[0] = now

            return run_audit(inputs, metrics=metrics, out=out, argv=sys.argv,
                             on_progress=on_progress, count_total=True,
                             write_report=write_report, **options)
    except HalluscopeError as exc:
        print_error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as exc:  # an input or output file that cannot be read or written
        exit_usage(exc)     # (or one not the user's to mend: a crash, exit 3)


class _Judged:
    """The gates judged once after scoring (:func:`_judge_gates`), for the trackers
    (:func:`_outcome`, told before the console) and the console (:func:`_finish`)."""

    def __init__(self, failures: list[str], error: str | None, notes: list[str]):
        self.failures = failures    # a line per gate crossed or not decided (no value)
        self.error = error          # a usage error found judging them (a group that is none)
        self.notes = notes          # warnings of gates weaker than they look, said after


def _judge_gates(result, gates) -> _Judged:
    """Judge ``gates`` on ``result``, once (they were judged twice, quietly for the trackers
    and aloud for the console); the warnings the audit did not give before scoring are kept
    to be said after the summary, where they were."""
    from halluscope.gates import check_gates
    notes: list[str] = []
    try:
        failures = check_gates(result, gates, warned=result.gates_warned, notes=notes)
    except HalluscopeError as exc:      # it names the gate as written (--fail-above ...)
        return _Judged([], str(exc), notes)
    return _Judged(failures, None, notes)


def _outcome(result, judged: _Judged) -> dict[str, Any]:
    """How the audit will end, for the trackers (``exit_code``, ``why``): they were told before
    the gates were judged, and an audit that crossed one, scored nothing or read an input in
    part was a success on every dashboard. :func:`_finish` says the same after."""
    if judged.error is not None:
        return {"exit_code": EXIT_USAGE, "why": judged.error}
    if result.unscored:
        return {"exit_code": EXIT_USAGE, "why": "; ".join(
            f"{name} scored nothing: " + "; ".join(reasons)
            for name, reasons in result.unscored.items())}
    if result.stopped_reading:
        from halluscope.result import stopped_said
        return {"exit_code": EXIT_USAGE, "why": "; ".join(
            "input read in part: " + stopped_said(e) for e in result.stopped_reading)}
    if judged.failures:
        return {"exit_code": EXIT_GATE, "why": "; ".join(
            f"gate failed: {f}" for f in judged.failures)}
    return {}


def _finish(result, out: Path, gates, log_to: list[str] | None, quiet: bool) -> None:
    """Judge the gates once, log to trackers, print the summary, say the gates (their
    warnings but those the audit gave before scoring) and choose the exit code."""
    judged = _judge_gates(result, gates)
    not_logged = None       # said after the summary and the gates, which it hid (exit 3 then)
    if log_to:
        from halluscope.tracking import log_run
        try:
            log_run(result, out, log_to, **_outcome(result, judged), quiet=quiet)
        except HalluscopeError as exc:
            not_logged = str(exc)
    if not quiet:
        from halluscope.report.console import render_summary
        render_summary(result, make_console(), out_dir=out)
    if judged.notes:
        from halluscope.gates.assertions import log as gate_log
        for note in judged.notes:
            gate_log.warning("%s", note)
    if judged.error is not None:
        print_error(judged.error)
        raise typer.Exit(EXIT_USAGE) from None
    if quiet:  # (the summary above lists them otherwise)
        from halluscope.report.console import judge_lines
        for line in judge_lines(result):    # who decided, and whether its pin held: the
            err_console.print(line, soft_wrap=True)     # numbers' trust, even quiet
        for name, reasons in result.unscored.items():
            print_error(f"{name} scored nothing: " + "; ".join(reasons))
        if result.errors:   # never silent, even quiet: a count and the first one
            from halluscope.report.console import error_where
            first = result.errors[0]
            where = error_where(first)      # (with its element: a one-line array's line is 1)
            more = f" (and {len(result.errors) - 1:,} more)" if len(result.errors) > 1 else ""
            print_error(f"{len(result.errors):,} bad record(s) left out of the metrics, listed "
                        f"in results.json 'errors': {where}: {first['message']}{more}",
                        prefix="warning:")
    for failure in judged.failures:
        print_error(failure, prefix="gate failed:")
    if not_logged:
        print_error(not_logged)
    from halluscope.result import stopped_said
    for entry in result.stopped_reading:    # even quiet, and whatever the gates said
        print_error(stopped_said(entry), prefix="input read in part:")
    if result.unscored or not_logged or result.stopped_reading:
        raise typer.Exit(EXIT_USAGE)
    if judged.failures:
        raise typer.Exit(EXIT_GATE)


def register(app: typer.Typer) -> None:
    """Add ``audit`` to ``app``."""
    app.command("audit", cls=PanelledCommand)(audit)
