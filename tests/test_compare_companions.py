"""Two runs whose metric read other companion files are refused (exit 2) naming which files
differ (path and sha256 in each run) and, for CHAIR ground truth built by ``chair gt``, the
variant that built each: since the default of ``chair gt --variant`` became refined, a file
rebuilt with the default differs from one built before, and the refusal said only "sha256
differ"."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from halluscope.cli import app
from halluscope.comparison import compare
from halluscope.errors import ConfigError

runner = CliRunner()


def test_other_ground_truth_files_are_named_with_the_variant_that_built_them(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "img_1.jpg"}],
        "categories": [{"id": 1, "name": "dog"}, {"id": 2, "name": "bus"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]}))
    caps = tmp_path / "caps.json"
    caps.write_text(json.dumps({"images": [{"id": 1}], "annotations": [
        {"id": 1, "image_id": 1, "caption": "A red bus on a street."}]}))
    outputs = tmp_path / "out.jsonl"
    outputs.write_text(json.dumps({"id": "1", "image_id": 1, "image": "img_1.jpg",
                                   "response": "A dog next to a bus."}) + "\n")
    for variant in ("original", "refined"):
        gt = tmp_path / f"gt_{variant}.json"
        res = runner.invoke(app, ["chair", "gt", "-a", str(inst), "-a", str(caps), "-o",
                                  str(gt), "--variant", variant])
        assert res.exit_code == 0, res.output
        res = runner.invoke(app, ["audit", str(outputs), "--metric", "chair", "--gt-objects",
                                  str(gt), "--out", str(tmp_path / variant), "-q",
                                  "--no-report", "--bootstrap", "0"])
        assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["compare", str(tmp_path / "original"), str(tmp_path / "refined"),
                              "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 2 and not (tmp_path / "cmp").exists()
    with pytest.raises(ConfigError) as info:
        compare([tmp_path / "original", tmp_path / "refined"], n_boot=0)
    text = str(info.value).replace(f"{tmp_path}/", "")
    assert "read different companion files" in text
    assert "A: gt_original.json (" in text and "B: gt_refined.json (" in text
    assert "the ground truth was built by the 'original' variant in A, 'refined' in B" in text
