"""A bad image names the field the answer line holds it in. Object HalBench and MMHal-Bench
guessed it from the value's shape: ``{"image": "abc"}`` was reported as field ``image_id`` and
``{"image_id": "foo.jpg"}`` (or an image URL in ``image_id``) as field ``image``, sending the
researcher to a field their file does not have."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from halluscope.cli import app
from halluscope.records import record_from_dict
from test_mmhal_objhal_user import _mmhal_files, mmhal_bad_records
from test_question_align import nlp  # noqa: F401 - the spaCy pipeline fixture, shared


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_record_says_which_field_its_image_was_read_from():
    assert record_from_dict({"image": "abc", "response": "A."}).image_field is None
    assert record_from_dict({"image_id": "abc", "response": "A."}).image_field == "image_id"
    assert record_from_dict({"image_id": "a.jpg", "response": "A."}).image_field == "image_id"
    both = record_from_dict({"image": "x.jpg", "image_id": "abc", "response": "A."})
    assert (both.image, both.image_field) == ("x.jpg", None)
    assert record_from_dict({"image_id": 139, "response": "A."}).image_field is None


def test_objhal_bad_image_names_the_field_the_line_uses(tmp_path, nlp):
    questions = _jsonl(tmp_path / "q.jsonl", [{"image_id": 100 + i, "question": "Describe."}
                                              for i in range(4)])
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({str(100 + i): ["dog"] for i in range(4)}))
    own = [{"image": "abc"}, {"image_id": "foo.jpg"}, {"image_id": "xyz"}, {}]
    answers = _jsonl(tmp_path / "a.jsonl", [
        {"question_id": i, "prompt": "Describe.", "text": "A dog on the grass.", **x}
        for i, x in enumerate(own)])
    out = tmp_path / "out"
    res = CliRunner().invoke(app, [
        "audit", str(answers), "--metric", "objhal", "--gt-objects", str(gt), "--questions",
        str(questions), "--out", str(out), "--quiet", "--bootstrap", "0"])
    assert res.exit_code == 0, res.output
    errors = json.loads((out / "results.json").read_text())["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(1, "image"), (2, "image_id"),
                                                         (3, "image_id")], errors
    assert "COCO image id" in errors[0]["message"] and "in image, got 'abc'" \
        in errors[0]["message"]
    assert "in image_id, got 'foo.jpg'" in errors[1]["message"]


def test_mmhal_other_rows_image_names_the_field_the_line_uses(tmp_path):
    _, template = _mmhal_files(tmp_path)
    rows = json.loads(template.read_text())
    for r in rows:
        r["question"] = "Describe the image in detail."
    template.write_text(json.dumps(rows))
    lines = [{"question_id": 0, "image": rows[1]["image_id"]},        # an id, in 'image'
             {"question_id": 0, "image_id": rows[2]["image_src"]}]    # a URL, in 'image_id'
    answers = _jsonl(tmp_path / "a.jsonl", [{**x, "prompt": "Describe the image in detail.",
                                             "text": "A dog."} for x in lines])
    bad = mmhal_bad_records(template, answers)
    assert [(line, field) for line, field, _ in bad] == [(1, "image"), (2, "image_id")]


def test_vlmevalkit_prediction_without_its_row_says_no_truth_was_found(tmp_path):
    """A VLMEvalKit predictions file alone (``index``, ``prediction``) carries no truth: the
    bad record said 'got another value' of an 'answer' the line does not have."""
    rows = _jsonl(tmp_path / "p.jsonl", [
        {"index": "VS_chart_1_0_1_0", "prediction": "No."},
        {"index": "VS_chart_1_0_1_1", "prediction": "No.", "answer": "Maybe"}])
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(rows), "--metric", "hallusionbench", "--option",
                                   "hallusionbench_variant=vlmevalkit", "--out", str(out), "-q"])
    assert res.exit_code == 2, res.output
    errors = json.loads((out / "results.json").read_text())["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(1, "answer"), (2, "answer")]
    assert errors[0]["message"].endswith("in 'answer', found none (no benchmark row)")
    assert errors[1]["message"].endswith("in 'answer', got 'Maybe'")
