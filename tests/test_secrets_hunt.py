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
    session.errors, session.exitstatus, session.incomplete, session.withheld = [], 0, [], []
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


KEY = "sk-test-SECRET123openai"


def test_cut_text_redacts_before_it_cuts():
    """Cutting first left a secret's first characters, which no longer match it."""
    from halluscope.redact import cut_text, register_secret
    register_secret(KEY)
    text = "x" * 290 + KEY + " and more"
    assert cut_text(text, 299) == "x" * 290 + "<redacted"
    for limit in range(291, 290 + len(KEY)):          # wherever the cut falls in the key
        assert "sk-test" not in cut_text(text, limit, "…")
    assert cut_text("short", 300) == "short"


def test_a_judge_reply_quoting_a_key_leaves_no_part_of_it(tmp_path, monkeypatch):
    """A judge reply that no parser reads is quoted in the record's error, cut at 300
    characters. The cut came before redaction: a key it split left its first characters in
    items.jsonl, results.json and report.html ("...xxxsk-test-S")."""
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from fake_openai_server import FakeServer
    from PIL import Image
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    Image.new("RGB", (32, 32)).save(tmp_path / "i.jpg")
    reply = "I cannot split this. " + "x" * 270 + KEY + " and more"
    records = [{"id": "c1", "task": "caption", "image": str(tmp_path / "i.jpg"),
                "prompt": "Describe.", "response": "A dog sits on a sofa."}]
    out = tmp_path / "out"
    with FakeServer(responder=lambda prompt, body: reply) as server:
        try:
            halluscope.audit(records=records, metrics="claims", claim_splitter="judge",
                             judge="gpt-4o-2024-08-06", out=out,
                             options={"judge_base_url": server.url})
        except halluscope.errors.HalluscopeError as exc:   # the metric scored nothing
            assert "sk-test" not in str(exc)
    written = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "items.jsonl" for p in written)
    assert any(b"raw answer" in p.read_bytes() for p in written)    # the reply was quoted
    for path in written:
        assert b"sk-test" not in path.read_bytes(), f"part of the key in {path.name}"
