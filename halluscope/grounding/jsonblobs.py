"""JSON that a response carries: the whole response, or fenced ```json blocks inside it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def json_blobs(text: str) -> list[tuple[Any, int, int]]:
    """``(parsed value, start, end)`` for the response itself when it is JSON and for every
    fenced block that parses; offsets are characters of ``text``."""
    candidates = []
    stripped = text.strip()
    if stripped[:1] in "[{":
        candidates.append((stripped, text.find(stripped)))
    for m in _FENCE.finditer(text):
        candidates.append((m.group(1), m.start(1)))
    out = []
    for blob, offset in candidates:
        try:
            out.append((json.loads(blob), offset, offset + len(blob)))
        except ValueError:
            continue
    return out


def walk_dicts(value: Any) -> Iterator[dict[str, Any]]:
    """Every object inside ``value`` (lists flattened), outer ones first."""
    stack = [value]
    while stack:
        o = stack.pop(0)
        if isinstance(o, list):
            stack[:0] = o
        elif isinstance(o, dict):
            yield o
            stack.extend(v for v in o.values() if isinstance(v, (dict, list)))
