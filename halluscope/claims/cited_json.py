"""JSON written in a response, as citations read it: where it is, which of its objects cite
something, and the prose left around it.

A response may cite in JSON (the whole response, a fenced block, or an object written inline in
a sentence) and in prose at once; the JSON citations are read first, then the prose citations
in the text with that JSON blanked out (offsets kept), so neither way of citing hides the other.
Used by :mod:`halluscope.claims.citations` (boxes), :mod:`halluscope.claims.cited_regions`
(region ids) and :mod:`halluscope.claims.page_citations` (pages).
"""

from __future__ import annotations

import re
from typing import Any

from halluscope.jsonblobs import inline_json_blobs, json_blobs, walk_dicts

Span = tuple[int, int]


def all_blobs(text: str, keys: tuple[str, ...]) -> list[tuple[Any, int, int, bool]]:
    """The response's JSON (whole or fenced) and the JSON written inline in its prose that holds
    one of ``keys`` (marked ``True``), in text order. Inline JSON kept its box but lost its
    label: the prose parser read ``[{"bbox_2d": [...], "label": "cat"}]`` as a box of ``d``."""
    blobs = [(*b, False) for b in json_blobs(text)]
    blobs += [(*b, True) for b in inline_json_blobs(blank_json(text, blobs), keys)]
    return sorted(blobs, key=lambda b: b[1])


def json_citations_of(text: str, blobs: list[tuple[Any, int, int, bool]], read
                       ) -> tuple[list[Any], list[tuple[Any, int, int, bool]]]:
    """What ``read(obj)`` -> ``(key, make(span))`` finds in the blobs' objects, spans located
    in ``text`` in order; and the blobs to blank out of the prose (whole and fenced ones, and
    the inline ones that held a citation: an inline blob holding none stays prose)."""
    out: list[Any] = []
    used = []
    cursor = 0
    for blob in blobs:
        data, offset, _, inline = blob
        n = len(out)
        for obj in walk_dicts(data):
            found = read(obj)
            if found is None:
                continue
            key, make = found
            at = text.find(f'"{key}"', max(cursor, offset))
            span = make(at) if at >= 0 else (offset, offset)
            cursor = max(cursor, span[1])
            out.append((obj, span))
        if len(out) > n or not inline:
            used.append(blob)
    return out, used



def blank_json(text: str, blobs: list[tuple[Any, int, int]]) -> str:
    """``text`` with its JSON blobs blanked out (offsets kept): where the prose citations are
    read once the JSON ones are. A response citing both ways had its prose citations ignored:
    a fabricated page or region id beside a JSON citation went unseen."""
    if not blobs:
        return text
    parts, at = [], 0
    for blob in sorted(blobs, key=lambda b: b[1]):   # one pass: inline blobs may be many
        start, end = max(blob[1], at), blob[2]
        if end > start:      # line ends: the prose around it is its own sentences
            parts += [text[at:start], "\n" * (end - start)]
            at = end
    parts.append(text[at:])
    return _FENCE_LINE.sub(lambda m: " " * len(m.group(0)), "".join(parts))


_FENCE_LINE = re.compile(r"(?m)^[ \t]*```[\w-]*[ \t]*$")
