"""The pytest plugin, run through pytester: passing and failing gates, markers, baselines,
offline mode, xdist, JUnit XML, the JSON report, registration, and the real CHAIR and POPE metrics
on the sample data."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import halluscope
# Extension modules such as numpy load once per process: import them here, outside the module
# snapshot that pytester restores after each in-process run. Runs that may load more (HTML
# reports, spaCy for CHAIR) use runpytest_subprocess.
import halluscope.gates.assertions  # noqa: F401
import halluscope.metrics.base  # noqa: F401
import halluscope.pipeline  # noqa: F401

pytest_plugins = ["pytester"]

ROOT = Path(halluscope.__file__).resolve().parent.parent
DATA = ROOT / "data"

# A small caption metric that counts words of a tiny vocabulary the record's "truth" lacks, so
# that the plugin can be tested apart from CHAIR's linguistics.
FAKE_METRIC = '''
import re
from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import Statistic, ratio

VOCAB = {"dog", "cat", "car", "frisbee", "person", "tree", "bird"}


class FakeHallucination(Metric):
    name = "fakehall"
    columns = ("hallucinated", "mentions", "any", "one")
    min_units = 1          # four hand-worked items: intervals shown anyway
    statistics = {
        "rate": Statistic(lambda s: ratio(s["hallucinated"], s["mentions"])),
        "caption_rate": Statistic(lambda s: ratio(s["any"], s["one"])),
        "recall": Statistic(lambda s: ratio(s["mentions"] - s["hallucinated"], s["mentions"]),
                            higher_is_better=True),
    }

    def applies_to(self, record):
        return record.task == "caption"

    def score(self, record):
        words = [w for w in re.findall(r"[a-z]+", record.response.lower()) if w in VOCAB]
        truth = set(record.metadata.get("truth", ()))
        halluc = [w for w in words if w not in truth]
        return ItemScore(payload={"mentioned": words, "hallucinated": halluc},
                         row=(len(halluc), len(words), 1.0 if halluc else 0.0, 1.0))
'''

CONFTEST = '''
pytest_plugins = ["halluscope.pytest_plugin"]
'''

OUTPUTS = [
    {"id": "a", "image": "1.jpg", "response": "A dog and a person near a tree.",
     "truth": ["dog", "person", "tree"]},
    {"id": "b", "image": "2.jpg", "response": "A cat sits on a car.", "truth": ["cat"]},
    {"id": "c", "image": "3.jpg", "response": "A person throws a frisbee to a dog.",
     "truth": ["person"]},
    {"id": "d", "image": "4.jpg", "response": "A tree and a bird.", "truth": ["tree", "bird"]},
]
# fakehall.rate = 3 hallucinated / 10 mentions = 0.3, fakehall.recall = 0.7


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def plugin_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                   **outputs: list[dict]) -> pytest.Pytester:
    """A project with outputs.jsonl, the fake metric and the plugin configured in pytest.ini;
    ``outputs`` more answer files (``a=OUTPUTS`` writes ``a.jsonl``)."""
    monkeypatch.delenv("HALLUSCOPE_OFFLINE", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    pytester.makepyfile(fakehall_metric=FAKE_METRIC)
    pytester.makeconftest(CONFTEST)
    write_jsonl(pytester.path / "outputs.jsonl", OUTPUTS)
    for name, rows in outputs.items():
        write_jsonl(pytester.path / f"{name}.jsonl", rows)
    pytester.makeini(textwrap.dedent("""
        [pytest]
        halluscope_outputs = outputs.jsonl
        halluscope_metrics = fakehall_metric:FakeHallucination
        addopts = -p no:asyncio
    """))
    pytester.syspathinsert()
    return pytester


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project with outputs, the fake metric and the plugin configured in pytest.ini."""
    return plugin_project(pytester, monkeypatch)


PASSING = '''
import pytest

def test_rate_below(halluscope_audit):
    halluscope_audit.assert_below("fakehall.rate", 0.5)

def test_recall_above(halluscope_audit):
    halluscope_audit.assert_above("fakehall.recall", 0.5)

def test_upper_bound(halluscope_audit):
    halluscope_audit.assert_below("fakehall.rate", 0.95, bound="upper")

@pytest.mark.halluscope(metric="fakehall.rate", max_rate=0.5, confidence=0.9)
def test_marker_gate(halluscope_audit):
    assert halluscope_audit.config.confidence == 0.9

@pytest.mark.halluscope(metric="fakehall.caption_rate", max_rate=0.6)
def test_marker_without_fixture_argument():
    pass

def test_auditor_memoises(halluscope_auditor):
    assert halluscope_auditor.audit() is halluscope_auditor.audit()
'''


def test_passing_suite(project: pytest.Pytester):
    project.makepyfile(test_gate=PASSING)
    result = project.runpytest()
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines([
        "*= halluscope =*",
        "audit outputs.jsonl [[]fakehall[]]: 4 items, 0 problem(s)",
        "*fakehall.rate*0.3000*CI*n=4",
        "assertions: 5 passed, 0 failed",
        "*PASSED fakehall.rate = 0.3000, required <= 0.5000*test_gate.py::test_rate_below*",
    ])


def test_a_metric_that_scored_nothing_fails_the_session_with_the_reason(project):
    """The summary said "0 problem(s)", the metric n=0, and pytest exited 0, while the CLI
    exits 2 on the same audit (hunt #6): every test of that audit fails with the reason."""
    write_jsonl(project.path / "outputs.jsonl", [
        {"id": f"q{i}", "image": f"{i}.jpg", "prompt": "Is there a dog in the image?",
         "response": "Yes", "label": "no"} for i in range(3)])
    project.makepyfile(test_gate="""
def test_one(halluscope_audit):
    halluscope_audit.assert_below("fakehall.rate", 0.5)

def test_two(halluscope_audit):
    pass
""")
    result = project.runpytest()
    result.assert_outcomes(errors=2)
    assert result.ret != 0
    result.stdout.fnmatch_lines([
        "*halluscope audit failed: fakehall scored nothing: 0 of 3 records scored*",
        "audit outputs.jsonl [[]fakehall[]]: 3 items, 0 problem(s), 1 metric(s) scored nothing",
        "    fakehall scored nothing: 0 of 3 records scored*",
    ])


FAILING = '''
def test_strict_gate(halluscope_audit):
    halluscope_audit.assert_below("fakehall.rate", 0.1, bound="upper")
'''


def test_failing_suite_shows_metric_bound_threshold_and_worst_items(project: pytest.Pytester):
    project.makepyfile(test_gate=FAILING)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*fakehall.rate: upper bound of the 95% CI * is above the threshold 0.1",
        "*metric     fakehall.rate (lower is better)",
        "*value      0.3000   95% CI [[]*, *[]]   n = 4",
        "*compared   upper bound of the 95% CI * <= 0.1 required: exceeded by *",
        "*worst items (2 of 2 items that count against fakehall.rate):",
        "*1. id c (*outputs.jsonl:3), image 3.jpg",
        "*hallucinated: 'frisbee', 'dog'",
        "*response: 'A person throws a frisbee to a dog.'",
        "*2. id b (*outputs.jsonl:2), image 2.jpg",
        "*hallucinated: 'car'",
    ])
    # the short summary names the failure, and the halluscope section lists it
    result.stdout.fnmatch_lines(["FAILED test_gate.py::test_strict_gate - *fakehall.rate*"])
    result.stdout.fnmatch_lines(["assertions: 0 passed, 1 failed",
                                 "*FAILED fakehall.rate upper * <= 0.1000*"])


def test_marker_failure_is_reported_without_plugin_traceback(project: pytest.Pytester):
    project.makepyfile(test_gate='''
import pytest

@pytest.mark.halluscope(metric="fakehall.rate", max_rate=0.05, bound="upper")
@pytest.mark.halluscope(metric="fakehall.recall", min_value=0.99)
def test_strict_gate_fails(halluscope_audit):
    pass
''')
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "fakehall.rate: upper bound of the 95% CI" in out
    assert "is above the threshold 0.05" in out
    assert "fakehall.recall: value 0.7000 is below the threshold 0.99" in out
    assert "_hooks.py" not in out and "_run_marker_gates" not in out


def test_checks_in_tests_that_do_not_use_the_plugin_stay_out_of_the_summary(
        project: pytest.Pytester):
    project.makepyfile(test_plain='''
import halluscope

def test_plain_audit():
    result = halluscope.audit("outputs.jsonl", metrics="fakehall_metric:FakeHallucination", n_boot=0)
    result.assert_below("fakehall.rate", 0.5)
''')
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    assert "= halluscope =" not in result.stdout.str()


def test_marker_needs_a_metric_name(project: pytest.Pytester):
    project.makepyfile(test_gate='''
import pytest

@pytest.mark.halluscope(max_rate=0.05)
def test_gate(halluscope_audit):
    pass
''')
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*name the metric, e.g. metric='chair.chair_i'*"])


def test_marker_naming_a_metric_without_a_threshold_fails(project: pytest.Pytester):
    """It passed whatever the metric's value, and even when the metric was misspelled or
    never run: a marker that checks nothing is a mistake; one that only sets audit options
    (no metric) is fine."""
    project.makepyfile(test_gate='''
import pytest

@pytest.mark.halluscope(metric="fakehall.rte")
def test_typo(halluscope_audit):
    pass

@pytest.mark.halluscope("chair.chair_i")
def test_positional(halluscope_audit):
    pass

@pytest.mark.halluscope(n_boot=0)
def test_options_only(halluscope_audit):
    pass
''')
    result = project.runpytest()
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(["*names the metric 'fakehall.rte' but no threshold*",
                                 "*names the metric 'chair.chair_i' but no threshold*"])


def test_every_threshold_of_a_marker_is_checked(project: pytest.Pytester):
    """max_rate=None hid max_value, and max_rate= with max_value= (or min_value= with
    min_rate=) checked only one of them; a misspelled key of a bound dict meant no bound."""
    project.makepyfile(test_gate='''
import pytest

@pytest.mark.halluscope(metric="fakehall.rate", max_rate=None, max_value=0.1)
def test_none_beside(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="fakehall.rate", max_rate=0.9, max_value=0.1)
def test_both_max(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="fakehall.recall", min_value=0.1, min_rate=0.9)
def test_both_min(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="fakehall.recall", min_value=0.1, bound={"abov": "lower"})
def test_bound_typo(halluscope_audit):
    pass

@pytest.mark.halluscope(metric="fakehall.rate", max_rate=0.9, max_value=0.5)
def test_both_hold(halluscope_audit):
    pass
''')
    result = project.runpytest()
    result.assert_outcomes(failed=4, passed=1)
    out = result.stdout.str()
    assert out.count("FAILED fakehall.rate = 0.3000, required <= 0.1000") == 2
    assert "FAILED fakehall.recall = 0.7000, required >= 0.9000" in out
    assert "got the key 'abov'; did you mean 'above'?" in out


def test_no_regression_of_a_statistic_without_a_better_direction_is_two_sided(tmp_path):
    """POPE's yes-ratio is best at 0.5: lower was taken for better, so a model that turned to
    answering no to everything passed its no-regression check, and one moving to 0.5 failed."""
    from halluscope.gates.assertions import HalluscopeAssertionError, check_regression
    rows = [{"id": str(i), "task": "yes-no", "label": "yes" if i % 2 else "no",
             "prompt": "Is there a dog?", "response": "no" if i < 7 else "yes"}
            for i in range(8)]
    result = halluscope.audit(records=rows, metrics="pope", n_boot=0, out=tmp_path / "o",
                              write_report=False)
    assert result.metrics["pope"].results["yes_ratio"].value == 0.125
    with pytest.raises(HalluscopeAssertionError, match="moved by 0.375"):
        check_regression(result, {"pope.yes_ratio": 0.5}, "pope.yes_ratio")
    assert check_regression(result, {"pope.yes_ratio": 0.1}, "pope.yes_ratio",
                            tolerance=0.05).passed
    with pytest.raises(HalluscopeAssertionError):
        check_regression(result, {"pope.yes_ratio": 0.1}, "pope.yes_ratio")


def test_a_test_that_edits_the_result_cannot_pass_another_tests_gate(project: pytest.Pytester):
    """The audit is shared by the tests: one that replaced a value made a later gate pass."""
    project.makepyfile(test_gate='''
from dataclasses import replace

def test_1_edits(halluscope_audit):
    results = halluscope_audit.metrics["fakehall"].results
    results["rate"] = replace(results["rate"], value=0.0)

def test_2_gate(halluscope_audit):
    halluscope_audit.assert_below("fakehall.rate", 0.1)
''')
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_2_gate*"])


def test_undefined_metric_and_missing_interval_fail_clearly(project: pytest.Pytester):
    project.makepyfile(test_gate='''
def test_no_interval(halluscope_auditor):
    result = halluscope_auditor.audit(n_boot=0)
    result.assert_below("fakehall.rate", 0.9)              # the point estimate still works
    result.assert_below("fakehall.rate", 0.9, bound="upper")

def test_unknown_metric(halluscope_audit):
    halluscope_audit.assert_below("fakehall.nope", 0.9)
''')
    result = project.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*fakehall.rate has no confidence interval (bootstrap disabled with n_boot=0*",
        "*metric 'fakehall' has no statistic 'nope' (statistics: rate, caption_rate, recall*",
    ])


def test_cli_options_override_ini_and_configure_the_audit(project: pytest.Pytester):
    worse = [dict(r, truth=[]) for r in OUTPUTS]
    write_jsonl(project.path / "worse.jsonl", worse)
    project.makepyfile(test_gate='''
def test_rate(halluscope_audit):
    assert halluscope_audit.get("fakehall.rate").value == 1.0
''')
    result = project.runpytest("--halluscope-outputs", "worse.jsonl")
    result.assert_outcomes(passed=1)


def test_no_outputs_configured_fails_clearly(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\naddopts = -p no:asyncio\n")
    pytester.makeconftest('pytest_plugins = ["halluscope.pytest_plugin"]')
    pytester.makepyfile(test_gate='''
def test_gate(halluscope_audit):
    pass
''')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*halluscope: no model outputs to audit: pass "
                                 "--halluscope-outputs PATH*"])


def test_bad_input_file_fails_with_the_audit_error(project: pytest.Pytester):
    project.makepyfile(test_gate='''
def test_gate(halluscope_audit):
    pass
''')
    result = project.runpytest("--halluscope-outputs", "missing.jsonl")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*halluscope audit failed: input file *missing.jsonl does not "
                                 "exist*"])


def test_options_are_listed_in_help(project: pytest.Pytester):
    result = project.runpytest("--help")
    result.stdout.fnmatch_lines(["halluscope: hallucination gates:"])
    out = result.stdout.str()
    for flag in ("--halluscope-outputs", "--halluscope-annotations", "--halluscope-gt-objects",
                 "--halluscope-questions", "--halluscope-out", "--halluscope-baseline",
                 "--halluscope-update-baseline", "--halluscope-tolerance",
                 "--halluscope-offline", "--halluscope-report"):
        assert flag in out
    for ini in ("halluscope_outputs", "halluscope_baseline", "halluscope_offline"):
        assert ini in out


# -- baseline -------------------------------------------------------------------------------
REGRESSION = '''
import pytest

def test_no_regression(halluscope_audit):
    halluscope_audit.assert_no_regression("fakehall.rate", tolerance=0.01)

@pytest.mark.halluscope(metric="fakehall.recall", no_regression=True)
def test_recall_no_regression(halluscope_audit):
    pass

def test_baseline_fixture(halluscope_audit, halluscope_baseline):
    halluscope_baseline.check(halluscope_audit, "fakehall.caption_rate")
'''


def test_baseline_update_then_regression(project: pytest.Pytester):
    project.makepyfile(test_regression=REGRESSION)
    baseline = project.path / "baseline.json"

    # no baseline yet: the check fails and says how to record one
    result = project.runpytest("--halluscope-baseline", "baseline.json")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*no baseline value for fakehall.rate in *baseline.json; record "
                                 "one with `pytest --halluscope-update-baseline`*"])

    # record it
    result = project.runpytest("--halluscope-baseline", "baseline.json",
                               "--halluscope-update-baseline")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*baseline: recorded 3 value(s) in *baseline.json"])
    data = json.loads(baseline.read_text())
    assert data["halluscope"] == halluscope.__version__ and data["created"]
    entry = data["metrics"]["fakehall.rate"]
    assert entry["value"] == pytest.approx(0.3) and entry["n"] == 4
    assert len(entry["ci"]) == 2 and entry["higher_is_better"] is False
    assert data["metrics"]["fakehall.recall"]["higher_is_better"] is True

    # same outputs: no regression
    result = project.runpytest("--halluscope-baseline", "baseline.json")
    result.assert_outcomes(passed=3)

    # the model got worse: one more hallucinated object
    worse = [dict(r) for r in OUTPUTS]
    worse[3] = dict(worse[3], response="A tree, a bird and a car.")
    write_jsonl(project.path / "outputs.jsonl", worse)
    result = project.runpytest("--halluscope-baseline", "baseline.json")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines([
        "*fakehall.rate regressed: 0.3636 now vs 0.3000 in the baseline *baseline.json "
        "(worse by 0.0636, tolerance 0.01)",
        "*baseline   0.3000   CI [[]*[]]   n = 4*",
        "*compared   value 0.3636 <= 0.3100 required (baseline + tolerance)",
        "*id d (*outputs.jsonl:4), image 4.jpg",
        "*hallucinated: 'car'",
    ])
    result.stdout.fnmatch_lines(["*fakehall.recall regressed: 0.6364 now vs 0.7000*"])

    # a tolerance from the command line lets the smaller drops through
    result = project.runpytest("--halluscope-baseline", "baseline.json",
                               "--halluscope-tolerance", "0.3", "-k", "not test_no_regression")
    result.assert_outcomes(passed=2, deselected=1)


def test_update_keeps_other_baseline_entries(project: pytest.Pytester):
    baseline = project.path / "halluscope-baseline.json"   # the default file in the rootdir
    baseline.write_text(json.dumps({"halluscope": "0.0", "created": None, "metrics": {
        "other.metric": {"value": 0.5, "n": 10}}}))
    project.makepyfile(test_regression='''
def test_no_regression(halluscope_audit):
    halluscope_audit.assert_no_regression("fakehall.rate")
''')
    result = project.runpytest("--halluscope-update-baseline")
    result.assert_outcomes(passed=1)
    data = json.loads(baseline.read_text())
    assert set(data["metrics"]) == {"other.metric", "fakehall.rate"}


def test_updating_the_baseline_with_a_missing_value_fails(project: pytest.Pytester):
    """A metric without a value (no mention to rate) was recorded as null and the test passed:
    every later run then compared with nothing."""
    write_jsonl(project.path / "nothing.jsonl",
                [{"id": "z", "image": "9.jpg", "response": "Nothing to see.", "truth": []}])
    project.makepyfile(test_regression='''
import pytest

@pytest.mark.halluscope(outputs="nothing.jsonl")
def test_no_regression(halluscope_audit):
    halluscope_audit.assert_no_regression("fakehall.rate")
''')
    result = project.runpytest("--halluscope-update-baseline")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*fakehall.rate: has no value (n=*), so nothing was recorded*"])
    baseline = project.path / "halluscope-baseline.json"
    assert not baseline.exists() or "fakehall.rate" not in json.loads(baseline.read_text())[
        "metrics"]


def test_malformed_baseline_fails_clearly(project: pytest.Pytester):
    (project.path / "halluscope-baseline.json").write_text("[1, 2]")
    project.makepyfile(test_regression='''
def test_no_regression(halluscope_audit):
    halluscope_audit.assert_no_regression("fakehall.rate")
''')
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected a halluscope baseline (a JSON object with a "
                                 "'metrics' object), got list*"])


# -- offline --------------------------------------------------------------------------------
OFFLINE = '''
import os

def test_flag_reaches_adapters_and_config(halluscope_audit):
    assert os.environ["HALLUSCOPE_OFFLINE"] == "1"
    assert halluscope_audit.config.options["offline"] is True

def test_model_answers_must_come_from_the_cache(halluscope_auditor):
    halluscope_auditor.audit(outputs="prompts.jsonl", model="openai/gpt-4o-2024-08-06")
'''


def test_offline_mode_with_an_empty_cache_fails_clearly(project: pytest.Pytester):
    write_jsonl(project.path / "prompts.jsonl", [
        {"id": "p1", "image": "1.jpg", "prompt": "Describe this image."}])
    (project.path / "empty-cache").mkdir()
    project.makepyfile(test_offline=OFFLINE)
    result = project.runpytest("--halluscope-offline", "--halluscope-cache-dir", "empty-cache")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*halluscope offline mode: *model 'openai/gpt-4o-2024-08-06'*empty-cache*"])
    assert "Traceback" not in result.stdout.str()
    assert "HALLUSCOPE_OFFLINE" not in os.environ    # restored after the run


WARM = '''
import os

import pytest

def test_answers_come_from_the_warm_cache(halluscope_auditor):
    result = halluscope_auditor.audit(outputs="prompts.jsonl", model="vllm/fake-vlm",
                                      base_url=os.environ["FAKE_VLM_URL"])
    assert result.summary["fakehall.rate"] == pytest.approx(1 / 3)
    result.assert_below("fakehall.rate", 0.5)
'''


def _prompts_with_images(folder: Path) -> Path:
    from PIL import Image
    for name in ("1.png", "2.png"):
        Image.new("RGB", (16, 16), (10, 200, 10)).save(folder / name)
    return write_jsonl(folder / "prompts.jsonl", [
        {"id": "p1", "task": "caption", "image": "1.png", "prompt": "Describe picture one.",
         "truth": ["dog", "person"]},
        {"id": "p2", "task": "caption", "image": "2.png", "prompt": "Describe picture two.",
         "truth": ["tree"]}])


def test_offline_mode_passes_on_a_warm_cache(project: pytest.Pytester, monkeypatch):
    """The real adapters in offline mode: a cache filled by an earlier online run answers every
    prompt, no server is reached (there is none), and the audit's gates pass."""
    from fake_openai_server import FakeServer, scripted_responder
    prompts = _prompts_with_images(project.path)
    replies = {"picture one": "A dog and a cat.", "picture two": "A tree."}
    with FakeServer(responder=scripted_responder(replies)) as server:
        records = halluscope.query(prompts, "vllm/fake-vlm", base_url=server.url,
                                   cache=project.path / "warm-cache", offline=False)
        assert len(server.requests) == 2
        # the server is gone in the offline runs; its address stays part of the cache key
        monkeypatch.setenv("FAKE_VLM_URL", server.url)
    assert [r["response"] for r in records] == ["A dog and a cat.", "A tree."]
    project.makepyfile(test_warm=WARM)
    result = project.runpytest_subprocess("--halluscope-offline", "--halluscope-cache-dir",
                                          "warm-cache")
    result.assert_outcomes(passed=1)
    # the same audit with an empty cache fails, naming the model, the record and the cache
    (project.path / "cold-cache").mkdir()
    result = project.runpytest_subprocess("--halluscope-offline", "--halluscope-cache-dir",
                                          "cold-cache")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*halluscope offline mode: model 'vllm/fake-vlm' has no cached answer in *cold-cache*"
        "CacheMiss: offline mode: no cached answer of model 'vllm/fake-vlm' for record 'p1'*"])
    assert "Traceback" not in result.stdout.str()


def test_offline_mode_from_the_ini_file(project: pytest.Pytester):
    project.makeini(textwrap.dedent("""
        [pytest]
        halluscope_outputs = outputs.jsonl
        halluscope_metrics = fakehall_metric:FakeHallucination
        halluscope_offline = true
        addopts = -p no:asyncio
    """))
    project.makepyfile(test_offline='''
import os

def test_flag(halluscope_audit):
    assert os.environ["HALLUSCOPE_OFFLINE"] == "1"
''')
    project.runpytest().assert_outcomes(passed=1)


# -- reports --------------------------------------------------------------------------------
MIXED = '''
import pytest

def test_pass(halluscope_audit):
    halluscope_audit.assert_below("fakehall.rate", 0.7, bound="upper")

def test_fail(halluscope_audit):
    halluscope_audit.assert_above("fakehall.recall", 0.9, bound="lower")
'''


def test_junit_xml_properties(project: pytest.Pytester):
    project.makepyfile(test_gate=MIXED)
    result = project.runpytest("--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=1)
    tree = ET.parse(project.path / "junit.xml")
    props = {}
    for case in tree.iter("testcase"):
        props[case.get("name")] = {p.get("name"): p.get("value")
                                   for p in case.iter("property")}
    assert float(props["test_pass"]["halluscope.fakehall.rate"]) == pytest.approx(0.3)
    assert props["test_pass"]["halluscope.threshold.fakehall.rate"].startswith(
        "passed: fakehall.rate upper ")
    assert props["test_fail"]["halluscope.threshold.fakehall.recall"].startswith(
        "FAILED: fakehall.recall lower ")


def test_json_report_and_output_folder(project: pytest.Pytester):
    project.makepyfile(test_gate=MIXED)
    result = project.runpytest_subprocess("--halluscope-report", "report/halluscope.json",
                                          "--halluscope-out", "results")
    result.assert_outcomes(passed=1, failed=1)
    report = json.loads((project.path / "report" / "halluscope.json").read_text())
    assert report["passed"] == 1 and report["failed"] == 1
    names = {(a["name"], a["passed"]) for a in report["assertions"]}
    assert names == {("fakehall.rate", True), ("fakehall.recall", False)}
    failed = next(a for a in report["assertions"] if not a["passed"])
    assert failed["nodeid"] == "test_gate.py::test_fail" and failed["bound"] == "lower"
    assert "worst items" in failed["message"]
    (audit,) = report["audits"]
    assert audit["metrics"]["fakehall.rate"]["value"] == pytest.approx(0.3)
    out = Path(audit["out"])
    assert out.parent == project.path / "results"
    assert (out / "results.json").is_file() and (out / "items.jsonl").is_file()


def test_xdist_workers_report_to_the_controller(project: pytest.Pytester):
    pytest.importorskip("xdist")
    project.makepyfile(test_gate=MIXED + PASSING.replace("import pytest", ""))
    result = project.runpytest_subprocess("-n", "2", "-p", "xdist",
                                          "--halluscope-report", "report.json",
                                          "--junitxml=junit.xml",
                                          "--halluscope-out", "results")
    result.assert_outcomes(passed=7, failed=1)
    out = result.stdout.str()
    assert out.count("= halluscope =") == 1
    result.stdout.fnmatch_lines([
        "audit outputs.jsonl [[]fakehall[]]: 4 items, 0 problem(s) (workers gw*)",
        "assertions: 6 passed, 1 failed",
    ])
    report = json.loads((project.path / "report.json").read_text())
    assert report["passed"] == 6 and report["failed"] == 1
    assert {a["worker"] for a in report["assertions"]} <= {"gw0", "gw1"}
    assert sorted(p.name for p in (project.path / "results").iterdir()) <= ["gw0", "gw1"]
    tree = ET.parse(project.path / "junit.xml")
    assert any(p.get("name") == "halluscope.threshold.fakehall.recall"
               for p in tree.iter("property"))


def test_xdist_baseline_update_is_merged_by_the_controller(project: pytest.Pytester):
    pytest.importorskip("xdist")
    project.makepyfile(test_regression=REGRESSION)
    result = project.runpytest_subprocess("-n", "2", "-p", "xdist",
                                          "--halluscope-update-baseline")
    result.assert_outcomes(passed=3)
    data = json.loads((project.path / "halluscope-baseline.json").read_text())
    assert set(data["metrics"]) == {"fakehall.rate", "fakehall.recall", "fakehall.caption_rate"}


# -- registration and import cost -----------------------------------------------------------
def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("HALLUSCOPE_OFFLINE", None)
    return env


def test_importing_the_plugin_loads_nothing_heavy():
    code = ("import sys, halluscope.pytest_plugin\n"
            "heavy = ('numpy', 'pandas', 'spacy', 'torch', 'pydantic', 'nltk', 'PIL', "
            "'matplotlib', 'halluscope.pipeline', 'halluscope.metrics', 'halluscope.adapters')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(), check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_loading_the_plugin_in_a_session_loads_nothing_heavy(project: pytest.Pytester):
    project.makepyfile(test_light='''
import sys

def test_nothing_heavy_until_a_fixture_is_used():
    assert "numpy" not in sys.modules and "halluscope.pipeline" not in sys.modules
''')
    # conftest.py of the project imports halluscope.metrics.base (numpy) for the fake metric;
    # a project without one must stay light:
    (project.path / "conftest.py").write_text('pytest_plugins = ["halluscope.pytest_plugin"]')
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1)


@pytest.fixture
def installed_entry_point(tmp_path: Path) -> dict[str, str]:
    """An environment in which the pytest11 entry point ``halluscope`` is installed."""
    site = tmp_path / "site"
    dist = site / "halluscope_plugin_probe-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: halluscope-plugin-probe\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\nhalluscope = halluscope.pytest_plugin\n")
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([str(site), env["PYTHONPATH"]])
    return env


@pytest.mark.parametrize("how", ["entry point only", "and pytest_plugins", "and -p module",
                                 "and -p entry point name"])
def test_registered_once_whatever_the_route(how: str, installed_entry_point, tmp_path: Path):
    proj = tmp_path / "proj"
    proj.mkdir()
    conftest = 'pytest_plugins = ["halluscope.pytest_plugin"]\n' if how == "and pytest_plugins" \
        else ""
    (proj / "conftest.py").write_text(conftest)
    (proj / "test_reg.py").write_text(textwrap.dedent('''
        def test_registered(pytestconfig):
            pm = pytestconfig.pluginmanager
            import halluscope.pytest_plugin as plugin
            names = [n for n, p in pm.list_name_plugin() if p is plugin]
            assert len(names) == 1, names
            assert pm.get_plugin("halluscope-session") is not None
    '''))
    args = {"and -p module": ["-p", "halluscope.pytest_plugin"],
            "and -p entry point name": ["-p", "halluscope"]}.get(how, [])
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                         cwd=proj, capture_output=True, text=True, env=installed_entry_point)
    assert out.returncode == 0, out.stdout + out.stderr


# -- the real metrics on the sample data ----------------------------------------------------
SAMPLE = '''
import pytest

def test_chair(halluscope_audit):
    halluscope_audit.assert_below("chair.chair_i", 0.9)

def test_pope(halluscope_audit):
    halluscope_audit.assert_above("pope.f1", 0.1)

def test_strict_chair(halluscope_audit):
    halluscope_audit.assert_below("chair.chair_i", 0.0, bound="upper")

def test_strict_pope(halluscope_audit):
    halluscope_audit.assert_above("pope.accuracy", 1.0, bound="lower")
'''


def test_real_chair_and_pope_on_the_sample_data(pytester: pytest.Pytester,
                                                 monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    pytester.makeconftest('pytest_plugins = ["halluscope.pytest_plugin"]')
    pytester.makepyfile(test_sample=SAMPLE)
    pytester.makeini("[pytest]\naddopts = -p no:asyncio\n")
    result = pytester.runpytest_subprocess(f"--halluscope-outputs={DATA}",
                                           "--halluscope-metrics=chair,pope")
    result.assert_outcomes(passed=2, failed=2)
    out = result.stdout.str()
    # four images are too few clusters for an interval: the bound gate fails saying so
    result.stdout.fnmatch_lines(["*chair.chair_i has no confidence interval*fewer than 10*",
                                 "*metric     chair.chair_i (lower is better)"])
    # CHAIR names the invented objects of the sample captions (a dog beside Chelsea, ...)
    assert "hallucinated: " in out and "'dog'" in out
    # POPE shows wrong answers, false positives first
    result.stdout.fnmatch_lines(["*pope.accuracy has no confidence interval*"])
    assert "answer read as" in out
    result.stdout.fnmatch_lines(["audit *data [[]chair, pope[]]: * items, * problem(s)"
                                 " · chair variant refined, pope parser original",
                                 "*chair.chair_i *", "*pope.f1 *"])


def test_the_example_shows_passing_and_failing_gates():
    """``pytest examples/`` on the sample data: four gates pass, the two strict ones fail."""
    out = subprocess.run([sys.executable, "-m", "pytest", "examples/", "-p", "no:cacheprovider",
                          "-rfE"], cwd=ROOT, capture_output=True, text=True, env=_env())
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert re.search(r"\b2 failed, 4 passed\b", text), text
    failed = sorted(re.findall(r"^FAILED examples/test_release_gate.py::(\w+)", text, re.M))
    assert failed == ["test_strict_gate_fails_on_sample", "test_strict_pope_gate_fails_on_sample"]
    assert "chair.chair_i has no confidence interval" in text and "worst items" in text
    assert "= halluscope =" in text
