"""A gate's group field is checked before scoring; its value, after, listing the groups of that
field that exist (``--fail-above "chair.chair_i@modle:m1=0.2"`` was found wrong only once the
whole audit had run)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import app
from halluscope.errors import UnknownNameError


@pytest.fixture()
def captions(tmp_path):
    (tmp_path / "gt.json").write_text('{"1": ["dog"], "2": ["car"]}')
    (tmp_path / "caps.jsonl").write_text(
        '{"image_id": 1, "caption": "A dog and a cat.", "model": "m1", "split": "val"}\n'
        '{"image_id": 2, "caption": "A car.", "model": "m2", "split": "test"}\n')
    return tmp_path


def _audit(folder, *args):
    out = folder / "out"
    res = CliRunner().invoke(app, ["audit", str(folder / "caps.jsonl"), "--metric", "chair",
                                   "--gt-objects", str(folder / "gt.json"), "--out", str(out),
                                   "--no-report", "--bootstrap", "0", "--quiet", *args])
    return res.exit_code, " ".join(res.output.split()), out


@pytest.mark.parametrize("gate,said", [
    ("chair.chair_i@modle:m1=0.2",
     r"--fail-above chair.chair_i@modle:m1=0.2: metric 'chair' has no group field 'modle'; did "
     r"you mean 'model'\? \(its groups in this audit: model:VALUE\); --by FIELD groups by "
     r"another record or metadata field; nothing was scored"),
    ("chair.chair_i@split:val=0.2",        # a field of the records, but not one of --by
     r"has no group field 'split' \(its groups in this audit: model:VALUE\)"),
    ("chair.chair_i@m1@upper=0.2",          # a bare value: groups are FIELD:VALUE
     r"has no group 'm1': its groups are named FIELD:VALUE \(in this audit: model:VALUE\)"),
])
def test_a_misspelt_group_field_stops_the_audit_before_it_scores(captions, gate, said):
    code, text, out = _audit(captions, "--fail-above", gate)
    assert code == 2 and re.search(said, text), text
    assert not out.exists() or not any(out.iterdir())      # nothing was scored or written


def test_a_group_field_of_by_passes_the_check_and_its_value_is_checked_after(captions):
    """``--by split`` makes ``split`` a field; the value ``vall`` exists only after scoring,
    and its message lists the groups of that field, not every group of the metric."""
    code, text, out = _audit(captions, "--by", "model", "--by", "split",
                             "--fail-above", "chair.chair_i@split:vall=0.9")
    assert code == 2, text
    assert ("metric 'chair' has no group 'split:vall'; did you mean 'split:val' or "
            "'split:test'? (its split groups: split:test, split:val)") in text, text
    assert "model:m1" not in text.partition("its split groups:")[2]
    assert (out / "results.json").exists()                    # found after scoring, as before
    code, text, _ = _audit(captions, "--by", "split", "--fail-above",
                           "chair.chair_i@split:val=0.9")
    assert code == 0, text


def test_python_audit_refuses_the_group_field_before_scoring(captions):
    from halluscope.gates import parse_gates
    with pytest.raises(UnknownNameError, match=r"^parse_gates\(above=\['chair.chair_i@modle:m1"
                                               r"=0.2'\]\): metric 'chair' has no group field"):
        halluscope.audit(captions / "caps.jsonl", metrics="chair", n_boot=0,
                         gt_objects=captions / "gt.json", out=captions / "py",
                         gates=parse_gates(above=["chair.chair_i@modle:m1=0.2"]))
    assert not (captions / "py" / "items.jsonl").exists()


def test_metrics_declare_the_fields_of_their_own_groups():
    """What the check reads: the fields a metric forms groups of itself, beside --by's;
    ``None`` (checked after scoring) where the records name them."""
    from halluscope.metrics.base import metric_class
    assert metric_class("pope").own_group_fields == ("split", "object")
    assert metric_class("reefknot").own_group_fields == ("relation_type",)
    for name in ("chair", "claims", "faithscore", "amber", "region", "page", "objhal",
                 "consistency"):
        assert metric_class(name).own_group_fields == (), name
    from halluscope.metrics.consistency import ParaphraseStabilityMetric, SelfConsistencyMetric
    assert SelfConsistencyMetric.own_group_fields == ParaphraseStabilityMetric.own_group_fields
    assert SelfConsistencyMetric.own_group_fields == ()
    for name in ("hallusionbench", "mmhal"):      # bare category / question-type groups
        assert getattr(metric_class(name), "own_group_fields", None) is None, name


def test_a_pope_gate_on_its_own_split_field_is_not_refused():
    """POPE forms ``split:`` and ``object:`` groups itself: a gate on them is not refused
    before scoring even though --by does not name them."""
    from halluscope.config import AuditConfig
    from halluscope.gates.preflight import check_gates_ahead
    from halluscope.gates.thresholds import parse_gates
    from halluscope.metrics.base import metric_class
    pope = metric_class("pope")()
    pope.by = ("model",)
    cfg = AuditConfig()
    check_gates_ahead(parse_gates(below=["pope.f1@split:random=0.5",
                                         "pope.f1@object:dog=0.5"]), cfg, [pope])
    with pytest.raises(UnknownNameError, match="no group field 'splitt'; did you mean 'split'"):
        check_gates_ahead(parse_gates(below=["pope.f1@splitt:random=0.5"]), cfg, [pope])
