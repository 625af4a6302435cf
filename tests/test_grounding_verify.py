"""Region and page grounding: what the verification stage reads and how the rates count (second
user-style bug hunt on grounding: n over units, truth boxes, image sizes, unknown images,
options, long detector labels)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import halluscope

DATA = Path(__file__).resolve().parents[1] / "data"
ASTRONAUT = str(DATA / "images" / "astronaut.jpg")


def _write(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _audit(tmp_path, rows, metric, **kw):
    kw.setdefault("n_boot", 0)
    return halluscope.audit(_write(tmp_path / "in.jsonl", rows), metrics=metric,
                            out=tmp_path / "o", write_report=False, **kw)


#: The pixel boxes below also fit the 512 x 512 astronaut as 0-1000 (auto: ambiguous).
PX = {"box_format": "pixels"}


def _items(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "o" / "items.jsonl").open()]


# -- item 8: n is the number of units a rate is over ---------------------------------------------

def test_region_rates_count_their_units_not_records(tmp_path):
    """Three records; hand-worked: record a cites two right boxes (the dog R1, the cat R2) and
    was offered a second dog R3 it did not box; record b cites region 4, never offered; record c
    cites nothing. precision 2/3 over 3 decided citations, recall 2/4 over the 4 known instances
    of the cited objects (a: dog R1, cat R2, dog R3; b: dog R1), fabricated_id_rate 1/1 over one
    cited id: n was 3 (the records) for all three, and one id got an interval."""
    offered = [{"id": 1, "box": [100, 100, 300, 300], "label": "dog"},
               {"id": 2, "box": [300, 300, 400, 400], "label": "cat"},
               {"id": 3, "box": [350, 20, 450, 120], "label": "dog"}]
    rows = [{"id": "a", "image": ASTRONAUT, "image_id": 1,
             "response": "The dog is at [100, 100, 300, 300]. The cat is at [300, 300, 400, 400].",
             "metadata": {"regions": offered, **PX}},
            {"id": "b", "image": ASTRONAUT, "image_id": 2, "response": "The dog is in region 4.",
             "metadata": {"regions": offered[:1]}},
            {"id": "c", "image": ASTRONAUT, "image_id": 3, "response": "A dog.",
             "metadata": {"regions": offered[:1]}}]
    res = _audit(tmp_path, rows, "region", n_boot=50).metrics["region"].results
    got = {k: (res[k].value, res[k].n) for k in ("precision", "recall", "fabricated_id_rate")}
    assert got == {"precision": (pytest.approx(2 / 3), 3), "recall": (0.5, 4),
                   "fabricated_id_rate": (1.0, 1)}
    assert res["fabricated_id_rate"].ci is None
    assert res["fabricated_id_rate"].ci_note == "no interval: n=1 units, fewer than 10"
    assert res["citations"].value == 3


def test_page_rates_count_their_units_not_records(tmp_path):
    """Five records on the 3-page report, hand-worked: five citations (one each), three correct
    (pages 1 and 2 alone; 185 found on page 2); pages cited 1, 3, 9, 2, 2, of which 9 does not
    exist; quotes and numbers: "Costs fell sharply" (not on page 3) and 185 (on page 2)."""
    shutil.copy(DATA / "docs" / "report.pdf", tmp_path / "report.pdf")
    doc = str(tmp_path / "report.pdf")
    texts = ["See page 1.", 'The report says "Costs fell sharply" (p. 3).',
             "Page 9 lists the risks.", "See page 2.", "Staff grew to 185 people (p. 2)."]
    rows = [{"id": f"d{i}", "task": "document", "document": doc, "response": t}
            for i, t in enumerate(texts)]
    res = _audit(tmp_path, rows, "page", n_boot=50).metrics["page"].results
    got = {k: (res[k].value, res[k].n)
           for k in ("citation_accuracy", "quote_support_rate", "fabricated_page_rate")}
    assert got == {"citation_accuracy": (0.6, 5), "quote_support_rate": (0.5, 2),
                   "fabricated_page_rate": (0.2, 5)}
    assert res["quote_support_rate"].ci is None
    assert res["quote_support_rate"].ci_note == "no interval: n=2 units, fewer than 10"


# -- item 17: a number option that is not a number is a usage error -------------------------------

@pytest.mark.parametrize("metric,key,value,expected", [
    ("region", "region_iou", "abc", "option 'region_iou' of metric 'region': expected float, "
                                    "got 'abc'"),
    ("page", "ocr_dpi", "abc", "option 'ocr_dpi' of metric 'page': expected int, got 'abc'"),
    ("page", "ocr_dpi", "7.5", "option 'ocr_dpi' of metric 'page': expected int, got '7.5'"),
    ("region", "detector_present", "abc", "option 'detector_present': expected a number "
                                          "(float), got 'abc'"),
    ("region", "detector_absent", "low", "option 'detector_absent': expected a number "
                                         "(float), got 'low'"),
    ("region", "image_size", "big", "option 'image_size': expected a whole number (int), "
                                    "got 'big'"),
])
def test_number_options_that_are_not_numbers_are_usage_errors(tmp_path, metric, key, value,
                                                              expected):
    """They stopped the audit as an internal error (ValueError, exit 3)."""
    from halluscope.errors import ConfigError
    kw = {"detector": "coco-ssd"} if key.startswith(("detector", "image")) else {}
    rows = [{"id": "a", "image": ASTRONAUT, "response": "The person is at [10, 10, 370, 510]."}]
    with pytest.raises(ConfigError) as info:
        _audit(tmp_path, rows, metric, options={key: value}, **kw)
    assert str(info.value) == expected


def test_a_number_option_that_is_not_a_number_exits_2_on_the_command_line(tmp_path):
    from typer.testing import CliRunner
    from halluscope.cli import app
    path = _write(tmp_path / "in.jsonl", [{"id": "a", "image": ASTRONAUT,
                                           "response": "The person is at [10, 10, 370, 510]."}])
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "region", "--option",
                                   "region_iou=abc", "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 2, res.output
    assert "region_iou" in res.output and "expected float, got 'abc'" in res.output


# -- item 6: ground-truth boxes in metadata are checked as annotation boxes are --------------------

@pytest.mark.parametrize("box,why", [
    ([300, 300, 100, 100], "x2 > x1 and y2 > y1"),       # inverted: a right box was hallucinated
    ([0, 0, 0, 0], "x2 > x1 and y2 > y1"),               # a placeholder of no area: the same
    ([100, 100, 300, 100], "x2 > x1 and y2 > y1"),       # a line
    ([100, 100, 300], "four finite numbers"),            # dropped in silence: unverifiable
    ("100,100,300,300", "four finite numbers"),          # the same
    (["100", "100", "300", "300"], "four finite numbers"),
    ([True, 100, 300, 300], "four finite numbers"),
])
def test_bad_truth_boxes_in_metadata_regions_are_bad_records(tmp_path, box, why):
    good = [{"id": 1, "box": [100, 100, 300, 300], "label": "dog"}]
    rows = [{"id": "bad", "image": ASTRONAUT, "response": "The dog is at [100, 100, 300, 300].",
             "metadata": {"regions": [{"id": 1, "box": box, "label": "dog"}], **PX}},
            {"id": "ok", "image": ASTRONAUT, "response": "The dog is at [100, 100, 300, 300].",
             "metadata": {"regions": good, **PX}}]
    result = _audit(tmp_path, rows, "region")
    (err,) = result.errors
    assert (Path(err["file"]).name, err["line"], err["field"]) == (
        "in.jsonl", 1, "metadata.regions[0].box")
    assert why in err["message"] and "got" in err["message"]
    res = result.metrics["region"].results
    assert (res["precision"].value, res["precision"].n, res["citations"].value) == (1.0, 1, 1)


def test_bad_truth_boxes_in_metadata_objects_are_bad_records(tmp_path):
    rows = [{"id": "bad", "image": ASTRONAUT, "response": "The dog is at [100, 100, 300, 300].",
             "metadata": {"objects": [{"label": "dog", "box": [100, 100, 300, 300]},
                                      {"label": "cat", "box": [50, 50, 10, 10]}]}}]
    result = _audit(tmp_path, rows, "region")
    assert [(e["line"], e["field"]) for e in result.errors] == [(1, "metadata.objects[1].box")]


# -- item 15: a size in metadata is two numbers >= 1 ---------------------------------------------

@pytest.mark.parametrize("meta,field", [
    ({"image_size": [0, 0]}, "metadata.image_size"),        # scaled the box to nothing
    ({"image_size": ["wide", "tall"]}, "metadata.image_size"),   # exit 3
    ({"image_size": [None, 512]}, "metadata.image_size"),        # exit 3
    ({"image_size": [512]}, "metadata.image_size"),
    ({"image_size": "512x512"}, "metadata.image_size"),
    ({"size": [512, float("nan")]}, "metadata.size"),
    ({"width": 0, "height": 512}, "metadata.width"),
    ({"width": "512", "height": 512}, "metadata.width"),
])
def test_a_bad_image_size_in_metadata_is_a_bad_record(tmp_path, meta, field):
    regions = [{"id": 1, "box": [51, 51, 256, 256], "label": "dog"}]
    rows = [{"id": "bad", "image": ASTRONAUT, "response": "The dog is at [0.1, 0.1, 0.5, 0.5].",
             "metadata": {**meta, "regions": regions}},
            {"id": "ok", "image": ASTRONAUT, "response": "The dog is at [0.1, 0.1, 0.5, 0.5].",
             "metadata": {"image_size": [512, 512], "regions": regions}}]
    result = _audit(tmp_path, rows, "region")
    (err,) = result.errors
    assert (Path(err["file"]).name, err["line"], err["field"]) == ("in.jsonl", 1, field)
    assert "in pixels, two numbers >= 1, got" in err["message"]
    # the good record: [0.1, 0.1, 0.5, 0.5] of 512 x 512 is [51.2, 51.2, 256, 256], IoU with
    # [51, 51, 256, 256] = 204.8^2 / (205 * 205) = 0.998
    res = result.metrics["region"].results
    assert (res["precision"].value, res["precision"].n) == (1.0, 1)


def test_a_size_key_that_is_not_a_pair_is_not_read_as_the_image_size(tmp_path):
    """``metadata.size`` may mean something else (a file size): only a pair is a size."""
    rows = [{"id": "a", "image": ASTRONAUT, "response": "The dog is at [0.1, 0.1, 0.5, 0.5].",
             "metadata": {"size": "large", "regions": [{"id": 1, "box": [51, 51, 256, 256],
                                                        "label": "dog"}]}}]
    result = _audit(tmp_path, rows, "region")
    assert result.errors == [] and _items(tmp_path)[0]["region"]["image_size"] == [512, 512]


# -- item 12: the annotation file's image size scales normalised boxes ---------------------------

def test_the_annotation_files_image_size_scales_normalised_boxes(tmp_path):
    """The image is a URL (no file to read its size from); the annotation file says 512 x 512.
    [0.1953, 0.1953, 0.5859, 0.5859] x 512 = [99.99, 99.99, 299.98, 299.98]: IoU with the dog's
    [100, 100, 300, 300] is 199.98^2 / 200^2 = 0.9998, supported. It was 'no image size to
    scale it' while items.jsonl showed image_size [512, 512]."""
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"images": {"x.jpg": {"size": [512, 512], "objects": [
        {"label": "dog", "box": [100, 100, 300, 300]}]}}}))
    rows = [{"id": "u", "image": "https://example.com/x.jpg",
             "response": "The dog is at [0.1953, 0.1953, 0.5859, 0.5859]."}]
    result = _audit(tmp_path, rows, "region", annotations=[ann])
    region = _items(tmp_path)[0]["region"]
    assert region["image_size"] == [512, 512]
    assert region["boxes"][0]["box"] == [99.99, 99.99, 299.98, 299.98]
    assert region["boxes"][0]["verdict"] == "supported"
    assert result.metrics["region"].results["precision"].value == 1.0


# -- item 11: an image no annotation file knows, with them the only evidence ---------------------

def test_an_image_no_annotation_file_knows_is_a_bad_record_for_region(tmp_path):
    """As for claims: the typo img_01.jpg was scored, its citation unverifiable, errors empty."""
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"images": {"img_001.jpg": {"size": [512, 512], "objects": [
        {"label": "dog", "box": [100, 100, 300, 300]}]}}}))
    for name in ("img_001.jpg", "img_01.jpg"):
        shutil.copy(ASTRONAUT, tmp_path / name)
    rows = [{"id": "known", "image": "img_001.jpg",
             "response": "The dog is at [100, 100, 300, 300].", "metadata": PX},
            {"id": "typo", "image": "img_01.jpg",
             "response": "The dog is at [100, 100, 300, 300].", "metadata": PX},
            {"id": "own", "image": "img_01.jpg",       # its own regions: it has evidence
             "response": "The dog is at [100, 100, 300, 300].",
             "metadata": {"regions": [{"id": 1, "box": [100, 100, 300, 300], "label": "dog"}],
                          **PX}}]
    result = _audit(tmp_path, rows, "region", annotations=[ann])
    (err,) = result.errors
    assert (err["line"], err["field"]) == (2, "image")
    assert err["message"] == (f"expected an image the annotation files know, got 'img_01.jpg', "
                              f"in none of {ann} (looked up as img_01.jpg, typo)")
    res = result.metrics["region"].results
    assert (res["precision"].value, res["precision"].n, res["unverifiable"].value) == (1.0, 2, 0)


# -- item 16: a long cited label never stops an audit with an OWL detector -----------------------

def test_a_long_cited_label_sent_to_owlv2_does_not_stop_the_audit(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.tiny_detectors import build_owlv2
    owl = build_owlv2(tmp_path / "owl")
    label = "dog cat bed cup person helmet flag dog cat bed cup person helmet flag dog cat bed"
    rows = [{"id": "short", "image": ASTRONAUT, "response": "The dog is at [100, 100, 300, 300]."},
            {"id": "long", "image": ASTRONAUT,
             "response": json.dumps([{"bbox_2d": [100, 100, 300, 300], "label": label}])}]
    result = _audit(tmp_path, rows, "region", detector=f"hf:{owl}", cache_dir=tmp_path / "c")
    assert result.errors == []
    items = {i["id"]: i for i in _items(tmp_path)}
    assert [c["subject"] for c in items["long"]["claims"]] == [label]
    assert result.metrics["region"].results["citations"].value == 2     # both scored


# -- item 19 (claims): a detector's absence says which detector, its best score, its threshold ----
_BELOW = " (detector coco-ssd: best score 0.12, below its absent threshold 0.3)"

def _detector_facts():
    from halluscope.types import ImageFacts, Instance
    return ImageFacts(key="sha", instances=(Instance("cat", (10, 10, 90, 90), score=0.91,
                                                     source="detector"),),
                      absent=frozenset({"dog"}), vocabulary=frozenset({"cat", "dog"}),
                      closed_world=True,
                      provenance={"source": "detector", "name": "coco-ssd",
                                  "thresholds": {"present": 0.5, "absent": 0.3},
                                  "max_scores": {"cat": 0.91, "dog": 0.12}})


@pytest.mark.parametrize("kind,value,reason", [
    ("existence", None, "no dog detected" + _BELOW),
    ("count", 2, "there is no dog at all" + _BELOW),
    ("attribute", "brown", "there is no dog to be brown" + _BELOW),
])
def test_a_detectors_absence_gives_its_score_and_threshold(kind, value, reason):
    """It read "dog is listed as absent", as an annotation's absence, with neither."""
    from halluscope.checks import check_claim
    from halluscope.types import Claim
    v = check_claim(Claim(kind=kind, subject="dog", value=value, node="dog"), _detector_facts())
    assert (v.label, v.reason) == ("hallucinated", reason)
    (ev,) = v.evidence
    assert ev.to_dict() == {"source": "detector", "label": "dog", "score": 0.12, "absent": True,
                            "below": 0.3, "provenance": {"name": "coco-ssd"}}


def test_an_annotations_absence_is_still_listed_as_absent():
    from halluscope.checks import check_claim
    from halluscope.types import Claim, ImageFacts
    facts = ImageFacts(key="k", absent=frozenset({"dog"}),
                       provenance={"source": "annotation", "name": "user"})
    v = check_claim(Claim(kind="existence", subject="dog", node="dog"), facts)
    assert (v.label, v.reason) == ("hallucinated", "dog is listed as absent")
    assert v.evidence[0].score is None and "below" not in v.evidence[0].payload


def test_a_coordinate_too_large_for_a_float_is_an_input_error_everywhere():
    """A 400-digit integer overflowed ``math.isfinite`` in the annotation-file reader, an
    internal error (exit 3); the three readers of boxes now share one shape test."""
    from halluscope.checks.regions import _truth_box
    from halluscope.claims.citations import finite_box
    from halluscope.errors import ConfigError, RecordError
    from halluscope.evidence.annotations import _simple_box
    huge = [0, 0, 10**400, 5]
    assert finite_box(huge) is None and finite_box((1, 2, 3, 4)) == [1.0, 2.0, 3.0, 4.0]
    assert finite_box([1, 2, True, 4]) is None
    with pytest.raises(ConfigError, match="as finite numbers"):
        _simple_box(huge, "objects.json: dog.jpg")
    with pytest.raises(RecordError, match="four finite numbers"):
        _truth_box(huge, "regions[0].box")


def test_a_page_metric_without_a_dpi_uses_the_default():
    from halluscope.metrics.grounding import PageMetric
    assert PageMetric(dpi=None).dpi == 200 and PageMetric(dpi="300").dpi == 300


def test_the_progress_count_skips_the_lines_the_reader_skips(tmp_path):
    from halluscope.readers import count_input_records
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\xc2\xa0\n  \n{"b": 2}\n\xff\n')
    assert count_input_records(path) == 3        # two records and a line that is not UTF-8


def test_a_records_citations_are_found_once_for_applies_to_and_the_verifier(monkeypatch):
    """RegionMetric.applies_to found the citations, then the verifier found them again: now
    they are found once per response (its JSON scanned once for boxes, once for region ids)
    and only read again with the image size and known labels, with the same verdicts."""
    from halluscope.claims import citations, cited_json, cited_regions
    from halluscope.metrics.grounding import RegionMetric
    from halluscope.records import record_from_dict
    text = ('{"bbox_2d": [100, 100, 300, 300], "label": "dog"} and the cat in region 2; '
            'a dog at [0.1, 0.1, 0.2, 0.2].')
    rec = record_from_dict({"id": "x", "image": ASTRONAUT, "response": text, "metadata": {
        "regions": [{"id": 2, "box": [300, 300, 400, 400], "label": "cat"}],
        "image_size": [512, 512]}})            # the file's own size (another is a bad record)
    scans = []
    real = cited_json.all_blobs
    for module in (citations, cited_regions):       # boxes and region ids, each its own scan
        monkeypatch.setattr(module, "all_blobs", lambda t, keys: scans.append(keys) or real(t, keys))
    citations._boxes_in.cache_clear()
    cited_regions._regions_in.cache_clear()
    metric = RegionMetric(n_boot=0)
    assert metric.applies_to(rec)
    verified = metric.verifier.verify(rec)
    assert sorted(scans) == sorted([citations.BOX_KEY_HINTS + citations.NAMED_KEYS,
                                    citations.REGION_KEY_HINTS])
    assert [(b.label, b.coords, b.box) for b in verified.boxes] == [
        ("dog", "pixels", (100.0, 100.0, 300.0, 300.0)),
        ("dog", "norm", (51.2, 51.2, 102.4, 102.4))]
    assert [(r.id, r.label) for r in verified.regions] == [("2", "cat")]
    assert [v.label for v in verified.verdicts] == ["unverifiable", "unverifiable", "supported"]


def test_an_exif_turned_photo_is_checked_upright(tmp_path):
    """Chelsea stored on her side with EXIF orientation 6: a viewer, and `halluscope query`,
    show the model the upright 451 x 300 picture, but the audit read the stored 300 x 451
    one, so the model's right box [9, 0, 408, 297] was read as 0-1000 and hallucinated."""
    from PIL import Image

    from halluscope.imageio import image_size, open_image
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(DATA / "images" / "chelsea.jpg").transpose(Image.Transpose.ROTATE_90).save(
        path, exif=exif.tobytes(), quality=95)
    assert Image.open(path).size == (300, 451)
    assert image_size(path) == (451, 300) and open_image(path).size == (451, 300)
    # the evidence of the stored picture is not served: the cache keys hold the version of
    # the decoding rules (test_detect_cache: ..._decoding_rules_misses_every_pixel_cache)
    _audit(tmp_path, [{"id": "a", "image": str(path),
                       "response": "The cat [9, 0, 408, 297] is here.",
                       # (pixels: on 451 x 300 it fits as 0-1000 too; read on the stored
                       # 300 x 451 picture it would pass the edge, hallucinated)
                       "metadata": {"objects": [{"label": "cat", "box": [9, 0, 408, 297]}],
                                    **PX}}],
           "region")
    (item,) = _items(tmp_path)
    assert item["region"]["image_size"] == [451, 300]
    assert [b["verdict"] for b in item["region"]["boxes"]] == ["supported"]


def test_annotations_of_another_size_of_the_image_make_a_bad_record(tmp_path):
    """The annotation file boxes Chelsea at 451 x 300; the record's file is a 902 x 600 copy:
    the model's right box on that file was hallucinated (IoU 0.24 against the small box)."""
    from PIL import Image
    Image.open(DATA / "images" / "chelsea.jpg").resize((902, 600)).save(tmp_path / "chelsea.jpg")
    ann = _write(tmp_path / "ann.json", [])
    ann.write_text(json.dumps({"images": {"chelsea.jpg": {
        "size": [451, 300], "objects": [{"label": "cat", "box": [9, 0, 408, 297]}]}}}))
    result = _audit(tmp_path, [{"id": "a", "image": str(tmp_path / "chelsea.jpg"),
                                "response": "The cat [18, 0, 816, 594] is here."}],
                    "region", annotations=[ann])
    (err,) = result.errors
    assert err["field"] == "image" and "902x600 image" in err["message"] \
        and "gives 451x300" in err["message"]


def test_annotations_of_the_stored_sideways_size_say_so(tmp_path):
    """Chelsea stored on her side (EXIF orientation 6) is checked upright at 451 x 300; an
    annotation file that gives the stored 300 x 451 was reported as "another copy" of the
    image, which sent the user looking for a resized file. It stays a bad record (its boxes
    are in the sideways frame), with the right reason."""
    from PIL import Image
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(DATA / "images" / "chelsea.jpg").transpose(Image.Transpose.ROTATE_90).save(
        path, exif=exif.tobytes(), quality=95)
    ann = _write(tmp_path / "ann.json", [])
    ann.write_text(json.dumps({"images": {"turned.jpg": {
        "size": [300, 451], "objects": [{"label": "cat", "box": [0, 9, 297, 408]}]}}}))
    result = _audit(tmp_path, [{"id": "a", "image": str(path),
                                "response": "The cat [9, 0, 408, 297] is here."}],
                    "region", annotations=[ann])
    (err,) = result.errors
    msg = err["message"]
    assert err["field"] == "image" and "451x300 image" in msg and "gives 300x451" in msg
    assert "another copy" not in msg and "EXIF orientation (6)" in msg
    assert "stored size" in msg and "annotate the upright image" in msg
