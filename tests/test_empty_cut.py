"""An answer cut at the token limit before the model said anything (``""`` with
``finish_reason`` ``length``: a reasoning model that spent ``--max-tokens`` thinking; Gemini's
``MAX_TOKENS`` candidate without parts, Claude's ``max_tokens`` with thinking alone) gave no
answer: a bad record naming its file, line and field, never scored -- POPE's original parser
read its ``""`` as "yes", a false positive made from nothing. The same on the columnar path and
line by line; an empty answer the model ended itself is still scored by each metric's rule."""

from __future__ import annotations

import json

import pytest

import halluscope
from halluscope.errors import RecordError
from halluscope.finish_reasons import FinishScreen
from halluscope.records import record_from_dict

OBJECTS = ["dog", "cat", "car", "bus"]


def _files(tmp_path, reasons_and_answers):
    questions = tmp_path / "coco_pope_random.json"
    answers = tmp_path / "answers.jsonl"
    q_rows, a_rows = [], []
    for i, (reason, answer) in enumerate(reasons_and_answers, 1):
        q = f"Is there a {OBJECTS[i % 4]} in the image?"
        q_rows.append({"question_id": i, "image": f"COCO_val2014_{i:012d}.jpg", "text": q,
                       "label": "no"})
        a_rows.append({"question_id": i, "prompt": q, "response": answer, "label": "no",
                       **({"finish_reason": reason} if reason else {})})
    questions.write_text("".join(json.dumps(r) + "\n" for r in q_rows))
    answers.write_text("".join(json.dumps(r) + "\n" for r in a_rows))
    return answers


@pytest.mark.parametrize("columns", [True, False])
@pytest.mark.parametrize("reason", ["length", "max_tokens", "MAX_TOKENS"])
def test_an_empty_answer_cut_at_the_token_limit_is_never_scored(tmp_path, reason, columns,
                                                                monkeypatch):
    import halluscope.pipeline as pipeline
    if not columns:
        monkeypatch.setattr(pipeline, "score_columns", lambda *a, **k: None)
    answers = _files(tmp_path, [("stop", "No"), (reason, ""), (reason, "  "), ("stop", "No"),
                                (reason, "No, there is")])
    res = halluscope.audit(answers, metrics="pope", out=tmp_path / "out", n_boot=10)
    pope = res.metrics["pope"].to_dict()
    # before: 5 scored, the 2 empty ones read as yes (fp 2, accuracy 0.6)
    assert (pope["fp"]["value"], pope["tn"]["value"], pope["accuracy"]["value"]) == (0, 3, 1.0)
    items = [json.loads(line) for line in open(tmp_path / "out" / "items.jsonl")]
    scored = [i for i in items if "error" not in i]
    assert [i["id"] for i in scored] == ["1", "4", "5"]
    assert all(i["pope"]["prediction"] == "no" for i in scored)
    bad = {e["line"]: e for e in (d["error_detail"] for d in items if "error" in d)}
    assert sorted(bad) == [2, 3]
    for e in bad.values():
        assert e["field"] == "finish_reason" and e["file"].endswith("answers.jsonl")
        assert "gave no answer before the token limit" in e["message"]
    # the answer cut with text is still scored as written and counted as truncated
    assert res.runsheet["counts"].get("truncated") == 1


def test_an_empty_answer_the_model_ended_is_still_scored_by_its_rule(tmp_path):
    answers = _files(tmp_path, [("stop", ""), ("stop", "No")])
    res = halluscope.audit(answers, metrics="pope", out=tmp_path / "out", n_boot=10)
    items = [json.loads(line) for line in open(tmp_path / "out" / "items.jsonl")]
    assert [i["pope"]["prediction"] for i in items] == ["yes", "no"]
    assert res.runsheet["counts"]["empty_answers_scored"]


def test_the_screen_names_the_record(tmp_path):
    rec = record_from_dict({"id": "a7", "prompt": "Describe.", "response": "",
                            "stop_reason": "max_tokens"}, file="claude.jsonl", line=7)
    (out,) = list(FinishScreen().screen([rec]))
    assert isinstance(out, RecordError) and out.record_id == "a7"
    assert (out.location.file, out.location.line, out.location.field) == \
        ("claude.jsonl", 7, "stop_reason")
    # a line that is no answer at all (samples only) is left to what reads it
    rec = record_from_dict({"id": "s", "samples": ["a", "b"], "finish_reason": "length"},
                           require_response=False)
    assert list(FinishScreen().screen([rec])) == [rec]
