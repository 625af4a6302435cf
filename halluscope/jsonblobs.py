"""JSON that a response carries: the whole response, or fenced ```json blocks inside it.

Both functions are total and linear: a blob nested deeper than :data:`MAX_DEPTH` is not parsed
(``json.loads`` recurses once per bracket and would raise ``RecursionError``), a blob that does
not parse (including integers longer than Python's ``int`` digit limit) is skipped, and the
object walker keeps its own queue instead of recursing.
"""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

MAX_DEPTH = 100
"""Deepest bracket nesting of a JSON blob that is parsed; deeper ones are ignored."""

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
# a JSON string (possessive, so an unclosed one runs to the end once) or a bracket
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\Z)|[\[\]{}]', re.S)


def nesting_depth(blob: str, limit: int = MAX_DEPTH) -> int:
    """The deepest bracket nesting in ``blob`` outside JSON strings, counted up to ``limit + 1``
    (one linear pass; stops as soon as the limit is passed)."""
    depth = deepest = 0
    for m in _STRUCTURE.finditer(blob):
        ch = m.group(0)
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def loads_bounded(blob: str) -> tuple[bool, Any]:
    """``(True, value)`` when ``blob`` is JSON no deeper than :data:`MAX_DEPTH`, else
    ``(False, None)``; never raises."""
    if nesting_depth(blob) > MAX_DEPTH:
        log.debug("JSON blob nested deeper than %d brackets ignored", MAX_DEPTH)
        return False, None
    try:
        return True, json.loads(blob)
    except (ValueError, RecursionError):
        return False, None


def json_blobs(text: str) -> list[tuple[Any, int, int]]:
    """``(parsed value, start, end)`` for the response itself when it is JSON and for every
    fenced block that parses; offsets are characters of ``text``."""
    candidates = []
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        candidates.append((stripped, text.find(stripped[:1])))
    for m in _FENCE.finditer(text):
        candidates.append((m.group(1), m.start(1)))
    out = []
    for blob, offset in candidates:
        ok, value = loads_bounded(blob)
        if ok:
            out.append((value, offset, offset + len(blob)))
    return out


def walk_dicts(value: Any) -> Iterator[dict[str, Any]]:
    """Every object inside ``value`` (lists flattened), outer ones first."""
    queue: deque[Any] = deque([value])
    while queue:
        o = queue.popleft()
        if isinstance(o, list):
            queue.extendleft(reversed(o))
        elif isinstance(o, dict):
            yield o
            queue.extend(v for v in o.values() if isinstance(v, (dict, list)))
