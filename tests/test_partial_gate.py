"""A gate on an audit of a query run that did not finish (partialgate): the numbers are real
over the answers held, and shown as partial, but no gate passes on them: a gate on a fraction
of the benchmark is not decided unless the user says so (``--allow-unfinished-query``)."""

from __future__ import annotations

import json
import textwrap

import pytest
from typer.testing import CliRunner

from conftest import pope_prompt_file
import halluscope
import halluscope.gates.assertions  # noqa: F401  (loaded outside pytester's module snapshot)
from halluscope.cli import EXIT_GATE, app
from halluscope.gates.assertions import HalluscopeAssertionError, check_regression

pytest_plugins = ["pytester"]

runner = CliRunner()


@pytest.fixture
def partial(tmp_path):
    """``out.jsonl``: a POPE query of 8 questions interrupted after 3 answers or so; and
    ``prompts``, to finish it."""
    prompts = pope_prompt_file(tmp_path)
    out = tmp_path / "out.jsonl"

    def stop(counts):
        if counts.new >= 3:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        halluscope.query(prompts, "mock/yes-no", out=out, cache=False, progress=stop)
    return out, prompts


def _held(out):
    return len(out.read_text().splitlines())


def test_a_gate_on_an_unfinished_query_run_fails_as_not_decided(partial, tmp_path):
    """``audit --fail-below pope.accuracy=0.1`` passed (exit 0) on 3 answers of 8 requests. It
    now exits 1 naming the input and how many requests were answered; the numbers are still
    shown, marked partial in the console, results.json and report.html."""
    out, _ = partial
    held = _held(out)
    res = runner.invoke(app, ["audit", str(out), "--metric", "pope", "--bootstrap", "0",
                              "--out", str(tmp_path / "a"), "--fail-below", "pope.accuracy=0.1"])
    assert res.exit_code == EXIT_GATE, res.output
    text = " ".join(res.output.split())
    assert (f"pope.accuracy: not decided: input {out} is from a query run that did not "
            f"finish ({held} of 8 requests answered, {8 - held} missing; interrupted") in text
    assert "--allow-unfinished-query" in text
    assert "PARTIAL" in text and f"{held} of 8 requests answered, {8 - held} missing" in text
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    assert results["partial"] is True
    (entry,) = results["unfinished_inputs"]
    assert entry["input"] == str(out) and entry["requests"] == 8
    assert entry["answered"] == held and entry["missing"] == 8 - held
    assert "interrupted" in entry["reason"]
    assert results["metrics"]["pope"]["accuracy"]["n"] == held  # still computed
    report = (tmp_path / "a" / "report.html").read_text()
    assert "Partial results" in report and "No gate is decided on them" in report
    sheet = json.loads((tmp_path / "a" / "runsheet.json").read_text())
    assert sheet["allow_unfinished_query"] is False

    # the opt-in: the gate is judged on the answers held, and the run sheet says so
    res = runner.invoke(app, ["audit", str(out), "--metric", "pope", "--bootstrap", "0",
                              "--out", str(tmp_path / "b"), "--fail-below", "pope.accuracy=0.1",
                              "--allow-unfinished-query"])
    assert res.exit_code == 0, res.output
    sheet = json.loads((tmp_path / "b" / "runsheet.json").read_text())
    assert sheet["allow_unfinished_query"] is True and sheet["config"][
        "allow_unfinished_query"] is True
    assert json.loads((tmp_path / "b" / "results.json").read_text())["partial"] is True
    assert "judged on them anyway" in (tmp_path / "b" / "report.html").read_text()

    # a resume of the finished audit judges the gates given now, with the flag given now
    res = runner.invoke(app, ["audit", str(out), "--metric", "pope", "--bootstrap", "0",
                              "--out", str(tmp_path / "b"), "--fail-below", "pope.accuracy=0.1",
                              "--resume"])
    assert res.exit_code == EXIT_GATE and "not decided" in res.output


def test_the_notebook_and_plugin_assertions_refuse_an_unfinished_query_run(partial, tmp_path):
    """``assert_above``, ``gate_failures``, a regression check and a baseline update all
    passed (or recorded) numbers over part of the benchmark."""
    out, prompts = partial
    result = halluscope.audit(out, metrics=["pope"], out=tmp_path / "a", n_boot=0)
    held = _held(out)
    assert result.get("pope.accuracy").n == held and result.unfinished_inputs
    with pytest.raises(HalluscopeAssertionError, match=f"pope.accuracy: not decided: input .* "
                                                       f"did not finish \\({held} of 8 requests"):
        result.assert_above("pope.accuracy", 0.1)
    (failure,) = result.gate_failures(below={"pope.accuracy": 0.1})
    assert "not decided" in failure
    with pytest.raises(HalluscopeAssertionError, match="not decided"):
        check_regression(result, {"pope.accuracy": 0.0}, "pope.accuracy", tolerance=1)

    from halluscope.pytest_plugin import GateSession
    from halluscope.pytest_plugin.settings import Settings
    session = GateSession(object(), Settings(update_baseline=True,
                                             baseline=tmp_path / "b.json", rootpath=tmp_path))
    with pytest.raises(HalluscopeAssertionError, match="not decided"):
        session.check_regression(result, "pope.accuracy")
    assert session.updates == {}

    allowed = halluscope.audit(out, metrics=["pope"], n_boot=0, allow_unfinished_query=True)
    assert allowed.assert_above("pope.accuracy", 0.1).passed
    assert allowed.gate_failures(below={"pope.accuracy": 0.1}) == []

    # finished by running the query again: the gates are judged as before
    halluscope.query(prompts, "mock/yes-no", out=out, cache=False)
    done = halluscope.audit(out, metrics=["pope"], out=tmp_path / "c", n_boot=0)
    assert done.unfinished_inputs == [] and done.assert_above("pope.accuracy", 0.1).passed
    assert "partial" not in json.loads((tmp_path / "c" / "results.json").read_text())


def test_an_unreadable_query_run_sheet_is_no_gate_passed(partial, tmp_path):
    """Whether the query finished cannot be told: the gate is not decided either; a file
    without a query run sheet is gated as before."""
    out, _ = partial
    sheet = out.with_name(out.name + ".runsheet.json")
    sheet.write_text('{"kind": "query", ')
    result = halluscope.audit(out, metrics=["pope"], n_boot=0)
    with pytest.raises(HalluscopeAssertionError, match="its query run sheet cannot be read"):
        result.assert_above("pope.accuracy", 0.1)
    sheet.unlink()
    plain = halluscope.audit(out, metrics=["pope"], out=tmp_path / "p", n_boot=0)
    assert plain.assert_above("pope.accuracy", 0.1).passed and not plain.unfinished_inputs
    results = json.loads((tmp_path / "p" / "results.json").read_text())
    assert "partial" not in results and "unfinished_inputs" not in results


def test_the_plugin_fixture_fails_a_threshold_on_an_unfinished_query_run(partial, pytester):
    """The plugin's ``halluscope_audit`` fixture, on the outputs of an unfinished query run:
    its threshold assertion fails as not decided; with ``allow_unfinished_query`` it passes."""
    out, _ = partial
    pytester.makeini(f"[pytest]\nhalluscope_outputs = {out}\nhalluscope_metrics = pope\n")
    pytester.makepyfile(test_gate=textwrap.dedent("""
        def test_partial(halluscope_audit):
            halluscope_audit.assert_above("pope.accuracy", 0.1)

        def test_allowed(halluscope_auditor):
            result = halluscope_auditor.audit(allow_unfinished_query=True)
            result.assert_above("pope.accuracy", 0.1)
    """))
    res = pytester.runpytest("-p", "no:cacheprovider")
    res.assert_outcomes(passed=1, failed=1)
    res.stdout.fnmatch_lines([f"*not decided: input*did not finish ({_held(out)} of 8 requests*"])
    res = pytester.runpytest("-p", "no:cacheprovider", "--halluscope-allow-unfinished-query")
    res.assert_outcomes(passed=2)
