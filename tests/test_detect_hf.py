"""transformers zero-shot detectors: tiny random-weight GroundingDINO and OWLv2 built from
configs, saved with save_pretrained and loaded through ``hf:<folder>`` like a user's model."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from halluscope.errors import ConfigError  # noqa: E402
from halluscope.evidence.cache import EvidenceCache  # noqa: E402
from halluscope.evidence.detect import THRESHOLDS, Detector, load_detector  # noqa: E402
from halluscope.evidence.detector_facts import DetectorFacts, spec_thresholds  # noqa: E402
from halluscope.types import Claim  # noqa: E402
from tests.tiny_detectors import (build_grounding_dino, build_owlv2,  # noqa: E402
                                  isolated_cache)  # noqa: F401

@pytest.fixture(scope="module")
def gdino_dir(tmp_path_factory):
    return build_grounding_dino(tmp_path_factory.mktemp("gdino"))


@pytest.fixture(scope="module")
def owl_dir(tmp_path_factory):
    return build_owlv2(tmp_path_factory.mktemp("owlv2"))


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    return (rng.random((60, 90, 3)) * 255).astype(np.uint8)


def check_detections(dets, phrases, w=90, h=60):
    assert dets, "a random model with floor 0 returns every query"
    for d in dets:
        assert d.label in phrases
        assert 0 <= d.box[0] <= d.box[2] <= w and 0 <= d.box[1] <= d.box[3] <= h
        assert 0.0 <= d.score <= 1.0
    assert [d.score for d in dets] == sorted((d.score for d in dets), reverse=True)


def test_grounding_dino_from_a_saved_folder(gdino_dir, image):
    det = load_detector(f"hf:{gdino_dir}", floor=0.0)
    assert isinstance(det, Detector) and det.model_type == "grounding-dino"
    assert det.thresholds == THRESHOLDS["hf:grounding-dino"]
    phrases = ["dog", "teddy bear", "cat"]
    dets = det.detect(image, phrases)
    check_detections(dets, phrases)
    assert det.calls == 1                                # all phrases in one pass
    assert len(dets) == 12                               # one per query
    prov = det.provenance()
    assert prov["model_type"] == "grounding-dino" and len(prov["weights_sha256"]) == 16


def test_grounding_dino_splits_captions_longer_than_max_text_len(gdino_dir, image):
    det = load_detector(f"hf:{gdino_dir}", floor=0.0)
    phrases = ["dog", "cat", "bed", "cup", "person", "table", "bowl", "teddy bear", "red cup",
               "blue bowl", "helmet", "flag", "rocket", "car", "bird", "spoon", "cake"]
    dets = det.detect(image, phrases)                    # max_text_len is 32 tokens
    assert det.calls == 2
    check_detections(dets, phrases)


def test_owlv2_from_a_saved_folder(owl_dir, image):
    det = load_detector(f"hf:{owl_dir}", floor=0.0)
    assert det.model_type == "owlv2" and det.thresholds == THRESHOLDS["hf:owlv2"]
    dets = det.detect(image, ["a dog", "a cat"])
    check_detections(dets, ["a dog", "a cat"])
    assert det.calls == 1
    assert det.detect(image, []) == [] and det.calls == 1


def test_floor_drops_low_scores(gdino_dir, image):
    det = load_detector(f"hf:{gdino_dir}", floor=0.99)
    assert all(d.score >= 0.99 for d in det.detect(image, ["dog"]))


def test_missing_folder_and_uncached_hub_id_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such folder"):
        load_detector(f"hf:{tmp_path / 'missing'}")
    with pytest.raises(ConfigError, match="downloads are off"):
        load_detector("hf:nobody/no-such-detector-halluscope")


def test_thresholds_are_read_from_the_folder_without_loading(gdino_dir, owl_dir):
    assert spec_thresholds(f"hf:{gdino_dir}") == THRESHOLDS["hf:grounding-dino"]
    assert spec_thresholds(f"hf:{owl_dir}") == THRESHOLDS["hf:owlv2"]
    assert spec_thresholds("coco-ssd") == THRESHOLDS["coco-ssd"]


def test_facts_cache_warm_run_loads_no_model(gdino_dir, tmp_path):
    from PIL import Image
    img = tmp_path / "img.png"
    Image.fromarray((np.random.default_rng(1).random((40, 50, 3)) * 255).astype(np.uint8)
                    ).save(img)
    claims = [Claim("existence", "dog"), Claim("relation", "cat", relation="on", object="bed")]
    cache = EvidenceCache(tmp_path / "cache")
    cold = DetectorFacts(f"hf:{gdino_dir}", cache=cache, options={"floor": 0.0})
    f1 = cold.image_facts(img, claims)
    assert cold.passes == 1 and cold.detector.calls == 1
    assert set(f1.provenance["asked"]) == {"dog", "cat", "bed"}
    warm = DetectorFacts(f"hf:{gdino_dir}", cache=cache, options={"floor": 0.0})
    f2 = warm.image_facts(img, claims)
    assert warm.passes == 0 and warm._detector is None      # never loaded
    assert f1.instances == f2.instances and f1.vocabulary == f2.vocabulary
    # a different phrase set is a different pass
    warm.image_facts(img, [Claim("existence", "cup")])
    assert warm.passes == 1


def test_owlv2_truncates_a_label_longer_than_its_text_model(owl_dir, image, caplog):
    """A cited label of more than 16 tokens (the text model's positions) stopped the audit:
    "size of tensor a (19) must match the size of tensor b (16)". It is truncated as OWL's own
    query tokenizer does: the long label scores exactly as its first 16 tokens do."""
    det = load_detector(f"hf:{owl_dir}", floor=0.0)
    tok = det.processor.tokenizer
    words = "dog cat bed cup person helmet flag dog cat bed cup person helmet flag dog cat".split()
    long = " ".join(words)
    assert len(tok(long)["input_ids"]) > 16
    # the longest prefix of whole words that fits 16 tokens with <|startoftext|> and the end
    head = max((" ".join(words[:k]) for k in range(1, len(words))
                if len(tok(" ".join(words[:k]))["input_ids"]) <= 16),
               key=lambda p: len(tok(p)["input_ids"]))
    assert len(tok(head)["input_ids"]) == 16          # so truncation cuts exactly there
    with caplog.at_level("WARNING", logger="halluscope.evidence.detect_hf"):
        got = det.detect(image, [long])
    want = det.detect(image, [head])
    assert [d.label for d in got] == [long] * len(want)
    assert [(d.box, d.score) for d in got] == [(d.box, d.score) for d in want]
    assert [r.getMessage() for r in caplog.records].count(
        f"hf:{owl_dir}: the label {long!r} is longer than the 16 tokens an OWL query may have; "
        f"it was truncated to 16 tokens") == 1
