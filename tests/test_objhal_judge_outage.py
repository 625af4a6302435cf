"""Object HalBench with a judge that cannot be reached for some answers (an outage, a request
the server refuses): such an answer is a bad record naming the failure at once. Each failed
call -- already retried by the adapter's own policy -- was asked 100 times more, as an
unparsable reply is, so one answer took up to half an hour against a failing server and the
run sheet counted 100 judge calls for it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.cli import app


def test_a_judge_call_that_failed_is_not_asked_a_hundred_times(tmp_path):
    (tmp_path / "gt.json").write_text(json.dumps({"1": ["dog"], "2": ["dog"]}))
    rows = [{"image_id": 1, "prompt": "Describe the image.",
             "response": "A dog sits on a wooden table next to a cup."},
            {"image_id": 2, "prompt": "Describe the image.",
             "response": "A dog lies on the grass beside a red ball."}]
    src = tmp_path / "answers.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # "refuse": HTTP 400, which the adapter does not retry
    with FakeServer(faults={"refuse": 1.0}, model_name="gpt-3.5-turbo-0613") as server:
        res = CliRunner().invoke(app, [
            "audit", str(src), "--metric", "objhal", "--gt-objects", str(tmp_path / "gt.json"),
            "--judge", "objhal-gpt-3.5-turbo-0613", "--option",
            f"judge_base_url={server.url}", "--cache-dir", str(tmp_path / "c"),
            "--out", str(tmp_path / "o"), "--no-report", "--bootstrap", "0"])
        calls = len(server.requests)
    assert res.exit_code == 2, res.output                  # objhal scored nothing
    assert calls == 2                                       # one per answer, not 100
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert [(e["line"], e["field"]) for e in results["errors"]] == [(1, "response"),
                                                                    (2, "response")]
    assert all(e["message"].startswith("the judge could not be asked: ")
               and "HTTP 400" in e["message"] for e in results["errors"]), results["errors"]
