"""Region and page grounding say nothing they cannot back (found by a user-style bug hunt)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import halluscope
from halluscope.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data"
REGIONS = [{"id": 1, "box": [11, 10, 370, 510], "label": "person"},
           {"id": 2, "box": [0, 0, 95, 512], "label": "flag"}]


def _audit(tmp_path, rows, metric, **kw):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return halluscope.audit(path, metrics=metric, out=tmp_path / "o", write_report=False,
                            n_boot=0, **kw)


def _rec(rid, response, **meta):
    return {"id": rid, "task": "vqa", "image": str(DATA / "images" / "astronaut.jpg"),
            "prompt": "p", "response": response, "metadata": meta}


def test_region_ids_no_record_can_check_stay_out_of_the_fabricated_rate(tmp_path):
    """Ids of a record that does not say which regions were offered are unverifiable: the
    rate was 0.0 over them."""
    result = _audit(tmp_path, [_rec("a", "The person is in [R9] and the flag in region 12.")],
                    "region")
    assert result.metrics["region"].results["fabricated_id_rate"].value is None


def test_region_iou_outside_zero_one_is_a_usage_error(tmp_path):
    for bad in ("nan", -1, 2):
        with pytest.raises(ConfigError, match="expected region_iou in"):
            _audit(tmp_path, [_rec("a", "The person is at [11, 10, 370, 510].",
                                   regions=REGIONS)], "region", options={"region_iou": bad})


def test_bad_boxes_and_box_formats_in_metadata_are_bad_records(tmp_path):
    """A NaN box made the right cited box miss ('best IoU 0.00'); a null or text coordinate
    stopped the run (exit 3); one record's box_format stopped the whole run, unlocated."""
    nan_box = [{"id": 1, "box": [float("nan"), 10, 370, 510], "label": "person"}]
    rows = [_rec("good", "The person is at [11, 10, 370, 510].", regions=REGIONS,
                 box_format="pixels"),
            _rec("nan", "The person is at [11, 10, 370, 510].", regions=nan_box),
            _rec("null", "The person is at [11, 10, 370, 510].",
                 objects=[{"label": "person", "box": [11, 10, None, 510]}]),
            _rec("fmt", "The person is at [11, 10, 370, 510].", regions=REGIONS,
                 box_format="cxcywh"),
            _rec("huge", "The person is at [11, 10, 370, 510].",
                 objects=[{"label": "person", "box": [11, 10, 10**400, 510]}])]
    result = _audit(tmp_path, rows, "region")
    assert result.metrics["region"].results["precision"].value == 1.0
    assert [(e["line"], e["field"]) for e in result.errors] == [
        (2, "metadata.regions[0].box"), (3, "metadata.objects[0].box"),
        (4, "metadata.box_format"), (5, "metadata.objects[0].box")]


def test_a_quote_does_not_start_or_end_inside_a_word_or_number(tmp_path):
    """'Staff grew to 18' was found in 'Staff grew to 185 people', '4,2' in '4,210'."""
    rows = [{"id": f"q{i}", "task": "document", "document": str(DATA / "docs" / "report.pdf"),
             "prompt": "p", "response": f'The report says "{quote}" (p. {page}).'}
            for i, (quote, page) in enumerate([("Staff grew to 18", 2), ("Revenue reached 4,2", 1),
                                               ("Staff grew to 185 people", 2)])]
    result = _audit(tmp_path, rows, "page")
    verdicts = [[c["verdict"] for c in item["claims"] if c["subject"] == "quote"]
                for item in result.items]
    assert verdicts == [["hallucinated"], ["hallucinated"], ["supported"]]


def test_a_metric_that_decided_nothing_fails_the_run(tmp_path):
    """Every citation unverifiable (no region offered; in the same way a judge that cannot
    be reached): every rate was a dash and the run exited 0 with nothing unscored."""
    from typer.testing import CliRunner

    from halluscope.cli import app
    result = _audit(tmp_path, [_rec("a", "The person is in [R9].")], "region")
    assert result.unscored["region"][0] == ("no statistic has a value: nothing the 1 record "
                                            "it scored said could be decided")
    path = tmp_path / "in.jsonl"
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "region", "--out",
                                   str(tmp_path / "cli"), "--no-report"])
    assert res.exit_code == 2 and "no statistic has a value" in res.output
    fine = _audit(tmp_path, [_rec("b", "The person is at [11, 10, 370, 510].",
                                  regions=REGIONS, box_format="pixels")], "region")
    assert fine.unscored == {}
    # the same box, its scale not said: it fits 512 x 512 as pixels and as 0-1000, so it is
    # an ambiguous citation, and a run that decided nothing else fails saying so
    auto = _audit(tmp_path, [_rec("c", "The person is at [11, 10, 370, 510].",
                                  regions=REGIONS)], "region")
    assert auto.unscored["region"][0].startswith("no statistic has a value")
    assert auto.unscored["region"][-1] == "malformed citations: ambiguous scale 1"   # said why
    assert auto.metrics["region"].tallies["malformed_citations"] == {"ambiguous scale": 1}


def test_a_box_outside_the_image_is_not_a_real_box(tmp_path):
    """[-50, 10, 370, 510], or a box reaching past a 512x512 image, matched the person by IoU
    and counted as supported."""
    rows = [_rec("neg", "The person is at [-50, 10, 370, 510].", regions=REGIONS),
            _rec("px", "The person is at [11, 10, 370, 560].", regions=REGIONS,
                 box_format="pixels"),
            _rec("in", "The person is at [11, 10, 370, 511].", regions=REGIONS,
                 box_format="pixels")]
    result = _audit(tmp_path, rows, "region")
    verdicts = [[b["verdict"] for b in item["region"]["boxes"]] for item in result.items]
    assert verdicts == [["hallucinated"], ["hallucinated"], ["supported"]]
    reasons = [item["region"]["boxes"][0]["reason"] for item in result.items]
    assert "starts left of or above the image" in reasons[0]
    assert "reaches past the 512x512 image" in reasons[1]


def test_json_page_citations_with_a_negative_or_whole_float_page_are_checked(tmp_path):
    """{"page": -1} and {"page": 5.0} were dropped ('cites no page'), so a fabricated page
    never reached fabricated_page_rate."""
    rows = [{"id": f"j{i}", "task": "document", "document": str(DATA / "docs" / "report.pdf"),
             "prompt": "p", "response": json.dumps({"answer": "x", "citations": [
                 {"page": page, "quote": "Annual Report"}]})}
            for i, page in enumerate([-1, 5.0, 2.0])]
    result = _audit(tmp_path, rows, "page")
    pages = [[(c["value"], c["verdict"]) for c in item["claims"] if c["subject"] == "page"]
             for item in result.items]
    assert pages == [[(-1, "hallucinated")], [(5, "hallucinated")], [(2, "supported")]]


def test_a_region_cited_for_another_object_is_never_supported(tmp_path):
    """'The dog is in [R2]' where R2 is the flag counted as supported ('region 2 was
    offered'): it is unverifiable (the flag is no COCO object: what else is there is not
    known), and hallucinated where both are COCO objects or the object is known elsewhere."""
    cat = [{"id": 1, "box": [11, 10, 370, 510], "label": "person"},
           {"id": 2, "box": [0, 0, 95, 512], "label": "cat"},
           {"id": 3, "box": [100, 0, 195, 512], "label": "flag"}]
    rows = [_rec("flag", "The dog is in [R3].", regions=cat),
            _rec("cat", "The dog is in [R2].", regions=cat),
            _rec("known", "The person is in [R3].", regions=cat),
            _rec("same", "The man is in [R1].", regions=cat)]
    result = _audit(tmp_path, rows, "region")
    verdicts = [[r["verdict"] for r in item["region"]["regions"]] for item in result.items]
    assert verdicts == [["unverifiable"], ["hallucinated"], ["hallucinated"], ["supported"]]


def test_a_claims_audit_that_decided_nothing_fails_the_run(tmp_path):
    """claims' unverifiable_rate (1.0) and n_claims have values when nothing was decided, so
    the run exited 0 with every rate a dash; faithscore on the same input exited 2."""
    import json

    import halluscope
    ann = tmp_path / "ann.json"
    # the image is annotated (an unknown image is a bad record, not an undecided one) but
    # with nothing the response speaks of
    ann.write_text(json.dumps({"images": {"other.jpg": {"objects": [{"label": "dog"}]}}}))
    result = halluscope.audit(records=[{"id": "u1", "image": "other.jpg",
                                        "response": "A cat on a mat."}],
                              metrics="claims", annotations=ann, n_boot=0,
                              out=tmp_path / "o", write_report=False)
    why = result.unscored["claims"]
    assert why[0].startswith("no statistic has a value") and "100% of its claims" in why[1]


def test_recall_leaves_out_objects_whose_citations_nothing_could_check(tmp_path):
    """A normalised box with no image size to scale it is unverifiable: recall was 0.0 over
    the object it cited, a number from nothing."""
    row = {"id": "n1", "response": "The person is at [0.02, 0.02, 0.72, 1.0].",
           "metadata": {"objects": [{"label": "person", "box": [11, 10, 370, 510]}]}}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(row) + "\n")
    result = halluscope.audit(path, metrics="region", out=tmp_path / "o", write_report=False,
                              n_boot=0)
    item = json.loads((tmp_path / "o" / "items.jsonl").read_text())
    assert item["region"]["recall"] is None and item["region"]["precision"] is None
    assert "region" in result.unscored


@pytest.mark.parametrize("regions,field", [
    ([{"region": 1, "box": [11, 10, 370, 510], "label": "person"}], "metadata.regions[0].id"),
    ({"1": {"box": [11, 10, 370, 510]}}, "metadata.regions"),
])
def test_offered_regions_that_cannot_be_read_are_a_bad_record(tmp_path, regions, field):
    """An entry without "id" was dropped (the right citation [R1] counted as fabricated), and
    regions given as a dict made every cited id unverifiable, without a word."""
    result = _audit(tmp_path, [_rec("noid", "The person is in [R1].", regions=regions),
                               _rec("ok", "The person is in [R1].", regions=REGIONS)],
                    "region")
    assert [(e["line"], e["field"]) for e in result.errors] == [(1, field)]
    assert result.metrics["region"].results["precision"].value == 1.0


def test_a_document_task_without_its_document_is_a_bad_record(tmp_path):
    """Its page citations came out unverifiable one by one and the record was never listed."""
    rows = [{"id": "p-nodoc", "task": "document", "response": "See page 2."}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = halluscope.audit(path, metrics="page", out=tmp_path / "o", write_report=False,
                              n_boot=0)
    assert [(e["line"], e["field"]) for e in result.errors] == [(1, "document")]
