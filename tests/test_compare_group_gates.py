"""Per-group diff gates: ``compare --fail-below diff.pope.accuracy@split:*=-0.05`` fails when any
split got worse by more than 0.05; a group of one run only has no value, so its gate fails."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import EXIT_GATE, EXIT_OK, EXIT_USAGE, app
from halluscope.gates.diff import diff_gate_failures, diff_value


def _rows(wrong_splits=(), extra=0):
    """POPE answers on 20 images, 3 questions each: images 1-10 in split ``val``, 11-20 in
    ``test``; a split in ``wrong_splits`` answered wrong throughout; ``extra`` more answers in a
    split ``extra`` (images 21...)."""
    rows = []
    for img in range(1, 21 + extra):
        split = "val" if img <= 10 else "test" if img <= 20 else "extra"
        for q in range(3 if img <= 20 else 1):
            label = "yes" if q % 2 == 0 else "no"
            answer = label if split not in wrong_splits else ("no" if label == "yes" else "yes")
            rows.append({"question_id": f"{img}-{q}", "image_id": img, "label": label,
                         "split": split, "prompt": "Is there a dog in the image?",
                         "response": answer})
    return rows


def _run(tmp_path, name, rows):
    halluscope.audit(records=rows, metrics="pope", n_boot=0, out=tmp_path / name,
                     write_report=False)
    return tmp_path / name


@pytest.fixture()
def runs(tmp_path):
    """A answers every question right; B gets split ``test`` wrong and adds a split ``extra``
    of 3 answers that A does not have."""
    return (_run(tmp_path, "a", _rows()),
            _run(tmp_path, "b", _rows(wrong_splits={"test"}, extra=3)))


def _compare(tmp_path, runs, *gates):
    out = tmp_path / "cmp"
    res = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(out), "-q",
                                   "--bootstrap", "200", *gates])
    return res.exit_code, " ".join(res.output.split()), out


def test_compare_pairs_each_group_and_writes_its_differences(tmp_path, runs):
    """Worked by hand: split ``test`` 30 of 30 right in A, 0 in B; ``val`` alike in both;
    ``extra`` in B only (3 items, none paired)."""
    res = halluscope.compare(list(runs), out=tmp_path / "cmp", n_boot=200)
    groups = res.comparisons[0].groups
    test = groups["split:test"]["pope.accuracy"]
    assert (test["a"], test["b"], test["diff"]) == (1.0, 0.0, -1.0)
    assert (test["n_paired"], test["only_a"], test["only_b"]) == (30, 0, 0)
    val = groups["split:val"]["pope.accuracy"]
    assert val["diff"] == 0 and val["n_paired"] == 30
    extra = groups["split:extra"]["pope.accuracy"]
    assert extra["n_paired"] == 0 and extra["only_b"] == 3 and extra["diff"] is None
    assert res.metrics["pope.accuracy"]["diff"] == pytest.approx(-0.5)
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert saved["comparisons"][0]["groups"]["split:test"]["pope.accuracy"]["diff"] == -1.0
    assert diff_value(res, "diff.pope.accuracy@split:test") == -1.0
    with pytest.raises(KeyError, match="names 3 groups"):
        diff_value(res, "diff.pope.accuracy@split:*")
    # a compare.json read back judges the same
    assert diff_gate_failures(saved, below={"diff.pope.accuracy@split:val": -0.1}) == []


def test_a_gate_on_every_group_of_a_field_fails_on_the_group_that_got_worse(tmp_path, runs):
    code, text, _ = _compare(tmp_path, runs[:1] + (_run(tmp_path, "b2", _rows({"test"})),),
                             "--fail-below", "diff.pope.accuracy@split:*=-0.1")
    assert code == EXIT_GATE, text
    assert "gate failed: diff.pope.accuracy@split:test = -1.0000 is below -0.1" in text
    assert "split:val" not in text
    code, text, _ = _compare(tmp_path, runs[:1] + (_run(tmp_path, "b3", _rows({"test"})),),
                             "--fail-below", "diff.pope.accuracy@split:val@lower=-0.1")
    assert code == EXIT_GATE and "@split:val@upper" not in text      # no interval: zero width
    assert "diff.pope.accuracy@split:val (B − A) has no interval (no interval: zero width" in text
    code, text, _ = _compare(tmp_path, runs[:1] + (_run(tmp_path, "b4", _rows({"test"})),),
                             "--fail-below", "diff.pope.accuracy@split:val=-0.1")
    assert code == EXIT_OK, text


def test_a_group_of_one_run_only_never_passes(tmp_path, runs):
    code, text, _ = _compare(tmp_path, runs, "--fail-below", "diff.pope.accuracy@split:*=-1")
    assert code == EXIT_GATE, text
    assert ("gate failed: diff.pope.accuracy@split:extra has no value: no item of the group "
            "pairs (A holds 0 of its items, B 3), so the gate cannot hold") in text
    assert "split:test" not in text and "split:val" not in text     # -1 is not below -1


@pytest.mark.parametrize("gate,said", [
    ("diff.pope.accuracy@split:tset=-0.1",
     "no group 'split:tset' of pope.accuracy in the comparison; did you mean 'split:test', "
     "'split:extra' or 'split:val'? (its split groups: split:extra, split:test, split:val; @FIELD:* names each group of a "
     "field)"),
    ("diff.pope.accuracy@splt:*=-0.1",
     "no group 'splt:*' of pope.accuracy in the comparison; did you mean 'split:*'? "
     "(pope.accuracy has groups of the fields object, split;"),
    ("diff.pope.accuracy@lowr=-0.1", "expected @upper or @lower after pope.accuracy, or a "
                                     "group @FIELD:VALUE, got @lowr"),
])
def test_a_group_that_no_run_formed_is_a_usage_error_naming_those_that_exist(tmp_path, runs,
                                                                            gate, said):
    code, text, out = _compare(tmp_path, runs, "--fail-below", gate)
    assert code == EXIT_USAGE, text
    assert f"error: --fail-below {gate}: {said}" in text, text
    assert not (out / "compare.json").exists()
