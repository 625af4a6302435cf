"""``halluscope audit`` judges its gates once after scoring: the trackers are told the outcome
of the same judgement the console says (they were judged twice, quietly for the trackers and
aloud after the summary), with the same exit codes: 1 for a gate crossed or not decided, 2 for
a usage error found judging them or an input read in part, whatever the gates say."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import halluscope.gates
import halluscope.tracking
from halluscope.cli import app


def _files(tmp_path, *, broken: bool = False):
    questions = [{"question_id": f"q{i}", "image": f"COCO_val2014_{i // 3:012d}.jpg",
                  "text": "Is there a dog in the image?", "label": "yes" if i % 2 else "no"}
                 for i in range(40)]
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    answers = [{"question_id": q["question_id"], "model": f"m{i % 2}",
                "answer": "yes" if (i % 2) ^ (i % 7 == 0) else "no"}
               for i, q in enumerate(questions)]
    text = json.dumps(answers)
    if broken:      # a syntax error in element 21 of a one-line array: 20 read
        element = json.dumps(answers[20])
        text = text.replace(element, element.replace('"answer": ', '"answer" '))
    (tmp_path / "answers.json").write_text(text)
    return tmp_path / "answers.json", tmp_path / "questions.jsonl"


@pytest.fixture
def judged(monkeypatch):
    """Counts of check_gates' calls, and what log_run was told."""
    calls, told = [], []
    real = halluscope.gates.check_gates

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)
    monkeypatch.setattr(halluscope.gates, "check_gates", counted)
    monkeypatch.setattr(halluscope.tracking, "check_trackers", lambda trackers: None)
    monkeypatch.setattr(halluscope.tracking, "log_run",         # (quiet: whether the
                        lambda result, out, trackers, quiet=False, **kw:   # trackers' own
                        told.append(kw) or {})                            # lines are hushed)
    return calls, told


def _audit(tmp_path, answers, questions, *gates, quiet=True):
    args = ["audit", str(answers), "--metric", "pope", "--questions", str(questions),
            "--bootstrap", "100", "--no-report", "--out", str(tmp_path / "out"),
            "--log", "mlflow", *gates, *(["--quiet"] if quiet else [])]
    return CliRunner().invoke(app, args, env={"COLUMNS": "300"})


def test_a_crossed_gate_is_judged_once_and_told_to_the_trackers_as_said(tmp_path, judged):
    calls, told = judged
    res = _audit(tmp_path, *_files(tmp_path), "--fail-below", "pope.f1=0.99",
                 "--fail-below", "pope.f1@model:m0=0.5")
    assert res.exit_code == 1, res.output
    assert len(calls) == 1
    said = [line.removeprefix("gate failed: ") for line in res.output.splitlines()
            if line.startswith("gate failed: ")]
    assert len(said) == 2 and said[0].startswith("pope.f1: value ")
    assert "pope.f1@model:m0 has no value" in said[1]      # (no value: the gate fails)
    assert told == [{"exit_code": 1, "why": "; ".join(f"gate failed: {s}" for s in said)}]


def test_gates_that_pass_are_judged_once(tmp_path, judged):
    calls, told = judged
    res = _audit(tmp_path, *_files(tmp_path), "--fail-below", "pope.f1=0.1", quiet=False)
    assert res.exit_code == 0, res.output
    assert len(calls) == 1 and told == [{}]


def test_a_usage_error_found_judging_is_said_once_and_exits_2(tmp_path, judged):
    calls, told = judged
    res = _audit(tmp_path, *_files(tmp_path), "--fail-below", "pope.f1@model:zzz=0.5")
    assert res.exit_code == 2, res.output
    assert len(calls) == 1
    assert res.output.count("has no group 'model:zzz'") == 1
    assert told[0]["exit_code"] == 2 and "has no group 'model:zzz'" in told[0]["why"]


def test_read_in_part_wins_over_a_crossed_gate(tmp_path, judged):
    calls, told = judged
    res = _audit(tmp_path, *_files(tmp_path, broken=True), "--fail-below", "pope.f1=0.99")
    assert res.exit_code == 2, res.output
    assert len(calls) == 1
    assert "gate failed: pope.f1: value " in res.output      # said, and 2 all the same
    assert "input read in part: " in res.output
    assert told[0]["exit_code"] == 2 and told[0]["why"].startswith("input read in part: ")


def test_a_weak_gate_known_after_scoring_is_warned_once_after_the_summary(tmp_path, judged,
                                                                           monkeypatch, caplog):
    """A metric whose statistics only scoring tells: its gate's warning is said after the
    summary table (as before the gates were judged once), and once."""
    import logging
    import halluscope.report.console as console
    from halluscope.metrics.pope import PopeMetric
    monkeypatch.setattr(PopeMetric, "declared_statistics", classmethod(lambda cls, cfg: None))
    real = console.render_summary

    def summary(*args, **kwargs):
        real(*args, **kwargs)
        logging.getLogger("test").warning("the summary was printed")
    monkeypatch.setattr(console, "render_summary", summary)
    calls, _ = judged
    with caplog.at_level("WARNING"):
        res = _audit(tmp_path, *_files(tmp_path), "--fail-above", "pope.yes_ratio@lower=0.9",
                     quiet=False)
    assert res.exit_code == 0, res.output
    assert len(calls) == 1
    said = [r.getMessage() for r in caplog.records]
    weak = [m for m in said if "passes more easily than the value" in m]
    assert len(weak) == 1 and weak[0].startswith("gate pope.yes_ratio@lower=0.9: ")
    assert said.index(weak[0]) > said.index("the summary was printed")
