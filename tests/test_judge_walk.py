"""A user's walk through the judges: what an audit says when a judge call fails, what the run
sheet records of the judge, which answers the judge cache may serve again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fake_openai_server import FakeServer
import halluscope

ROWS = [{"category": "VD", "subcategory": "illusion", "visual_input": "1", "set_id": "0",
         "figure_id": figure, "question_id": question, "question": f"Is circle {question} big?",
         "gt_answer_details": "The circles are the same size.", "gt_answer": "1",
         "model_prediction": f"Yes, circle {question} is big{'.' if figure == '0' else '!'}"}
        for figure in ("0", "1") for question in ("0", "1")]


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    for var in ("OPENAI_API_KEY", "HALLUSCOPE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def test_failed_consistency_calls_of_hallusionbench_are_said_not_only_recorded(
        tmp_path, caplog):
    """HallusionBench's original variant asks the judge a second prompt (consistency, for the
    LH / VI / Mixed diagnosis). When every such call failed, the diagnosis was over nothing
    and the run sheet counted the failures (judge_reliability_same), but the audit said
    nothing and exited 0: the warning read only the correctness prompt's counters."""
    answers = tmp_path / "hb.json"
    answers.write_text(json.dumps(ROWS), encoding="utf-8")
    replies = lambda prompt, body: "Correct"                            # noqa: E731
    with FakeServer(responder=replies, script={"response2:": ["refuse"] * 8}) as server:
        result = halluscope.audit(
            answers, metrics="hallusionbench", judge="hallusionbench-gpt-4", n_boot=0,
            cache_dir=tmp_path / "cache",
            options={"hallusionbench_variant": "original", "judge_base_url": server.url})
    info = result.metrics["hallusionbench"].info
    assert info["judge_reliability"]["call_failures"] == 0
    assert info["judge_reliability_same"]["call_failures"] == 4
    assert info["diagnosis"]["same_replies"]["failed"] == 4
    assert "hallusionbench: the judge failed 4 of 4 hallusionbench_same calls" in caplog.text
