"""A gate on a statistic with no value fails and says why (the metric's why_no_value), in a
regression check against a baseline and when the plugin's update run records nothing: it said
only "undefined now (n = 0)" / "has no value (n=0)"."""

from __future__ import annotations

import json

import pytest

import halluscope
from halluscope.gates.assertions import HalluscopeAssertionError, check_regression
from test_finish_reasons import _questions


def _all_no(tmp_path):
    """Every answer No: POPE's precision is a share of no yes answer, so it has no value."""
    questions = _questions(tmp_path)
    rows = [json.loads(line) for line in questions.read_text().splitlines()]
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps({"question_id": r["question_id"], "prompt": r["text"],
                                           "response": "No"}) + "\n" for r in rows))
    res = halluscope.audit(answers, metrics="pope", questions=questions, n_boot=0,
                           write_report=False)
    metric = res.get("pope.precision")
    assert metric.value is None and metric.why_no_value
    return res, metric.why_no_value


def test_a_regression_check_on_a_missing_value_says_why(tmp_path):
    res, why = _all_no(tmp_path)
    with pytest.raises(HalluscopeAssertionError) as info:
        check_regression(res, {"pope.precision": {"value": 0.5, "n": 6}}, "pope.precision")
    assert f"pope.precision has no value now (n = 0): {why}" in str(info.value)
    with pytest.raises(HalluscopeAssertionError, match="undefined .no wrong answer"):
        check_regression(res, {"pope.f1": {"value": None, "n": 0,
                                           "why_no_value": "no wrong answer"}}, "pope.f1")


def test_updating_the_baseline_says_why_nothing_was_recorded(tmp_path):
    from halluscope.pytest_plugin import GateSession
    from halluscope.pytest_plugin.settings import Settings
    res, why = _all_no(tmp_path)
    session = GateSession(object(), Settings(update_baseline=True,
                                             baseline=tmp_path / "b.json", rootpath=tmp_path))
    with pytest.raises(HalluscopeAssertionError) as info:
        session.check_regression(res, "pope.precision")
    assert f"has no value (n=0: {why}), so nothing was recorded" in str(info.value)
    assert session.updates == {}
