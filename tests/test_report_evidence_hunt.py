"""A user's hunt through the evidence a report shows: hostile cited boxes, page claims, missing
values (one test per bug found, each named after what a reader met)."""

from __future__ import annotations

import time

from PIL import Image

from halluscope.report import overlays


def test_a_cited_box_far_outside_the_image_is_drawn_at_once():
    """A hallucinated cited box `[0, 0, 99999999, 99999999]` (four finite numbers, read as
    pixels) took 30 s to draw as a dashed rectangle, one dash per 8 pixels of its far-off
    edges; at 1e12 the report never finished. Only what falls on the image is drawn."""
    im = Image.new("RGB", (400, 300), "white")
    start = time.perf_counter()
    png = overlays.draw_boxes(im, [{"box": [10, 20, 2e7, 2e7], "kind": "hallucinated"},
                                   {"box": [-2e7, -2e7, 2e7, 2e7], "kind": "supported"}])
    assert time.perf_counter() - start < 5
    import io
    out = Image.open(io.BytesIO(png)).convert("RGB")
    red = overlays.STYLES["hallucinated"][0]
    # the two edges that fall on the image are still drawn, dashed, where the box is
    top = [out.getpixel((x, 20)) for x in range(10, 400)]
    left = [out.getpixel((10, y)) for y in range(20, 300)]
    assert red in top and (255, 255, 255) in top[40:]
    assert red in left


def test_a_page_quote_claim_reads_as_the_quote_on_its_page_not_as_a_number():
    """The claims table and the hover title said `number = 0` for the number 4,210 cited on
    p. 0 (the claim's value is the page it is put on), a number the model never gave."""
    from halluscope.report.itemview import claim_summary
    number = {"kind": "page", "subject": "number", "value": 0, "quote": "4,210"}
    quote = {"kind": "page", "subject": "quote", "value": [2, 3],
             "quote": "the committee approved the plan"}
    assert claim_summary(number) == "number “4,210” on p. 0"
    assert claim_summary(quote) == "quote “the committee approved the plan” on pp. 2, 3"
    assert claim_summary({"kind": "page", "subject": "page", "value": 4}) == "page = 4"


WHY = ("no value for F1, the discriminative half (computed over 0 scored questions)")


def _result_with_a_missing_value(tmp_path):
    import json

    from halluscope.metrics.base import MetricSummary
    from halluscope.metrics.stats import MetricResult
    from halluscope.result import AuditResult
    out = tmp_path / "out"
    out.mkdir()
    items = out / "items.jsonl"
    items.write_text(json.dumps({"id": "a", "response": "x"}) + "\n", encoding="utf-8")
    chair = MetricResult("chair", 0.25, 40, False, (0.1, 0.4), 0.95)
    missing = MetricResult("amber_score", None, 0, True, why_no_value=WHY)
    # (two models: a lone group with the overall numbers is left out of the group tables)
    half = MetricResult("chair", 0.5, 20, False, (0.2, 0.8), 0.95)
    summary = MetricSummary("amber", {"chair": chair, "amber_score": missing}, 40,
                            groups={"model:a": {"chair": chair, "amber_score": missing},
                                    "model:b": {"chair": half, "amber_score": missing}})
    return AuditResult(metrics={"amber": summary}, errors=[], runsheet={}, items_path=items,
                       config=None, n_items=1)


def test_a_missing_value_reads_as_missing_with_its_reason(tmp_path):
    """amber_score without its discriminative half showed `—` in report.html and the console
    and never said why, though results.json had `why_no_value`."""
    import re

    from rich.console import Console

    from halluscope.report.console import render_summary
    from halluscope.report.html import render_report
    result = _result_with_a_missing_value(tmp_path)
    page = render_report(result)
    summary = page[page.index('id="summary"'):page.index('id="groups"')]
    row = re.search(r"<tr>\s*<td>amber_score.*?</tr>", summary, re.S).group(0)
    assert "—" in row and "no value: " + WHY in row
    groups = page[page.index('id="groups"'):]
    cell = re.search(r'<td class="r mono"[^>]*>—', groups).group(0)
    assert WHY in cell
    console = Console(record=True, width=200)
    render_summary(result, console)
    text = console.export_text()
    line = next(x for x in text.splitlines() if "amber_score" in x)
    assert "—" in line and "no value" in text and "computed over 0 scored questions" in text


def test_a_cited_box_shows_the_numbers_the_model_wrote_and_how_they_were_read():
    """`[600, 600, 900, 900]` on a 512 x 512 image is read as 0-1000; the region table's
    `cited` column showed `[307.2, 307.2, 460.8, 460.8]`, numbers the model never wrote,
    without saying they were a reading of its own."""
    from halluscope.report.citations import region_citations
    scaled = [307.2, 307.2, 460.8, 460.8]
    item = {"claims": [
        {"kind": "region", "subject": "person", "value": scaled, "verdict": "hallucinated",
         "reason": "no person there: best IoU 0.05 < 0.5", "evidence": []},
        {"kind": "region", "subject": "dog", "value": [10.0, 10.0, 50.0, 50.0],
         "verdict": "unverifiable", "reason": "nothing is known", "evidence": []}],
        "region": {"image_size": [512, 512], "boxes": [
            {"label": "person", "box": scaled, "raw": [600.0, 600.0, 900.0, 900.0],
             "format": "plain", "coords": "norm1000", "verdict": "hallucinated"},
            {"label": "dog", "box": [10.0, 10.0, 50.0, 50.0], "raw": [10.0, 10.0, 50.0, 50.0],
             "format": "plain", "coords": "pixels", "verdict": "unverifiable"}]}}
    rows = region_citations(item)["rows"]
    assert rows[0]["what"] == "[600, 600, 900, 900]"
    assert rows[0]["read_as"] == "read as 0-1000 of the image: [307.2, 307.2, 460.8, 460.8] px"
    assert rows[1]["what"] == "[10, 10, 50, 50]" and rows[1]["read_as"] == ""


def test_a_rate_too_small_for_four_decimals_is_not_shown_as_zero():
    """One fabricated page in 30,000 citations (3.3e-05) read `0.0000` in report.html and on
    the console, as if no page were fabricated; results.json had 3.3333e-05."""
    from halluscope.report.console import _num
    from halluscope.report.html import fmt_ci, fmt_value
    rate = 1 / 30000
    for fmt in (fmt_value, _num):
        assert fmt(rate) == "3.3e-05" and fmt(-rate) == "-3.3e-05"
        assert fmt(0.0) == "0.0000" and fmt(0.25) == "0.2500" and fmt(0.00005) == "0.0001"
    assert fmt_ci((0.0, rate)) == "[0.0000, 3.3e-05]"


def test_a_rate_just_short_of_one_is_not_shown_as_one():
    """29,999 supported citations of 30,000 (0.99997) read `1.0000`, a perfect precision,
    in report.html and on the console."""
    from halluscope.report.console import _num
    from halluscope.report.html import fmt_value
    for fmt in (fmt_value, _num):
        assert fmt(29999 / 30000) == "0.99997"
        assert fmt(2 + 1e-9) == "2.000000001"
        assert fmt(0.9999999999999999) == "1.0000"      # float rounding, not a value
        assert fmt(2.0000000000000004) == "2.0000" and fmt(5.551115123125783e-17) == "0.0000"
        assert fmt(1.0) == "1.0000" and fmt(0.5) == "0.5000" and fmt(0.12344) == "0.1234"


def test_a_pixel_box_a_rounding_past_the_edge_is_still_read_as_pixels():
    """`[0, 0, 515, 515]` on a 512 x 512 image (3 pixels past the edge, within the pixel or 1%
    of rounding the region check allows a box everywhere else) was taken for 0-1000, shrunk
    to [0, 0, 263.68, 263.68] and judged hallucinated against the person at [0, 0, 512, 512]."""
    from halluscope.checks.regions import Truth, check_box
    from halluscope.claims.citations import parse_cited_boxes
    (box,) = parse_cited_boxes("The person is at [0, 0, 515, 515].", size=(512, 512),
                               box_format="pixels")
    assert box.coords == "pixels" and box.box == (0, 0, 515, 515)
    # under auto it fits as pixels and as 0-1000, two other boxes: ambiguous, not shrunk
    (auto,) = parse_cited_boxes("The person is at [0, 0, 515, 515].", size=(512, 512))
    assert auto.coords == "ambiguous" and auto.box is None
    truth = Truth(objects=[{"label": "person", "box": (0, 0, 512, 512), "source": "annotation"}],
                  size=(512, 512))
    assert check_box(box, truth).label == "supported"
    (far,) = parse_cited_boxes("The person is at [0, 0, 600, 600].", size=(512, 512))
    assert far.coords == "norm1000"                    # clearly past the edge: 0-1000


def _region_item(verdict="hallucinated", reason="region 1 holds the cat, not the dog",
                 evidence_extra=None):
    ev = {"source": "annotation", "label": "cat", "box": [10.0, 10.0, 200.0, 200.0],
          "region": "R1", **(evidence_extra or {})}
    return {"claims": [{"kind": "region", "subject": "dog", "value": "1", "verdict": verdict,
                        "reason": reason, "evidence": [ev]}],
            "region": {"image_size": [451, 300], "boxes": [], "known": [
                {"label": "cat", "box": [10.0, 10.0, 200.0, 200.0], "source": "annotation",
                 "region": "R1"},
                {"label": "cat", "box": [50.0, 50.0, 300.0, 300.0], "source": "annotation",
                 "region": "R2"}]}}


def test_an_offered_id_cited_for_the_wrong_object_is_not_called_fabricated():
    """Regions offered as "R1", "R2": `the dog is in [R1]` (R1 is the cat) is hallucinated,
    not fabricated (results.json: fabricated_id_rate 0.0), but the report compared the read
    id "1" with the offered "R1" as written and showed a `fabricated id` pill and listed R1
    under `fabricated region ids`."""
    from halluscope.report.citations import region_citations
    view = region_citations(_region_item())
    assert [r["fabricated"] for r in view["rows"]] == [False]
    assert view["fabricated"] == []
    never = _region_item(reason="region 9 was never offered (offered: 1, 2)",
                         evidence_extra={"fabricated": True})
    never["claims"][0]["value"] = "9"
    never["claims"][0]["evidence"] = [{"source": "annotation", "offered": ["1", "2"],
                                       "fabricated": True}]
    assert region_citations(never)["fabricated"] == [{"id": "R9", "object": "dog"}]


def test_an_offered_region_id_written_with_its_r_is_not_shown_as_rr1():
    """Regions offered as "R1", "R2" were shown as `RR1 cat` in the offered chips, the
    matched-to column and the labels drawn on the image."""
    from halluscope.report.citations import item_boxes, region_citations
    item = _region_item()
    view = region_citations(item)
    assert view["offered"] == ["R1 cat", "R2 cat"]
    assert "offered region R1)" in view["rows"][0]["matched"]
    labels = {b["label"] for b in item_boxes(item)}
    assert {"R1 cat", "R2 cat"} <= labels and not any("RR" in x for x in labels)
    assert {b["label"] for b in overlays.region_boxes(item["region"])} == {"R1 cat", "R2 cat"}
    numeric = _region_item()
    for k in numeric["region"]["known"]:
        k["region"] = int(k["region"][1:])
    assert region_citations(numeric)["offered"] == ["R1 cat", "R2 cat"]


def test_a_gemini_box_is_said_to_be_shown_x_first():
    """Gemini's box_2d `[0, 10, 1000, 186]` is y first; the payload keeps it x first
    ([10, 0, 186, 1000]): the table says so rather than passing it off as written."""
    from halluscope.report.boxreading import WrittenBoxes
    px = [5.12, 0.0, 95.23, 512.0]
    boxes = WrittenBoxes([{"label": "flag", "box": px, "raw": [10.0, 0.0, 186.0, 1000.0],
                           "format": "json", "coords": "norm1000"}])
    assert boxes.take([5.12, 0.0, 95.232, 512.0]) == (
        "[10, 0, 186, 1000]", "read as 0-1000 of the image, x first: [5.12, 0, 95.232, 512] px")


def test_a_box_with_a_number_too_large_for_a_float_is_listed_unread_not_a_crash():
    """`The cat is at [0, 0, 999...9, 5]` (320 digits) read as a box of `inf` pixels; its
    reason rounded the infinity and the whole audit stopped with an internal error (exit 3),
    where hostile model text may never abort an audit. Such a box, in prose or in a tag, is
    listed as a box written in a form that is not read (unverifiable), as a JSON Infinity is."""
    import math

    from halluscope.checks.regions import Truth, check_box
    from halluscope.claims.citations import parse_cited_boxes
    big = "9" * 320
    truth = Truth(objects=[{"label": "cat", "box": (10, 10, 200, 200), "source": "annotation"}],
                  size=(512, 512))
    for text in (f"The cat is at [0, 0, {big}, 5].",
                 f"<ref>cat</ref><box>(0,0),({big},5)</box>",
                 f"The cat is at [0, 0, {big}, 5] and at [10, 10, 200, 200]."):
        boxes = parse_cited_boxes(text, size=(512, 512), known=["cat"])
        assert all(b.box is None or all(math.isfinite(v) for v in b.box) for b in boxes)
        unread = [b for b in boxes if b.coords == "unread"]
        assert len(unread) == 1 and unread[0].written.startswith("[0, 0, 999") \
            or unread[0].written.startswith("(0,0),(999")
        assert check_box(unread[0], truth).label == "unverifiable"
        for b in boxes:
            check_box(b, truth)          # every box is decided, none stops the audit


def test_an_offered_region_whose_label_is_no_text_is_a_bad_record_not_a_crash():
    """`metadata.regions[0].label` of `["cat"]` stopped the whole audit with an internal error
    (unhashable list); a label of 7 was compared as if it named an object. Like an object's
    label, a region's is text (or absent): anything else makes the record a bad record."""
    import pytest

    from halluscope.checks.regions import truth_from_metadata
    from halluscope.errors import RecordError
    for label in (["cat"], 7, {"name": "cat"}, True):
        with pytest.raises(RecordError) as err:
            truth_from_metadata({"regions": [{"id": 1, "box": [10, 10, 200, 200],
                                              "label": label}]})
        assert err.value.location.field == "metadata.regions[0].label"
    for label in ("cat", None):
        truth = truth_from_metadata({"regions": [{"id": 1, "box": [10, 10, 200, 200],
                                                  "label": label}]})
        assert truth.regions["1"]["label"] == label


def test_the_absent_and_objects_lists_of_a_record_are_lists_or_the_record_is_bad():
    """`metadata.absent` of 5 stopped the whole audit with an internal error; `"dog"` was read
    letter by letter (d, o, g: the cited dog was not known absent), `[5, null]` dropped in
    silence, and `metadata.objects` of `"cat"` made objects named c, a and t."""
    import pytest

    from halluscope.checks.regions import truth_from_metadata
    from halluscope.errors import RecordError
    for meta, field in (({"absent": 5}, "metadata.absent"),
                        ({"absent": "dog"}, "metadata.absent"),
                        ({"absent": ["cat", 5]}, "metadata.absent[1]"),
                        ({"objects": "cat"}, "metadata.objects"),
                        ({"objects": {"cat": [1, 2, 3, 4]}}, "metadata.objects")):
        with pytest.raises(RecordError) as err:
            truth_from_metadata(meta)
        assert err.value.location.field == field, meta
    truth = truth_from_metadata({"absent": ["dog", "Cats"], "objects": ["cat"]})
    assert truth.absent == {"dog", "cat"} and truth.objects[0]["label"] == "cat"
    assert truth_from_metadata({"absent": None, "objects": None}).absent == set()
