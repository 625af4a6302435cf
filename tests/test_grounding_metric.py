"""Region and page metrics, through the metric API and through ``audit``; report overlays."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from halluscope.config import AuditConfig
from halluscope.metrics.base import metric_class
from halluscope.metrics.grounding import PageMetric, RegionMetric
from halluscope.records import read_records
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402

DATA = Path(__file__).resolve().parents[1] / "data"

REGION = {
    "id": "region-astronaut", "task": "vqa", "image": "images/astronaut.jpg",
    "prompt": "Regions [R1] [R2] [R3] are marked. Where are the astronaut, the flag and the "
              "helmet? Give boxes in pixels too.",
    "response": "The astronaut [R1] stands in front of the flag [R2] and holds a helmet [R5]. "
                "The astronaut is at [10, 10, 370, 510] and a dog sits at [400, 50, 500, 150].",
    "metadata": {"box_format": "pixels",          # (fits the image as 0-1000 too: ambiguous)
                 "regions": [{"id": 1, "box": [11, 10, 370, 510], "label": "person"},
                             {"id": 2, "box": [0, 0, 95, 512], "label": "flag"},
                             {"id": 3, "box": [195, 330, 360, 512], "label": "helmet"}]}}
PAGE = {
    "id": "doc-report", "task": "document", "document": "docs/report.pdf",
    "prompt": "Summarise the annual report, citing pages.",
    "response": 'Revenue reached 4,210 units (p. 1). The report says "the committee approved '
                'the plan" on page 2. Page 5 lists the risks. "Costs fell by 12%" (p. 2). '
                'Staff grew to 185 people [page 3].'}


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "docs").mkdir()
    shutil.copy(DATA / "images" / "astronaut.jpg", tmp_path / "images")
    shutil.copy(DATA / "images" / "chelsea.jpg", tmp_path / "images")
    shutil.copy(DATA / "docs" / "report.pdf", tmp_path / "docs")
    with open(tmp_path / "outputs.jsonl", "w") as fh:
        for rec in (REGION, PAGE):
            fh.write(json.dumps(rec) + "\n")
    return tmp_path


def test_metrics_are_registered():
    assert metric_class("region") is RegionMetric
    assert metric_class("page") is PageMetric


@pytest.mark.slow          # maps "flag" and "helmet" through WordNet (loads it once)
def test_region_metric_with_the_detector(folder):
    cfg = AuditConfig(detector="coco-ssd", cache_dir=folder / "cache", n_boot=20)
    m = RegionMetric.from_config(cfg)
    rec, page_rec = read_records(folder / "outputs.jsonl")
    assert m.applies_to(rec) and not m.applies_to(page_rec)
    item = m.update(rec)
    # supported: the astronaut box, R1, R2; hallucinated: the dog box, R5 (fabricated)
    assert item.row == (3, 2, 0, 3, 2, 3, 1)
    claims = item.top["claims"]
    assert [c["verdict"] for c in claims] == ["supported", "hallucinated", "supported",
                                              "supported", "hallucinated"]
    assert all(c["kind"] == "region" for c in claims)
    dog = claims[1]
    assert dog["evidence"][0]["source"] == "detector" and dog["evidence"][0]["label"] == "dog"
    assert item.payload["image_size"] == [512, 512]
    assert any(k["source"] == "detector" for k in item.payload["known"])
    s = m.compute()
    assert s.results["precision"].value == pytest.approx(0.6)
    assert s.results["recall"].value == pytest.approx(2 / 3)
    assert s.results["fabricated_id_rate"].value == pytest.approx(1 / 3)
    assert s.tallies["hallucinated_regions"] == {"dog": 1, "5": 1}
    json.dumps(item.payload)                       # JSON-ready


def test_region_metric_without_a_detector_leaves_the_dog_unverifiable(folder):
    m = RegionMetric(n_boot=0)
    rec = read_records(folder / "outputs.jsonl")[0]
    item = m.score(rec)
    assert [c["verdict"] for c in item.top["claims"]][:2] == ["supported", "unverifiable"]


def test_region_metric_reads_annotation_files(folder):
    cfg = AuditConfig(annotations=[DATA / "annotations" / "objects.json"], n_boot=0)
    m = RegionMetric.from_config(cfg)
    rec = read_records(folder / "outputs.jsonl")[0]
    item = m.score(rec)
    # objects.json lists the dog as absent from astronaut.jpg
    assert item.top["claims"][1]["verdict"] == "hallucinated"


def test_region_iou_option_and_box_format(folder):
    cfg = AuditConfig(options={"region_iou": 0.999, "box_format": "pixels"}, n_boot=0)
    m = RegionMetric.from_config(cfg)
    assert m.iou_threshold == 0.999 and m.describe()["box_format"] == "pixels"
    rec = read_records(folder / "outputs.jsonl")[0]
    assert m.score(rec).top["claims"][0]["verdict"] == "hallucinated"   # IoU 0.997 < 0.999


def test_page_metric(folder):
    cfg = AuditConfig(cache_dir=folder / "cache", n_boot=20)
    m = PageMetric.from_config(cfg)
    region_rec, rec = read_records(folder / "outputs.jsonl")
    assert m.applies_to(rec) and not m.applies_to(region_rec)
    item = m.update(rec)
    assert item.row == (5, 2, 5, 4, 4, 2)
    s = m.compute()
    assert s.results["citation_accuracy"].value == pytest.approx(0.4)
    assert s.results["quote_support_rate"].value == pytest.approx(0.5)
    assert s.results["fabricated_page_rate"].value == pytest.approx(0.2)
    assert s.tallies["fabricated_pages"] == {"5": 1}
    quotes = [c for c in item.top["claims"] if c["checker"] == "page-quote"]
    assert [c["quote"] for c in quotes] == ["4,210", "the committee approved the plan",
                                            "Costs fell by 12%", "185"]
    hl = item.payload["highlights"]
    assert [h["page"] for h in hl if "cited" not in h] == [1, 2] and all(h["boxes"] for h in hl)
    # where a quote not on its cited page is instead (the 185 of p. 3, on p. 2)
    assert [(h["page"], h["quote"]) for h in hl if h.get("cited") is False] == [(2, "185")]
    m.finish()


def test_page_metric_reports_a_missing_document_as_a_record_error(tmp_path):
    from halluscope.errors import RecordError
    from halluscope.records import record_from_dict
    rec = record_from_dict({"id": "x", "document": "missing.pdf", "response": "see p. 1"},
                           file=str(tmp_path / "x.jsonl"), line=3)
    with pytest.raises(RecordError, match="document"):
        PageMetric(n_boot=0).score(rec)


def test_audit_writes_grounding_claims_to_items(folder):
    from halluscope.api import audit
    res = audit(folder / "outputs.jsonl", metrics="region,page", detector="coco-ssd",
                cache_dir=str(folder / "cache"), n_boot=0, out=folder / "out",
                write_report=False)
    items = [json.loads(line) for line in open(folder / "out" / "items.jsonl")]
    assert [i["id"] for i in items] == ["region-astronaut", "doc-report"]
    assert {c["kind"] for c in items[0]["claims"]} == {"region"}
    assert {c["kind"] for c in items[1]["claims"]} == {"page"}
    assert items[0]["region"]["boxes"][1]["verdict"] == "hallucinated"
    assert res.get("page.citation_accuracy").value == pytest.approx(0.4)
    assert not math.isnan(res.get("region.precision").value)


def test_overlays(folder):
    import io

    from PIL import Image

    from halluscope.report.overlays import (claim_boxes, draw_boxes, region_boxes,
                                            render_document_page)
    m = RegionMetric(n_boot=0)
    rec = read_records(folder / "outputs.jsonl")[0]
    item = m.score(rec)
    specs = region_boxes(item.payload)
    kinds = [s["kind"] for s in specs]
    assert kinds == ["region", "region", "region", "supported", "unverifiable"]
    png = draw_boxes(rec.image_path(), specs + [{"box": [1, 1, 5, 5], "color": "red",
                                                 "label": "x", "score": 0.5}])
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.size == (512, 512)
    big = draw_boxes(Image.new("RGB", (3000, 1500)), [{"box": [0, 0, 3000, 1500]}])
    assert Image.open(io.BytesIO(big)).size == (1024, 512)
    assert claim_boxes(item.top["claims"])[0]["box"] == [11.0, 10.0, 370.0, 510.0]
    from halluscope.report.overlays import _kind
    assert _kind({"source": "cited", "verdict": "hallucinated"}) == "hallucinated"
    assert _kind({"source": "detector", "verdict": "supported"}) == "detection"
    assert _kind({"kind": "region", "source": "cited"}) == "region"
    page = render_document_page(folder / "docs" / "report.pdf", 1, [[100, 100, 300, 140]],
                                max_side=600)
    assert Image.open(io.BytesIO(page)).size[1] == 600
