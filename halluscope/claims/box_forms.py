"""How the four numbers of a cited box are read: their layout and their scale.

A box is four numbers in one of two **layouts**: corners ``[x1, y1, x2, y2]`` (``xyxy``) or
``[x, y, width, height]`` (``xywh``, COCO's ``bbox``); and in one of three **scales**: pixels,
fractions of the image (``norm``) or 0-1000 of it (``norm1000``). ``--box-format`` (or
``metadata.box_format``, ``AuditConfig.options["box_format"]``) fixes both:

==================  ==========  ===========
box_format          layout      scale
==================  ==========  ===========
``pixels``          corners     pixels
``norm``            corners     0-1
``norm1000``        corners     0-1000
``xywh``            x, y, w, h  pixels
``xywh-norm``       x, y, w, h  0-1
``xywh-norm1000``   x, y, w, h  0-1000
``auto``            see below   see below
==================  ==========  ===========

A form that says its layout keeps it whatever ``box_format`` says (only the scale is taken
from a fixed ``box_format``): Qwen's box tokens and ``<box>`` tags (two corner points),
``bbox_2d``, Gemini's ``box_2d`` and JSON keys ``xyxy`` / ``bbox_xyxy`` / ``box_xyxy`` are
corners; JSON keys ``xywh`` / ``bbox_xywh`` / ``box_xywh`` are x, y, width, height.

A JSON object that names its coordinates says its layout too (:func:`named_box`):
``{"x", "y", "w", "h"}``, ``{"x", "y", "width", "height"}``, ``{"left", "top", "width",
"height"}`` are x, y, width, height; ``{"x1", "y1", "x2", "y2"}``, ``{"xmin", "ymin", "xmax",
"ymax"}``, ``{"x_min", ...}``, ``{"left", "top", "right", "bottom"}`` are corners (names
compare without case); written as the object itself or as an object under any key (``"bbox":
{...}``, ``"bounding_box": {...}``). A coordinate missing or not a finite number makes the
citation malformed, with the reason; a start and no end (``{"x", "y"}``: a point) or an end
and no start (``{"width", "height"}``: a size) is no box.

*auto* layout (:func:`bbox_layout`): ``[a, b, c, d]`` in prose and JSON ``box`` are corners
(Shikra, Ferret, Kosmos-2's captions and GPT-4o asked for ``[x1, y1, x2, y2]`` write them so);
JSON ``bbox`` is COCO's name for ``[x, y, w, h]`` as well, so its layout is decided once per
response over all its ``bbox`` boxes, by these rules in order:

1. some box cannot be corners (``c <= a`` or ``d <= b``) and each is a box as x, y, w, h that
   lies in the image: ``xywh``;
2. each box is corners and lies in the image, and some box read as x, y, w, h would pass the
   image's edge (by more than :func:`edge_slack`): corners;
3. otherwise the layout is **ambiguous**: each ``bbox`` box is an unverifiable, malformed
   citation ("ambiguous layout") that says to set ``--box-format``; never a guess.

*auto* scale (:func:`auto_scale`, over the corners every box of a response without a scale
of its own stands for): all values within [0, 1] -> fractions; a value past an edge but none
above 1000 -> 0-1000; every value within the image's pixels and within 1000, where the two
readings differ -> :data:`AMBIGUOUS` (an unverifiable, malformed citation, "ambiguous scale",
that says to set ``--box-format``; never a guess); otherwise pixels.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

BOX_FORMATS = ("auto", "pixels", "norm", "norm1000", "xywh", "xywh-norm", "xywh-norm1000")
_SCALES = {"pixels": "pixels", "norm": "norm", "norm1000": "norm1000", "xywh": "pixels",
           "xywh-norm": "norm", "xywh-norm1000": "norm1000"}
#: JSON keys that say their layout.
KEYED_LAYOUT = {"bbox_2d": "xyxy", "box_2d": "xyxy", "xyxy": "xyxy", "bbox_xyxy": "xyxy",
                "box_xyxy": "xyxy", "xywh": "xywh", "bbox_xywh": "xywh", "box_xywh": "xywh"}
AMBIGUOUS = "ambiguous"


def scale_of(box_format: str) -> str:
    """The scale a fixed ``box_format`` names (``auto`` for ``auto``)."""
    return _SCALES.get(box_format, "auto")


def key_scale(key: str | None, box_format: str) -> str:
    """The scale a box under JSON key ``key`` is read in: Gemini's ``box_2d`` 0-1000,
    Qwen2.5-VL's ``bbox_2d`` pixels, unless ``box_format`` fixes one (not ``auto``)."""
    if box_format == "auto":
        return {"box_2d": "norm1000", "bbox_2d": "pixels"}.get(key or "", "auto")
    return scale_of(box_format)


def shorten(value: object) -> str:
    """What a box that is not read holds, as written (JSON for a value; 60 characters)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def layout_of(key: str | None, box_format: str) -> str:
    """The layout of a box under JSON ``key`` (``None``: prose) as far as the key and
    ``box_format`` say: ``xyxy``, ``xywh``, or ``auto`` (a ``bbox`` box under ``auto``)."""
    if key in KEYED_LAYOUT:
        return KEYED_LAYOUT[key]
    if box_format != "auto":
        return "xywh" if box_format.startswith("xywh") else "xyxy"
    return "auto" if key == "bbox" else "xyxy"


def corners(raw: Sequence[float], layout: str) -> tuple[float, float, float, float]:
    """The corners four numbers in ``layout`` stand for (as written for ``xyxy``)."""
    a, b, c, d = raw
    return (a, b, a + c, b + d) if layout == "xywh" else (a, b, c, d)


def _limit(scale: str, size: tuple[int, int] | None) -> tuple[float, float] | None:
    if scale == "norm":
        return 1.0, 1.0
    if scale == "norm1000":
        return 1000.0, 1000.0
    return (size[0] + edge_slack(size[0]), size[1] + edge_slack(size[1])) if size else None


def _inside(box: Sequence[float], limit: tuple[float, float]) -> bool:
    x1, y1, x2, y2 = box
    return x2 > x1 and y2 > y1 and min(box) >= 0 and x2 <= limit[0] and y2 <= limit[1]


def bbox_layout(raws: Sequence[Sequence[float]], scale: str,
                size: tuple[int, int] | None) -> str:
    """The layout of a response's JSON ``bbox`` boxes under *auto* (the module docstring's
    rules): ``xywh``, ``xyxy`` or :data:`AMBIGUOUS`."""
    limit = _limit(scale, size)
    if not raws or limit is None:
        return AMBIGUOUS
    as_xywh = [corners(r, "xywh") for r in raws]
    if any(r[2] <= r[0] or r[3] <= r[1] for r in raws):
        return "xywh" if all(_inside(b, limit) for b in as_xywh) else AMBIGUOUS
    if all(_inside(r, limit) for r in raws) and not all(_inside(b, limit) for b in as_xywh):
        return "xyxy"
    return AMBIGUOUS


def auto_scale(raws: Sequence[Sequence[float]], size: tuple[int, int] | None) -> str:
    """The one scale of the boxes (corners) a response writes without one, decided over all of
    them together: box by box, ``[100, 100, 300, 300]`` was read as pixels and ``[700, 500,
    900, 700]`` beside it as 0-1000, a mixture no model writes. :data:`AMBIGUOUS` when every
    value fits the image both as pixels and as 0-1000 and the two readings are other boxes
    (Ferret's and CogVLM's 0-999 boxes were read as pixels wherever they fit the image), or
    fits 0-1000 and the image's size is not known."""
    values = [v for raw in raws for v in raw]
    if values and all(0 <= v <= 1 for v in values):
        return "norm"
    if values and all(0 <= v <= 1000 for v in values):
        if not size:                    # no image to tell them apart by
            return AMBIGUOUS
        # past the edge by more than rounding (the slack the region check allows a pixel
        # box): [0, 0, 515, 515] on a 512 x 512 image was read as 0-1000 and shrunk to half
        if any(max(r[0], r[2]) > size[0] + edge_slack(size[0])
               or max(r[1], r[3]) > size[1] + edge_slack(size[1]) for r in raws):
            return "norm1000"
        if not _readings_agree(values[0::2], size[0]) or \
                not _readings_agree(values[1::2], size[1]):
            return AMBIGUOUS
    return "pixels"


def _readings_agree(values: Sequence[float], side: int) -> bool:
    """Whether coordinates along an image's ``side`` name the same pixels (within
    :func:`edge_slack`) read as pixels and as 0-1000: so on an image about 1000 pixels wide."""
    return all(abs(v - v * side / 1000.0) <= edge_slack(side) for v in values)


def edge_slack(side: float) -> float:
    """How far a pixel box may pass an image's edge of ``side`` pixels and still be in it: a
    pixel or 1% of rounding (2 pixels at least)."""
    return max(2.0, 0.01 * side)


def to_pixels(box: Sequence[float], scale: str, size: tuple[int, int] | None
              ) -> tuple[float, float, float, float] | None:
    """Corners in ``scale`` (``pixels``, ``norm``, ``norm100``: MiniGPT-v2's grid, or
    ``norm1000``) as pixels (``None`` for a normalised box and no image size);
    corners stay as written (a box whose corners are swapped stays so)."""
    x1, y1, x2, y2 = box
    if scale == "pixels":
        return x1, y1, x2, y2
    if size is None:
        return None
    s = {"norm": 1.0, "norm100": 100.0}.get(scale, 1000.0)
    w, h = size
    return x1 / s * w, y1 / s * h, x2 / s * w, y2 / s * h


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


# -- JSON objects that name their coordinates ---------------------------------------------------

#: The names of a box's four numbers, in the order the layout writes them: the first two say
#: where it starts, the last two where it ends.
NAMED_LAYOUTS: tuple[tuple[str, tuple[str, str, str, str]], ...] = (
    ("xywh", ("x", "y", "w", "h")), ("xywh", ("x", "y", "width", "height")),
    ("xywh", ("left", "top", "width", "height")),
    ("xyxy", ("x1", "y1", "x2", "y2")), ("xyxy", ("xmin", "ymin", "xmax", "ymax")),
    ("xyxy", ("x_min", "y_min", "x_max", "y_max")), ("xyxy", ("left", "top", "right", "bottom")))
NAMED_KEYS = tuple(dict.fromkeys(n for _, names in NAMED_LAYOUTS for n in names))


@dataclass(frozen=True)
class NamedBox:
    """A box a JSON object writes with named coordinates (:func:`named_box`).

    Attributes:
        layout: ``xywh`` or ``xyxy``, as the names say.
        keys: The coordinate keys as written, in the object's order.
        raw: The four numbers in ``layout``'s order, or ``None`` when malformed.
        written: The coordinates as written (JSON, shortened).
        problem: ``(kind, reason)`` when malformed: ``missing coordinate``, ``non-numeric
            coordinate`` or ``conflicting coordinates``.
    """

    layout: str
    keys: tuple[str, ...]
    raw: tuple[float, float, float, float] | None
    written: str
    problem: tuple[str, str] | None = None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def named_box(obj: dict) -> NamedBox | None:
    """The box ``obj`` writes with named coordinates (see the module docstring), else
    ``None``: a layout is tried when the object holds one of its start names and one of its
    end names; the one with most names there is read (malformed for the names it lacks), and
    two whose four names are all there must agree on the corners."""
    keys = {k.lower(): k for k in obj if isinstance(k, str)}
    tried = [(layout, names) for layout, names in NAMED_LAYOUTS
             if any(n in keys for n in names[:2]) and any(n in keys for n in names[2:])]
    if not tried:
        return None
    layout, names = max(tried, key=lambda t: sum(n in keys for n in t[1]))
    present = tuple(k for k in obj if isinstance(k, str) and k.lower() in names)
    shown = shorten({k: obj[k] for k in present})
    missing = [n for n in names if n not in keys]
    if missing:
        return NamedBox(layout, present, None, shown, ("missing coordinate", (
            f"a malformed citation: the box {shown} names {', '.join(names)} and has no "
            f"{' and no '.join(missing)}")))
    values = [_number(obj[keys[n]]) for n in names]
    bad = [n for n, v in zip(names, values) if v is None]
    if bad:
        what = ", ".join(f"{keys[n]} {shorten(json.dumps(obj[keys[n]], default=str))}"
                         for n in bad)
        return NamedBox(layout, present, None, shown, ("non-numeric coordinate", (
            f"a malformed citation: the box {shown} has a coordinate that is no finite number: "
            f"{what}")))
    raw = tuple(values)
    for other, more in tried:      # {"left", "top", "right", "bottom", "width", "height"}
        again = [_number(obj[keys[n]]) if n in keys else None for n in more]
        if None not in again and corners(again, other) != corners(raw, layout):
            return NamedBox(layout, present, None, shown, ("conflicting coordinates", (
                f"a malformed citation: the box {shown} is not the box "
                f"{json.dumps({keys[n]: obj[keys[n]] for n in more})} it also writes")))
    return NamedBox(layout, present, raw, shown)  # type: ignore[arg-type]


def named_in(obj: dict) -> tuple[str | None, dict, NamedBox] | None:
    """A box ``obj`` writes with named coordinates: ``(None, obj, box)`` when its own keys
    name them, ``(key, inner, box)`` when the object under ``key`` does; else ``None``."""
    box = named_box(obj)
    if box is not None:
        return None, obj, box
    for key, value in obj.items():
        if isinstance(value, dict) and (box := named_box(value)) is not None:
            return key, value, box
    return None


_SCALAR = re.compile(r'"\s*+:\s*+(?:"(?:[^"\\\n]|\\.)*+"|[^,}\]\s]*+)')


def named_span(text: str, at: int, key: str | None, keys: Sequence[str]) -> tuple[int, int]:
    """The span of a named box whose first key (``key`` for an inner object, else the first
    coordinate's) is written at ``at``: to the inner object's ``}``, or over the coordinates
    and their values (a label written after them stays prose)."""
    if key is not None:
        end = text.find("}", at)
        return at, (end + 1 if end >= 0 else at + len(key) + 2)
    end = at
    for name in keys:
        k = text.find(f'"{name}"', end)
        if k < 0:
            break
        m = _SCALAR.match(text, k + len(name) + 1)
        end = m.end() if m else k + len(name) + 2
    return at, end


# Kosmos-2: <phrase>a dog</phrase><object><patch_index_0044><patch_index_0863></object>, the
# top-left and bottom-right cells of a 32 x 32 grid; boxes of one object are joined by
# </delimiter_of_multi_objects/>
KOSMOS = re.compile(r"(?:<phrase>(?P<ref>.{0,300}?)</phrase>\s*)?<object>(?P<body>.{0,2000}?)"
                    r"</object>", re.S)
_KOSMOS_PAIR = re.compile(r"<patch_index_(\d{4})>\s*<patch_index_(\d{4})>")
KOSMOS_GRID = 32


def kosmos_boxes(body: str) -> list[tuple[float, float, float, float]] | None:
    """The boxes (corners, fractions of the image) of a Kosmos-2 ``<object>`` body, as
    transformers' ``patch_index_to_coordinate`` reads them (cell centres, or the cells' outer
    edges where the two cells share a row or column); ``None`` when the body holds anything
    else or an index off the grid."""
    parts = [p.strip() for p in body.split("</delimiter_of_multi_objects/>")]
    out = []
    n, cell = KOSMOS_GRID, 1.0 / KOSMOS_GRID
    for part in parts:
        m = _KOSMOS_PAIR.fullmatch(part)
        if m is None or max(int(m.group(1)), int(m.group(2))) >= n * n:
            return None
        (ux, uy), (lx, ly) = (divmod(int(g), n)[::-1] for g in m.groups())
        if ux == lx or uy == ly:
            out.append((ux * cell, uy * cell, (lx + 1) * cell, (ly + 1) * cell))
        else:
            half = cell / 2
            out.append((ux * cell + half, uy * cell + half, lx * cell + half, ly * cell + half))
    return out


# -- the keys of a JSON citation ----------------------------------------------------------------

#: JSON keys of a box, in the order they are read. Keys compare by :func:`key_form`
#: (``BBox``, ``Box_2D``, ``BOUNDING_BOX``); ``bounding_box`` / ``boundingBox`` is read as
#: ``bbox`` (its name says no layout).
BOX_KEYS = ("bbox_2d", "box_2d", "bbox_xywh", "box_xywh", "xywh", "bbox_xyxy", "box_xyxy",
            "xyxy", "bbox", "box")
BOX_ALIASES = {"boundingbox": "bbox"}
#: Keys inline JSON of a box is found by (compared without case).
BOX_KEY_HINTS = (*BOX_KEYS, "bounding_box", "boundingBox")
LABEL_KEYS = ("label", "name", "object", "category", "class", "phrase", "ref")
REGION_KEYS = ("region", "region_id")
REGION_KEY_HINTS = (*REGION_KEYS, "regionId")


def key_form(key: str) -> str:
    """How a JSON key compares: without case, ``_``, ``-`` or spaces (``BBox`` = ``bbox``,
    ``Box_2D`` = ``box_2d``, ``regionId`` = ``region_id``)."""
    return re.sub(r"[\s_-]+", "", key).lower()


def keys_named(obj: dict, names: Sequence[str], aliases: dict[str, str] | None = None
               ) -> list[tuple[str, str]]:
    """``(name, key as written)`` for each key of ``obj`` that is one of ``names`` (or of
    ``aliases``, form -> name) by :func:`key_form`, in the order of ``names``."""
    forms = {key_form(n): n for n in names} | dict(aliases or {})
    order = {n: i for i, n in enumerate(names)}
    hits = [(forms[key_form(k)], k) for k in obj if isinstance(k, str) and key_form(k) in forms]
    return sorted(hits, key=lambda h: order[h[0]])


def json_label(obj: dict) -> str | None:
    """The label of a JSON citation: the first of :data:`LABEL_KEYS` it writes as text (any
    case: ``"Label"``, ``"NAME"``); ``None`` when two spellings of that key disagree
    (``"Label": "dog", "label": "cat"``): the object is then not known, never one of them."""
    for name in LABEL_KEYS:
        said = {str(obj[k]) for n, k in keys_named(obj, (name,)) if isinstance(obj[k], str)}
        if said:
            return said.pop() if len(said) == 1 else None
    return None


def json_box(obj: dict) -> tuple[str | None, str, Any] | None:
    """``(name, key as written, raw)`` of the box a JSON object carries under one of
    :data:`BOX_KEYS` (Gemini's ``box_2d``, y first, put x first); ``(None, key, reason)``
    when it writes two boxes that differ (``"bbox"`` and ``"bbox_2d"``, or ``"BBox"`` and
    ``"bbox"``: the second was silently ignored); else ``None``."""
    found = [(name, key, raw) for name, key in keys_named(obj, BOX_KEYS, BOX_ALIASES)
             if (raw := finite_box(obj[key])) is not None]
    if not found:
        return None
    if len({tuple(raw) for *_, raw in found}) > 1:
        shown = ", ".join(f'"{key}": {shorten(obj[key])}' for _, key, _ in found)
        return None, found[0][1], (f"a malformed citation: the object writes {len(found)} "
                                   f"different boxes ({shown}); which one it cites is not known")
    name, key, raw = found[0]
    if name == "box_2d":                           # Gemini: [y1, x1, y2, x2] / 1000
        raw = [raw[1], raw[0], raw[3], raw[2]]
    return name, key, tuple(raw)
