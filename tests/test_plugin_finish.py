"""The plugin's terminal summary and JSON report say when the audited answers were cut at the
token limit (scored as written): a regression check compares values alone, so a run whose
answers were cut short passed against a baseline of whole answers with "0 problem(s)" and no
word of it."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from test_plugin_hunt import ROOT, pope_rows

pytest_plugins = ["pytester"]


def test_cut_answers_are_said_in_the_summary_and_report(pytester, monkeypatch):
    monkeypatch.delenv("HALLUSCOPE_OFFLINE", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    pytester.makeconftest('pytest_plugins = ["halluscope.pytest_plugin"]\n')
    rows = pope_rows(flip=1, n=20)
    for row in rows[:3]:
        row["finish_reason"] = "length"
    (pytester.path / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                                 encoding="utf-8")
    pytester.makeini(textwrap.dedent("""
        [pytest]
        halluscope_outputs = answers.jsonl
        halluscope_metrics = pope
        addopts = -p no:asyncio
    """))
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
