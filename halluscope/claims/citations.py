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

JSON is read where it is the whole response, a fenced block, or written inline in a sentence
(``Here: [{"bbox_2d": [...], "label": "cat"}] done``); each form keeps its label.

*auto*: all four values within [0, 1] -> fractions of the image; otherwise, when the image
size is known and a value exceeds the width or height (by more than a pixel or 1% of
rounding, :func:`edge_slack`) but none exceeds 1000 -> 0-1000;
otherwise pixels. The rule is applied once to all the boxes a response writes without a
convention of their own (a model writes one convention), not box by box. A record can fix the convention with ``metadata["box_format"]``: ``pixels``,
``norm`` (0-1), ``norm1000`` (0-1000) or ``auto``; so can ``AuditConfig.options
["box_format"]`` for a whole audit.

Region ids
----------
``region 3``, ``Region #3``, ``regions 3 and 5``, ``regions 1-5`` / ``regions 2 to 4``, ``[R7]``,
``(R7)``, ``[R1, R9]``, ``[R1-R5]``, ``<region7>`` / ``<region_7>``, JSON ``{"region": 3}`` /
``{"region_id": "R3"}``: one citation per id of a list or range (a range of more than
:data:`MAX_RANGE` ids cites its two ends only). A numeric id compares without case, leading
zeros or an ``R``/``region`` prefix (``R07`` = ``7`` = ``region 7``); a named id keeps its
letters (``rear`` is not ``ear``). What looks like a region id in a form not read (a bare
``R1 and R9``, ``<region A>``, ``region #x``, a number with decimals: ``Region 3.5``, and a
range or bracket with one, read whole: ``regions 1.5-3``, ``[R1.5-R3]``, ``regions 1..3``, a
JSON ``{"region": 1.5}``; never a whole id read out of it) is returned ``unread``, once per
mention: the check lists it as
unverifiable rather than the record scoring as if nothing were cited. The regions offered to
the model come from ``metadata["regions"]``: ``[{"id": 3, "box": [x1, y1, x2, y2], "label":
"dog"}]`` (pixels).

The object a citation is about is its label field in JSON or ``<ref>`` tags, else read from
the words around it (before it, or after it when a linking word joins them: ``At [...] there is
a cat``, ``[...] is the cat``): the rules are :mod:`halluscope.claims.cited_labels`'s.

Page citations
--------------
:func:`parse_page_citations` finds, case-insensitively: ``p. 3``, ``p.3``, ``pp. 3-4``,
``pp. 3, 5``, ``page 3``, ``pages 3 and 4``, ``pages 2-3``, ``[page 3]``, ``(p3)`` / ``[p3]``
(inside brackets only), and in JSON (the whole response, or fenced ``json`` blocks) any object
with ``"page"`` / ``"page_number"`` (a number, text such as ``"p. 9"`` or ``"2-3"``, or a list
of those) and optionally ``"quote"`` /
``"text"`` / ``"evidence"``. A range cites every page in it (a range of more than
:data:`MAX_RANGE` pages cites its two ends only, for the pages it says exist; a quote put on
it is looked for on every page of it the document has: ``PageCitation.ranges``).

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
import functools
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from halluscope.claims.cited_labels import label_around, label_key, same_object  # noqa: F401
from halluscope.jsonblobs import inline_json_blobs, json_blobs, walk_dicts

BOX_FORMATS = ("auto", "pixels", "norm", "norm1000")

_F = r"[-+]?\d+(?:\.\d+)?"
_LIST4 = rf"\[\s*({_F})\s*,\s*({_F})\s*,\s*({_F})\s*,\s*({_F})\s*\]"
_PAIRS = rf"\(\s*({_F})\s*,\s*({_F})\s*\)\s*,?\s*\(\s*({_F})\s*,\s*({_F})\s*\)"
# label and box bodies are bounded (an unclosed tag then costs a constant, not the rest of the text)
_QWEN = re.compile(r"(?:<\|object_ref_start\|>(?P<ref>.{0,300}?)<\|object_ref_end\|>\s*)?"
                   r"<\|box_start\|>(?P<body>.{0,2000}?)<\|box_end\|>", re.S)
_TAG = re.compile(r"(?:<ref>(?P<ref>.{0,300}?)</ref>\s*)?<box>(?P<body>.{0,2000}?)</box>", re.S)
_PLAIN = re.compile(_LIST4)
# one region id and the marks between ids of a list or range (possessive: whitespace runs are
# never split two ways, so a failed match costs its length once)
# (a number with decimals is read whole, and listed unread: "Region 3.5" cited region 3, and
# "[R1.5-R3]" was listed as two unread ids 'R1' and 'R3'; "regions 1..3" cited region 1)
_DEC = r"\d++(?:\.++\d++)*+"
_RID = r"(?:#\s*+)?(?:R\s*+)?" + _DEC
_RSEP = r"\s*+(?:-|\u2013|to|through|,|/|and|&|or|;)\s*+"
_REGION = re.compile(
    r"[\[(]\s*+(?P<a>R\s*+" + _DEC + r"(?:" + _RSEP + _RID + r")*)\s*+[\])]"
    r"|<region[\s_-]*+(?P<b>" + _DEC + r")\s*+>"
    r"|\bregions?\s*+(?:#|no\.?|ids?\b)?\s*+(?P<c>" + _RID + r"(?:" + _RSEP + _RID + r")*)",
    re.IGNORECASE)
_ID_RANGE = re.compile(r"(?:#\s*+)?(?:R\s*+)?(" + _DEC + r")(?:\s*+(?:-|\u2013|to|through)\s*+"
                       r"(?:#\s*+)?(?:R\s*+)?(" + _DEC + r"))?", re.IGNORECASE)
# what looks like a region id the forms above do not read: a bare R7, a <region ...> tag, or
# "region #"/"region no."/"region id" before something else
_REGION_HINT = re.compile(r"\bR\d+\b|(?i:<region[^<>\n]{0,20}>|\bregions?\s*+(?:#|no\.|ids?\b))")
_BOX_KEYS = ("bbox_2d", "box_2d", "bbox", "box")
_REGION_KEYS = ("region", "region_id", "regionId")


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
        coords: The convention it was read with (``pixels`` | ``norm`` | ``norm1000``), or
            ``unread``: a box written where one is read (a JSON box key, a box tag) whose
            value is no four finite numbers (``[NaN, 0, 4, 5]``, three numbers, text); it is
            listed as unverifiable, never dropped (``raw`` is empty, ``written`` says what).
        written: What an unread box holds, as written (shortened).
    """

    raw: tuple[float, ...]
    box: tuple[float, float, float, float] | None
    label: str | None
    span: tuple[int, int]
    format: str
    coords: str
    written: str | None = None

    @property
    def malformed(self) -> tuple[str, str] | None:
        """Why the four numbers are no box, as ``(kind, reason)``: ``corners swapped`` when
        ``x2 < x1`` or ``y2 < y1`` as written (x first; Gemini's ``box_2d`` turned so), ``zero
        area`` when ``x2 = x1`` or ``y2 = y1``; ``None`` for a box. The corners are never
        sorted: ``[300, 300, 100, 100]`` was quietly read as ``[100, 100, 300, 300]`` and
        supported, while the same box in a record's metadata is refused."""
        if self.coords == "unread" or len(self.raw) != 4:
            return None
        x1, y1, x2, y2 = self.raw
        shown = "[" + ", ".join(f"{v:g}" for v in self.raw) + "]"
        if x2 < x1 or y2 < y1:
            return "corners swapped", (f"a malformed citation: the box {shown} has its corners "
                                       f"swapped (expected [x1, y1, x2, y2] with x2 > x1 and "
                                       f"y2 > y1)")
        if x2 == x1 or y2 == y1:
            axis = "x1 = x2" if x2 == x1 else "y1 = y2"
            return "zero area", f"a malformed citation: the box {shown} has zero area ({axis})"
        return None


@dataclass(frozen=True)
class CitedRegion:
    """A region id cited in a response.

    Attributes:
        id: The id as compared (:func:`norm_region_id`); for an unread mention, its text.
        label: The object it is about, when one could be read.
        span: Character span in the response.
        unread: A mention that looks like a region id in a form the parser does not read
            (``R1 and R9`` without brackets, ``<region A>``): it cannot be checked.
    """

    id: str
    label: str | None
    span: tuple[int, int]
    unread: bool = False


# -- labels ------------------------------------------------------------------------------------

def norm_region_id(value: Any) -> str:
    """The key a region id compares by: lower case, and for a number written with an ``R`` or
    ``region`` prefix (``R07``, ``region_7``, ``Region #7``) the number without the prefix or
    leading zeros (``"7"``). A prefix is stripped only before digits: a named id keeps its
    letters (``"rear"`` stays ``"rear"``; it lost its ``r`` and matched a cited ``ear``)."""
    s = str(value).strip().lower()
    s = re.sub(r"^(?:region|r)\s*[#_-]?\s*(?=\d+$)", "", s)
    return (s.lstrip("0") or "0") if s.isdigit() else s


def region_name(value: Any) -> str:
    """A region id as a reader sees it: ``R3`` for a number, any other id as it was offered
    (``"R1"`` was shown as ``RR1``)."""
    s = str(value)
    return f"R{s}" if s.isdigit() else s


# -- parsing -----------------------------------------------------------------------------------

def _auto_format(raws: Sequence[Sequence[float]], size: tuple[int, int] | None) -> str:
    """The one convention of the boxes a response writes without one (*auto*, see the module
    docstring), decided over all of them together: box by box, ``[100, 100, 300, 300]`` was
    read as pixels and ``[700, 500, 900, 700]`` beside it as 0-1000, a mixture no model
    writes, so each box matched in whichever convention suited it."""
    values = [v for raw in raws for v in raw]
    if values and all(0 <= v <= 1 for v in values):
        return "norm"
    # past the edge by more than rounding (the slack the region check allows a pixel box):
    # [0, 0, 515, 515] on a 512 x 512 image was read as 0-1000 and shrunk to half its size
    if size and values and all(0 <= v <= 1000 for v in values) and any(
            max(r[0], r[2]) > size[0] + edge_slack(size[0])
            or max(r[1], r[3]) > size[1] + edge_slack(size[1]) for r in raws):
        return "norm1000"
    return "pixels"


def edge_slack(side: float) -> float:
    """How far a pixel box may pass an image's edge of ``side`` pixels and still be in it: a
    pixel or 1% of rounding (2 pixels at least)."""
    return max(2.0, 0.01 * side)


def _coords(raw: Sequence[float], fmt: str, size: tuple[int, int] | None
            ) -> tuple[str, tuple[float, float, float, float] | None]:
    """The convention ``raw`` is read in and the box in pixels, corners as written (a box
    whose corners are swapped stays so: :attr:`CitedBox.malformed`)."""
    x1, y1, x2, y2 = raw
    if fmt == "auto":
        fmt = _auto_format([raw], size)
    if fmt == "pixels":
        return fmt, (x1, y1, x2, y2)
    if size is None:
        return fmt, None
    scale = 1.0 if fmt == "norm" else 1000.0
    w, h = size
    return fmt, (x1 / scale * w, y1 / scale * h, x2 / scale * w, y2 / scale * h)


def _numbers(body: str) -> list[tuple[float, float, float, float]]:
    out = []
    for m in re.finditer(_LIST4 + "|" + _PAIRS, body):
        vals = [g for g in m.groups() if g is not None]
        out.append(tuple(float(v) for v in vals[:4]))
    return out


def finite_box(raw: Any) -> list[float] | None:
    """Four numbers (a JSON list or a tuple; not booleans) as finite floats, else ``None`` (a
    400-digit integer overflows): the one test of a box's shape, for cited boxes, ground-truth
    boxes in a record's metadata and annotation files alike."""
    if not (isinstance(raw, (list, tuple)) and len(raw) == 4 and
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


def _json_label(obj: dict[str, Any]) -> str | None:
    return next((str(obj[k]) for k in _LABEL_KEYS if isinstance(obj.get(k), str)), None)


def _all_blobs(text: str, keys: tuple[str, ...]) -> list[tuple[Any, int, int, bool]]:
    """The response's JSON (whole or fenced) and the JSON written inline in its prose that holds
    one of ``keys`` (marked ``True``), in text order. Inline JSON kept its box but lost its
    label: the prose parser read ``[{"bbox_2d": [...], "label": "cat"}]`` as a box of ``d``."""
    blobs = [(*b, False) for b in json_blobs(text)]
    blobs += [(*b, True) for b in inline_json_blobs(_prose(text, blobs), keys)]
    return sorted(blobs, key=lambda b: b[1])


def _json_box(obj: dict[str, Any]) -> tuple[str, tuple[float, float, float, float]] | None:
    """``(key, raw)`` of the box a JSON object carries (Gemini's ``box_2d``, y first, put x
    first), else ``None``."""
    for key in _BOX_KEYS:
        raw = finite_box(obj.get(key))
        if raw is None:
            continue
        if key == "box_2d":                       # Gemini: [y1, x1, y2, x2] / 1000
            raw = [raw[1], raw[0], raw[3], raw[2]]
        return key, tuple(raw)
    return None


def _keyed_format(key: str | None, box_format: str) -> str:
    """The convention a box under JSON key ``key`` is read with: Gemini's ``box_2d`` 0-1000,
    Qwen2.5-VL's ``bbox_2d`` pixels, unless ``box_format`` fixes one (not ``auto``)."""
    if key == "box_2d":
        return "norm1000" if box_format == "auto" else box_format
    if key == "bbox_2d" and box_format == "auto":
        return "pixels"
    return box_format


def _json_citations_of(text: str, blobs: list[tuple[Any, int, int, bool]], read
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


# Citations are found in two steps: where they are and what numbers or ids they hold (a pure
# function of the text, kept for the last 8 texts: RegionMetric.applies_to asks whether a
# response cites anything, then the verifier reads the same response's citations), then what
# they mean (coordinates for an image size and convention, labels among the known objects).

Span = tuple[int, int]


@dataclass(frozen=True)
class _FoundBoxes:
    """The boxes a text cites, found: ``json`` (key, raw, label, span), ``tags`` (for Qwen's
    tokens, then ``<ref>/<box>`` tags: span, the boxes' numbers, the ref, the form), ``plain``
    (span, raw, the JSON key written before it); ``prose``: the text, its JSON blanked out."""

    prose: str
    json: tuple[tuple[str, tuple[float, ...], str | None, Span], ...]
    tags: tuple[tuple[tuple[Span, tuple[tuple[float, ...], ...], str, str], ...], ...]
    plain: tuple[tuple[Span, tuple[float, ...], str | None], ...]
    unread: tuple[tuple[Span, str, str | None, str], ...] = ()   # span, written, label, form

    def __bool__(self) -> bool:
        return bool(self.json or any(self.tags) or self.plain or self.unread)


@functools.lru_cache(maxsize=8)
def _boxes_in(text: str) -> _FoundBoxes:
    def read(obj):
        found = _json_box(obj)
        return found and (found[0], lambda at: (at, text.find("]", at) + 1))

    def unread(obj):                 # a box key whose value is no box: NaN, 3 numbers, text
        key = next((k for k in _BOX_KEYS if obj.get(k) is not None), None)
        if key is None or _json_box(obj) is not None:
            return None
        return key, lambda at: (at, at + len(key) + 2)
    blobs = _all_blobs(text, _BOX_KEYS)
    found, used = _json_citations_of(text, blobs, read)
    bad, used_bad = _json_citations_of(text, blobs, unread)
    prose = _prose(text, used + [b for b in used_bad if b not in used])
    tags, taken, bad_tags = _tags_in(prose)
    bad_json = tuple((span, _written(next(obj[k] for k in _BOX_KEYS if obj.get(k) is not None)),
                      _json_label(obj), "json") for obj, span in bad)
    plain, bad_plain = _plain_in(prose, taken)
    return _FoundBoxes(prose, tuple((*_json_box(obj), _json_label(obj), span)
                                    for obj, span in found), tags, plain,
                       tuple(sorted(bad_json + bad_tags + bad_plain,
                                    key=lambda u: u[0])))


def _written(value: Any) -> str:
    import json
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _tags_in(text: str) -> tuple[tuple[tuple, ...], list[Span], tuple[tuple, ...]]:
    """Boxes in Qwen box tokens and ``<ref>/<box>`` tags (one tuple per form), the spans of
    the tags, and the tags whose body holds no box (span, body, ref, form)."""
    forms, taken, unread = [], [], []
    for rx, form in ((_QWEN, "qwen"), (_TAG, "tag")):
        found = []
        for m in rx.finditer(text):
            nums = _numbers(m.group("body"))
            ref = (m.group("ref") or "").strip()
            if nums and all(map(math.isfinite, itertools.chain(*nums))):
                found.append((m.span(), tuple(nums), ref, form))
            else:
                unread.append((m.span(), _written(m.group("body").strip()), ref or None, form))
            taken.append(m.span())
        forms.append(tuple(found))
    return tuple(forms), taken, tuple(unread)


def _plain_in(text: str, taken: list[Span]) -> tuple[tuple[tuple[Span, tuple, str | None], ...],
                                                    tuple[tuple, ...]]:
    """``[x1, y1, x2, y2]`` in prose, outside the tags already read; and those with a number
    no float holds (320 digits: a box of ``inf`` pixels stopped the audit), as unread
    ``(span, written, None, "plain")``."""
    out, unread = [], []
    taken = sorted(taken)
    starts = [a for a, _ in taken]
    reach = list(itertools.accumulate((b for _, b in taken), max))
    for m in _PLAIN.finditer(text):
        i = bisect.bisect_right(starts, m.start()) - 1
        if i >= 0 and reach[i] > m.start():          # inside a tag already read
            continue
        raw = tuple(float(v) for v in m.groups())
        if not all(map(math.isfinite, raw)):
            unread.append((m.span(), _written(m.group(0)), None, "plain"))
            continue
        key = _KEY_BEFORE.search(text, max(0, m.start() - 16), m.start())
        key = key.group(1) if key else None
        if key == "box_2d":                          # Gemini's, inline: [y1, x1, y2, x2]
            raw = (raw[1], raw[0], raw[3], raw[2])
        out.append((m.span(), raw, key))
    return tuple(out), tuple(unread)


def cites_a_box_or_region(text: str | None) -> bool:
    """Whether ``text`` cites a box or a region id (read, or only recognised as one): what
    :func:`parse_cited_regions` or :func:`parse_cited_boxes` would find something in, found
    once for both and for the parse of the same text that follows."""
    return bool(text) and bool(_regions_in(text) or _boxes_in(text))


def parse_cited_boxes(text: str | None, *, size: tuple[int, int] | None = None,
                      box_format: str = "auto", known: Sequence[str] = ()) -> list[CitedBox]:
    """Every box cited in ``text`` (see the module docstring), in pixels when possible."""
    if not text:
        return []
    if box_format not in BOX_FORMATS:
        from halluscope.errors import ConfigError
        raise ConfigError(f"expected box_format in {BOX_FORMATS}, got {box_format!r}")
    found = _boxes_in(text)
    out = []
    # the convention of every box written without one, decided once for the response
    keyed = [(key, raw) for key, raw, _, _ in found.json] + \
        [(key, raw) for _, raw, key in found.plain]
    auto = _auto_format([raw for key, raw in keyed
                         if _keyed_format(key, box_format) == "auto"], size)

    def fmt_of(key: str | None) -> str:
        fmt = _keyed_format(key, box_format)
        return auto if fmt == "auto" else fmt
    for key, raw, label, span in found.json:
        coords, box = _coords(raw, fmt_of(key), size)
        out.append(CitedBox(raw, box, label, span, "json", coords))
    for tags in found.tags:
        floor = 0
        for span, nums, ref, form in tags:
            if not ref:
                ref, floor = label_around(found.prose, span, known, floor)
            fmt = "norm1000" if box_format == "auto" else box_format
            for raw in nums:
                coords, box = _coords(raw, fmt, size)
                out.append(CitedBox(raw, box, ref, span, form, coords))
    floor = 0
    for span, raw, key in found.plain:
        coords, box = _coords(raw, fmt_of(key), size)
        label, floor = label_around(found.prose, span, known, floor)
        out.append(CitedBox(raw, box, label, span, "plain", coords))
    for span, written, label, form in found.unread:
        out.append(CitedBox((), None, label, span, form, "unread", written))
    out.sort(key=lambda c: c.span)
    return out


def _region_ids(ids: str) -> tuple[list[str], list[Span]]:
    """The ids a list or range of region ids names, in order, each once (``R1, R9`` -> 1, 9;
    ``1-5`` -> 1..5; a range of more than :data:`MAX_RANGE` ids names its two ends only); and
    the spans (in ``ids``) of the ids or ranges written with decimals (``3.5``), which name no
    region: ``Region 3.5`` was read as region 3."""
    out: list[str] = []
    decimals: list[Span] = []
    for m in _ID_RANGE.finditer(ids):
        a, b = m.group(1), m.group(2) or m.group(1)
        if "." in a or "." in b:
            decimals.append(m.span())
            continue
        lo, hi = (int(a), int(b)) if len(a) + len(b) < 16 else (1, 0)
        if lo <= hi and hi - lo < MAX_RANGE:
            out += [str(n) for n in range(lo, hi + 1)]
        else:
            out += [norm_region_id(a), norm_region_id(b)]
    return list(dict.fromkeys(out)), decimals


@dataclass(frozen=True)
class _FoundRegions:
    """The region ids a text cites, found: ``json`` (read whole: their labels are the JSON's),
    ``ids`` (span, the ids of a list or range), ``unread`` (span, the mention); ``prose``: the
    text, its JSON blanked out."""

    prose: str
    json: tuple[CitedRegion, ...]
    ids: tuple[tuple[Span, tuple[str, ...]], ...]
    unread: tuple[tuple[Span, str], ...]

    def __bool__(self) -> bool:
        return bool(self.json or any(ids for _, ids in self.ids) or self.unread)


def _json_region(value: Any, label: str | None, span: Span) -> CitedRegion:
    """A JSON region id: a whole number (``3``, ``3.0``) or text is an id; a number with
    decimals (``1.5``, ``NaN``) names no region and is an unread citation."""
    if isinstance(value, float):
        if not value.is_integer():
            return CitedRegion(repr(value), label, span, unread=True)
        value = int(value)
    return CitedRegion(norm_region_id(value), label, span)


@functools.lru_cache(maxsize=8)
def _regions_in(text: str) -> _FoundRegions:
    def key_of(obj):        # a number with decimals too: {"region": 1.5} cited nothing
        return next((k for k in _REGION_KEYS if isinstance(obj.get(k), (int, float, str))
                     and not isinstance(obj.get(k), bool)), None)

    def read(obj):
        key = key_of(obj)
        return key and (key, lambda at: (at, at + len(key) + 2))
    found, used = _json_citations_of(text, _all_blobs(text, _REGION_KEYS), read)
    json_found = tuple(_json_region(obj[key_of(obj)], _json_label(obj), span)
                       for obj, span in found)
    text = _prose(text, used)
    ids, ends, unread = [], [], []
    for m in _REGION.finditer(text):
        group = next(g for g in ("a", "b", "c") if m.group(g))
        read, decimals = _region_ids(m.group(group))
        if read:
            ids.append((m.span(), tuple(read)))
        at = m.start(group)
        unread += [((at + a, at + b), text[at + a:at + b]) for a, b in decimals]
        ends.append(m.span())
    starts = [a for a, _ in ends]
    for m in _REGION_HINT.finditer(text):
        i = bisect.bisect_right(starts, m.start()) - 1
        if i >= 0 and ends[i][1] > m.start():        # part of a citation read above
            continue
        unread.append((m.span(), m.group(0)))
    return _FoundRegions(text, json_found, tuple(ids), tuple(unread))


def parse_cited_regions(text: str | None, *, known: Sequence[str] = ()) -> list[CitedRegion]:
    """Every region id cited in ``text``, one per id of a list or range; and, marked
    ``unread``, every mention that looks like a region id in a form not read."""
    if not text:
        return []
    found = _regions_in(text)
    out = list(found.json)
    floor = 0
    for span, ids in found.ids:
        label, floor = label_around(found.prose, span, known, floor)
        out += [CitedRegion(rid, label, span) for rid in ids]
    for span, mention in found.unread:
        label, _ = label_around(found.prose, span, known)
        out.append(CitedRegion(mention, label, span, unread=True))
    out.sort(key=lambda c: c.span)
    return out


def _prose(text: str, blobs: list[tuple[Any, int, int]]) -> str:
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


# -- page citations: halluscope.claims.page_citations (re-exported here) ---------------------

from halluscope.claims.page_citations import (  # noqa: E402,F401 - re-exported
    MAX_PAGE, MAX_RANGE, NUMBER_TOKEN, PageCitation, Quote, page_number, parse_page_citations,
    sentences)
