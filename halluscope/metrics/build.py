"""Metric objects for an audit: the metrics a configuration names, built and set up for it.

Used by the audit pipeline in its own process and by the engines in each worker process, so it
lives with the metrics, below both."""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from halluscope.config import AuditConfig
from halluscope.errors import ConfigError
from halluscope.metrics.base import Metric, metric_class


def _scoring_class(name: str) -> type[Metric]:
    """:func:`metric_class`, refusing an abstract class (``--metric module:Metric``)."""
    cls = metric_class(name)
    if inspect.isabstract(cls):
        raise ConfigError(f"metric {name!r}: expected a metric that can score, got an abstract "
                          f"class (it does not define {', '.join(sorted(cls.__abstractmethods__))})")
    return cls


def build_metrics(names: Iterable[str], config: AuditConfig) -> list[Metric]:
    """The metrics named (registered names, or ``module:Class`` / ``path/to/file.py:Class``
    references), built from ``config`` (which also sets the image pixel limit, option
    ``max_image_pixels``, for this process)."""
    from halluscope.imageio import set_max_image_pixels
    set_max_image_pixels((config.options or {}).get("max_image_pixels"))
    out = [_scoring_class(name).from_config(config) for name in names]
    _share_judges(out)
    for metric in out:
        metric.cluster_by = config.cluster_by
        metric.cluster_by_origin = config.set_by.get("cluster_by")  # a manifest's path:line
        metric.by = tuple(config.by)
        metric.explicit = not config.metrics_inferred
    return out


def _share_judges(metrics: list[Metric]) -> None:
    """Metrics that share one verification of a record (``claims`` and ``faithscore`` of one
    configuration: equal verifier keys) share its judge too. Each built its own, and only the
    first metric's judge was asked, so the other's run-sheet entry said 0 calls, no reported
    model and no failure, while its scores rested on that judge's verdicts."""
    from halluscope.judges.fallback import is_model_judge
    owners: dict = {}
    for metric in metrics:
        judge = getattr(metric, "judge", None)
        if not (metric.needs_verification and getattr(metric, "config_key", "")
                and is_model_judge(judge)):
            continue
        owner = owners.setdefault(metric.verifier.key, metric)
        if owner is not metric and owner.judge is not judge:
            judge.close()
            metric.judge, metric.decomposer = owner.judge, owner.decomposer


__all__ = ["build_metrics"]
