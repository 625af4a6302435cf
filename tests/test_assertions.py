"""Dataset-level assertions (threshold, regression), their failure messages and worst items, and
baseline files; no pytest plugin involved."""

from __future__ import annotations

import json
import math

import pytest

import halluscope
from halluscope.gates.assertions import (HalluscopeAssertionError, add_observer, check_regression,
                                   check_threshold, explain_claims, remove_observer,
                                   worst_items)
from halluscope.errors import ConfigError
from halluscope.gates.baseline import (BaselineError, entry_from_result, load_baseline,
                                 write_baseline)
from halluscope.metrics.chair import ChairMetric
from halluscope.metrics.pope import PopeMetric
from halluscope.metrics.stats import MetricResult
from words_metric import RECORDS, WordHallucination

# words.rate = 4 hallucinated / 8 mentions = 0.5


@pytest.fixture(scope="module")
def result():
    return halluscope.audit(records=RECORDS, metrics=[WordHallucination(n_boot=200)])


# -- thresholds -----------------------------------------------------------------------------
def test_pass_returns_the_outcome_and_is_inclusive(result):
    outcome = result.assert_below("words.rate", 0.5)
    assert outcome is None or outcome.passed  # AuditResult.assert_below may return nothing
    out = check_threshold(result, "words.rate", 0.5)
    assert out.passed and out.compared == 0.5 and out.limit == 0.5 and out.bound is None
    assert check_threshold(result, "words.recall", 0.5, direction="above").passed


def test_failure_message_names_metric_bound_threshold_and_worst_items(result):
    with pytest.raises(AssertionError) as info:
        result.assert_below("words.rate", 0.1, bound="upper")
    text = str(info.value)
    lines = text.splitlines()
    upper = result.get("words.rate").ci[1]
    assert lines[0] == (f"words.rate: upper bound of the 95% CI {upper:.4f} is above the "
                        f"threshold 0.1")
    assert "  metric     words.rate (lower is better)" in lines
    assert any(line.startswith("  value      0.5000   95% CI [") and line.endswith("n = 4")
               for line in lines)
    assert f"exceeded by {upper - 0.1:.4f}" in text
    # worst first: c has three hallucinated mentions (dog twice), b one
    assert "worst items (2 of 2 items that count against words.rate):" in text
    assert text.index("1. id c (<records>:3), image 3.jpg") < text.index("2. id b")
    assert "hallucinated: 'dog' (x2), 'frisbee'" in text
    assert "response: 'A dog, a dog and a frisbee.'" in text
    outcome = info.value.outcome
    assert not outcome.passed and outcome.bound == "upper" and outcome.compared == upper


def test_lower_bound_and_conservative_bound(result):
    metric = result.get("words.recall")
    with pytest.raises(HalluscopeAssertionError) as info:
        check_threshold(result, "words.recall", 0.45, bound="conservative", direction="above")
    assert info.value.outcome.bound == "lower"
    assert info.value.outcome.compared == metric.ci[0]
    assert "words.recall: lower bound of the 95% CI" in str(info.value)
    assert "is below the threshold 0.45" in str(info.value)
    assert "short by" in str(info.value)


def test_a_gate_in_the_unusual_direction_gets_a_hint(result):
    with pytest.raises(AssertionError, match="higher-is-better; a release gate usually wants "
                                             "assert_above"):
        result.assert_below("words.recall", 0.1)


def test_no_interval_or_undefined_value_fails_clearly():
    res = halluscope.audit(records=RECORDS, metrics=[WordHallucination(n_boot=0)])
    assert check_threshold(res, "words.rate", 0.6).passed
    with pytest.raises(AssertionError, match=r"words.rate has no confidence interval .* so its "
                                             r"upper bound cannot be compared with 0.6"):
        check_threshold(res, "words.rate", 0.6, bound="upper")
    empty = halluscope.audit(records=[{"id": "x", "response": "Nothing here."}],
                             metrics=[WordHallucination(n_boot=10)])
    assert empty.get("words.rate").value is None
    with pytest.raises(AssertionError, match=r"words.rate has no value \(n = 1\): undefined "
                                             r"over its 1 scored items"):
        empty.assert_below("words.rate", 0.5)


def test_bad_arguments_are_not_assertion_failures(result):
    with pytest.raises(ValueError, match="expected bound None, 'upper', 'lower'"):
        check_threshold(result, "words.rate", 0.5, bound="top")
    with pytest.raises(ValueError, match="expected direction 'below' or 'above'"):
        check_threshold(result, "words.rate", 0.5, direction="under")
    with pytest.raises(ValueError, match="expected a number as the threshold"):
        check_threshold(result, "words.rate", "0.5")
    with pytest.raises(KeyError, match="no statistic 'nope'"):
        check_threshold(result, "words.nope", 0.5)


def test_observers_see_every_check(result):
    seen = []
    add_observer(seen.append)
    try:
        check_threshold(result, "words.rate", 0.9)
        with pytest.raises(AssertionError):
            check_threshold(result, "words.rate", 0.1)
    finally:
        remove_observer(seen.append)
    check_threshold(result, "words.rate", 0.9)
    assert [o.passed for o in seen] == [True, False]
    data = seen[1].to_dict()
    assert data["name"] == "words.rate" and data["limit"] == 0.1 and "worst items" in \
        data["message"]
    json.dumps(data)
    assert seen[0].describe() == "words.rate = 0.5000, required <= 0.9000"


# -- regression -----------------------------------------------------------------------------
def test_regression_follows_the_metric_direction(result):
    baseline = {"metrics": {"words.rate": {"value": 0.45, "ci": [0.3, 0.6], "n": 4},
                            "words.recall": {"value": 0.55}}}
    assert check_regression(result, baseline, "words.rate", tolerance=0.05).passed
    with pytest.raises(AssertionError) as info:
        check_regression(result, baseline, "words.rate", tolerance=0.01)
    text = str(info.value)
    assert text.splitlines()[0] == ("words.rate regressed: 0.5000 now vs 0.4500 in the "
                                    "baseline (worse by 0.0500, tolerance 0.01)")
    assert "  baseline   0.4500   CI [0.3000, 0.6000]   n = 4" in text
    assert "  compared   value 0.5000 <= 0.4600 required (baseline + tolerance)" in text
    assert "1. id c" in text
    # higher is better: below baseline - tolerance fails
    with pytest.raises(AssertionError, match=r"words.recall regressed: 0.5000 now vs 0.5500"):
        check_regression(result, baseline, "words.recall", tolerance=0.02)
    assert check_regression(result, baseline, "words.recall", tolerance=0.05).passed
    # improving is never a regression
    assert check_regression(result, {"words.rate": 0.9}, "words.rate").passed


def test_regression_without_a_baseline_value_says_how_to_record_one(result, tmp_path):
    path = tmp_path / "baseline.json"
    with pytest.raises(AssertionError, match=r"no baseline value for words.rate in .*"
                                             r"baseline.json; record one with `pytest "
                                             r"--halluscope-update-baseline`"):
        check_regression(result, path, "words.rate")
    with pytest.raises(ValueError, match="expected a tolerance >= 0"):
        check_regression(result, {}, "words.rate", tolerance=-1)


def test_a_regression_on_a_statistic_with_no_direction_says_so(result):
    """A count or a length is checked both ways; its message said "(lower is better)" and
    listed the hallucinated items as "items that count against" it (hunt #18)."""
    with pytest.raises(AssertionError) as info:
        check_regression(result, {"words.items": {"value": 3}}, "words.items")
    text = str(info.value)
    assert "moved by 1," in text and "within 3 ± 0 required" in text   # a count, whole
    assert "(no better direction: a move either way is a change)" in text
    assert "lower is better" not in text and "count against words.items" not in text
    assert "worst items: none (words.items has no better direction" in text


# -- baseline files -------------------------------------------------------------------------
def test_baseline_round_trip_merges_and_keeps_counts_as_integers(result, tmp_path):
    path = tmp_path / "sub" / "baseline.json"
    assert load_baseline(path)["metrics"] == {}
    write_baseline(path, {"words.rate": entry_from_result(result.get("words.rate"))})
    write_baseline(path, {"words.items": entry_from_result(result.get("words.items"))})
    data = json.loads(path.read_text())
    assert set(data) == {"halluscope", "created", "metrics"}
    assert data["halluscope"] == halluscope.__version__
    assert data["metrics"]["words.rate"]["value"] == 0.5
    assert data["metrics"]["words.rate"]["higher_is_better"] is False
    assert data["metrics"]["words.items"] == {"value": 4, "n": 4, "higher_is_better": False,
                                              "direction": False}
    assert check_regression(result, path, "words.rate").passed
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]   # no temporary file left


def test_nan_values_are_stored_as_null():
    entry = entry_from_result(MetricResult("x", float("nan"), 0, ci=(float("nan"), 1.0),
                                           confidence=0.95))
    assert entry["value"] is None and entry["ci"] == [None, 1.0]


@pytest.mark.parametrize("text,match", [
    ("{not json", r"baseline.json:1: expected a JSON baseline file, got invalid JSON"),
    ("[1, 2]", r"expected a halluscope baseline .* got list"),
    ('{"metrics": {"a.b": 3}}', r"metric 'a.b': expected an object with a 'value'"),
])
def test_malformed_baselines_are_refused(tmp_path, text, match):
    path = tmp_path / "baseline.json"
    path.write_text(text)
    with pytest.raises(BaselineError, match=match):
        load_baseline(path)


# -- explainers -----------------------------------------------------------------------------
def test_pope_false_positives_rank_before_other_mistakes():
    items = [
        {"id": "fn", "response": "No.", "pope": {"prediction": "no", "label": "yes",
                                                 "question": "Is there a cat in the image?"}},
        {"id": "ok", "response": "Yes.", "pope": {"prediction": "yes", "label": "yes"}},
        {"id": "fp", "response": "Yes, a dog.", "pope": {
            "prediction": "yes", "label": "no", "question_id": 7,
            "question": "Is there a dog in the image?"}},
        {"id": "unk", "response": "Maybe.", "pope": {"prediction": "unknown", "label": "no",
                                                     "question": "Is there a car?"}},
    ]

    class Result:
        pass
    res = Result()
    res.items = items
    ranked, bad, _ = worst_items(res, "pope.f1", 5)
    assert [w.id for w in ranked] == ["fp", "unk", "fn"] and bad == 3
    assert ranked[0].lines == ("question 7: 'Is there a dog in the image?'",
                               "truth no, answer read as yes (false positive: said yes to an "
                               "object that is not there)")
    # precision counts only the false positives, recall only missed objects
    assert [w.id for w in worst_items(res, "pope.precision", 5)[0]] == ["fp"]
    assert [w.id for w in worst_items(res, "pope.recall", 5)[0]] == ["fn"]
    assert [w.id for w in worst_items(res, "pope.f1@object:dog", 5)[0]] == ["fp"]
    assert PopeMetric.explain_item(items[1], "f1", None) is None


def test_chair_explanation_shows_words_and_ground_truth():
    item = {"chair": {"hallucinated": [["dogs", "dog"], ["table", "dining table"]],
                      "mentioned": [["cat", "cat"], ["dogs", "dog"], ["table", "dining table"]],
                      "gt": ["cat", "bed"]}}
    severity, lines = ChairMetric.explain_item(item, "chair_i", None)
    assert severity == 2
    assert lines == ["hallucinated: 'dogs→dog', 'table→dining table'; ground truth: bed, cat"]
    assert ChairMetric.explain_item(item, "recall", None) == (1.0, ["missed objects: bed"])
    assert ChairMetric.explain_item({"chair": {"hallucinated": [], "gt": []}}, "chair_s", None) is None


def test_claims_explanation_shows_reason_and_evidence():
    response = "A red car is parked next to a dog."
    item = {"response": response, "claims": [
        {"kind": "attribute", "subject": "car", "value": "red", "span": [2, 9],
         "verdict": "hallucinated", "reason": "the car is blue",
         "evidence": [{"source": "annotation", "label": "car", "box": [1.0, 2.0, 3.0, 4.0]}]},
        {"kind": "existence", "subject": "dog", "span": [30, 33], "verdict": "hallucinated",
         "reason": "no dog is annotated", "evidence": []},
        {"kind": "existence", "subject": "car", "verdict": "supported"},
    ]}
    severity, lines = explain_claims(item, "hallucination_rate", None)
    assert severity == 2
    assert lines[0] == ("attribute claim 'red car': the car is blue [evidence: annotation car "
                        "box [1.0, 2.0, 3.0, 4.0]]")
    assert lines[1] == "existence claim 'dog': no dog is annotated [evidence: nothing found]"
    # a kind in the statistic or the group narrows the claims
    assert explain_claims(item, "attribute_rate", None)[0] == 1
    assert explain_claims(item, "rate", "kind:relation") is None


def test_a_gate_on_a_group_whose_value_holds_an_equals_sign():
    """'pope.f1@split:a=b@lower=0.8' was cut at the first '=' and refused (exit 2)."""
    from halluscope.gates.thresholds import parse_gate
    gate = parse_gate("pope.f1@split:a=b@lower=0.8", "above")
    assert (gate.name, gate.bound, gate.limit) == ("pope.f1@split:a=b", "lower", 0.8)
    with pytest.raises(ConfigError, match=r"METRIC\.STAT\[@GROUP\]\[@BOUND\]=VALUE"):
        parse_gate("pope.f1", "above")


def _outcome(**kw):
    from halluscope.gates.assertions import Outcome
    base = dict(kind="threshold", name="chair.chair_i", passed=False, value=0.381, ci=None,
                confidence=None, n=21, higher_is_better=False, bound=None, compared=0.381,
                direction="below", limit=0.05)
    return Outcome(**{**base, **kw})


def test_the_summary_line_says_what_was_found_and_what_was_required():
    """'FAILED chair.chair_i value 0.3810 <= 0.0500' read as if the comparison held."""
    assert _outcome().describe() == "chair.chair_i = 0.3810, required <= 0.0500"
    assert _outcome(bound="upper", compared=0.6667).describe() == \
        "chair.chair_i upper bound = 0.6667, required <= 0.0500"
    assert _outcome(name="pope.f1", higher_is_better=True, direction="above", value=0.7273,
                    compared=0.7273, limit=0.9).describe() == \
        "pope.f1 = 0.7273, required >= 0.9000"
    assert _outcome(kind="regression", passed=True, limit=0.401, baseline=0.381,
                    tolerance=0.02).describe() == \
        "chair.chair_i = 0.3810, required <= 0.4010 (baseline 0.3810, tolerance 0.02)"
    # a value that fails by less than the decimals show keeps the decimals that tell
    assert _outcome(value=0.050004, compared=0.050004).describe() == \
        "chair.chair_i = 0.050004, required <= 0.0500"
