"""Segmenters (box prompt -> mask) and the colour names of masked pixels.

=============================  ==============================================================
spec                           backend
=============================  ==============================================================
``grabcut``                    OpenCV's GrabCut initialised with the box (no weights; the
                               ``detect`` extra); rough but real, and what the sample uses
``sam:<checkpoint>``           ``segment-anything`` with an original SAM checkpoint
``sam:<vit_b|vit_l|vit_h>:<checkpoint>``
                               the same with the variant named (otherwise it is read from
                               the checkpoint's tensor shapes)
``hf-sam:<path or hub id>``    transformers ``SamModel`` + ``SamProcessor``
=============================  ==============================================================

Every segmenter encodes the image once and decodes all boxes of that image in one batch.

Colour naming
-------------
:func:`measure_colour` names the colours of a mask's pixels with the eleven basic colour terms
of Berlin and Kay (black, white, grey, red, orange, yellow, green, blue, purple, pink, brown).
Pixels are converted from sRGB (D65) to CIELAB and each pixel takes the name of the nearest
swatch in :data:`SWATCHES` by Euclidean distance in CIELAB (Delta E*76); the swatches are a few
light and dark sRGB shades per term. The result lists each name's share of the pixels; the
object's colours are the names holding at least ``min_share`` (default 0.2) of them, the first
being the dominant one. Up to ``max_pixels`` pixels (evenly spaced) are measured.
:data:`COLOUR_RULES` versions these rules in the key of cached colours.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from halluscope.errors import ConfigError
from halluscope.evidence.detect import load_rgb, require, torch_device

log = logging.getLogger(__name__)

#: Basic colour terms with sRGB swatches (several shades each).
SWATCHES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "black": ((0, 0, 0), (28, 28, 30), (40, 35, 45)),
    "white": ((255, 255, 255), (235, 235, 228), (220, 225, 232)),
    "grey": ((128, 128, 128), (85, 85, 88), (170, 170, 170), (110, 115, 120)),
    "red": ((220, 20, 30), (160, 0, 10), (255, 70, 60), (190, 40, 50)),
    "orange": ((255, 140, 0), (235, 110, 30), (255, 165, 80), (210, 100, 20)),
    "yellow": ((255, 225, 0), (245, 220, 100), (230, 200, 30), (255, 245, 150)),
    "green": ((0, 160, 0), (0, 90, 20), (120, 200, 80), (70, 110, 40), (40, 180, 120)),
    "blue": ((0, 60, 220), (0, 20, 130), (90, 150, 230), (0, 170, 220), (60, 90, 160),
             (0, 120, 135)),
    "purple": ((130, 0, 170), (80, 30, 120), (175, 120, 215), (150, 50, 150)),
    "pink": ((255, 150, 200), (235, 90, 160), (255, 200, 210), (210, 120, 150)),
    "brown": ((130, 80, 30), (90, 55, 25), (165, 115, 65), (110, 70, 50), (190, 150, 100)),
}
COLOUR_NAMES: tuple[str, ...] = tuple(SWATCHES)
COLOUR_SPACE = "CIELAB (D65), nearest basic-colour swatch by Delta E*76"
#: The version of the colour-measuring rules: :data:`SWATCHES`, :func:`srgb_to_lab`,
#: :func:`colour_names`, :func:`measure_colour` (its pixel sampling, shares and ``min_share``)
#: and :func:`mask_box`. It enters the key of cached colours (beside
#: :data:`halluscope.imageio.DECODING_RULES` and the segmenter's identity), so bump it with
#: every change to what a mask's pixels are measured as: colours measured under older rules
#: then miss instead of being served.
COLOUR_RULES = 1


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (uint8 or floats in [0, 1], ``[..., 3]``) to CIELAB under D65."""
    x = np.asarray(rgb, dtype=float)
    if np.asarray(rgb).dtype == np.uint8 or x.max(initial=0) > 1.0:
        x = x / 255.0
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    L = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return np.stack([L, a, b], axis=-1)


_SWATCH_NAMES = [n for n, shades in SWATCHES.items() for _ in shades]
_SWATCH_LAB = srgb_to_lab(np.array([s for shades in SWATCHES.values() for s in shades],
                                   dtype=np.uint8))


def colour_names(rgb: np.ndarray) -> np.ndarray:
    """The basic colour name of each pixel of ``rgb`` (``[..., 3]``)."""
    lab = srgb_to_lab(rgb).reshape(-1, 3)
    d = ((lab[:, None, :] - _SWATCH_LAB[None, :, :]) ** 2).sum(-1)
    names = np.array(_SWATCH_NAMES)[d.argmin(axis=1)]
    return names.reshape(np.asarray(rgb).shape[:-1])


@dataclass(frozen=True)
class ColourMeasure:
    """The colours of one object's pixels.

    Attributes:
        colours: Names holding at least ``min_share`` of the pixels, most frequent first.
        shares: Every name's share of the measured pixels.
        pixels: How many pixels the mask has.
        space: How the names were decided.
    """

    colours: tuple[str, ...]
    shares: dict[str, float] = field(default_factory=dict)
    pixels: int = 0
    space: str = COLOUR_SPACE

    @property
    def dominant(self) -> str | None:
        return self.colours[0] if self.colours else None

    def to_dict(self) -> dict[str, Any]:
        return {"colours": list(self.colours), "dominant": self.dominant,
                "shares": {k: round(v, 4) for k, v in self.shares.items()},
                "pixels": self.pixels, "space": self.space}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ColourMeasure":
        return cls(tuple(d.get("colours", ())), dict(d.get("shares", {})),
                   int(d.get("pixels", 0)), d.get("space", COLOUR_SPACE))


def measure_colour(image: Any, mask: np.ndarray | None = None, *, min_share: float = 0.2,
                   max_pixels: int = 20000) -> ColourMeasure:
    """Name the colours of ``image``'s pixels inside ``mask`` (all pixels when ``None``)."""
    rgb = load_rgb(image)
    pixels = rgb.reshape(-1, 3) if mask is None else rgb[np.asarray(mask, dtype=bool)]
    n = int(len(pixels))
    if n == 0:
        return ColourMeasure((), {}, 0)
    if n > max_pixels:
        pixels = pixels[np.linspace(0, n - 1, max_pixels).astype(int)]
    names, counts = np.unique(colour_names(pixels), return_counts=True)
    order = np.argsort(-counts, kind="stable")
    shares = {str(names[i]): float(counts[i]) / len(pixels) for i in order}
    colours = tuple(k for k, v in shares.items() if v >= min_share)
    return ColourMeasure(colours, shares, n)


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """The tight ``[x1, y1, x2, y2]`` box of a mask, or ``None`` when it is empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


# -- segmenters --------------------------------------------------------------------------------

@runtime_checkable
class Segmenter(Protocol):
    """Box prompt -> boolean mask (``H x W``), one per box, one image encoding per call."""

    name: str
    calls: int

    def segment(self, image: Any, boxes: Sequence[Sequence[float]]) -> list[np.ndarray]:
        ...

    def provenance(self) -> dict[str, Any]:
        ...


def opencv_version() -> str:
    """The version of the OpenCV that GrabCut runs in (``?`` when none is installed): its masks
    change with OpenCV releases, so the key of colours measured on them names it."""
    try:
        import cv2
    except ImportError:
        return "?"
    return str(getattr(cv2, "__version__", "?"))


class GrabCutSegmenter:
    """OpenCV GrabCut initialised with each box (``iterations`` rounds)."""

    def __init__(self, iterations: int = 3):
        self._cv2 = require("cv2", "the grabcut segmenter", "detect", "opencv-python-headless")
        self.name = "grabcut"
        self.iterations = int(iterations)
        self.calls = 0

    def segment(self, image: Any, boxes: Sequence[Sequence[float]]) -> list[np.ndarray]:
        cv2 = self._cv2
        rgb = load_rgb(image)
        h, w = rgb.shape[:2]
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        self.calls += 1
        masks = []
        for box in boxes:
            x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
            x2, y2 = min(w, int(round(box[2]))), min(h, int(round(box[3])))
            mask = np.zeros((h, w), np.uint8)
            if x2 - x1 < 2 or y2 - y1 < 2:
                masks.append(mask.astype(bool))
                continue
            if x1 == 0 and y1 == 0 and x2 == w and y2 == h:     # GrabCut needs a background
                x1, y1, x2, y2 = 1, 1, w - 1, h - 1
            bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
            cv2.setRNGSeed(0)                             # GrabCut's k-means: deterministic
            cv2.grabCut(bgr, mask, (x1, y1, x2 - x1, y2 - y1), bgd, fgd, self.iterations,
                        cv2.GC_INIT_WITH_RECT)
            m = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
            if not m.any():                               # fall back to the box itself
                m[y1:y2, x1:x2] = True
            masks.append(m)
        return masks

    def provenance(self) -> dict[str, Any]:
        return {"component": "segmenter", "backend": "grabcut",
                "opencv": opencv_version(), "iterations": self.iterations}


_SAM_VARIANTS = {  # embed dim, depth -> (variant, heads, global attention blocks)
    (768, 12): ("vit_b", 12, (2, 5, 8, 11)),
    (1024, 24): ("vit_l", 16, (5, 11, 17, 23)),
    (1280, 32): ("vit_h", 16, (7, 15, 23, 31)),
}


def sam_architecture(state: dict[str, Any]) -> dict[str, Any]:
    """Read a SAM image encoder's shape (dim, depth, heads, global blocks) off its weights."""
    w = state.get("image_encoder.patch_embed.proj.weight")
    if w is None:
        raise ConfigError("expected a segment-anything checkpoint (image_encoder.* weights)")
    dim = int(w.shape[0])
    blocks = sorted({int(k.split(".")[2]) for k in state if k.startswith("image_encoder.blocks.")})
    depth = len(blocks)
    if (dim, depth) in _SAM_VARIANTS:
        variant, heads, glob = _SAM_VARIANTS[(dim, depth)]
        return {"variant": variant, "embed_dim": dim, "depth": depth, "heads": heads,
                "global_attn": list(glob)}
    # rel_pos_h is [2 * window - 1, head_dim]; global blocks span the whole 64 x 64 grid.
    sizes = {b: tuple(state[f"image_encoder.blocks.{b}.attn.rel_pos_h"].shape) for b in blocks}
    head_dim = sizes[blocks[0]][1]
    small = min(s[0] for s in sizes.values())
    glob = [b for b in blocks if sizes[b][0] > small] or [blocks[-1]]
    return {"variant": "custom", "embed_dim": dim, "depth": depth, "heads": dim // head_dim,
            "global_attn": glob}


class SamSegmenter:
    """``segment-anything`` with an original checkpoint (``vit_b``/``vit_l``/``vit_h``, or any
    encoder shape that ``sam_architecture`` reads off the weights)."""

    def __init__(self, checkpoint: str | os.PathLike, variant: str | None = None, *,
                 device: str | None = None):
        self._torch = torch = require("torch", "the segment-anything segmenter", "sam", "torch")
        sa = require("segment_anything", "the segment-anything segmenter", "sam",
                     "segment-anything")
        build = require("segment_anything.build_sam", "the segment-anything segmenter", "sam",
                        "segment-anything")
        self.checkpoint = Path(checkpoint).expanduser()
        if not self.checkpoint.is_file():
            raise ConfigError(f"expected a SAM checkpoint, got {checkpoint} (not found)")
        state = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        arch = sam_architecture(state)
        if variant and variant != arch["variant"]:
            raise ConfigError(f"{self.checkpoint.name} holds a {arch['variant']} SAM, not "
                              f"{variant}")
        model = build._build_sam(encoder_embed_dim=arch["embed_dim"],
                                 encoder_depth=arch["depth"],
                                 encoder_num_heads=arch["heads"],
                                 encoder_global_attn_indexes=arch["global_attn"])
        model.load_state_dict(state)
        self.device = torch_device(device)
        self.model = model.to(self.device).eval()
        self.predictor = sa.SamPredictor(self.model)
        self.arch = arch
        self.name = f"sam:{self.checkpoint}"
        self.calls = 0

    def segment(self, image: Any, boxes: Sequence[Sequence[float]]) -> list[np.ndarray]:
        torch = self._torch
        if not len(boxes):
            return []
        rgb = load_rgb(image)
        with torch.inference_mode():
            self.predictor.set_image(rgb)
            self.calls += 1
            b = torch.as_tensor(np.asarray(boxes, dtype=np.float32), device=self.device)
            b = self.predictor.transform.apply_boxes_torch(b, rgb.shape[:2])
            masks, _, _ = self.predictor.predict_torch(None, None, boxes=b,
                                                       multimask_output=False)
        return [m[0].cpu().numpy().astype(bool) for m in masks]

    def provenance(self) -> dict[str, Any]:
        from halluscope.evidence.cache import weights_hash
        return {"component": "segmenter", "backend": "sam", "name": self.name,
                "variant": self.arch["variant"], "weights_sha256": weights_hash(self.checkpoint)}


class HFSamSegmenter:
    """transformers ``SamModel`` with its ``SamProcessor`` (local folder or cached hub id)."""

    def __init__(self, model_id: str, *, device: str | None = None,
                 allow_download: bool = False):
        self._torch = require("torch", "the transformers SAM segmenter", "hf", "torch")
        transformers = require("transformers", "the transformers SAM segmenter", "hf",
                               "transformers")
        local = Path(model_id).expanduser()
        kw = {} if local.exists() else {"local_files_only": not allow_download}
        source = str(local) if local.exists() else model_id
        try:
            self.processor = transformers.SamProcessor.from_pretrained(source, **kw)
            model = transformers.SamModel.from_pretrained(source, **kw)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load the SAM model {model_id!r}: {exc}") from exc
        self.device = torch_device(device)
        self.model = model.to(self.device).eval()
        self._local = local if local.exists() else None
        self.model_id = model_id
        self.name = f"hf-sam:{model_id}"
        self.calls = 0

    def segment(self, image: Any, boxes: Sequence[Sequence[float]]) -> list[np.ndarray]:
        torch = self._torch
        if not len(boxes):
            return []
        from PIL import Image

        rgb = load_rgb(image)
        inputs = self.processor(images=Image.fromarray(rgb),
                                input_boxes=[[list(map(float, b)) for b in boxes]],
                                return_tensors="pt").to(self.device)
        with torch.inference_mode():
            out = self.model(**inputs, multimask_output=False)
        self.calls += 1
        masks = self.processor.image_processor.post_process_masks(
            out.pred_masks.cpu(), inputs["original_sizes"].cpu(),
            inputs["reshaped_input_sizes"].cpu())[0]
        return [m[0].numpy().astype(bool) for m in masks]

    def provenance(self) -> dict[str, Any]:
        from halluscope.evidence.cache import hf_model_identity
        ident = hf_model_identity(str(self._local) if self._local is not None else
                                  self.model_id)
        prov = {"component": "segmenter", "backend": "hf-sam", "name": self.name,
                "transformers": ident["transformers"]}
        if self._local is not None:
            prov["weights_sha256"] = ident["model"]
        else:                   # the snapshot the hub id loads, not the id alone
            prov["revision"] = ident["revision"]
        return prov


_BACKENDS = ("grabcut", "sam", "hf-sam")
_SPECS = "grabcut, sam:<checkpoint> or hf-sam:<path or id>"
_VARIANT_NAMES = ("vit_b", "vit_l", "vit_h")


def _parsed(spec: Any) -> tuple[str, str]:
    """``(backend, rest)`` of a segmenter spec, or a :class:`ConfigError` saying what is
    wrong with how it is written."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"expected a segmenter spec ({_SPECS}), got {spec!r}")
    backend, _, rest = spec.strip().partition(":")
    backend = backend.lower()
    if backend not in _BACKENDS:
        from halluscope.errors import suggest
        raise ConfigError(f"unknown segmenter backend {backend!r} in {spec!r}"
                          f"{suggest(backend, _BACKENDS)}; expected {_SPECS}")
    if backend == "grabcut" and rest and not (rest.strip().isdecimal() and int(rest) > 0):
        raise ConfigError(f"expected grabcut or grabcut:<iterations> (a whole number > 0), "
                          f"got {spec!r}")
    if backend == "sam" and not rest:
        raise ConfigError(f"expected sam:<checkpoint> or sam:<vit_b|vit_l|vit_h>:"
                          f"<checkpoint>, got {spec!r}")
    if backend == "hf-sam" and not rest:
        raise ConfigError(f"expected hf-sam:<model folder or hub id>, got {spec!r}")
    return backend, rest


def _sam_checkpoint(rest: str) -> tuple[str | None, str]:
    """``(variant or None, checkpoint path)`` of what follows ``sam:``."""
    variant, _, path = rest.partition(":")
    return (variant, path) if variant in _VARIANT_NAMES and path else (None, rest)


def _looks_like_a_path(source: str) -> bool:
    """Whether ``source`` can only be a folder (a hub id is ``name`` or ``owner/name``)."""
    return source.startswith((".", "~", "/", "\\")) or os.path.isabs(source) or \
        source.count("/") > 1


def _need(module: str, what: str, extra: str, package: str) -> None:
    """:class:`MissingExtraError` when ``module`` cannot be found (without importing it)."""
    import importlib.util
    if importlib.util.find_spec(module) is None:
        from halluscope.errors import MissingExtraError
        raise MissingExtraError(what, extra, package)


def check_segmenter_spec(spec: Any, *, allow_download: bool = False) -> None:
    """A usage error naming ``--segmenter`` for a spec that cannot be loaded, found when the
    audit is planned, before any record is scored: the segmenter is loaded when a colour claim
    first needs it, so a wrong spec surfaced only then, after the records before it were
    scored (and never in an audit without colour claims). Checked without loading: how the
    spec is written, that a checkpoint or model folder exists (or a hub id is in the local
    Hugging Face cache, unless ``allow_download``), and that the packages are installed; what
    only loading tells (weights of another shape) is said when it is loaded."""
    try:
        backend, rest = _parsed(spec)
        if backend == "grabcut":
            _need("cv2", "the grabcut segmenter", "detect", "opencv-python-headless")
        elif backend == "sam":
            _, path = _sam_checkpoint(rest)
            if not Path(path).expanduser().is_file():
                raise ConfigError(f"expected a SAM checkpoint, got {path} (not found)")
            _need("torch", "the segment-anything segmenter", "sam", "torch")
            _need("segment_anything", "the segment-anything segmenter", "sam",
                  "segment-anything")
        else:
            if not Path(rest).expanduser().exists():
                if _looks_like_a_path(rest):
                    raise ConfigError(f"expected a SAM model folder or a hub id, got {rest} "
                                      f"(not found)")
                from halluscope.evidence.cache import hub_revision
                if not allow_download and hub_revision(rest) is None:
                    raise ConfigError(f"expected a SAM model folder or a hub id, got {rest!r}: "
                                      f"no such folder, and not in the local Hugging Face "
                                      f"cache (download it, or --option allow_download=true)")
            _need("torch", "the transformers SAM segmenter", "hf", "torch")
            _need("transformers", "the transformers SAM segmenter", "hf", "transformers")
    except ConfigError as exc:
        raise ConfigError(f"--segmenter {spec!r}: {exc}") from None


def load_segmenter(spec: str, *, device: str | None = None, **options: Any) -> Segmenter:
    """Build the segmenter a spec names (see the module docstring)."""
    backend, rest = _parsed(spec)
    if backend == "grabcut":
        return GrabCutSegmenter(**({"iterations": int(rest)} if rest else {}))
    if backend == "sam":
        variant, path = _sam_checkpoint(rest)
        return SamSegmenter(path, variant, device=device)
    return HFSamSegmenter(rest, device=device,
                          allow_download=bool(options.get("allow_download", False)))
