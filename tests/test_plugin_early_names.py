"""The pytest plugin looks up a test's gate names before its body runs: a misspelled metric,
statistic or group (``"pope.f1@split:randon"``) was found only when its assertion ran, and
never where an earlier assertion failed first, so each CI run showed one typo."""

from __future__ import annotations

import pytest

from tests.test_pytest_plugin import OUTPUTS, plugin_project

pytest_plugins = ["pytester"]

GROUPED = [dict(r, split="val" if i % 2 else "test") for i, r in enumerate(OUTPUTS)]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    project = plugin_project(pytester, monkeypatch)
    project.makeini("""
        [pytest]
        halluscope_outputs = outputs.jsonl
        halluscope_metrics = fakehall_metric:FakeHallucination
        addopts = -p no:asyncio -p no:cacheprovider
    """)
    from tests.test_pytest_plugin import write_jsonl
    write_jsonl(project.path / "outputs.jsonl", GROUPED)
    return project


TESTS = '''
import pytest
from halluscope.errors import UnknownNameError

pytestmark = pytest.mark.halluscope(by=["split"])

def test_body_runs_never(halluscope_audit, tmp_path):
    (tmp_path.parent / "ran").write_text("body ran")
    halluscope_audit.assert_below("fakehall.rate", 0.01)           # fails first
    halluscope_audit.assert_below("fakehall.rate@split:vall", 0.9)  # a group typo
    halluscope_audit.assert_above("fakehall.recal", 0.1)            # a statistic typo

@pytest.mark.halluscope(metric="fakehall.rate@split:tst", max_rate=0.9)
def test_marker_group():
    pass

@pytest.mark.parametrize("name", ["fakehall.rate@split:val", "fakehall.rate@split:nope"])
def test_param(halluscope_audit, name):
    halluscope_audit.assert_below(name, 0.9)

def test_guarded(halluscope_audit):
    if "chair" not in halluscope_audit.metrics:
        pytest.skip("no captions")
    halluscope_audit.assert_below("chair.chair_i", 0.1)

def test_refused_on_purpose(halluscope_audit):
    with pytest.raises(UnknownNameError):
        halluscope_audit.assert_below("fakehall.nope", 0.1)
    halluscope_audit.assert_below("fakehall.rate@split:val@upper", 1.0)

def test_good(halluscope_audit):
    halluscope_audit.assert_below("fakehall.rate@split:test", 0.9)
'''


def test_bad_names_fail_before_the_body_all_at_once(project: pytest.Pytester):
    project.makepyfile(test_gate=TESTS)
    result = project.runpytest("-rA")
    result.assert_outcomes(failed=3, passed=3, skipped=1)
    out = result.stdout.str()
    # both typos of one test in one run, though an assertion before them fails; the body
    # (which would have written a file) never ran
    result.stdout.fnmatch_lines([
        "halluscope_audit.assert_below('fakehall.rate@split:vall') at test_gate.py:9: metric "
        "'fakehall' has no group 'split:vall'; did you mean 'split:val'*",
        "halluscope_audit.assert_above('fakehall.recal') at test_gate.py:10: metric 'fakehall' "
        "has no statistic 'recal'; did you mean 'recall'?*",
        "(names looked up before the test body ran)"])
    assert not list(project.path.rglob("ran"))
    assert "@pytest.mark.halluscope(metric='fakehall.rate@split:tst'): metric 'fakehall' " \
           "has no group 'split:tst'; did you mean 'split:test'" in out
    assert "halluscope_audit.assert_below('fakehall.rate@split:nope') at test_gate.py:18" in out
    # the summary lists them as tests that failed without a verdict, with where
    result.stdout.fnmatch_lines(["assertions: 3 passed, 0 failed; 3 test(s) failed without a "
                                 "verdict"])
    assert "value 0.3000 is above" not in out      # the body's first assertion never ran


def test_a_name_built_at_run_time_is_still_checked_when_used(project: pytest.Pytester):
    project.makepyfile(test_gate='''
def test_late(halluscope_audit):
    name = "fakehall." + "rat"
    halluscope_audit.assert_below(name, 0.9)
''')
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*UnknownNameError: metric 'fakehall' has no statistic 'rat'*"])


def test_body_names_reads_only_what_runs_for_sure():
    from halluscope.pytest_plugin.early import body_names

    def test_x(halluscope_audit, other):
        import pytest
        halluscope_audit.assert_below("a.b", 1)
        with open(__file__):
            halluscope_audit.assert_above("c.d@g:1", 0)
        with pytest.raises(KeyError):
            halluscope_audit.assert_below("bad.one", 1)
        other.assert_below("x.y", 1)                    # not the fixture
        halluscope_audit.assert_no_regression("e.f")
        for _ in range(1):
            halluscope_audit.assert_below("in.loop", 1)
        halluscope_audit.assert_below("after.loop", 1)

    class Item:
        obj = test_x
        path = None

    assert [n for n, _ in body_names(Item())] == ["a.b", "c.d@g:1", "e.f"]
    where = body_names(Item())[0][1]
    assert where.startswith("halluscope_audit.assert_below('a.b') at ?:")
