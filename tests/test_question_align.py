"""Answers are paired with their questions by question_id where they carry one, by position only
when the counts agree, and an answer that repeats another question is a bad record (Object
HalBench and MMHal-Bench paired the i-th answer with the i-th question: one missing line moved
every later answer onto the previous question, without a word)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from halluscope.errors import AlignmentError, RecordError
from halluscope.records import iter_records


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


QUESTIONS = [{"image_id": 1, "question": "Describe the image."},
             {"image_id": 2, "question": "What is this photo about?"},
             {"image_id": 3, "question": "Describe the picture."}]
GT = {1: ["dog"], 2: ["cat"], 3: ["person"]}


def _objhal(tmp_path: Path):
    from halluscope.metrics.objhal import ObjhalMetric, ObjhalVocabulary, load_question_file
    vocab = ObjhalVocabulary.from_lines(["dog", "cat", "person, man"], "test")

    def extract(question, answer):              # every word of the answer is a phrase
        return [w.strip(".").lower() for w in answer.split()], []
    ids, rows = load_question_file(_jsonl(tmp_path / "q.jsonl", QUESTIONS))
    return ObjhalMetric(GT, extractor=extract, question_image_ids=ids, question_rows=rows,
                        vocabulary=vocab, n_boot=0)


def _run(metric, path: Path):
    """(payloads of the scored answers, errors as (line, field, message))."""
    metric.begin([path])
    scored, errors = [], []
    for rec in iter_records(path):
        try:
            scored.append(metric.update(rec).payload)
        except RecordError as exc:
            errors.append((exc.location.line, exc.location.field, exc.message))
    return scored, errors


@pytest.fixture
def nlp():
    from halluscope.metrics.objhal import _nlp
    try:
        return _nlp()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no spaCy English pipeline: {exc}")


def test_objhal_pairs_answers_by_question_id_when_a_line_is_missing(tmp_path, nlp):
    # question 1 (image 2) got no answer: answer 0 is about image 1 (a dog, true), answer 2
    # about image 3 (a man: person, true). By position the second answer went to image 2,
    # whose truth is a cat: "man" was a hallucinated person.
    path = _jsonl(tmp_path / "a.jsonl", [
        {"question_id": 0, "prompt": "Describe the image.", "text": "A dog."},
        {"question_id": 2, "prompt": "Describe the picture.", "text": "A man."}])
    metric = _objhal(tmp_path)
    scored, errors = _run(metric, path)
    assert errors == []
    assert [p["image_id"] for p in scored] == [1, 3]
    assert [p["hallucinated"] for p in scored] == [[], []]
    assert metric.compute().results["chairi"].value == 0.0


def test_objhal_refuses_a_count_mismatch_by_position(tmp_path, nlp):
    path = _jsonl(tmp_path / "a.jsonl", [{"text": "A dog."}, {"text": "A man."}])
    with pytest.raises(AlignmentError, match="has 2 answers without question_id but .* has 3"):
        _objhal(tmp_path).begin([path])


def test_objhal_answer_asking_another_question_is_a_bad_record(tmp_path, nlp):
    # the second answer says question_id 1 but repeats question 2's text: the file is
    # misaligned, so it is listed, not scored against image 2; an answer without question_id in
    # a file whose answers carry one is listed too
    path = _jsonl(tmp_path / "a.jsonl", [
        {"question_id": 0, "prompt": "Describe the image.", "text": "A dog."},
        {"question_id": 1, "prompt": "Describe the picture.", "text": "A man."},
        {"prompt": "Describe the picture.", "text": "A man."},
        {"question_id": 7, "text": "A cat."}])
    scored, errors = _run(_objhal(tmp_path), path)
    assert [p["image_id"] for p in scored] == [1]
    assert [(line, field) for line, field, _ in errors] == [
        (2, "prompt"), (3, "question_id"), (4, "question_id")]
    assert "expected the question 'What is this photo about?'" in errors[0][2]
    assert "got 'Describe the picture.'" in errors[0][2]
    assert "expected a question_id from 0 to 2" in errors[2][2]


def test_objhal_by_position_with_equal_counts_still_checks_the_prompt(tmp_path, nlp):
    path = _jsonl(tmp_path / "a.jsonl", [
        {"prompt": "Describe the image.", "text": "A dog."},
        {"prompt": "What is this photo about?", "text": "A cat."},
        {"prompt": "Describe the image.", "text": "A man."}])
    scored, errors = _run(_objhal(tmp_path), path)
    assert [p["image_id"] for p in scored] == [1, 2]
    assert [(line, field) for line, field, _ in errors] == [(3, "prompt")]


class _EchoJudge:
    """Rates each answer 6 when it is the template's standard answer to the question asked, 0
    otherwise, and remembers the questions it was asked."""

    def __init__(self, template):
        from halluscope.judges.reliability import JudgeStats
        self.stats = JudgeStats()
        self.gt = {row["question"]: row["gt_answer"] for row in template}
        self.asked: list[str] = []

    def ask_sync(self, use, **values):
        from halluscope.judges.judge import JudgeAnswer
        self.asked.append(values["question"])
        rating = 6 if self.gt[values["question"]] == values["response"] else 0
        return JudgeAnswer(rating, f"Rating: {rating}", True)

    def describe(self):
        return {"name": "echo"}

    def close(self):
        pass


TEMPLATE = [{"question_type": t, "question": f"What is thing {i}?", "gt_answer": f"Thing {i}.",
             "image_content": [f"thing {i}"]}
            for i, t in enumerate(("attribute", "adversarial", "comparison"))]


@pytest.mark.parametrize("variant", ["original", "refined"])
def test_mmhal_swapped_lines_are_judged_against_their_own_questions(tmp_path, variant):
    from halluscope.metrics.mmhal import MMHalMetric
    path = _jsonl(tmp_path / "a.jsonl", [{"question_id": 1, "answer": "Thing 1."},
                                         {"question_id": 0, "answer": "Thing 0."},
                                         {"question_id": 2, "answer": "Assistant: Thing 2."}])
    judge = _EchoJudge(TEMPLATE)
    metric = MMHalMetric(judge=judge, template=TEMPLATE, variant=variant, n_boot=0)
    scored, errors = _run(metric, path)
    assert errors == []
    assert judge.asked == ["What is thing 1?", "What is thing 0?", "What is thing 2?"]
    # by position the first two were rated 0 (each the other's answer): average 2, not 6
    assert [(p["index"], p["question_type"], p["rating"]) for p in scored] == [
        (1, "adversarial", 6), (0, "attribute", 6), (2, "comparison", 6)]
    assert metric.compute().results["average_score"].value == 6.0


def test_mmhal_refuses_fewer_lines_than_rows_by_position_and_checks_the_question(tmp_path):
    from halluscope.metrics.mmhal import MMHalMetric
    metric = MMHalMetric(judge=_EchoJudge(TEMPLATE), template=TEMPLATE, n_boot=0)
    short = _jsonl(tmp_path / "short.jsonl", [{"answer": "Thing 0."}, {"answer": "Thing 2."}])
    with pytest.raises(AlignmentError, match="has 2 answers without question_id but the "
                                             "MMHal-Bench template has 3"):
        metric.begin([short])
    judge = _EchoJudge(TEMPLATE)
    metric = MMHalMetric(judge=judge, template=TEMPLATE, n_boot=0)
    path = _jsonl(tmp_path / "a.jsonl", [
        {"question_id": 0, "question": "What is thing 0?", "answer": "Thing 0."},
        {"question_id": 1, "question": "What is thing 2?", "answer": "Thing 2."},
        {"question_id": 5, "answer": "Thing 5."}])
    scored, errors = _run(metric, path)
    assert [p["index"] for p in scored] == [0] and judge.asked == ["What is thing 0?"]
    assert [(line, field) for line, field, _ in errors] == [(2, "prompt"), (3, "question_id")]
    assert "expected the question 'What is thing 1?'" in errors[0][2]


def test_a_table_row_without_question_id_in_a_table_with_the_column_is_refused(tmp_path):
    """A CSV of answers with a question_id column pairs by id; its row without one is a bad
    record (begin read tables as JSON, learnt nothing, and the row was paired by position)."""
    from halluscope.metrics.objhal import load_question_file
    from halluscope.metrics.question_align import RowAligner
    from halluscope.readers import iter_input_records
    _, rows = load_question_file(_jsonl(tmp_path / "q.jsonl", QUESTIONS))
    path = tmp_path / "a.csv"
    path.write_text("question_id,prompt,response\n0,Describe the image.,A dog.\n"
                    ",What is this photo about?,A cat.\n2,Describe the picture.,A man.\n")
    aligner = RowAligner(rows, "the question file")
    aligner.begin([path])
    out = []
    for rec in iter_input_records(path):
        try:
            out.append(aligner.index(rec))
        except RecordError as exc:
            out.append(exc.location.field)
    assert out == [(0, "id"), "question_id", (2, "id")]
