"""Object HalBench's ground truth is built the way RLAIF-V's scorer builds it.

RLAIF-V @83d917b ``eval_gpt_obj_halbench.py`` reads each reference caption with NLTK's tokenizer
on the lower-cased text, WordNet's noun lemmatiser on every token, two-word phrases from its
synonym list (``synonyms_refine.txt``) and "seat" dropped beside "toilet"; CHAIR's original
parser (Pattern's singularize, CHAIR's own list) reads some captions otherwise. Expected words
below are worked by hand from those rules and the shipped synonym list (line 1 person: ...,
brother, ..., people, ..., pedestrian; line 6 bus; line 28 tie; line 61 dining table: ...,
coffee table; line 66 remote: remote control). The parser was also compared with the original's
own ``get_annotations`` on 3,000 synthetic COCO images (OPERA caption sentences as reference
captions): the same set for every image, where CHAIR's original parser differed on 269.
"""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from halluscope.metrics.objhal_gt import ObjhalCaptionParser


@pytest.fixture(scope="module")
def parser():
    try:
        return ObjhalCaptionParser()
    except Exception as exc:  # noqa: BLE001 - WordNet or NLTK data missing here
        pytest.skip(f"no WordNet for NLTK: {exc}")


def _mentions(parser, caption):
    return [(m.word, m.node) for m in parser.parse(caption).mentions]


@pytest.mark.parametrize("caption,mentions", [
    # WordNet keeps "bus" (Pattern: "bu") and lemmatises "ties" to "tie" (Pattern: "ty")
    ("A bus and two ties.", [("bus", "bus"), ("tie", "tie")]),
    ("Buses, TVs and mice.", [("bus", "bus"), ("tv", "tv"), ("mouse", "mouse")]),
    # the refined list's additions; "people" is a WordNet lemma itself and a person word
    ("Two pedestrians and his brother near people.",
     [("pedestrian", "person"), ("brother", "person"), ("people", "person")]),
    # every multi-word entry of the list is a phrase: "coffee table", "remote control"
    ("A coffee table with a remote control.",
     [("coffee table", "dining table"), ("remote control", "remote")]),
    ("Wine glasses on the dining table.",
     [("wine glass", "wine glass"), ("dining table", "dining table")]),
    # "toilet seat" is the toilet, and any other "seat" goes when "toilet" is there
    ("A toilet seat and a seat.", [("toilet", "toilet")]),
    # qualifiers fuse with the animal: no person
    ("A baby elephant and an adult giraffe.", [("elephant", "elephant"), ("giraffe", "giraffe")]),
    ("", []), ("...", []),
])
def test_reference_captions_are_read_as_the_objhal_scorer_reads_them(parser, caption, mentions):
    assert _mentions(parser, caption) == mentions


def _coco(tmp_path):
    """Two images: 1 has a person instance and the caption "A bus parked near two ties.",
    2 has a dog instance and "Pedestrians walk by a coffee table."."""
    images = [{"id": i, "file_name": f"COCO_val2014_{i:012d}.jpg", "width": 640, "height": 480}
              for i in (1, 2)]
    cats = [{"id": 1, "name": "person", "supercategory": "person"},
            {"id": 18, "name": "dog", "supercategory": "animal"}]
    inst = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 9, 9], "area": 81.0,
             "iscrowd": 0},
            {"id": 2, "image_id": 2, "category_id": 18, "bbox": [0, 0, 9, 9], "area": 81.0,
             "iscrowd": 0}]
    caps = [{"id": 1, "image_id": 1, "caption": "A bus parked near two ties."},
            {"id": 2, "image_id": 2, "caption": "Pedestrians walk by a coffee table."}]
    base = {"info": {}, "licenses": [], "images": images}
    a = tmp_path / "instances_val2014.json"
    b = tmp_path / "captions_val2014.json"
    a.write_text(json.dumps({**base, "annotations": inst, "categories": cats}))
    b.write_text(json.dumps({**base, "annotations": caps}))
    return a, b


def test_chair_gt_variant_objhal_builds_the_scorers_ground_truth(parser, tmp_path, monkeypatch):
    from halluscope.cli import app
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    a, b = _coco(tmp_path)
    built = {}
    for variant in ("objhal", "original"):
        out = tmp_path / f"gt_{variant}.json"
        res = CliRunner().invoke(app, ["chair", "gt", "-a", str(a), "-a", str(b), "-o", str(out),
                                       "--variant", variant])
        assert res.exit_code == 0, res.output
        data = json.loads(out.read_text())
        assert data["source"]["variant"] == variant
        built[variant] = data["imid_to_objects"]
    # objhal: image 1 person (instance) + bus, tie (caption); image 2 dog (instance) + person
    # (pedestrian) + dining table (coffee table)
    assert built["objhal"] == {"1": ["bus", "person", "tie"],
                               "2": ["dining table", "dog", "person"]}
    # CHAIR's original parser: "bus" -> "bu", "ties" -> "ty", "pedestrian" is no CHAIR word,
    # "coffee table" is not fused but "table" is a dining table
    assert built["original"] == {"1": ["person"], "2": ["dining table", "dog"]}


def test_original_warns_when_the_ground_truth_was_built_by_a_chair_parser(tmp_path, caplog):
    from halluscope.metrics.objhal import ObjhalMetric

    def extract(question, answer):
        return [], []
    for built, warned in (("original", True), ("refined", True), ("objhal", False)):
        path = tmp_path / f"gt_{built}.json"
        path.write_text(json.dumps({"source": {"variant": built},
                                    "imid_to_objects": {"1": ["person"]}}))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="halluscope.metrics.objhal"):
            metric = ObjhalMetric(path, extractor=extract, variant="original", n_boot=0)
        info = metric.describe()
        assert metric.gt == {1: frozenset({"person"})}
        assert info["ground_truth_built_by"] == built
        assert ("ground_truth_warning" in info) is warned
        assert any("--variant objhal" in r.getMessage() for r in caplog.records) is warned
        # the refined variant is halluscope's own numbers: no warning
        refined = ObjhalMetric(path, extractor=extract, variant="refined", n_boot=0)
        assert "ground_truth_warning" not in refined.describe()
    # a file built from instances alone read no caption: no parser to name
    path = tmp_path / "gt_instances.json"
    path.write_text(json.dumps({"source": {"variant": "original", "reference_captions": 0},
                                "imid_to_objects": {"1": ["person"]}}))
    info = ObjhalMetric(path, extractor=extract, variant="original", n_boot=0).describe()
    assert "ground_truth_built_by" not in info and "ground_truth_warning" not in info
