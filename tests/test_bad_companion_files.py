"""Companion files and targets that are not what they should be are usage errors (exit 2) that
name the file and what is wrong, not internal errors (exit 3: UnicodeDecodeError, KeyError,
IsADirectoryError, TypeError)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from halluscope.cli import app

DATA = Path(__file__).resolve().parents[1] / "data"


def _audit(*args: str):
    return CliRunner().invoke(app, ["audit", *args, "--no-report", "-q"])


@pytest.fixture
def files(tmp_path):
    binary = tmp_path / "photo.json"
    binary.write_bytes((DATA / "images" / "astronaut.jpg").read_bytes()[:2000])
    captions = tmp_path / "captions.jsonl"
    captions.write_text(json.dumps({"image_id": 1, "caption": "A dog."}) + "\n")
    coco = json.loads((DATA / "annotations" / "instances.json").read_text())
    no_id = json.loads(json.dumps(coco))
    del no_id["annotations"][0]["id"]
    bad_cat = json.loads(json.dumps(coco))
    bad_cat["annotations"][0]["category_id"] = 99999
    (tmp_path / "no_id.json").write_text(json.dumps(no_id))
    (tmp_path / "bad_cat.json").write_text(json.dumps(bad_cat))
    return tmp_path, binary, captions


@pytest.mark.parametrize("option, name, metric, expected", [
    ("--questions", "photo.json", "pope", "expected UTF-8 JSON, got a byte that is not UTF-8"),
    ("--gt-objects", "photo.json", "chair", "photo.json:1: expected a ground-truth objects file "
                                            "in UTF-8, got byte 0xff"),
    ("--coco-annotations", "photo.json", "chair", "photo.json:1: expected a COCO annotation file "
                                                  "in UTF-8, got byte 0xff"),
    ("--annotations", "photo.json", "region", "expected a UTF-8 JSON annotation file, got a"),
    ("--coco-annotations", "no_id.json", "chair", "annotations[0]: expected an object with "
                                                  "'id' and 'image_id'"),
    ("--coco-annotations", "no_id.json", "region", "annotations[0]: expected an object with "
                                                   "'id' and 'image_id'"),
    ("--coco-annotations", "bad_cat.json", "chair", "annotations[0]: category_id 99999 is not "
                                                    "in 'categories'"),
    ("--coco-annotations", "bad_cat.json", "region", "annotations[0]: category_id 99999 is "
                                                     "not in 'categories'"),
])
def test_a_broken_companion_file_is_a_usage_error_naming_it(files, option, name, metric,
                                                             expected):
    tmp, _, captions = files
    inputs = DATA / "outputs.jsonl" if metric in ("pope", "region") else captions
    res = _audit(str(inputs), "--metric", metric, option, str(tmp / name), "--out",
                 str(tmp / "o"))
    assert res.exit_code == 2, res.output
    assert expected in res.output and name in res.output


def test_an_abstract_metric_class_is_a_usage_error(files):
    tmp, _, captions = files
    res = _audit(str(captions), "--metric", "halluscope.metrics.base:Metric", "--out",
                 str(tmp / "o"))
    assert res.exit_code == 2, res.output
    assert "expected a metric that can score, got an abstract class" in res.output


def test_query_into_a_folder_is_a_usage_error(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "a", "prompt": "Hi?",
                                   "image": str(DATA / "images" / "chelsea.jpg")}) + "\n")
    (tmp_path / "out").mkdir()
    res = CliRunner().invoke(app, ["query", str(prompts), "-m", "mock/yes", "-o",
                                   str(tmp_path / "out"), "--no-cache"])
    assert res.exit_code == 2, res.output
    assert "expected the path of a JSON-lines file to write, got a folder" in res.output


def test_a_line_cut_inside_a_string_is_called_unterminated(tmp_path):
    """The reader passed the line with its end, so a string cut short read as an 'Invalid
    control character at' (a dangling 'at', and the wrong cause) on every line but the last."""
    from halluscope.records import iter_records
    path = tmp_path / "cut.jsonl"
    path.write_text('{"image_id": 1, "caption": "A dog\n{"image_id": 1, "caption": "A dog')
    problems = [str(r) for r in iter_records(path)]
    assert problems == [f"{path}:1: invalid JSON: Unterminated string starting at column 28",
                        f"{path}:2: invalid JSON: Unterminated string starting at column 28; "
                        f"it is the file's last line, without a line end: cut short as written?"]


def test_out_naming_a_file_and_a_strict_stop(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("x")
    res = _audit(str(DATA / "outputs.jsonl"), "--metric", "chair", "--out", str(taken))
    assert res.exit_code == 2 and "expected a folder for the audit's outputs, got a file" \
        in res.output
    out = tmp_path / "strict"
    res = _audit(str(DATA / "outputs.jsonl"), "--metric", "chair", "--strict", "--out", str(out))
    # the first bad record for CHAIR asked for alone: line 21, a caption of an image with no
    # COCO id (no other selected metric scores it), before line 24's broken JSON
    assert res.exit_code == 2 and "outputs.jsonl:21" in res.output
    assert list(out.iterdir()) == []      # no part files left to resume from
    res = _audit(str(DATA / "outputs.jsonl"), "--metric", "chair", "--engine", "spark")
    assert res.exit_code == 2 and res.output.count("got 'spark'") == 1


@pytest.mark.parametrize("images,message", [
    ({"c.jpg": {"objects": [{"label": "cup", "box": ["a", 1, 2, 3]}]}}, "expected box"),
    ({"c.jpg": {"objects": [{"label": "cup", "box": [0, 0, float("nan"), 9]}]}},
     "expected box"),
    ({"c.jpg": {"objects": "cup"}}, "expected 'objects' as a list"),
    ({"c.jpg": {"objects": [{"label": "cup", "attributes": "red"}]}},
     "expected attributes as a list of strings, got 'red'"),
    ({"c.jpg": {"objects": [], "absent": "fork"}}, "expected absent as a list of strings"),
    ({"c.jpg": {"objects": [], "size": "big"}}, "expected size [width, height]"),
])
def test_a_malformed_annotation_entry_is_a_usage_error_naming_it(tmp_path, images, message):
    """Text in a box was exit 3 (TypeError); "attributes": "red" was read as 'r', 'e', 'd' and
    "absent": "fork" as letters, without a word."""
    from halluscope.errors import ConfigError
    from halluscope.evidence.annotations import load_annotations
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({"images": images}))
    with pytest.raises(ConfigError, match=r"image 'c\.jpg'") as info:
        load_annotations(path)
    assert message in str(info.value)


def test_visual_genome_names_and_coco_boxes_are_checked(tmp_path):
    from halluscope.errors import ConfigError
    from halluscope.evidence.annotations import load_annotations
    vg = tmp_path / "vg.json"
    vg.write_text(json.dumps([{"image_id": 3, "objects": [{"object_id": 1, "names": "cup",
                                                           "x": 0, "y": 0, "w": 5, "h": 5}]}]))
    with pytest.raises(ConfigError, match="expected 'names' as a list of strings"):
        load_annotations(vg)
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps({"images": [{"id": 1}], "categories": [{"id": 1, "name": "cup"}],
                                "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                                                 "bbox": "x"}]}))
    with pytest.raises(ConfigError, match=r"annotations\[0\]: expected bbox"):
        load_annotations(coco)


def test_a_top_level_vocabulary_adds_to_the_labels_the_file_uses(tmp_path):
    """A vocabulary that left out a label the file annotates made that object unknown."""
    from halluscope.evidence.annotations import load_annotations
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({"vocabulary": ["cup", "fork"], "images": {"c.jpg": {
        "closed_world": True, "objects": [{"label": "cup"}, {"label": "table"}]}}}))
    src = load_annotations(path)
    assert {"cup", "fork", "table"} <= set(src.vocabulary)
    assert "table" in src.get("c.jpg").vocabulary


def test_a_misspelled_detector_is_a_usage_error_for_claims(tmp_path):
    """--detector coco-sd failed record by record (a warning each) and the claims audit went on
    without a detector, exit 0 with other numbers."""
    data = Path(__file__).resolve().parents[1] / "data"
    res = CliRunner().invoke(app, ["audit", str(data), "--metric", "claims", "--detector",
                                   "coco-sd", "--out", str(tmp_path / "o"), "--no-report"],
                             env={"COLUMNS": "300"})
    assert res.exit_code == 2 and "did you mean 'coco-ssd'" in res.output


def test_object_halbench_reads_chairs_ground_truth_layout(tmp_path):
    """CHAIR's {"source", "imid_to_objects"} file (what `halluscope chair gt` writes) gave
    exit 3: invalid literal for int() with base 10: 'source'."""
    from halluscope.errors import ConfigError
    from halluscope.metrics.objhal import load_gt_objects
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"source": "coco", "imid_to_objects": {"139": ["dog", "person"]}}))
    assert load_gt_objects(gt) == {139: frozenset({"dog", "person"})}
    gt.write_text(json.dumps({"source": "coco"}))
    with pytest.raises(ConfigError, match="expected image ids as keys"):
        load_gt_objects(gt)


def test_a_top_level_not_exhaustive_list_applies_to_every_image(tmp_path):
    """A top-level "not_exhaustive": ["dog"] was ignored: "Three dogs" against two boxed dogs
    came out hallucinated though not every dog is annotated."""
    from halluscope.checks import check_claim
    from halluscope.evidence.annotations import load_annotations
    from halluscope.types import Claim
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({"not_exhaustive": ["dog"], "images": {"d.jpg": {"objects": [
        {"label": "dog", "box": [0, 0, 5, 5]}, {"label": "dog", "box": [9, 9, 15, 15]}]}}}))
    facts = load_annotations(path).get("d.jpg")
    assert check_claim(Claim("count", "dog", value=3), facts).label == "unverifiable"
    assert check_claim(Claim("count", "dog", value=1), facts).label == "hallucinated"
