"""Reading a journal without running what it names (:func:`_load`).

A journal is a file in the output folder, and one someone else made (a shared drive, a
downloaded run) could run any code on ``--resume`` if it were read with ``pickle.load`` (a
pickle may call ``os.system``). :class:`_JournalUnpickler` looks up only:

- :data:`_SAFE_GLOBALS`: what journals were found to hold beyond halluscope's classes, and
  inert data types (numpy scalars and arrays, dates, paths, sets);
- halluscope's own data classes (:func:`_inert_class`);
- the data classes of the modules the audit itself loaded its metrics from
  (:func:`_metric_module_class`): a custom metric whose item notes hold its own dataclasses
  was refused on ``--resume`` as "not written by halluscope". The user already runs that
  module's code; what a pickle may do with one of its classes is only fill it with values, so a
  class is admitted only when it is defined in the module named, its ``__init__`` is the one
  :mod:`dataclasses` wrote, its metaclass is ``type``, and neither it nor a base defines a
  method that a pickle or the values it builds would call (:data:`_ACTING`: ``__new__``,
  ``__post_init__``, ``__setstate__``, ``__reduce__``, ``__getattr__``, ``__setattr__``,
  ``__del__``, ``__eq__``, ``__hash__``, ...) other than those :mod:`dataclasses` wrote.

Anything else is refused with a usage error naming the file and the global, never imported or
called (``tests/test_journal_safety.py``).
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError

_SAFE_GLOBALS = frozenset({
    ("collections", "Counter"), ("collections", "OrderedDict"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("builtins", "bytearray"), ("builtins", "slice"), ("builtins", "range"),
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"),
    ("datetime", "timedelta"), ("datetime", "timezone"),
    ("pathlib", "PurePosixPath"), ("pathlib", "PureWindowsPath"), ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.multiarray", "scalar"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.numeric", "_frombuffer"),
    ("halluscope.errors", "_record_error"), ("halluscope.errors", "_unreadable"),
})
"""The globals outside halluscope's own data classes that a journal may name: what resumed
audits of every metric (tests/test_resume*, test_workers, test_judge_audit, the sample folder)
were found to hold (``collections.Counter``; halluscope's error reconstructors), and inert data
types a custom metric's item values may hold (numpy scalars and arrays, dates, paths, sets).
Each only builds a value: none calls what it is given or touches files."""


class _JournalUnpickler(pickle.Unpickler):
    """Reads a journal without running anything it names: a journal is a file in the output
    folder, and one someone else made (a shared drive, a downloaded run) could otherwise run
    any code on ``--resume`` (a pickle may call ``os.system``). It names only
    :data:`_SAFE_GLOBALS`, halluscope's own data classes (:func:`_inert_class`) and those of
    the audit's metric ``modules`` (:func:`_metric_module_class`); any other global is refused
    with a usage error, never imported or called."""

    def __init__(self, fh: Any, path: Path, modules: frozenset[str] = frozenset()):
        super().__init__(fh)
        self.path = path
        self.modules = modules

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        found = _inert_class(module, name) or _metric_module_class(module, name, self.modules)
        if found is None:
            raise ConfigError(
                f"{self.path}: cannot resume: the journal names the global {module}.{name}, "
                f"which no halluscope journal holds: it was not written by halluscope (and is "
                f"not read further, nothing it names is run); run without --resume to start "
                f"afresh")
        return found


def _inert_class(module: str, name: str) -> type | None:
    """The class ``module.name`` when it is one of halluscope's data classes, that a pickle
    can only fill with values: a dataclass with the ``__init__`` :mod:`dataclasses` wrote and
    no ``__post_init__``, ``__new__`` or ``__setstate__`` of its own, an enum, or an error of
    :mod:`halluscope.errors`; else ``None``. Not a function, nor a name imported into a
    halluscope module (``halluscope.journal.os``), nor an attribute path (``Entry.x.y``)."""
    import dataclasses
    import enum
    import importlib
    import sys
    parts = module.split(".")
    if parts[0] != "halluscope" or not all(p.isidentifier() and not p.startswith("__")
                                           for p in parts) or not name.isidentifier():
        return None
    try:
        found = getattr(sys.modules.get(module) or importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    if not isinstance(found, type) or found.__module__ != module or found.__qualname__ != name:
        return None
    if isinstance(found, enum.EnumMeta):
        return found
    if issubclass(found, BaseException):
        return found if module == "halluscope.errors" else None
    init = found.__dict__.get("__init__")
    made = getattr(getattr(init, "__code__", None), "co_filename", None) == "<string>"
    own = any(k in vars(c) for c in found.__mro__[:-1]
              for k in ("__post_init__", "__new__", "__setstate__"))
    return found if dataclasses.is_dataclass(found) and made and not own else None


_ACTING = ("__new__", "__init__", "__post_init__", "__setstate__", "__reduce__",
           "__reduce_ex__", "__getattr__", "__getattribute__", "__setattr__", "__delattr__",
           "__del__", "__eq__", "__hash__", "__init_subclass__", "__set_name__",
           "__class_getitem__")
"""Methods that unpickling a class's instance, or putting it in the set or dict a pickle
builds, may call (or that run when it is dropped): a class of a metric's module that defines
one that :mod:`dataclasses` did not write is refused."""


def _written_by_dataclasses(value: Any) -> bool:
    """Whether ``value`` is ``None`` (``__hash__ = None``) or a function :mod:`dataclasses`
    generated (compiled from a string)."""
    code = getattr(value, "__code__", None)
    return value is None or getattr(code, "co_filename", None) == "<string>"


def _metric_module_class(module: str, name: str, modules: frozenset[str]) -> type | None:
    """The class ``module.name`` when ``module`` is one the audit loaded a metric from
    (already imported: nothing is imported here) and the class is a data class a pickle can
    only fill with values (the module docstring's rule); else ``None``."""
    import dataclasses
    if module not in modules or not name.isidentifier():
        return None
    loaded = sys.modules.get(module)
    found = getattr(loaded, "__dict__", {}).get(name)   # not getattr: no module __getattr__
    if not isinstance(found, type) or type(found) is not type or \
            found.__module__ != module or found.__qualname__ != name:
        return None
    if not dataclasses.is_dataclass(found) or "__init__" not in vars(found):
        return None
    acting = [k for c in found.__mro__[:-1] for k in _ACTING
              if k in vars(c) and not _written_by_dataclasses(vars(c)[k])]
    return None if acting else found


def _load(fh: Any, path: Path, modules: frozenset[str] = frozenset()) -> Any:
    """One pickle from ``fh`` (a journal at ``path``), looking up only what
    :class:`_JournalUnpickler` allows (the data classes of the metric ``modules`` among it)."""
    return _JournalUnpickler(fh, path, modules).load()


__all__ = ["_load"]


