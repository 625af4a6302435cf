"""Annotation files read into :class:`~halluscope.types.ImageFacts`.

Four formats, told apart by their shape (:func:`load_annotations`):

**COCO instances** (``instances_val2014.json``; read with pycocotools): every instance with its
box (``[x, y, w, h]`` becomes ``[x1, y1, x2, y2]``), closed world over the 80 categories (COCO
annotates every instance of every category), keys: the image id and the file name.

**AMBER** (``annotations.json`` with its ``query/``, ``relation.json``): see
:mod:`halluscope.evidence.amber`.

**Visual Genome style** (``scene_graphs.json``, ``objects.json``, ``attributes.json``): a list of
``{"image_id", "objects": [{"object_id", "x", "y", "w", "h", "names": [...],
"attributes": [...]}], "relationships": [{"subject_id", "object_id", "predicate"}]}``
(``relationships`` may also hold ``subject``/``object`` objects; ``attributes.json`` puts the
objects under ``"attributes"``). Open world. Objects with empty ``names`` and relationships to a
missing or unnamed object or without a predicate give no fact: they are counted, said in a
warning with examples and recorded in :meth:`AnnotationSource.describe` (``skipped``).

**halluscope's simple format** (also in ``docs/annotations.md``)::

    {"images": {
       "<image key>": {
          "size": [640, 480],
          "objects": [{"label": "dog", "box": [10, 20, 200, 220], "attributes": ["brown"]},
                      {"label": "sofa", "box": [0, 100, 640, 480], "attributes": ["red"]}],
          "relations": [["dog", "on", "sofa"]],
          "absent": ["car"],
          "closed_world": false}}}

The image key is a COCO id (``"139"``), an image file name (``"dog.jpg"``) or a record id.
``box`` is ``[x1, y1, x2, y2]`` in pixels and optional; ``attributes``, ``relations``,
``absent``, ``size`` are optional. With ``"closed_world": true`` every label the file uses
anywhere (or those listed in a top-level ``"vocabulary"``) that is not among an image's objects
counts as absent from it. Every instance of a label an image annotates with boxes is taken to be
annotated (so its count is known, as for each category of a COCO image) unless the file or the
image says ``"exhaustive_counts": false`` or lists the label in ``"not_exhaustive"`` (as LVIS
does). The labels the file uses count as vocabulary for the claim splitter
(:meth:`AnnotationSource.labels`). Booleans must be JSON booleans; an unknown image key, a near
miss of a known key (``bbox``), a label both present and absent and a box outside ``size`` are
usage errors naming the file and image.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError
from halluscope.types import ImageFacts, Instance

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_SOURCES: dict[tuple[str, float], "AnnotationSource"] = {}


class AnnotationSource:
    """Facts for the images of one annotation file, looked up by image key."""

    kind = "annotations"
    vocabulary: frozenset[str] = frozenset()
    #: Entries of the file that gave no fact, by reason: count and examples (Visual Genome).
    skipped: dict[str, dict[str, Any]] | None = None

    def __init__(self, path: Path, facts: dict[str, ImageFacts], aliases: dict[str, str] | None
                 = None):
        self.path = path
        self._facts = facts
        self._aliases = aliases or {}
        self.name = f"{self.kind}:{path.name}"

    def get(self, key: str) -> ImageFacts | None:
        key = str(key)
        f = self._facts.get(key)
        if f is None and key in self._aliases:
            f = self._facts.get(self._aliases[key])
        return f

    def __len__(self) -> int:
        return len(self._facts)

    def labels(self) -> frozenset[str]:
        """The object names this file's annotators chose (its vocabulary, when it is one a
        claim splitter should learn: halluscope's simple format; empty for COCO, whose 80
        names the splitter knows, and for Visual Genome's open-ended names)."""
        return self.vocabulary if self.kind == "halluscope-json" else frozenset()

    def describe(self) -> dict[str, Any]:
        out = {"kind": self.kind, "file": str(self.path), "images": len(self)}
        if self.skipped is not None:         # what the file holds that gave no fact
            out["skipped"] = self.skipped
        return out


def _box_xywh(b) -> tuple[float, float, float, float] | None:
    if not b or len(b) != 4:
        return None
    x, y, w, h = (float(v) for v in b)
    return (x, y, x + w, y + h)


def _coco_id(value: Any, path: Path, where: str) -> Any:
    """``value`` when it can be an id (a number or a string); a usage error otherwise: an id
    that is a list or an object ended the audit as an internal error (unhashable)."""
    if not isinstance(value, (int, float, str)):
        raise ConfigError(f"{path}: {where}: expected an id (a number or a string), got "
                          f"{value!r:.80}")
    return value


def check_coco(data: Any, path: Path) -> None:
    """A usage error naming the first entry of a COCO annotation file that pycocotools would
    fail on (an annotation without ``id``, ``image_id`` or ``category_id``, a category
    without ``id``/``name``, an image without ``id``, an annotation of an unknown category)."""
    cats = set()
    for i, cat in enumerate(data.get("categories") or []):
        if not isinstance(cat, dict) or "id" not in cat or "name" not in cat:
            raise ConfigError(f"{path}: categories[{i}]: expected an object with 'id' and "
                              f"'name', got {cat!r:.80}")
        cats.add(_coco_id(cat["id"], path, f"categories[{i}].id"))
    images: dict[Any, int] = {}
    for i, img in enumerate(data.get("images") or []):
        if not isinstance(img, dict) or "id" not in img:
            raise ConfigError(f"{path}: images[{i}]: expected an object with 'id', got "
                              f"{img!r:.80}")
        if _coco_id(img["id"], path, f"images[{i}].id") in images:
            # pycocotools kept the later entry in silence: another file name, another size
            raise ConfigError(f"{path}: images[{i}]: expected distinct image ids, got id "
                              f"{img['id']!r} again (images[{images[img['id']]}])")
        images[img["id"]] = i
    for i, ann in enumerate(data.get("annotations") or []):
        if not isinstance(ann, dict) or not {"id", "image_id"} <= set(ann):
            raise ConfigError(f"{path}: annotations[{i}]: expected an object with 'id' and "
                              f"'image_id', got {ann!r:.80}")
        _coco_id(ann["image_id"], path, f"annotations[{i}].image_id")
        if "category_id" in ann and cats and _coco_id(
                ann["category_id"], path, f"annotations[{i}].category_id") not in cats:
            raise ConfigError(f"{path}: annotations[{i}]: category_id {ann['category_id']!r} "
                              f"is not in 'categories'")
        if images and ann["image_id"] not in images:
            # dropped in silence, so its object was absent from the image it belongs to
            raise ConfigError(f"{path}: annotations[{i}]: image_id {ann['image_id']!r} is not "
                              f"in 'images'")
        if ann.get("iscrowd", 0) not in (0, 1):      # True/False compare equal to 1/0
            raise ConfigError(f"{path}: annotations[{i}]: expected iscrowd 0 or 1, got "
                              f"{ann['iscrowd']!r:.40}")
        bbox = ann.get("bbox")
        if bbox is not None and not (isinstance(bbox, list) and len(bbox) == 4
                                     and all(map(_number, bbox))):
            raise ConfigError(f"{path}: annotations[{i}]: expected bbox [x, y, width, height] "
                              f"as finite numbers, got {bbox!r:.80}")
        if bbox is not None and (bbox[2] < 0 or bbox[3] < 0):
            # [x, y, -w, h] became a box with x2 < x1, taken as an instance by every check
            raise ConfigError(f"{path}: annotations[{i}]: expected bbox [x, y, width, height] "
                              f"with width and height >= 0, got {bbox!r:.80}")


class CocoSource(AnnotationSource):
    """COCO instance annotations through pycocotools."""

    kind = "coco"

    def __init__(self, path: Path, data: dict):
        try:
            from pycocotools.coco import COCO
        except ImportError as exc:  # pragma: no cover - a core dependency
            from halluscope.errors import MissingExtraError
            raise MissingExtraError("reading COCO annotations", "coco", "pycocotools") from exc
        check_coco(data, path)
        self.coco = COCO()
        self.coco.dataset = data
        with contextlib.redirect_stdout(io.StringIO()):     # pycocotools prints progress
            self.coco.createIndex()
        cats = {c["id"]: c["name"] for c in self.coco.loadCats(self.coco.getCatIds())}
        self.vocabulary = frozenset(cats.values())
        self.categories = cats
        aliases = {}
        for img in self.coco.dataset.get("images", []):
            if img.get("file_name"):
                aliases[img["file_name"]] = str(img["id"])
        super().__init__(path, {}, aliases)
        # each image's id as the file writes it (a number or a string: check_coco takes
        # both), by its text; int(key) failed on every record of a file with string ids
        self._known = {str(i): i for i in self.coco.getImgIds()}

    def get(self, key: str) -> ImageFacts | None:
        key = self._aliases.get(str(key), str(key))
        if key not in self._known:
            return None
        f = self._facts.get(key)
        if f is None:
            image_id = self._known[key]
            img = self.coco.loadImgs([image_id])[0]     # (a bare string would be iterated)
            anns = self.coco.loadAnns(self.coco.getAnnIds(imgIds=[image_id], iscrowd=None))
            instances = []
            for a in anns:
                payload = {"annotation_id": a.get("id")}
                if a.get("iscrowd"):
                    payload["crowd"] = True
                instances.append(Instance(label=self.categories[a["category_id"]],
                                          box=_box_xywh(a.get("bbox")), source="annotation",
                                          payload=payload))
            size = (img["width"], img["height"]) if "width" in img else None
            f = ImageFacts(key=key, instances=tuple(instances), vocabulary=self.vocabulary,
                           closed_world=True, size=size,
                           provenance={"source": "annotation", "name": "coco", "file": str(
                               self.path), "file_name": img.get("file_name")})
            self._facts[key] = f
        return f

    def __len__(self) -> int:
        return len(self._known)


def _strings(value: Any, where: str, what: str) -> list[str]:
    """A list of strings (labels, attributes), or a usage error naming the field: a string
    where a list belongs was read letter by letter ("red" as "r", "e", "d")."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected {what} as a list of strings, got {value!r:.60}")
    return [v.strip() for v in value]


def _flag(obj: dict[str, Any], key: str, where: str, default: bool) -> bool:
    """A JSON boolean field, or a usage error: ``bool("false")`` is true, so a quoted
    ``"false"`` read that way closed the world it meant to leave open."""
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected {key} true or false, got {value!r:.60}")
    return value


def _number(v: Any) -> bool:
    """Whether ``v`` is a finite number (not a boolean; a 400-digit integer is not finite)."""
    try:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    except OverflowError:
        return False


def _simple_box(box: Any, where: str) -> tuple[float, ...] | None:
    """``[x1, y1, x2, y2]`` as finite numbers, or a usage error naming the object."""
    if box is None:
        return None
    from halluscope.claims.citations import finite_box
    values = finite_box(box)        # a 400-digit integer is no finite number either
    if values is None or values[2] < values[0] or values[3] < values[1]:
        raise ConfigError(f"{where}: expected box [x1, y1, x2, y2] as finite numbers with "
                          f"x2 >= x1 and y2 >= y1, got {box!r:.80}")
    return tuple(values)


#: The keys of halluscope's simple format, at the top, per image and per object (an object may
#: carry more, kept as its payload, and the file notes such as "description", except a near
#: miss of a known key: "bbox" for "box").
TOP_KEYS = ("images", "vocabulary", "closed_world", "exhaustive_counts", "not_exhaustive")
IMAGE_KEYS = ("size", "objects", "relations", "absent", "closed_world", "exhaustive_counts",
              "not_exhaustive")
OBJECT_KEYS = ("label", "box", "attributes", "absent_attributes", "count", "not_counts",
               "crowd")


def _check_keys(obj: dict[str, Any], known: tuple[str, ...], where: str, strict: bool) -> None:
    """A usage error for a key of ``obj`` that is not ``known`` (``strict``) or is a near miss
    of a known one: a typo such as ``absnet`` was silently ignored."""
    import difflib
    for key in obj:
        if key in known or not isinstance(key, str):
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if strict or close:
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: unknown key {key!r}, expected one of "
                              f"{', '.join(known)}{hint}")


def _inside(box: tuple[float, ...] | None, size: Any, where: str) -> None:
    """A usage error for a box outside the image's ``size`` (one pixel of slack for
    rounding)."""
    if box is None or size is None:
        return
    w, h = size
    if box[0] < -1 or box[1] < -1 or box[2] > w + 1 or box[3] > h + 1:
        raise ConfigError(f"{where}: expected a box inside the image's size {list(size)}, got "
                          f"{list(box)}")


def _in_pixels(boxes: list[tuple[float, ...]], where: str) -> None:
    """A usage error for an image whose boxes are all fractions of it (every coordinate in
    [0, 1], some not whole): they were read as sub-pixel boxes in its top-left corner."""
    values = [v for b in boxes for v in b]
    if values and all(0 <= v <= 1 for v in values) and any(v != int(v) for v in values):
        raise ConfigError(f"{where}: expected boxes in pixels, got {list(boxes[0])} and every "
                          f"other box within [0, 1]: fractions of the image (multiply by its "
                          f"width and height)")


def _simple_instances(entry: dict[str, Any], where: str) -> list[Instance]:
    objects = entry.get("objects", ())
    if not isinstance(objects, (list, tuple)):
        raise ConfigError(f"{where}: expected 'objects' as a list, got {objects!r:.60}")
    out = []
    for i, o in enumerate(objects):
        at = f"{where}: objects[{i}]"
        if not isinstance(o, dict) or not isinstance(o.get("label"), str) or \
                not o["label"].strip():
            raise ConfigError(f"{at}: expected {{'label': ...}}, got {o!r:.60}")
        _check_keys(o, OBJECT_KEYS, at, strict=False)
        if "crowd" in o:
            _flag(o, "crowd", at, False)
        out.append(Instance(label=o["label"].strip(), box=_simple_box(o.get("box"), at),
                            source="annotation",
                            attributes=tuple(_strings(o.get("attributes"), at, "attributes")),
                            payload={k: v for k, v in o.items()
                                     if k not in ("label", "box", "attributes")}))
    return out


def _simple_facts(key: str, entry: Any, path: Path, data: dict[str, Any],
                  vocabulary: frozenset[str] | None) -> ImageFacts:
    where = f"{path}: image {key!r}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected an object, got {type(entry).__name__}")
    _check_keys(entry, IMAGE_KEYS, where, strict=True)
    instances = _simple_instances(entry, where)
    rels = set()
    for r in entry.get("relations", ()):
        if not isinstance(r, (list, tuple)) or len(r) != 3:
            raise ConfigError(f"{where}: expected relations as [subject, relation, object], "
                              f"got {r!r:.60}")
        rels.add(tuple(str(x).strip() for x in r))
    closed = _flag(entry, "closed_world", where, _flag(data, "closed_world", str(path), False))
    size = entry.get("size")
    if size is not None and not (isinstance(size, (list, tuple)) and len(size) == 2
                                 and all(_number(v) and v > 0 for v in size)):
        raise ConfigError(f"{where}: expected size [width, height] in pixels, got {size!r:.60}")
    for i, inst in enumerate(instances):
        _inside(inst.box, size, f"{where}: objects[{i}]")
    _in_pixels([inst.box for inst in instances if inst.box is not None], where)
    absent = frozenset(_strings(entry.get("absent"), where, "absent"))
    both = sorted(absent & {i.label for i in instances})
    if both:
        raise ConfigError(f"{where}: expected a label either among 'objects' or in 'absent', "
                          f"got {both[0]!r} in both")
    prov: dict[str, Any] = {"source": "annotation", "name": "halluscope-json", "file": str(path),
                            "exhaustive_counts": _flag(entry, "exhaustive_counts", where, _flag(
                                data, "exhaustive_counts", str(path), True))}
    # the file's own list (top level) applies to every image, as exhaustive_counts does
    partial = (_strings(entry.get("not_exhaustive"), where, "not_exhaustive")
               + _strings(data.get("not_exhaustive"), str(path), "not_exhaustive"))
    if partial:
        prov["not_exhaustive"] = sorted(partial)
    return ImageFacts(
        key=key, instances=tuple(instances),
        absent=absent,
        vocabulary=vocabulary if closed or data.get("vocabulary") else None,
        closed_world=closed, relations=frozenset(rels),
        size=tuple(size) if size else None, provenance=prov)


def _from_simple(path: Path, data: dict[str, Any]) -> AnnotationSource:
    images = data.get("images")
    if not isinstance(images, dict):
        raise ConfigError(f"{path}: expected 'images' to map image keys to objects")
    _check_keys(data, TOP_KEYS, str(path), strict=False)   # "description" and such
    # every label the file uses, and those its top-level vocabulary lists: a vocabulary that
    # left out a label the file annotates made that object unknown ("outside the vocabulary")
    all_labels = set(_strings(data.get("vocabulary"), str(path), "vocabulary"))
    for entry in images.values():
        if isinstance(entry, dict) and isinstance(entry.get("objects"), (list, tuple)):
            all_labels.update(str(o.get("label", "")).strip() for o in entry["objects"]
                              if isinstance(o, dict))
        if isinstance(entry, dict) and isinstance(entry.get("absent"), (list, tuple)):
            all_labels.update(str(a).strip() for a in entry["absent"])
    all_labels.discard("")
    vocabulary = frozenset(all_labels)
    facts = {str(key): _simple_facts(str(key), entry, path, data, vocabulary)
             for key, entry in images.items()}
    src = AnnotationSource(path, facts)
    src.vocabulary = vocabulary
    src.kind = "halluscope-json"
    src.name = f"halluscope-json:{path.name}"
    return src


def _vg_names(o: dict[str, Any], where: str = "") -> str | None:
    names = o.get("names") or ([o["name"]] if o.get("name") else [])
    if isinstance(names, str):      # read as its first letter: "cup" was "c"
        raise ConfigError(f"{where}: expected 'names' as a list of strings, got {names!r:.60}")
    return str(names[0]).strip().lower() if names else None


def _vg_box(o: dict[str, Any], where: str) -> tuple[float, float, float, float] | None:
    have = [k for k in ("x", "y", "w", "h") if k in o]
    if not have:
        return None
    if len(have) < 4:       # the box was silently dropped
        missing = [k for k in ("x", "y", "w", "h") if k not in o]
        raise ConfigError(f"{where}: expected a box as x, y, w and h, got {', '.join(have)} "
                          f"without {', '.join(missing)}")
    if not all(_number(o[k]) for k in ("x", "y", "w", "h")) or o["w"] < 0 or o["h"] < 0:
        raise ConfigError(f"{where}: expected x, y, w, h as finite numbers (w, h >= 0), got "
                          f"{[o[k] for k in ('x', 'y', 'w', 'h')]!r:.80}")
    return (float(o["x"]), float(o["y"]), float(o["x"]) + float(o["w"]),
            float(o["y"]) + float(o["h"]))


#: What a Visual Genome file may hold that gives no fact, counted and said when skipped.
_VG_SKIPS = {
    "objects_without_names": "objects with empty 'names'",
    "relationships_to_missing_objects": "relationships naming an object id the image lacks",
    "relationships_to_unnamed_objects": "relationships naming an object without a name",
    "relationships_without_predicate": "relationships without a predicate",
}
_VG_EXAMPLES = 3


def _from_visual_genome(path: Path, data: list[dict[str, Any]]) -> AnnotationSource:
    facts = {}
    aliases = {}
    skipped: dict[str, list[str]] = defaultdict(list)
    for entry in data:
        key = str(entry.get("image_id", entry.get("id")))
        if key in facts:        # the later entry replaced the earlier: its objects vanished
            raise ConfigError(f"{path}: image {key}: expected one entry per image, got a "
                              f"second one")
        by_id: dict[Any, str] = {}
        unnamed: set[Any] = set()
        instances = []
        # attributes.json lists the objects (with their attributes) under "attributes"
        field = "objects" if "objects" in entry else "attributes"
        for i, o in enumerate(entry.get(field) or ()):
            where = f"{path}: image {key}: {field}[{i}]"
            if not isinstance(o, dict):
                raise ConfigError(f"{where}: expected an object with 'names', got {o!r:.60}")
            label = _vg_names(o, where)
            oid = o.get("object_id", o.get("id"))
            if oid is not None:
                _coco_id(oid, path, f"image {key}: {field}[{i}].object_id")
            if not label:
                unnamed.add(oid)
                skipped["objects_without_names"].append(f"image {key} {field}[{i}]")
                continue
            by_id[oid] = label
            instances.append(Instance(label=label, box=_vg_box(o, where), source="annotation",
                                      attributes=tuple(a.lower() for a in _strings(
                                          o.get("attributes"), where, "attributes"))))
        rels = set()
        for i, r in enumerate(entry.get("relationships", ())):
            ends = _vg_ends(r, by_id, f"{path}: image {key}: relationships[{i}]")
            if all(ends) and r.get("predicate"):
                rels.add((ends[0], str(r["predicate"]).strip().lower(), ends[1]))
            else:
                reason, example = _vg_relationship_skip(r, ends, unnamed)
                skipped[reason].append(f"image {key} relationships[{i}]{example}")
        facts[key] = ImageFacts(key=key, instances=tuple(instances), relations=frozenset(rels),
                                provenance={"source": "annotation", "name": "visual-genome",
                                            "file": str(path)})
        if entry.get("url"):
            aliases[str(entry["url"]).rsplit("/", 1)[-1]] = key
    src = AnnotationSource(path, facts, aliases)
    src.kind = "visual-genome"
    src.name = f"visual-genome:{path.name}"
    src.skipped = {reason: {"count": len(where), "examples": where[:_VG_EXAMPLES]}
                   for reason, where in skipped.items()}
    for reason, info in src.skipped.items():
        log.warning("%s: skipped %d %s (not facts; e.g. %s)", path, info["count"],
                    _VG_SKIPS[reason], "; ".join(info["examples"]))
    return src


def _vg_ends(r: Any, by_id: dict[Any, str], where: str) -> list[str | None]:
    """The names of a relationship's subject and object (by id, else as an object written in
    it). A relationship that is no object, or an id that is a list or an object, is a usage
    error naming it (it was an internal one: AttributeError, unhashable type)."""
    if not isinstance(r, dict):
        raise ConfigError(f"{where}: expected an object with subject, object and predicate, "
                          f"got {r!r:.60}")
    ends = []
    for end in ("subject", "object"):
        ref = r.get(f"{end}_id")
        named = by_id.get(_coco_id(ref, where, f"{end}_id")) if ref is not None else None
        ends.append(named or (_vg_names(r[end], f"{where}: {end}") if isinstance(
            r.get(end), dict) else None))
    return ends


def _vg_relationship_skip(r: dict[str, Any], ends: list[str | None], unnamed: set[Any]
                          ) -> tuple[str, str]:
    """Why a Visual Genome relationship gives no fact (a key of :data:`_VG_SKIPS`), and the
    id or predicate that says so."""
    for end, name in zip(("subject", "object"), ends):
        if name:
            continue
        ref = r.get(f"{end}_id", r[end].get("object_id") if isinstance(r.get(end), dict)
                    else None)
        if ref in unnamed or isinstance(r.get(end), dict):
            return "relationships_to_unnamed_objects", f": {end} {ref}"
        return "relationships_to_missing_objects", f": {end}_id {ref!r}"
    return "relationships_without_predicate", f": predicate {r.get('predicate')!r}"


class AmberSource(AnnotationSource):
    """AMBER annotations (see :mod:`halluscope.evidence.amber`)."""

    kind = "amber"

    def __init__(self, path: Path):
        from halluscope.evidence.amber import load_amber
        self.data = load_amber(path)
        super().__init__(self.data.path, self.data.facts())


def _vg_attributes(entry: dict[str, Any]) -> bool:
    """An entry of Visual Genome's ``attributes.json``: ``{"image_id", "attributes": [objects
    with "names" and "attributes"]}``."""
    objs = entry.get("attributes")
    return "image_id" in entry and isinstance(objs, list) and (
        not objs or isinstance(objs[0], dict))


def detect_format(obj: Any) -> str:
    """``coco`` | ``amber`` | ``visual-genome`` | ``halluscope-json`` for parsed JSON."""
    from halluscope.evidence.amber import is_amber
    if isinstance(obj, dict) and "annotations" in obj and "categories" in obj:
        return "coco"
    if isinstance(obj, dict) and isinstance(obj.get("images"), dict):
        return "halluscope-json"
    if is_amber(obj):
        return "amber"
    if isinstance(obj, list) and obj and isinstance(obj[0], dict) and \
            ("objects" in obj[0] or "relationships" in obj[0] or _vg_attributes(obj[0])):
        return "visual-genome"
    raise ConfigError("expected COCO instances, AMBER annotations, Visual Genome-style objects "
                      "or halluscope's {\"images\": {...}} format; got none of these")


def load_annotations(path: str | Path) -> AnnotationSource:
    """Load an annotation file of any supported format (cached per path and modification
    time within the process)."""
    p = Path(path)
    if p.is_dir() and (p / "annotations.json").is_file():
        p = p / "annotations.json"
    if p.is_dir():
        raise ConfigError(f"expected an annotation JSON file (COCO instances_*.json, AMBER's "
                          f"annotations.json, Visual Genome's scene_graphs.json or halluscope's "
                          f"format), got the folder {p} (it holds no annotations.json)")
    if not p.is_file():
        raise ConfigError(f"annotation file not found: {p}")
    key = (str(p.resolve()), p.stat().st_mtime)
    with _LOCK:
        if key in _SOURCES:
            return _SOURCES[key]
    from halluscope.records import open_text
    try:
        with open_text(p) as fh:
            obj = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: expected a UTF-8 JSON annotation file, got a byte that is not "
                          f"UTF-8 at offset {exc.start}") from None
    try:
        fmt = detect_format(obj)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    if fmt == "coco":
        src: AnnotationSource = CocoSource(p, obj)
    elif fmt == "amber":
        src = AmberSource(p)
    elif fmt == "visual-genome":
        src = _from_visual_genome(p, obj)
    else:
        src = _from_simple(p, obj)
    log.info("annotations: %s (%s, %d images)", p, fmt, len(src))
    with _LOCK:
        _SOURCES[key] = src
    return src


def labels_by_image(source: AnnotationSource, keys) -> dict[str, set[str]]:
    """Present labels of the given images (a helper for reports and tests)."""
    out: dict[str, set[str]] = defaultdict(set)
    for k in keys:
        f = source.get(k)
        if f is not None:
            out[str(k)] = set(f.labels())
    return dict(out)
