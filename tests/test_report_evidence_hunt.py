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
