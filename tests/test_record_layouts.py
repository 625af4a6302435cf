"""What an input line is, end to end: a null answer field is no answer (never the truth beside
it), a question file is not an answer file, a prompt's template does not hide a POPE or CHAIR
record from the metric named for it, and a lone surrogate is one bad record. Numbers are worked
by hand; POPE files are scored on the whole-file and the line-by-line path alike."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import EXIT_USAGE, app

runner = CliRunner()
QUESTIONS = [("dog", "yes"), ("cat", "no"), ("person", "yes"), ("car", "no"), ("bus", "yes"),
             ("couch", "no")]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def questions(tmp_path):
    """Six POPE questions, ids 1-6: yes, no, yes, no, yes, no."""
    return _jsonl(tmp_path / "q.jsonl", [
        {"question_id": i, "image": f"COCO_val2014_{i:012d}.jpg",
         "text": f"Is there a {obj} in the image?", "label": label}
        for i, (obj, label) in enumerate(QUESTIONS, 1)])


def _pope_both(tmp_path, answers, questions, **options):
    """The audit as columns and line by line: the same items, numbers and errors."""
    import halluscope.pipeline as pipeline
    fast = halluscope.audit(answers, metrics="pope", questions=questions, n_boot=0,
                            out=tmp_path / "fast", write_report=False, **options)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "score_columns", lambda *a, **k: None)
        slow = halluscope.audit(answers, metrics="pope", questions=questions, n_boot=0,
                                out=tmp_path / "slow", write_report=False, **options)
    assert fast.runsheet["execution"]["scored"].startswith("as columns"), fast.runsheet
    assert slow.runsheet["execution"]["scored"].startswith("record by record")
    lines = [(tmp_path / name / "items.jsonl").read_bytes() for name in ("fast", "slow")]
    assert lines[0] == lines[1]
    assert fast.metrics["pope"].to_dict() == slow.metrics["pope"].to_dict()
    assert fast.errors == slow.errors and fast.n_skipped == slow.n_skipped
    return fast


def _counts(result):
    return {k: result.metrics["pope"].results[k].value for k in ("tp", "fp", "tn", "fn")}


# -- 1: a null answer field ----------------------------------------------------------------------
def test_a_null_response_beside_the_truth_is_a_bad_record_not_a_correct_answer(tmp_path,
                                                                               questions):
    """Line 2 has "response": null beside "answer": "no" (the truth): it was scored as a
    correct 'no'. Scored: 1 Yes/yes TP, 3 No/yes FN, 4 No/no TN -> accuracy 2/3."""
    answers = _jsonl(tmp_path / "a.jsonl", [
        {"question_id": 1, "answer": "yes", "response": "Yes"},
        {"question_id": 2, "answer": "no", "response": None},
        {"question_id": 3, "answer": "yes", "response": "No"},
        {"question_id": 4, "answer": "no", "response": "No"}])
    result = halluscope.audit(answers, metrics="pope", questions=questions, n_boot=0,
                              pope_align="id", write_report=False)
    assert _counts(result) == {"tp": 1, "fp": 0, "tn": 1, "fn": 1}
    assert result.metrics["pope"].results["accuracy"].value == pytest.approx(2 / 3)
    assert [(e["line"], e["field"]) for e in result.errors] == [(2, "response")]
    assert "got null" in result.errors[0]["message"]


def test_pope_answer_files_holding_the_answer_in_answer_still_score(tmp_path, questions):
    """``{"question_id", "answer"}``: 'answer' is the model's answer. Yes/yes TP, Yes/no FP,
    No/yes FN, No/no TN, Yes/yes TP, No/no TN -> accuracy 4/6."""
    answers = _jsonl(tmp_path / "a.jsonl", [
        {"question_id": i, "answer": a} for i, a in enumerate(
            ["Yes", "Yes", "No", "No", "Yes", "No"], 1)])
    result = _pope_both(tmp_path, answers, questions)
    assert _counts(result) == {"tp": 2, "fp": 1, "tn": 2, "fn": 1}
    assert result.metrics["pope"].results["accuracy"].value == pytest.approx(4 / 6)


# -- 2: a question file is not an answer file ----------------------------------------------------
def test_llava_pope_question_file_passed_as_answers_is_refused_line_by_line(tmp_path, questions):
    """llava_pope_test.jsonl (question_id, image, text, category; no label) scored each
    question as a 'yes' (accuracy 0.5, F1 0.67, exit 0)."""
    rows = [{"question_id": i, "image": f"COCO_val2014_{i:012d}.jpg",
             "text": f"Is there a {obj} in the image?\nAnswer the question using a single word "
                     f"or phrase.", "category": "random"}
            for i, (obj, _) in enumerate(QUESTIONS, 1)]
    answers = _jsonl(tmp_path / "llava_pope_test.jsonl", rows)
    out = tmp_path / "o"
    res = runner.invoke(app, ["audit", str(answers), "--metric", "pope", "--questions",
                              str(questions), "--out", str(out), "--bootstrap", "0",
                              "--no-report", "-q"])
    assert res.exit_code == EXIT_USAGE, res.output
    data = json.loads((out / "results.json").read_text())
    assert data["metrics"]["pope"]["n"] == 0 and data["n_errors"] == 6
    assert {(e["field"], "a question, not an answer" in e["message"])
            for e in data["errors"]} == {("text", True)}


def test_llava_answer_files_score_with_text_as_the_answer(tmp_path, questions):
    """model_vqa_loader.py's answers: question_id, prompt (the question), text (the answer),
    answer_id, model_id, metadata. Yes/yes TP, No/no TN, No/yes FN, No/no TN -> 3/4."""
    answers = _jsonl(tmp_path / "llava_answers.jsonl", [
        {"question_id": i, "prompt": f"Is there a {QUESTIONS[i - 1][0]} in the image?\nAnswer "
                                     f"the question using a single word or phrase.",
         "text": text, "answer_id": f"id{i}", "model_id": "llava-v1.5-7b", "metadata": {}}
        for i, text in enumerate(["Yes", "No", "No", "No"], 1)])
    result = _pope_both(tmp_path, answers, questions, pope_align="id")
    assert _counts(result) == {"tp": 1, "fp": 0, "tn": 2, "fn": 1}
    assert result.metrics["pope"].results["accuracy"].value == pytest.approx(0.75)
    assert "model:llava-v1.5-7b" in result.metrics["pope"].groups


def test_a_detail_question_file_passed_as_captions_is_refused(tmp_path):
    """LLaVA's detail questions given to CHAIR: the prompt was scored as the caption
    (CHAIR_s 0.0, a perfect score, exit 0)."""
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"imid_to_objects": {"1": ["dog", "person"], "2": ["cat"]}}))
    questions = _jsonl(tmp_path / "detail.jsonl", [
        {"question_id": i, "image": f"COCO_val2014_{i:012d}.jpg",
         "text": "Describe this image in detail.", "category": "detail"} for i in (1, 2)])
    out = tmp_path / "o"
    res = runner.invoke(app, ["audit", str(questions), "--metric", "chair", "--gt-objects",
                              str(gt), "--out", str(out), "--bootstrap", "0", "--no-report",
                              "-q"])
    assert res.exit_code == EXIT_USAGE, res.output
    data = json.loads((out / "results.json").read_text())
    assert data["metrics"]["chair"]["chair_s"]["value"] is None
    assert [(e["line"], e["field"]) for e in data["errors"]] == [(1, "text"), (2, "text")]


# -- 3: a prompt's wording does not hide a record of the metric named ---------------------------
def test_pope_answers_in_chat_templates_are_scored_and_the_rest_listed(tmp_path, questions):
    """Answers whose prompts were read as free-form (``<image>\\n``, ``USER:``, a sentence
    before the question) were passed by: accuracy 1.0 over the 3 left. Now: lines 1-5 scored
    (No/yes FN, No/no TN, No/yes FN, No/no TN, Yes/yes TP: accuracy 3/5); line 6's id is in the
    question file but its prompt asks another question and line 7 asks a POPE question with an
    id the file lacks: bad records for a run that names pope; line 8 is another kind (passed
    by)."""
    answers = _jsonl(tmp_path / "a.jsonl", [
        {"question_id": 1, "prompt": "<image>\nIs there a dog in the image?", "text": "No"},
        {"question_id": 2, "prompt": "Is there a cat in the image?", "text": "No"},
        {"question_id": 3, "prompt": "USER: <image>\nIs there a person in the image? "
                                     "ASSISTANT:", "text": "No"},
        {"question_id": 4, "prompt": "Question: Is there a car in the image?", "text": "No"},
        {"question_id": 5, "prompt": "Look closely. Is there a bus in the image?",
         "text": "Yes"},
        {"question_id": 6, "prompt": "Look closely. What is on the couch?", "text": "A cat."},
        {"question_id": 99, "prompt": "Look closely. Is there a bus in the image?",
         "text": "No"},
        {"question_id": 98, "prompt": "What is unusual here?", "text": "Nothing."}])
    result = _pope_both(tmp_path, answers, questions)
    assert _counts(result) == {"tp": 1, "fp": 0, "tn": 2, "fn": 2}
    assert result.metrics["pope"].results["accuracy"].value == pytest.approx(3 / 5)
    assert [(e["line"], e["field"]) for e in result.errors] == [(6, "question"),
                                                               (7, "question_id")]
    assert "question_id 99 is not in question file" in result.errors[1]["message"]
    assert result.n_skipped == 1
    inferred = halluscope.audit(answers, questions=questions, n_boot=0, write_report=False)
    assert inferred.metrics["pope"].n == 5          # an inferred metric passes them by
    assert inferred.n_skipped == 3 and not inferred.errors


def test_a_caption_prompted_can_you_describe_is_a_chair_caption(tmp_path):
    """"Can you describe this image in detail?" read as a yes/no question: CHAIR passed the
    caption by (CHAIR_s 0.0 over the other). Caption 1 mentions dog, man (person), bench and
    surfboard, the last two not in image 1; caption 2 cat and bed, both there: CHAIR_s 1/2,
    CHAIR_i 2/6."""
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"imid_to_objects": {"1": ["dog", "person"],
                                                  "2": ["cat", "bed"]}}))
    captions = _jsonl(tmp_path / "caps.jsonl", [
        {"image_id": 1, "prompt": "Can you describe this image in detail?",
         "response": "A dog and a man on a bench next to a surfboard."},
        {"image_id": 2, "prompt": "Describe the image.", "response": "A cat sleeping on a bed."}])
    result = halluscope.audit(captions, metrics="chair", gt_objects=gt, n_boot=0,
                              chair_variant="original", write_report=False)
    chair = result.metrics["chair"].results
    assert chair["chair_s"].value == pytest.approx(0.5) and chair["chair_s"].n == 2
    assert chair["chair_i"].value == pytest.approx(2 / 6)
    assert result.n_skipped == 0 and not result.errors


# -- 7: a lone surrogate -------------------------------------------------------------------------
@pytest.mark.parametrize("name, text, line", [
    ("a.jsonl", '{"question_id": 1, "answer": "Yes"}\n{"question_id": 2, "answer": "No \\ud83d"}\n',
     2),
    ("a.json", '[\n{"question_id": 1, "answer": "Yes"},\n{"question_id": 2, "answer": '
               '"No \\udc00"}\n]\n', 3),
])
def test_a_lone_surrogate_is_one_bad_record_and_the_audit_goes_on(tmp_path, questions, name,
                                                                  text, line):
    """It stopped the audit with exit 3 (UnicodeEncodeError writing items.jsonl). Now: line
    ``line`` is a bad record, answer 1 (Yes/yes) is scored: accuracy 1/1, exit 0."""
    answers = tmp_path / name
    answers.write_text(text, encoding="utf-8")
    out = tmp_path / "o"
    res = runner.invoke(app, ["audit", str(answers), "--metric", "pope", "--questions",
                              str(questions), "--out", str(out), "--bootstrap", "0",
                              "--no-report", "-q"])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["metrics"]["pope"]["tp"]["value"] == 1 and data["metrics"]["pope"]["n"] == 1
    assert [(e["file"], e["line"], e["field"]) for e in data["errors"]] == [
        (str(answers), line, "answer")]
    items = (out / "items.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(items) == 2 and "lone surrogate" in json.loads(items[1])["error"]
