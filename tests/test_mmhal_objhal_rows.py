"""MMHal-Bench and Object HalBench rows the judge prompt cannot be built from are bad records
naming file, line and field (they were judged with an empty section and scored); a repeated
question is counted (``repeated_answers``) and said, and a question never answered is counted
(``unanswered``) and said. All cases are worked by hand on three-row templates."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import halluscope
from halluscope.errors import ConfigError, RecordError
from halluscope.metrics.mmhal import MMHalMetric, load_template
from halluscope.records import iter_records


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


class _SixJudge:
    """Rates every answer 6 and remembers what it was asked."""

    def __init__(self):
        from halluscope.judges.reliability import JudgeStats
        self.stats = JudgeStats()
        self.asked: list[dict] = []

    def ask_sync(self, use, **values):
        from halluscope.judges.judge import JudgeAnswer
        self.asked.append(values)
        return JudgeAnswer(6, "Rating: 6", True)

    def describe(self):
        return {"name": "six"}

    def close(self):
        pass


def _row(i: int, **change) -> dict:
    row = {"question_type": "attribute", "question": f"What is thing {i}?",
           "gt_answer": f"Thing {i}.", "image_content": [f"thing {i}"],
           "model_answer": f"Thing {i}."}
    row.update(change)
    return {k: v for k, v in row.items() if v is not ...}


def _errors(metric, path: Path):
    """(questions asked of the judge, errors as (line, field))."""
    metric.begin([path])
    errors = []
    for rec in iter_records(path):
        try:
            metric.update(rec)
        except RecordError as exc:
            errors.append((Path(exc.location.file).name, exc.location.line, exc.location.field))
    return errors


@pytest.mark.parametrize("variant", ["original", "refined"])
def test_mmhal_rows_without_question_or_standard_answer_are_bad_records(tmp_path, variant):
    """Template layout, one row per line: row 2 has no gt_answer, row 3 a null question, row 4
    a null gt_answer, row 5 no image_content list. Only rows 1 and 6 go to the judge; each of
    the others is a bad record naming its line and field."""
    rows = [_row(0), _row(1, gt_answer=...), _row(2, question=None), _row(3, gt_answer=None),
            _row(4, image_content="thing 4"), _row(5)]
    path = _jsonl(tmp_path / "a.jsonl", rows)
    judge = _SixJudge()
    metric = MMHalMetric(judge=judge, variant=variant, n_boot=0)
    errors = _errors(metric, path)
    assert errors == [("a.jsonl", 2, "gt_answer"), ("a.jsonl", 3, "question"),
                      ("a.jsonl", 4, "gt_answer"), ("a.jsonl", 5, "image_content")]
    assert [a["question"] for a in judge.asked] == ["What is thing 0?", "What is thing 5?"]
    assert [a["standard_answer"] for a in judge.asked] == ["Thing 0.", "Thing 5."]
    assert metric.compute().results["rated"].value == 2


def test_mmhal_template_row_without_standard_answer_is_refused(tmp_path):
    """RLAIF-V layout: the template row is what the prompt is built from; a template without a
    gt_answer in row 1 is a bad companion file (exit 2), named with its row."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps([_row(0), _row(1, gt_answer=...)]))
    with pytest.raises(ConfigError, match=r"t\.json: row 1 \(0-based\): expected text in "
                                          r"'gt_answer'.*got nothing"):
        load_template(path)
    path.write_text(json.dumps([_row(0, question=None)]))
    with pytest.raises(ConfigError, match=r"row 0 \(0-based\): expected text in 'question'.*"
                                          r"got NoneType None"):
        load_template(path)


def test_mmhal_bad_row_is_listed_in_the_audit_and_the_rest_scored(tmp_path):
    rows = [_row(0), _row(1, gt_answer=...), _row(2)]
    path = _jsonl(tmp_path / "a.jsonl", rows)
    result = halluscope.audit(path, metrics=[MMHalMetric(judge=_SixJudge(), n_boot=0)],
                              out=tmp_path / "o", write_report=False)
    assert [(e["line"], e["field"]) for e in result.errors] == [(2, "gt_answer")]
    assert result.metrics["mmhal"].results["rated"].value == 2
