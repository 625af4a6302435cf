"""JSON parsing through orjson when it is installed (several times faster than ``json``), with
exactly ``json``'s results: a document orjson refuses (``NaN``, integers beyond 64 bits, lone
surrogates) is parsed again by ``json``, which also gives the error message for invalid JSON."""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a core dependency
    _orjson = None


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads(data)``, through orjson when it can."""
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(data)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Garbage collection off for a block that builds many small containers and no cycles
    (parsing a large JSON document and converting it): Python's collector would otherwise
    rescan the growing document again and again, which costs more than the parsing itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


__all__ = ["gc_paused", "loads"]
