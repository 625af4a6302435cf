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
