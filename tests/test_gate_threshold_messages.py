"""What a gate whose threshold is wrong says: a threshold that is no number, a diff threshold
just past a difference's range, a tolerance from the pytest ini file."""

import textwrap

import pytest
from typer.testing import CliRunner

from halluscope.cli import EXIT_USAGE, app
from halluscope.errors import ConfigError
from halluscope.gates.diff import diff_gate_failures
from halluscope.gates.thresholds import parse_gate

from tests.test_compare import _rows, _run
from tests.test_plugin_hunt import pope_project  # noqa: F401  (a fixture)

pytest_plugins = ["pytester"]


def test_a_gate_threshold_that_is_no_number_says_so():
    with pytest.raises(ConfigError, match=r"--fail-above: expected a number as the threshold of "
                                          r"chair\.chair_i, got 'abc'"):
        parse_gate("chair.chair_i=abc", "below", "--fail-above")
    with pytest.raises(ConfigError, match="expected METRIC.STAT"):     # no '=': the syntax
        parse_gate("chair.chair_i", "below", "--fail-above")


def test_a_diff_gate_threshold_that_is_no_number_says_so(tmp_path):
    out = CliRunner().invoke(app, ["compare", str(tmp_path), str(tmp_path), "--fail-above",
                                   "diff.chair.chair_i=abc"], env={"COLUMNS": "200"})
    assert out.exit_code == EXIT_USAGE
    text = "".join(out.output.split()).replace("│", "")      # folded in the error panel
    assert "expectedanumberasthethresholdofdiff.chair.chair_i,got'abc'" in text


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
