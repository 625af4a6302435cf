"""compare gives each run's own numbers over truly paired items (found by a user-style bug
hunt): each run's statistics by its own definitions, repeated keys paired past a bad record,
documents in the key, every setting that changes verdicts said, COCO id forms paired, and runs
that pair nothing refused."""

import json
import logging
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.api import audit
from halluscope.cli import EXIT_USAGE, app
from halluscope.comparison import _setup, diff_gate_failures, pair_key
from halluscope.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data"
INSTANCES = DATA / "annotations" / "instances.json"


def _pope(answers):
    """One POPE question per image; ``answers``: (label, response) per image 1, 2, ..."""
    return [{"question_id": f"{img}-0", "image_id": img, "label": label,
             "prompt": "Is there a dog in the image?", "response": response}
            for img, (label, response) in enumerate(answers, 1)]


def test_each_run_is_recomputed_with_its_own_definitions(tmp_path):
    """A with the `exact` parser (halluscope's definitions), B with `lmms-eval` (the same rule,
    lmms-eval's definitions): the rows are identical, so B's numbers used to be A's (diff 0),
    not B's own. Hand-worked: tp 4, fn 2, unknown_yes 4, tn 6, fp 2, unknown_no 2."""
    answers = ([("yes", "Yes")] * 4 + [("yes", "No")] * 2 + [("yes", "Maybe.")] * 4
               + [("no", "No")] * 6 + [("no", "Yes")] * 2 + [("no", "Maybe.")] * 2)
    for name, parser in (("a", "exact"), ("b", "lmms-eval")):
        audit(records=_pope(answers), metrics="pope", pope_parser=parser, n_boot=0,
              out=tmp_path / name, write_report=False)
    res = halluscope.compare([tmp_path / "a", tmp_path / "b"], n_boot=0)
    m = res.metrics
    # halluscope: recall = tp / (tp + fn + unknown_yes); lmms-eval leaves unknowns out
    assert m["pope.recall"]["a"] == pytest.approx(4 / 10)
    assert m["pope.recall"]["b"] == pytest.approx(4 / 6)
    assert m["pope.recall"]["diff"] == pytest.approx(4 / 6 - 4 / 10)
    # yes_ratio: yes answers / answers against lmms-eval's yes labels / answers
    assert (m["pope.yes_ratio"]["a"], m["pope.yes_ratio"]["b"]) == pytest.approx((0.3, 0.5))
    assert (m["pope.f1"]["a"], m["pope.f1"]["b"]) == pytest.approx((0.5, 2 / 3))
    for side in ("a", "b"):
        own = json.loads((tmp_path / side / "results.json").read_text())["metrics"]["pope"]
        for key, entry in m.items():
            assert entry[side] == pytest.approx(own[key[len("pope."):]]["value"]), (side, key)
    assert m["pope.recall"]["setup_differs"] == [
        "parser: 'exact' in A, 'lmms-eval' in B", "unknowns: 'halluscope' in A, 'lmms-eval' in B"]
    # a gate on a difference of two definitions is refused, not judged
    with pytest.raises(ConfigError, match="diff.pope.f1 is refused: .*parser: 'exact' in A"):
        diff_gate_failures(res, above={"diff.pope.f1": 0.5})
    with pytest.raises(ConfigError, match="is refused"):        # read back from compare.json
        diff_gate_failures(res.to_dict(), below={"diff.pope.recall@lower": 0})
    out = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"),
                                   "--out", str(tmp_path / "c"), "--bootstrap", "0"],
                             env={"COLUMNS": "300"})
    text = " ".join(out.output.split())
    assert out.exit_code == 0, out.output
    assert "warning: pope was scored with other settings (parser: 'exact' in A" in text
    html = (tmp_path / "c" / "compare.html").read_text()
    assert "Warning:</b> pope was scored with other settings" in html


def test_a_refused_gate_writes_nothing(tmp_path):
    """A gate on a difference between runs scored with other settings is refused (exit 2):
    it was refused only after compare.json and compare.html were written, so the folder held
    the outputs of a compare that failed as a usage error. Now it is refused before them."""
    answers = [("yes", "Yes"), ("yes", "Maybe."), ("no", "No"), ("no", "Yes")] * 3
    for name, parser in (("a", "exact"), ("b", "lmms-eval")):
        audit(records=_pope(answers), metrics="pope", pope_parser=parser, n_boot=0,
              out=tmp_path / name, write_report=False)
    for gate in (["--fail-above", "diff.pope.f1=0.5"],
                 ["--fail-below", "diff.pope.recall@lower=-1"],
                 # two gates: refused before either is judged
                 ["--fail-above", "diff.pope.accuracy=1", "--fail-above", "diff.pope.f1=1"]):
        res = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"),
                                       "--out", str(tmp_path / "c"), "--bootstrap", "0", *gate],
                                 env={"COLUMNS": "300"})
        text = " ".join(res.output.split())
        assert res.exit_code == EXIT_USAGE, res.output
        assert "is refused: " in text and "parser: 'exact' in A, 'lmms-eval' in B" in text
        assert f"(nothing was written to {tmp_path / 'c'})" in text
        assert "gate failed" not in text and "wrote" not in text
        assert not (tmp_path / "c").exists()
    # the same compare without the gate writes both files
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"),
                                   "--out", str(tmp_path / "c"), "--bootstrap", "0", "-q"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["compare.html",
                                                                   "compare.json"]


def test_a_bad_record_does_not_shift_the_pairs_of_a_repeated_key(tmp_path):
    """Two models' answers to the same 20 questions in one run (model 1 right, model 2 wrong).
    In B model 1's answer to 5-0 is null: B's model-2 5-0 became the first 5-0 and was paired
    with A's model-1 5-0 (a 'worse' item and a diff of -1/39 from nothing)."""
    labels = ["yes" if img % 2 else "no" for img in range(1, 21)]
    right = _pope([(lab, lab) for lab in labels])
    wrong = _pope([(lab, "no" if lab == "yes" else "yes") for lab in labels])
    broken = [dict(r, response=None) if r["question_id"] == "5-0" else r for r in right]
    audit(records=right + wrong, metrics="pope", n_boot=0, out=tmp_path / "a",
          write_report=False)
    audit(records=broken + wrong, metrics="pope", n_boot=0, out=tmp_path / "b",
          write_report=False)
    res = halluscope.compare([tmp_path / "a", tmp_path / "b"], n_boot=0)
    acc = res.metrics["pope.accuracy"]
    assert (acc["n_paired"], acc["only_a"], acc["only_b"]) == (39, 1, 0)
    assert acc["a"] == acc["b"] == pytest.approx(19 / 39) and acc["diff"] == 0
    assert res.comparisons[0].changed == []


def test_document_answers_pair_by_document_too(tmp_path):
    """Answers about two documents with one id were one item (the key held no document)."""
    assert pair_key({"id": "d1", "document": "alpha.pdf"}) != \
        pair_key({"id": "d1", "document": "beta.pdf"})
    assert pair_key({"id": "c1", "image_id": 7}) == "7|c1"          # captions keep their key
    shutil.copytree(DATA / "docs", tmp_path / "docs")
    shutil.copy(tmp_path / "docs" / "report.pdf", tmp_path / "docs" / "copy.pdf")
    doc = next(json.loads(line) for line in (DATA / "outputs.jsonl").open()
               if '"doc-report"' in line)
    for run, second in (("a", "docs/report.pdf"), ("b", "docs/copy.pdf")):
        lines = [dict(doc, id="d1", document="docs/report.pdf"), dict(doc, id="d2",
                                                                      document=second)]
        (tmp_path / f"{run}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        audit(tmp_path / f"{run}.jsonl", metrics="page", n_boot=0, out=tmp_path / run,
              write_report=False)
    entry = next(e for k, e in halluscope.compare([tmp_path / "a", tmp_path / "b"],
                                                  n_boot=0).metrics.items())
    assert (entry["n_paired"], entry["only_a"], entry["only_b"]) == (1, 1, 1)


def test_every_setting_that_changes_verdicts_is_said(tmp_path):
    """--region-iou 0.5 against 0.9 turned precision 1 into 0 without a word."""
    record = {"id": "r1", "task": "vqa", "image": str(DATA / "images" / "astronaut.jpg"),
              "image_id": 1, "prompt": "Where is the person? Give a box [x1, y1, x2, y2].",
              "response": "The person is at [11, 10, 370, 380]."}
    for iou in (0.5, 0.9):
        audit(records=[record], metrics="region", coco_annotations=[INSTANCES], n_boot=0,
              options={"region_iou": iou, "box_format": "pixels"}, out=tmp_path / str(iou),
              write_report=False)
    res = halluscope.compare([tmp_path / "0.5", tmp_path / "0.9"], n_boot=0)
    entry = res.metrics["region.precision"]
    assert (entry["a"], entry["b"]) == (1.0, 0.0)
    assert entry["setup_differs"] == ["iou_threshold: 0.5 in A, 0.9 in B"]
    with pytest.raises(ConfigError, match="region with other settings"):
        diff_gate_failures(res, above={"diff.region.precision": 0})


def test_where_a_file_lies_and_counts_over_the_data_are_no_settings():
    """Provider paths, cache folders, image counts and a judge's call statistics differ
    between machines and inputs, not between ways of scoring."""
    def info(where, images, calls):
        return {"splitter": "rules", "providers": [
            {"kind": "coco", "file": f"{where}/instances.json", "images": images},
            {"detector": "coco-ssd", "thresholds": {"present": 0.5},
             "cache": {"dir": f"{where}/cache"}}],
            "judge": {"name": "j", "model": "m", "stats": {"calls": calls},
                      "cache": {"dir": where}, "reported_models": {"m": calls}}}
    assert _setup(info("/a", 4, 10)) == _setup(info("/b", 40, 3))
    other = info("/a", 4, 10)
    other["providers"][1]["thresholds"]["present"] = 0.6
    assert _setup(other)["settings"] != _setup(info("/a", 4, 10))["settings"]


def test_the_two_documented_coco_id_forms_pair(tmp_path):
    """Captions without an id take their image id as written: 1 and
    'COCO_val2014_000000000001.jpg' named one image, but no item paired (exit 0, silent)."""
    captions = ["A man and a woman.", "A cat on a bed.", "A cup of coffee.", "A rocket."]
    for run, form in (("int", lambda i: i), ("name", "COCO_val2014_{:012d}.jpg".format)):
        rows = [{"image_id": form(i), "caption": c} for i, c in enumerate(captions, 1)]
        audit(records=rows, metrics="chair", coco_annotations=[INSTANCES], n_boot=0,
              out=tmp_path / run, write_report=False)
    res = halluscope.compare([tmp_path / "int", tmp_path / "name"], n_boot=0)
    entry = res.metrics["chair.chair_s"]
    assert (entry["n_paired"], entry["only_a"], entry["only_b"], entry["diff"]) == (4, 0, 0, 0)
    assert pair_key({"id": "COCO_val2014_000000000001.jpg", "image_id": 1}) == "1|1"
    assert pair_key({"id": "img-1", "image_id": 1}) == "1|img-1"     # an id of its own stays


def test_runs_that_pair_nothing_are_refused_and_few_pairs_said(tmp_path, caplog):
    def run(name, images):
        rows = [{"id": f"c{i}", "image_id": i, "caption": "A cat."} for i in images]
        audit(records=rows, metrics="chair", coco_annotations=[INSTANCES], n_boot=0,
              out=tmp_path / name, write_report=False)
        return tmp_path / name
    a, b, c = run("a", [1, 2, 3, 4]), run("b", [1]), run("c", [2, 3])
    with pytest.raises(ConfigError, match=r"share no item: .*A's first is '1\|c1', B's '2\|c2'"):
        halluscope.compare([b, c], n_boot=0)
    out = CliRunner().invoke(app, ["compare", str(b), str(c), "--out", str(tmp_path / "o")])
    assert out.exit_code == EXIT_USAGE and "share no item" in " ".join(out.output.split())
    with caplog.at_level(logging.WARNING, logger="halluscope.comparison"):
        entry = halluscope.compare([a, b], n_boot=0).metrics["chair.chair_s"]
    assert entry["n_paired"] == 1
    assert "only 1 of A's 4 and B's 1 items pair" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="halluscope.comparison"):
        halluscope.compare([a, a], n_boot=0)
    assert "items pair" not in caplog.text
