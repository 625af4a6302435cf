"""A by-order count mismatch says what it counted: non-blank lines of a JSON Lines file, the
elements of a JSON array (it said "non-blank lines" of an array too, whose answers may all sit
on one line)."""

from __future__ import annotations

import json

import pytest

from halluscope.errors import AlignmentError
from halluscope.metrics.pope import PopeMetric
from halluscope.metrics.pope_answers import AnswerFile, answers_counted


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "coco_pope_popular.json"
    path.write_text("".join(json.dumps({"question_id": i, "image": f"img{i}.jpg",
                                        "text": f"Is there a {o} in the image?", "label": lab})
                            + "\n" for i, (o, lab) in enumerate(
                                [("dog", "yes"), ("cat", "no"), ("car", "yes"),
                                 ("bus", "no")], 1)))
    return path


def test_an_array_counts_elements(tmp_path, questions):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps([{"answer": a} for a in ("Yes", "No", "Yes")]))  # one line
    with pytest.raises(AlignmentError) as err:
        PopeMetric(questions, align="order", n_boot=0).begin([path])
    msg = str(err.value)
    assert "has 3 answers (JSON array elements) but" in msg and "non-blank" not in msg


def test_an_indented_array_after_blank_lines_counts_elements_too(tmp_path, questions):
    path = tmp_path / "answers.json"
    path.write_text("\n\n" + json.dumps([{"answer": "Yes"}] * 5, indent=2))
    with pytest.raises(AlignmentError, match=r"has 5 answers \(JSON array elements\)"):
        PopeMetric(questions, align="order", n_boot=0).begin([path])


def test_json_lines_count_non_blank_lines(tmp_path, questions):
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps({"answer": a}) + "\n\n" for a in ("Yes", "No", "No")))
    with pytest.raises(AlignmentError, match=r"has 3 answers \(non-blank lines\)"):
        PopeMetric(questions, align="order", n_boot=0).begin([path])


def test_the_check_after_scoring_says_the_same(tmp_path, questions):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps([{"answer": "Yes"}] * 6))
    metric = PopeMetric(questions, align="order", n_boot=0)
    with pytest.raises(AlignmentError, match=r"has 6 answers \(JSON array elements\)"):
        metric._check_count(str(path), AnswerFile(str(path), True), set(), 4)
    # a file gone since it was counted: said as lines, not an OSError of its own
    assert answers_counted(tmp_path / "gone.json", 2) == "2 answers (non-blank lines)"
