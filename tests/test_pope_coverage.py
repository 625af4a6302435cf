"""POPE answers against their question file: unanswered questions counted and said, answers
that disagree with their question (text, image, label) counted, a wrong question file refused,
answers nothing could check said. Both scoring paths (whole columns, line by line) agree."""

import json
import logging
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import EXIT_USAGE, app
from halluscope.errors import AlignmentError
from halluscope.metrics import pope_answers
from halluscope.metrics.pope import score_answers
from halluscope.metrics.pope_coverage import image_key

OBJECTS = ["dog", "cat", "car", "tie", "bear", "cup", "bus", "kite", "sink", "vase"]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _questions(tmp_path, n=10):
    """Question i (1..n) asks about OBJECTS[i-1] in image COCO_val2014_<i>.jpg; label yes for
    odd i."""
    return _jsonl(tmp_path / "q.jsonl", [
        {"question_id": i, "image": f"COCO_val2014_{i:012d}.jpg",
         "text": f"Is there a {OBJECTS[i - 1]} in the image?",
         "label": "yes" if i % 2 else "no"} for i in range(1, n + 1)])


def _right(i):
    return "Yes" if i % 2 else "No"


def _both(answers, questions, **kw):
    """score_answers as columns and line by line: the same result, which is returned."""
    fast = score_answers(answers, questions, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pope_answers, "_score_chunks", lambda *args: None)
        slow = score_answers(answers, questions, **kw)
    assert json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True)
    return fast


def test_image_key_reads_coco_ids_and_file_names():
    assert image_key("COCO_val2014_000000310196.jpg") == 310196
    assert image_key("/data/coco/val2014/COCO_val2014_000000310196.jpg") == 310196
    assert image_key("C:\\coco\\000000310196.jpg") == 310196
    assert image_key(310196) == 310196
    assert image_key("photos/a.png") == "a.png"
    assert image_key(None) is None and image_key("") is None


def test_unanswered_questions_are_counted_and_said(tmp_path, caplog):
    """Answers (with their questions) to questions 1-6 of 10: 4 unanswered; all 6 right."""
    q = _questions(tmp_path)
    a = _jsonl(tmp_path / "a.jsonl", [{"question_id": i, "prompt": f"Is there a {OBJECTS[i - 1]} "
                                       f"in the image?", "text": _right(i)} for i in range(1, 7)])
    with caplog.at_level(logging.WARNING):
        out = _both(a, q)
    assert out["metrics"]["n"] == 6 and out["metrics"]["accuracy"] == 1.0
    info = out["info"]
    assert (info["answered_questions"], info["unanswered_questions"],
            info["unchecked_answers"]) == (6, 4, 0)
    assert "4 of 10 questions of question file" in caplog.text
    assert "the scores are over the 6 answered questions only" in caplog.text
    assert "by question_id alone" not in caplog.text


def test_every_question_answered_says_zero_unanswered(tmp_path, caplog):
    q = _questions(tmp_path)
    a = _jsonl(tmp_path / "a.jsonl", [{"question_id": i, "image": f"COCO_val2014_{i:012d}.jpg",
                                       "text": _right(i)} for i in range(1, 11)])
    with caplog.at_level(logging.WARNING):
        out = _both(a, q)
    assert out["info"]["unanswered_questions"] == 0 and out["info"]["unchecked_answers"] == 0
    assert not out["errors"] and "have no scored answer" not in caplog.text


def test_answers_with_only_an_id_are_said_unchecked(tmp_path, caplog):
    """``{"question_id", "text"}``: nothing but the id pairs them; 10 of 10 answered."""
    q = _questions(tmp_path)
    a = _jsonl(tmp_path / "a.jsonl", [{"question_id": i, "text": _right(i)}
                                      for i in range(1, 11)])
    with caplog.at_level(logging.WARNING):
        out = _both(a, q)
    assert out["metrics"]["accuracy"] == 1.0
    assert out["info"]["unchecked_answers"] == 10 and out["info"]["unanswered_questions"] == 0
    assert "10 answers were aligned with question file" in caplog.text
    assert "by question_id alone" in caplog.text


def test_an_answer_naming_another_image_is_a_bad_record(tmp_path):
    """Answer 3 names image 4: misaligned, listed (field image), not scored; 9 scored."""
    q = _questions(tmp_path)
    rows = [{"question_id": i, "image": f"val2014/COCO_val2014_{i:012d}.jpg", "text": _right(i)}
            for i in range(1, 11)]
    rows[2]["image"] = "COCO_val2014_000000000004.jpg"
    out = _both(_jsonl(tmp_path / "a.jsonl", rows), q)
    assert out["metrics"]["n"] == 9
    assert [(e["line"], e["field"]) for e in out["errors"]] == [(3, "image")]
    assert "misaligned (aligned by id)" in out["errors"][0]["message"]
    assert out["info"]["image_mismatches"] == 1 and out["info"]["unanswered_questions"] == 1


def test_most_answers_disagreeing_with_their_questions_is_refused(tmp_path):
    """6 of 10 answers name the next question's image, or contradict its label: the wrong
    question file, refused (4 agreeing answers would be scored by chance)."""
    q = _questions(tmp_path)
    rows = [{"question_id": i, "image": f"COCO_val2014_{i:012d}.jpg", "answer": _right(i)}
            for i in range(1, 11)]
    for i in range(4):
        rows[i]["image"] = f"COCO_val2014_{i + 2:012d}.jpg"
    for i in (4, 5):
        rows[i]["label"] = "no" if (i + 1) % 2 else "yes"      # the opposite of the file's
    a = _jsonl(tmp_path / "a.jsonl", rows)
    for columns in (True, False):
        with pytest.MonkeyPatch.context() as mp:
            if not columns:
                mp.setattr(pope_answers, "_score_chunks", lambda *args: None)
            with pytest.raises(AlignmentError) as err:
                score_answers(a, q)
        assert "6 of 10 answers disagree with what" in str(err.value)
        assert "(image 4, label 2)" in str(err.value)
    # half or fewer: scored, each listed (a few bad lines in a right file)
    out = _both(_jsonl(tmp_path / "b.jsonl", rows[2:]), q)
    assert out["metrics"]["n"] == 4 and out["info"]["image_mismatches"] == 2
    assert out["info"]["label_conflicts"] == 2


def _data() -> Path | None:
    env = os.environ.get("HALLUSCOPE_SHARED_DATA")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return path if (path / "pope" / "coco" / "v1").is_dir() else None


DATA = _data()
shared = pytest.mark.skipif(DATA is None, reason="shared POPE data not found")


def _v1_answers(tmp_path, fields=("question_id",)):
    """Perfect answers to POPE v1 random (2,910), carrying ``fields`` of their question."""
    rows = [json.loads(line) for line in
            (DATA / "pope/coco/v1/coco_pope_random.json").read_text().splitlines() if line]
    return _jsonl(tmp_path / "v1_answers.jsonl", [
        {**{k: r[k] for k in fields}, "text": r["label"].title()} for r in rows])


@shared
def test_v1_answers_carrying_only_ids_are_refused_against_v3(tmp_path):
    """The hunt's case: perfect v1 answers as {question_id, text} against v3 scored 0.513
    without a word. They answer exactly v3's first 2,910 ids, v1's size, with nothing to check
    them by: refused under auto; --pope-align id scores them, saying so."""
    a, v1 = _v1_answers(tmp_path), DATA / "pope/coco/v1/coco_pope_random.json"
    v3 = DATA / "pope/coco/v3/coco_pope_random.json"
    with pytest.raises(AlignmentError) as err:
        score_answers(a, v3)
    msg = str(err.value)
    assert "answer exactly the first 2,910 questions" in msg and "--pope-align id" in msg
    right = score_answers(a, v1)
    assert right["metrics"]["accuracy"] == 1.0 and right["info"]["unanswered_questions"] == 0
    forced = score_answers(a, v3, align="id")
    assert forced["info"]["unanswered_questions"] == 90
    assert forced["info"]["unchecked_answers"] == 2910
    out = CliRunner().invoke(app, ["audit", str(a), "--metric", "pope", "--questions", str(v3),
                                   "--out", str(tmp_path / "o"), "-q", "--bootstrap", "0"])
    assert out.exit_code == EXIT_USAGE and "2,910 questions" in out.output


@shared
def test_v1_answers_carrying_their_image_are_refused_against_v3(tmp_path):
    """The same answers carrying their image: 2,858 of 2,910 name another image in v3."""
    a = _v1_answers(tmp_path, ("question_id", "image"))
    with pytest.raises(AlignmentError) as err:
        score_answers(a, DATA / "pope/coco/v3/coco_pope_random.json")
    assert "2,858 of 2,910 answers disagree" in str(err.value)


@shared
def test_half_the_questions_answered_is_said_in_results_and_run_sheet(tmp_path, caplog):
    """The hunt's #8: the first 1,500 answers of a_clean against v3: 1,500 unanswered."""
    half = tmp_path / "half.jsonl"
    lines = (DATA / "pope/answers/coco_pope_random__a_clean.jsonl").read_text().splitlines()
    half.write_text("\n".join(lines[:1500]) + "\n")
    with caplog.at_level(logging.WARNING):
        result = halluscope.audit(half, metrics="pope", n_boot=0, out=tmp_path / "o",
                                  questions=DATA / "pope/coco/v3/coco_pope_random.json",
                                  write_report=False)
    assert result.metrics["pope"].n == 1500
    assert "1,500 of 3,000 questions" in caplog.text
    saved = json.loads((tmp_path / "o" / "results.json").read_text())
    assert saved["metrics"]["pope"]["info"]["unanswered_questions"] == 1500
    sheet = json.loads((tmp_path / "o" / "runsheet.json").read_text())
    assert sheet["metrics"]["pope"]["unanswered_questions"] == 1500
    assert sheet["metrics"]["pope"]["answered_questions"] == 1500
