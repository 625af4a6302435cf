"""Metric objects for an audit: the metrics a configuration names, built and set up for it.

Used by the audit pipeline in its own process and by the engines in each worker process, so it
lives with the metrics, below both."""

from __future__ import annotations

from collections.abc import Iterable

from halluscope.config import AuditConfig
from halluscope.metrics.base import Metric, metric_class


def build_metrics(names: Iterable[str], config: AuditConfig) -> list[Metric]:
    """The metrics named (registered names, or ``module:Class`` / ``path/to/file.py:Class``
    references), built from ``config`` (which also sets the image pixel limit, option
    ``max_image_pixels``, for this process)."""
    from halluscope.imageio import set_max_image_pixels
    set_max_image_pixels((config.options or {}).get("max_image_pixels"))
    out = [metric_class(name).from_config(config) for name in names]
    for metric in out:
        metric.cluster_by = config.cluster_by
        metric.by = tuple(config.by)
    return out


__all__ = ["build_metrics"]
