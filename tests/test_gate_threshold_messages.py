"""What a gate whose threshold is wrong says: a threshold that is no number, a diff threshold
just past a difference's range, a tolerance from the pytest ini file."""

import math
import textwrap

import pytest
from typer.testing import CliRunner

from halluscope.cli import EXIT_USAGE, app
from halluscope.errors import ConfigError
from halluscope.gates.diff import diff_gate_failures
from halluscope.gates.thresholds import parse_gate, parse_gates

from tests.test_compare import _rows, _run
from tests.test_plugin_hunt import pope_project  # noqa: F401  (a fixture)

pytest_plugins = ["pytester"]


def test_a_gate_threshold_that_is_no_number_says_so():
    with pytest.raises(ConfigError, match=r"^--fail-above chair\.chair_i=abc: expected a number "
                                          r"as the threshold, got 'abc'$"):
        parse_gate("chair.chair_i=abc", "below", "--fail-above")
    with pytest.raises(ConfigError, match="expected METRIC.STAT"):     # no '=': the syntax
        parse_gate("chair.chair_i", "below", "--fail-above")


@pytest.mark.parametrize("value", ["nan", "-inf", "inf", "NaN"])
def test_a_gate_threshold_that_is_no_finite_number_names_the_gate_and_why(value):
    """``--fail-below pope.f1@lower=-inf`` said "expected a finite number as the threshold of
    pope.f1@lower": neither the gate as written (its bound, its flag) nor why a finite one."""
    gate = f"pope.f1@lower={value}"
    with pytest.raises(ConfigError) as info:
        parse_gate(gate, "above", "--fail-below")
    text = str(info.value)
    assert text.startswith(f"--fail-below {gate}: expected a finite number as the threshold, "
                           f"got {value!r} (")
    assert "the gate would decide nothing" in text
    with pytest.raises(ConfigError, match=r"^parse_gates\(below=\['pope\.f1=nan'\]\): "):
        parse_gates(below=["pope.f1=nan"])


@pytest.mark.parametrize("gate,said", [
    ("diff.chair.chair_i=abc", "expected a number as the threshold, got 'abc'"),
    ("diff.chair.chair_i=nan", "expected a finite number as the threshold, got 'nan' (nan is "
                               "crossed by no value"),
    ("diff.chair.chair_i@upper=-inf", "expected a finite number as the threshold, got '-inf'"),
])
def test_a_diff_gate_threshold_that_is_no_number_says_so(tmp_path, gate, said):
    """compare said "Invalid value for --fail-above: expected a number as the threshold of
    diff.chair.chair_i" in a usage panel; now one error line with the gate as written."""
    out = CliRunner().invoke(app, ["compare", str(tmp_path), str(tmp_path), "--fail-above",
                                   gate], env={"COLUMNS": "200"})
    assert out.exit_code == EXIT_USAGE
    assert f"error: --fail-above {gate}: {said}" in " ".join(out.output.split())


@pytest.mark.parametrize("limit,got", [("abc", "str 'abc'"), (float("nan"), "nan ("),
                                       (-math.inf, "-inf ("), (True, "bool True"),
                                       (None, "NoneType None")])
def test_diff_gate_failures_names_the_gate_whose_threshold_is_no_number(limit, got):
    """``diff_gate_failures(above={"diff.pope.f1": "abc"})`` raised float()'s bare
    ValueError; nan said which statistic but not which gate (above or below)."""
    compared = {"metrics": {"pope.f1": {"a": 0.5, "b": 0.6, "diff": 0.1, "ci": None,
                                        "diff_bounds": [-1, 1]}}}
    with pytest.raises(ConfigError) as info:
        diff_gate_failures(compared, below={"diff.pope.f1": limit})
    assert str(info.value).startswith("diff gate diff.pope.f1=")
    assert f"(below): expected a finite number as the threshold, got {got}" in str(info.value)


def test_a_diff_gate_usage_error_names_the_gate_as_written():
    compared = {"metrics": {"pope.f1": {"a": 0.5, "b": 0.6, "diff": 0.1, "ci": None,
                                        "diff_bounds": [-1, 1]}}}
    with pytest.raises(KeyError, match=r"--fail-below diff\.pope\.f1@uper=0: expected @upper"):
        diff_gate_failures(compared, below=[("diff.pope.f1@uper", 0.0)],
                           flags=("--fail-above", "--fail-below"))
    with pytest.raises(ConfigError, match=r"^diff gate diff\.pope\.f1=12 \(above\): the "
                                          r"threshold 12 is outside"):
        diff_gate_failures(compared, above={"diff.pope.f1": 12.0})


def _rate_diff(**gates):
    compared = {"metrics": {"pope.f1": {"a": 0.5, "b": 0.6, "diff": 0.1, "ci": None,
                                        "diff_bounds": [-1, 1]}}}
    with pytest.raises(ConfigError) as info:
        diff_gate_failures(compared, **gates)
    return str(info.value)


def test_a_diff_threshold_just_past_the_range_is_not_taken_for_a_percentage():
    text = _rate_diff(above={"diff.pope.f1": 1.01})
    assert "did you mean 0.0101" not in text and "not a ratio B / A" in text
    assert "did you mean 0.05?" in _rate_diff(above={"diff.pope.f1": 5})       # points
    assert "did you mean -0.05?" in _rate_diff(below={"diff.pope.f1": -5})


def test_a_bad_tolerance_in_the_ini_file_is_named_as_the_ini_key(pope_project):  # noqa: F811
    pope_project.makeini(textwrap.dedent("""
        [pytest]
        halluscope_outputs = answers.jsonl
        halluscope_metrics = pope
        halluscope_tolerance = lots
        addopts = -p no:asyncio
    """))
    pope_project.makepyfile(test_gate="def test_x(halluscope_audit):\n    pass\n")
    result = pope_project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "halluscope_tolerance" in err and "--halluscope-tolerance" not in err
    assert "'lots'" in err
