"""The packaged COCO SSD on real photos (scikit-image), and the detector-backed facts."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")

from halluscope.claims.coco import coco_node, singular  # noqa: E402
from halluscope.errors import ConfigError, MissingExtraError  # noqa: E402
from halluscope.evidence.cache import EvidenceCache  # noqa: E402
from halluscope.evidence.detect import (Detection, Detector, caption_for, iou,  # noqa: E402
                                        load_detector, nms, phrase_scores)
from halluscope.evidence.detect_cocossd import COCO80, CocoSsdDetector, packaged_model  # noqa: E402
from halluscope.checks import check_claim as decide  # noqa: E402
from halluscope.evidence.detector_facts import DetectorFacts  # noqa: E402
from halluscope.records import record_from_dict  # noqa: E402
from halluscope.types import Claim  # noqa: E402
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def ssd():
    return load_detector("coco-ssd")


def best(dets, label):
    return max((d.score for d in dets if d.label == label), default=0.0)


def test_packaged_graph_is_found_without_importing_the_package():
    graph, config = packaged_model()
    assert graph.name == "frozen_inference_graph.pb" and config.suffix == ".pbtxt"


def test_real_detections_on_scikit_image_photos(ssd):
    assert isinstance(ssd, Detector)
    assert ssd.vocabulary == COCO80 and len(COCO80) == 80
    cat = ssd.detect(skdata.chelsea(), [])
    assert best(cat, "cat") > 0.8 and best(cat, "dog") < 0.3
    coffee = ssd.detect(skdata.coffee(), [])
    assert best(coffee, "cup") > 0.9
    assert best(coffee, "bowl") > 0.5 and best(coffee, "dining table") > 0.5
    person = ssd.detect(skdata.astronaut(), [])
    assert best(person, "person") > 0.7
    assert ssd.calls == 3
    top = max(cat, key=lambda d: d.score)
    h, w = skdata.chelsea().shape[:2]
    assert 0 <= top.box[0] < top.box[2] <= w and 0 <= top.box[1] < top.box[3] <= h
    assert top.box[2] - top.box[0] > w * 0.6        # the cat fills most of the photo


def test_paths_pil_and_grey_images_give_the_same_detections(ssd, tmp_path):
    from PIL import Image
    arr = skdata.chelsea()
    p = tmp_path / "c.png"
    Image.fromarray(arr).save(p)
    a = ssd.detect(arr, [])
    b = ssd.detect(p, [])
    c = ssd.detect(Image.fromarray(arr), [])
    assert [d.to_dict() for d in a] == [d.to_dict() for d in b] == [d.to_dict() for d in c]
    grey = ssd.detect(skdata.camera(), [])          # 2-D array works
    assert all(isinstance(d, Detection) for d in grey)


def test_custom_graph_spec_and_provenance(ssd):
    graph, config = packaged_model()
    other = load_detector(f"coco-ssd:{graph},{config}")
    assert other.name.startswith("coco-ssd:")
    d1, d2 = ssd.detect(skdata.coffee(), []), other.detect(skdata.coffee(), [])
    assert [d.to_dict() for d in d1] == [d.to_dict() for d in d2]
    prov = ssd.provenance()
    assert prov["backend"] == "coco-ssd" and len(prov["weights_sha256"]) == 16
    assert prov["weights_sha256"] == other.provenance()["weights_sha256"]


@pytest.mark.parametrize("spec", ["", "nope", "hf:", "coco-ssd:/no/such.pb",
                                  "groundingdino:only_one", "coco-ssd:a,b,c"])
def test_bad_specs_say_what_was_expected(spec):
    with pytest.raises(ConfigError, match="expected"):
        load_detector(spec)


def test_missing_opencv_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(MissingExtraError, match=r'halluscope\[detect\]'):
        CocoSsdDetector()


@pytest.mark.parametrize("word,node", [
    ("kitten", "cat"), ("kittens", "cat"), ("puppies", "dog"), ("sofa", "couch"),
    ("people", "person"), ("women", "person"), ("teddy bear", "teddy bear"),
    ("a dining table", "dining table"), ("table", "dining table"), ("mugs", "cup"),
    ("the red car", "car"), ("cell phones", "cell phone"), ("rocket", None), ("flag", None),
    ("bus", "bus"), ("buses", "bus"), ("knives", "knife"), ("glasses", None)])
def test_coco_node(word, node):
    assert coco_node(word) == node


def test_singular():
    assert singular("dining tables") == "dining table"
    assert singular("boxes") == "box" and singular("ponies") == "pony"
    assert singular("glass") == "glass" and singular("bus") == "bus"


def test_iou_nms_and_phrase_scores():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 10, 20, 20)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 15, 10)) - 1 / 3) < 1e-9
    dets = [Detection("a", (0, 0, 10, 10), 0.9), Detection("a", (1, 0, 10, 10), 0.8),
            Detection("b", (1, 0, 10, 10), 0.7)]
    assert [d.score for d in nms(dets)] == [0.9, 0.7]
    caption, spans = caption_for(["Teddy  bear", "cat"])
    assert caption == "teddy bear . cat ." and spans == [(0, 10), (13, 16)]
    # tokens: [CLS] teddy bear . cat . [SEP]
    offsets = [(0, 0), (0, 5), (6, 10), (11, 12), (13, 16), (17, 18), (0, 0)]
    probs = np.array([[0.1, 0.2, 0.9, 0.5, 0.1, 0.3, 0.9]])
    assert phrase_scores(probs, offsets, spans).tolist() == [[0.9, 0.1]]


def chelsea_record(tmp_path, response="A dog sleeping on a bed."):
    f = tmp_path / "outputs.jsonl"
    f.write_text("")
    return record_from_dict({"id": "chelsea", "image": str(DATA / "images" / "chelsea.jpg"),
                             "response": response}, file=str(f), line=1)


def test_dog_on_a_bed_for_chelsea_is_hallucinated_with_detector_evidence(tmp_path):
    rec = chelsea_record(tmp_path)
    claims = [Claim("existence", "dog", node="dog"), Claim("existence", "bed", node="bed"),
              Claim("existence", "cat", node="cat")]
    facts = DetectorFacts("coco-ssd", cache=EvidenceCache(tmp_path / "cache")).facts(rec,
                                                                                    claims)
    assert facts.closed_world and facts.provenance["source"] == "detector"
    assert {"dog", "cat"} <= facts.vocabulary and "dog" in facts.absent
    assert [i.label for i in facts.instances] == ["cat"]
    cat = facts.instances[0]
    assert cat.source == "detector" and cat.score > 0.8
    verdicts = {c.subject: decide(c, facts) for c in claims}
    assert verdicts["dog"].label == "hallucinated"
    assert verdicts["cat"].label == "supported"
    ev = verdicts["cat"].evidence[0].to_dict()
    assert ev["source"] == "detector" and ev["label"] == "cat" and len(ev["box"]) == 4
    assert all(e.source == "detector" for e in verdicts["dog"].evidence)


@pytest.mark.slow          # loads spaCy
def test_chelsea_audit_through_the_claim_splitter(tmp_path):
    split = pytest.importorskip("halluscope.claims.splitter")
    try:
        claims = split.split_claims("A dog sleeping on a bed.", "coco")
    except Exception as exc:                          # spaCy model missing etc.
        pytest.skip(f"claim splitter unavailable: {exc}")
    rec = chelsea_record(tmp_path)
    facts = DetectorFacts("coco-ssd", cache=EvidenceCache(None)).facts(rec, claims)
    dog = [c for c in claims if (c.node or c.subject) == "dog" and c.kind == "existence"]
    assert dog, claims
    v = decide(dog[0], facts)
    assert v.label == "hallucinated"
    assert any(e.source == "detector" for e in v.evidence) or v.evidence == ()


def test_unknown_words_stay_unverifiable_and_synonyms_map(tmp_path):
    rec = chelsea_record(tmp_path)
    claims = [Claim("existence", "kitten"), Claim("existence", "rocket launcher"),
              Claim("count", "cat", value=1, node="cat"), Claim("count", "cat", value=2)]
    facts = DetectorFacts("coco-ssd", cache=EvidenceCache(None)).facts(rec, claims)
    assert facts.provenance["asked"] == {"kitten": "cat", "rocket launcher": None, "cat": "cat"}
    assert decide(claims[0], facts).label == "supported"
    assert decide(claims[1], facts).label == "unverifiable"
    assert decide(claims[2], facts).label == "supported"
    assert facts.instances[0].payload == {"detector_label": "cat"}


def test_uncertain_band_is_unverifiable(tmp_path):
    rec = chelsea_record(tmp_path)
    from halluscope.evidence.detect import Thresholds
    df = DetectorFacts("coco-ssd", cache=EvidenceCache(None),
                       thresholds=Thresholds(present=0.5, absent=0.1))
    facts = df.facts(rec, [Claim("existence", "bed", node="bed")])
    assert "bed" not in facts.vocabulary and "bed" in facts.provenance["uncertain"]
    assert decide(Claim("existence", "bed", node="bed"), facts).label == "unverifiable"


def test_a_missing_image_is_an_unreadable_record_not_a_warning(tmp_path):
    from halluscope.errors import UnreadableImage
    f = tmp_path / "x.jsonl"
    rec = record_from_dict({"id": "x", "image": "nope.jpg", "response": "A cat."},
                           file=str(f), line=1)
    df = DetectorFacts("coco-ssd", cache=EvidenceCache(None))
    with pytest.raises(UnreadableImage, match="nope.jpg: not found"):
        df.facts(rec, [])
    no_image = record_from_dict({"id": "y", "response": "A cat."}, file=str(f), line=2)
    assert df.facts(no_image, []) is None


def test_from_config_thresholds_and_segmenter(tmp_path):
    from halluscope.config import AuditConfig
    from halluscope.evidence.detector_facts import from_config
    cfg = AuditConfig(detector="coco-ssd", segmenter="grabcut", cache_dir=tmp_path,
                      options={"detector_present": 0.6, "detector_absent": 0.2})
    df = from_config(cfg)
    assert df.thresholds.present == 0.6 and df.thresholds.absent == 0.2
    assert df.cache.root == tmp_path and df.name == "detector coco-ssd"
    rec = chelsea_record(tmp_path)
    claims = [Claim("attribute", "cat", value="brown", node="cat"),
              Claim("attribute", "cat", value="green", node="cat")]
    facts = df.facts(rec, claims)
    cat = facts.of("cat")[0]
    assert cat.attributes and cat.attributes[0] == "brown"
    assert cat.payload["colour"]["space"].startswith("CIELAB")
    assert decide(claims[0], facts).label == "supported"
    assert decide(claims[1], facts).label == "hallucinated"
    assert df.describe()["segmenter"] == "grabcut"


def test_no_detector_in_config_is_an_error():
    from halluscope.config import AuditConfig
    with pytest.raises(ConfigError, match="detector"):
        DetectorFacts.from_config(AuditConfig())


def test_an_absent_threshold_below_the_floor_lowers_the_floor_and_the_cache_key(tmp_path):
    """With detector_absent=0.03 the SSD's chair on Chelsea (best 0.045, under the backend's
    floor of 0.05) was dropped before the thresholds saw it and read as "best score 0.00 <
    0.03": hallucinated. The lowered floor reaches the detector and the cache key."""
    from halluscope.evidence.detect import Thresholds
    rec = chelsea_record(tmp_path)
    claims = [Claim("existence", "chair", node="chair")]
    cache = EvidenceCache(tmp_path / "cache")
    default = DetectorFacts("coco-ssd", cache=cache)
    assert "chair" in default.facts(rec, claims).absent          # 0.045 < 0.3: absent
    low = DetectorFacts("coco-ssd", cache=cache,
                        thresholds=Thresholds(present=0.04, absent=0.03, floor=0.03))
    facts = low.facts(rec, claims)
    assert low.passes == 1                      # not the default run's cached detections
    assert 0.04 <= facts.provenance["max_scores"]["chair"] < 0.05
    assert "chair" not in facts.absent and decide(claims[0], facts).label == "supported"
