"""results.json with many groups (``--by question_id``): each group on a line of its own (61 MB,
not 112 MB, for 50,000 POPE answers), the same JSON values, and every reader still reads it:
the output check, compare (with --by), a finished audit's --resume and the API."""

import json

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.api import audit
from halluscope.cli import app
from halluscope.redact import redact_mapping
from halluscope.result import ONE_LINE_OVER, check_outputs, results_text
from halluscope.textfiles import text_of


def _rows(n, wrong=()):
    return [{"question_id": f"q{i}", "image_id": i // 3, "label": "yes" if i % 2 else "no",
             "prompt": "Is there a dog in the image?",
             "response": ("no" if i % 2 else "yes") if i in wrong else
             ("yes" if i % 2 else "no")} for i in range(n)]


def test_small_results_are_indented_as_before():
    data = {"run_id": "x", "metrics": {"m": {"s": {"value": 0.5, "ci": [0.1, 0.9]},
                                             "groups": {f"g:{i}": {"s": {"value": i}}
                                                        for i in range(ONE_LINE_OVER)}}},
            "errors": [{"line": 1, "reason": "café"}], "digest": "d"}
    assert results_text(data) == json.dumps(data, indent=2, ensure_ascii=False)


def test_many_groups_and_errors_one_a_line_same_values():
    groups = {f"question_id:{i}": {"acc": {"value": i / 7, "note": "é\"x\n", "n": 1}}
              for i in range(ONE_LINE_OVER + 1)}
    data = {"run_id": "x", "metrics": {"pope": {"acc": {"value": 0.5}, "groups": groups,
                                                "info": {"k": [1, 2]}},
                                       "chair": {"x": {"value": None}}},
            "errors": [{"file": "a.jsonl", "line": i, "reason": "bad"} for i in range(150)],
            "outputs": {}, "digest": "d"}
    text = results_text(data)
    assert json.loads(text) == data
    lines = text.splitlines()
    assert '        "question_id:0": {"acc":{"value":0.0,"note":"é\\"x\\n","n":1}},' in lines
    assert '    {"file":"a.jsonl","line":0,"reason":"bad"},' in lines
    # everything else indented as before: the top of the file, the metric's own statistics
    assert lines[:6] == ['{', '  "run_id": "x",', '  "metrics": {', '    "pope": {',
                         '      "acc": {', '        "value": 0.5']
    assert len(lines) < 101 + 150 + 40


def _audit_cli(tmp_path, name, rows, *extra):
    answers = tmp_path / f"{name}.jsonl"
    if not answers.exists():
        answers.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = CliRunner().invoke(app, ["audit", str(answers), "--metric", "pope", "--by",
                                   "question_id", "--bootstrap", "0", "--out",
                                   str(tmp_path / name), "-q", *extra])
    assert res.exit_code == 0, res.output
    return tmp_path / name


def test_by_question_id_outputs_read_back(tmp_path):
    n = ONE_LINE_OVER + 50
    a = _audit_cli(tmp_path, "a", _rows(n))
    b = _audit_cli(tmp_path, "b", _rows(n, wrong={3, 4, 5}))
    text = (a / "results.json").read_text(encoding="utf-8")
    assert len(text.splitlines()) < n + 200          # a line a group, not ~40
    data = check_outputs(a)                          # digest and output hashes hold
    assert len(data["metrics"]["pope"]["groups"]) == n + 1        # object:dog too
    assert json.loads(text) == data
    cmp = halluscope.compare([a, b], out=tmp_path / "c", n_boot=0)
    assert cmp.metrics["pope.accuracy"]["diff"] == pytest.approx(-3 / n)
    res = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c2"),
                                   "-q", "--fail-below", "diff.pope.accuracy=-0.001"])
    assert res.exit_code == 1, res.output
    _audit_cli(tmp_path, "a", _rows(n), "--resume")   # a finished audit, read back
    assert check_outputs(a)["metrics"] == data["metrics"]


def test_redaction_and_text_of_keep_numbers_and_catch_strings(monkeypatch):
    """The fast paths for numbers inside dicts change nothing: strings (keys too) are still
    made writable and redacted, numbers and flags under a secret-looking key kept."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-verysecretvalue123")
    data = {"g:\udce9": {"value": 1.5, "ci": [0.1, None], "ok": True, "api_key": 3,
                         "note": "used sk-verysecretvalue123", "token": "abc"},
            "sk-verysecretvalue123": {"v": 1}, "notes": ["sk-verysecretvalue123", 2]}
    red = redact_mapping(data)
    assert red["g:\udce9"]["api_key"] == 3 and red["g:\udce9"]["token"] == "<redacted>"
    assert "sk-very" not in json.dumps(red)
    assert red["g:\udce9"]["ci"] == [0.1, None] and red["g:\udce9"]["ok"] is True
    assert list(text_of(data)) == ["g:\\xe9", "sk-verysecretvalue123", "notes"]
