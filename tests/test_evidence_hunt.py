"""A user's bug hunt of the evidence-backed checks: detectors and their cache, region and page
grounding, and the claims metric that uses them. Each test is a case that went wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from halluscope.evidence.cache import EvidenceCache
from halluscope.evidence.detect import Detection, Thresholds
from halluscope.evidence.detector_facts import DetectorFacts
from halluscope.records import record_from_dict
from halluscope.types import Claim
from tests.tiny_detectors import isolated_cache, owl_folder  # noqa: F401
from tests.tiny_detectors import captioned_photos as _photos
from tests.tiny_detectors import interrupted_audit


class FixedDetector:
    """An open-vocabulary detector that returns the detections it was built with."""

    name = "fixed"
    backend = "test"
    vocabulary = None
    thresholds = Thresholds(present=0.5, absent=0.2)

    def __init__(self, detections):
        self.detections = list(detections)
        self.calls = 0

    def detect(self, image, phrases):
        self.calls += 1
        return [d for d in self.detections if d.label in phrases]

    def provenance(self):
        return {"backend": "test", "weights_sha256": "f" * 16}


def _record(tmp_path: Path, size=(30, 20)):
    from PIL import Image
    Image.fromarray(np.full((size[1], size[0], 3), 90, np.uint8)).save(tmp_path / "img.png")
    return record_from_dict({"id": "1", "image": "img.png", "response": "x"},
                            file=str(tmp_path / "out.jsonl"), line=1)


def _verdicts(facts, claims):
    from halluscope.checks import check_claim
    return [check_claim(c, facts) for c in claims]


# -- detections whose box lies outside the image ------------------------------------------------

def test_a_detection_clipped_to_no_area_is_no_instance(tmp_path):
    """A query box that lies outside the image (OWLv2 pads the image to a square and finds
    things in the padding) was clipped to a box of no area, [225, 300, 451, 300] on a 451 x 300
    photo, and kept: "there is a cat" was supported by it and "8 cats" counted such boxes."""
    rec = _record(tmp_path)
    flat = [Detection("cat", (0.0, 20.0, 30.0, 20.0), 0.9),     # below the image, clipped
            Detection("cat", (30.0, 0.0, 30.0, 20.0), 0.8),     # right of it
            Detection("cat", (0.0, 0.0, 0.0, 0.0), 0.7)]
    facts = DetectorFacts(FixedDetector(flat), cache=EvidenceCache(None)).facts(
        rec, [Claim("existence", "cat", node="cat")])
    assert facts.instances == () and "cat" in facts.absent
    (v,) = _verdicts(facts, [Claim("existence", "cat", node="cat")])
    assert v.label == "hallucinated"

    real = flat + [Detection("cat", (2.0, 2.0, 12.0, 12.0), 0.6)]
    facts = DetectorFacts(FixedDetector(real), cache=EvidenceCache(None)).facts(
        rec, [Claim("count", "cat", value=1, node="cat")])
    assert [i.box for i in facts.instances] == [(2.0, 2.0, 12.0, 12.0)]
    assert [v.label for v in _verdicts(facts, [Claim("count", "cat", value=1, node="cat"),
                                               Claim("count", "cat", value=0, node="cat"),
                                               Claim("count", "cat", value=4, node="cat")])] \
        == ["supported", "hallucinated", "unverifiable"]     # a detector's count: at least


def test_the_zero_shot_backends_drop_boxes_clipped_to_no_area():
    from halluscope.evidence.detect import detections_from_scores
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    boxes = np.array([[10, 350, 200, 420], [-50, -40, -10, -5], [10, 10, 60, 60]], float)
    dets = detections_from_scores(scores, boxes, ["cat", "dog"], 451, 300, 0.05)
    assert [(d.label, d.box) for d in dets] == [("dog", (10.0, 10.0, 60.0, 60.0))]


# -- an object the detector is unsure of ----------------------------------------------------------

def test_an_unsure_detection_says_so_not_outside_the_vocabulary(tmp_path):
    """A bed at 0.17 between absent=0.1 and present=0.18 left its claims unverifiable with the
    reason "'bed' is outside the vocabulary of coco-ssd", which names the wrong cause: bed is a
    COCO class, the detector was unsure."""
    rec = _record(tmp_path)
    det = FixedDetector([Detection("bed", (2.0, 2.0, 20.0, 15.0), 0.3),
                         Detection("cat", (1.0, 1.0, 9.0, 9.0), 0.9)])
    claims = [Claim("existence", "bed", node="bed"),
              Claim("attribute", "bed", value="red", node="bed"),
              Claim("count", "bed", value=2, node="bed"),
              Claim("relation", "cat", relation="on", object="bed", node="cat",
                    object_node="bed")]
    facts = DetectorFacts(det, cache=EvidenceCache(None)).facts(rec, claims)
    for v in _verdicts(facts, claims):
        assert v.label == "unverifiable", v
        assert "outside the vocabulary" not in v.reason
        assert "neither present" in v.reason and "0.30" in v.reason and "0.2" in v.reason \
            and "0.5" in v.reason, v.reason


# -- --resume with a detector whose weights changed ---------------------------------------------

def test_a_resume_refuses_a_detector_whose_weights_changed(tmp_path, owl_folder):
    """Killed half way, the detector's checkpoint replaced in its folder (fine-tuned again),
    then --resume: the first half's verdicts came from the old weights and the rest from the
    new, mixed in one result without a word (the journal checked the spec string only)."""
    import shutil

    from halluscope.api import audit
    from halluscope.errors import ConfigError
    path = _photos(tmp_path, 4)
    model = tmp_path / "owl"
    shutil.copytree(owl_folder, model)
    out = tmp_path / "run"
    kw = dict(metrics="claims", detector=f"hf:{model}", out=out, workers=1, n_boot=0,
              write_report=False)
    interrupted_audit(path, **kw)
    config = model / "config.json"
    text = config.read_text()
    config.write_text(text + "\n")                     # other weights, same folder and spec
    with pytest.raises(ConfigError, match="the detector's weights or versions changed"):
        audit(path, resume=True, **kw)
    assert (out / "items.journal.part").is_file()       # left for a resume that matches
    config.write_text(text)                             # the journaled weights again
    audit(path, resume=True, **kw)
    audit(path, **dict(kw, out=tmp_path / "fresh"))
    assert (out / "items.jsonl").read_text() == (tmp_path / "fresh" / "items.jsonl").read_text()


# -- quotes against page text: invisible characters and soft hyphens ----------------------------

@pytest.mark.parametrize("page", [
    "The com\u00ad\nmittee approved the plan.",       # a soft hyphen ending the line
    "The com\u00ad\r\n  mittee approved the plan.",
    "The com\ufffemittee approved the plan.",         # pdfium's mark of a line-end hyphen
    "The com\u00admittee approved the plan.",         # a soft hyphen inside the line
    "The com\u200bmittee approved\u2060 the plan.",   # zero-width space, word joiner
    "\ufeffThe committee approved the plan.",
])
def test_invisible_hyphens_and_spaces_match_exactly(page):
    """Word processors write a word hyphenated at a line end with a soft hyphen (U+00AD), and
    pdfium reads a hyphen that ends a line as U+FFFE: "the committee approved the plan" was
    not found at all on "The com\\u00ad\\nmittee approved the plan." (a right quote
    hallucinated), and found only by the loose match (punctuation dropped) where the
    invisible character sat inside the line."""
    from halluscope.checks.pages import find_in_text
    m = find_in_text("the committee approved the plan", page)
    assert m.found and m.how == "exact", (page, m)
    assert page[m.span[0]:m.span[1]].lower().lstrip("\ufeff").startswith("the com")


def test_a_soft_hyphen_leaves_other_words_apart():
    from halluscope.checks.pages import find_in_text, normalise
    assert normalise("well\u00ad\n42 units") == "well42 units"      # it joins what it splits
    assert normalise("well\u00ad\n(42 units)") == "well (42 units)"  # nothing to join
    assert not find_in_text("the committee", "The com\u00ad mittee").how == "exact"


# -- a cache entry of the wrong shape -------------------------------------------------------------

@pytest.mark.parametrize("bad", [{}, [], "text", {"detections": [{"label": "cat"}],
                                                 "size": [30, 20]},
                                 {"detections": "x", "size": [30, 20]},
                                 {"detections": [{"label": "cat", "box": [1, 2], "score": 1}],
                                  "size": [30, 20]},
                                 {"detections": [], "size": None}])
def test_a_detections_entry_of_the_wrong_shape_is_a_miss(tmp_path, caplog, bad):
    """A cache entry that is JSON but not detections (written by hand, another tool, a disk
    fault) stopped the record's facts ("string indices must be integers"): every claim of the
    record unverifiable, and a one-record audit exited 2 as having decided nothing. It is a
    miss, said with the file, and the detector runs again."""
    import logging
    rec = _record(tmp_path)
    claims = [Claim("existence", "cat", node="cat")]
    cache = EvidenceCache(tmp_path / "cache")
    det = FixedDetector([Detection("cat", (1.0, 1.0, 9.0, 9.0), 0.9)])
    DetectorFacts(det, cache=cache).facts(rec, claims)
    (entry,) = (tmp_path / "cache" / "detections").rglob("*.json")
    entry.write_text(json.dumps(bad))
    with caplog.at_level(logging.WARNING, logger="halluscope.evidence"):
        facts = DetectorFacts(det, cache=cache).facts(rec, claims)
    assert det.calls == 2 and [i.label for i in facts.instances] == ["cat"]
    assert str(entry) in caplog.text
    assert json.loads(entry.read_text())["detections"][0]["label"] == "cat"    # written again


def test_a_bug_in_reading_a_cached_entry_is_not_a_miss(tmp_path, monkeypatch):
    """The cache caught KeyError and TypeError around halluscope's own parsers, so a bug in
    them was a silent miss on every record (the detector run again, the cache never used).
    The entry's shape is checked apart; what the parser then raises propagates."""
    rec = _record(tmp_path)
    claims = [Claim("existence", "cat", node="cat")]
    cache = EvidenceCache(tmp_path / "cache")
    det = FixedDetector([Detection("cat", (1.0, 1.0, 9.0, 9.0), 0.9)])
    DetectorFacts(det, cache=cache).facts(rec, claims)

    def broken(d):
        raise KeyError("a bug in the parser")
    monkeypatch.setattr(Detection, "from_dict", staticmethod(broken))
    with pytest.raises(KeyError, match="a bug in the parser"):
        DetectorFacts(det, cache=cache).facts(rec, claims)
    assert det.calls == 1 and cache.hits == 1 and cache.misses == 1   # the entry was whole


def test_the_cache_checks_an_entrys_shape_before_parsing_it(tmp_path, caplog):
    import logging

    from halluscope.evidence.cache import NUMBER, shape_problem
    from halluscope.evidence.detector_facts import COLOURS_ITEM, DETECTIONS_ENTRY
    good = {"detections": [{"label": "cat", "box": [1, 2.5, 3, 4], "score": 0.9}],
            "size": [30, 20], "extra": "kept"}
    assert shape_problem(good, DETECTIONS_ENTRY) is None
    assert shape_problem({**good, "size": [30.0, 20]}, DETECTIONS_ENTRY) == \
        "expected an integer in the entry['size'][0], got 30.0"
    assert shape_problem([1, True], [NUMBER]) == "expected a number in the entry[1], got True"
    assert shape_problem([{"colour": {"colours": "red"}}], (COLOURS_ITEM,)) == \
        "expected a list in the entry[0]['colour']['colours'], got 'red'"
    assert "a list of 2 items" in shape_problem([{"colour": {"colours": []}}],
                                                (COLOURS_ITEM,) * 2)
    cache = EvidenceCache(tmp_path / "cache")
    cache.put("colours", "k", [{"colour": {"colours": ["red"]}, "mask_area": 3}])
    parsed = []
    with caplog.at_level(logging.WARNING, logger="halluscope.evidence"):
        assert cache.get("colours", "k", parsed.append, shape=(COLOURS_ITEM,) * 2) is None
    assert parsed == [] and "a list of 2 items" in caplog.text     # a miss, never parsed
    assert cache.get("colours", "k", shape=(COLOURS_ITEM,))[0]["mask_area"] == 3


def test_an_ocr_entry_of_the_wrong_shape_is_a_miss(tmp_path, caplog):
    import logging

    from halluscope.evidence.ocr import OcrLine, cached_read

    class Engine:
        name = "fake"
        calls = 0

        def read(self, image):
            self.calls += 1
            return [OcrLine("Total 4,210", (0.0, 0.0, 10.0, 5.0), 0.9)]

        def provenance(self):
            return {"engine": "fake"}

    rgb = np.zeros((8, 8, 3), np.uint8)
    cache, engine = EvidenceCache(tmp_path / "cache"), Engine()
    cached_read(engine, rgb, cache)
    (entry,) = (tmp_path / "cache" / "ocr").rglob("*.json")
    entry.write_text(json.dumps({"lines": 3}))
    with caplog.at_level(logging.WARNING, logger="halluscope.evidence"):
        assert [ln.text for ln in cached_read(engine, rgb, cache)] == ["Total 4,210"]
    assert engine.calls == 2 and str(entry) in caplog.text


# -- threshold options --------------------------------------------------------------------------

@pytest.mark.parametrize("options, said", [
    ({"detector_present": 0.1, "detector_absent": 0.3}, "detector_absent=0.3"),
    ({"detector_present": 1.5}, "detector_present=1.5"),
    ({"detector_absent": -0.1}, "detector_absent=-0.1"),
    ({"detector_present": float("nan")}, "detector_present=nan"),
])
def test_bad_thresholds_name_the_options(options, said):
    """--option detector_present=0.1 --option detector_absent=0.3 said "expected 0 <= floor <=
    absent <= present <= 1, got floor=0.05, ...": no option named, and a floor the user never
    set."""
    from halluscope.config import AuditConfig
    from halluscope.errors import ConfigError
    with pytest.raises(ConfigError) as caught:
        DetectorFacts.from_config(AuditConfig(detector="coco-ssd", options=options))
    message = str(caught.value)
    assert said in message and "--option" in message and "floor" not in message, message


# -- annotation files ---------------------------------------------------------------------------

def _simple_file(tmp_path: Path, boxes, size=(640, 480)) -> Path:
    entry = {"objects": [{"label": lab, "box": box} for lab, box in boxes]}
    if size:
        entry["size"] = list(size)
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({"images": {"w.png": entry}}))
    return path


@pytest.mark.parametrize("size", [(640, 480), None])
def test_normalised_boxes_in_a_simple_annotation_file_are_refused(tmp_path, size):
    """The simple format's boxes are pixels; a file written with fractions of the image
    ([0.1, 0.1, 0.5, 0.5] on a 640 x 480 image) was read as sub-pixel boxes in the top-left
    corner: "the cat is left of the dog" was decided on them, and a right cited box was
    "no cat there: best IoU 0.00"."""
    from halluscope.errors import ConfigError
    from halluscope.evidence.annotations import load_annotations
    path = _simple_file(tmp_path, [("cat", [0.1, 0.1, 0.5, 0.5]),
                                   ("dog", [0.6, 0.2, 0.9, 0.8])], size)
    with pytest.raises(ConfigError) as caught:
        load_annotations(path)
    message = str(caught.value)
    assert str(path) in message and "'w.png'" in message and "pixels" in message
    assert "[0.1, 0.1, 0.5, 0.5]" in message


def test_pixel_boxes_near_the_corner_are_kept(tmp_path):
    from halluscope.evidence.annotations import load_annotations
    path = _simple_file(tmp_path, [("dot", [0, 0, 1, 1]), ("cat", [0.5, 0.5, 1, 1]),
                                   ("dog", [2, 3, 40, 50])])
    load_annotations(path)                   # one box beyond 1: pixels
    load_annotations(_simple_file(tmp_path, [("dot", [0, 0, 1, 1])]))     # whole numbers


# -- documents ----------------------------------------------------------------------------------

REPORT = Path(__file__).resolve().parents[1] / "data" / "docs" / "report.pdf"


def _page_image(path: Path) -> Path:
    from PIL import Image
    Image.new("RGB", (60, 40), "white").save(path)
    return path


def _page_errors(tmp_path: Path, document, response: str) -> list[dict]:
    from halluscope.api import audit
    path = tmp_path / "doc.jsonl"
    path.write_text(json.dumps({"id": "d", "task": "document", "document": document,
                                "response": response}) + "\n")
    try:
        result = audit(path, metrics="page", n_boot=0, write_report=False, workers=1)
    except Exception as exc:                     # noqa: BLE001 - nothing scored: exit 2
        from halluscope.errors import ConfigError, InputError
        assert isinstance(exc, (ConfigError, InputError)), exc
        return [{"message": str(exc), "field": "document"}]
    return result.errors


def test_a_pdf_inside_a_list_of_page_images_is_named(tmp_path):
    """["report.pdf", "scan.png"]: the 3-page PDF was read as one page image that no one
    opened, so the document had 2 pages; "p. 4" (the scan) was counted a fabricated page and
    "p. 2" was checked against the scan, not the PDF's page 2."""
    shutil = pytest.importorskip("shutil")
    shutil.copy(REPORT, tmp_path / "report.pdf")
    _page_image(tmp_path / "scan.png")
    errors = _page_errors(tmp_path, ["report.pdf", "scan.png"],
                          "See p. 2 and p. 4.")
    assert len(errors) == 1 and errors[0]["field"] == "document"
    assert "report.pdf" in errors[0]["message"] and "PDF" in errors[0]["message"]


def test_a_page_that_is_no_image_file_is_named_even_when_not_cited(tmp_path):
    """["scan.png", "notes.txt"]: notes.txt counted as page 2 (a file that cannot be read was
    given one frame), so "p. 2" existed; the record is a bad record naming it."""
    _page_image(tmp_path / "scan.png")
    (tmp_path / "notes.txt").write_text("The committee approved the plan.")
    errors = _page_errors(tmp_path, ["scan.png", "notes.txt"], "See p. 2 for the plan.")
    assert len(errors) == 1 and "notes.txt" in errors[0]["message"]


@pytest.mark.parametrize("document", ["", "  ", ["scan.png", ""]])
def test_an_empty_document_path_says_so(tmp_path, document):
    """document "" was read as the input's folder and said "expected a PDF or page images as
    the document, got .", naming a path the user never wrote."""
    _page_image(tmp_path / "scan.png")
    errors = _page_errors(tmp_path, document, "See p. 1.")
    message = errors[0]["message"] if len(errors) == 1 else errors
    assert str(tmp_path) not in message and "an empty path" in message, message


def test_a_detected_count_says_detected(tmp_path):
    """"cat: 8 annotated, not 2" on a detector's boxes named annotations the user never gave."""
    rec = _record(tmp_path)
    det = FixedDetector([Detection("cat", (1.0, 1.0, 9.0, 9.0), 0.9),
                         Detection("cat", (15.0, 5.0, 28.0, 18.0), 0.8)])
    claims = [Claim("count", "cat", value=2, node="cat"), Claim("count", "cat", value=3,
                                                               node="cat")]
    facts = DetectorFacts(det, cache=EvidenceCache(None), counts="exact").facts(rec, claims)
    assert [(v.label, v.reason) for v in _verdicts(facts, claims)] == [
        ("supported", "cat: 2 detected"), ("hallucinated", "cat: 2 detected, not 3")]


@pytest.mark.parametrize("response, on", [
    ('He says "Supply costs rose" (pp. 1-30).', True),        # past MAX_RANGE pages
    ('{"page": "1-40", "quote": "Supply costs rose"}', True),
    ('He says "Supply costs rose" (pp. 1-25), "Staff grew" (p. 1).', True),
    ('He says "Supply costs rose" (pp. 4-30).', False),       # the range misses page 3
])
def test_a_quote_inside_a_long_cited_range_is_found_there(response, on):
    """A range of more than 20 pages cites its two ends only (for the fabricated-page count),
    and the quote was then looked for on those two pages alone: "pp. 1-30" with the quote on
    page 3 was "not on p. 1, 30; found on page 3", a right citation hallucinated."""
    from halluscope.checks.pages import check_pages
    from halluscope.evidence.documents import Document
    rec = record_from_dict({"id": "1", "task": "document", "document": str(REPORT),
                            "response": response})
    doc = Document(REPORT)
    quotes = [v for v in check_pages(rec, doc) if v.checker == "page-quote"]
    first = quotes[0]
    assert (first.label == "supported") is on, first.reason
    if on:
        assert first.evidence[0].payload["page"] == 3


# -- the device option ------------------------------------------------------------------------------

@pytest.mark.parametrize("device", ["foo", "cuda:x"])
def test_a_device_torch_does_not_know_is_a_usage_error(device):
    from halluscope.errors import ConfigError
    from halluscope.evidence.detect import torch_device
    pytest.importorskip("torch")
    with pytest.raises(ConfigError, match=f"option 'device'.*{device}"):
        torch_device(device)


def test_a_gpu_this_machine_lacks_is_a_usage_error(monkeypatch):
    torch = pytest.importorskip("torch")
    from halluscope.errors import ConfigError
    from halluscope.evidence.detect import torch_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA"):
        torch_device("cuda")
    assert torch_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert torch_device("cuda:0") == "cuda:0"
    with pytest.raises(ConfigError, match="cuda:3.*1 CUDA device"):
        torch_device("cuda:3")


def test_a_bad_device_stops_the_audit_instead_of_each_record(tmp_path, owl_folder):
    """--option device=foo (or cuda on a machine without a GPU): the detector failed on every
    record, each a warning ("facts provider ... failed on record a: Expected one of cpu, cuda,
    ..."), and the audit went on with every claim unverifiable."""
    from halluscope.api import audit
    from halluscope.errors import ConfigError
    path = _photos(tmp_path, 2)
    with pytest.raises(ConfigError, match="option 'device'"):
        audit(path, metrics="claims", detector=f"hf:{owl_folder}", options={"device": "foo"},
              n_boot=0, write_report=False, workers=1)


# -- a detector that fails on one image ----------------------------------------------------------

class FailingDetector(FixedDetector):
    """Fails on images of one pixel, as GroundingDINO's batch norm does."""

    def detect(self, image, phrases):
        from halluscope.evidence.detect import load_rgb
        if load_rgb(image).shape[:2] == (1, 1):
            raise ValueError("Expected more than 1 value per channel when training, got "
                             "input size [1, 32, 1, 1]")
        return super().detect(image, phrases)


def test_a_detector_failing_on_an_image_makes_a_bad_record_naming_it(tmp_path):
    """GroundingDINO fails on a 1 x 1 image: the claims metric warned and gave every claim
    "no evidence source knows this image" (nothing in results.json), and the region metric
    stopped the audit as an internal error (exit 3)."""
    from PIL import Image

    from halluscope.errors import RecordError
    from halluscope.evidence.providers import gather_facts
    Image.new("RGB", (1, 1), "red").save(tmp_path / "dot.png")
    rec = record_from_dict({"id": "1", "image": "dot.png", "response": "x"},
                           file=str(tmp_path / "out.jsonl"), line=4)
    facts = DetectorFacts(FailingDetector([]), cache=EvidenceCache(None))
    claims = [Claim("existence", "cat", node="cat")]
    with pytest.raises(RecordError) as caught:
        gather_facts([facts], rec, claims)
    err = caught.value
    assert err.location.field == "image" and "fixed" in err.message
    assert "1 value per channel" in err.message and "dot.png" in err.message
    assert str(err).startswith(f"{tmp_path / 'out.jsonl'}:4") or err.location.line in (None, 4)


def test_both_metrics_list_the_image_a_detector_fails_on(tmp_path, owl_folder, monkeypatch):
    from PIL import Image

    from halluscope.api import audit
    from halluscope.evidence import detect_hf
    path = _photos(tmp_path, 2)
    Image.new("RGB", (1, 1), "red").save(tmp_path / "dot.png")
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    rows.append({"id": "dot", "image": "dot.png", "response": "The cat is at [0, 0, 1, 1]."})
    rows[0]["response"] = "A dog sits on a bed at [1, 1, 40, 30]."
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    real = detect_hf.HFZeroShotDetector.detect

    def detect(self, image, phrases):
        from halluscope.evidence.detect import load_rgb
        if load_rgb(image).shape[:2] == (1, 1):
            raise ValueError("Expected more than 1 value per channel when training")
        return real(self, image, phrases)
    monkeypatch.setattr(detect_hf.HFZeroShotDetector, "detect", detect)
    result = audit(path, metrics="claims,region", detector=f"hf:{owl_folder}", n_boot=0,
                   write_report=False, workers=1)
    bad = [(e["line"], e["field"], e["metric"]) for e in result.errors]
    assert sorted(bad) == [(3, "image", "claims"), (3, "image", "region")], result.errors
    assert all("1 value per channel" in e["message"] for e in result.errors)


def test_a_detector_that_cannot_load_is_a_usage_error(tmp_path, monkeypatch):
    """Weights of another shape ("size mismatch for ...") raised a RuntimeError on the first
    record: a warning per record, every claim unverifiable."""
    from halluscope.errors import ConfigError
    from halluscope.evidence import detector_facts

    def load(spec, **kw):
        raise RuntimeError("Error(s) in loading state_dict: size mismatch for bbox_embed")
    monkeypatch.setattr(detector_facts, "load_detector", load)
    rec = _record(tmp_path)
    facts = DetectorFacts("hf:/nowhere/owl", cache=EvidenceCache(None))
    with pytest.raises(ConfigError, match="cannot load the detector hf:/nowhere/owl: "
                                          "RuntimeError: .*size mismatch"):
        facts.facts(rec, [Claim("existence", "cat", node="cat")])


@pytest.mark.parametrize("quote, page", [
    ("the 2019-2020 season", "It was the 2019-\n2020 season."),
    ("COVID-19 cases rose", "The COVID-\n19 cases rose."),
    ("pages 10-12 say", "pages 10\u2013\n  12 say"),
    ("the committee met", "The com-\nmittee met."),         # a hyphenation still goes
])
def test_a_dash_beside_a_digit_at_a_line_end_stays(quote, page):
    """A dash ending a line beside a digit is written, not a hyphenation: "2019-\\n2020" was
    read as "2019- 2020", and the quote "the 2019-2020 season" was found nowhere (not even
    by the loose match)."""
    from halluscope.checks.pages import find_in_text
    m = find_in_text(quote, page)
    assert m.found and m.how == "exact", (quote, page, m)


# -- weights replaced with their size and modification time kept ----------------------------------

@pytest.mark.parametrize("how", ["in place", "renamed over"])
def test_weights_replaced_with_size_and_mtime_kept_are_hashed_again(tmp_path, how):
    """A fine-tuned checkpoint of the same architecture has the same size; copied over the old
    one with its time kept (cp -p, rsync -a, an archive), the remembered hash (path, size,
    mtime) was served: the evidence cache then gave the old weights' detections."""
    import os

    from halluscope.evidence.cache import weights_hash
    folder = tmp_path / "model"
    folder.mkdir()
    weights = folder / "model.safetensors"
    weights.write_bytes(b"old weights")
    stamp = (1_700_000_000, 1_700_000_000)
    os.utime(weights, stamp)
    before = weights_hash(folder)
    if how == "in place":
        weights.write_bytes(b"new weights")
    else:
        other = tmp_path / "other.safetensors"
        other.write_bytes(b"new weights")
        os.utime(other, stamp)
        os.replace(other, weights)
    os.utime(weights, stamp)
    assert weights.stat().st_size == len(b"old weights")
    assert weights_hash(folder) != before


def test_a_resume_scores_again_an_image_replaced_with_size_and_mtime_kept(tmp_path):
    """An image replaced after the kill by another of the same byte size with its time kept
    (cp -p of a BMP or an uncompressed TIFF of the same dimensions): the journal compared
    size and modification time only, so the resume replayed the old image's verdicts."""
    import os

    from halluscope.journal import file_stamps
    image = tmp_path / "a.bmp"
    image.write_bytes(b"B" * 64)
    os.utime(image, (1_700_000_000, 1_700_000_000))
    before = file_stamps([image])
    other = tmp_path / "b.bmp"
    other.write_bytes(b"C" * 64)
    os.utime(other, (1_700_000_000, 1_700_000_000))
    os.replace(other, image)
    assert file_stamps([image]) != before
    assert file_stamps([image]) == file_stamps([image])


# -- one coordinate convention per response ------------------------------------------------------

def test_the_boxes_of_one_response_are_read_in_one_convention():
    """auto decided box by box: in "the cat is at [100, 100, 300, 300] and the dog at [700, 500,
    900, 700]" on a 640 x 480 image the cat was read as pixels and the dog as 0-1000, a mixture
    no model writes, which let each box match in whichever convention suited it (both
    supported, precision 1.0 from two conventions)."""
    from halluscope.checks.regions import Truth, check_box
    from halluscope.claims.citations import parse_cited_boxes
    text = "The cat is at [100, 100, 300, 300] and the dog at [700, 500, 900, 700]."
    boxes = parse_cited_boxes(text, size=(640, 480), known=["cat", "dog"])
    assert {b.coords for b in boxes} == {"norm1000"}      # 700 passes the 640-pixel width
    assert len({b.coords for b in boxes}) == 1, [(b.raw, b.coords) for b in boxes]
    truth = Truth(objects=[{"label": "cat", "box": (100, 100, 300, 300), "source": "annotation"},
                           {"label": "dog", "box": (448, 240, 576, 336), "source": "annotation"}],
                  size=(640, 480))
    assert [check_box(b, truth).label for b in boxes].count("supported") == 1
    # all within [0, 1] only together: a 1-pixel box beside pixel boxes is pixels
    mixed = parse_cited_boxes("A dot [0, 0, 1, 1] and a cat [100, 100, 300, 300].",
                              size=(640, 480), known=["dot", "cat"])
    assert [b.coords for b in mixed] == ["ambiguous", "ambiguous"]     # (pixels or 0-1000)
    # a keyed box keeps its format (Gemini's box_2d beside plain boxes)
    keyed = parse_cited_boxes('{"box_2d": [208, 156, 625, 468], "label": "cat"} and a dog '
                              '[0.1, 0.1, 0.3, 0.3]', size=(640, 480), known=["cat", "dog"])
    assert sorted(b.coords for b in keyed) == ["norm", "norm1000"]
