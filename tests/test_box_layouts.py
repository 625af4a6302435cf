"""Cited boxes as [x, y, width, height] (COCO's bbox) and the box forms real models write.

A COCO-style {"bbox": [x, y, w, h]} was read as corners [x1, y1, x2, y2]: a right box could be
scored hallucinated. Under auto a JSON bbox is now decided by documented rules or listed as an
ambiguous (unverifiable) citation; --box-format xywh, xywh-norm, xywh-norm1000 fix it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import halluscope
from halluscope.claims.citations import BOX_FORMATS, parse_cited_boxes

DATA = Path(__file__).resolve().parents[1] / "data"
SIZE = (640, 480)
#: An image 1000 pixels a side, where a box reads the same in pixels and in 0-1000: the auto
#: layout rules are tested on it (on 640 x 480, [100, 100, 200, 150] fits as both scales, so
#: its scale is ambiguous whatever its layout).
SQUARE = (1000, 1000)


def boxes(text, box_format="auto", size=SIZE, known=("cat", "dog")):
    return parse_cited_boxes(text, size=size, box_format=box_format, known=list(known))


def test_the_formats():
    assert BOX_FORMATS == ("auto", "pixels", "norm", "norm1000", "xywh", "xywh-norm",
                           "xywh-norm1000")


def test_a_bbox_both_readings_fit_is_ambiguous_never_a_guess():
    (b,) = boxes('{"bbox": [100, 100, 200, 150], "label": "cat"}')
    assert b.layout == "ambiguous" and b.box is None
    kind, reason = b.malformed
    assert kind == "ambiguous layout"
    assert "[x, y, width, height]" in reason and "--box-format" in reason
    (b,) = boxes('{"bbox": [100, 100, 200, 150], "label": "cat"}', size=None)
    assert b.layout == "ambiguous"            # no image size: nothing decides it


def test_a_bbox_that_cannot_be_corners_is_x_y_w_h():
    """Rule 1: one box of the response is no corners box; every box fits as x, y, w, h."""
    a, b = boxes('[{"bbox": [100, 100, 200, 150], "label": "cat"}, '
                 '{"bbox": [350, 20, 100, 60], "label": "dog"}]', size=SQUARE)
    assert (a.layout, a.box) == ("xywh", (100, 100, 300, 250))
    assert (b.layout, b.box) == ("xywh", (350, 20, 450, 80))
    assert a.malformed is None and b.malformed is None
    # no corners and no x, y, w, h inside the image either: ambiguous
    (c,) = boxes('{"bbox": [950, 20, 100, 60], "label": "dog"}', size=SQUARE)
    assert c.layout == "ambiguous"


def test_a_bbox_whose_x_y_w_h_reading_leaves_the_image_is_corners():
    """Rule 2: [300, 200, 900, 750] as x, y, w, h would end at (1200, 950) on 1000 x 1000."""
    (b,) = boxes('{"bbox": [300, 200, 900, 750], "label": "cat"}', size=SQUARE)
    assert (b.layout, b.box, b.malformed) == ("xyxy", (300, 200, 900, 750), None)
    (b,) = boxes('{"bbox": [0.5, 0.5, 0.9, 0.9], "label": "cat"}')     # fractions
    assert (b.layout, b.coords) == ("xyxy", "norm")
    assert b.box == pytest.approx((320, 240, 576, 432))


def test_box_format_xywh_fixes_bbox_box_and_prose_not_corner_forms():
    text = ('{"bbox": [100, 100, 200, 150], "label": "cat"} and a dog [10, 20, 30, 40], '
            '<ref>dog</ref><box>(100,100),(500,500)</box>')
    a, b, c = boxes(text, "xywh")
    assert (a.layout, a.box) == ("xywh", (100, 100, 300, 250))
    assert (b.layout, b.box) == ("xywh", (10, 20, 40, 60))
    assert c.layout == "xyxy" and c.coords == "pixels"      # two corner points stay corners
    (n,) = boxes('{"box": [0.25, 0.5, 0.5, 0.25], "label": "cat"}', "xywh-norm")
    assert n.box == pytest.approx((160, 240, 480, 360))
    (k,) = boxes('{"box": [250, 500, 500, 250], "label": "cat"}', "xywh-norm1000")
    assert k.box == pytest.approx((160, 240, 480, 360)) and k.coords == "norm1000"
    (p,) = boxes('{"bbox": [300, 200, 600, 450], "label": "cat"}', "pixels")
    assert p.layout == "xyxy"                # a fixed corners format is never ambiguous


def test_keys_that_say_their_layout():
    a, b = boxes('[{"bbox_xywh": [100, 100, 200, 150], "label": "cat"}, '
                 '{"xyxy": [100, 100, 200, 150], "label": "dog"}]', size=SQUARE)
    assert (a.layout, a.box) == ("xywh", (100, 100, 300, 250))
    assert (b.layout, b.box) == ("xyxy", (100, 100, 200, 150))
    (c,) = boxes('{"bbox_2d": [100, 100, 200, 150], "label": "cat"}', "xywh")
    assert c.layout == "xyxy"              # Qwen2.5-VL's bbox_2d is corners by definition


def test_x_y_w_h_without_size_is_malformed_not_a_box():
    (b,) = boxes('{"xywh": [100, 100, -20, 50], "label": "cat"}', size=SQUARE)
    assert b.malformed[0] == "negative size"
    (b,) = boxes('{"xywh": [100, 100, 0, 50], "label": "cat"}', size=SQUARE)
    assert b.malformed == ("zero area", "a malformed citation: the box [100, 100, 0, 50] has "
                                        "zero area (width 0)")


def test_swapped_prose_corners_say_how_to_read_x_y_w_h():
    (b,) = boxes("The cat is at [300, 50, 100, 80].")
    kind, reason = b.malformed
    assert kind == "corners swapped" and "--box-format xywh" in reason


# -- what real models write ---------------------------------------------------------------------

def test_qwen_vl_boxes_over_1000():
    (b,) = boxes("<ref>cat</ref><box>(100,200),(500,800)</box>")
    assert (b.coords, b.label) == ("norm1000", "cat")
    assert b.box == pytest.approx((64, 96, 320, 384))
    (q,) = boxes("<|object_ref_start|>dog<|object_ref_end|><|box_start|>(100,200),(500,800)"
                 "<|box_end|>")
    assert q.box == pytest.approx((64, 96, 320, 384)) and q.label == "dog"


def test_shikra_fractions_and_ferret_over_1000():
    (s,) = boxes("A cat [0.102,0.215,0.503,0.811] sits there.")       # Shikra
    assert s.coords == "norm" and s.label == "cat"
    assert s.box == pytest.approx((65.28, 103.2, 321.92, 389.28))
    # Ferret writes [x1, y1, x2, y2] over 0-999; within the image's pixels auto cannot tell
    (f,) = boxes("A cat [102, 215, 503, 811].", "norm1000")
    assert f.box == pytest.approx((65.28, 103.2, 321.92, 389.28))


def test_kosmos2_patch_tokens_as_transformers_reads_them():
    text = ("An image of<phrase> a snowman</phrase><object><patch_index_0044>"
            "<patch_index_0863></object> warming himself by<phrase> a fire</phrase><object>"
            "<patch_index_0005><patch_index_0911></delimiter_of_multi_objects/>"
            "<patch_index_0640><patch_index_0671></object>.")
    a, b, c = boxes(text, known=["snowman", "fire"])
    assert (a.format, a.coords, a.label) == ("kosmos", "norm", "snowman")
    assert a.label_written.strip() == "a snowman"      # the phrase as written stays
    assert a.raw == pytest.approx((12.5 / 32, 1.5 / 32, 31.5 / 32, 26.5 / 32))
    assert b.label == c.label == "fire"
    assert c.raw == pytest.approx((0, 20 / 32, 1, 21 / 32))        # one row: the cells' edges
    try:
        from transformers.models.kosmos2.processing_kosmos2 import patch_index_to_coordinate
    except ImportError:
        return
    assert a.raw == pytest.approx(patch_index_to_coordinate(44, 863, 32))
    assert b.raw == pytest.approx(patch_index_to_coordinate(5, 911, 32))
    assert c.raw == pytest.approx(patch_index_to_coordinate(640, 671, 32))
    # box_format does not rescale patch cells; an index off the grid is an unread citation
    assert boxes(text, "pixels", known=["snowman"])[0].raw == a.raw
    (u,) = boxes("<object><patch_index_1024><patch_index_0001></object>")
    assert u.coords == "unread"


def test_gpt4o_style_json_list():
    text = ('```json\n[{"label": "cat", "bbox": [120, 80, 260, 300]},\n'
            ' {"label": "dog", "bbox": [300, 200, 620, 470]}]\n```')
    a, b = boxes(text)
    assert a.layout == b.layout == "xyxy"   # [300, 200, 620, 470] as x, y, w, h leaves the image


# -- end to end ---------------------------------------------------------------------------------

def _audit(tmp_path, response, **meta):
    row = {"id": "a", "task": "vqa", "image": str(DATA / "images" / "astronaut.jpg"),
           "prompt": "p", "response": response,
           "metadata": {"objects": [{"label": "cat", "box": [100, 100, 300, 250]}], **meta}}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(row) + "\n")
    result = halluscope.audit(path, metrics="region", out=tmp_path / "o", write_report=False,
                              n_boot=0)
    return result.items[0]["region"], result


def test_a_coco_bbox_is_no_longer_scored_hallucinated(tmp_path):
    """[100, 100, 200, 150] as x, y, w, h is the cat at [100, 100, 300, 250]: read as corners
    it had IoU 0.17 and was hallucinated."""
    cited = '{"bbox": [100, 100, 200, 150], "label": "cat"}'
    item, _ = _audit(tmp_path, cited)
    (box,) = item["boxes"]
    assert box["verdict"] == "unverifiable" and box["layout"] == "ambiguous"
    assert "--box-format" in box["reason"]
    item, result = _audit(tmp_path, cited, box_format="xywh")
    assert item["boxes"][0]["verdict"] == "supported"
    assert result.metrics["region"].results["precision"].value == 1.0


def test_the_report_says_a_box_was_read_as_x_y_w_h():
    from halluscope.report.boxreading import WrittenBoxes
    written = WrittenBoxes([{"box": [100, 100, 300, 250], "raw": [100, 100, 200, 150],
                             "coords": "pixels", "layout": "xywh", "format": "plain"}])
    assert written.take([100, 100, 300, 250]) == (
        "[100, 100, 200, 150]", "read as x, y, width, height: [100, 100, 300, 250] px")


# -- JSON objects that name their coordinates ---------------------------------------------------

@pytest.mark.parametrize("text,layout,box", [
    ('{"label": "cat", "x": 100, "y": 100, "w": 200, "h": 150}', "xywh", (100, 100, 300, 250)),
    ('{"label": "cat", "x": 100, "y": 100, "width": 200, "height": 150}', "xywh",
     (100, 100, 300, 250)),
    ('{"label": "cat", "x1": 100, "y1": 100, "x2": 200, "y2": 150}', "xyxy",
     (100, 100, 200, 150)),
    ('{"label": "cat", "xmin": 100, "ymin": 100, "xmax": 200, "ymax": 150}', "xyxy",
     (100, 100, 200, 150)),
    ('{"label": "cat", "left": 100, "top": 100, "right": 200, "bottom": 150}', "xyxy",
     (100, 100, 200, 150)),
    # the box as an object under a key, the label beside it (GPT-4o's usual JSON answer)
    ('[{"object": "cat", "bounding_box": {"x": 100, "y": 100, "width": 200, "height": 150}}]',
     "xywh", (100, 100, 300, 250)),
    ('{"label": "cat", "bbox": {"xmin": 100, "ymin": 100, "xmax": 200, "ymax": 150}}', "xyxy",
     (100, 100, 200, 150)),
    ('Here: {"x": 100, "y": 100, "w": 200, "h": 150, "label": "cat"} done.', "xywh",
     (100, 100, 300, 250)),
])
def test_named_coordinates_say_their_layout(text, layout, box):
    """A box written as {"x": .., "y": .., "w": .., "h": ..} or with named corners was not
    read at all (or, under a "bbox" key, listed as unread): the names say the layout."""
    (b,) = boxes(text, size=SQUARE)
    assert (b.layout, b.box, b.label, b.malformed) == (layout, box, "cat", None)
    assert b.format == "json" and b.coords == "pixels"
    assert "cat" not in text[b.span[0]:b.span[1]]          # the label's word stays prose


def test_named_coordinates_take_the_scale_rules():
    (f,) = boxes('{"label": "cat", "x": 0.25, "y": 0.5, "w": 0.5, "h": 0.25}')   # auto: 0-1
    assert (f.coords, f.layout) == ("norm", "xywh")
    assert f.box == pytest.approx((160, 240, 480, 360))
    (k,) = boxes('{"label": "cat", "xmin": 250, "ymin": 500, "xmax": 750, "ymax": 750}',
                 "norm1000")
    assert k.box == pytest.approx((160, 240, 480, 360)) and k.layout == "xyxy"
    (p,) = boxes('{"label": "cat", "x": 100, "y": 100, "w": 200, "h": 150}', "pixels")
    assert p.layout == "xywh"            # a fixed corners format does not rename the names


@pytest.mark.parametrize("text,kind,word", [
    ('{"label": "cat", "x": 100, "y": 100, "w": 200}', "missing coordinate", "h"),
    ('{"label": "cat", "xmin": 100, "ymax": 150}', "missing coordinate", "ymin"),
    ('{"label": "cat", "x": 100, "y": "100px", "w": 200, "h": 150}', "non-numeric coordinate",
     '"100px"'),
    ('{"label": "cat", "bbox": {"x1": 100, "y1": null, "x2": 200, "y2": 150}}',
     "non-numeric coordinate", "null"),
    ('{"label": "cat", "x": 100, "y": 100, "w": true, "h": 150}', "non-numeric coordinate",
     "true"),
])
def test_named_coordinates_missing_or_not_numbers_are_malformed(text, kind, word):
    (b,) = boxes(text)
    assert b.box is None and b.label == "cat"
    got, reason = b.malformed
    assert got == kind and word in reason and reason.startswith("a malformed citation")


def test_a_point_or_a_size_is_no_box():
    assert boxes('{"label": "cat", "x": 100, "y": 100}') == []
    assert boxes('{"image": {"width": 640, "height": 480}}') == []


def test_a_malformed_named_box_is_tallied(tmp_path):
    from halluscope.metrics.grounding import RegionMetric
    from halluscope.records import record_from_dict
    meta = {"image_size": [640, 480],
            "objects": [{"label": "cat", "box": [100, 100, 300, 250]}]}

    def score(response, **more):
        rec = record_from_dict({"id": "1", "response": response, "metadata": {**meta, **more}},
                               file="out.jsonl", line=1)
        return RegionMetric(n_boot=0).score(rec)
    item = score('{"label": "cat", "x": 100, "y": 100, "w": 200}')
    (claim,) = item.top["claims"]
    assert claim["verdict"] == "unverifiable" and "no h" in claim["reason"], claim
    assert item.tallies["malformed_citations"] == {"missing coordinate": 1}
    item = score('{"label": "cat", "x": 100, "y": 100, "w": 200, "h": 150}', box_format="pixels")
    assert [c["verdict"] for c in item.top["claims"]] == ["supported"]
    item, _ = _audit(tmp_path, '{"label": "cat", "x": 100, "y": 100, "w": 200, "h": 150}',
                     box_format="pixels")
    assert item["boxes"][0]["verdict"] == "supported"


# -- the scale: pixels or 0-1000 -----------------------------------------------------------------

def test_ferret_boxes_over_0_999_are_ambiguous_never_read_as_pixels(tmp_path, caplog):
    """Ferret writes corners over 0-999: on a 640 x 480 image the cat's [100, 100, 500, 450]
    (the pixels [64, 48, 320, 216]) fitted the image, so auto read it as pixels and scored it
    hallucinated (IoU 0.16), while the dog's [600, 500, 900, 900] beside it passed the edge and
    was read right: precision 0.5 from a guess. Every value fitting the image both ways is now
    an ambiguous citation; --box-format norm1000 reads both."""
    from PIL import Image
    Image.new("RGB", (640, 480)).save(tmp_path / "grey.png")
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"images": {"grey.png": {"size": [640, 480], "objects": [
        {"label": "cat", "box": [64, 48, 320, 216]}, {"label": "dog", "box": [384, 240, 576, 432]}]}}}))
    rows = [{"id": "cat", "image": "grey.png", "model": "ferret-7b",
             "response": "There is a cat [100, 100, 500, 450] on the left."},
            {"id": "dog", "image": "grey.png", "model": "ferret-7b",
             "response": "There is a dog [600, 500, 900, 900] on the right."}]
    path = tmp_path / "outputs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def run(**options):
        res = halluscope.audit(path, metrics="region", annotations=[ann], n_boot=0,
                               out=tmp_path / "o", write_report=False, options=options)
        return res, [b["verdict"] for i in res.items for b in i["region"]["boxes"]]
    with caplog.at_level(logging.WARNING, logger="halluscope"):
        res, verdicts = run()
    # said, not only counted: a run of such boxes read as a table of unverifiable citations
    (said,) = [r.getMessage() for r in caplog.records if "could not be read" in r.getMessage()]
    assert "1 cited box" in said and "ambiguous scale 1" in said and "--box-format" in said
    assert verdicts == ["unverifiable", "supported"]
    (cat,) = res.items[0]["region"]["boxes"]
    assert cat["coords"] == "ambiguous" and "--box-format" in cat["reason"]
    region = res.metrics["region"]
    assert region.tallies["malformed_citations"] == {"ambiguous scale": 1}
    assert region.results["precision"].value == 1.0 and region.results["precision"].n == 1
    res, verdicts = run(box_format="norm1000")
    assert verdicts == ["supported", "supported"]


@pytest.mark.parametrize("size,coords", [
    ((1000, 1000), "pixels"), ((1003, 998), "pixels"),     # both readings the same pixels
    ((1024, 768), "ambiguous"), ((640, 480), "ambiguous"),
    ((1500, 1500), "ambiguous"),                           # fits as 0-1000 as well
])
def test_a_box_is_ambiguous_only_where_its_two_readings_differ(size, coords):
    (b,) = boxes("A cat [100, 100, 400, 450].", size=size)
    assert b.coords == coords
    assert boxes("A cat [100, 100, 400, 1450].", size=(1500, 1500))[0].coords == "pixels"
    # no image size: nothing tells pixels from 0-1000 (a value over 1000 does)
    assert boxes("A cat [100, 100, 400, 450].", size=None)[0].coords == "ambiguous"
    assert boxes("A cat [100, 100, 400, 1450].", size=None)[0].coords == "pixels"


# -- JSON keys in any spelling ------------------------------------------------------------------

@pytest.mark.parametrize("text,label,box", [
    ('[{"BBox": [100, 100, 300, 250], "Label": "cat"}]', "cat", (100, 100, 300, 250)),
    ('[{"BOX": [100, 100, 300, 250], "NAME": "cat"}]', "cat", (100, 100, 300, 250)),
    # Gemini: [ymin, xmin, ymax, xmax] over 1000, whatever the case of its key
    ('[{"Box_2D": [100, 100, 250, 300], "Label": "cat"}]', "cat", (100, 100, 300, 250)),
    ('[{"BBOX_2D": [100, 100, 300, 250], "label": "cat"}]', "cat", (100, 100, 300, 250)),
    ('[{"bounding_box": [100, 100, 300, 250], "label": "cat"}]', "cat", (100, 100, 300, 250)),
    ('Here: {"boundingBox": [100, 100, 300, 250], "Category": "cat"} done.', "cat",
     (100, 100, 300, 250)),
])
def test_json_box_and_label_keys_are_read_in_any_case(text, label, box):
    """Only lower-case keys were read: Gemini's {"Box_2D": ..., "Label": ...} cited nothing
    (the box was dropped, the record scored without it), "bounding_box": [...] neither."""
    (b,) = boxes(text, "pixels" if "2D" not in text.upper() else "auto", size=SQUARE)
    assert (b.label, b.box, b.malformed) == (label, box, None)
    assert b.format == "json" and text[b.span[0]:b.span[1]].startswith('"')


def test_bounding_box_is_laid_out_as_bbox_is():
    """Its name says no layout: under auto it is decided as a COCO bbox, ambiguous when both
    layouts fit."""
    (b,) = boxes('{"bounding_box": [100, 100, 200, 150], "label": "cat"}', size=SQUARE)
    assert b.layout == "ambiguous" and b.malformed[0] == "ambiguous layout"


def test_two_boxes_or_two_labels_in_one_object_are_never_chosen_between():
    """{"bbox": A, "bbox_2d": B} was read as B, silently; now a malformed citation."""
    (b,) = boxes('[{"bbox": [1, 2, 30, 40], "bbox_2d": [100, 100, 300, 250], "label": "cat"}]')
    assert b.box is None and b.label == "cat"
    kind, reason = b.malformed
    assert kind == "conflicting boxes" and '"bbox": [1, 2, 30, 40]' in reason
    (same,) = boxes('[{"bbox": [100, 100, 300, 250], "BBox": [100, 100, 300, 250], '
                    '"label": "cat"}]', "pixels")
    assert same.box == (100, 100, 300, 250) and same.malformed is None
    (two,) = boxes('[{"bbox": [100, 100, 300, 250], "Label": "dog", "label": "cat"}]', "pixels")
    assert two.label is None                       # not one of them: its object is not known


def test_region_keys_in_any_case():
    from halluscope.claims.citations import parse_cited_regions
    for text in ('{"Region": 3, "Label": "dog"}', '{"REGION_ID": "R3", "label": "dog"}',
                 '{"regionId": 3, "label": "dog"}'):
        assert [(r.id, r.label) for r in parse_cited_regions(text)] == [("3", "dog")], text


def test_gemini_keys_in_capitals_are_scored_end_to_end(tmp_path):
    cited = '```json\n[{"Box_2D": [195, 195, 488, 586], "Label": "cat"}]\n```'
    item, result = _audit(tmp_path, cited)       # astronaut.jpg: 512 x 512; the cat's box
    assert [b["verdict"] for b in item["boxes"]] == ["supported"]     # [100, 100, 300, 250]
    assert result.metrics["region"].results["precision"].value == 1.0
