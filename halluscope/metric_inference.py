"""Which metrics an audit runs when none is named (split from :mod:`halluscope.pipeline`).

A file that ``halluscope query --benchmark NAME`` wrote says which benchmark each line asks
(``"benchmark": "hallusionbench@1"``): its manifest names the metric that scores it, and that
metric is run -- the benchmark's own scorer, with its own message when it needs more (a judge,
annotations), never a guess from the answers' shape (HallusionBench's yes/no rows looked like
POPE's, which then refused every line for want of a label). Other files are matched by each
registered metric's :meth:`~halluscope.metrics.base.Metric.fits`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from halluscope.config import AuditConfig
from halluscope.errors import ConfigError
from halluscope.metrics.base import InputSample, available_metrics, metric_class
from halluscope.readers import iter_input_records
from halluscope.records import Record

log = logging.getLogger(__name__)

#: How many records are read to tell what an audit scores.
PEEK = 200
#: The line field ``query --benchmark`` writes: the benchmark's ``name@version``.
BENCHMARK_FIELD = "benchmark"


def peek_inputs(paths: list[Path], fmt: str | None = None) -> InputSample:
    """The tasks, metadata keys and benchmarks named of the first records (up to ``PEEK``)."""
    tasks: set[str] = set()
    keys: set[str] = set()
    benchmarks: set[str] = set()
    seen = 0
    for path in paths:
        for rec in iter_input_records(path, fmt):
            if isinstance(rec, Record):
                tasks.add(rec.task)
                keys.update(rec.metadata)
                pin = rec.metadata.get(BENCHMARK_FIELD)
                if isinstance(pin, str) and pin:
                    benchmarks.add(pin)
            seen += 1
            if seen >= PEEK:
                return InputSample(frozenset(tasks), frozenset(keys), frozenset(benchmarks))
    return InputSample(frozenset(tasks), frozenset(keys), frozenset(benchmarks))


def benchmark_metrics(pins: frozenset[str]) -> tuple[tuple[str, ...], list[str]]:
    """The metrics of the benchmarks ``pins`` name (``name@version``), in name order, and a
    line for each pin no manifest knows (then no metric: the caller falls back)."""
    from halluscope.benchmark_specs import load_benchmark
    metrics: list[str] = []
    unknown: list[str] = []
    for pin in sorted(pins):
        name, _, version = pin.partition("@")
        try:
            spec = load_benchmark(name)
        except ConfigError:
            unknown.append(f"{BENCHMARK_FIELD} {pin!r} names no known benchmark")
            continue
        if version and version != spec.version:
            log.warning("the records name benchmark %s; this halluscope pins %s: scored with "
                        "its metric %s all the same", pin, spec.pin, spec.metric)
        if spec.metric not in metrics:
            metrics.append(spec.metric)
    return (tuple(metrics) if not unknown else ()), unknown


def choose_metrics(paths: list[Path], config: AuditConfig) -> tuple[tuple[str, ...], bool]:
    """The metrics to run and whether the records asked for them by name (their
    ``benchmark`` field: they are then run as if passed with ``--metric``)."""
    sample = peek_inputs(paths, config.input_format)
    unknown: list[str] = []
    if sample.benchmarks:
        named, unknown = benchmark_metrics(sample.benchmarks)
        if named:
            log.info("metric(s) %s: from the records' %r field (%s)", ", ".join(named),
                     BENCHMARK_FIELD, ", ".join(sorted(sample.benchmarks)))
            return named, True
        log.warning("%s: the metrics are inferred from the records' shape instead",
                    "; ".join(unknown))
    return infer_from_sample(paths, sample, config, unknown), False


def infer_from_sample(paths: list[Path], sample: InputSample, config: AuditConfig,
                      unknown: list[str] = ()) -> tuple[str, ...]:
    """Every registered metric whose :meth:`~halluscope.metrics.base.Metric.fits` says so,
    in ``infer_rank`` order; none is a :class:`ConfigError` saying what to pass."""
    ranked = []
    for name in available_metrics():
        try:
            cls = metric_class(name)
        except Exception as exc:  # noqa: BLE001 - a broken third-party metric is not inferred
            log.warning("metric %s cannot be loaded (%s: %s); not inferred", name,
                        type(exc).__name__, exc)
            continue
        if cls.fits(sample, config):
            ranked.append((cls.infer_rank, name))
    names = [name for _, name in sorted(ranked)]
    if not names:
        said = f"; {'; '.join(unknown)}" if unknown else ""
        how = ("pass --metric, and the ground truth it needs (--gt-objects or "
               "--coco-annotations for chair, --questions for pope)")
        if config.questions:    # it asked for --questions, which had been given
            how = ("a question file was given, but no record reads as a yes/no question (none "
                   "has a 'label' or a yes/no 'prompt'/'question'): pass --metric pope "
                   "(metrics='pope' in Python) to score the answers against it")
        raise ConfigError(
            f"cannot tell what to score in {', '.join(map(str, paths))} (tasks seen: "
            f"{', '.join(sorted(sample.tasks)) or 'none'}{said}): {how}")
    return tuple(names)


def infer_metrics(paths: list[Path], config: AuditConfig) -> tuple[str, ...]:
    """Which metrics fit the records and the companion files given (see the module
    docstring)."""
    return choose_metrics(paths, config)[0]


__all__ = ["BENCHMARK_FIELD", "PEEK", "benchmark_metrics", "choose_metrics", "infer_from_sample",
           "infer_metrics", "peek_inputs"]
