"""Citations in a response: the boxes, region ids and pages it cites, parsed.

Boxes are read here; region ids in :mod:`halluscope.claims.cited_regions`, pages in
:mod:`halluscope.claims.page_citations`, the JSON both share and the prose around it in
:mod:`halluscope.claims.cited_json`; this module re-exports what they offer.

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
JSON ``{"bbox_xywh"|"xywh": [x, y, w, h]}``, ``{"xyxy": [...]}``      auto (layout as named)
JSON ``{"x", "y", "w"|"width", "h"|"height"}``, ``{"x1", "y1", "x2",   auto (layout as named)
"y2"}``, ``{"xmin", ...}``, ``{"left", "top", "right", "bottom"}``
``<phrase>dog</phrase><object><patch_index_0044><patch_index_0863></object>``
(Kosmos-2: top-left and bottom-right cells of a 32 x 32 grid)        fractions
``<p>dog</p> {<x1><y1><x2><y2>}`` (MiniGPT-v2; ``<delim>`` joins)    0-100
``dog [x1, y1, x2, y2]`` in text (Shikra, Ferret, Kosmos-style)    auto
``x1=10, y1=20, x2=50, y2=90``; ``bounding box: 10, 20, 50, 90``;
``at 0.12, 0.30, 0.45, 0.80`` (no brackets; only these, :mod:`~.box_prose`)  auto
=================================================================  =========================

JSON is read where it is the whole response, a fenced block, or written inline in a sentence
(``Here: [{"bbox_2d": [...], "label": "cat"}] done``); each form keeps its label.

The *auto* scale and layout, decided once per response over the boxes written without a
convention of their own, are :mod:`halluscope.claims.box_forms`'s (an ambiguous box is an
unverifiable citation, never a guess). ``metadata["box_format"]`` (``pixels``, ``norm``,
``norm1000``, ``xywh``, ``xywh-norm``, ``xywh-norm1000``, ``auto``) fixes it for a record,
``AuditConfig.options["box_format"]`` for a whole audit.

Region ids
----------
``region 3``, ``[R7]``, ``regions 1-5``, JSON ``{"region": 3}`` and the rest: read by
:mod:`halluscope.claims.cited_regions` (its docstring lists the forms; re-exported here).

The object a citation is about is its label field in JSON or ``<ref>`` tags, else read from
the words around it (before it, or after it when a linking word joins them: ``At [...] there is
a cat``, ``[...] is the cat``): the rules are :mod:`halluscope.claims.cited_labels`'s.

Page citations
--------------
:func:`parse_page_citations` finds, case-insensitively: ``p. 3``, ``p.3``, ``pp. 3-4`` (or ``pp
3-4``, ``3—4``), ``pp. 3, 5``, ``page 3``, ``pages 3 and 4``, ``pages 2 through 4``,
``pages 2, 3, and 4``, ``page three`` (one to 9,999),
``[page 3]``, ``(p3)``, ``(p 3)``, ``(pg 3)`` (in brackets only), ``pg 3``, ``pg3``,
``Page: 4``, ``page-3`` (not ``PG 13``, ``pg-13``, ``front-page``), ``p. 3f.`` (pages 3 and
4), ``p. 4 ff.`` (page 4 and every page after it: an open range in ``ranges``), and in JSON (the whole
response, or fenced ``json`` blocks) any object with ``"page"`` / ``"page_number"`` (a number,
text such as ``"p. 9"`` or ``"2-3"``, or a list of those) and optionally ``"quote"`` /
``"text"`` / ``"evidence"``. A range cites every page in it (a range of more than
:data:`MAX_RANGE` pages cites its two ends only, for the pages it says exist; a quote put on it
is looked for on every page of it the document has: ``PageCitation.ranges``).

Quotations and numbers in a citing sentence are attributed to its page citations by the rules
of :mod:`halluscope.claims.page_citations`, where page citations are parsed.

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

from halluscope.claims.box_forms import (  # noqa: F401 - BOX_FORMATS, edge_slack re-exported
    AMBIGUOUS, BOX_ALIASES, BOX_FORMATS, BOX_KEY_HINTS, BOX_KEYS, KOSMOS, NAMED_KEYS,
    REGION_KEY_HINTS, REGION_KEYS, NamedBox, auto_scale, bbox_layout, corners, edge_slack,
    finite_box, json_box, json_label, key_scale, keys_named, kosmos_boxes, layout_of, named_in,
    named_span, scale_of, shorten, to_pixels)
from halluscope.claims.box_prose import MINIGPT, minigpt_boxes, prose_boxes
from halluscope.claims.cited_json import Span, all_blobs, blank_json, json_citations_of
from halluscope.claims.cited_labels import (BareLabel, label_around, label_key,  # noqa: F401
                                            labels_of, same_object)
from halluscope.claims.cited_regions import (  # noqa: F401 - re-exported
    CitedRegion, _regions_in, norm_region_id, parse_cited_regions, region_name)

_F = r"[-+]?\d+(?:\.\d+)?"
_LIST4 = rf"\[\s*({_F})\s*,\s*({_F})\s*,\s*({_F})\s*,\s*({_F})\s*\]"
_PAIRS = rf"\(\s*({_F})\s*,\s*({_F})\s*\)\s*,?\s*\(\s*({_F})\s*,\s*({_F})\s*\)"
# label and box bodies are bounded (an unclosed tag then costs a constant, not the rest of the text)
_QWEN = re.compile(r"(?:<\|object_ref_start\|>(?P<ref>.{0,300}?)<\|object_ref_end\|>\s*)?"
                   r"<\|box_start\|>(?P<body>.{0,2000}?)<\|box_end\|>", re.S)
_TAG = re.compile(r"(?:<ref>(?P<ref>.{0,300}?)</ref>\s*)?<box>(?P<body>.{0,2000}?)</box>", re.S)
_PLAIN = re.compile(_LIST4)


@dataclass(frozen=True)
class CitedBox(BareLabel):
    """A box cited in a response.

    Attributes:
        raw: The four numbers as written.
        box: ``[x1, y1, x2, y2]`` in pixels (``None`` when the image size is unknown and the
            numbers are normalised).
        label: The object it is about, when one could be read, without its articles.
        span: Character span in the response.
        label_written: The label as written, when it had articles (``The cat``).
        format: ``qwen`` | ``tag`` | ``kosmos`` | ``minigpt`` | ``json`` | ``plain`` |
            ``prose`` (no brackets: :mod:`halluscope.claims.box_prose`).
        coords: The scale it was read in (``pixels`` | ``norm`` | ``norm100`` |
            ``norm1000``), or
            ``unread``: a box written where one is read (a JSON box key, a box tag) whose
            value is no four finite numbers (``[NaN, 0, 4, 5]``, three numbers, text); it is
            listed as unverifiable, never dropped (``raw`` is empty, ``written`` says what).
        written: What an unread box holds, as written (shortened).
        layout: How ``raw`` is laid out: ``xyxy`` (corners), ``xywh`` (x, y, width, height)
            or ``ambiguous`` (a JSON ``bbox`` that the rules of
            :mod:`halluscope.claims.box_forms` cannot place: ``box`` is ``None``).
        problem: ``(kind, reason)`` of a box written with named coordinates that lacks one or
            holds one that is no number (:func:`~halluscope.claims.box_forms.named_box`).
        label_from: Where ``label`` was read: ``response``, or ``prompt`` (:mod:`.referring`).
    """

    raw: tuple[float, ...]
    box: tuple[float, float, float, float] | None
    label: str | None
    span: tuple[int, int]
    format: str
    coords: str
    written: str | None = None
    layout: str = "xyxy"
    problem: tuple[str, str] | None = None
    label_written: str | None = None
    label_from: str = "response"

    @property
    def malformed(self) -> tuple[str, str] | None:
        """Why the four numbers are no box, as ``(kind, reason)``: ``ambiguous layout`` (a
        ``bbox`` that may be corners or x, y, w, h), ``corners swapped`` when ``x2 < x1`` or
        ``y2 < y1`` as written (x first; Gemini's ``box_2d`` turned so), ``negative size``
        (x, y, w, h), ``zero area``, ``ambiguous scale`` (pixels or 0-1000); ``None`` for a
        box. Corners are never sorted: ``[300, 300, 100, 100]`` was read as ``[100, 100, 300,
        300]`` and supported, while the same box in a record's metadata is refused."""
        if self.problem:
            return self.problem
        if self.coords == "unread" or len(self.raw) != 4:
            return None
        shown = "[" + ", ".join(f"{v:g}" for v in self.raw) + "]"
        if self.layout == AMBIGUOUS:
            return "ambiguous layout", (
                f"an ambiguous citation: \"bbox\": {shown} may be corners [x1, y1, x2, y2] or "
                f"COCO's [x, y, width, height], and both fit the image; set --box-format "
                f"(pixels, norm, norm1000 for corners; xywh, xywh-norm, xywh-norm1000) or "
                f"metadata.box_format")
        a, b, c, d = self.raw
        if self.layout == "xywh":
            if c < 0 or d < 0:
                return "negative size", (f"a malformed citation: the box {shown} (x, y, width, "
                                         f"height) has a negative width or height")
            c, d = a + c, b + d
        if c < a or d < b:
            return "corners swapped", (f"a malformed citation: the box {shown} has its corners "
                                       f"swapped (expected [x1, y1, x2, y2] with x2 > x1 and "
                                       f"y2 > y1; a model that writes [x, y, width, height] "
                                       f"needs --box-format xywh)")
        if c == a or d == b:
            axis = "x1 = x2" if c == a else "y1 = y2"
            if self.layout == "xywh":
                axis = "width 0" if c == a else "height 0"
            return "zero area", f"a malformed citation: the box {shown} has zero area ({axis})"
        if self.coords == AMBIGUOUS:
            return "ambiguous scale", (
                f"an ambiguous citation: {shown} fits the image both as pixels and as 0-1000 "
                f"of it (Ferret and CogVLM write 0-999), which read as other boxes; set "
                f"--box-format (pixels or norm1000; xywh, xywh-norm1000) or metadata.box_format")
        return None



# -- parsing -----------------------------------------------------------------------------------

def _numbers(body: str) -> list[tuple[float, float, float, float]]:
    out = []
    for m in re.finditer(_LIST4 + "|" + _PAIRS, body):
        vals = [g for g in m.groups() if g is not None]
        out.append(tuple(float(v) for v in vals[:4]))
    return out


# a JSON key right before a box the prose parser reads (JSON inline in a sentence)
_KEY_BEFORE = re.compile(r'"(' + "|".join(BOX_KEY_HINTS) + r')"\s*:\s*$', re.I)



# Citations are found in two steps: where they are and what numbers or ids they hold (a pure
# function of the text, kept for the last 8 texts: RegionMetric.applies_to asks whether a
# response cites anything, then the verifier reads the same response's citations), then what
# they mean (coordinates for an image size and convention, labels among the known objects).


@dataclass(frozen=True)
class _FoundBoxes:
    """The boxes a text cites, found: ``json`` (key, raw, label, span), ``tags`` (for Qwen's
    tokens, then ``<ref>/<box>`` tags: span, the boxes' numbers, the ref, the form), ``plain``
    (span, raw, the JSON key written before it); ``loose``: boxes without brackets (span, raw,
    ``None`` or the layout their names say); ``prose``: the text, its JSON blanked out."""

    prose: str
    json: tuple[tuple[str, tuple[float, ...], str | None, Span], ...]
    tags: tuple[tuple[tuple[Span, tuple[tuple[float, ...], ...], str, str], ...], ...]
    plain: tuple[tuple[Span, tuple[float, ...], str | None], ...]
    unread: tuple[tuple[Span, str, str | None, str], ...] = ()   # span, written, label, form
    # named coordinates, malformed: span, label, NamedBox
    named_bad: tuple[tuple[Span, str | None, Any], ...] = ()
    loose: tuple[tuple[Span, tuple[float, ...], str | None], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.json or any(self.tags) or self.plain or self.unread or self.named_bad
                    or self.loose)


@functools.lru_cache(maxsize=8)
def _boxes_in(text: str) -> _FoundBoxes:
    def read(obj):                   # (two boxes that differ too: a malformed citation)
        found = json_box(obj)
        return found and (found[1], lambda at: (at, text.find("]", at) + 1))

    def box_key(obj):                # the first box key (any spelling) that holds something
        return next((k for _, k in keys_named(obj, BOX_KEYS, BOX_ALIASES)
                     if obj[k] is not None), None)

    def unread(obj):                 # a box key whose value is no box: NaN, 3 numbers, text
        key = box_key(obj)
        if key is None or json_box(obj) is not None or named_in(obj) is not None:
            return None
        return key, lambda at: (at, at + len(key) + 2)
    held: set[int] = set()           # {"bbox": {"x": ...}}: the inner object is read once

    def named(obj):
        found = None if id(obj) in held or json_box(obj) else named_in(obj)
        if found is None:
            return None
        key, inner, box = found
        held.add(id(inner))
        return key or box.keys[0], lambda at: named_span(text, at, key, box.keys)
    blobs = all_blobs(text, BOX_KEY_HINTS + NAMED_KEYS)
    found, used = json_citations_of(text, blobs, read)
    boxes = [(json_box(obj), json_label(obj), span) for obj, span in found]
    bad, used_bad = json_citations_of(text, blobs, unread)
    by_name, used_named = json_citations_of(text, blobs, named)
    named_ok, named_bad = [], []
    for obj, span in by_name:
        _, inner, box = named_in(obj)
        label = json_label(inner) or json_label(obj)
        if box.raw is None:
            named_bad.append((span, label, box))
        else:
            named_ok.append((box.layout, box.raw, label, span))
    used += [b for b in used_bad + used_named if b not in used]
    prose = blank_json(text, used)
    tags, taken, bad_tags = _tags_in(prose)
    bad_json = tuple((span, shorten(obj[box_key(obj)]), json_label(obj), "json")
                     for obj, span in bad)
    named_bad += [(span, label, NamedBox("xyxy", (), None, shorten(b[2][b[2].find("("):]),
                                         ("conflicting boxes", b[2])))
                  for b, label, span in boxes if b[0] is None]
    plain, bad_plain = _plain_in(prose, taken)
    loose = prose_boxes(prose, taken + [span for span, *_ in plain + bad_plain])
    return _FoundBoxes(prose, tuple(sorted(
        [(b[0], b[2], label, span) for b, label, span in boxes if b[0]] + named_ok,
        key=lambda j: j[3])), tags, plain,
        tuple(sorted(bad_json + bad_tags + bad_plain, key=lambda u: u[0])), tuple(named_bad),
        loose)


def _tags_in(text: str) -> tuple[tuple[tuple, ...], list[Span], tuple[tuple, ...]]:
    """Boxes in Qwen box tokens, ``<ref>/<box>`` tags, Kosmos-2's ``<phrase>/<object>``
    patch tokens and MiniGPT-v2's ``<p>/{<..>}`` (one tuple per form), the spans of
    the tags, and the tags whose body holds no box (span, body, ref, form)."""
    forms, taken, unread = [], [], []
    for rx, form in ((_QWEN, "qwen"), (_TAG, "tag"), (KOSMOS, "kosmos"), (MINIGPT, "minigpt")):
        found = []
        for m in rx.finditer(text):
            read = {"kosmos": kosmos_boxes, "minigpt": minigpt_boxes}.get(form, _numbers)
            nums = read(m.group("body"))
            ref = (m.group("ref") or "").strip()
            if nums and all(map(math.isfinite, itertools.chain(*nums))):
                found.append((m.span(), tuple(nums), ref, form))
            else:
                unread.append((m.span(), shorten(m.group("body").strip()), ref or None, form))
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
            unread.append((m.span(), shorten(m.group(0)), None, "plain"))
            continue
        key = _KEY_BEFORE.search(text, max(0, m.start() - 20), m.start())
        key = keys_named({key.group(1): 0}, BOX_KEYS, BOX_ALIASES)[0][0] if key else None
        if key == "box_2d":                          # Gemini's, inline: [y1, x1, y2, x2]
            raw = (raw[1], raw[0], raw[3], raw[2])
        out.append((m.span(), raw, key))
    return tuple(out), tuple(unread)


def cites_a_box_or_region(text: str | None) -> bool:
    """Whether ``text`` cites a box or a region id (read, or only recognised as one): what
    :func:`parse_cited_regions` or :func:`parse_cited_boxes` would find something in, found
    once for both and for the parse of the same text that follows."""
    return bool(text) and bool(_regions_in(text) or _boxes_in(text))


_OWN_SCALE = {"kosmos": "norm", "minigpt": "norm100"}


def parse_cited_boxes(text: str | None,
 *, size: tuple[int, int] | None = None,
                      box_format: str = "auto", known: Sequence[str] = ()) -> list[CitedBox]:
    """Every box cited in ``text`` (see the module docstring), in pixels when possible."""
    if not text:
        return []
    if box_format not in BOX_FORMATS:
        from halluscope.errors import ConfigError
        raise ConfigError(f"expected box_format in {BOX_FORMATS}, got {box_format!r}")
    found = _boxes_in(text)
    out = []
    # the scale of every box written without one, and the layout of JSON "bbox" boxes,
    # decided once for the response (box_forms' rules)
    keyed = [(key, raw) for key, raw, _, _ in found.json] + \
        [(key, raw) for _, raw, key in found.plain + found.loose]
    layout = {key: layout_of(key, box_format) for key, _ in keyed}
    auto = auto_scale([corners(raw, layout[key]) if layout[key] != "auto" else raw
                       for key, raw in keyed if key_scale(key, box_format) == "auto"], size)
    bbox = bbox_layout([raw for key, raw in keyed if layout[key] == "auto"], auto, size)

    def cite(raw, key, label, span, form):
        scale = key_scale(key, box_format)
        scale = auto if scale == "auto" else scale
        how = bbox if layout[key] == "auto" else layout[key]
        box = None if AMBIGUOUS in (how, scale) else to_pixels(corners(raw, how), scale, size)
        return CitedBox(raw, box, label, span, form, scale, layout=how)
    for key, raw, label, span in found.json:
        out.append(cite(raw, key, label, span, "json"))
    for tags in found.tags:
        floor = 0
        for span, nums, ref, form in tags:
            if not ref:
                ref, floor = label_around(found.prose, span, known, floor)
            # Kosmos-2's patch cells are fractions, MiniGPT-v2's grid 0-100, whatever
            # box_format says
            scale = _OWN_SCALE.get(form) or (
                "norm1000" if box_format == "auto" else scale_of(box_format))
            for raw in nums:
                out.append(CitedBox(raw, to_pixels(raw, scale, size), ref, span, form, scale))
    plain = sorted([(*p, "plain") for p in found.plain] + [(*p, "prose") for p in found.loose],
                   key=lambda p: p[0])
    for (span, raw, key, form), label in zip(plain, labels_of(found.prose, [p[0] for p in plain],
                                                               known)):
        out.append(cite(raw, key, label, span, form))
    for span, written, label, form in found.unread:
        out.append(CitedBox((), None, label, span, form, "unread", written))
    for span, label, box in found.named_bad:
        out.append(CitedBox((), None, label, span, "json", "unread", box.written,
                            box.layout, box.problem))
    out.sort(key=lambda c: c.span)
    return out


# -- page citations: halluscope.claims.page_citations (re-exported here) ---------------------

from halluscope.claims.page_citations import (  # noqa: E402,F401 - re-exported
    MAX_PAGE, MAX_RANGE, NUMBER_TOKEN, PageCitation, Quote, page_number, parse_page_citations,
    sentences)
