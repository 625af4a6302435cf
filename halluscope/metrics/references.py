"""Metrics that are not installed, named by reference: ``module:Class`` or
``path/to/file.py:Class`` (a file is run as a module of its own, once per process while its
content stays the same, and again when it changed: a notebook that edits the file and audits
again runs the edited metric), and such references made absolute for worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from halluscope.errors import ConfigError

if TYPE_CHECKING:
    from halluscope.metrics.base import Metric

_FILES: dict[str, tuple[str, Any]] = {}     # resolved path -> (sha256 of the source, module)


def _exec_file(path: Path, ref: str) -> Any:
    """Run a metric's Python file as a module of its own, named after its stem and its resolved
    path (``a/m.py`` and ``b/m.py`` both loaded as ``halluscope_user_metric_m``: the second
    took the first's place in ``sys.modules``, and the first's classes no longer pickled)."""
    import hashlib
    import importlib.util
    import sys
    where = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = "halluscope_user_metric_" + "".join(
        c if c.isalnum() else "_" for c in path.stem) + "_" + where
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"metric {ref!r}: cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module   # dataclasses and pickling look the module up
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _file_module(path: Path, ref: str) -> Any:
    """The module of metric file ``path``, run once per process like an import, and run again
    when its content changed since: a notebook that edited the file and audited again got the
    old class's numbers, while the run sheet fingerprinted the edited file."""
    import hashlib
    key = str(path.resolve())
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"metric {ref!r}: cannot read {path}: {exc}") from exc
    held = _FILES.get(key)
    if held is not None and held[0] == digest:
        return held[1]
    if held is not None:
        import logging
        logging.getLogger(__name__).info("metric file %s changed since this process ran it: "
                                         "running it again", path)
    module = _exec_file(path, ref)
    _FILES[key] = (digest, module)
    return module


def load_reference(ref: str) -> type[Metric]:
    """The class ``Class`` of ``module:Class`` or ``path/to/file.py:Class``."""
    import importlib
    target, _, attr = ref.rpartition(":")
    if _is_path(target):
        path = Path(target)
        if not path.is_file():
            raise ConfigError(f"metric {ref!r}: expected a Python file at {path}, found none")
        module = _file_module(path, ref)
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if exc.name and not target.startswith(exc.name):
                raise                   # the module exists; something it imports does not
            raise ConfigError(f"metric {ref!r}: expected an importable module {target!r}, "
                              f"got {exc}") from None
    from halluscope.metrics.base import Metric, remember
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        raise ConfigError(f"metric {ref!r}: expected a Metric subclass named {attr!r} in "
                          f"{target}, got {type(cls).__name__ if cls is not None else 'nothing'}")
    remember(cls)
    return cls


def is_file_reference(ref: str) -> bool:
    """Whether ``ref`` names a Python file (``path/to/file.py:Class``), not a module."""
    return _is_path(ref.rpartition(":")[0])


def _is_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def portable_reference(name: str) -> str:
    """``name`` as another process finds it whatever its working folder: a
    ``path/to/file.py:Class`` reference with the path made absolute; anything else unchanged."""
    target, sep, attr = name.rpartition(":")
    if sep and _is_path(target):
        return f"{Path(target).resolve()}:{attr}"
    return name


__all__ = ["load_reference", "portable_reference"]
