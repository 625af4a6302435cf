"""Metrics that are not installed, named by reference: ``module:Class`` or
``path/to/file.py:Class`` (a file is run once per process, as a module of its own), and such
references made absolute for worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from halluscope.errors import ConfigError

if TYPE_CHECKING:
    from halluscope.metrics.base import Metric

_FILES: dict[str, Any] = {}


def _exec_file(path: Path, ref: str) -> Any:
    """Run a metric's Python file as a module of its own."""
    import importlib.util
    import sys
    module_name = "halluscope_user_metric_" + "".join(
        c if c.isalnum() else "_" for c in path.stem)
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


def load_reference(ref: str) -> type[Metric]:
    """The class ``Class`` of ``module:Class`` or ``path/to/file.py:Class``."""
    import importlib
    target, _, attr = ref.rpartition(":")
    if _is_path(target):
        path = Path(target)
        if not path.is_file():
            raise ConfigError(f"metric {ref!r}: expected a Python file at {path}, found none")
        module = _FILES.get(str(path.resolve()))
        if module is None:              # a file is run once per process, like an import
            module = _FILES[str(path.resolve())] = _exec_file(path, ref)
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
