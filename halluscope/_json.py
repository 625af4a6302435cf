"""JSON parsing through orjson when it is installed (several times faster than ``json``), with
exactly ``json``'s results: a document orjson refuses (``NaN``, integers beyond 64 bits, lone
surrogates) is parsed again by ``json``, which also gives the error message for invalid JSON."""

from __future__ import annotations

import json
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


__all__ = ["loads"]
