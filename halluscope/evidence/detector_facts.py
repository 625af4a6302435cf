"""Facts about an image from a detector (and optionally a segmenter), for the claim checks.

:func:`from_config` builds a :class:`DetectorFacts` from ``AuditConfig.detector`` (and
``segmenter``); ``facts(record, claims)`` then returns the :class:`ImageFacts` that the checks in
:mod:`halluscope.checks` decide claims against, exactly as they do with annotations:

1. The labels the claims need: each claim's subject (and a relation's object), keyed by the
   claim's vocabulary node when it has one (``claim.node``), else by the word as written.
   An open-vocabulary detector is asked every word written for a key ("a man and a woman":
   ``person`` asked as ``man`` and ``woman``), and its instances are the detections of any of
   them after one NMS over them all.
2. ONE detector pass over the record's image with all of them (a closed-vocabulary detector
   such as ``coco-ssd`` detects its 80 classes at once and each label is mapped to its COCO
   class, e.g. ``kitten`` -> ``cat``; a label with no COCO class stays outside the vocabulary
   and its claims unverifiable). Results are cached on disk by image sha256, decoding rules,
   detector spec, weights hash and configuration (:mod:`halluscope.evidence.cache`); a warm
   cache loads no model at all.
3. Thresholds (:data:`~halluscope.evidence.detect.THRESHOLDS`): detections scoring at least
   ``present`` become instances (``source="detector"``, after per-label non-maximum suppression
   at IoU 0.5); a label whose best score is below ``absent`` is absent; a label in between is
   left out of the vocabulary, so that its claims are unverifiable (the detector is unsure);
   ``provenance["uncertain"]`` lists those with their best score, and
   ``provenance["max_scores"]`` every label's best score (``None`` when the detector reported
   nothing of it at or above its ``provenance["floor"]``).
4. With a segmenter, each instance named by an attribute claim with a colour word is
   segmented (box prompt) and its colours measured (:func:`~halluscope.evidence.segment.
   measure_colour`); they become ``Instance.attributes`` (``grey`` also as ``gray``) and
   ``payload["colour"]``, ``payload["mask_box"]``, ``payload["mask_area"]``.

The ImageFacts are closed-world over the labels asked about (``vocabulary``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError, HalluscopeError, RecordError
from halluscope.evidence.cache import NUMBER, EvidenceCache, image_sha256, pixels_key
from halluscope.evidence.detect import (Detection, Detector, Thresholds, check_finite,
                                        default_thresholds, device_type, has_area,
                                        load_detector, load_rgb, nms, resolved_device_type,
                                        torch_device)
from halluscope.evidence.detector_specs import (_segmenter_spec_identity,  # noqa: F401
                                                model_identities, spec_identity,
                                                spec_thresholds)
from halluscope.types import ImageFacts, Instance

log = logging.getLogger(__name__)

#: Colour words a claim may use, mapped to the basic colour terms measured.
COLOUR_WORDS: dict[str, str] = {
    "black": "black", "white": "white", "grey": "grey", "gray": "grey", "silver": "grey",
    "red": "red", "orange": "orange", "yellow": "yellow", "golden": "yellow", "gold": "yellow",
    "green": "green", "blue": "blue", "navy": "blue", "purple": "purple", "violet": "purple",
    "pink": "pink", "brown": "brown", "tan": "brown", "beige": "brown",
}
MAX_MEASURED = 5          # instances of one label measured for colour


def _coco_class(*words: str | None) -> str | None:
    """The COCO class the first mappable word names: exact class names, then the built-in
    synonym table, then (slower) the claims vocabulary's WordNet mapping when it is there."""
    from halluscope.claims.coco import COCO80, coco_node

    words = tuple(w for w in words if w)
    for w in words:
        if w.lower() in COCO80:
            return w.lower()
    for w in words:
        node = coco_node(w)
        if node:
            return node
    try:
        from halluscope.claims.vocab import coco_vocabulary
        vocab = coco_vocabulary()
    except Exception:                                    # noqa: BLE001 - optional helper
        return None
    for w in words:
        node = vocab.map(w)
        if node in COCO80:
            return node
    return None


@dataclass(frozen=True)
class Target:
    """One label to look for: its key in the facts, and what the detector is asked."""

    key: str
    phrase: str | None            # None: the detector cannot speak about it
    also: tuple[str, ...] = ()    # other words of the same key, asked as well (open vocabulary)

    @property
    def phrases(self) -> tuple[str, ...]:
        return (self.phrase, *self.also) if self.phrase else ()


def claim_targets(claims: Iterable[Any]) -> list[tuple[str, tuple[str, ...], str | None]]:
    """``(key, written words, node)`` of each noun the claims need, in order, without repeats
    (the words of one key in the order written: "a man and a woman" -> ``person``, ``(man,
    woman)``)."""
    out: dict[str, tuple[str, tuple[str, ...], str | None]] = {}
    for c in claims:
        if getattr(c, "kind", None) == "page":
            continue
        pairs = [(getattr(c, "node", None), getattr(c, "subject", None))]
        if getattr(c, "object", None):
            pairs.append((getattr(c, "object_node", None), c.object))
        for node, word in pairs:
            if not word and not node:
                continue
            key = str(node or word).strip().lower()
            written = str(word or node).strip().lower()
            if key and key not in out:
                out[key] = (key, (written,), node)
            elif key and written not in out[key][1]:
                out[key] = (key, (*out[key][1], written), out[key][2])
    return list(out.values())


def _check_floor(spec: str, floor: float, thresholds: Thresholds) -> None:
    """A :class:`ConfigError` when the detector reports nothing below a floor above the
    ``absent`` threshold: an object it scored between the two was reported as nothing, read as
    a best score of 0 and so as absent ("no cat detected", hallucinated) where the thresholds
    call it unsure."""
    if floor > thresholds.absent:
        raise ConfigError(
            f"the detector {spec} reports nothing below its floor {floor:g}, above the absent "
            f"threshold {thresholds.absent:g}: an object scoring between them would be read "
            f"as absent; expected floor <= absent (give the detector floor <= "
            f"{thresholds.absent:g}, or an absent threshold >= {floor:g})")


class DetectorFacts:
    """Builds :class:`ImageFacts` from detections (see the module docstring).

    Args:
        detector: A spec string (loaded on the first cache miss) or a :class:`Detector`.
        segmenter: A segmenter spec or object, for colour attributes; or ``None``.
        cache: The evidence cache (``None``: the default folder; ``EvidenceCache(None)``: off).
        thresholds: Override the backend's :class:`Thresholds`.
        options: Backend options (``floor``, ``image_size``, ``device``...).
    """

    def __init__(self, detector: str | Detector, *, segmenter: Any = None,
                 cache: EvidenceCache | None = None, thresholds: Thresholds | None = None,
                 nms_iou: float = 0.5, options: dict[str, Any] | None = None,
                 counts: str = "at_least"):
        self.options = dict(options or {})
        if isinstance(detector, str):
            self.spec = detector
            self._detector: Detector | None = None
            base = spec_thresholds(detector)
            if thresholds is not None and thresholds.floor < base.floor:
                # keep what scores between the asked `absent` and the backend's floor: a
                # chair at 0.045 read as "best score 0.00 < 0.03" (absent) under absent=0.03;
                # the floor is an option, so it is part of the cache key too
                self.options.setdefault("floor", thresholds.floor)
            # the device enters as the type it resolves to (below): "cuda" and "cuda:0" alike
            self.identity = spec_identity(detector, {k: v for k, v in self.options.items()
                                                     if k != "device"})
            self.closed = detector.strip().lower().startswith("coco-ssd")
        else:
            self.spec = detector.name
            self._detector = detector
            self.identity = dict(detector.provenance())
            base = detector.thresholds
            self.closed = detector.vocabulary is not None
        if (device := device_type(self._device())) is not None:
            # a GPU's kernels give other scores than a CPU's: detections computed on one were
            # served to a run on the other (the key named an explicit --device as written and
            # nothing when torch chose, so a cuda run's entries were reused under
            # HALLUSCOPE_DEVICE=cpu while the run sheet said cpu)
            self.identity.setdefault("device", device)
        self.thresholds = thresholds or base
        # the lowest score the detector reports: a label it reports nothing of scored below it
        self.floor = float(self.options.get("floor", getattr(self._detector, "floor",
                                                             base.floor)))
        _check_floor(self.spec, self.floor, self.thresholds)
        self.nms_iou = nms_iou
        self.counts = check_counts_option(counts)
        self._segmenter_spec = segmenter
        self._spec_identity: list[Any] | None = None     # _segmenter_identity, worked out once
        self._segmenter = None if isinstance(segmenter, str) or segmenter is None else segmenter
        self.cache = cache if cache is not None else EvidenceCache.from_config()
        self.passes = 0                   # detector passes this object ran (cache misses)
        self.name = f"detector {self.spec}"

    def describe(self) -> dict[str, Any]:
        """What the run sheet records about this source."""
        out = {"detector": self.spec, "identity": self.identity,
               "thresholds": {"present": self.thresholds.present,
                              "absent": self.thresholds.absent},
               "floor": self.floor,         # nothing reported at or above it: absent
               "counts": self.counts,       # at_least: a detected count bounds from below
               # the cache's folder only: its hit counters count this process's lookups (a
               # warm cache, another worker), and results.json is the same for any of them
               "nms_iou": self.nms_iou, "cache": {"dir": self.cache.stats()["dir"]}}
        if self._segmenter_spec is not None:
            out["segmenter"] = str(self._segmenter_spec) if isinstance(
                self._segmenter_spec, str) else getattr(self._segmenter_spec, "name", "?")
        device = self._device()
        if device is not None:
            out["device"] = device
        return out

    def _device(self) -> str | None:
        """The device a torch detector runs on (loaded or not: as it would be loaded; an
        explicit ``device`` option, else ``$HALLUSCOPE_DEVICE``, else cuda when there is one),
        ``None`` for one on OpenCV. The run sheet said nothing of it, though a GPU's kernels
        give other scores than a CPU's."""
        if self._detector is not None:
            device = getattr(self._detector, "device", None)
            return None if device is None else str(device)
        if self.spec.strip().partition(":")[0].lower() not in ("hf", "groundingdino", "gdino"):
            return None
        try:
            return torch_device(self.options.get("device"))
        except ConfigError:         # said when the model loads, as a usage error
            return str(self.options.get("device") or "?")

    @classmethod
    def from_config(cls, config: Any, **kw: Any) -> "DetectorFacts":
        if not getattr(config, "detector", None):
            raise ConfigError("expected a detector in the configuration (--detector)")
        from halluscope.evidence.detect import check_detector_spec
        check_detector_spec(config.detector)
        opts = dict(getattr(config, "options", {}) or {})
        if getattr(config, "segmenter", None):   # before any record, not at the first colour
            from halluscope.evidence.segment import check_segmenter_spec
            check_segmenter_spec(config.segmenter,
                                 allow_download=bool(opts.get("allow_download", False)))
        th = default_thresholds(spec_thresholds(config.detector), opts)
        backend_opts = {k: opts[k] for k in ("device", "image_size", "allow_download")
                        if k in opts}
        if "image_size" in backend_opts:        # int("abc") stopped the run when it loaded
            from halluscope.config import number_option
            backend_opts["image_size"] = number_option(opts, "image_size", None, int)
            if backend_opts["image_size"] <= 0:
                raise ConfigError(f"option 'image_size': expected a size in pixels > 0, got "
                                  f"{opts['image_size']!r}")
        if config.detector.strip().partition(":")[0].lower() not in ("groundingdino", "gdino"):
            # only GroundingDINO's own code reads it (the audit warns); in the identity, it
            # told the run sheet and the cache key that the detector ran at a size it never did
            backend_opts.pop("image_size", None)
        kw.setdefault("cache", EvidenceCache.from_config(config))
        kw.setdefault("counts", opts.get("detector_counts", "at_least"))
        return cls(config.detector, segmenter=config.segmenter, thresholds=th,
                   options=backend_opts, **kw)

    # -- components, loaded lazily -------------------------------------------------------------
    @property
    def detector(self) -> Detector:
        if self._detector is None:
            opts = dict(self.options)
            device = opts.pop("device", None)
            with _not_loading(f"the detector {self.spec}"):
                self._detector = load_detector(self.spec, device=device, **opts)
        return self._detector

    @property
    def segmenter(self):
        if self._segmenter is None and self._segmenter_spec:
            from halluscope.evidence.segment import load_segmenter
            with _not_loading(f"the segmenter {self._segmenter_spec}"):
                self._segmenter = load_segmenter(
                    self._segmenter_spec, device=self.options.get("device"),
                    allow_download=bool(self.options.get("allow_download", False)))
        return self._segmenter

    def _segmenter_identity(self) -> Any:
        """What decides the segmenter's masks, for the key of the colours measured on them. A
        spec's is worked out once (it reads weights hashes and package metadata, and the key is
        made for every image); a segmenter object's provenance is asked each time."""
        spec = self._segmenter_spec
        if not isinstance(spec, str):
            if spec is None:
                return None
            ident = dict(spec.provenance())
            if (device := device_type(getattr(spec, "device", None))) is not None:
                ident.setdefault("device", device)
            return ident
        if self._spec_identity is None:
            ident = _segmenter_spec_identity(spec)
            if spec.partition(":")[0].strip().lower() in ("sam", "hf-sam"):
                # masks from a GPU differ from a CPU's as detections do: the device's type
                ident.append({"device": resolved_device_type(self.options.get("device"))})
            self._spec_identity = ident
        return self._spec_identity

    # -- detection ----------------------------------------------------------------------------
    def targets(self, claims: Iterable[Any]) -> list[Target]:
        out = []
        for key, words, node in claim_targets(claims):
            if self.closed:
                out.append(Target(key, _coco_class(node, words[0], key)))
            else:
                # every word of the key is asked: the first one alone decided the others'
                # claims ("a man and a woman" asked "man" only, and the woman's claim went by
                # it; written the other way round, by "woman")
                out.append(Target(key, words[0], words[1:]))
        return out

    def detect(self, image: str | Path, phrases: Sequence[str], *, sha: str | None = None
               ) -> tuple[list[Detection], tuple[int, int]]:
        """One (cached) detector pass: ``(detections, (width, height))``."""
        sha = sha or image_sha256(image)
        asked = [] if self.closed else sorted(set(phrases))
        key = pixels_key("detect", sha, self.spec, self.identity, asked)
        hit = self.cache.get("detections", key, _cached_detections, shape=DETECTIONS_ENTRY)
        if hit is not None:
            return hit
        rgb = load_rgb(image)
        detector = self.detector
        with _failing_on(image, rgb, f"the detector {self.spec}"):
            found = detector.detect(rgb, asked)
            # (any backend, a detector of one's own: a NaN box was dropped as of no area, and
            # its object read as absent)
            check_finite([[d.score, *d.box] for d in found], "scores and boxes")
            stored = [d.to_dict() for d in found]
        self.passes += 1
        size = (int(rgb.shape[1]), int(rgb.shape[0]))
        self.cache.put("detections", key, {"detections": stored, "size": list(size)})
        # the stored (rounded) values, so that a cold and a warm run decide alike
        return [Detection.from_dict(d) for d in stored], size

    def facts(self, record: Any, claims: Sequence[Any]) -> ImageFacts | None:
        """The facts about the record's image for these claims; ``None`` without an image."""
        from halluscope.errors import UnreadableImage
        from halluscope.imageio import check_header, check_path
        if not getattr(record, "image", None):
            return None
        path = record.image_path() if hasattr(record, "image_path") else None
        if path is None:
            raise UnreadableImage("a URL; the detector reads local image files only",
                                  path=record.image)
        path = check_path(path)
        check_header(path)          # the pixel limit, whether the detections are cached or not
        return self.image_facts(path, claims)    # (its RecordErrors: the engine locates them)

    def image_facts(self, image: str | Path, claims: Sequence[Any]) -> ImageFacts:
        if isinstance(image, (str, Path)):
            from halluscope.imageio import check_path
            image = check_path(image)    # UnreadableImage before hashing a directory or nothing
        targets = self.targets(claims)
        phrases = [p for t in targets for p in t.phrases]
        sha = image_sha256(image)
        dets, size = self.detect(image, phrases, sha=sha) if phrases else ([], None)
        # a box of no area (outside the image, clipped) is no object: the backends drop them
        # now, but a detector object of one's own, or a cache entry stored before, may hold them
        dets = [d for d in dets if has_area(d.box)]
        th = self.thresholds
        instances: list[Instance] = []
        max_scores: dict[str, float] = {}
        uncertain: dict[str, float] = {}
        unsure_boxes: dict[str, list[float]] = {}       # each one's best box, for its evidence
        unsure_counts: list[str] = []
        vocabulary, absent = set(), set()
        for t in targets:
            if not t.phrase:
                continue
            mine = [d for d in dets if d.label in t.phrases]
            best = max((d.score for d in mine), default=0.0)
            # None: nothing at or above the floor (a best score of 0.00 was never computed)
            max_scores[t.key] = round(best, 4) if mine else None
            # one object, whichever of the key's words found it: NMS over them all
            sure = [(Detection(t.key, d.box, d.score), d.label) for d in mine
                    if d.score >= th.present]
            said = {id(r): label for r, label in sure}
            kept = nms([r for r, _ in sure], self.nms_iou)
            for d in kept:
                payload = {} if said[id(d)] == t.key else {"detector_label": said[id(d)]}
                instances.append(Instance(label=t.key, box=d.box, score=d.score,
                                          source="detector", payload=payload))
            if kept:
                vocabulary.add(t.key)
                if _unsure_beside(mine, kept, th, self.nms_iou):
                    unsure_counts.append(t.key)
            elif best < th.absent:
                vocabulary.add(t.key)
                absent.add(t.key)
            else:
                uncertain[t.key] = round(best, 4)
                unsure_boxes[t.key] = list(max(mine, key=lambda d: d.score).box)
        if self._segmenter_spec is not None and instances:
            instances = self._measure_colours(image, sha, instances, claims)
        prov = {"source": "detector", "component": "detector", "name": self.spec,
                "detector": self.spec,
                "identity": {k: v for k, v in self.identity.items() if k != "options"},
                "thresholds": {"present": th.present, "absent": th.absent},
                "floor": self.floor,
                "asked": {t.key: list(t.phrases) if t.also else t.phrase for t in targets},
                "max_scores": max_scores, "uncertain": uncertain, "uncertain_boxes": unsure_boxes,
                # labels with an unsure detection apart from the sure ones: their count is
                # not known (checks.count reads "not_exhaustive")
                "not_exhaustive": unsure_counts, "counts": self.counts}
        if self._segmenter_spec is not None:
            prov["segmenter"] = str(self._segmenter_spec) if isinstance(
                self._segmenter_spec, str) else getattr(self._segmenter_spec, "name", "?")
        return ImageFacts(key=sha, instances=tuple(instances), absent=frozenset(absent),
                          vocabulary=frozenset(vocabulary), closed_world=True, size=size,
                          provenance=prov)

    # -- colours ------------------------------------------------------------------------------
    def _measure_colours(self, image, sha: str, instances: list[Instance],
                         claims: Sequence[Any]) -> list[Instance]:
        wanted = set()
        for c in claims:
            if getattr(c, "kind", None) == "attribute" and \
                    str(getattr(c, "value", "")).lower() in COLOUR_WORDS:
                wanted.add(str(c.node or c.subject).strip().lower())
        todo: list[int] = []
        per_label: dict[str, int] = {}
        for i, inst in enumerate(instances):
            if inst.label in wanted and per_label.get(inst.label, 0) < MAX_MEASURED:
                per_label[inst.label] = per_label.get(inst.label, 0) + 1
                todo.append(i)
        if not todo:
            return instances
        from halluscope.evidence.segment import COLOUR_RULES, mask_box, measure_colour
        boxes = [[round(v, 1) for v in instances[i].box] for i in todo]
        key = pixels_key("colour", sha, {"colour_rules": COLOUR_RULES},
                         self._segmenter_identity(), boxes)
        measured = self.cache.get("colours", key, shape=(COLOURS_ITEM,) * len(todo))
        if measured is None:
            rgb = load_rgb(image)
            segmenter = self.segmenter
            with _failing_on(image, rgb, f"the segmenter {self._segmenter_spec}"):
                masks = segmenter.segment(rgb, boxes)
            measured = []
            for m in masks:
                mb = mask_box(m)
                measured.append({"colour": measure_colour(rgb, m).to_dict(),
                                 "mask_box": list(mb) if mb else None,
                                 "mask_area": int(m.sum())})
            self.cache.put("colours", key, measured)
        out = list(instances)
        for i, m in zip(todo, measured):
            colours = list(m["colour"]["colours"])
            if "grey" in colours:
                colours.append("gray")
            inst = out[i]
            out[i] = Instance(label=inst.label, box=inst.box, score=inst.score,
                              source=inst.source, attributes=tuple(colours),
                              payload=dict(inst.payload, **m))
        return out


#: How a detector's count of an object is read (``--option detector_counts=...``):
#: ``at_least`` (the default): a detector misses objects (its recall is below 1), so its count
#: bounds the true count from below: claiming fewer than it found is hallucinated, as many is
#: supported, more is unverifiable; ``exact``: more than it found is hallucinated too, unless
#: an unsure detection apart from the sure ones may be one of them (the behaviour before).
COUNT_READINGS = ("at_least", "exact")


def check_counts_option(value: Any) -> str:
    """``value`` as one of :data:`COUNT_READINGS`, else a :class:`ConfigError` saying so."""
    if value not in COUNT_READINGS:
        raise ConfigError(f"option 'detector_counts': expected one of "
                          f"{', '.join(COUNT_READINGS)}, got {value!r:.60}")
    return str(value)


@contextlib.contextmanager
def _not_loading(what: str) -> Iterator[None]:
    """A model that cannot be loaded (weights of another shape: "size mismatch for ...") is a
    usage error: it failed again on every record, each a warning, or stopped a region audit as
    an internal error."""
    try:
        yield
    except HalluscopeError:
        raise
    except Exception as exc:                     # noqa: BLE001 - the loader's own failure
        log.debug("cannot load %s", what, exc_info=True)
        raise ConfigError(f"cannot load {what}: {type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def _failing_on(image: Any, rgb: Any, what: str) -> Iterator[None]:
    """A model that fails on one image (GroundingDINO on a 1 x 1 picture: "Expected more than
    1 value per channel") makes that record a bad record naming the image and the failure;
    it gave the claims metric "no evidence source knows this image" with a warning, and
    stopped a region audit as an internal error. halluscope's own errors pass unchanged."""
    try:
        yield
    except HalluscopeError:
        raise
    except Exception as exc:                     # noqa: BLE001 - the model's own failure
        name = Path(image).name if isinstance(image, (str, Path)) else "the image"
        log.debug("%s failed on %s", what, name, exc_info=True)
        raise RecordError(f"{what} failed on {name} ({rgb.shape[1]}x{rgb.shape[0]}): "
                          f"{type(exc).__name__}: {exc}", field="image") from None


#: The shape of a detections cache entry (:meth:`DetectorFacts.detect` writes it); an entry of
#: another shape is a cache miss (:meth:`EvidenceCache.get`).
DETECTIONS_ENTRY = {"detections": [{"label": str, "box": (NUMBER,) * 4, "score": NUMBER}],
                    "size": (int, int)}
#: The shape of one colour measurement in a colours cache entry (a list of them, one per box).
COLOURS_ITEM = {"colour": {"colours": [str]}}


def _cached_detections(hit: Any) -> tuple[list[Detection], tuple[int, int]]:
    """A detections cache entry of :data:`DETECTIONS_ENTRY`'s shape, read back."""
    width, height = hit["size"]
    return [Detection.from_dict(d) for d in hit["detections"]], (width, height)


def _unsure_beside(mine: Sequence[Detection], kept: Sequence[Detection], th: Thresholds,
                   nms_iou: float) -> bool:
    """Whether a detection scoring between ``absent`` and ``present`` lies apart from every
    kept one (not its duplicate box): another instance the detector is unsure of, so the
    kept ones are not known to be all of them ("two cats" was hallucinated on one sure cat
    and a second at 0.35)."""
    from halluscope.evidence.detect import iou
    return any(th.absent <= d.score < th.present and
               all(iou(d.box, k.box) < nms_iou for k in kept) for d in mine)


def from_config(config: Any) -> DetectorFacts:
    """The facts provider for ``config.detector`` (and ``config.segmenter``)."""
    return DetectorFacts.from_config(config)
