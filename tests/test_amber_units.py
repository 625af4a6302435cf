"""AMBER: each statistic's n is the units it is computed over (nouns for CHAIR, truth objects
for Cover, answers read No for precision, labels No for recall, either for F1), as POPE's, so
the fewer-than-10-units rule reads the right count (it counted records); and a statistic with
no item of its own half or group has no value and says why (the original's 0.001 starting
counters gave Hal 1.0 over no description, and gates fired on it). Worked by hand on a made-up
five-item annotation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import halluscope
from halluscope.evidence.amber import AmberData
from halluscope.gates.assertions import HalluscopeAssertionError, check_threshold
from halluscope.metrics.amber import AmberMetric

ITEMS = {1: {"type": "generative", "truth": ["dog", "grass"], "hallu": ["cat"]},
         2: {"type": "discriminative-hallucination", "truth": "yes"},
         3: {"type": "discriminative-hallucination", "truth": "no"},
         4: {"type": "discriminative-relation", "truth": "no"},
         5: {"type": "discriminative-attribute-state", "truth": "yes"}}
ANSWERS = {1: "A dog and a cat.", 2: "No", 3: "No", 4: "Yes", 5: "Yes"}


def _data(items=ITEMS) -> AmberData:
    return AmberData(path=Path("annotations.json"), items=items,
                     association={"dog": [], "grass": [], "cat": []},
                     initial=INITIAL)


# metrics.txt: every counter 0, every denominator ("_num") 0.001
INITIAL = {c: 0.001 if c.endswith("_num") else 0.0 for c in AmberMetric.columns
           if not c.endswith("either_no_num")}


def _audit(tmp_path, ids, variant="original", items=ITEMS, answers=ANSWERS, n_boot=0):
    rows = [{"id": i, "response": answers[i]} for i in ids]
    metric = AmberMetric(_data(items), variant=variant, n_boot=n_boot)
    return halluscope.audit(records=rows, metrics=[metric], out=tmp_path / "o",
                            write_report=False)


@pytest.mark.parametrize("variant", ["original", "refined"])
def test_each_statistic_n_is_its_units(tmp_path, variant):
    """By hand: the description names dog (truth) and cat (hallu): 2 nouns, 2 truth objects,
    1 hallu object, 1 description. Answers: 2 existence (both read No; one labelled No), 1
    relation (labelled No, read Yes), 1 state (labelled and read Yes)."""
    res = _audit(tmp_path, ANSWERS, variant).metrics["amber"].results
    n = {k: res[k].n for k in ("chair", "cover", "cog", "hal", "accuracy", "precision", "recall",
                               "f1", "existence_precision", "existence_recall", "existence_f1",
                               "relation_accuracy", "relation_recall", "relation_f1",
                               "state_accuracy")}
    assert n == {"chair": 2, "cover": 2, "cog": 1, "hal": 1, "accuracy": 4, "precision": 2,
                 "recall": 2, "f1": 3, "existence_precision": 2, "existence_recall": 1,
                 "existence_f1": 2, "relation_accuracy": 1, "relation_recall": 1,
                 "relation_f1": 1, "state_accuracy": 1}
    # 1 of the 2 answers read No is labelled No; 1 of the 2 labels No is read No
    assert res["precision"].value == pytest.approx(0.5, abs=1e-3)
    assert res["recall"].value == pytest.approx(0.5, abs=1e-3)
    # no question of the number or action types: no value in either variant, with the reason
    for name in ("number_accuracy", "action_f1"):
        assert res[name].value is None and res[name].n == 0
        assert "computed over 0 scored" in res[name].why_no_value


def test_within_a_scored_group_original_keeps_its_counter_value_refined_has_none(tmp_path):
    """Relation: 1 answer, none read No. The original prints precision 0.0 (0 / 0.001) for a
    group it scored, so the original variant keeps it (and says so); refined has no value."""
    orig = _audit(tmp_path / "a", ANSWERS, "original")
    r = orig.metrics["amber"].results["relation_precision"]
    assert (r.value, r.n) == (0.0, 0)
    made = orig.runsheet["metrics"]["amber"]["values_from_starting_counters"]
    assert set(made) == {"relation_precision", "state_precision", "state_recall", "state_f1",
                         "attribute_precision", "attribute_recall", "attribute_f1"}
    # a gate neither passes nor fails on it: it is no measurement
    with pytest.raises(HalluscopeAssertionError, match="computed over no units"):
        check_threshold(orig, "amber.relation_precision", 0.5, direction="above")
    ref = _audit(tmp_path / "b", ANSWERS, "refined").metrics["amber"].results
    assert ref["relation_precision"].value is None
    assert ref["relation_precision"].why_no_value == "computed over 0 relation answers read No"


def test_interval_rule_counts_units_not_records(tmp_path):
    """12 relation questions, 4 read No: precision is over 4 answers, so no interval (it got
    [0, 1] from the 12 records); accuracy over 12 answers gets one."""
    items = {i: {"type": "discriminative-relation", "truth": "no" if i < 4 else "yes"}
             for i in range(12)}
    answers = {i: "No" if i in (0, 1, 4, 5) else "Yes" for i in range(12)}
    res = _audit(tmp_path, range(12), items=items, answers=answers,
                 n_boot=200).metrics["amber"].results
    assert res["relation_precision"].n == 4 and res["relation_precision"].ci is None
    assert res["relation_precision"].ci_note == "no interval: n=4 units, fewer than 10"
    assert res["relation_accuracy"].n == 12 and res["relation_accuracy"].ci is not None


def test_discriminative_half_alone_has_no_generative_value(tmp_path):
    """The original's counters gave Hal 1.0, CHAIR 0.0 and amber_score 0.8225 with no
    description, and a gate on Hal fired. AMBER's inference.py -evaluation_type d prints no
    generative number at all."""
    result = _audit(tmp_path, [2, 3, 4, 5], "original")
    res = result.metrics["amber"].results
    for name in ("chair", "cover", "hal", "cog", "amber_score"):
        assert res[name].value is None, name
    assert res["hal"].why_no_value == ("computed over 0 scored descriptions (the generative "
                                       "half, AMBER ids 1-1004)")
    assert res["amber_score"].why_no_value.startswith(
        "amber_score = (1 - CHAIR + F1) / 2 needs both halves; no value for CHAIR, the "
        "generative half")
    assert res["accuracy"].value == pytest.approx(0.5)   # 2 of 4 right: round(2 / 4.001, 3)
    with pytest.raises(HalluscopeAssertionError, match="hal has no value .*computed over 0 "
                                                       "scored descriptions"):
        check_threshold(result, "amber.hal", 0.5, direction="below")
    written = json.loads((tmp_path / "o" / "results.json").read_text())["metrics"]["amber"]
    assert written["hal"]["value"] is None and written["hal"]["n"] == 0
    assert written["hal"]["why_no_value"] == res["hal"].why_no_value


def test_generative_half_alone_has_no_discriminative_value(tmp_path):
    res = _audit(tmp_path, [1], "original").metrics["amber"].results
    for name in ("accuracy", "precision", "recall", "f1", "existence_f1", "amber_score"):
        assert res[name].value is None, name
    assert res["accuracy"].why_no_value == "computed over 0 scored questions"
    assert "no value for F1, the discriminative half" in res["amber_score"].why_no_value
    assert res["hal"].value == pytest.approx(1.0)     # the one description hallucinates


def test_compare_gives_a_side_over_no_units_no_value_as_the_audit_does(tmp_path):
    """The audit refuses a gate on relation_precision = 0.0 over no units (above); compare
    showed A 0.0, B 0.0, diff 0.0 for it and a diff gate passed on that. Now neither side has
    a value, the difference is None and the gate fails saying so; relation_accuracy (1 answer,
    read Yes against truth No in both runs: 0.0 over 1 unit) keeps its values."""
    from halluscope.comparison import diff_gate_failures
    _audit(tmp_path / "a", ANSWERS, "original")
    _audit(tmp_path / "b", ANSWERS, "original")
    res = halluscope.compare([tmp_path / "a" / "o", tmp_path / "b" / "o"], n_boot=0)
    entry = res.comparisons[0].metrics["amber.relation_precision"]
    assert (entry["a"], entry["b"], entry["diff"], entry["ci"]) == (None, None, None, None)
    kept = res.comparisons[0].metrics["amber.relation_accuracy"]
    assert (kept["a"], kept["b"], kept["diff"]) == (0.0, 0.0, 0.0)
    fails = diff_gate_failures(res, above={"diff.amber.relation_precision": 0.5})
    assert len(fails) == 1 and "has no value" in fails[0]
