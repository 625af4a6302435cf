"""The pytest plugin fails a test whose audit read an input only in part (a syntax error inside
a JSON array stopped the reading), as it does for a metric that scored nothing."""

from __future__ import annotations

from tests.test_array_reading_stopped import _broken

pytest_plugins = ["pytester"]


def test_the_pytest_plugin_fails_a_test_on_an_input_read_in_part(pytester, monkeypatch,
                                                                 tmp_path):
    import os
    from pathlib import Path

    import halluscope
    root = Path(halluscope.__file__).resolve().parent.parent
    monkeypatch.delenv("HALLUSCOPE_OFFLINE", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])]))
    (pytester.path / "answers.json").write_text(_broken(tmp_path, "colon").read_text())
    pytester.makeini("[pytest]\nhalluscope_outputs = answers.json\nhalluscope_metrics = pope\n"
                     "addopts = -p no:asyncio\n")
    pytester.makepyfile(test_gate="""
def test_f1(halluscope_audit):
    halluscope_audit.assert_above("pope.f1", 0.1)
""")
    result = pytester.runpytest_subprocess()
    assert result.ret != 0
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*halluscope audit failed: input read in part: *answers.json was read only up to "
        "element 58 (line 1)*the numbers cover the 57 elements before it only; about 42 "
        "elements after it were not read*",
        "    READ IN PART: *answers.json was read only up to element 58*"])
