"""A user's bug hunt of the gates, the pytest plugin and the notebook API: each test names the
behaviour that was wrong (a gate that could not fail, a memoised audit handed to other records,
a metric object that counted two runs, errors that came out as deep tracebacks)."""

from __future__ import annotations

import json
import math
import os
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

import halluscope
import halluscope.gates.assertions  # noqa: F401  (loaded outside pytester's module snapshot)
import halluscope.pipeline  # noqa: F401
from halluscope.errors import ConfigError
from halluscope.gates.assertions import (HalluscopeAssertionError, check_regression,
                                         check_threshold)
from halluscope.metrics.base import MetricSummary
from halluscope.metrics.stats import MetricResult
from halluscope.result import AuditResult
from words_metric import RECORDS, Words

pytest_plugins = ["pytester"]

ROOT = Path(halluscope.__file__).resolve().parent.parent


def pope_rows(flip: int | None = None, n: int = 100) -> list[dict]:
    """``n`` POPE answers, every one right except number ``flip``."""
    rows = []
    for i in range(n):
        label = "yes" if i % 2 else "no"
        answer = ("No." if label == "yes" else "Yes.") if i == flip else f"{label.title()}."
        rows.append({"id": f"q{i}", "question_id": i, "task": "yes-no",
                     "image": f"img{i % 20}.jpg", "prompt": "Is there a dog in the image?",
                     "response": answer, "label": label})
    return rows


@pytest.fixture(scope="module")
def result():
    return halluscope.audit(records=RECORDS, metrics=[Words(n_boot=200)])


# -- thresholds and tolerances that are no limit ---------------------------------------------
def test_an_infinite_threshold_is_refused_as_the_cli_refuses_it(result):
    """``assert_below("words.items", inf)`` passed whatever the count (an unbounded statistic
    has no range to refuse it by), while ``--fail-above words.items=inf`` exits 2."""
    for bad in (math.inf, -math.inf, float("nan")):
        with pytest.raises(ValueError, match=r"expected a number as the threshold of "
                                             r"words.items, got .*a finite one"):
            result.assert_below("words.items", bad)
        with pytest.raises(ValueError, match="a finite one"):
            check_threshold(result, "words.items", bad, direction="above")
    # a numpy number is a number (np.float32 is no float subclass: it was refused)
    assert result.assert_below("words.rate", np.float32(0.5)).passed
    assert result.assert_above("words.items", np.int64(4)).passed


def test_a_bound_in_the_name_is_read_as_in_every_other_face(result):
    """The README writes gates METRIC.STAT[@GROUP][@BOUND] the same in the CLI,
    gate_failures and the plugin, but assert_below("words.rate@upper", ...) looked "upper" up
    as a group ("metric 'words' has no group 'upper'")."""
    upper = result.get("words.rate").ci[1]
    outcome = result.assert_below("words.rate@upper", 1.0)
    assert outcome.bound == "upper" and outcome.compared == upper and outcome.name == \
        "words.rate"
    with pytest.raises(HalluscopeAssertionError, match=r"words.rate: upper bound of the 95% "):
        result.assert_below("words.rate@upper", 0.5)
    assert result.assert_below("words.rate@value", 0.5).bound is None
    with pytest.raises(ValueError, match=r"names the bound @upper and bound='lower' another"):
        result.assert_below("words.rate@upper", 0.5, bound="lower")


def test_gate_and_name_mistakes_are_said_plainly(result):
    """gate_failures(above=[(name, limit)]) failed with "'list' object has no attribute
    'items'"; get("words") said "has no statistic ''"."""
    with pytest.raises(ConfigError, match=r"gate_failures\(above=...\): expected a dict .*"
                                          r"got list"):
        result.gate_failures(above=[("words.rate", 0.5)])
    with pytest.raises(KeyError, match=r"expected a name '<metric>.<statistic>' such as "
                                       r"'words.rate', got 'words'"):
        result.get("words")


def test_a_tolerance_that_is_no_number_is_refused(result):
    """nan slipped past ``tolerance < 0`` and inf made every regression check pass."""
    for bad in (float("nan"), math.inf):
        with pytest.raises(ValueError, match="expected a tolerance >= 0"):
            check_regression(result, {"words.rate": 0.5}, "words.rate", tolerance=bad)


@pytest.mark.parametrize("raw", ["Infinity", "true", '"0.3"', '"abc"', "[0.3]"])
def test_a_baseline_value_that_is_no_finite_number_is_refused(result, tmp_path, raw):
    """A baseline of Infinity passed every later run of a lower-is-better metric, true was
    read as 1.0 and "0.3" as 0.3; "abc" and [0.3] failed with a bare ValueError/TypeError."""
    from halluscope.gates.baseline import BaselineError, load_baseline
    path = tmp_path / "baseline.json"
    path.write_text('{"metrics": {"words.rate": {"value": %s}}}' % raw, encoding="utf-8")
    with pytest.raises(BaselineError, match=r"baseline.json: metric 'words.rate': expected a "
                                            r"finite number \(or null\) as the 'value'"):
        load_baseline(path)
    with pytest.raises(ValueError, match=r"words.rate: expected a finite number"):
        check_regression(result, {"words.rate": {"value": json.loads(raw)}}, "words.rate")
    with pytest.raises(ValueError, match=r"expected a finite number"):
        check_regression(result, {"words.rate": math.inf}, "words.rate")



@pytest.mark.parametrize("field, raw", [("ci", "[0.1]"), ("ci", '"abc"'), ("ci", '[0.1, "x"]'),
                                        ("ci", "[0.1, 0.2, 0.3]"), ("n", '"0"'), ("n", "-1"),
                                        ("n", "true"), ("n", "2.5")])
def test_a_baseline_interval_or_size_that_is_none_is_refused(result, tmp_path, field, raw):
    """A baseline's ``ci`` that was not two numbers made a failing regression check end in
    "ValueError: not enough values to unpack" (no file, no metric, no field), and an ``n`` of
    "0" slipped past the check that refuses a baseline value over no units."""
    from halluscope.gates.baseline import BaselineError, load_baseline
    path = tmp_path / "baseline.json"
    path.write_text('{"metrics": {"words.rate": {"value": 0.01, "%s": %s}}}' % (field, raw),
                    encoding="utf-8")
    with pytest.raises(BaselineError, match=rf"baseline.json: metric 'words.rate': expected .* "
                                            rf"as the '{field}', got"):
        load_baseline(path)
    entry = {"value": 0.01, field: json.loads(raw)}
    with pytest.raises(ValueError, match=rf"words.rate: expected .* as the '{field}'"):
        check_regression(result, {"metrics": {"words.rate": entry}}, "words.rate")
    fine = {"value": 0.01, "ci": [None, 0.2], "n": 4}      # as written for an undefined end
    with pytest.raises(HalluscopeAssertionError, match=r"words.rate regressed"):
        check_regression(result, {"metrics": {"words.rate": fine}}, "words.rate")

def _over_no_units(tmp_path: Path) -> AuditResult:
    """An audit whose ``m.precision`` is 0.0 over no units (AMBER's original counters give
    such defaults), beside ``m.count`` = 0, a count that is a real zero."""
    items = tmp_path / "items.jsonl"
    items.write_text("", encoding="utf-8")
    results = {"precision": MetricResult("precision", 0.0, 0, higher_is_better=True,
                                         bounds=(0.0, 1.0)),
               "count": MetricResult("count", 0, 0, direction=False)}
    return AuditResult(metrics={"m": MetricSummary("m", results, 0)}, errors=[], runsheet={},
                       items_path=items, config=None, n_items=0)


def test_a_regression_check_never_passes_on_a_value_over_no_units(tmp_path):
    """The threshold check refused a value computed over no units, but the regression check
    compared it: 0.0 over nothing passed against a baseline of 0.0 (or any baseline, with
    the tolerance), and a baseline entry over no units passed a real value."""
    res = _over_no_units(tmp_path)
    with pytest.raises(HalluscopeAssertionError, match="computed over no units"):
        check_threshold(res, "m.precision", 0.5, direction="above")
    with pytest.raises(HalluscopeAssertionError, match=r"m.precision = 0.0000 is computed "
                                                       r"over no units \(n = 0\) now"):
        check_regression(res, {"m.precision": 0.0}, "m.precision")
    with pytest.raises(HalluscopeAssertionError, match="computed over no units"):
        check_regression(res, {"m.precision": {"value": 0.5}}, "m.precision", tolerance=1)
    assert check_regression(res, {"m.count": 0}, "m.count").passed     # a count of 0 is one
    rows = halluscope.audit(records=RECORDS, metrics=[Words(n_boot=0)])
    with pytest.raises(HalluscopeAssertionError, match=r"baseline value 0.1000 of words.rate "
                                                       r"in the baseline is computed over no"):
        check_regression(rows, {"words.rate": {"value": 0.1, "n": 0}}, "words.rate",
                         tolerance=0.9)


def test_updating_the_baseline_records_no_value_over_no_units(tmp_path):
    """``--halluscope-update-baseline`` wrote 0.0 over no units into the baseline as if it
    were measured, so that every later run compared with a default."""
    from halluscope.pytest_plugin import GateSession
    from halluscope.pytest_plugin.settings import Settings
    session = GateSession(object(), Settings(update_baseline=True,
                                             baseline=tmp_path / "b.json", rootpath=tmp_path))
    res = _over_no_units(tmp_path)
    with pytest.raises(HalluscopeAssertionError, match=r"m.precision: has no value \(n=0: "
                                                       r".+\), so nothing was recorded"):
        session.check_regression(res, "m.precision")
    assert session.updates == {}
    session.check_regression(res, "m.count")
    assert session.updates["m.count"]["value"] == 0


# -- the notebook API -------------------------------------------------------------------------
def test_a_metric_object_audits_each_run_afresh():
    """Re-running a notebook cell with the same metric object counted both runs: 8 items
    over 4 records the second time."""
    metric = Words(n_boot=0)
    first = halluscope.audit(records=RECORDS, metrics=[metric])
    second = halluscope.audit(records=RECORDS, metrics=[metric])
    assert first.summary == second.summary
    assert second.summary["words.items"] == 4 and second.get("words.items").n == 4


@pytest.mark.parametrize("inputs, shown", [
    (lambda: __import__("pandas").DataFrame(RECORDS), "got a DataFrame"),
    (lambda: RECORDS, "got a list holding a dict"),
    (lambda: [RECORDS[0]["image"], 3], "got a list holding a int (3)"),
    (lambda: 7, "got a int"),
])
def test_records_passed_as_inputs_say_where_records_go(inputs, shown):
    """``audit(df)`` read the frame's column names as files ("input file id does not
    exist"); a list of dicts or a number failed with a bare TypeError from deep inside."""
    with pytest.raises(ConfigError) as info:
        halluscope.audit(inputs(), metrics=[Words(n_boot=0)])
    assert shown in str(info.value) and "go in records=" in str(info.value)


def test_records_that_are_no_rows_are_a_clear_error():
    with pytest.raises(ConfigError, match="expected records as a list of dicts.*got int"):
        halluscope.audit(records=7, metrics=[Words(n_boot=0)])


def test_an_empty_answer_in_a_dict_record_is_scored_as_the_same_json_line_is(tmp_path):
    """records=[{"response": ""}] was a bad record ("got null") while the same line in a file
    is an empty answer that POPE's original rule reads as yes: the notebook and the CLI gave
    different numbers for the same answers."""
    rows = pope_rows(n=12)
    rows[0]["response"] = ""
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    from_file = halluscope.audit(path, metrics="pope", pope_parser="original", n_boot=0)
    from_rows = halluscope.audit(records=rows, metrics="pope", pope_parser="original",
                                 n_boot=0)
    assert from_rows.errors == from_file.errors == []
    assert from_rows.summary == from_file.summary
    assert from_rows.summary["pope.fp"] == 1            # q0 is labelled no; "" reads as yes
    assert from_rows.runsheet["counts"]["empty_answers_scored"] == {"pope": 1}


def test_the_config_a_result_shows_hides_credentials():
    """A notebook cell showing ``result.config`` printed ``judge_options={'api_key': ...}``
    as given; every file and log line already redacted it."""
    secret = "sk-hunt-0123456789abcdef"
    res = halluscope.audit(records=RECORDS, metrics=[Words(n_boot=0)],
                           options={"judge_options": {"api_key": secret}})
    for shown in (repr(res.config), str(res.config), repr(res), res._repr_html_()):
        assert secret not in shown
    assert "'api_key': '<redacted>'" in repr(res.config)
    assert res.config.options["judge_options"]["api_key"] == secret   # the data is unchanged


def test_the_html_view_names_the_interval_level_it_shows():
    """The notebook view headed every interval "95% CI", also those of a 90% audit."""
    res = halluscope.audit(records=RECORDS, metrics=[Words(n_boot=200, confidence=0.9)])
    assert res.get("words.rate").ci is not None
    view = res._repr_html_()
    assert "90% [" in view and "95%" not in view
    with pytest.raises(ValueError, match="'items', 'claims' or 'metrics'"):
        res.to_pandas("metric")


# -- the plugin -------------------------------------------------------------------------------
class _Session:
    """What the auditor needs of the plugin's session."""

    def __init__(self, folder: Path):
        from halluscope.pytest_plugin.settings import Settings
        self.settings = Settings(rootpath=folder)
        self.worker = None
        self.folder = folder
        self.audits = 0

    def scratch(self) -> Path:
        return self.folder

    def record_audit(self, *args, **kwargs) -> None:
        self.audits += 1


def test_the_auditor_memo_tells_data_frames_apart(tmp_path):
    """The memo key held ``str(frame)``, which shows a long frame's first and last rows only:
    a frame that differs in between was handed the first frame's result."""
    import pandas as pd
    from halluscope.pytest_plugin.auditor import Auditor
    session = _Session(tmp_path)
    auditor = Auditor(session)
    right = auditor.audit(records=pd.DataFrame(pope_rows()), metrics="pope", n_boot=0)
    wrong = auditor.audit(records=pd.DataFrame(pope_rows(flip=50)), metrics="pope", n_boot=0)
    assert right.summary["pope.accuracy"] == 1.0
    assert wrong.summary["pope.accuracy"] == 0.99 and session.audits == 2
    again = auditor.audit(records=pd.DataFrame(pope_rows(flip=50)), metrics="pope", n_boot=0)
    assert again is wrong and session.audits == 2       # an identical frame is still memoised
    # a generator is read once, into the key and the audit
    rows = auditor.audit(records=(r for r in pope_rows(flip=3)), metrics="pope", n_boot=0)
    assert rows.summary["pope.accuracy"] == 0.99 and len(rows.items) == 100


@pytest.fixture
def pope_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    return make_pope_project(pytester, monkeypatch, pope_rows(flip=1, n=20))


def make_pope_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                      rows: list[dict]) -> pytest.Pytester:
    """A project whose ini audits ``answers.jsonl`` (``rows``) with POPE through the plugin."""
    monkeypatch.delenv("HALLUSCOPE_OFFLINE", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    pytester.makeconftest('pytest_plugins = ["halluscope.pytest_plugin"]\n')
    (pytester.path / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                                 encoding="utf-8")
    pytester.makeini(textwrap.dedent("""
        [pytest]
        halluscope_outputs = answers.jsonl
        halluscope_metrics = pope
        addopts = -p no:asyncio
    """))
    return pytester


def test_a_marker_mistake_is_said_without_a_plugin_traceback(pope_project):
    """A misspelled statistic or bound, or a threshold given as text, in a marker failed with
    a traceback through the plugin's hooks; an infinite minimum passed."""
    pope_project.makepyfile(test_gate='''
import pytest

@pytest.mark.halluscope(metric="pope.f11", min_value=0.5)
def test_statistic_typo(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="pope.f1", min_value=0.5, bound="lowr")
def test_bound_typo(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="pope.f1", min_value="0.5")
def test_text(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="pope.fp", max_value=float("inf"))
def test_infinite(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="pope.f1", min_value=0.5)
def test_fine(halluscope_audit):
    pass
''')
    result = pope_project.runpytest()
    result.assert_outcomes(failed=4, passed=1)
    out = result.stdout.str()
    assert "@pytest.mark.halluscope(metric='pope.f11'): metric 'pope' has no statistic " \
           "'f11'; did you mean 'f1'?" in out
    assert "@pytest.mark.halluscope(metric='pope.f1'): expected bound None, 'upper'" in out
    assert "expected a number as the threshold of pope.f1, got str '0.5'" in out
    assert "expected a number as the threshold of pope.fp, got float inf" in out
    assert "_run_marker_gates" not in out and "_hooks.py" not in out


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_tolerance_option_that_is_no_number_is_a_usage_error(pope_project, value):
    pope_project.makepyfile(test_gate="def test_x(halluscope_audit):\n    pass\n")
    result = pope_project.runpytest(f"--halluscope-tolerance={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--halluscope-tolerance: expected a finite number >= 0, "
                                 f"got '{value}'*"])


def test_a_failed_audit_is_said_once_without_the_exception_it_replaced(pope_project):
    """An audit the marker's options broke failed with its message twice, the second after
    "During handling of the above exception, another exception occurred:", as the plugin
    called pytest.fail inside the except block that caught the audit's error."""
    pope_project.makepyfile(test_gate='''
import pytest

@pytest.mark.halluscope(metric="pope.f1", min_value=0.5, confidence=1.5)
def test_bad_option(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="pope.f1", min_value=0.5, n_boot=-1)
def test_bad_option_without_the_fixture():
    pass
''')
    result = pope_project.runpytest()
    result.assert_outcomes(errors=1, failed=1)      # in the fixture's set-up; after the body
    out = result.stdout.str()
    assert "halluscope audit failed: invalid audit options: confidence" in out
    assert "halluscope audit failed: invalid audit options: n_boot" in out
    assert "During handling" not in out
    assert not re.search(r"^invalid audit options", out, re.M)   # the audit's error, unprefixed
    assert "All traceback entries are hidden" not in out


def test_a_marker_keyword_that_would_check_nothing_fails_the_test(pope_project):
    """A metric given as a list ended in an AttributeError through the plugin's hooks; a
    tolerance beside a threshold (not no_regression), a bound beside no threshold or for the
    side that has none, were dropped without a word, and the gate passed on other terms than
    the ones written."""
    pope_project.makepyfile(test_gate='''
import pytest

@pytest.mark.halluscope(metric=["pope.f1"], min_value=0.5)
def test_list(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="pope.f1", min_value=0.5, tolerance=0.01)
def test_tolerance_without_regression(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="pope.f1", no_regression=True, bound="lower")
def test_bound_on_a_regression(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="pope.f1", min_value=0.5, bound={"below": "upper"})
def test_bound_for_the_other_side(halluscope_audit):
    pass

@pytest.mark.halluscope(bound="upper")
def test_bound_alone(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="pope.f1", min_value=0.5, bound={"above": "lower"})
def test_fine(halluscope_audit):
    pass
''')
    result = pope_project.runpytest("-p", "no:cacheprovider")
    out = result.stdout.str()
    result.assert_outcomes(failed=5, passed=1)
    assert "expected a metric name such as 'chair.chair_i', got a list" in out
    assert "tolerance=0.01 applies to no_regression=True" in out
    assert "bound='lower' applies to a threshold" in out
    assert "bound={'below': 'upper'} names the side 'below', which has no threshold" in out
    assert "@pytest.mark.halluscope(bound='upper'): bound='upper' applies to a threshold" in out
    assert "AttributeError" not in out and "_hooks.py" not in out


def test_a_check_that_compared_nothing_is_summed_up_by_its_reason(result, tmp_path):
    """The one-line summary (terminal section, JUnit property, JSON report) of a check that
    compared nothing read "m.precision value undefined >= 0.5000" or "value undefined >=
    undefined (baseline undefined, tolerance 0)" when the baseline had no entry at all: the
    reason, which the failure message gives, was lost."""
    with pytest.raises(HalluscopeAssertionError) as err:
        check_threshold(_over_no_units(tmp_path), "m.precision", 0.5, direction="above")
    assert err.value.outcome.describe() == str(err.value).splitlines()[0]
    assert "computed over no units" in err.value.outcome.describe()
    with pytest.raises(HalluscopeAssertionError) as err:
        check_regression(result, {"metrics": {}}, "words.rate")
    said = err.value.outcome.describe()
    assert said.startswith("no baseline value for words.rate") and "undefined" not in said
    passed = check_threshold(result, "words.rate", 1.0)
    assert passed.describe().startswith("words.rate = ")      # compared: as before


@pytest.mark.parametrize("xdist", [False, True])
def test_a_gate_test_that_failed_without_a_verdict_is_in_the_summary_and_report(pope_project,
                                                                                 xdist):
    """A test whose gate never got to a verdict (a misspelled metric, an audit that failed)
    failed in pytest, but the halluscope summary said "assertions: 1 passed, 0 failed" and
    the JSON report "failed": 0: a dashboard reading the report saw green. Such tests are
    now listed as errors, with the test and the first line of why."""
    pope_project.makepyfile(test_gate='''
def test_ok(halluscope_audit):
    halluscope_audit.assert_above("pope.f1", 0.5)

def test_typo(halluscope_audit):
    halluscope_audit.assert_above("pope.f11", 0.5)

def test_bad_audit(halluscope_auditor):
    halluscope_auditor.audit(metrics="pope", confidence=2)

def test_plain():
    assert False
''')
    args = ["-p", "no:cacheprovider", "--halluscope-report", "report.json"]
    if xdist:
        pytest.importorskip("xdist")
        result = pope_project.runpytest_subprocess("-n", "2", "-p", "xdist", *args)
    else:
        result = pope_project.runpytest(*args)
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines([
        "assertions: 1 passed, 0 failed; 2 test(s) failed without a verdict",
        "  ERROR halluscope audit failed: invalid audit options: confidence*"
        "[[]test_gate.py::test_bad_audit]",
        "  ERROR halluscope_audit.assert_above('pope.f11') at test_gate.py:5: metric 'pope' has "
        "no statistic 'f11'*[[]test_gate.py::test_typo]"])
    report = json.loads((pope_project.path / "report.json").read_text())
    assert report["passed"] == 1 and report["failed"] == 0
    errors = {e["nodeid"]: e for e in report["errors"]}
    assert sorted(errors) == ["test_gate.py::test_bad_audit", "test_gate.py::test_typo"]
    assert errors["test_gate.py::test_typo"]["when"] == "call"
    assert "no statistic 'f11'" in errors["test_gate.py::test_typo"]["message"]


def test_a_count_is_shown_whole_in_gate_messages(result):
    """A gate on a count said 'pope.fp@object:bed: value 1.0000 is above the threshold 0' and
    a regression check 'value 2.0000 within 2.0000 ± 0': a count of answers with decimals."""
    n = result.get("words.items").value
    assert isinstance(n, int)
    with pytest.raises(HalluscopeAssertionError) as err:
        result.assert_below("words.items", n - 1)
    assert str(err.value).startswith(f"words.items: value {n} is above the threshold {n - 1}")
    assert f"value      {n}   " in str(err.value)
    outcome = check_regression(result, {"words.items": n}, "words.items")
    assert outcome.describe() == f"words.items = {n}, required within {n} ± 0 (the baseline)"


@pytest.mark.parametrize("option", ["--halluscope-baseline", "--halluscope-report"])
def test_a_baseline_or_report_path_that_is_a_folder_is_a_usage_error(pope_project, option):
    """--halluscope-baseline tests/ (the folder meant for the file) ran the session, passed
    every regression check while recording, then ended in an IsADirectoryError traceback after
    the summary, the baseline unwritten (exit 1, as a failed test)."""
    (pope_project.path / "gates").mkdir()
    pope_project.makepyfile(test_gate='''
def test_x(halluscope_audit):
    halluscope_audit.assert_no_regression("pope.f1")
''')
    result = pope_project.runpytest(option, "gates", "--halluscope-update-baseline")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{option}: expected a file, got the folder *gates*"])
