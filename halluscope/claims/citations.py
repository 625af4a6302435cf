"""Citations in a response: the boxes, region ids and pages it cites, parsed.

The checks that decide them are :mod:`halluscope.checks.regions` (boxes and region ids
against the image) and :mod:`halluscope.checks.pages` (pages, quotes and numbers against the
document).

Cited boxes
-----------
:func:`parse_cited_boxes` reads, with the coordinate convention each format uses by default:

=================================================================  =========================
format                                                             coordinates
=================================================================  =========================
``<|object_ref_start|>dog<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>``
(Qwen-VL / Qwen2-VL)                                               0-1000
``<ref>dog</ref><box>(x1,y1),(x2,y2)</box>`` and
``<ref>dog</ref><box>[[x1, y1, x2, y2]]</box>`` (Qwen-VL, InternVL)  0-1000
JSON ``{"bbox_2d": [...], "label": "dog"}`` (Qwen2.5-VL)            pixels
JSON ``{"box_2d": [y1, x1, y2, x2], "label": ...}`` (Gemini)       0-1000, y first
JSON ``{"bbox"|"box": [...], "label"|"name"|"object"|"category"}``  auto
``dog [x1, y1, x2, y2]`` in text (Shikra, Kosmos-style captions)   auto
=================================================================  =========================

*auto*: all four values within [0, 1] -> fractions of the image; otherwise, when the image
size is known and a value exceeds the width or height but none exceeds 1000 -> 0-1000;
otherwise pixels. A record can fix the convention with ``metadata["box_format"]``: ``pixels``,
``norm`` (0-1), ``norm1000`` (0-1000) or ``auto``; so can ``AuditConfig.options
["box_format"]`` for a whole audit.

Region ids
----------
``region 3``, ``Region #3``, ``regions 3 and 5``, ``[R7]``, ``(R7)``, ``<region7>``, JSON
``{"region": 3}`` / ``{"region_id": "R3"}``. Ids compare without a leading ``R``/``region``
(``R7`` = ``7`` = ``region 7``). The regions offered to the model come from
``metadata["regions"]``: ``[{"id": 3, "box": [x1, y1, x2, y2], "label": "dog"}]`` (pixels).

The object a citation is about is the known label (an offered region's, an annotated object's
or a detected one's) named closest before it in the same sentence, else the noun right before
it, else, in JSON, its label field.

Page citations
--------------
:func:`parse_page_citations` finds, case-insensitively: ``p. 3``, ``p.3``, ``pp. 3-4``,
``pp. 3, 5``, ``page 3``, ``pages 3 and 4``, ``pages 2-3``, ``[page 3]``, ``(p3)`` / ``[p3]``
(inside brackets only), and in JSON (the whole response, or fenced ``json`` blocks) any object
with ``"page"`` / ``"page_number"`` (a number, text such as ``"p. 9"`` or ``"2-3"``, or a list
of those) and optionally ``"quote"`` /
``"text"`` / ``"evidence"``. A range cites every page in it (a range of more than
:data:`MAX_RANGE` pages cites its two ends only).

Attribution
-----------
A response is split into sentences; every quotation in a sentence that cites pages is
attributed to one of its citations: text in double quotes (``"…"``, ``“…”``, ``«…»``) of at
least 3 characters. A citing sentence without quotations attributes its *numbers* instead
(``4,210``, ``12%``, ``3.5``; not the page numbers themselves, and not a number that is part of
a word). The rules (quotations that end in a period, a sentence citing two pages) are in
:mod:`halluscope.claims.page_citations`, where page citations are parsed.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from halluscope.jsonblobs import json_blobs, walk_dicts

BOX_FORMATS = ("auto", "pixels", "norm", "norm1000")

_F = r"[-+]?\d+(?:\.\d+)?"
_LIST4 = rf"\[\s*({_F})\s*,\s*({_F})\s*,\s*({_F})\s*,\s*({_F})\s*\]"
_PAIRS = rf"\(\s*({_F})\s*,\s*({_F})\s*\)\s*,?\s*\(\s*({_F})\s*,\s*({_F})\s*\)"
# label and box bodies are bounded (an unclosed tag then costs a constant, not the rest of the text)
_QWEN = re.compile(r"(?:<\|object_ref_start\|>(?P<ref>.{0,300}?)<\|object_ref_end\|>\s*)?"
                   r"<\|box_start\|>(?P<body>.{0,2000}?)<\|box_end\|>", re.S)
_TAG = re.compile(r"(?:<ref>(?P<ref>.{0,300}?)</ref>\s*)?<box>(?P<body>.{0,2000}?)</box>", re.S)
LABEL_WINDOW = 300
"""How far before a citation (characters) its object name is looked for."""
_PLAIN = re.compile(_LIST4)
_REGION = re.compile(
    r"[\[(]\s*R\s*(?P<a>\d+)\s*[\])]"
    r"|<region\s*(?P<b>\d+)>"
    r"|\bregions?\s*(?:#|no\.?|id)?\s*(?P<c>\d+(?:\s*(?:,|and|&|or)\s*(?:#\s*)?\d+)*)",
    re.IGNORECASE)
_STOP = {"a", "an", "the", "at", "in", "on", "is", "are", "of", "located", "found", "box",
         "bounding", "region", "which", "that", "its", "this", "there", "and", "to", "with",
         "coordinates", "position", "see", "shown", "as", "by", "from", "near", "here",
         "appears", "sits", "stands", "it", "be", "r", "was", "were", "for"}


@dataclass(frozen=True)
class CitedBox:
    """A box cited in a response.

    Attributes:
        raw: The four numbers as written.
        box: ``[x1, y1, x2, y2]`` in pixels (``None`` when the image size is unknown and the
            numbers are normalised).
        label: The object it is about, when one could be read.
        span: Character span in the response.
        format: ``qwen`` | ``tag`` | ``json`` | ``plain``.
        coords: The convention it was read with (``pixels`` | ``norm`` | ``norm1000``).
    """

    raw: tuple[float, float, float, float]
    box: tuple[float, float, float, float] | None
    label: str | None
    span: tuple[int, int]
    format: str
    coords: str


@dataclass(frozen=True)
class CitedRegion:
    """A region id cited in a response."""

    id: str
    label: str | None
    span: tuple[int, int]


# -- labels ------------------------------------------------------------------------------------

def label_key(label: str | None) -> str | None:
    """Compare labels by singular form, and by COCO class when both have one."""
    if not label:
        return None
    from halluscope.claims.coco import singular
    words = re.sub(r"[^a-z0-9 ]+", " ", label.lower()).split()
    while len(words) > 1 and words[0] in _ARTICLES:      # "the flag" is the flag
        words.pop(0)
    return singular(" ".join(words))


_ARTICLES = frozenset({"the", "a", "an", "this", "that", "these", "those", "its", "their"})


def same_object(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    ka, kb = label_key(a), label_key(b)
    if ka == kb:
        return True
    from halluscope.claims.coco import coco_node
    na, nb = coco_node(ka), coco_node(kb)
    return na is not None and na == nb


def norm_region_id(value: Any) -> str:
    s = str(value).strip().lower()
    s = re.sub(r"^(?:region|r)\s*[#_-]?\s*", "", s)
    return (s.lstrip("0") or "0") if s.isdigit() else s


def _label_before(text: str, pos: int, known: Sequence[str]) -> str | None:
    """The object named closest before ``pos`` in its sentence."""
    lo = max(0, pos - LABEL_WINDOW)
    start = max(text.rfind(". ", lo, pos), text.rfind("\n", lo, pos), text.rfind("]", lo, pos),
                text.rfind(">", lo, pos), text.rfind(";", lo, pos), lo - 1) + 1
    window = text[start:pos].lower()
    best, best_at = None, -1
    for lab in known:
        for form in {lab.lower(), label_key(lab) or ""}:
            if not form:
                continue
            for m in re.finditer(rf"\b{re.escape(form)}(?:e?s)?\b", window):
                if m.end() > best_at:
                    best, best_at = lab, m.end()
    if best is not None:
        return best
    words = [w for w in re.findall(r"[a-z][a-z-]*", window)]
    while words and words[-1] in _STOP:
        words.pop()
    return words[-1] if words else None


# -- parsing -----------------------------------------------------------------------------------

def _coords(raw: Sequence[float], fmt: str, size: tuple[int, int] | None
            ) -> tuple[str, tuple[float, float, float, float] | None]:
    x1, y1, x2, y2 = raw
    if fmt == "auto":
        if all(0 <= v <= 1 for v in raw):
            fmt = "norm"
        elif size and all(0 <= v <= 1000 for v in raw) and (max(x1, x2) > size[0]
                                                            or max(y1, y2) > size[1]):
            fmt = "norm1000"
        else:
            fmt = "pixels"
    if fmt == "pixels":
        return fmt, (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    if size is None:
        return fmt, None
    scale = 1.0 if fmt == "norm" else 1000.0
    w, h = size
    return fmt, (min(x1, x2) / scale * w, min(y1, y2) / scale * h,
                 max(x1, x2) / scale * w, max(y1, y2) / scale * h)


def _numbers(body: str) -> list[tuple[float, float, float, float]]:
    out = []
    for m in re.finditer(_LIST4 + "|" + _PAIRS, body):
        vals = [g for g in m.groups() if g is not None]
        out.append(tuple(float(v) for v in vals[:4]))
    return out


def _finite4(raw: Any) -> list[float] | None:
    """Four JSON numbers as finite floats, else ``None`` (a 400-digit integer overflows)."""
    if not (isinstance(raw, list) and len(raw) == 4 and
            all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw)):
        return None
    try:
        vals = [float(v) for v in raw]
    except OverflowError:
        return None
    return vals if all(math.isfinite(v) for v in vals) else None


_LABEL_KEYS = ("label", "name", "object", "category", "class", "phrase", "ref")
# a JSON key right before a box the prose parser reads (JSON inline in a sentence)
_KEY_BEFORE = re.compile(r'"(box_2d|bbox_2d)"\s*:\s*$')


def parse_cited_boxes(text: str | None, *, size: tuple[int, int] | None = None,
                      box_format: str = "auto", known: Sequence[str] = ()) -> list[CitedBox]:
    """Every box cited in ``text`` (see the module docstring), in pixels when possible."""
    if not text:
        return []
    if box_format not in BOX_FORMATS:
        from halluscope.errors import ConfigError
        raise ConfigError(f"expected box_format in {BOX_FORMATS}, got {box_format!r}")
    out: list[CitedBox] = []
    taken: list[tuple[int, int]] = []
    cursor = 0
    blobs = json_blobs(text)
    for data, offset, _ in blobs:
        for obj in walk_dicts(data):
            for key in ("bbox_2d", "box_2d", "bbox", "box"):
                raw = obj.get(key)
                raw = _finite4(raw)
                if raw is None:
                    continue
                fmt = box_format
                if key == "box_2d":                       # Gemini: [y1, x1, y2, x2] / 1000
                    raw = [raw[1], raw[0], raw[3], raw[2]]
                    fmt = "norm1000" if box_format == "auto" else box_format
                elif key == "bbox_2d" and box_format == "auto":
                    fmt = "pixels"
                coords, box = _coords(raw, fmt, size)
                label = next((str(obj[k]) for k in _LABEL_KEYS if isinstance(obj.get(k), str)),
                             None)
                at = text.find(f'"{key}"', max(cursor, offset))
                end = text.find("]", at) + 1 if at >= 0 else 0
                span = (at, end) if at >= 0 else (offset, offset)
                cursor = max(cursor, end)
                out.append(CitedBox(tuple(raw), box, label, span, "json", coords))
                break
    text = _prose(text, blobs)       # the citations written outside the JSON count as well
    for rx, fmt_name in ((_QWEN, "qwen"), (_TAG, "tag")):
        for m in rx.finditer(text):
            nums = _numbers(m.group("body"))
            if not nums:
                continue
            ref = (m.group("ref") or "").strip() or _label_before(text, m.start(), known)
            fmt = "norm1000" if box_format == "auto" else box_format
            for raw in nums:
                coords, box = _coords(raw, fmt, size)
                out.append(CitedBox(raw, box, ref, m.span(), fmt_name, coords))
            taken.append(m.span())
    taken.sort()
    starts = [a for a, _ in taken]
    reach = list(itertools.accumulate((b for _, b in taken), max))
    for m in _PLAIN.finditer(text):
        i = bisect.bisect_right(starts, m.start()) - 1
        if i >= 0 and reach[i] > m.start():          # inside a tag already read
            continue
        raw = tuple(float(v) for v in m.groups())
        fmt = box_format
        key = _KEY_BEFORE.search(text, max(0, m.start() - 16), m.start())
        if key and key.group(1) == "box_2d":        # Gemini's, inline: [y1, x1, y2, x2] / 1000
            raw = (raw[1], raw[0], raw[3], raw[2])
            fmt = "norm1000" if box_format == "auto" else box_format
        elif key and box_format == "auto":           # Qwen2.5-VL's bbox_2d: pixels
            fmt = "pixels"
        coords, box = _coords(raw, fmt, size)
        out.append(CitedBox(raw, box, _label_before(text, m.start(), known), m.span(),
                            "plain", coords))
    out.sort(key=lambda c: c.span)
    return out


def parse_cited_regions(text: str | None, *, known: Sequence[str] = ()) -> list[CitedRegion]:
    """Every region id cited in ``text``."""
    if not text:
        return []
    out: list[CitedRegion] = []
    cursor = 0
    blobs = json_blobs(text)
    for data, offset, _ in blobs:
        for obj in walk_dicts(data):
            for key in ("region", "region_id", "regionId"):
                if key in obj and isinstance(obj[key], (int, str)):
                    label = next((str(obj[k]) for k in _LABEL_KEYS
                                  if isinstance(obj.get(k), str)), None)
                    at = text.find(f'"{key}"', max(cursor, offset))
                    span = (at, at + len(key) + 2) if at >= 0 else (offset, offset)
                    cursor = max(cursor, span[1])
                    out.append(CitedRegion(norm_region_id(obj[key]), label, span))
                    break
    text = _prose(text, blobs)
    for m in _REGION.finditer(text):
        ids = m.group("a") or m.group("b") or m.group("c")
        label = _label_before(text, m.start(), known)
        for rid in re.findall(r"\d+", ids):
            out.append(CitedRegion(norm_region_id(rid), label, m.span()))
    out.sort(key=lambda c: c.span)
    return out


def _prose(text: str, blobs: list[tuple[Any, int, int]]) -> str:
    """``text`` with its JSON blobs blanked out (offsets kept): where the prose citations are
    read once the JSON ones are. A response citing both ways had its prose citations ignored:
    a fabricated page or region id beside a JSON citation went unseen."""
    if not blobs:
        return text
    for _, start, end in blobs:       # line ends: the prose around it is its own sentences
        text = text[:start] + "\n" * (end - start) + text[end:]
    return _FENCE_LINE.sub(lambda m: " " * len(m.group(0)), text)


_FENCE_LINE = re.compile(r"(?m)^[ \t]*```[\w-]*[ \t]*$")


# -- page citations: halluscope.claims.page_citations (re-exported here) ---------------------

from halluscope.claims.page_citations import (  # noqa: E402,F401 - re-exported
    MAX_PAGE, MAX_RANGE, NUMBER_TOKEN, PageCitation, Quote, page_number, parse_page_citations,
    sentences)
