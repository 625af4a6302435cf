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
    for metric in out:
        metric.cluster_by = config.cluster_by
        metric.cluster_by_origin = config.set_by.get("cluster_by")  # a manifest's path:line
        metric.by = tuple(config.by)
        metric.explicit = not config.metrics_inferred
    return out


__all__ = ["build_metrics"]
