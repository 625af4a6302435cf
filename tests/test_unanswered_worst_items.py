"""A failed gate on ``unanswered`` (Object HalBench, MMHal-Bench, HallusionBench: the
benchmark's questions no answer answered) listed the answers with hallucinated objects as its
"worst items", though none of them counts against it: the questions never answered are in no
line. It now says so and lists none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from halluscope.api import audit
from halluscope.gates.assertions import HalluscopeAssertionError
from test_question_align import nlp  # noqa: F401 - the spaCy pipeline fixture, shared


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_failed_unanswered_gate_lists_no_hallucinating_item(tmp_path, nlp):
    questions = _jsonl(tmp_path / "q.jsonl", [{"image_id": 100 + i, "question": "Describe."}
                                              for i in range(4)])
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({str(100 + i): ["dog"] for i in range(4)}))
    answers = _jsonl(tmp_path / "a.jsonl", [
        {"question_id": 0, "prompt": "Describe.", "text": "A dog chases a cat and a horse."},
        {"question_id": 1, "prompt": "Describe.", "text": "A dog on the grass."}])
    result = audit(str(answers), metrics="objhal", gt_objects=str(gt), questions=str(questions),
                   n_boot=0, out=tmp_path / "out")
    assert result.get("objhal.unanswered").value == 2
    with pytest.raises(HalluscopeAssertionError) as info:
        result.assert_below("objhal.unanswered", 0)
    said = str(info.value)
    assert "worst items: none (objhal.unanswered counts the benchmark's questions" in said
    assert "hallucinated" not in said and "cat" not in said
    with pytest.raises(HalluscopeAssertionError) as info:       # a rate still lists them
        result.assert_below("objhal.chairi", 0)
    assert "worst items (1 of 1" in str(info.value) and "cat" in str(info.value)
