"""Gates on HallusionBench's statistics, as a user of `halluscope query --benchmark
hallusionbench` writes them for CI: checked before the judge is asked (the metric declared no
statistics, so a misspelled gate, or one on a statistic the variant does not report, ended the
audit with exit 2 only after every answer had gone to the judge), and `unanswered`, the count of
the benchmark's questions without an answer, reported 0 included (it was left out of a whole
file's results, so `--fail-above hallusionbench.unanswered=0` was refused as naming no
statistic exactly where it should pass)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.cli import app

import halluscope


def _row(fig: str, qid: str, answer: str = "Yes.") -> dict:
    return {"category": "VD", "subcategory": "illusion", "visual_input": "1", "set_id": "0",
            "figure_id": fig, "question_id": qid, "question": f"Is it so ({fig}, {qid})?",
            "gt_answer_details": "It is so.", "gt_answer": "1", "model_prediction": answer}


def _grid(path: Path, leave_out: int = 0) -> Path:
    """A 2 x 2 set (2 figures, 2 questions), all answered Yes (right), less the last
    ``leave_out`` rows."""
    rows = [_row(f, q) for f in "01" for q in "01"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:len(rows) - leave_out]))
    return path


def _audit(tmp_path: Path, answers: Path, *args) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["audit", str(answers), "--metric", "hallusionbench",
                                   "--bootstrap", "0", "--no-report", "--quiet",
                                   "--out", str(tmp_path / "o"), *map(str, args)])
    return res.exit_code, res.output


@pytest.mark.parametrize("gate", ["--fail-below=hallusionbench.acc=0.5",
                                  "--fail-above=hallusionbench.unanswerd=0"])
def test_a_misspelled_gate_stops_before_the_judge_is_asked(tmp_path, gate):
    with FakeServer(responder=lambda prompt, body: "correct") as server:
        code, out = _audit(tmp_path, _grid(tmp_path / "a.jsonl"), gate,
                           "--judge", "hallusionbench-gpt-4", "--option",
                           f"judge_base_url={server.url}", "--cache-dir", tmp_path / "jc")
        asked = len(server.requests)
    assert code == 2, out
    assert "has no statistic" in out and "nothing was scored" in out
    assert asked == 0                          # not one judge call paid for a typo
    assert not (tmp_path / "o" / "results.json").exists()


def test_a_gate_on_what_the_keyword_variant_does_not_report_stops_at_once(tmp_path):
    """VLMEvalKit's rating gives aAcc, fAcc and qAcc only: the Yes/No bias of the judged
    variants is refused before scoring, naming what this variant reports."""
    code, out = _audit(tmp_path, _grid(tmp_path / "a.jsonl"),
                       "--option", "hallusionbench_variant=vlmevalkit",
                       "--fail-below", "hallusionbench.yes_no_pct_diff=0.1")
    assert code == 2, out
    assert "no statistic 'yes_no_pct_diff'" in out and "nothing was scored" in out
    assert "statistics: aacc, facc, qacc, unverifiable, unanswered" in out
    assert not (tmp_path / "o").exists()


def test_the_unanswered_gate_passes_on_a_whole_file_and_fails_on_a_partial_one(
        tmp_path, monkeypatch):
    import halluscope.metrics.hallusionbench as hb
    monkeypatch.setitem(hb.EXPECTED_QUESTIONS, "vlmevalkit", 4)
    gate = ("--option", "hallusionbench_variant=vlmevalkit",
            "--fail-above", "hallusionbench.unanswered=0")
    code, out = _audit(tmp_path / "whole", _grid(tmp_path / "whole.jsonl"), *gate)
    assert code == 0, out
    whole = json.loads((tmp_path / "whole/o/results.json").read_text())
    assert whole["metrics"]["hallusionbench"]["unanswered"]["value"] == 0
    assert whole["metrics"]["hallusionbench"]["unanswered"]["n"] == 4
    code, out = _audit(tmp_path / "part", _grid(tmp_path / "part.jsonl", leave_out=1), *gate)
    assert code == 1, out
    assert "hallusionbench.unanswered: value 1 is above the threshold 0" in out


def test_unanswered_has_no_value_when_nothing_was_scored(tmp_path):
    """Every row a bad record: no answer was scored, so how many are unanswered is not 0."""
    path = tmp_path / "a.jsonl"
    rows = [{**_row(f, q), "category": "VX"} for f in "01" for q in "01"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = halluscope.audit(path, metrics="hallusionbench", out=tmp_path / "o", n_boot=0,
                           write_report=False, options={"hallusionbench_variant": "vlmevalkit"})
    unanswered = res.metrics["hallusionbench"].results["unanswered"]
    assert unanswered.value is None and unanswered.why_no_value
