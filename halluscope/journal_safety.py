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

Nor may a journal make the reader allocate what it likes: ``bytearray(10**12)``,
``numpy.ndarray((10**12,))``, numpy's ``_reconstruct`` with a huge shape, ``set(range(10**12))``
or an object array of any shape (its state is a list, and numpy allocates the shape it is
given before it looks at the list) each take whatever memory a size field asks. The
constructors that take a size or an iterable are looked up as guards (:data:`_GUARDED`) that
refuse, with the same usage error, an object dtype (or a dtype whose pickled flags claim
object items) and any size beyond the journal's own length in bytes (:func:`_limit`). That
bound is tied to what a legitimate journal is: everything a pickle really holds is spelled out
in its bytes (a bytearray's contents, an array's raw data, a set's items), so no value halluscope
wrote is bigger than the file it was written to, while a size field costs a few bytes whatever
it says. A dtype's or an array's state is checked before numpy sees it, so a pickle that names a
numpy dtype is read by the pure-Python unpickler, whose ``BUILD`` can be intercepted; any other
pickle (most entries) by the C one (``tests/test_journal_bombs.py``).
"""

from __future__ import annotations

import io
import os
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


_FLAGGED_OBJECT = 0x07
"""numpy dtype flags that only dtypes with Python objects inside carry (``NPY_ITEM_REFCOUNT``,
``NPY_LIST_PICKLE``, ``NPY_ITEM_IS_POINTER``): a dtype's pickled state may set them on any
dtype, and an array of such a dtype is read from a list, at whatever shape it names."""


def _limit(fh: Any, path: Path) -> int:
    """The most bytes (or items) a value read from ``fh`` may ask for: the length of what is
    read (the journal file, or the bytes of a chunk's state)."""
    if isinstance(fh, io.BytesIO):
        return len(fh.getbuffer())
    try:
        return os.fstat(fh.fileno()).st_size
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return path.stat().st_size


class _Guarding:
    """What both journal readers share: the globals they look up (:meth:`find_class`) and the
    refusals of the guards (:data:`_GUARDED`)."""

    def __init__(self, fh: Any, path: Path, modules: frozenset[str] = frozenset()):
        super().__init__(fh)            # type: ignore[call-arg]
        self.path = path
        self.modules = modules
        self.limit = _limit(fh, path)

    def refuse(self, what: str) -> ConfigError:
        """The usage error for a journal that asks for ``what``."""
        return ConfigError(
            f"{self.path}: cannot resume: the journal asks for {what}: it was not written by "
            f"halluscope (and is not read further); run without --resume to start afresh")

    def refuse_size(self, count: Any, what: str) -> None:
        """Refuses ``count`` items of ``what`` beyond :attr:`limit` (the journal's length)."""
        if type(count) is not int or count > self.limit:
            raise self.refuse(f"{count!r} {what}, more than the journal's {self.limit} bytes "
                              f"could hold")

    def refuse_dtype(self, dtype: Any) -> Any:
        """``dtype`` as a numpy dtype, refused when it holds Python objects."""
        import numpy as np
        if not isinstance(dtype, np.dtype):
            try:
                dtype = np.dtype(dtype)
            except (TypeError, ValueError) as exc:
                raise self.refuse(f"an unreadable numpy dtype ({exc})") from None
        if dtype.hasobject or dtype.flags & _FLAGGED_OBJECT:
            raise self.refuse(f"a numpy array of Python objects (dtype {dtype})")
        return dtype

    def refuse_shape(self, shape: Any, dtype: Any) -> None:
        """Refuses an array of ``shape`` and ``dtype`` bigger than the journal."""
        dims = shape if isinstance(shape, tuple) else (shape,)
        if not all(type(d) is int and d >= 0 for d in dims):
            raise self.refuse(f"a numpy array of shape {shape!r}")
        count = 1
        for dim in dims:
            count *= dim
        self.refuse_size(count * max(self.refuse_dtype(dtype).itemsize, 1),
                         f"bytes of a numpy array of shape {shape!r}")

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _GUARDED:
            return _GUARDED[(module, name)](self)
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


class _JournalUnpickler(_Guarding, pickle._Unpickler):  # type: ignore[name-defined]
    """Reads a journal without running anything it names: a journal is a file in the output
    folder, and one someone else made (a shared drive, a downloaded run) could otherwise run
    any code on ``--resume`` (a pickle may call ``os.system``). It names only
    :data:`_SAFE_GLOBALS`, halluscope's own data classes (:func:`_inert_class`) and those of
    the audit's metric ``modules`` (:func:`_metric_module_class`); any other global is refused
    with a usage error, never imported or called. The constructors that allocate are guarded
    (:data:`_GUARDED`), and so is ``BUILD`` of a numpy dtype or array; pure Python, so that
    ``BUILD`` can be intercepted: :func:`_load` takes it only for a pickle with a numpy dtype.
    """

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def load_build(self) -> None:
        """``BUILD``, with a numpy array's state checked first (dtype, size) and a dtype's
        after (the flags it was given)."""
        import numpy as np
        state, inst = self.stack[-1], self.stack[-2]
        if type(inst) is np.ndarray:
            if not (isinstance(state, tuple) and len(state) == 5):
                raise self.refuse(f"a numpy array state of {type(state).__name__}")
            self.refuse_shape(state[1], state[2])
        pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]
        if isinstance(inst, np.dtype):
            self.refuse_dtype(inst)
    dispatch[pickle.BUILD[0]] = load_build


class _NumpyDtype(Exception):
    """A pickle names ``numpy.dtype``: it is read again by :class:`_JournalUnpickler`."""


class _FastUnpickler(_Guarding, pickle.Unpickler):
    """:class:`_JournalUnpickler` in C, for a pickle without a numpy dtype (so without a dtype
    or array whose ``BUILD`` needs checking): about four times faster on a journal's entries."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("numpy", "dtype"):
            raise _NumpyDtype
        return super().find_class(module, name)


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


def _guard_sized(kind: type) -> Any:
    """A guard for ``kind`` (bytearray, set, Counter, ...): an int or an iterable longer than
    the journal is refused (a ``range`` is lazy: ``set(range(10**12))`` costs 30 bytes)."""
    def guard(reader: _Guarding) -> Any:
        def build(*args: Any) -> Any:
            for arg in args[:1]:
                if type(arg) is int:
                    reader.refuse_size(arg, f"bytes of a {kind.__name__}")
                elif hasattr(arg, "__len__"):
                    reader.refuse_size(len(arg), f"items of a {kind.__name__}")
            return kind(*args)
        return build
    return guard


def _numpy_core(module: str, name: str) -> Any:
    """``name`` of numpy's ``_core.module`` (``core.module`` before numpy 2)."""
    import importlib
    try:
        return getattr(importlib.import_module(f"numpy._core.{module}"), name)
    except ImportError:
        return getattr(importlib.import_module(f"numpy.core.{module}"), name)


def _guard_ndarray(reader: _Guarding) -> Any:
    """``numpy.ndarray(shape, dtype, ...)``, refused for object dtypes and sizes beyond the
    journal (numpy's pickles never call it: only :func:`_guard_reconstruct` receives it)."""
    import numpy as np

    def ndarray(shape: Any, dtype: Any = float, *args: Any) -> Any:
        reader.refuse_shape(shape, dtype)
        return np.ndarray(shape, dtype, *args)
    ndarray.guarded = np.ndarray        # type: ignore[attr-defined]
    return ndarray


def _guard_reconstruct(reader: _Guarding) -> Any:
    """numpy's ``_reconstruct(ndarray, shape, dtype)``, of a plain array only, refused for
    object dtypes and sizes beyond the journal (numpy writes shape ``(0,)``: the array's real
    shape comes with its state, checked in :meth:`_JournalUnpickler.load_build`)."""
    _reconstruct = _numpy_core("multiarray", "_reconstruct")

    def reconstruct(subtype: Any, shape: Any, dtype: Any) -> Any:
        import numpy as np
        if getattr(subtype, "guarded", None) is not np.ndarray:
            raise reader.refuse(f"a numpy array of {subtype!r}")
        reader.refuse_shape(shape, dtype)
        return _reconstruct(np.ndarray, shape, dtype)
    return reconstruct


def _guard_frombuffer(reader: _Guarding) -> Any:
    """numpy's ``_frombuffer(buffer, dtype, shape, order)``, refused for object dtypes."""
    _frombuffer = _numpy_core("numeric", "_frombuffer")

    def frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> Any:
        reader.refuse_shape(shape, dtype)
        return _frombuffer(buf, dtype, shape, order)
    return frombuffer


def _guard_dtype(reader: _Guarding) -> Any:
    """``numpy.dtype(...)``, refused when it holds Python objects."""
    import numpy as np

    def dtype(*args: Any) -> Any:
        return reader.refuse_dtype(np.dtype(*args))
    return dtype


def _guard_scalar(reader: _Guarding) -> Any:
    """numpy's ``scalar(dtype, data)``, refused for an object dtype."""
    scalar = _numpy_core("multiarray", "scalar")

    def build(dtype: Any, *args: Any) -> Any:
        return scalar(reader.refuse_dtype(dtype), *args)
    return build


def _guards() -> dict[tuple[str, str], Any]:
    import collections
    sized = {("builtins", k.__name__): _guard_sized(k) for k in (bytearray, set, frozenset)}
    sized.update({("collections", k.__name__): _guard_sized(k)
                  for k in (collections.Counter, collections.OrderedDict)})
    for core in ("numpy._core", "numpy.core"):
        sized.update({(f"{core}.multiarray", "_reconstruct"): _guard_reconstruct,
                      (f"{core}.multiarray", "scalar"): _guard_scalar,
                      (f"{core}.numeric", "_frombuffer"): _guard_frombuffer})
    return {**sized, ("numpy", "ndarray"): _guard_ndarray, ("numpy", "dtype"): _guard_dtype}


_GUARDED = _guards()
"""The :data:`_SAFE_GLOBALS` that allocate what they are asked for, each as a guard made for
one reader (``guard(reader) -> callable``): sizes beyond the journal and object dtypes are
refused (the module docstring)."""


def _load(fh: Any, path: Path, modules: frozenset[str] = frozenset()) -> Any:
    """One pickle from ``fh`` (a journal at ``path``), looking up only what
    :class:`_JournalUnpickler` allows (the data classes of the metric ``modules`` among it)."""
    start = fh.tell()
    try:
        try:
            return _FastUnpickler(fh, path, modules).load()
        except _NumpyDtype:
            fh.seek(start)
            return _JournalUnpickler(fh, path, modules).load()
    except MemoryError:
        # a length field of the pickle itself (BINBYTES8, BYTEARRAY8, FRAME, LONG4) is read
        # by pickle before anything is looked up: what no machine can give is refused here,
        # never taken for a half-written entry (cut in silence)
        raise ConfigError(
            f"{path}: cannot resume: reading the journal asks for more memory than this machine "
            f"gives (a length in it is larger than any journal halluscope writes here); run "
            f"without --resume to start afresh") from None


__all__ = ["_load"]


