"""The HTML report's grounding views: region citations drawn on the image, detector boxes with
their scores, and page citations with the cited pages rendered and the quotes highlighted."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import pytest

from halluscope.report import citations, overlays
from halluscope.report.citations import (box_legend, item_boxes, page_citations,
                                         region_citations)
from halluscope.report.html import build_context, render_report
from halluscope.report.itemview import ImageStore, encode_image, item_view
from halluscope.result import AuditResult

DATA = Path(__file__).resolve().parents[1] / "data"
XSS = "<script>alert(1)</script>"


def _image_size(uri: str) -> tuple[int, int]:
    from PIL import Image
    assert uri.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as im:
        assert im.format == "JPEG"
        return im.size


# -- synthetic items ----------------------------------------------------------------------------
def region_item(subject: str = "astronaut") -> dict:
    person = {"source": "annotation", "label": "person", "box": [11.0, 10.0, 370.0, 510.0]}
    return {
        "id": "reg", "task": "vqa", "image": "img.png", "response": "see [R1] [R5] boxes",
        "claims": [
            {"kind": "existence", "subject": "cat", "verdict": "supported",
             "evidence": [{"source": "detector", "label": "cat", "score": 0.91,
                           "box": [300, 300, 400, 400]}]},
            {"kind": "region", "subject": subject, "value": [10.0, 10.0, 370.0, 510.0],
             "verdict": "supported", "reason": "matches the person (IoU 1.00)",
             "checker": "region-box", "evidence": [dict(person, iou=0.9972)]},
            {"kind": "region", "subject": "dog", "value": [400.0, 50.0, 500.0, 150.0],
             "verdict": "hallucinated", "reason": "no dog there: best IoU 0.05 < 0.5",
             "checker": "region-box",
             "evidence": [{"source": "detector", "label": "dog", "score": 0.4,
                           "box": [380, 120, 470, 260], "iou": 0.05}]},
            {"kind": "region", "subject": "astronaut", "value": "1", "verdict": "supported",
             "reason": "region 1 was offered (person)", "checker": "region-id",
             "evidence": [dict(person, region=1)]},
            {"kind": "region", "subject": "helmet", "value": "5", "verdict": "hallucinated",
             "reason": "region 5 was never offered (offered: 1, 2)", "checker": "region-id",
             "evidence": [{"source": "annotation", "offered": ["1", "2"],
                           "fabricated": True}]},
        ],
        "region": {
            "boxes": [{"label": subject, "box": [10.0, 10.0, 370.0, 510.0],
                       "verdict": "supported"},
                      {"label": "dog", "box": [400.0, 50.0, 500.0, 150.0],
                       "verdict": "hallucinated"}],
            "regions": [{"id": "1", "label": "astronaut", "verdict": "supported"},
                        {"id": "5", "label": "helmet", "verdict": "hallucinated"}],
            "known": [dict(person), {"label": "flag", "box": [0, 0, 95, 512],
                                     "source": "annotation"},
                      dict(person, region=1),
                      {"label": "flag", "box": [0.0, 0.0, 95.0, 512.0],
                       "source": "annotation", "region": 2}],
        },
    }


def test_item_boxes_draw_offered_regions_cited_boxes_and_matches():
    boxes = item_boxes(region_item())
    by_label = {b["label"]: b for b in boxes}
    # offered regions, named R<id>; the matched person coincides with R1 and is drawn as R1
    assert by_label["R1 person"]["source"] == "regions"
    assert by_label["R2 flag"]["box"] == [0.0, 0.0, 95.0, 512.0]
    assert "person" not in by_label
    # cited boxes: the cited object and a mark of the verdict; drawn once though the claims
    # and the payload both list them
    assert by_label["astronaut \u2713"]["verdict"] == "supported"
    assert by_label["dog \u2717"]["verdict"] == "hallucinated"
    assert sum(b["source"] in ("cited", "boxes") for b in boxes) == 2
    # the detection the dog box came closest to, and other evidence, with scores
    assert by_label["dog"]["score"] == pytest.approx(0.4)
    assert by_label["cat"]["source"] == "detector" and by_label["cat"]["score"] == 0.91
    kinds = {b["label"]: overlays._kind(b) for b in boxes}
    assert kinds == {"cat": "detection", "astronaut \u2713": "supported",
                     "dog \u2717": "hallucinated", "dog": "detection", "R1 person": "region",
                     "R2 flag": "region"}
    assert [t for _, t in box_legend(boxes)] == [
        "offered region", "detection (score)", "cited box, supported",
        "cited box, hallucinated"]


def test_item_boxes_draw_coinciding_boxes_once():
    person = {"source": "annotation", "label": "person", "box": [11, 10, 370, 510]}
    claims = [{"kind": "existence", "subject": "woman", "verdict": "supported",
               "evidence": [person, dict(person, label="woman", box=[11, 10, 371, 511]),
                            dict(person, source="detector", label="person", score=0.8)]}]
    boxes = item_boxes({"claims": claims})
    assert [(b["label"], b["source"]) for b in boxes] == [("person / woman", "annotation"),
                                                          ("person", "detector")]
    region = {"known": [dict(person, region=1)]}
    boxes = item_boxes({"claims": claims, "region": region})
    assert [(b["label"], b["source"]) for b in boxes] == [("R1 person", "regions")]


def test_region_citations_list_matches_and_fabricated_ids():
    view = region_citations(region_item())
    assert [r["what"] for r in view["rows"]] == ["R1", "R5", "[10, 10, 370, 510]",
                                                  "[400, 50, 500, 150]"]
    r1, r5, box, dog = view["rows"]
    assert r1["status"] == "supported" and "offered region R1" in r1["matched"]
    assert r5["fabricated"] and r5["status"] == "hallucinated"
    # an IoU of 0.9972 read 'IoU 1.00', a perfect match it is not (reporthunt)
    assert "person (annotation) [11, 10, 370, 510], IoU 0.997" == box["matched"]
    assert dog["matched"].startswith("closest: dog (detector, score 0.40)")
    assert view["offered"] == ["R1 person", "R2 flag"]
    assert view["fabricated"] == [{"id": "R5", "object": "helmet"}]
    assert region_citations({"claims": []}) is None


def test_detector_boxes_are_drawn_with_label_and_score(tmp_path, monkeypatch):
    shutil.copy(DATA / "images" / "grace_hopper.jpg", tmp_path / "hopper.jpg")
    item = {"id": "det", "image": "hopper.jpg", "source": f"{tmp_path / 'o.jsonl'}:1",
            "response": "A woman with a tie.",
            "claims": [{"kind": "existence", "subject": "woman", "verdict": "supported",
                        "evidence": [{"source": "detector", "label": "person", "score": 0.8124,
                                      "box": [0.79, 21.63, 511.37, 592.04]}]},
                       {"kind": "existence", "subject": "tie", "verdict": "supported",
                        "evidence": [{"source": "detector", "label": "tie", "score": 0.6054,
                                      "box": [219.68, 425.32, 294.07, 532.0]}]},
                       {"kind": "existence", "subject": "cup", "verdict": "hallucinated",
                        "evidence": [{"source": "detector", "label": "cup", "absent": True}]}]}
    calls = []
    real = overlays.draw_boxes

    def spy(image, boxes, **kw):
        calls.append(boxes)
        return real(image, boxes, **kw)

    monkeypatch.setattr(overlays, "draw_boxes", spy)
    images = ImageStore()
    view = item_view(item, 0, ["claims"], images)
    assert [(b["label"], b["score"], overlays._kind(b)) for b in calls[0]] == [
        ("person", 0.8124, "detection"), ("tie", 0.6054, "detection")]
    assert view["box_legend"] == [("bx-detection", "detection (score)")]
    assert images.uris[view["image_ref"]] != encode_image(tmp_path / "hopper.jpg")


def test_draw_boxes_keeps_labels_apart():
    from PIL import Image
    boxes = [{"box": [10, 10, 200, 200], "label": "R1 person", "kind": "region"},
             {"box": [11, 10, 200, 200], "label": "astronaut \u2713", "kind": "supported"}]
    spots = []
    real = overlays._label_spot

    def spy(*a, **kw):
        spots.append(real(*a, **kw))
        return spots[-1]

    orig, overlays._label_spot = overlays._label_spot, spy
    try:
        png = overlays.draw_boxes(Image.new("RGB", (400, 300), "white"), boxes)
    finally:
        overlays._label_spot = orig
    assert Image.open(io.BytesIO(png)).size == (400, 300)
    (a, b) = spots
    assert a[3] <= b[1] or b[3] <= a[1] or a[2] <= b[0] or b[2] <= a[0]   # no overlap


# -- the real sample ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """``region-astronaut`` and ``doc-report`` from data/outputs.jsonl, audited with the
    region and page metrics and the sample's annotations (no detector: fast)."""
    from halluscope.api import audit
    root = tmp_path_factory.mktemp("sample")
    for sub in ("images", "docs", "annotations"):
        shutil.copytree(DATA / sub, root / sub)
    lines = [line for line in (DATA / "outputs.jsonl").read_text().splitlines()
             if '"id": "region-astronaut"' in line or '"id": "doc-report"' in line]
    (root / "outputs.jsonl").write_text("\n".join(lines) + "\n")
    result = audit(root / "outputs.jsonl", metrics="region,page", n_boot=0,
                   coco_annotations=[root / "annotations" / "instances.json"],
                   annotations=[root / "annotations" / "objects.json"],
                   cache_dir=str(root / "cache"), out=root / "out", write_report=False)
    items = {i["id"]: i for i in result.items}
    assert set(items) == {"region-astronaut", "doc-report"}
    return root, result, items


def test_sample_region_item_image_has_offered_and_cited_boxes(sample, monkeypatch):
    root, result, items = sample
    calls = []
    real = overlays.draw_boxes

    def spy(image, boxes, **kw):
        calls.append((Path(image).name, boxes))
        return real(image, boxes, **kw)

    monkeypatch.setattr(overlays, "draw_boxes", spy)
    ctx = build_context(result)
    view = next(v for v in ctx["items"]["views"] if v["id"] == "region-astronaut")
    name, boxes = next(c for c in calls if c[0] == "astronaut.jpg")
    labels = {b["label"]: b for b in boxes}
    assert {"R1 person", "R2 flag", "R3 helmet"} <= set(labels)
    assert labels["astronaut \u2713"]["box"] == [10.0, 10.0, 370.0, 510.0]
    assert labels["dog \u2717"]["verdict"] == "hallucinated"
    uri = ctx["images"][view["image_ref"]]
    assert uri != encode_image(root / "images" / "astronaut.jpg")       # boxes were drawn
    assert _image_size(uri) == (480, 480)
    assert view["wide"] and view["regions"]["fabricated"] == [{"id": "R5", "object": "helmet"}]
    assert [r["status"] for r in view["regions"]["rows"]] == [
        "supported", "supported", "hallucinated", "supported", "hallucinated"]
    html = render_report(result)
    assert "fabricated region ids" in html and "R1 person" in html
    assert "matches the person at [11, 10, 370, 510]" in html


def test_sample_document_item_renders_cited_pages(sample):
    root, result, items = sample
    ctx = build_context(result)
    view = next(v for v in ctx["items"]["views"] if v["id"] == "doc-report")
    pages = view["pages"]
    assert pages["document"] == "report.pdf" and pages["n_pages"] == 3 and not pages["note"]
    cits = pages["citations"]
    assert [c["status"] for c in cits] == ["supported", "supported", "hallucinated",
                                           "hallucinated", "hallucinated"]
    # page 5 does not exist: shown as fabricated, not rendered
    p5 = cits[2]
    assert p5["pages"] == [{"page": 5, "status": "hallucinated", "exists": "no",
                            "fabricated": True, "href": "",
                            "reason": "page 5 does not exist: report.pdf has 3 pages"}]
    assert p5["thumbs"][0]["ref"] is None and p5["thumbs"][0]["status"] == "hallucinated"
    # cited pages rendered (≤ 480 px wide, JPEG), the found quote highlighted with a crop
    first = cits[0]["thumbs"][0]
    assert first["page"] == 1 and first["marked"] and first["crop_ref"] is not None
    width, height = _image_size(ctx["images"][first["ref"]])
    assert width == 480 and height > width                      # a portrait page
    assert cits[0]["quotes"][0]["found"] == "p. 1 (number)"
    # "185" is not on p. 3 but on p. 2: both shown, p. 2 highlighted from the text layer
    staff = cits[4]
    assert [(t["page"], t["marked"]) for t in staff["thumbs"]] == [(3, False), (2, True)]
    assert staff["quotes"][0]["found"] == "not on the cited page; on p. 2"
    rendered = {t["ref"] for c in cits for t in c["thumbs"] if t["ref"] is not None}
    assert 1 <= len(rendered) <= citations.MAX_PAGE_RENDERS
    html = render_report(result)
    assert "p. 5 · fabricated: does not exist" in html
    assert "p. 2 not cited, but the quote is here" in html


def test_page_renders_are_bounded_per_item(sample):
    _, _, items = sample
    images = ImageStore()
    try:
        view = page_citations(items["doc-report"], images, max_renders=2)
    finally:
        images.close()
    thumbs = [t for c in view["citations"] for t in c["thumbs"]]
    assert sum(t["ref"] is not None for t in thumbs) == 2
    assert view["left_out"] == 3 and "at most 2 per item" in view["note"]
    assert any("at most 2 pages per item" in t["note"] for t in thumbs)


def test_page_highlights_without_payload_boxes_come_from_the_text_layer(sample):
    _, _, items = sample
    item = json.loads(json.dumps(items["doc-report"]))
    item["page"]["highlights"] = []
    images = ImageStore()
    try:
        view = page_citations(item, images)
    finally:
        images.close()
    assert view["citations"][0]["thumbs"][0]["marked"]          # from the claim's char span
    assert view["citations"][1]["thumbs"][0]["marked"]


def test_page_view_draws_what_the_verdict_says_without_searching(sample, monkeypatch):
    """A quote found off its cited page is highlighted from the verdict's ``found_elsewhere``
    span; the report never looks for quotes itself (without the span: the page, unmarked)."""
    import halluscope.checks.pages as pages_mod
    _, _, items = sample
    monkeypatch.setattr(pages_mod, "find_in_text",
                        lambda *a, **k: pytest.fail("the report searched the page text"))
    item = json.loads(json.dumps(items["doc-report"]))
    staff = item["claims"][-1]
    assert staff["quote"] == "185" and staff["evidence"][0]["found_elsewhere"][0]["page"] == 2
    images = ImageStore()
    try:
        view = page_citations(item, images)
        assert [(t["page"], t["marked"]) for t in view["citations"][4]["thumbs"]] == [
            (3, False), (2, True)]
        # the boxes the verification stored for it draw it without the span too ...
        del staff["evidence"][0]["found_elsewhere"]
        view = page_citations(item, images)
        assert [(t["page"], t["marked"]) for t in view["citations"][4]["thumbs"]] == [
            (3, False), (2, True)]
        # ... and without either, the page is shown unmarked
        item["page"]["highlights"] = [h for h in item["page"]["highlights"] if "cited" not in h]
        view = page_citations(item, images)
        assert [(t["page"], t["marked"]) for t in view["citations"][4]["thumbs"]] == [
            (3, False), (2, False)]
    finally:
        images.close()


def test_page_view_without_the_document_still_shows_fabricated_pages(sample, tmp_path):
    _, _, items = sample
    item = dict(items["doc-report"], source=f"{tmp_path / 'elsewhere.jsonl'}:1")
    images = ImageStore()
    view = page_citations(item, images)
    assert "report.pdf: not found" in view["note"]
    assert view["citations"][2]["pages"][0]["fabricated"]
    assert all(t["ref"] is None for c in view["citations"] for t in c["thumbs"])


def test_page_images_never_run_ocr(tmp_path, monkeypatch):
    """A page-image document: rendered, but the report does not OCR it to find a quote."""
    from PIL import Image

    import halluscope.evidence.ocr as ocr
    Image.new("RGB", (600, 800), "white").save(tmp_path / "scan.png")
    monkeypatch.setattr(ocr, "load_ocr", lambda *a, **k: pytest.fail("OCR was loaded"))
    item = {"id": "d", "task": "document", "document": "scan.png",
            "source": f"{tmp_path / 'o.jsonl'}:1", "response": '"hello" (p. 1)',
            "page": {"document": "scan.png", "pages": 1, "dpi": 200, "highlights": [],
                     "citations": [{"pages": [1], "sentence": '"hello" (p. 1)',
                                    "verdicts": ["supported", "hallucinated"]}]},
            "claims": [{"kind": "page", "subject": "page", "value": 1, "verdict": "supported",
                        "checker": "page-exists", "text": '"hello" (p. 1)'},
                       {"kind": "page", "subject": "quote", "value": 1,
                        "verdict": "hallucinated", "checker": "page-quote", "quote": "hello",
                        "reason": "not on p. 1", "text": '"hello" (p. 1)',
                        "evidence": [{"source": "ocr", "found_on": [1]}]}]}
    images = ImageStore()
    view = page_citations(item, images)
    thumb = view["citations"][0]["thumbs"][0]
    assert thumb["ref"] is not None and not thumb["marked"]
    assert _image_size(images.uris[thumb["ref"]]) == (480, 640)


def test_grounding_views_escape_model_text(tmp_path):
    item = region_item(subject=XSS)
    item["claims"][3]["value"] = XSS
    item["source"] = f"{tmp_path / 'o.jsonl'}:1"
    page = {"id": "p", "task": "document", "source": f"{tmp_path / 'o.jsonl'}:2",
            "response": XSS,
            "page": {"document": XSS, "pages": 2, "citations": [
                {"pages": [9], "sentence": XSS, "verdicts": ["hallucinated", "hallucinated"]}]},
            "claims": [{"kind": "page", "subject": "page", "value": 9,
                        "verdict": "hallucinated", "checker": "page-exists", "reason": XSS},
                       {"kind": "page", "subject": "quote", "value": 9, "quote": XSS,
                        "verdict": "hallucinated", "checker": "page-quote", "reason": XSS}]}
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps(item) + "\n" + json.dumps(page) + "\n")
    result = AuditResult(metrics={}, errors=[], runsheet={}, items_path=path, config=None,
                         n_items=2)
    html = render_report(result)
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "fabricated: does not exist" in html and "region citations" in html
