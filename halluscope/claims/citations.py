"""Region grounding: the boxes and region ids a response cites, checked against the image.

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

Decisions (IoU threshold :data:`IOU_THRESHOLD`, 0.5, as in PASCAL VOC and RefCOCO's
accuracy@0.5; ``AuditConfig.options["region_iou"]`` changes it)
----------------------------------------------------------------------------------------------
* a cited box is *supported* when it overlaps a known instance of its object (an offered
  region, ``metadata["objects"]``, or a detection of that object) with IoU >= the threshold;
  it is a *region hallucination* when it overlaps none of them that well, or when its object is
  known to be absent (the detector was asked and found none); *unverifiable* when nothing is
  known about its object;
* a cited region id that was never offered is *fabricated* (hallucinated); an offered region
  cited for an object it does not hold (``the dog [R2]`` where R2 is the flag) is hallucinated;
  a record without ``metadata["regions"]`` leaves ids unverifiable.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from halluscope.jsonblobs import json_blobs, walk_dicts

IOU_THRESHOLD = 0.5
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


@dataclass
class Truth:
    """What is known to be where: offered regions, annotated objects, detections."""

    regions: dict[str, dict[str, Any]] | None = None     # id -> {"box", "label"}
    objects: list[dict[str, Any]] = field(default_factory=list)   # {"label","box","source",...}
    absent: set[str] = field(default_factory=set)        # labels known not to be there
    absent_evidence: dict[str, Any] = field(default_factory=dict)  # label key -> Evidence
    size: tuple[int, int] | None = None

    def labels(self) -> list[str]:
        out = [o["label"] for o in self.objects if o.get("label")]
        if self.regions:
            out += [r["label"] for r in self.regions.values() if r.get("label")]
        return list(dict.fromkeys(out))


# -- labels ------------------------------------------------------------------------------------

def label_key(label: str | None) -> str | None:
    """Compare labels by singular form, and by COCO class when both have one."""
    if not label:
        return None
    from halluscope.evidence.detect_cocossd import singular
    return singular(re.sub(r"[^a-z0-9 ]+", " ", label.lower()).strip())


def same_object(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    ka, kb = label_key(a), label_key(b)
    if ka == kb:
        return True
    from halluscope.evidence.detect_cocossd import coco_node
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
    for data, offset, _ in json_blobs(text):
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
    if out:
        return out
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
        coords, box = _coords(raw, box_format, size)
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
    for data, offset, _ in json_blobs(text):
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
    if out:
        return out
    for m in _REGION.finditer(text):
        ids = m.group("a") or m.group("b") or m.group("c")
        label = _label_before(text, m.start(), known)
        for rid in re.findall(r"\d+", ids):
            out.append(CitedRegion(norm_region_id(rid), label, m.span()))
    return out


# -- truth and decisions -----------------------------------------------------------------------

def truth_from_metadata(metadata: dict[str, Any], size: tuple[int, int] | None = None) -> Truth:
    """Offered regions and annotated objects from a record's metadata."""
    regions = None
    if isinstance(metadata.get("regions"), list):
        regions = {}
        for r in metadata["regions"]:
            if isinstance(r, dict) and "id" in r:
                box = r.get("box") or r.get("bbox")
                regions[norm_region_id(r["id"])] = {
                    "id": r["id"], "label": r.get("label"),
                    "box": tuple(float(v) for v in box) if box and len(box) == 4 else None}
    objects = []
    for o in metadata.get("objects") or []:
        if isinstance(o, dict) and o.get("label"):
            box = o.get("box") or o.get("bbox")
            objects.append({"label": str(o["label"]), "source": "annotation",
                            "box": tuple(float(v) for v in box) if box and len(box) == 4
                            else None})
        elif isinstance(o, str):
            objects.append({"label": o, "source": "annotation", "box": None})
    absent = {label_key(a) for a in metadata.get("absent") or [] if isinstance(a, str)}
    return Truth(regions=regions, objects=objects, absent=absent, size=size)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    from halluscope.evidence.detect import iou as _iou
    return _iou(a, b)


def _candidates(truth: Truth, label: str | None) -> list[dict[str, Any]]:
    cands = [dict(o) for o in truth.objects if o.get("box") is not None]
    for rid, r in (truth.regions or {}).items():
        if r.get("box") is not None:
            cands.append({"label": r.get("label"), "box": r["box"], "source": "annotation",
                          "region": r["id"]})
    if label is None:
        return cands
    return [c for c in cands if same_object(c.get("label"), label)]


def _evidence(c: dict[str, Any], overlap: float | None = None):
    from halluscope.types import Evidence

    payload: dict[str, Any] = {}
    if overlap is not None:
        payload["iou"] = round(overlap, 4)
    if "region" in c:
        payload["region"] = c["region"]
    return Evidence(source=c.get("source", "annotation"), label=c.get("label"),
                    score=c.get("score"), box=tuple(c["box"]) if c.get("box") else None,
                    payload=payload)


def check_box(cited: CitedBox, truth: Truth, *, iou_threshold: float = IOU_THRESHOLD):
    """The verdict on one cited box (see the module docstring)."""
    from halluscope.types import Claim, Verdict

    claim = Claim(kind="region", subject=cited.label or "", value=list(cited.box or cited.raw),
                  span=cited.span, text=None)
    if cited.box is None:
        return Verdict(claim, "unverifiable", 0.0, (), f"normalised box {list(cited.raw)} and "
                       f"no image size to scale it", "region-box")
    cands = _candidates(truth, cited.label)
    if cands:
        scored = sorted(((iou(cited.box, c["box"]), c) for c in cands), key=lambda t: -t[0])
        best, c = scored[0]
        name = cited.label or c.get("label") or "an object"
        if best >= iou_threshold:
            return Verdict(claim, "supported", 1.0, (_evidence(c, best),),
                           f"matches the {c.get('label') or name} at "
                           f"{[round(v) for v in c['box']]} (IoU {best:.2f})", "region-box")
        return Verdict(claim, "hallucinated", 1.0, tuple(_evidence(x, o) for o, x in scored[:3]),
                       f"no {name} there: best IoU {best:.2f} < {iou_threshold}", "region-box")
    key = label_key(cited.label)
    if cited.label and key in truth.absent:
        ev = truth.absent_evidence.get(key)
        return Verdict(claim, "hallucinated", 1.0, (ev,) if ev is not None else (),
                       f"there is no {cited.label} in the image to box", "region-box")
    return Verdict(claim, "unverifiable", 0.0, (), f"nothing is known about where "
                   f"{cited.label or 'this object'} is", "region-box")


def check_region(cited: CitedRegion, truth: Truth):
    """The verdict on one cited region id."""
    from halluscope.types import Claim, Evidence, Verdict

    claim = Claim(kind="region", subject=cited.label or "", value=cited.id, span=cited.span)
    if truth.regions is None:
        return Verdict(claim, "unverifiable", 0.0, (), "the record does not say which regions "
                       "were offered", "region-id")
    offered = sorted(truth.regions, key=lambda s: (len(s), s))
    if cited.id not in truth.regions:
        ev = Evidence(source="annotation", payload={"offered": offered, "fabricated": True})
        return Verdict(claim, "hallucinated", 1.0, (ev,),
                       f"region {cited.id} was never offered (offered: "
                       f"{', '.join(offered) or 'none'})", "region-id")
    r = truth.regions[cited.id]
    c = {"label": r.get("label"), "box": r.get("box"), "source": "annotation",
         "region": r["id"]}
    if cited.label and r.get("label") and not same_object(cited.label, r["label"]) \
            and label_key(cited.label) in {label_key(x) for x in truth.labels()}:
        return Verdict(claim, "hallucinated", 1.0, (_evidence(c),),
                       f"region {cited.id} holds the {r['label']}, not the {cited.label}",
                       "region-id")
    return Verdict(claim, "supported", 1.0, (_evidence(c),),
                   f"region {cited.id} was offered" + (f" ({r['label']})" if r.get("label")
                                                       else ""), "region-id")
