"""Object HalBench answers and the image each one is scored against, used as a researcher would
through the CLI: an answer naming its image by no COCO id, and the bootstrap of answers that
carry no image id (clustered by their question row's image, as those that carry one are)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from halluscope.cli import app
from test_question_align import nlp  # noqa: F401 - the spaCy pipeline fixture, shared


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _audit(tmp: Path, name: str, answers: Path, questions: Path, gt: Path, *args: str) -> dict:
    out = tmp / name
    res = CliRunner().invoke(app, [
        "audit", str(answers), "--metric", "objhal", "--gt-objects", str(gt), "--questions",
        str(questions), "--out", str(out), "--quiet", *args])
    assert res.exit_code == 0, res.output
    return json.loads((out / "results.json").read_text())


def test_answer_naming_its_image_by_no_coco_id_is_a_bad_record(tmp_path, nlp):
    """An answer whose image_id was 'abc' (or an image file named by no COCO id) was paired with
    its question file row by question_id and scored against that row's image, without a word.
    It is a bad record naming file, line and field; an answer naming no image still takes its
    row's image, and one naming a COCO image not in the ground truth stays a bad record."""
    questions = _jsonl(tmp_path / "q.jsonl", [{"image_id": 100 + i, "question": "Describe."}
                                              for i in range(6)])
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({str(100 + i): ["dog"] for i in range(6)}))
    own = [{"image_id": 100}, {"image_id": "abc"}, {"image_id": 999}, {"image": "imgs/x.jpg"},
           {"image": "imgs/COCO_val2014_000000000103.jpg"}, {}]
    answers = _jsonl(tmp_path / "a.jsonl", [
        {"question_id": i, "prompt": "Describe.", "text": "A dog on the grass.", **x}
        for i, x in enumerate(own)])
    results = _audit(tmp_path, "out", answers, questions, gt, "--bootstrap", "0")
    bad = [(e["file"], e["line"], e["field"]) for e in results["errors"]]
    assert bad == [(str(answers), 2, "image_id"), (str(answers), 3, "image_id"),
                   (str(answers), 4, "image")], results["errors"]
    assert "got 'abc'" in results["errors"][0]["message"]
    assert "expected ground-truth objects for image 999" in results["errors"][1]["message"]
    assert results["metrics"]["objhal"]["chairs"]["n"] == 3
    items = [json.loads(line) for line in (tmp_path / "out/items.jsonl").open()]
    assert [i["objhal"]["image_id"] for i in items if "objhal" in i and
            "image_id" in i["objhal"]] == [100, 103, 105]


def test_answers_without_image_id_are_resampled_by_their_question_rows_image(tmp_path, nlp):
    """RLAIF-V's answers carry no image id: each was resampled on its own (40 clusters for 15
    images asked about in 40 rows), and its intervals differed from the same answers carrying
    their image ids (15 clusters). An answer paired with its question row is resampled with
    that row's image: the same clusters and intervals for both layouts."""
    objects = ["dog", "cat", "car", "person", "chair"]
    rows = [{"image_id": 200 + i % 15, "question": "Describe the image."} for i in range(40)]
    questions = _jsonl(tmp_path / "q.jsonl", rows)
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({str(200 + j): objects[j % 5:j % 5 + 2] for j in range(15)}))
    texts = [f"A {objects[i % 5]} next to a {objects[(i * 3) % 5]}." for i in range(40)]
    with_ids = _jsonl(tmp_path / "with.jsonl", [
        {"question_id": i, "image_id": r["image_id"], "prompt": r["question"], "text": t}
        for i, (r, t) in enumerate(zip(rows, texts))])
    without = _jsonl(tmp_path / "without.jsonl", [
        {"question_id": i, "prompt": r["question"], "text": t}
        for i, (r, t) in enumerate(zip(rows, texts))])
    a, b = (_audit(tmp_path, name, answers, questions, gt, "--bootstrap", "300")["metrics"]
            ["objhal"] for name, answers in (("a", with_ids), ("b", without)))
    assert a["info"]["bootstrap"]["clusters"] == b["info"]["bootstrap"]["clusters"] == 15
    for stat in ("chairs", "chairi", "obj_rec"):
        assert a[stat]["ci"] is not None and a[stat]["ci"] == b[stat]["ci"], stat
        assert a[stat]["value"] == b[stat]["value"]
