"""compare.html (and compare.json, and the warnings beside the table) redact what they show as
report.html does: a known secret, a URL's password, a secret query value in a model's answer,
an item key or a model name; and a model's text is escaped, never markup."""

import json

from typer.testing import CliRunner

import halluscope
from halluscope.cli import app

SECRET = "sk-CMPSECRET0123456789"
URL = "https://bob:hunter2pass@example.com/v1?token=tok9876543"


def _run(tmp_path, name, models, answer):
    rows = [{"question_id": i, "image": f"{i // 4}.jpg", "label": "yes", "model": m,
             "question": "Is there a dog in the image?", "answer": answer(i, m)}
            for i in range(12) for m in models]
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    halluscope.audit(path, metrics="pope", out=tmp_path / name, n_boot=0, write_report=False)
    return tmp_path / name


def _runs(tmp_path, monkeypatch):
    """B answers 'no' with a secret, a URL with credentials and markup in its text, and holds
    a model whose name quotes the secret; the secret is known only when compare runs (the
    audit kept it in items.jsonl, as a secret it did not know)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    a = _run(tmp_path, "a", ("llava", "qwen"), lambda i, m: "Yes")
    b = _run(tmp_path, "b", ("llava", f"gpt-{SECRET}"),
             lambda i, m: f"No <script>alert(1)</script> <b>{SECRET}</b> see {URL}")
    assert SECRET in (b / "items.jsonl").read_text()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return a, b


def test_compare_html_redacts_and_escapes_what_it_shows(tmp_path, monkeypatch):
    a, b = _runs(tmp_path, monkeypatch)
    res = halluscope.compare([a, b], n_boot=0, out=tmp_path / "cmp")
    assert res.comparisons[0].changed            # llava's answers became wrong: listed
    page = (tmp_path / "cmp" / "compare.html").read_text(encoding="utf-8")
    for secret in (SECRET, "hunter2pass", "tok9876543"):
        assert secret not in page, secret
    assert "&lt;redacted&gt;" in page and "<redacted>" not in page
    assert "bob:&lt;redacted&gt;@example.com" in page and "token=&lt;redacted&gt;" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;" in page
    assert "gpt-&lt;redacted&gt;" in page                 # the model named in the warning
    saved = (tmp_path / "cmp" / "compare.json").read_text(encoding="utf-8")
    assert SECRET not in saved and "gpt-<redacted>" in saved


def test_the_console_warnings_of_compare_are_redacted(tmp_path, monkeypatch):
    a, b = _runs(tmp_path, monkeypatch)
    res = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"),
                                   "--bootstrap", "0"])
    assert res.exit_code == 0, res.output
    assert "gpt-<redacted>" in res.output and SECRET not in res.output
