"""The ``halluscope`` command.

Exit codes (every command): 0 fine; 1 a quality gate was crossed (``--fail-above`` /
``--fail-below``) or, for ``query``, some records failed; 2 usage or input errors (also an audit
in which a metric that was asked for scored nothing); 3 an internal error: one line on stderr
naming the file the traceback was written to (``--debug`` prints it instead).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from halluscope import __version__
from halluscope.cli_options import parse_key_values
from halluscope.errors import HalluscopeError

EXIT_OK, EXIT_GATE, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
ENV_DEBUG = "HALLUSCOPE_DEBUG"
_debug = False

app = typer.Typer(name="halluscope", no_args_is_help=True, add_completion=False,
                  help="Audit what multimodal models say about images and documents.",
                  rich_markup_mode="rich", pretty_exceptions_enable=False)
pope_app = typer.Typer(help="POPE question sets.", no_args_is_help=True)
chair_app = typer.Typer(help="CHAIR ground truth.", no_args_is_help=True)
app.add_typer(pope_app, name="pope")
app.add_typer(chair_app, name="chair")

err_console = Console(stderr=True)


def _error(message: str, prefix: str = "error:") -> None:
    """Print one error line on stderr, unwrapped, with model or file text escaped."""
    err_console.print(f"[bold red]{prefix}[/] {escape(message)}", highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"halluscope {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version,
                                                    is_eager=True, help="Print the version.")] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True,
                                         help="More log output (-vv for debug).")] = 0,
    debug: Annotated[bool, typer.Option("--debug", help="On an internal error, print the "
                                        "traceback (also HALLUSCOPE_DEBUG=1).")] = False,
) -> None:
    global _debug
    _debug = debug or _debug
    level = logging.WARNING - 10 * min(verbose, 2)
    from rich.logging import RichHandler
    logging.basicConfig(level=level, format="%(message)s", datefmt="[%X]",
                        handlers=[RichHandler(console=err_console, show_path=False)])
    from halluscope.redact import install_log_redaction
    install_log_redaction()


@app.command()
def audit(
    inputs: Annotated[list[Path], typer.Argument(
        help="Model outputs (JSONL; .gz and JSON arrays too), or a folder with a halluscope.toml.",
        show_default=False)],
    metric: Annotated[Optional[list[str]], typer.Option(
        "--metric", "-m", help="Metric(s) to compute: registered names (`halluscope metrics` "
        "lists them with their options), module:Class or path/to/file.py:Class for one that "
        "is not installed (comma-separated or repeated). Default: inferred.")] = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Output folder for results.json, items.jsonl, report.html, "
        "runsheet.json.")] = None,
    chair_variant: Annotated[Optional[str], typer.Option(
        help="CHAIR variant: 'original' reproduces Rohrbach et al.'s code, 'refined' fixes its "
        "known defects.")] = None,
    gt_objects: Annotated[Optional[Path], typer.Option(
        help="CHAIR ground-truth objects file (image id -> object words).")] = None,
    coco_annotations: Annotated[Optional[list[Path]], typer.Option(
        help="COCO instance (and caption) annotation files; repeat for several.")] = None,
    questions: Annotated[Optional[Path], typer.Option(
        help="POPE question file the answers are aligned with.")] = None,
    pope_parser: Annotated[Optional[str], typer.Option(
        help="Yes/no parser: original, strict, llava, vlmevalkit, ... "
        "(see `halluscope metrics`).")] = None,
    pope_align: Annotated[Optional[str], typer.Option(
        help="Align answers to questions by 'id', by 'order', or 'auto'.")] = None,
    annotations: Annotated[Optional[list[Path]], typer.Option(
        help="Object annotations for claim checks (halluscope JSON, AMBER, Visual Genome).")] = None,
    detector: Annotated[Optional[str], typer.Option(
        help="Detector for claim and region checks: coco-ssd (packaged COCO-80 SSD, offline), "
        "coco-ssd:<model>[,<config>], hf:<path or id> (GroundingDINO, OWL-ViT/OWLv2), "
        "groundingdino:<config>,<weights>[,<text encoder folder>].")] = None,
    detector_threshold: Annotated[Optional[str], typer.Option(
        help="Detector scores PRESENT[,ABSENT]: at or above PRESENT an object is there, below "
        "ABSENT it is not, in between undecided (defaults per backend).")] = None,
    segmenter: Annotated[Optional[str], typer.Option(
        help="Segmenter for colour attributes: grabcut (OpenCV, no weights), "
        "sam:[vit_b|vit_l|vit_h:]<checkpoint>, hf-sam:<path or id>.")] = None,
    ocr: Annotated[Optional[str], typer.Option(
        help="OCR for page images and PDF pages without a text layer: rapidocr (default) or "
        "tesseract[:<langs>].")] = None,
    region_iou: Annotated[Optional[float], typer.Option(
        help="IoU a cited box needs with a known instance of its object (default 0.5).")] = None,
    box_format: Annotated[Optional[str], typer.Option(
        help="Coordinates of cited boxes: auto, pixels, norm (0-1), norm1000 (0-1000).")] = None,
    device: Annotated[Optional[str], typer.Option(
        help="Device for detector/segmenter/local models: cpu, cuda, cuda:1, ...")] = None,
    judge: Annotated[Optional[str], typer.Option(
        help="Judge spec (name in judges/ or a path to a .toml) for claims no other evidence "
        "decides and POPE answers the parser reads as unknown. Options: judge_base_url, "
        "judge_fatal_mismatch, judge_max_connections, judge_options (--option).")] = None,
    claim_splitter: Annotated[Optional[str], typer.Option(
        help="Claim splitter: 'rules' (spaCy) or 'judge'.")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(
        help="Cache folder for evidence and model answers.")] = None,
    option: Annotated[Optional[list[str]], typer.Option(
        "--option", help="Extra metric option KEY=VALUE (JSON values allowed), repeatable; "
        "`halluscope metrics` lists each metric's options.")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Stop at the first bad record instead of reporting it and going on.")
    ] = False,
    offline: Annotated[bool, typer.Option(
        "--offline", help="Judge answers from the cache only: no connection, a missing answer "
        "stops the audit (also HALLUSCOPE_OFFLINE=1 or --option offline=true).")] = False,
    fail_above: Annotated[Optional[list[str]], typer.Option(
        help="Gate METRIC.STAT=VALUE: exit 1 when the value is above VALUE (repeatable).")] = None,
    fail_below: Annotated[Optional[list[str]], typer.Option(
        help="Gate METRIC.STAT=VALUE: exit 1 when the value is below VALUE (repeatable).")] = None,
    bootstrap: Annotated[Optional[int], typer.Option(
        help="Bootstrap replicates for confidence intervals (0: none).")] = None,
    confidence: Annotated[Optional[float], typer.Option(help="Confidence level.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed.")] = None,
    workers: Annotated[Optional[int], typer.Option(
        help="Score in N processes (0: one per core); results are identical for any N.")
    ] = None,
    engine: Annotated[Optional[str], typer.Option(
        help="Where scoring runs: local (this process or --workers processes) or ray "
        "(Ray Data; pip install 'halluscope[ray]').")] = None,
    ray_address: Annotated[Optional[str], typer.Option(
        help="Ray cluster address for --engine ray (default: a local Ray instance).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue an interrupted audit in the same --out folder, scoring "
        "only what is missing.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip report.html.")] = False,
    input_format: Annotated[Optional[str], typer.Option(
        "--format", help="Input format: jsonl, lmms-eval, vlmevalkit, csv, tsv, parquet, xlsx "
        "(default: detected from each file).")] = None,
    by: Annotated[Optional[list[str]], typer.Option(
        "--by", help="Also report every metric per value of this record field (repeatable; "
        "default: model).")] = None,
    cluster_by: Annotated[Optional[str], typer.Option(
        "--cluster-by", help="Bootstrap resampling unit: image (default: items sharing an image "
        "are resampled together), item, or a record field.")] = None,
    log_to: Annotated[Optional[list[str]], typer.Option(
        "--log", help="Also log metrics, intervals, n, the run sheet and report.html to wandb "
        "or mlflow (repeatable; offline into the output folder unless WANDB_MODE / "
        "MLFLOW_TRACKING_URI say otherwise).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
) -> None:
    """Score model outputs: summary table, results.json, items.jsonl, report.html, runsheet.json."""
    from halluscope.pipeline import audit as run_audit

    from halluscope.gates import check_gates, parse_gates

    console = Console()
    try:
        gates = parse_gates(fail_above, fail_below)
    except HalluscopeError as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    options = dict(chair_variant=chair_variant, gt_objects=gt_objects,
                   coco_annotations=coco_annotations or None, questions=questions,
                   pope_parser=pope_parser, pope_align=pope_align,
                   annotations=annotations or None, detector=detector, segmenter=segmenter,
                   judge=judge, claim_splitter=claim_splitter, cache_dir=cache_dir,
                   n_boot=bootstrap, confidence=confidence, seed=seed,
                   strict=strict or None, input_format=input_format, by=by or None,
                   cluster_by=cluster_by, workers=workers, engine=engine,
                   ray_address=ray_address, resume=resume or None)
    extra = parse_key_values(option)
    if offline:
        extra["offline"] = True
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
    for key, value in (("ocr", ocr), ("region_iou", region_iou), ("box_format", box_format),
                       ("device", device)):
        if value is not None:
            extra[key] = value
    if extra:
        options["options"] = extra
    if out is None:
        out = Path("halluscope-out")
    try:
        if quiet:
            result = run_audit(inputs, metrics=metric or None, out=out, argv=sys.argv,
                               write_report=not no_report, **options)
        else:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            with Progress(TextColumn("[bold]auditing"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[errors]} bad"), TimeElapsedColumn(),
                          TimeRemainingColumn(), console=err_console, transient=True) as bar:
                task = bar.add_task("audit", total=None, errors=0)

                def on_progress(p) -> None:
                    if p.done % 64 == 0 or p.done == p.total:
                        bar.update(task, completed=p.done, total=p.total, errors=p.errors)

                result = run_audit(inputs, metrics=metric or None, out=out, argv=sys.argv,
                                   on_progress=on_progress, count_total=True,
                                   write_report=not no_report, **options)
    except HalluscopeError as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as exc:  # an input or output file that cannot be read or written
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None

    if log_to:
        from halluscope.tracking import log_run
        try:
            log_run(result, out, log_to)
        except HalluscopeError as exc:
            _error(str(exc))
            raise typer.Exit(EXIT_USAGE) from None
    if not quiet:
        from halluscope.report.console import render_summary
        render_summary(result, console, out_dir=out)
    try:
        failures = check_gates(result, gates)
    except HalluscopeError as exc:
        _error(f"gate: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    if quiet:  # (the summary above lists them otherwise)
        for name, reasons in result.unscored.items():
            _error(f"{name} scored nothing: " + "; ".join(reasons))
    for failure in failures:
        _error(failure, prefix="gate failed:")
    if result.unscored:
        raise typer.Exit(EXIT_USAGE)
    if failures:
        raise typer.Exit(EXIT_GATE)


@app.command("metrics")
def list_metrics() -> None:
    """List the registered metrics: what each computes, whether it needs claims checked, and
    the options it reads (with their types, defaults and how to set them)."""
    from halluscope.metrics.base import available_metrics, metric_class
    console = Console()
    names = sorted(available_metrics())
    console.print("[bold]metrics:[/] " + ", ".join(names))
    for name in names:
        try:
            cls = metric_class(name)
        except Exception as exc:  # noqa: BLE001 - a broken third-party metric is named, not fatal
            console.print(f"[bold]{name}[/]: cannot be loaded ({type(exc).__name__}: "
                          f"{escape(str(exc))})", highlight=False)
            continue
        head = Text()
        head.append(name, style="bold")
        line = cls.summary_line()
        if line:
            head.append(f": {line}")
        if cls.needs_verification:
            head.append(" [checks claims]", style="dim")
        console.print(head, highlight=False)
        for opt in cls.options:
            console.print(Text(f"  {opt.describe()} ({opt.flag})"), highlight=False)
        for extra in cls.listing():
            console.print(Text(f"  {extra}"), highlight=False)
    console.print(Text("Any metric not installed: --metric module:Class or "
                       "--metric path/to/file.py:Class"), highlight=False)


@pope_app.command("build")
def pope_build(
    annotations: Annotated[Path, typer.Option(help="COCO-format instance annotation file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for coco_pope_<split>.json.")],
    split: Annotated[Optional[list[str]], typer.Option(
        help="random, popular, adversarial (repeatable; default all three).")] = None,
    images: Annotated[int, typer.Option(help="Images to sample.")] = 500,
    per_image: Annotated[int, typer.Option(help="Yes (and as many no) questions per image.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Build POPE question sets (random / popular / adversarial) from COCO annotations."""
    from halluscope.metrics.pope import build_command
    try:
        paths = build_command(annotations, out, split or ["random", "popular", "adversarial"],
                              images, per_image, seed)
    except HalluscopeError as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    for p in paths:
        typer.echo(str(p))


def _register_optional() -> None:
    """Commands contributed by optional components (query, judges, chair tools)."""
    import importlib
    for module in ("halluscope.cli_query", "halluscope.cli_compare",
                   "halluscope.metrics.chair_cli", "halluscope.cli_benchmarks"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(chair_app if module.endswith("chair_cli") else app)


_register_optional()


def _crash(exc: BaseException) -> int:
    """Report an unexpected exception: one line, the traceback in a log file; exit code 3."""
    import os
    import tempfile
    import time
    import traceback
    from halluscope.redact import redact_text
    text = redact_text("".join(traceback.format_exception(exc)))
    message = redact_text(f"{type(exc).__name__}: {exc}")
    if _debug or os.environ.get(ENV_DEBUG, "").strip() not in ("", "0", "false"):
        sys.stderr.write(text)
        _error(f"internal error: {message}", prefix="halluscope:")
        return EXIT_INTERNAL
    where = "(the traceback could not be written)"
    try:
        fd, path = tempfile.mkstemp(prefix=f"halluscope-crash-{time.strftime('%Y%m%dT%H%M%S')}-",
                                    suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"halluscope {__version__}\n\n{text}")
        where = f"traceback in {path}"
    except OSError:
        pass
    _error(f"internal error: {message} ({where}; --debug prints it)",
           prefix="halluscope:")
    return EXIT_INTERNAL


def _click_errors() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """Click's usage-error and abort classes, from click and from the copy typer vendors."""
    import importlib
    usage, abort = [], [typer.Abort]
    for module in ("click.exceptions", "typer._click.exceptions"):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        for found, name in ((usage, "ClickException"), (abort, "Abort")):
            cls = getattr(mod, name, None)
            if isinstance(cls, type):
                found.append(cls)
    return tuple(usage), tuple(abort)


def main() -> None:
    """The console script: every command, with an internal error reported as exit code 3."""
    usage, abort = _click_errors()
    try:
        code = app(standalone_mode=False)
    except abort:                         # Ctrl-C, or end of input at a prompt
        _error("interrupted", prefix="halluscope:")
        sys.exit(130)
    except usage as exc:                  # usage errors: click's message, exit 2
        exc.show()
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _error("interrupted", prefix="halluscope:")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place that turns a crash into exit 3
        sys.exit(_crash(exc))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
