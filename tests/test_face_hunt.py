"""A user's hunt through two faces: the Python API (``halluscope.audit``, ``NotebookResult``,
``score_answers``) and the pytest plugin. Each test here failed before its fix."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from halluscope.metrics.pope import score_answers

from tests.test_finish_reasons import OBJECTS, _jsonl
from tests.test_finish_reasons import _questions as _questions_n


def _questions(tmp_path: Path, n: int = 8) -> Path:
    return _questions_n(tmp_path, n)


def _answers(tmp_path: Path, reasons: list) -> Path:
    return _jsonl(tmp_path / "answers.jsonl", [
        {"question_id": i, "prompt": f"Is there a {OBJECTS[i % 6]} in the image?",
         "response": "Yes" if i % 2 else "No", "finish_reason": reason}
        for i, reason in enumerate(reasons, 1)])


# -- score_answers reads finish reasons as an audit does ---------------------------------------
REASONS = ["stop", "length", "content_filter", "stop", "tool_calls", "MAX_TOKENS", "stop", "stop"]


def test_score_answers_counts_cut_and_unknown_finish_reasons_as_an_audit_does(tmp_path, caplog):
    q, a = _questions(tmp_path), _answers(tmp_path, REASONS)
    with caplog.at_level(logging.WARNING):
        got = score_answers(a, q)
    assert [e["line"] for e in got["errors"]] == [3]            # withheld: a bad record
    assert got["metrics"]["n"] == 7                            # cut and unknown: scored
    assert got["finish"] == {"truncated": 2, "filtered": 1,
                             "unrecognised_finish": {"tool_calls": 1}}
    said = caplog.text
    assert "cut at the token limit" in said and "tool_calls" in said
    import halluscope
    audit = halluscope.audit(a, metrics="pope", questions=q, n_boot=0)
    assert {k: audit.runsheet["counts"][k] for k in got["finish"]} == got["finish"]


def test_score_answers_complete_only_leaves_out_the_cut_and_the_unknown(tmp_path):
    q, a = _questions(tmp_path), _answers(tmp_path, REASONS)
    got = score_answers(a, q, complete_only=True)
    assert [e["line"] for e in got["errors"]] == [2, 3, 5, 6]
    assert all("complete-only" in e["message"] for e in got["errors"] if e["line"] != 3)
    assert got["predictions"][1] is None and got["metrics"]["n"] == 4
    assert got["finish"]["truncated"] == 2


def test_score_answers_of_answers_without_finish_reasons_counts_nothing(tmp_path):
    q = _questions(tmp_path)
    plain = _jsonl(tmp_path / "plain.jsonl", [{"question_id": i, "text": "Yes"}
                                              for i in range(1, 9)])
    done = _answers(tmp_path, ["stop"] * 8)
    assert score_answers(plain, q)["finish"] == {} == score_answers(done, q)["finish"]


# -- the plugin: a session that stopped early is never read as a verdict -----------------------
from test_pytest_plugin import project  # noqa: E402,F401  (the pytester project fixture)

pytest_plugins = ["pytester"]

STOPS = '''
import os

def test_1(halluscope_audit):
    halluscope_audit.assert_below("fakehall.rate", 0.5)

def test_2(halluscope_audit):
    halluscope_audit.assert_below("fakehall.rate", 0.5)
    {stop}

def test_3(halluscope_audit):
    halluscope_audit.assert_below("fakehall.rate", 0.5)

def test_4(halluscope_audit):
    halluscope_audit.assert_below("fakehall.rate", 0.5)
'''


def test_an_interrupted_session_writes_a_report_that_says_so(project):
    """Ctrl-C after the first gate: the report said "passed": 1, "failed": 0, "errors": [],
    which a dashboard reads as green, though three tests never ran."""
    project.makepyfile(test_gate=STOPS.format(stop="raise KeyboardInterrupt"))
    result = project.runpytest_subprocess("-p", "no:cacheprovider",
                                          "--halluscope-report", "report.json")
    report = json.loads((project.path / "report.json").read_text())
    assert report["complete"] is False and report["exitstatus"] == 2
    assert "interrupted" in report["incomplete"][0]
    result.stdout.fnmatch_lines(["*session interrupted*not a verdict*"])


def test_a_crashed_xdist_worker_is_said_in_the_report_and_summary(project):
    """A worker that died (a segfault in a model library, the OOM killer) took its tests'
    assertions with it; the report listed the other worker's passes and "failed": 0."""
    pytest.importorskip("xdist")
    project.makepyfile(test_gate=STOPS.format(stop="os._exit(3)"))
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "-p", "xdist",
                                          "--halluscope-report", "report.json")
    report = json.loads((project.path / "report.json").read_text())
    assert report["complete"] is False
    crashed = [e for e in report["errors"] if e["when"] == "crash"]
    assert [e["nodeid"] for e in crashed] == ["test_gate.py::test_2"]
    assert any("crashed" in why for why in report["incomplete"])
    result.stdout.fnmatch_lines(["*worker gw* crashed*"])


def test_a_session_that_ran_through_is_complete(project):
    project.makepyfile(test_gate=STOPS.format(stop="assert False"))
    result = project.runpytest("-p", "no:cacheprovider", "--halluscope-report", "report.json")
    result.assert_outcomes(passed=3, failed=1)
    report = json.loads((project.path / "report.json").read_text())
    assert report["complete"] is True and report["exitstatus"] == 1
    assert report["incomplete"] == []


# -- a baseline made with other settings is not compared as if it were the same measure ---------
def _pope_audit(tmp_path, parser: str, **options):
    import halluscope
    q = _questions(tmp_path, 12)
    rows = [{"question_id": i, "prompt": f"Is there a {OBJECTS[i % 6]} in the image?",
             "response": ("Not sure, maybe yes." if i % 4 == 0 else "Yes" if i % 2 else "No")}
            for i in range(1, 13)]
    return halluscope.audit(records=rows, metrics="pope", questions=q, n_boot=0,
                            pope_parser=parser, **options)


def test_a_regression_check_against_a_baseline_of_another_parser_fails_saying_so(tmp_path):
    """A baseline recorded with the original POPE parser and compared with a run read by the
    strict one passed or failed on two different definitions of the number, without a word."""
    from halluscope.gates.assertions import HalluscopeAssertionError, check_regression
    from halluscope.gates.baseline import baseline_entry, load_baseline, write_baseline
    before = _pope_audit(tmp_path, "original")
    path = write_baseline(tmp_path / "b.json", {"pope.accuracy": baseline_entry(
        before, "pope.accuracy")})
    assert load_baseline(path)["metrics"]["pope.accuracy"]["settings"]["parser"] == "original"
    check_regression(before, path, "pope.accuracy")                 # same settings: compared
    now = _pope_audit(tmp_path, "strict")
    with pytest.raises(HalluscopeAssertionError) as caught:
        check_regression(now, path, "pope.accuracy", tolerance=1.0)  # would pass on any value
    said = str(caught.value)
    assert "other settings" in said and "parser: 'original' in the baseline, 'strict' now" \
        in said and "--halluscope-update-baseline" in said
    assert caught.value.outcome.passed is False


def test_a_baseline_without_settings_is_compared_as_before(tmp_path):
    from halluscope.gates.assertions import check_regression
    now = _pope_audit(tmp_path, "strict")
    old = {"metrics": {"pope.accuracy": {"value": now.get("pope.accuracy").value}}}
    assert check_regression(now, old, "pope.accuracy").passed


def test_the_plugin_records_settings_and_a_run_with_another_parser_fails(pytester,
                                                                          monkeypatch):
    """End to end: ``--halluscope-update-baseline`` records the parser beside the value; the
    same gate under ``pope_parser="strict"`` fails naming it instead of comparing."""
    import os
    import textwrap
    root = Path(__file__).resolve().parents[1]
    monkeypatch.delenv("HALLUSCOPE_OFFLINE", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])]))
    pytester.makeconftest('pytest_plugins = ["halluscope.pytest_plugin"]\n')
    _questions(pytester.path, 12)
    _jsonl(pytester.path / "answers.jsonl", [
        {"question_id": i, "prompt": f"Is there a {OBJECTS[i % 6]} in the image?",
         "response": "Yes" if i % 2 else "No"} for i in range(1, 13)])
    pytester.makeini(textwrap.dedent("""
        [pytest]
        halluscope_outputs = answers.jsonl
        halluscope_questions = coco_pope_random.json
        halluscope_metrics = pope
        addopts = -p no:asyncio -p no:cacheprovider
    """))
    pytester.makepyfile(test_gate='''
import pytest

def test_same(halluscope_audit):
    halluscope_audit.assert_no_regression("pope.accuracy")

@pytest.mark.halluscope(pope_parser="strict")
def test_other_parser(halluscope_audit):
    halluscope_audit.assert_no_regression("pope.accuracy", tolerance=1.0)
''')
    pytester.runpytest_subprocess("--halluscope-update-baseline", "-k", "same") \
        .assert_outcomes(passed=1)
    data = json.loads((pytester.path / "halluscope-baseline.json").read_text())
    assert data["metrics"]["pope.accuracy"]["settings"]["parser"] == "original"
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*recorded with other settings (parser: 'original' in the "
                                 "baseline, 'strict' now*"])


# -- examples/audit_api.py: a metric that scored nothing fails the script, saying why -----------
def test_the_api_example_fails_when_a_metric_scored_nothing(tmp_path, capsys):
    """``python examples/audit_api.py captions.jsonl --metrics pope`` printed ``pope.f1 nan
    (n=0)`` and exited 0: the example of the Python API showed a run that scored nothing as
    a result. It now says which metric scored nothing and why, and exits 2 as the CLI does."""
    import importlib.util
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("audit_api_example",
                                                  root / "examples" / "audit_api.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    captions = _jsonl(tmp_path / "captions.jsonl", [
        {"id": "c1", "image": "a.jpg", "response": "A dog on a sofa."},
        {"id": "c2", "image": "b.jpg", "response": "A cat."}])
    code = example.main([str(captions), "--metrics", "pope", "--out", str(tmp_path / "out")])
    said = capsys.readouterr().out
    assert code == 2
    assert "pope scored nothing:" in said and "0 of 2" in said


# -- the notebook view says what the console says about the answers read ------------------------
def test_the_notebook_view_says_the_cut_and_unknown_answers_scored(tmp_path):
    """An audit of answers cut at the token limit says so in the console's first line and the
    report's header; the notebook's HTML summary showed the numbers with no word of them."""
    import halluscope
    q, a = _questions(tmp_path), _answers(tmp_path, REASONS)
    result = halluscope.audit(a, metrics="pope", questions=q, n_boot=0)
    shown = result._repr_html_()
    assert "2 cut at the token limit (scored as written)" in shown
    assert "1 withheld by a filter (bad records, not scored)" in shown
    assert "1 of an unknown finish reason (scored as written)" in shown
    plain = halluscope.audit(_answers(tmp_path, ["stop"] * 8), metrics="pope", questions=q,
                             n_boot=0)
    assert "finish" not in plain._repr_html_() and "token limit" not in plain._repr_html_()


def test_the_notebook_view_escapes_what_it_shows(tmp_path):
    """Names, reasons and the report's path come from the data: escaped, never markup."""
    import halluscope
    rows = [{"id": "<b>x</b>", "image": "a.jpg", "response": "<script>alert(1)</script>"}]
    result = halluscope.audit(records=rows, metrics="pope", n_boot=0)
    shown = result._repr_html_()
    assert "<script>" not in shown and "<b>x" not in shown


# -- one baseline name recorded from two audits in one update run --------------------------------
TWO_MODELS = '''
import pytest

@pytest.mark.halluscope(outputs="a.jsonl")
def test_model_a(halluscope_audit):
    halluscope_audit.assert_no_regression("fakehall.rate")

@pytest.mark.halluscope(outputs="b.jsonl")
def test_model_b(halluscope_audit):
    halluscope_audit.assert_no_regression("fakehall.rate")
'''


@pytest.mark.parametrize("xdist", [False, True])
def test_an_update_that_records_one_name_from_two_audits_is_refused(project, xdist):
    """Two tests gating two models' outputs on "fakehall.rate" each recorded it: the baseline
    kept whichever ran last, and the next run compared model A with model B's number."""
    from test_pytest_plugin import OUTPUTS, write_jsonl
    write_jsonl(project.path / "a.jsonl", OUTPUTS)
    write_jsonl(project.path / "b.jsonl", OUTPUTS[:2])          # another rate: 2 of 5
    project.makepyfile(test_gate=TWO_MODELS)
    args = ["-p", "no:cacheprovider", "--halluscope-update-baseline",
            "--halluscope-report", "report.json"]
    if xdist:
        pytest.importorskip("xdist")
        result = project.runpytest_subprocess("-n", "2", "-p", "xdist", *args)
    else:
        result = project.runpytest_subprocess(*args)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*two audits wrote different values for baseline fakehall.rate*"])
    path = project.path / "halluscope-baseline.json"
    data = json.loads(path.read_text()) if path.exists() else {"metrics": {}}
    assert "fakehall.rate" not in data["metrics"]


# -- in-memory POPE records: one without question_id is a bad record, as the same JSON line is --
def test_a_record_in_memory_without_question_id_is_a_bad_record_not_the_audits_end(tmp_path):
    """The same three answers, the second without its question_id: from a JSONL file, two
    scored and line 2 a bad record naming question_id; as records=[...] (or a DataFrame whose
    question_id column has a gap, read as NaN) the whole audit failed with "answers file
    <records> has 0 answers (non-blank lines)", which was not so."""
    import halluscope
    import numpy as np
    import pandas as pd
    q = _questions(tmp_path)
    rows = [{"question_id": 1, "prompt": "Is there a cat in the image?", "response": "Yes"},
            {"prompt": "Is there a car in the image?", "response": "No"},
            {"question_id": 3, "prompt": "Is there a bus in the image?", "response": "Yes"}]
    from_file = halluscope.audit(_jsonl(tmp_path / "a.jsonl", rows), metrics="pope",
                                 questions=q, n_boot=0)
    frame = pd.DataFrame({"question_id": [1, np.nan, 3],
                          "prompt": [r["prompt"] for r in rows],
                          "response": [r["response"] for r in rows]})
    for records in (rows, frame):
        result = halluscope.audit(records=records, metrics="pope", questions=q, n_boot=0)
        assert result.metrics["pope"].results["accuracy"].n == 2 == \
            from_file.metrics["pope"].results["accuracy"].n
        assert [(e["file"], e["line"], e["field"]) for e in result.errors] == \
            [("<records>", 2, "question_id")]
        assert "expected a question_id" in result.errors[0]["message"]


def test_a_session_stopped_by_maxfail_is_not_complete(project):
    """``-x`` after a failing test that is no gate's: the report counted the gates that had
    run ("failed": 0) and said nothing of those that never did."""
    project.makepyfile(test_gate=STOPS.format(stop="assert False"))
    project.runpytest("-p", "no:cacheprovider", "-x", "--halluscope-report", "report.json")
    report = json.loads((project.path / "report.json").read_text())
    assert report["complete"] is False
    assert "stopped early (stopping after 1 failures)" in report["incomplete"][0]


def test_the_notebook_view_of_an_audit_into_a_relative_folder(tmp_path, monkeypatch):
    """``halluscope.audit(..., out="runs/nb")`` then ``result`` in a cell: the HTML view
    raised "relative path can't be expressed as a file URI" where it linked the report, and
    Jupyter showed a traceback instead of the summary."""
    import halluscope
    monkeypatch.chdir(tmp_path)
    q, a = _questions(tmp_path), _answers(tmp_path, ["stop"] * 8)
    result = halluscope.audit(a, metrics="pope", questions=q, n_boot=0, out="runs/nb")
    shown = result._repr_html_()
    assert (tmp_path / "runs" / "nb" / "report.html").resolve().as_uri() in shown


def test_score_answers_counts_a_cut_answer_read_apart_from_the_columns(tmp_path, monkeypatch):
    """A flat file whose one cut answer sits among finished ones: the chunked reader reads
    that line apart (a line run) or the whole file line by line; either way it is counted,
    as the audit counts it."""
    import halluscope
    import halluscope.column_chunks as column_chunks
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", 400)
    q = _questions(tmp_path, 40)
    a = _jsonl(tmp_path / "answers.jsonl", [
        {"question_id": i, "text": "Yes" if i % 2 else "No",
         "finish_reason": "length" if i == 23 else "stop"} for i in range(1, 41)])
    got = score_answers(a, q)
    assert got["finish"] == {"truncated": 1} and got["metrics"]["n"] == 40
    audit = halluscope.audit(a, metrics="pope", questions=q, n_boot=0)
    assert audit.runsheet["counts"]["truncated"] == 1
    cut = score_answers(a, q, complete_only=True)
    assert [e["line"] for e in cut["errors"]] == [23] and cut["metrics"]["n"] == 39


# -- a baseline update that stopped early writes nothing -----------------------------------------
UPDATE_STOPS = '''
import os

def test_1(halluscope_audit):
    halluscope_audit.assert_no_regression("fakehall.rate")

def test_2(halluscope_audit):
    {stop}

def test_3(halluscope_audit):
    halluscope_audit.assert_no_regression("fakehall.recall")
'''


@pytest.mark.parametrize("stop", ["interrupt", "maxfail", "crash"])
def test_an_update_run_that_stopped_early_leaves_the_baseline_as_it_was(project, stop):
    """``--halluscope-update-baseline`` stopped by Ctrl-C, ``-x`` or a crashed xdist worker
    wrote the values recorded before the stop: "fakehall.rate" of the new outputs beside the
    old "fakehall.recall", a mix of two runs that the next run compared against."""
    from test_pytest_plugin import OUTPUTS, write_jsonl
    project.makepyfile(test_gate=UPDATE_STOPS.format(stop="pass"))
    args = ["-p", "no:cacheprovider", "--halluscope-update-baseline",
            "--halluscope-report", "report.json"]
    project.runpytest_subprocess(*args).assert_outcomes(passed=3)
    path = project.path / "halluscope-baseline.json"
    before = path.read_bytes()
    assert set(json.loads(before)["metrics"]) == {"fakehall.rate", "fakehall.recall"}

    write_jsonl(project.path / "outputs.jsonl", OUTPUTS[:2])     # other values: 2 of 5
    body = {"interrupt": "raise KeyboardInterrupt", "maxfail": "assert False",
            "crash": "os._exit(3)"}[stop]
    project.makepyfile(test_gate=UPDATE_STOPS.format(stop=body))
    extra = {"interrupt": [], "maxfail": ["-x"], "crash": ["-n", "2", "-p", "xdist"]}[stop]
    if stop == "crash":
        pytest.importorskip("xdist")
    result = project.runpytest_subprocess(*extra, *args, "--junitxml", "junit.xml")
    assert result.ret != 0
    assert path.read_bytes() == before
    result.stdout.fnmatch_lines(["*baseline: NOT written*incomplete*"])
    # test_1 passed when reported ("passed: fakehall.rate recorded ..."), before the stop
    # withheld its value: its JUnit property says what the report and the section say
    import xml.etree.ElementTree as ET
    said = [p.get("value") for p in ET.parse(project.path / "junit.xml").iter("property")
            if p.get("name") == "halluscope.baseline.fakehall.rate"]
    assert said and all(v.startswith("FAILED: fakehall.rate: recorded ") and "not written"
                        in v for v in said), said
    report = json.loads((project.path / "report.json").read_text())
    assert report["complete"] is False
    assert report["baseline"]["updated"] == [] and report["baseline"]["written"] is False
    assert "fakehall.rate" in report["baseline"]["not_written"]
    recorded = [o for o in report["assertions"] if o["kind"] == "baseline"]
    assert recorded and not any(o["passed"] for o in recorded)


def test_a_complete_update_run_writes_the_baseline_as_before(project):
    project.makepyfile(test_gate=UPDATE_STOPS.format(stop="pass"))
    result = project.runpytest_subprocess("-p", "no:cacheprovider",
                                          "--halluscope-update-baseline",
                                          "--halluscope-report", "report.json")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*baseline: recorded 2 value(s)*"])
    report = json.loads((project.path / "report.json").read_text())
    assert report["baseline"]["updated"] == ["fakehall.rate", "fakehall.recall"]
    assert report["baseline"]["written"] is True


# -- in-memory POPE records aligned by order (pope_align="order") --------------------------------
@pytest.mark.parametrize("gap", ["response", "question_id"])
def test_records_in_memory_aligned_by_order_are_read_as_the_same_jsonl_lines(tmp_path, gap):
    """``audit(records=..., pope_align="order")``: the whole audit failed with "answers file
    <records> has 0 answers (non-blank lines)" (the reader counted the lines of a file named
    "<records>", which is none) whatever was wrong, or nothing: a record without its response
    is a bad record at ``<records>:2`` as line 2 of the JSONL file is, and one without a
    question_id is aligned by its place, as the JSONL line is."""
    import halluscope
    q = _questions(tmp_path, 3)
    rows = [{"question_id": i, "prompt": f"Is there a {OBJECTS[i % 6]} in the image?",
             "response": "Yes" if i % 2 else "No"} for i in range(1, 4)]
    del rows[1][gap]
    from_file = halluscope.audit(_jsonl(tmp_path / "a.jsonl", rows), metrics="pope",
                                 questions=q, n_boot=0, pope_align="order")
    result = halluscope.audit(records=rows, metrics="pope", questions=q, n_boot=0,
                              pope_align="order")
    n = result.metrics["pope"].results["accuracy"].n
    assert n == from_file.metrics["pope"].results["accuracy"].n == (2 if gap == "response" else 3)
    assert [(e["line"], e["field"]) for e in result.errors] == \
        [(e["line"], e["field"]) for e in from_file.errors]
    assert all(e["file"] == "<records>" for e in result.errors)


def test_records_in_memory_aligned_by_order_fewer_than_the_questions_say_so(tmp_path):
    import halluscope
    from halluscope.metrics.pope import AlignmentError
    q = _questions(tmp_path, 3)
    rows = [{"prompt": "Is there a cat in the image?", "response": "Yes"},
            {"prompt": "Is there a car in the image?", "response": "No"}]
    with pytest.raises(AlignmentError, match=r"2 records given in memory .* has 3"):
        halluscope.audit(records=rows, metrics="pope", questions=q, n_boot=0,
                         pope_align="order")


# -- a statistic with no value is None, fresh or read back; Decimal thresholds are numbers ---------
def test_a_group_statistic_without_value_is_none_fresh_and_after_resume(tmp_path):
    """Model "b" answered "No" to all: its precision is 0/0. The fresh result held nan (a float,
    a number to any code that did arithmetic or compared with it) while the same result read
    back by ``--resume`` held None: one statistic, two answers. Both are None now, and say
    why (``why_no_value``), as results.json does."""
    import math

    import halluscope
    q = _questions(tmp_path)
    rows = [{"question_id": i, "prompt": f"Is there a {OBJECTS[i % 6]} in the image?",
             "response": ("Yes" if i % 2 else "No") if i <= 4 else "No",
             "model": "a" if i <= 4 else "b"} for i in range(1, 9)]
    path = _jsonl(tmp_path / "answers.jsonl", rows)
    opts = dict(metrics="pope", questions=q, n_boot=0, by=["model"], out=tmp_path / "run")
    fresh = halluscope.audit(path, **opts)
    again = halluscope.audit(path, resume=True, **opts)
    for result in (fresh, again):
        stat = result.metrics["pope"].groups["model:b"]["precision"]
        assert stat.value is None and not stat.defined, stat
        assert stat.why_no_value
    assert fresh.metrics["pope"].groups["model:b"]["precision"] == \
        again.metrics["pope"].groups["model:b"]["precision"]
    assert not any(isinstance(r.value, float) and math.isnan(r.value)
                   for s in fresh.metrics.values() for g in [s.results, *s.groups.values()]
                   for r in g.values())


def test_decimal_thresholds_are_numbers_as_fractions_are(tmp_path):
    """``assert_above("pope.accuracy", Fraction(1, 2))`` passed while ``Decimal("0.5")`` was
    "expected a number"; ``gate_failures`` refused both (a Fraction as the text "1/2")."""
    from decimal import Decimal
    from fractions import Fraction

    import halluscope
    from halluscope.errors import ConfigError
    q = _questions(tmp_path)
    rows = [{"question_id": i, "prompt": f"Is there a {OBJECTS[i % 6]} in the image?",
             "response": "Yes" if i % 2 else "No"} for i in range(1, 9)]
    result = halluscope.audit(records=rows, metrics="pope", questions=q, n_boot=0)
    for t in (Fraction(1, 2), Decimal("0.5"), 0.5):
        assert result.assert_above("pope.accuracy", t).limit == 0.5
        assert result.gate_failures(below={"pope.accuracy": t}) == []   # 1.0 is not below
        assert result.gate_failures(above={"pope.accuracy": t}) != []
    for bad in (Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity")):
        with pytest.raises(ValueError, match="finite"):
            result.assert_above("pope.accuracy", bad)
        with pytest.raises(ConfigError, match="finite"):
            result.gate_failures(above={"pope.accuracy": bad})
