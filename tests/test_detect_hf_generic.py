"""The generic hf: detector path (neither GroundingDINO nor OWL) and a model that outputs NaN.

The processor's post_process_grounded_object_detection keeps scores above its threshold: a NaN
score failed it and was dropped unseen, so the object was read as absent ('no cat detected',
hallucinated), where the GroundingDINO and OWL paths make such an output a bad record."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


class _Inputs(dict):
    def to(self, device):
        return self


class _Processor:
    def __call__(self, text, images, return_tensors):
        return _Inputs()

    def post_process_grounded_object_detection(self, out, threshold, target_sizes, text_labels):
        scores = out["logits"].sigmoid()[0].max(-1).values
        keep = scores > threshold                     # as transformers': NaN never passes
        boxes = out["pred_boxes"][0][keep] * 10
        return [{"scores": scores[keep], "boxes": boxes,
                 "text_labels": [text_labels[0][0]] * int(keep.sum())}]


class _Model:
    def __init__(self, logits, boxes):
        self.logits, self.boxes = logits, boxes

    def __call__(self, **_):
        return {"logits": torch.tensor([self.logits]), "pred_boxes": torch.tensor([self.boxes])}


def _detector(logits, boxes):
    from halluscope.evidence.detect_hf import HFZeroShotDetector
    det = object.__new__(HFZeroShotDetector)
    det.model_id, det.name, det.model_type = "tiny-omdet", "hf:tiny-omdet", "omdet-turbo"
    det.processor, det.model = _Processor(), _Model(logits, boxes)
    det._torch, det.device, det.floor, det.calls = torch, "cpu", 0.1, 0
    return det


def test_a_finite_output_is_read():
    det = _detector([[4.0], [-6.0]], [[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.3, 0.3]])
    (d,) = det.detect(np.zeros((10, 10, 3), np.uint8), ["cat"])
    assert d.label == "cat" and d.score == pytest.approx(1 / (1 + np.exp(-4)))


@pytest.mark.parametrize("logits, boxes, what", [
    ([[float("nan")], [4.0]], [[0.1, 0.1, 0.5, 0.5]] * 2, "finite logits.*1 NaN value of 2"),
    ([[4.0], [4.0]], [[0.1, 0.1, float("inf"), 0.5]] * 2, "finite pred_boxes.*2 NaN or inf"),
])
def test_nan_in_the_generic_paths_output_is_an_error_not_an_absence(logits, boxes, what):
    det = _detector(logits, boxes)
    with pytest.raises(ValueError, match=what):
        det.detect(np.zeros((10, 10, 3), np.uint8), ["cat"])


def test_minus_infinity_logits_are_masks_not_faults():
    det = _detector([[4.0, float("-inf")]], [[0.1, 0.1, 0.5, 0.5]])
    assert [d.label for d in det.detect(np.zeros((10, 10, 3), np.uint8), ["cat"])] == ["cat"]


def test_the_bad_record_names_the_model_and_image(tmp_path):
    from PIL import Image

    from halluscope.errors import RecordError
    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detector_facts import DetectorFacts
    from halluscope.types import Claim
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(tmp_path / "img.png")
    det = _detector([[float("nan")]], [[0.1, 0.1, 0.5, 0.5]])
    from halluscope.evidence.detect import THRESHOLDS
    det.thresholds = THRESHOLDS["hf"]
    det.provenance = lambda: {"model": det.name}
    with pytest.raises(RecordError, match=r"detector .*tiny-omdet.* failed on img\.png.*"
                                          r"expected finite logits"):
        DetectorFacts(det, cache=EvidenceCache(tmp_path / "cache")).image_facts(
            tmp_path / "img.png", [Claim("existence", "cat", node="cat")])


def test_nothing_above_the_floor_is_no_detection_not_a_failure():
    """An empty list of text labels fell through to ``res.get("labels")`` (None): the image
    failed with "TypeError: 'NoneType' object is not iterable" whenever nothing scored."""
    det = _detector([[-6.0]], [[0.1, 0.1, 0.5, 0.5]])
    assert det.detect(np.zeros((10, 10, 3), np.uint8), ["cat"]) == []
