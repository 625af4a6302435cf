"""Values of a folder's ``halluscope.toml`` checked against what the metrics declare.

:func:`halluscope.config.load_manifest` checks the ``[audit]`` table's keys and the types
:class:`~halluscope.config.AuditConfig` knows; the values only a metric knows (a CHAIR variant,
a POPE parser, ``options`` such as ``claims_analytic``) were refused when the metric was built,
without the file or the line (``expected CHAIR variant 'original' or 'refined', got 'refind'``).
:func:`declared_value_check` is the :data:`~halluscope.config.ValueCheck` that the audit
(:func:`halluscope.pipeline.resolve_inputs`) hands to ``load_manifest`` for every manifest it
loads: it checks a value against the declared options of the metrics
(:class:`~halluscope.metrics.base.MetricOption`: type and choices), and ``load_manifest``
names the file, the line and the key.
"""

from __future__ import annotations

from typing import Any

from halluscope.config import ValueCheck
from halluscope.metrics.base import MetricOption, available_metrics, metric_class


def declared_value_check() -> ValueCheck:
    """A :data:`~halluscope.config.ValueCheck` that refuses a value the metric declaring its
    key refuses (:meth:`MetricOption.check`), and passes by keys no metric declares with a
    type or choices. The installed metrics are looked at once, at the first value."""
    declared: dict[tuple[str, bool], tuple[str, MetricOption]] | None = None

    def check(key: str, value: Any, setting: bool) -> None:
        nonlocal declared
        if key == "max_image_pixels" and not setting:   # an audit option no metric declares
            from halluscope.imageio import check_max_image_pixels
            check_max_image_pixels(value)
            return
        if declared is None:
            declared = _declared_options()
        opt = declared.get((key, setting))
        if opt is None or not opt[1].choices and opt[1].type not in (str, int, float, bool):
            return
        opt[1].check(value, opt[0])
    return check


def _declared_options() -> dict[tuple[str, bool], tuple[str, MetricOption]]:
    """``(option name, whether it is an audit setting) -> (metric, its declaration)`` of every
    installed metric (the first to declare a name); a metric that cannot be loaded is left
    to the audit to report."""
    out: dict[tuple[str, bool], tuple[str, MetricOption]] = {}
    for name in available_metrics():
        try:
            cls = metric_class(name)
        except Exception:  # noqa: BLE001 - reported by the audit (or not inferred)
            continue
        for opt in getattr(cls, "options", ()):
            out.setdefault((opt.name, opt.config_field), (name, opt))
    return out


__all__ = ["declared_value_check"]
