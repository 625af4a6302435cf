"""Region checks: the boxes and region ids a response cites, checked against the image.

The citations are parsed by :func:`~halluscope.claims.citations.parse_cited_boxes` and
:func:`~halluscope.claims.citations.parse_cited_regions`.

Decisions (IoU threshold :data:`IOU_THRESHOLD`, 0.5, as in PASCAL VOC and RefCOCO's
accuracy@0.5; ``AuditConfig.options["region_iou"]`` changes it)
----------------------------------------------------------------------------------------------
* a cited box is *supported* when it overlaps a known instance of its object (an offered
  region, ``metadata["objects"]``, or a detection of that object) with IoU >= the threshold;
  it is a *region hallucination* when it overlaps none of them that well, or when its object is
  known to be absent (listed absent, the detector was asked and found none, or a closed-world
  annotation file such as COCO instances has the class and the image none); *unverifiable*
  when nothing is known about its object, and when its object could not be read from the
  response (such a box is never matched against whatever object it overlaps), and when it is
  *malformed*: corners swapped (``[300, 300, 100, 100]``, refused in the record's metadata
  too) or of zero area;
* a cited region id that was never offered is *fabricated* (hallucinated); an offered region
  cited for an object it does not hold is hallucinated when that is known (``the dog [R2]``
  where R2 is the cat: two COCO objects; or the dog is known elsewhere in the image), and
  unverifiable when it is not (``the dog [R2]`` where R2 is the flag, a word outside COCO's
  objects: the region is real, what it holds besides its label is not known); a record
  without ``metadata["regions"]`` leaves ids unverifiable; a mention that looks like a region
  id in a form the parser does not read is unverifiable too (listed, never dropped);
* offered ids that compare as one id (``1`` and ``"R1"``) make the record a bad record
  (``metadata.regions[i].id``): one would silently replace the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from halluscope.claims.citations import (CitedBox, CitedRegion, label_key, norm_region_id,
                                         same_object)
from halluscope.errors import RecordError
from halluscope.numbers import fixed, fixed_apart
from halluscope.types import Claim, Evidence, Verdict

IOU_THRESHOLD = 0.5


@dataclass
class Truth:
    """What is known to be where: offered regions, annotated objects, detections."""

    regions: dict[str, dict[str, Any]] | None = None     # id -> {"box", "label"}
    objects: list[dict[str, Any]] = field(default_factory=list)   # {"label","box","source",...}
    absent: set[str] = field(default_factory=set)        # labels known not to be there
    absent_evidence: dict[str, Any] = field(default_factory=dict)  # label key -> Evidence
    size: tuple[int, int] | None = None
    #: the label keys of the known instances, made once (see :func:`_index`)
    _index: Any = field(default=None, repr=False, compare=False)

    def labels(self) -> list[str]:
        out = [o["label"] for o in self.objects if o.get("label")]
        if self.regions:
            out += [r["label"] for r in self.regions.values() if r.get("label")]
        return list(dict.fromkeys(out))


def truth_from_metadata(metadata: dict[str, Any], size: tuple[int, int] | None = None) -> Truth:
    """Offered regions and annotated objects from a record's metadata."""
    regions = None
    offered = metadata.get("regions")
    if offered is not None and not isinstance(offered, list):
        # a dict or a string of regions made every cited id unverifiable without a word
        raise RecordError(f"expected the offered regions as a list of {{'id', 'box', "
                          f"'label'}}, got {type(offered).__name__}", field="metadata.regions")
    if isinstance(offered, list):
        regions, first = {}, {}
        for i, r in enumerate(offered):
            if not isinstance(r, dict) or not isinstance(r.get("id"), (str, int)) \
                    or isinstance(r.get("id"), bool):
                # an entry without its id was dropped: a right citation counted as fabricated
                raise RecordError(f"expected an offered region with an 'id', got {r!r:.80}",
                                  field=f"metadata.regions[{i}].id")
            key = norm_region_id(r["id"])
            if key in regions:
                # ids 1 and "R1" are one id: the later entry replaced the earlier in silence
                # and a right citation was judged against the other region's object
                raise RecordError(
                    f"expected distinct region ids, got {r['id']!r}, the same id as "
                    f"{regions[key]['id']!r} (regions[{first[key]}]): ids compare without case, "
                    f"leading zeros or an R/region prefix before a number",
                    field=f"metadata.regions[{i}].id")
            label = r.get("label")
            if label is not None and not isinstance(label, str):
                # a list label stopped the audit (unhashable), a number named no object
                raise RecordError(f"expected an offered region's label as text, got "
                                  f"{label!r:.80}", field=f"metadata.regions[{i}].label")
            first[key] = i
            regions[key] = {
                "id": r["id"], "label": label,
                "box": _truth_box(r.get("box") or r.get("bbox"), f"regions[{i}].box", size)}
    objects = _truth_objects(metadata.get("objects"), size)
    return Truth(regions=regions, objects=objects, absent=_absent(metadata.get("absent")),
                 size=size)


def _absent(given: Any) -> set[str]:
    """The labels a record says are not in the image: a list of labels. A number stopped the
    audit, a text was read letter by letter, a non-text entry was dropped in silence: a bad
    record naming the field."""
    if given is None:
        return set()
    if not isinstance(given, list):
        raise RecordError(f"expected the absent objects as a list of labels, got "
                          f"{given!r:.80}", field="metadata.absent")
    for i, a in enumerate(given):
        if not isinstance(a, str):
            raise RecordError(f"expected a label, got {a!r:.80}", field=f"metadata.absent[{i}]")
    return {label_key(a) for a in given if a.strip()} - {None}


def _truth_objects(given: Any, size: tuple[int, int] | None) -> list[dict[str, Any]]:
    """The record's annotated objects (``{"label", "box"}`` or a bare label). An entry that is
    neither (``{"name": "cat"}``, a number) was dropped in silence, and a right citation of its
    object was unverifiable or hallucinated: a bad record naming the entry."""
    if given is not None and not isinstance(given, list):
        # a text was read letter by letter (objects c, a and t), a mapping by its keys
        raise RecordError(f"expected the objects as a list of {{'label', 'box'}} or labels, got "
                          f"{given!r:.80}", field="metadata.objects")
    objects = []
    for i, o in enumerate(given or []):
        if isinstance(o, dict) and isinstance(o.get("label"), str) and o["label"].strip():
            objects.append({"label": o["label"], "source": "annotation",
                            "box": _truth_box(o.get("box") or o.get("bbox"),
                                              f"objects[{i}].box", size)})
        elif isinstance(o, str) and o.strip():
            objects.append({"label": o, "source": "annotation", "box": None})
        else:
            raise RecordError(f"expected an object {{'label': ..., 'box': [x1, y1, x2, y2]}} "
                              f"or a label, got {o!r:.80}", field=f"metadata.objects[{i}]")
    return objects


def _truth_box(box: Any, field: str, size: tuple[int, int] | None = None
               ) -> tuple[float, ...] | None:
    """A ground-truth box of the record's metadata as ``[x1, y1, x2, y2]``: four finite numbers
    with ``x2 > x1`` and ``y2 > y1``, as annotation files are read (there, a box of no area is
    allowed; here it is a placeholder no cited box can match); ``None`` when there is none. A bad
    record naming the field when it is not: a NaN, inverted or ``[0, 0, 0, 0]`` box made a right
    citation hallucinated; three numbers or a text box was dropped in silence (unverifiable); a
    null or text coordinate stopped the whole run."""
    if box is None:
        return None
    from halluscope.claims.citations import finite_box
    values = finite_box(box)
    if values is None:
        raise RecordError(f"expected a box [x1, y1, x2, y2] of four finite numbers, got "
                          f"{box!r:.80}", field=f"metadata.{field}")
    if not (values[2] > values[0] and values[3] > values[1]):
        raise RecordError(f"expected a box [x1, y1, x2, y2] with x2 > x1 and y2 > y1 (an "
                          f"area), got {list(box)!r:.80}", field=f"metadata.{field}")
    outside = _outside(values, size)
    if outside:
        # a truth box in other coordinates than the image's made a right citation
        # hallucinated (IoU 0.10 against [9, 0, 408, 2970] on a 451 x 300 image)
        raise RecordError(f"expected a box inside the {size[0]}x{size[1]} image, got "
                          f"{list(box)!r:.80}: {outside} (metadata.image_size gives the size "
                          f"the boxes are in)", field=f"metadata.{field}")
    return tuple(values)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    from halluscope.evidence.detect import iou as _iou
    return _iou(a, b)


@dataclass
class _Index:
    """A truth's instances with boxes and their label keys, made once per record: comparing
    every cited box's label with every instance's, both keys made again each time, took 77 s
    for 3,000 boxes against 3,000 regions. ``stamp`` says which truth it was made of (objects
    and detections are added after the truth is first made)."""

    stamp: tuple[int, int, int, int]
    cands: list[dict[str, Any]]
    by_key: dict[str, list[int]]          # label key -> candidates with it
    by_node: dict[Any, list[int]]         # COCO class -> candidates of it
    known_keys: set[str | None]           # the keys of every known label


def _index(truth: Truth) -> _Index:
    """The truth's :class:`_Index`, made again only when its objects or regions changed."""
    stamp = (id(truth.objects), len(truth.objects), id(truth.regions), len(truth.regions or ()))
    if truth._index is not None and truth._index.stamp == stamp:
        return truth._index
    from halluscope.claims.coco import coco_node
    cands = [o for o in truth.objects if o.get("box") is not None]
    for r in (truth.regions or {}).values():
        if r.get("box") is not None:
            cands.append({"label": r.get("label"), "box": r["box"], "source": "annotation",
                          "region": r["id"]})
    by_key: dict[str, list[int]] = {}
    by_node: dict[Any, list[int]] = {}
    keys: dict[str, tuple[str | None, Any]] = {}
    for i, c in enumerate(cands):
        lab = c.get("label")
        if not lab:                         # same_object: an unlabelled instance is no match
            continue
        if lab not in keys:
            k = label_key(lab)
            keys[lab] = (k, coco_node(k))
        k, node = keys[lab]
        if k is None:                       # no letter or digit: the same object as none
            continue
        by_key.setdefault(k, []).append(i)
        if node is not None:
            by_node.setdefault(node, []).append(i)
    truth._index = _Index(stamp, cands, by_key, by_node,
                          {label_key(x) for x in truth.labels()} - {None})
    return truth._index


def _known_keys(truth: Truth) -> set[str | None]:
    """The label keys of every label the truth knows (see :meth:`Truth.labels`)."""
    return _index(truth).known_keys


def _candidates(truth: Truth, label: str | None) -> list[dict[str, Any]]:
    """The known instances of ``label`` with boxes (each a copy; those of the same object,
    as :func:`~halluscope.claims.citations.same_object` says, in the truth's order); none for a
    box whose object could not be read (it was supported by whatever object it overlapped:
    ``At [box] there is a cat`` on the dog's box matched the dog)."""
    index = _index(truth)
    return [dict(index.cands[i]) for i in instances_of(truth, label)]


def known_instances(truth: Truth) -> list[dict[str, Any]]:
    """The truth's known instances with boxes (objects, then offered regions as instances with
    ``source`` ``annotation`` and their ``region`` id), in order; the index's own list, not
    copies: read them, do not change them."""
    return _index(truth).cands


def instances_of(truth: Truth, label: str | None) -> list[int]:
    """Where in :func:`known_instances` the instances of ``label``'s object are (as
    :func:`~halluscope.claims.citations.same_object` says, ascending), from the record's label
    index: the same list for any two labels of the same object; none for no label."""
    if not label:
        return []
    from halluscope.claims.coco import coco_node
    index = _index(truth)
    key = label_key(label)
    if key is None:
        return []
    node = coco_node(key)
    hits = index.by_key.get(key, [])
    if node is not None and node in index.by_node:
        hits = sorted(set(hits) | set(index.by_node[node]))
    return list(hits)


def _evidence(c: dict[str, Any], overlap: float | None = None):
    payload: dict[str, Any] = {}
    if overlap is not None:
        payload["iou"] = round(overlap, 4)
    if "region" in c:
        payload["region"] = c["region"]
    return Evidence(source=c.get("source", "annotation"), label=c.get("label"),
                    score=c.get("score"), box=tuple(c["box"]) if c.get("box") else None,
                    payload=payload)


def _outside(box: Sequence[float], size: tuple[int, int] | None) -> str | None:
    """How ``box`` (pixels) leaves an image of ``size`` (width, height), beyond a pixel or 1%
    of rounding; ``None`` when it lies inside or the size is unknown."""
    if not size:
        return None
    width, height = size
    x1, y1, x2, y2 = box
    from halluscope.claims.citations import edge_slack
    tol_x, tol_y = edge_slack(width), edge_slack(height)
    if min(x1, x2) < -tol_x or min(y1, y2) < -tol_y:
        return "it starts left of or above the image"
    if max(x1, x2) > width + tol_x or max(y1, y2) > height + tol_y:
        return f"it reaches past the {width}x{height} image"
    return None


def check_box(cited: CitedBox, truth: Truth, *, iou_threshold: float = IOU_THRESHOLD):
    """The verdict on one cited box (see the module docstring)."""
    claim = Claim(kind="region", subject=cited.label or "", value=list(cited.box or cited.raw),
                  span=cited.span, text=cited.label_written)
    malformed = cited.malformed
    if malformed:      # refused as a box of the record's metadata is; counted by the metric
        return Verdict(claim, "unverifiable", None, (), malformed[1], "region-box")
    if cited.coords == "unread":       # listed, not dropped: the record cites a box
        expected = ("four whole numbers from 0 to 100 per box, {<x1><y1><x2><y2>}"
                    if cited.format == "minigpt" else "four finite numbers [x1, y1, x2, y2]")
        return Verdict(claim, "unverifiable", None, (), f"a box written in a form that is not "
                       f"read: {cited.written} (expected {expected})", "region-box")
    if cited.box is None:
        return Verdict(claim, "unverifiable", None, (), f"normalised box {list(cited.raw)} and "
                       f"no image size to scale it", "region-box")
    outside = _outside(cited.box, truth.size)
    if outside:
        return Verdict(claim, "hallucinated", 1.0, (), f"the box {[round(v) for v in cited.box]} "
                       f"is not in the image: {outside}", "region-box")
    cands = _candidates(truth, cited.label)
    if cands:
        scored = sorted(((iou(cited.box, c["box"]), c) for c in cands), key=lambda t: -t[0])
        best, c = scored[0]
        name = cited.label or c.get("label") or "an object"
        if best >= iou_threshold:
            return Verdict(claim, "supported", 1.0, (_evidence(c, best),),
                           f"matches the {c.get('label') or name} at "
                           f"{[round(v) for v in c['box']]} (IoU {fixed(best, 2)})", "region-box")
        return Verdict(claim, "hallucinated", 1.0, tuple(_evidence(x, o) for o, x in scored[:3]),
                       f"no {name} there: best IoU {fixed_apart(best, iou_threshold, digits=2)} "
                       f"< {iou_threshold:g}", "region-box")
    key = label_key(cited.label)
    if cited.label and key in truth.absent:
        ev = truth.absent_evidence.get(key)
        return Verdict(claim, "hallucinated", 1.0, (ev,) if ev is not None else (),
                       f"there is no {cited.label} in the image to box", "region-box")
    if not cited.label:
        return Verdict(claim, "unverifiable", None, (), "the object this box is about could not "
                       "be read from the response", "region-box")
    return Verdict(claim, "unverifiable", None, (), f"nothing is known about where "
                   f"{cited.label} is", "region-box")


def _both_coco(a: str, b: str) -> bool:
    """Whether both words name COCO objects (then unequal ones are different objects)."""
    from halluscope.claims.coco import coco_node
    return coco_node(label_key(a)) is not None and coco_node(label_key(b)) is not None


def check_region(cited: CitedRegion, truth: Truth):
    """The verdict on one cited region id."""
    claim = Claim(kind="region", subject=cited.label or "", value=cited.id, span=cited.span,
                  text=cited.label_written)
    if cited.unread:        # an unread citation is not scored as nothing: it is listed
        return Verdict(claim, "unverifiable", None, (), f"{cited.id!r} looks like a region id "
                       f"in a form that is not read (write [R1, R2], region 3 or regions "
                       f"1-4)", "region-id")
    if truth.regions is None:
        return Verdict(claim, "unverifiable", None, (), "the record does not say which regions "
                       "were offered", "region-id")
    if cited.id not in truth.regions:         # the offered ids sorted only where they are said
        offered = sorted(truth.regions, key=lambda s: (len(s), s))
        ev = Evidence(source="annotation", payload={"offered": offered, "fabricated": True})
        return Verdict(claim, "hallucinated", 1.0, (ev,),
                       f"region {cited.id} was never offered (offered: "
                       f"{', '.join(offered) or 'none'})", "region-id")
    r = truth.regions[cited.id]
    c = {"label": r.get("label"), "box": r.get("box"), "source": "annotation",
         "region": r["id"]}
    if cited.label and r.get("label") and not same_object(cited.label, r["label"]):
        if label_key(cited.label) in _known_keys(truth) \
                or _both_coco(cited.label, r["label"]):
            return Verdict(claim, "hallucinated", 1.0, (_evidence(c),),
                           f"region {cited.id} holds the {r['label']}, not the {cited.label}",
                           "region-id")
        # a word the truth does not know ("dog" for the flag's region): the region is real,
        # whether it holds that is not known; it counted as supported
        return Verdict(claim, "unverifiable", None, (_evidence(c),),
                       f"region {cited.id} was offered as the {r['label']}; whether it holds "
                       f"the {cited.label} is not known", "region-id")
    return Verdict(claim, "supported", 1.0, (_evidence(c),),
                   f"region {cited.id} was offered" + (f" ({r['label']})" if r.get("label")
                                                       else ""), "region-id")
