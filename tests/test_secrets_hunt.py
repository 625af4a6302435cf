"""Secrets hunt: boundaries where a credential could still leave halluscope.

Every file, log line and message was checked end to end (query and audit with a judge against
loopback servers, leaking 400 bodies, 401s, timeouts, refused connections, -vv SDK debug
logging, --debug tracebacks, SIGINT and resume); what leaked is pinned here.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import halluscope
from halluscope.pytest_plugin import GateSession

PASSWORD = "raySECRET555pw"


def test_the_plugin_report_names_a_ray_address_without_its_password(tmp_path):
    """The pytest plugin's JSON report (and what an xdist worker hands the controller) kept
    the audit's keyword arguments as given: ``halluscope_auditor.audit(engine="ray",
    ray_address="ray://admin:PASSWORD@head:10001")`` wrote the password into the report, a
    file CI uploads as an artifact."""
    records = [{"id": f"r{i}", "question_id": f"q{i}", "image": f"i{i}.jpg",
                "text": "Is there a dog?", "label": "yes", "answer": "yes"} for i in range(4)]
    result = halluscope.audit(records=records, metrics="pope", n_boot=0)
    session = GateSession.__new__(GateSession)
    session.audits, session.outcomes, session.updates, session.worker = {}, [], {}, None
    session.settings = SimpleNamespace(baseline=tmp_path / "baseline.json")
    address = f"ray://admin:{PASSWORD}@127.0.0.1:10001"
    session.record_audit("k" * 40, ["outputs.jsonl"], result, None,
                         {"engine": "ray", "ray_address": address,
                          "extra": {"api_key": "sk-test-SECRET123plugin"}})
    report = tmp_path / "report.json"
    session.write_report(report)
    text = report.read_text()
    assert PASSWORD not in text and "SECRET123plugin" not in text
    data = json.loads(text)
    shown = data["audits"][0]["overrides"]
    assert shown["ray_address"] == "ray://admin:<redacted>@127.0.0.1:10001"  # still named
    assert shown["engine"] == "ray"
    assert Path(report).is_file()
