"""The plugin's terminal summary and JSON report say when the audited answers were cut at the
token limit (scored as written): a regression check compares values alone, so a run whose
answers were cut short passed against a baseline of whole answers with "0 problem(s)" and no
word of it."""

from __future__ import annotations

import json

from test_plugin_hunt import make_pope_project, pope_rows

pytest_plugins = ["pytester"]


def test_cut_answers_are_said_in_the_summary_and_report(pytester, monkeypatch):
    rows = pope_rows(flip=1, n=20)
    for row in rows[:3]:
        row["finish_reason"] = "length"
    make_pope_project(pytester, monkeypatch, rows)
    pytester.makepyfile(test_gate='''
def test_f1(halluscope_audit):
    halluscope_audit.assert_above("pope.f1", 0.5)
''')
    result = pytester.runpytest("--halluscope-report", "report.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*3 answer(s) cut at the token limit: scored as written*"])
    report = json.loads((pytester.path / "report.json").read_text())
    audits = report["audits"] if isinstance(report["audits"], list) else \
        list(report["audits"].values())
    assert audits[0]["finish"] == ["3 answer(s) cut at the token limit: scored as written"]
