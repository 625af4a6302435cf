"""Values of a folder's ``halluscope.toml`` checked against what the metrics declare.

:func:`halluscope.config.load_manifest` checks the ``[audit]`` table's keys and the types
:class:`~halluscope.config.AuditConfig` knows; the values only a metric knows (a CHAIR variant,
a POPE parser, ``options`` such as ``claims_analytic``) were refused when the metric was built,
without the file or the line (``expected CHAIR variant 'original' or 'refined', got 'refind'``).
:func:`check_manifest_values` checks them against each metric's declared options
(:class:`~halluscope.metrics.base.MetricOption`: type and choices) before the audit starts, and
names the file, the line and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from halluscope.config import MANIFEST, key_line
from halluscope.errors import ConfigError
from halluscope.metrics.base import MetricOption, available_metrics, metric_class


def manifest_files(inputs: Any) -> Iterator[Path]:
    """The ``halluscope.toml`` files an audit of ``inputs`` reads, as
    :func:`halluscope.pipeline.resolve_inputs` finds them: each folder's, else the one beside
    the first file."""
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    found = False
    for p in map(Path, inputs or ()):
        if p.is_dir() and (p / MANIFEST).is_file():
            found = True
            yield p / MANIFEST
        elif p.is_file() and not found:
            found = True
            if (p.parent / MANIFEST).is_file():
                yield p.parent / MANIFEST


def check_manifest_values(inputs: Any, given: Iterable[str] = ()) -> None:
    """Raise :class:`ConfigError` naming the file, the line and the key for the first value of
    a ``halluscope.toml`` ``[audit]`` table (or its ``options``) that the metric declaring the
    key refuses; keys in ``given`` (set explicitly, so the file's value is not used) and
    files that cannot be read (the audit says why) are passed by."""
    given = set(given)
    for path in manifest_files(inputs):
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("audit")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if not isinstance(table, dict):
            continue
        options = table.get("options") if "options" not in given else None
        values = [(k, v, True) for k, v in table.items() if k not in given and k != "options"]
        if isinstance(options, dict):
            values += [(k, v, False) for k, v in options.items()]
        declared = _declared_options() if values else {}
        for key, value, setting in values:
            opt = declared.get((key, setting))
            if opt is None or not opt[1].choices and opt[1].type not in (str, int, float, bool):
                continue
            try:
                opt[1].check(value, opt[0])
            except ConfigError as exc:
                line = key_line(path, key) or (None if setting else key_line(path, "options"))
                raise ConfigError(f"{path}{f':{line}' if line else ''}: invalid [audit] table: "
                                  f"{key if setting else 'options.' + key}: {exc}") from None


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


__all__ = ["check_manifest_values", "manifest_files"]
