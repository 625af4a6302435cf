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
from test_question_align import nlp  # noqa: F401 - the spaCy pipeline fixture, shared


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


def test_mmhal_answer_lines_without_a_template_say_what_is_missing(tmp_path):
    """RLAIF-V's answer lines (``question_id``, ``answer``: its ``--is_jsonl`` input) carry no
    question; audited without ``--option mmhal_template`` they were skipped as "not a mmhal
    item (caption record)", which did not say that the template is what is missing."""
    path = _jsonl(tmp_path / "a.jsonl", [{"question_id": 0, "answer": "A red cap."},
                                         {"question_id": 1, "answer": "Two."}])
    metric = MMHalMetric(judge=_SixJudge(), n_boot=0)
    result = halluscope.audit(path, metrics=[metric], out=tmp_path / "o", write_report=False)
    why = str(result.unscored["mmhal"])
    assert "pass --option mmhal_template=PATH" in why and "not a mmhal item" not in why


# -- Object HalBench ----------------------------------------------------------------------------
OBJ_QUESTIONS = [{"image_id": 1, "question": "Describe the image."},
                 {"image_id": 2, "question": "What is this photo about?"},
                 {"image_id": 3, "question": "Describe the picture."}]
OBJ_GT = {1: ["dog"], 2: ["cat"], 3: ["person"]}


def _objhal(tmp_path: Path, judged: bool = True):
    """An Object HalBench metric over OBJ_QUESTIONS whose extractor takes every word of the
    answer as a phrase; ``judged``: it stands in for the judge (remembers the questions)."""
    from halluscope.metrics.objhal import (JudgeExtractor, ObjhalMetric, ObjhalVocabulary,
                                           load_question_file)

    class FakeJudge(JudgeExtractor):
        def __post_init__(self):
            self.asked: list[str] = []

        def __call__(self, question, answer):
            self.asked.append(question)
            return [w.strip(".").lower() for w in answer.split()], []

        def describe(self):
            return {"extractor_stub": "fake"}

    def rules(question, answer):
        return [w.strip(".").lower() for w in answer.split()], []
    vocab = ObjhalVocabulary.from_lines(["dog", "cat", "person, man"], "test")
    ids, rows = load_question_file(_jsonl(tmp_path / "q.jsonl", OBJ_QUESTIONS))
    return ObjhalMetric(OBJ_GT, extractor=FakeJudge(judge=None) if judged else rules,
                        question_image_ids=ids, question_rows=rows, vocabulary=vocab,
                        variant="original", n_boot=0)


def test_objhal_answer_without_prompt_is_judged_with_its_question_rows_text(tmp_path, nlp):
    """{"question_id", "text"} answers: the judge is shown the paired question file row's
    question (it was shown an empty one); an answer with its own prompt keeps it."""
    metric = _objhal(tmp_path)
    path = _jsonl(tmp_path / "a.jsonl", [
        {"question_id": 1, "text": "A cat and a dog sit on the sofa together."},
        {"question_id": 0, "prompt": "Describe the image.", "text": "A dog lies on the grass."}])
    assert _errors(metric, path) == []
    assert metric.extractor.asked == ["What is this photo about?", "Describe the image."]
    # by hand: answer 1 names cat (truth) and dog (not on image 2): hallucinated; answer 2 not
    assert metric.compute().results["chairs"].value == pytest.approx(1 / 2)


def test_objhal_answer_without_any_question_is_a_bad_record(tmp_path, nlp):
    """An answer with its own image_id (no question file row) and no prompt: nothing to show
    the judge as the question, so a bad record on 'prompt'; the rule-based extractor, which
    reads the answer alone, still scores it."""
    path = _jsonl(tmp_path / "a.jsonl", [
        {"image_id": 1, "text": "A dog lies on the grass next to the fence."},
        {"image_id": 2, "prompt": "Describe.", "text": "A cat sleeps on the warm sofa."}])
    metric = _objhal(tmp_path)
    assert _errors(metric, path) == [("a.jsonl", 1, "prompt")]
    assert metric.extractor.asked == ["Describe."]
    rules = _objhal(tmp_path, judged=False)
    assert _errors(rules, path) == []
    assert rules.compute().results["chairs"].n == 2


# -- repeated and never-answered questions ------------------------------------------------------
@pytest.mark.parametrize("variant", ["original", "refined"])
def test_mmhal_repeated_and_unanswered_questions_are_counted_and_said(tmp_path, variant, caplog):
    """Three template rows; answers to question_id 0, 1 and 1 again (3 lines, as many as rows):
    row 1 is scored twice (as the original scores every line) and counted, row 2 is never
    answered and counted; the original variant's check counts distinct questions, not lines."""
    template = [_row(0), _row(1), _row(2)]
    path = _jsonl(tmp_path / "a.jsonl", [{"question_id": 0, "answer": "Thing 0."},
                                         {"question_id": 1, "answer": "Thing 1."},
                                         {"question_id": 1, "answer": "Thing 1 again."}])
    metric = MMHalMetric(judge=_SixJudge(), template=template, variant=variant, n_boot=0)
    with caplog.at_level(logging.WARNING, logger="halluscope.metrics"):
        result = halluscope.audit(path, metrics=[metric], out=tmp_path / "o",
                                  write_report=False)
    info = result.runsheet["metrics"]["mmhal"]
    assert result.metrics["mmhal"].results["rated"].value == 3
    assert info["repeated_answers"] == 1
    assert (info["unanswered"], info["unanswered_first"]) == (1, [2])
    assert "mmhal: 1 answer repeats a template row already answered" in caplog.text
    assert "mmhal: 1 of the 3 questions never answered" in caplog.text
    if variant == "original":
        assert info["warning"].endswith("got 3 records answering 2 distinct questions")
    else:
        assert "warning" not in info


def test_mmhal_original_96_lines_with_a_repeat_is_not_96_questions(tmp_path):
    """The original asserts 96 rows in template order: 96 lines where question 4 comes twice and
    question 5 never is not that (the check counted lines)."""
    metric = MMHalMetric(judge=_SixJudge(), template=[_row(i) for i in range(96)],
                         variant="original", n_boot=0)
    ids = list(range(5)) + [4] + list(range(6, 96))
    path = _jsonl(tmp_path / "a.jsonl", [{"question_id": i, "answer": f"Thing {i}."}
                                         for i in ids])
    result = halluscope.audit(path, metrics=[metric], out=tmp_path / "o", write_report=False)
    info = result.runsheet["metrics"]["mmhal"]
    assert (info["repeated_answers"], info["unanswered_first"]) == (1, [5])
    assert info["warning"].endswith("got 96 records answering 95 distinct questions")


def test_mmhal_clean_run_says_nothing(tmp_path):
    metric = MMHalMetric(judge=_SixJudge(), template=[_row(0), _row(1)], n_boot=0)
    path = _jsonl(tmp_path / "a.jsonl", [{"question_id": 1, "answer": "Thing 1."},
                                         {"question_id": 0, "answer": "Thing 0."}])
    info = halluscope.audit(path, metrics=[metric], out=tmp_path / "o",
                            write_report=False).runsheet["metrics"]["mmhal"]
    assert not {"repeated_answers", "unanswered", "warning"} & set(info)


def test_objhal_repeated_and_unanswered_questions_are_counted_and_said(tmp_path, nlp, caplog):
    """Answers to question rows 0, 0 and 1 of three: row 0 is scored twice and counted, row 2
    never answered and counted."""
    path = _jsonl(tmp_path / "a.jsonl", [
        {"question_id": 0, "text": "A dog lies on the grass."},
        {"question_id": 0, "text": "A dog and a cat lie on the grass."},
        {"question_id": 1, "text": "A cat sleeps on the sofa."}])
    metric = _objhal(tmp_path)
    with caplog.at_level(logging.WARNING, logger="halluscope.metrics"):
        result = halluscope.audit(path, metrics=[metric], out=tmp_path / "o",
                                  write_report=False)
    info = result.runsheet["metrics"]["objhal"]
    # by hand: answer 2 names a cat on image 1 (truth: dog): 1 of 3 answers hallucinates
    assert result.metrics["objhal"].results["chairs"].value == pytest.approx(1 / 3)
    assert (info["repeated_answers"], info["unanswered"], info["unanswered_first"]) == (1, 1, [2])
    assert "objhal: 1 answer repeats a question already answered" in caplog.text
    assert "objhal: 1 of the 3 questions never answered" in caplog.text


def test_objhal_answers_with_their_own_image_ids_are_paired_with_the_questions_by_it(
        tmp_path, nlp):
    """Answers that carry their image are paired with the question file's row for that image
    (they were left unpaired, and ``unanswered`` had no value however many rows no answer
    answered): one answer for image 1 of three rows leaves rows 1 and 2 unanswered."""
    path = _jsonl(tmp_path / "a.jsonl", [
        {"image_id": 1, "prompt": "Describe.", "text": "A dog lies on the grass."}])
    result = halluscope.audit(path, metrics=[_objhal(tmp_path)], out=tmp_path / "o",
                              write_report=False)
    info = result.runsheet["metrics"]["objhal"]
    assert "repeated_answers" not in info
    assert (info["unanswered"], info["unanswered_first"]) == (2, [1, 2])
    assert (result.metrics["objhal"].results["unanswered"].value,
            result.metrics["objhal"].results["unanswered"].n) == (2, 3)
