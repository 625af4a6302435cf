"""MiniGPT-v2's grounded captions (``<p>a dog</p> {<10><10><20><20>}``) checked against COCO
instances: a box cited for an object of COCO's 80 classes that the image does not hold was
"nothing is known about where dog is" (unverifiable), while the claims check of the same
words on the same file said "no dog among the image's annotated objects (closed world)". A
COCO file annotates every instance of its classes, so the box is a region hallucination; an
object outside its classes stays unknown, and one annotated with no place (a bbox of no area)
is not absent."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from halluscope.cli import app

IMAGE = str(Path(__file__).resolve().parents[1] / "data" / "images" / "coffee.jpg")


def _coco(path: Path) -> Path:
    cats = [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}, {"id": 47, "name": "cup"},
            {"id": 17, "name": "cat"}]
    path.write_text(json.dumps({
        "images": [{"id": 3, "file_name": "coffee.jpg", "width": 600, "height": 400}],
        "annotations": [
            {"id": 1, "image_id": 3, "category_id": 47, "bbox": [170, 15, 242, 270]},
            {"id": 2, "image_id": 3, "category_id": 17, "bbox": [10, 10, 0, 50]}],  # no area
        "categories": cats}))
    return path


def test_minigpt_boxes_of_absent_coco_objects_are_hallucinated(tmp_path):
    responses = ["<p>a cup</p> {<28><4><69><71>} next to <p>a dog</p> {<10><10><20><20>}",
                 "<p>a man</p> {<50><50><90><95>} holds <p>a flag</p> {<1><1><9><9>}",
                 "<p>a cat</p> {<1><2><3><15>}"]
    answers = tmp_path / "minigpt.jsonl"
    answers.write_text("".join(json.dumps({
        "id": f"r{i}", "image": IMAGE, "image_id": 3, "prompt": "[grounding] describe",
        "response": r}) + "\n" for i, r in enumerate(responses)))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(answers), "--metric", "region",
                                   "--coco-annotations", str(_coco(tmp_path / "inst.json")),
                                   "--out", str(out), "--bootstrap", "0", "-q"])
    assert res.exit_code == 0, res.output
    items = [json.loads(line) for line in (out / "items.jsonl").open()]
    got = [[(b["label"], b["verdict"], b["reason"]) for b in it["region"]["boxes"]]
           for it in items]
    assert got[0][0][:2] == ("cup", "supported")
    assert got[0][1] == ("dog", "hallucinated", "there is no dog in the image to box")
    assert got[1][0] == ("man", "hallucinated", "there is no man in the image to box")
    assert got[1][1] == ("flag", "unverifiable", "nothing is known about where flag is")
    assert got[2][0] == ("cat", "unverifiable", "nothing is known about where cat is")
    assert all(b["format"] == "minigpt" and b["coords"] == "norm100"
               for it in items for b in it["region"]["boxes"])


def test_the_claims_check_and_the_region_check_agree_on_an_absent_object(tmp_path):
    from halluscope.api import audit
    coco = _coco(tmp_path / "inst.json")
    rec = {"id": "r", "image": IMAGE, "image_id": 3, "task": "caption",
           "prompt": "Describe.", "response": "<p>A dog</p> {<10><10><20><20>} sits by a cup."}
    result = audit(records=[rec], metrics="claims,region", coco_annotations=[coco], n_boot=0)
    item = result.items[0]
    existence = [c for c in item["claims"] if c["kind"] == "existence" and c["subject"] == "dog"]
    assert existence and existence[0]["verdict"] == "hallucinated"
    assert [b["verdict"] for b in item["region"]["boxes"]] == ["hallucinated"]
