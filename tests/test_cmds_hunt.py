"""Secondary commands found wrong by a user-style hunt: ``pope build``, ``chair gt`` and
``benchmarks`` (each test failed before its fix)."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from halluscope.cli import app
from halluscope.errors import HalluscopeError, InputError
from halluscope.metrics.pope_build import build_command, build_questions

runner = CliRunner()

CATEGORIES = ["person", "dog", "cat", "apple", "car", "bus", "umbrella", "chair", "cup", "oven"]


def _coco(tmp_path: Path, objects: dict[int, list[str]], **changes) -> Path:
    """A COCO instance file: image id -> category names (one annotation each)."""
    cat_id = {n: i for i, n in enumerate(CATEGORIES, 1)}
    anns = [{"id": len(objects) * 100 + k, "image_id": img, "category_id": cat_id[o],
             "bbox": [0, 0, 4, 4], "area": 16, "iscrowd": 0}
            for img, objs in objects.items() for k, o in enumerate(objs)]
    for k, a in enumerate(anns):
        a["id"] = k + 1
    data = {"images": [{"id": i, "file_name": f"img_{i}.jpg"} for i in objects],
            "annotations": anns,
            "categories": [{"id": i, "name": n} for n, i in cat_id.items()]}
    data.update(changes)
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))
    return path


MIXED = {1: ["person", "dog", "cat", "apple", "car"], 2: ["person", "dog", "cat"],
         3: ["bus", "umbrella", "chair", "cup", "person"], 4: ["dog", "cat", "oven"],
         5: ["person", "car", "bus", "apple", "cup"], 6: ["chair", "cup", "oven", "dog"]}


# -- pope build: images with fewer objects than --per-image ---------------------------------

def test_pope_build_per_image_only_takes_images_with_that_many_objects(tmp_path):
    # the original (RUCAIBox/POPE main.py) keeps only images with >= sample_num objects, so
    # each image gets sample_num yes and sample_num no questions; with --per-image 5 images of
    # 3 or 4 objects were taken and got fewer questions, so the set was not POPE's shape
    path = _coco(tmp_path, MIXED)
    questions = build_questions(path, "popular", n_images=10, n_per_image=5)
    per_image = collections.Counter(q["image"] for q in questions)
    assert set(per_image) == {"img_1.jpg", "img_3.jpg", "img_5.jpg"}
    assert set(per_image.values()) == {10}
    assert [q["label"] for q in questions] == ["yes", "no"] * 15


def test_pope_build_cli_per_image_balances(tmp_path):
    path = _coco(tmp_path, MIXED)
    res = runner.invoke(app, ["pope", "build", "--annotations", str(path), "--out",
                              str(tmp_path / "out"), "--per-image", "4", "--split", "random"])
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "out" / "coco_pope_random.json").read_text().splitlines()
    per_image = collections.Counter(json.loads(x)["image"] for x in lines)
    assert set(per_image.values()) == {8}             # images 1, 3, 5, 6 (>= 4 objects)
    assert len(per_image) == 4


# -- pope build: bad annotation files are usage errors naming the field ---------------------

def _variants(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    base = {1: ["person", "dog", "cat"], 2: ["car", "bus", "cup"]}

    def folder(name: str) -> Path:
        d = tmp_path / name
        d.mkdir()
        return d

    def edited(name: str, edit) -> Path:
        """A valid instance file of ``base`` in its own folder, its data changed by ``edit``."""
        p = _coco(folder(name), base)
        data = json.loads(p.read_text())
        edit(data)
        p.write_text(json.dumps(data))
        return p

    def mix_ids(data) -> None:
        data["images"][1]["id"] = "2"
        for a in data["annotations"]:
            if a["image_id"] == 2:
                a["image_id"] = "2"

    out = {}
    cats = [{"id": i, "name": n} for i, n in enumerate(CATEGORIES, 1)]
    del cats[0]["name"]
    out["noname"] = (_coco(folder("noname"), base, categories=cats), "categories[0]")
    caps = {"images": [{"id": 1, "file_name": "a.jpg"}],
            "annotations": [{"id": 1, "image_id": 1, "caption": "A dog."}]}
    (folder("captions") / "captions.json").write_text(json.dumps(caps))
    out["captions"] = (tmp_path / "captions" / "captions.json", "categories")
    caps = {**caps, "categories": [{"id": 1, "name": "dog"}]}
    (folder("captions_cats") / "captions.json").write_text(json.dumps(caps))
    out["captions_cats"] = (tmp_path / "captions_cats" / "captions.json", "category_id")
    out["unknown_cat"] = (edited("unknown_cat", lambda data: data["annotations"][0].update(
        category_id=99)), "annotations[0]")
    out["unknown_img"] = (edited("unknown_img", lambda data: data["annotations"][0].update(
        image_id=77)), "annotations[0]")
    cats = [{"id": i, "name": n} for i, n in enumerate(CATEGORIES, 1)]
    cats[1]["name"] = 5
    out["name_not_text"] = (_coco(folder("name_not_text"), base, categories=cats),
                            "categories[1]")
    out["mixed_ids"] = (edited("mixed_ids", mix_ids), "")
    return out


@pytest.mark.parametrize("case", ["noname", "captions", "captions_cats", "unknown_cat", "unknown_img",
                                  "name_not_text", "mixed_ids"])
def test_pope_build_bad_annotation_file_is_a_usage_error(tmp_path, case):
    path, field = _variants(tmp_path)[case]
    with pytest.raises(InputError) as err:
        build_questions(path, "random", n_images=2)
    assert str(path) in str(err.value) and field in str(err.value)
    res = runner.invoke(app, ["pope", "build", "--annotations", str(path), "--out",
                              str(tmp_path / "out"), "--images", "2"])
    assert res.exit_code == 2, (res.output, res.exception)
    assert not (tmp_path / "out").exists()


def test_pope_build_same_output_as_before_for_a_good_file(tmp_path):
    # reading the file without pycocotools keeps the image order (by id) and each image's
    # categories in annotation order
    path = _coco(tmp_path, MIXED)
    questions = build_questions(path, "adversarial", n_images=4, seed=1)
    # recorded with the pycocotools reader before the change
    assert [q["image"] for q in questions][::6] == ["img_2.jpg", "img_5.jpg", "img_1.jpg",
                                                     "img_6.jpg"]
    assert [(q["text"], q["label"]) for q in questions[:6]] == [
        ("Is there a person in the image?", "yes"), ("Is there an apple in the image?", "no"),
        ("Is there a dog in the image?", "yes"), ("Is there a car in the image?", "no"),
        ("Is there a cat in the image?", "yes"), ("Is there a bus in the image?", "no")]


def test_pope_build_unwritable_out_is_a_usage_error(tmp_path):
    path = _coco(tmp_path, MIXED)
    (tmp_path / "taken").write_text("a file, not a folder")
    res = runner.invoke(app, ["pope", "build", "--annotations", str(path), "--out",
                              str(tmp_path / "taken"), "--images", "2"])
    assert res.exit_code == 2, (res.output, res.exception)
    assert "taken" in res.output
    # said before the annotations are read (it was "cannot write taken/coco_pope_random.json:
    # File exists", of a file that is not there)
    with pytest.raises(HalluscopeError, match="taken: expected a folder for "):
        build_command(path, tmp_path / "taken", "random", n_images=2)


# -- chair gt: the output path --------------------------------------------------------------

def test_chair_gt_out_in_a_new_folder_and_unwritable(tmp_path, monkeypatch):
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    path = _coco(tmp_path, MIXED)
    target = tmp_path / "new" / "gt.json"
    res = runner.invoke(app, ["chair", "gt", "-a", str(path), "-o", str(target)])
    assert res.exit_code == 0, (res.output, res.exception)
    assert json.loads(target.read_text())["imid_to_objects"]["1"] == [
        "apple", "car", "cat", "dog", "person"]
    (tmp_path / "taken").write_text("x")
    res = runner.invoke(app, ["chair", "gt", "-a", str(path), "-o",
                              str(tmp_path / "taken" / "gt.json")])
    assert res.exit_code == 2, (res.output, res.exception)
    assert "taken" in res.output


# -- benchmarks --data FILE -----------------------------------------------------------------

def test_benchmarks_listing_with_one_file_blames_no_other_benchmark(tmp_path, monkeypatch):
    monkeypatch.delenv("HALLUSCOPE_DATA", raising=False)
    # a file given by itself stood for every benchmark's questions file, so listing with the
    # HallusionBench question file said "wrong hash" for amber, objhal, pope and reefknot
    from halluscope.benchmark_specs import load_benchmark
    spec = load_benchmark("hallusionbench")
    mine = tmp_path / "my_questions.json"
    mine.write_text("[]")
    res = runner.invoke(app, ["benchmarks", "--json", "--data", str(mine)])
    assert res.exit_code == 0, res.output
    rows = {b["name"]: b for b in json.loads(res.output)}
    assert {b["status"] for b in rows.values()} == {"missing"}
    assert all(f["path"] is None for b in rows.values() for f in b["files"]
               if f["status"] == "missing")
    # a file named as a benchmark's own file is still checked: wrong hash
    named = tmp_path / spec.files[0].name
    named.write_text("[]")
    res = runner.invoke(app, ["benchmarks", "--json", "--data", str(named)])
    rows = {b["name"]: b for b in json.loads(res.output)}
    assert rows["hallusionbench"]["status"] == "wrong hash"
    assert {b["status"] for n, b in rows.items() if n != "hallusionbench"} == {"missing"}


# -- judges list ----------------------------------------------------------------------------

def test_judges_list_names_what_loads_and_refuses_a_missing_folder(tmp_path):
    import shutil

    from halluscope.judges.spec import spec_dirs
    builtin = next(d for d in spec_dirs() if (d / "gpt-4o-2024-08-06.toml").is_file())
    shutil.copytree(builtin / "templates", tmp_path / "templates")
    text = (builtin / "gpt-4o-2024-08-06.toml").read_text()
    (tmp_path / "mine.toml").write_text(text.replace('name = "gpt-4o-2024-08-06"',
                                                     'name = "my-judge"'))
    wide = {"COLUMNS": "200"}
    res = runner.invoke(app, ["judges", "list", "--path", str(tmp_path)], env=wide)
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "my-judge" in line)
    assert "mine (name: my-judge)" in row      # the name `judges show` and --judge take
    shown = runner.invoke(app, ["judges", "show", "mine", "--path", str(tmp_path)], env=wide)
    assert shown.exit_code == 0 and '"my-judge"' in shown.output
    res = runner.invoke(app, ["judges", "list", "--path", str(tmp_path / "typo")])
    assert res.exit_code == 2


def _dog_with_a_bus_caption(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """COCO instances (image 1: a dog) and a reference caption naming a bus, which the two
    CHAIR parsers read differently (original: 'bu'); a fresh build cache."""
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    caps = tmp_path / "captions.json"
    caps.write_text(json.dumps({"images": [{"id": 1}], "annotations": [
        {"id": 1, "image_id": 1, "caption": "A red bus on a street."}]}))
    return _coco(tmp_path, {1: ["dog"]}), caps


# -- chair gt: a file built by one variant, read by the other --------------------------------

def test_gt_file_built_by_the_other_variant_is_warned(tmp_path, monkeypatch, caplog):
    import logging

    from halluscope.metrics.chair import parser_for
    from halluscope.metrics.chair_gt import load_ground_truth
    inst, caps = _dog_with_a_bus_caption(tmp_path, monkeypatch)
    gt = tmp_path / "gt.json"
    res = runner.invoke(app, ["chair", "gt", "-a", str(inst), "-a", str(caps), "-o", str(gt),
                              "--variant", "original"])
    assert res.exit_code == 0, res.output
    refined = tmp_path / "gt_refined.json"
    runner.invoke(app, ["chair", "gt", "-a", str(inst), "-a", str(caps), "-o", str(refined),
                        "--variant", "refined"])
    objects = [json.loads(p.read_text())["imid_to_objects"]["1"] for p in (gt, refined)]
    assert objects[0] != objects[1]         # the two parsers read the captions differently
    with caplog.at_level(logging.WARNING, logger="halluscope.metrics.chair_gt"):
        load_ground_truth(parser_for("refined"), gt)
    assert "built reading the reference captions with the original parser" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="halluscope.metrics.chair_gt"):
        load_ground_truth(parser_for("original"), gt)
    assert "built reading" not in caplog.text


def test_the_run_sheet_and_summary_say_which_variant_built_the_gt_file(tmp_path, monkeypatch):
    """`chair gt --variant original` read by an audit (default refined): 'a red bus'
    in the reference caption is 'bu' to the original parser, so the bus is not in the file's
    ground truth and the caption 'A dog next to a bus.' scores CHAIR_i 0.5 where the refined
    variant's own ground truth (--coco-annotations) gives 0.0. The log warned once; the results
    said 'variant refined' alone. Now the run sheet records the file's variant, and the summary
    says it beside the run's."""
    import halluscope
    from halluscope.report.console import variants_said as _variants
    inst, caps = _dog_with_a_bus_caption(tmp_path, monkeypatch)
    for variant in ("original", "refined"):
        res = runner.invoke(app, ["chair", "gt", "-a", str(inst), "-a", str(caps), "-o",
                                  str(tmp_path / f"gt_{variant}.json"), "--variant", variant])
        assert res.exit_code == 0, res.output
    outputs = tmp_path / "out.jsonl"
    outputs.write_text(json.dumps({"id": "1", "image_id": 1, "image": "img_1.jpg",
                                   "response": "A dog next to a bus."}) + "\n")

    def chair(folder, **truth):
        result = halluscope.audit(outputs, metrics="chair", n_boot=0, write_report=False,
                                  out=tmp_path / folder, **truth)
        sheet = json.loads((tmp_path / folder / "runsheet.json").read_text())
        return result.metrics["chair"].results["chair_i"].value, sheet["metrics"]
    mixed, sheet = chair("mixed", gt_objects=tmp_path / "gt_original.json")
    own, _ = chair("own", coco_annotations=[inst, caps])
    same, same_sheet = chair("same", gt_objects=tmp_path / "gt_refined.json")
    assert (mixed, own, same) == (0.5, 0.0, 0.0)        # the other variant's file: another number
    assert sheet["chair"]["variant"] == "refined"
    assert sheet["chair"]["ground_truth"]["built_by_variant"] == "original"
    assert _variants(sheet) == "chair variant refined (ground truth built by the original variant)"
    assert same_sheet["chair"]["ground_truth"]["built_by_variant"] == "refined"
    assert _variants(same_sheet) == "chair variant refined"
    # a file built from instances alone read no caption: no parser, no variant to record
    res = runner.invoke(app, ["chair", "gt", "-a", str(inst), "-o", str(tmp_path / "gt_i.json")])
    assert res.exit_code == 0, res.output
    _, sheet = chair("instances", gt_objects=tmp_path / "gt_i.json")
    assert "built_by_variant" not in sheet["chair"]["ground_truth"]


def test_gt_file_built_from_instances_alone_is_not_warned_about_its_variant(tmp_path, monkeypatch,
                                                                           caplog):
    """`halluscope chair gt -a instances.json --variant original` read by a refined
    audit warned that its ground truth differs from the refined variant's: without reference
    captions no parser ran, and the two variants build the same file."""
    import logging

    from halluscope.metrics.chair import parser_for
    from halluscope.metrics.chair_gt import load_ground_truth
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    inst = _coco(tmp_path, {1: ["dog"]})
    built = {}
    for variant in ("original", "refined"):
        gt = tmp_path / f"gt_{variant}.json"
        res = runner.invoke(app, ["chair", "gt", "-a", str(inst), "-o", str(gt),
                                  "--variant", variant])
        assert res.exit_code == 0, res.output
        built[variant] = json.loads(gt.read_text())
    assert built["original"]["imid_to_objects"] == built["refined"]["imid_to_objects"]
    assert built["original"]["source"]["reference_captions"] == 0
    with caplog.at_level(logging.WARNING, logger="halluscope.metrics.chair_gt"):
        load_ground_truth(parser_for("refined"), tmp_path / "gt_original.json")
    assert "built reading" not in caplog.text


def test_chair_gt_defaults_to_the_variant_an_audit_defaults_to(tmp_path, monkeypatch):
    """`chair gt` read its reference captions with the original parser by default and an
    audit scores refined by default, so the default workflow (chair gt, then audit
    --gt-objects) mixed the two ('a red bus' read as 'bu': the bus missing from the truth) and
    warned on every run. Both default to refined now."""
    import halluscope
    inst, caps = _dog_with_a_bus_caption(tmp_path, monkeypatch)
    gt = tmp_path / "gt.json"
    res = runner.invoke(app, ["chair", "gt", "-a", str(inst), "-a", str(caps), "-o", str(gt)])
    assert res.exit_code == 0, res.output
    assert json.loads(gt.read_text())["source"]["variant"] == "refined"
    outputs = tmp_path / "out.jsonl"
    outputs.write_text(json.dumps({"id": "1", "image_id": 1, "image": "img_1.jpg",
                                   "response": "A dog next to a bus."}) + "\n")
    result = halluscope.audit(outputs, metrics="chair", n_boot=0, write_report=False,
                              out=tmp_path / "run", gt_objects=gt)
    assert result.metrics["chair"].results["chair_i"].value == 0.0
    sheet = json.loads((tmp_path / "run" / "runsheet.json").read_text())
    assert sheet["metrics"]["chair"]["ground_truth"]["built_by_variant"] == "refined"
