"""The statistics a metric can report, whatever its options: what ``halluscope metrics`` lists
with their meanings, and what a metric's ``meanings`` must say in words.

A metric's statistics can depend on its options (HallusionBench's keyword variants report
fewer; consistency reports its parts' statistics under its own names), so they are read from
its declaration (:meth:`~halluscope.metrics.base.Metric.declared_statistics`) under the default
settings and under each choice of each option that has choices, in the order first declared.
"""

from __future__ import annotations

import logging
from typing import Any

from halluscope.config import AuditConfig

log = logging.getLogger(__name__)


def _configs(cls: Any) -> list[AuditConfig]:
    """The default settings, and one per choice of each option of ``cls`` that has choices."""
    out = [AuditConfig()]
    for opt in getattr(cls, "options", ()):
        for choice in opt.choices:
            try:
                out.append(AuditConfig(**{opt.name: choice}) if opt.config_field
                           else AuditConfig(options={opt.name: choice}))
            except Exception as exc:  # noqa: BLE001 - a choice AuditConfig refuses: not listed
                log.debug("%s: option %s=%r not tried: %s", cls, opt.name, choice, exc)
    return out


def reportable_statistics(cls: Any) -> list[str]:
    """The names of every statistic metric class ``cls`` can report, in declared order (the
    default settings' first, then those only some option choice adds)."""
    names = dict.fromkeys(getattr(cls, "statistics", None) or {})
    for config in _configs(cls):
        try:
            declared = cls.declared_statistics(config) or {}
        except Exception as exc:  # noqa: BLE001 - a metric that cannot tell for these settings
            log.debug("%s: no statistics declared for %s: %s", cls, config, exc)
            continue
        names.update(dict.fromkeys(declared))
    return list(names)


__all__ = ["reportable_statistics"]
