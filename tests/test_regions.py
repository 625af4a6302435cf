"""Parsing cited boxes and region ids in every supported format, and deciding them."""

from __future__ import annotations

import pytest

from halluscope.checks.regions import Truth, check_box, check_region, truth_from_metadata
from halluscope.claims.citations import (CitedBox, CitedRegion, norm_region_id, parse_cited_boxes,
                                         parse_cited_regions, same_object)
from halluscope.errors import ConfigError

SIZE = (512, 400)


def boxes(text, **kw):
    kw.setdefault("size", SIZE)
    return parse_cited_boxes(text, **kw)


def test_plain_pixel_box_with_its_label():
    (b,) = boxes("The dog is at [10, 20, 110, 220].", box_format="pixels")
    assert b.box == (10, 20, 110, 220) and b.label == "dog" and b.format == "plain"
    assert b.coords == "pixels" and "[10, 20, 110, 220]" == "The dog is at [10, 20, 110, 220]."[
        b.span[0]:b.span[1]]


def test_normalised_fractions():
    (b,) = boxes("a cat [0.1, 0.2, 0.5, 0.75]")
    assert b.coords == "norm" and b.box == pytest.approx((51.2, 80, 256, 300))
    (b,) = boxes("a cat [0.1, 0.2, 0.5, 0.75]", size=None)
    assert b.box is None and b.raw == (0.1, 0.2, 0.5, 0.75)


def test_auto_detects_0_to_1000_when_values_exceed_the_image():
    (b,) = boxes("the bed [100, 500, 900, 950]")
    assert b.coords == "norm1000" and b.box == pytest.approx((51.2, 200, 460.8, 380))
    # fits the image as pixels and as 0-1000, two other boxes: ambiguous, never a guess
    (b,) = boxes("the bed [100, 50, 300, 350]")
    assert b.coords == "ambiguous" and b.box is None
    assert b.malformed[0] == "ambiguous scale" and "--box-format" in b.malformed[1]
    (b,) = boxes("the bed [100, 50, 300, 1350]")            # over 1000: no 0-1000 box
    assert b.coords == "pixels"
    (b,) = boxes("the bed [100, 50, 300, 350]", box_format="pixels")
    assert b.box == (100, 50, 300, 350)
    (b,) = boxes("the bed [100, 50, 300, 350]", box_format="norm1000")
    assert b.box == pytest.approx((51.2, 20, 153.6, 140))
    with pytest.raises(ConfigError):
        boxes("x [1,2,3,4]", box_format="inches")


def test_qwen_box_tokens_are_0_to_1000():
    text = ("<|object_ref_start|>the flag<|object_ref_end|><|box_start|>(0,0),(185,999)"
            "<|box_end|> and <|box_start|>(500,500),(1000,1000)<|box_end|>")
    a, b = boxes(text, known=["flag"])
    assert a.format == "qwen" and a.label == "flag" and a.label_written == "the flag"
    assert a.box == pytest.approx((0, 0, 94.72, 399.6))
    assert b.box == pytest.approx((256, 200, 512, 400))


def test_internvl_and_qwen_vl_tags():
    text = "<ref>woman</ref><box>[[20, 20, 720, 996]]</box>, <ref>dog</ref><box>(1,2),(3,4)</box>"
    a, b = boxes(text)
    assert a.label == "woman" and a.format == "tag" and a.coords == "norm1000"
    assert b.label == "dog" and b.raw == (1, 2, 3, 4)
    assert len(boxes("<box>[[1,2,3,4],[5,6,7,8]]</box>")) == 2


def test_json_outputs():
    text = ('[{"bbox_2d": [10, 20, 100, 200], "label": "cat"}, '
            '{"box_2d": [100, 50, 900, 500], "label": "dog"}, '
            '{"bbox": [0.1, 0.1, 0.2, 0.2], "name": "cup"}]')
    a, b, c = boxes(text)
    assert (a.label, a.coords, a.box) == ("cat", "pixels", (10, 20, 100, 200))
    assert b.coords == "norm1000" and b.box == pytest.approx((25.6, 40, 256, 360))  # y first
    assert c.label == "cup" and c.coords == "norm"
    assert text[a.span[0]:a.span[1]].startswith('"bbox_2d"')
    fenced = 'Here:\n```json\n{"objects": [{"box": [1, 2, 30, 40], "category": "bird"}]}\n```'
    (d,) = boxes(fenced, box_format="pixels")
    assert d.label == "bird" and d.box == (1, 2, 30, 40)


def test_known_labels_win_over_the_last_word():
    (b,) = boxes("The teddy bear sitting quietly at [1, 2, 3, 4]", known=["teddy bear"])
    assert b.label == "teddy bear"
    (b,) = boxes("The dogs are at [1, 2, 3, 4]", known=["dog"])
    assert b.label == "dog"
    (b,) = boxes("Something sits at [1, 2, 3, 4]")
    assert b.label == "something"


def test_region_ids():
    text = ("The astronaut [R1] stands before the flag (R2), beside <region7>; "
            "see regions 3 and 5, and Region #12.")
    got = parse_cited_regions(text, known=["flag", "astronaut"])
    assert [r.id for r in got] == ["1", "2", "7", "3", "5", "12"]
    assert got[0].label == "astronaut" and got[1].label == "flag"
    js = parse_cited_regions('{"answer": [{"region_id": "R04", "label": "cup"}]}')
    assert js == [CitedRegion("4", "cup", js[0].span)]
    assert norm_region_id("Region 07") == "7" and norm_region_id("r3") == "3"
    assert norm_region_id("a") == "a"


def test_same_object():
    assert same_object("dogs", "dog") and same_object("astronaut", "person")
    assert same_object("sofa", "couch") and not same_object("cat", "dog")
    assert not same_object(None, "dog")


@pytest.fixture
def truth():
    return truth_from_metadata({
        "regions": [{"id": 1, "box": [11, 10, 370, 510], "label": "person"},
                    {"id": "R2", "box": [0, 0, 95, 512], "label": "flag"}],
        "objects": [{"label": "helmet", "box": [195, 330, 360, 512]}, "space shuttle"],
        "absent": ["dog"]}, (512, 512))


def test_truth_from_metadata(truth):
    assert set(truth.regions) == {"1", "2"}
    assert truth.labels() == ["helmet", "space shuttle", "person", "flag"]
    assert truth.absent == {"dog"}


def cited(box, label):
    return CitedBox(tuple(box), tuple(box), label, (0, 0), "plain", "pixels")


def test_box_supported_when_iou_reaches_the_threshold(truth):
    v = check_box(cited([20, 20, 360, 500], "woman"), truth)
    assert v.label == "supported" and v.claim.kind == "region"
    assert v.evidence[0].payload["iou"] > 0.9 and v.evidence[0].payload["region"] == 1
    v = check_box(cited([195, 330, 360, 512], "helmet"), truth, iou_threshold=0.99)
    assert v.label == "supported"


def test_box_on_the_wrong_place_is_a_region_hallucination(truth):
    v = check_box(cited([300, 0, 500, 100], "helmet"), truth)
    assert v.label == "hallucinated" and "best IoU" in v.reason
    assert v.evidence and v.evidence[0].label == "helmet"


def test_box_of_an_absent_object_and_of_an_unknown_one(truth):
    assert check_box(cited([1, 1, 50, 50], "dog"), truth).label == "hallucinated"
    v = check_box(cited([1, 1, 50, 50], "balloon"), truth)
    assert v.label == "unverifiable"
    v = check_box(CitedBox((0.1, 0.1, 0.2, 0.2), None, "flag", (0, 0), "plain", "norm"),
                  truth)
    assert v.label == "unverifiable" and "image size" in v.reason


def test_a_box_whose_object_is_not_read_is_never_supported(truth):
    """It was supported by whatever object it overlapped (the flag's box, cited for a cat the
    parser did not read, 'matched the flag'): now unverifiable, on the flag or anywhere."""
    for box in ([0, 0, 95, 510], [300, 0, 500, 100]):
        v = check_box(cited(box, None), truth)
        assert v.label == "unverifiable" and "could not be read" in v.reason
    # outside the image it is no real box, whatever its object
    assert check_box(cited([600, 0, 700, 100], None), truth).label == "hallucinated"


def test_region_ids_decisions(truth):
    ok = check_region(CitedRegion("2", "flag", (0, 0)), truth)
    assert ok.label == "supported" and ok.evidence[0].box == (0, 0, 95, 512)
    fake = check_region(CitedRegion("5", "helmet", (0, 0)), truth)
    assert fake.label == "hallucinated" and fake.evidence[0].payload["fabricated"]
    assert "never offered" in fake.reason
    wrong = check_region(CitedRegion("2", "helmet", (0, 0)), truth)
    assert wrong.label == "hallucinated" and "holds the flag" in wrong.reason
    odd = check_region(CitedRegion("1", "astronaut", (0, 0)), truth)
    assert odd.label == "supported"
    none = check_region(CitedRegion("1", None, (0, 0)), Truth())
    assert none.label == "unverifiable"
    empty = check_region(CitedRegion("1", None, (0, 0)), Truth(regions={}))
    assert empty.label == "hallucinated"


def test_citations_outside_a_json_block_count_as_well():
    """A JSON citation made every prose citation of the same response invisible: a box for an
    absent dog, or a region id never offered, beside a fenced JSON block went unchecked."""
    text = ('```json\n{"label": "person", "bbox": [11, 10, 370, 510]}\n```\n'
            'Also a dog at [400, 50, 500, 150], in [R9].')
    boxes = parse_cited_boxes(text, size=(512, 512), known=["person", "dog"])
    assert [(b.format, b.label) for b in boxes] == [("json", "person"), ("plain", "dog")]
    regions = parse_cited_regions('```json\n{"region": 1, "label": "person"}\n```\n'
                                  'The helmet is in [R9].', known=["helmet"])
    assert [r.id for r in regions] == ["1", "9"]


def test_an_inline_gemini_box_keeps_its_axes():
    """JSON inline in a sentence is read by the prose parser: Gemini's box_2d ([y1, x1, y2, x2]
    over 1000) was read as [x1, y1, x2, y2], and a right box was judged hallucinated."""
    whole = parse_cited_boxes('{"label": "flag", "box_2d": [0, 0, 1000, 186]}', size=(512, 512))
    inline = parse_cited_boxes('The flag: {"label": "flag", "box_2d": [0, 0, 1000, 186]}',
                               size=(512, 512), known=["flag"])
    assert [b.box for b in inline] == [b.box for b in whole]
    assert inline[0].coords == "norm1000"


def test_a_label_with_an_article_is_the_same_object():
    """'<ref>the flag</ref>' did not match an annotated (non-COCO) flag: unverifiable."""
    assert same_object("the flag", "flag") and same_object("The flags", "flag")
    assert not same_object("the", "flag")


@pytest.mark.parametrize("metadata, field, message", [
    ({"objects": [{"label": "cat", "box": [9, 0, 408, 2970]}]}, "metadata.objects[0].box",
     "inside the 451x300 image"),
    ({"regions": [{"id": 1, "label": "cat", "box": [900, 600, 1000, 700]}]},
     "metadata.regions[0].box", "reaches past the 451x300 image"),
    ({"objects": [{"name": "cat", "box": [9, 0, 408, 297]}]}, "metadata.objects[0]",
     "expected an object {'label'"),
    ({"objects": ["cat", 5]}, "metadata.objects[1]", "or a label, got 5"),
])
def test_truth_that_cannot_hold_is_a_bad_record(metadata, field, message):
    """A truth box past the image (other coordinates) made the right citation [9, 0, 408, 297]
    hallucinated (IoU 0.10); an object entry without a label was dropped in silence."""
    from halluscope.errors import RecordError
    with pytest.raises(RecordError, match=message) as info:
        truth_from_metadata(metadata, (451, 300))
    assert info.value.location.field == field
    truth_from_metadata({"objects": [{"label": "cat", "box": [9, 0, 408, 297]}, "eye"]},
                        (451, 300))


@pytest.mark.parametrize("response, written", [
    ('```json\n[{"bbox": [NaN, 0, 408, 297], "label": "cat"}]\n```', "[NaN, 0, 408, 297]"),
    ('Here: [{"bbox_2d": [9, 0, 408], "label": "cat"}] done.', "[9, 0, 408]"),
    ('{"box": "9,0,408,297", "label": "cat"}', "9,0,408,297"),
    ("<ref>cat</ref><box>somewhere</box>", "somewhere"),
])
def test_a_box_written_in_a_form_not_read_is_listed_unverifiable(response, written):
    """A JSON box that is no four finite numbers (or a box tag without numbers) was no
    citation: the record was passed by as citing nothing, the box never said."""
    from halluscope.claims.citations import cites_a_box_or_region
    assert cites_a_box_or_region(response)
    (box,) = parse_cited_boxes(response, size=(451, 300))
    assert box.coords == "unread" and box.label == "cat" and box.written == written
    v = check_box(box, Truth(objects=[{"label": "cat", "box": (9, 0, 408, 297)}],
                             size=(451, 300)))
    assert v.label == "unverifiable" and "not read: " + written in v.reason
    assert not cites_a_box_or_region('{"box": null, "label": "cat"}')   # no box, said so


# -- a label read with its article -------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "<ref>The cat</ref><box>(100,100),(300,300)</box>",
    "<p>The cat</p> [51, 40, 154, 120]",
    "<|ref|>THE cat<|/ref|><|det|>[[100, 100, 300, 300]]",
    '{"label": "the cat", "bbox_2d": [51, 40, 154, 120]}',
])
def test_a_tag_label_loses_its_article_in_matching_and_reasons(text):
    """``<ref>The cat</ref>`` kept its article: the reason read "there is no The cat in the
    image to box". The label is the bare noun; the words as written stay in the item's
    ``text``."""
    from halluscope.metrics.grounding import _verdict_dict
    (b,) = boxes(text, box_format="pixels" if "<box>" not in text else "auto")
    assert b.label == "cat" and b.label_written.lower() == "the cat"
    gone = truth_from_metadata({"absent": ["cat"]}, SIZE)
    v = check_box(b, gone)
    assert v.label == "hallucinated" and v.reason == "there is no cat in the image to box"
    assert v.claim.subject == "cat" and _verdict_dict(v)["text"] == b.label_written
    # a COCO annotation labelled 'cat' at the cited place: matched
    there = truth_from_metadata({"objects": [{"label": "cat", "box": list(b.box)}]}, SIZE)
    v = check_box(b, there)
    assert v.label == "supported" and v.reason.startswith("matches the cat at "), v.reason
    wrong = truth_from_metadata({"objects": [{"label": "cat", "box": [400, 300, 500, 390]}]},
                                SIZE)
    assert check_box(b, wrong).reason.startswith("no cat there: best IoU")


def test_only_leading_articles_go_and_a_lone_word_stays():
    from halluscope.claims.cited_labels import bare_label
    for written, bare in (("An apple", "apple"), ("this Dog", "Dog"), ("That  cat", "cat"),
                          ("a the cat", "cat"), ("The", "The"), ("cat", "cat"),
                          ("teddy bear", "teddy bear"), ("theatre seat", "theatre seat"),
                          (None, None), ("", "")):
        assert bare_label(written) == bare, written
    (b,) = boxes("<ref>dog</ref><box>(1,1),(9,9)</box>")
    assert b.label == "dog" and b.label_written is None
    (r,) = parse_cited_regions('{"region_id": "R2", "label": "The flag"}')
    assert r.label == "flag" and r.label_written == "The flag"
    truth = truth_from_metadata({"regions": [{"id": "R2", "box": [0, 0, 9, 9],
                                              "label": "flag"}]}, SIZE)
    v = check_region(r, truth)
    assert v.label == "supported" and v.claim.text == "The flag"
