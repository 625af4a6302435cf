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


# -- JSON written inside prose ------------------------------------------------------------------

# a bracket, or the start of a string (read whole only inside brackets: prose quotes are prose)
_INLINE_TOKEN = re.compile(r'[\[\]{}"]')
# a JSON string on one line (JSON strings hold no raw line break: a prose quote ends at one)
_LINE_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*+"')
INLINE_BUDGET = 8
"""How many times its length a text's inline JSON candidates may cost to parse, in all."""


def _bracket_pairs(text: str) -> list[tuple[int, int]]:
    """Every matched ``[...]``/``{...}`` pair in ``text`` as ``(start, end)``; brackets inside
    JSON strings do not count, a closer that matches no opener starts afresh. One pass."""
    pairs: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []
    pos = 0
    while (m := _INLINE_TOKEN.search(text, pos)) is not None:
        ch, i = m.group(0), m.start()
        pos = i + 1
        if ch == '"':
            if stack:
                s = _LINE_STRING.match(text, i)
                if s is None:          # an unclosed quote on its line: not JSON around it
                    stack.clear()
                else:
                    pos = s.end()
        elif ch in "[{":
            stack.append((ch, i))
        elif stack and stack[-1][0] == ("[" if ch == "]" else "{"):
            pairs.append((stack.pop()[1], i + 1))
        else:
            stack.clear()
    return pairs


def inline_json_blobs(text: str, keys: tuple[str, ...] = ()) -> list[tuple[Any, int, int]]:
    """``(parsed value, start, end)`` for JSON objects, and arrays of objects, written inside
    prose (``Here: [{"bbox_2d": [...], "label": "cat"}] done``): the outermost bracketed runs
    that parse, holding one of ``keys`` as a JSON key when ``keys`` are given. Linear: parsing
    stops once the candidates tried have cost :data:`INLINE_BUDGET` times the text's length."""
    # (keys without case: a model writes "BBox" and "Label" as well)
    wanted = re.compile("|".join(f'"{re.escape(k)}"\\s*:' for k in keys),
                        re.IGNORECASE) if keys else None
    pairs = sorted((p for p in _bracket_pairs(text) if _opens_object(text, p[0])),
                   key=lambda p: (p[0], -p[1]))
    budget = INLINE_BUDGET * len(text) + 10_000
    out: list[tuple[Any, int, int]] = []
    covered = -1
    for start, end in pairs:
        if start < covered:                     # inside a blob already read
            continue
        budget -= end - start
        if budget < 0:
            log.debug("inline JSON search stopped: its budget is spent")
            break
        if wanted is not None and wanted.search(text, start, end) is None:
            continue
        ok, value = loads_bounded(text[start:end])
        if ok:
            out.append((value, start, end))
            covered = end
    return out


def _opens_object(text: str, start: int) -> bool:
    """Whether the bracket at ``start`` opens an object or a list whose first item is one."""
    if text[start] == "{":
        return True
    rest = text[start + 1:start + 65].lstrip()
    return rest[:1] == "{"
