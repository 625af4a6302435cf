"""Values of a folder's ``halluscope.toml`` checked against what the metrics declare.

:func:`halluscope.config.load_manifest` checks the ``[audit]`` table's keys and the types
:class:`~halluscope.config.AuditConfig` knows; the values only a metric knows (a CHAIR variant,
a POPE parser, ``options`` such as ``claims_analytic``) were refused when the metric was built,
without the file or the line (``expected CHAIR variant 'original' or 'refined', got 'refind'``).
:func:`declared_value_check` is the :data:`~halluscope.config.ValueCheck` that the audit
(:func:`halluscope.audit_inputs.resolve_inputs`) hands to ``load_manifest`` for every manifest it
loads: it checks a value against the declared options of the metrics
(:class:`~halluscope.metrics.base.MetricOption`: type and choices), and ``load_manifest``
names the file, the line and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from halluscope.config import AUDIT_OPTIONS, ValueCheck
from halluscope.errors import ConfigError
from halluscope.metrics.base import MetricOption, available_metrics, metric_class


def declared_value_check() -> ValueCheck:
    """A :data:`~halluscope.config.ValueCheck` that refuses a value the metric declaring its
    key refuses (:meth:`MetricOption.check`), and passes by keys no metric declares with a
    type or choices. The installed metrics are looked at once, at the first value."""
    declared: dict[tuple[str, bool], tuple[str, MetricOption]] | None = None

    def check(key: str, value: Any, setting: bool) -> None:
        nonlocal declared
        if key in AUDIT_OPTIONS and not setting:    # an audit option no metric declares
            check_audit_option(key, value)
            return
        if declared is None:
            declared = _declared_options()
        opt = declared.get((key, setting))
        if opt is None or not opt[1].choices and opt[1].type not in (str, int, float, bool):
            return
        value = opt[1].check(value, opt[0])
        within, want = _RANGES.get((key, setting), (None, ""))
        if within is not None and not within(value):
            raise ConfigError(f"expected {want}, got {value!r}")
    return check


#: ``(option, whether an audit setting) -> (test, what it wants)`` for a declared number whose
#: range the metric checks only when built (``region_iou = nan`` was refused then, with no
#: file, line or key).
_RANGES = {("region_iou", False): (lambda v: 0 < v <= 1, "an IoU in (0, 1]")}


def check_audit_option(key: str, value: Any) -> None:
    """A :class:`ConfigError` for a value of an audit option (:data:`AUDIT_OPTIONS`) in a
    ``halluscope.toml`` that the code reading it would refuse, or would read otherwise than
    written: each was checked only when used (``judge_max_connections = 0`` when the judge was
    built, without the file or line), and a TOML value has its own type, so a flag must be a
    boolean (``"yes"`` was true) and a count a whole number (``2.5`` was 2)."""
    def fail(want: str) -> ConfigError:
        return ConfigError(f"expected {want}, got {type(value).__name__} {value!r:.60}")
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if key in ("offline", "allow_download", "judge_fatal_mismatch", "complete_only"):
        if not isinstance(value, bool):
            raise fail("true or false (a TOML boolean, unquoted)")
    elif key == "max_image_pixels":
        from halluscope.imageio import check_max_image_pixels
        check_max_image_pixels(value)
    elif key in ("image_size", "judge_max_connections"):
        if not (number and isinstance(value, int) and value >= 1):
            raise fail("a whole number >= 1")
    elif key in ("detector_present", "detector_absent"):
        if not (number and 0 <= value <= 1):
            raise fail("a score in [0, 1]")
    elif key == "detector_counts":
        from halluscope.evidence.detector_facts import check_counts_option
        check_counts_option(value)
    elif key == "ray_num_gpus":
        if not (number and value >= 0):
            raise fail("a number of GPUs per Ray actor >= 0 (0, 0.5, 1, ...)")
    elif key == "judge_base_url":
        from halluscope.adapters.registry import check_base_url
        check_base_url(value)
    elif key == "judge_options":
        if not isinstance(value, dict):
            raise fail("a table of provider options ({temperature = 0, ...})")
    elif key == "device" and not isinstance(value, str):
        raise fail("a device name such as cpu or cuda")


def declared_path_options() -> frozenset[str]:
    """The ``options`` keys (not settings) that an installed metric declares as paths
    (``MetricOption(type=Path)``): a manifest's value is relative to its folder."""
    return frozenset(name for (name, setting), (_, opt) in _declared_options().items()
                     if not setting and opt.type is Path)


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


__all__ = ["check_audit_option", "declared_path_options", "declared_value_check"]
