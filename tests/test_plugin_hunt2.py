"""Second user-style hunt of the pytest plugin: a memoised audit served after its file was
replaced by one of the same size and modification time, and JUnit properties of a statistic
with no value."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest

import halluscope.gates.assertions  # noqa: F401  (loaded outside pytester's module snapshot)
import halluscope.pipeline  # noqa: F401
from tests.test_pytest_plugin import OUTPUTS, plugin_project

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    return plugin_project(pytester, monkeypatch)


def _same_size_pair(project: pytest.Pytester) -> None:
    """good.jsonl (fakehall.rate 0) and bad.jsonl (1.0): same size, same modification time."""
    good = [dict(r, response="A dog.", truth=["dog"]) for r in OUTPUTS]
    bad = [dict(r, response="A cat.", truth=["dog"]) for r in OUTPUTS]
    for name, rows in (("good", good), ("bad", bad)):
        (project.path / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert (project.path / "good.jsonl").stat().st_size == \
        (project.path / "bad.jsonl").stat().st_size
    import os
    st = (project.path / "good.jsonl").stat()
    os.utime(project.path / "bad.jsonl", ns=(st.st_atime_ns, st.st_mtime_ns))


def test_outputs_replaced_keeping_size_and_mtime_are_audited_again(project):
    """The memo compared size and modification time alone: ``shutil.copy2`` (or ``cp -p``,
    a tar's whole seconds) of other outputs of the same size onto the configured file kept
    both, and the later test passed on the first file's numbers (rate 0 for 1.0)."""
    _same_size_pair(project)
    project.makepyfile(test_gate=textwrap.dedent("""
        import shutil

        def test_a_good(halluscope_audit):
            halluscope_audit.assert_below("fakehall.rate", 0.5)

        def test_b_swap(request):
            root = request.config.rootpath
            shutil.copy2(root / "bad.jsonl", root / "outputs.jsonl")

        def test_c_bad(halluscope_audit):
            halluscope_audit.assert_below("fakehall.rate", 0.5)
    """))
    import shutil
    shutil.copy2(project.path / "good.jsonl", project.path / "outputs.jsonl")
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAILED fakehall.rate = 1.0000, required <= 0.5000*"
                                 "test_c_bad*"])


def test_a_statistic_with_no_value_is_n_a_in_junit_not_none(project, tmp_path):
    """A statistic with no value was written to JUnit XML as the Python word ``None``."""
    rows = [dict(r, response="Nothing to see.") for r in OUTPUTS]     # no mentions: no rate
    (project.path / "outputs.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    project.makepyfile(test_gate=textwrap.dedent("""
        def test_gate(halluscope_audit):
            halluscope_audit.assert_below("fakehall.caption_rate", 0.5)
    """))
    junit = tmp_path / "junit.xml"
    result = project.runpytest(f"--junitxml={junit}")
    result.assert_outcomes(passed=1)
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).iter("property")}
    assert props["halluscope.fakehall.rate"] == "n/a"
    assert props["halluscope.fakehall.recall"] == "n/a"
    assert props["halluscope.fakehall.caption_rate"] == "0.0"
    assert "None" not in props.values()


def test_a_misspelt_bound_after_a_group_is_said_as_a_bound_in_python_too():
    """``assert_below("pope.fp@split:val@uper", ...)`` looked up a group 'split:val@uper'
    ("did you mean 'split:val'?"), where the command line says "unknown bound 'uper'"."""
    from halluscope.gates.arguments import bound_in_name
    from halluscope.errors import GateArgumentError
    with pytest.raises(GateArgumentError, match=r"unknown bound 'uper' in "
                                                r"'pope.fp@split:val@uper': did you mean @upper\?"):
        bound_in_name("pope.fp@split:val@uper", None)
    assert bound_in_name("mmhal.hallucination_rate@other", None) == \
        ("mmhal.hallucination_rate@other", None)
    assert bound_in_name("pope.f1@split:val@lower", None) == ("pope.f1@split:val", "lower")
