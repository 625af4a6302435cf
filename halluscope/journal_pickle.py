"""Reading a progress journal (:mod:`halluscope.journal`) without running anything it names.

A journal is a stream of pickles in the output folder; one someone else made (a shared drive, a
downloaded run) could run any code on ``--resume`` through an ordinary unpickler. This one
looks up only :data:`_SAFE_GLOBALS` and halluscope's own data classes (kept apart from the
journal's writing and matching so that each module stays small).
"""

from __future__ import annotations

import pickle
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
    :data:`_SAFE_GLOBALS` and halluscope's own data classes (:func:`_inert_class`); any other
    global is refused with a usage error, never imported or called."""

    def __init__(self, fh: Any, path: Path):
        super().__init__(fh)
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        found = _inert_class(module, name)
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


def _load(fh: Any, path: Path) -> Any:
    return _JournalUnpickler(fh, path).load()
