"""Scoring POPE answers line by line looks each answer's question up in the question file's
columns: it makes no Python object per question (a list of the file's ids, texts, lines, its
questions as objects, a dict of its id strings), which at a question per answer grew an audit's
memory by ~330 bytes an answer (100,000 -> 400,000 answers with one bad line: 178 -> 316 MiB)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from halluscope.errors import RecordError
from halluscope.metrics.pope import PopeMetric
from halluscope.metrics.pope_questions import NumberIds, load_questions
from halluscope.records import iter_records

PER_QUESTION = ("ids", "texts", "labels", "images", "splits", "lines", "questions")


def _jsonl(path, rows, blank_after=None):
    path.write_text("".join(json.dumps(r) + "\n" + ("\n" if i == blank_after else "")
                            for i, r in enumerate(rows)))
    return path


def _question_rows(n, ids=lambda i: i):
    return [{"question_id": ids(i), "image": f"{i // 6}.jpg", "label": "yes" if i % 3 else "no",
             "text": f"Is there a {('dog', 'cat', 'cup')[i % 3]} in the image?"}
            for i in range(1, n + 1)]


def _answers(tmp_path, questions):
    rows = [{"question_id": q["question_id"], "question": q["text"],
             "answer": ("Yes", "No", "Not sure.")[i % 3]} for i, q in enumerate(questions)]
    rows[3]["question"] = "Is there a giraffe in the image?"          # another question
    rows[4]["image"] = "elsewhere.jpg"                                 # another image
    rows[5]["label"] = "yes" if questions[5]["label"] == "no" else "no"   # another label
    rows[6]["question_id"] = 10 ** 9                                   # an unknown id
    rows[7]["question_id"] = f"{questions[7]['question_id']}.0"         # an id as a float
    path = _jsonl(tmp_path / "answers.jsonl", rows)
    with open(path, "a") as fh:
        fh.write("{not json\n")                       # the file is read line by line
    return path


@pytest.mark.parametrize("blank", [None, 10])      # question file read as columns / by line
def test_scoring_line_by_line_lists_nothing_per_question(tmp_path, blank):
    questions = _question_rows(600)
    qs_path = _jsonl(tmp_path / "coco_pope_random.json", questions, blank_after=blank)
    metric = PopeMetric(qs_path, n_boot=20)
    answers = _answers(tmp_path, questions)
    metric.begin([answers])
    errors = []
    for rec in iter_records(answers):
        if isinstance(rec, RecordError):
            continue
        try:
            metric.update(rec)
        except RecordError as exc:
            errors.append(exc.location.field)
    metric.finish()
    assert sorted(errors) == ["image", "label", "question", "question_id", "question_id"]
    assert metric.compute().results["accuracy"].n == 595
    held = [name for name in PER_QUESTION if name in vars(metric.questions)]
    assert held == [], f"the question file as Python lists: {held}"
    if blank is None:
        assert isinstance(metric.questions.by_id, NumberIds)


@pytest.mark.parametrize("ids", [lambda i: i, lambda i: f"q{i}", lambda i: 7 * (50 - i)])
@pytest.mark.parametrize("blank", [None, 3])
def test_a_question_looked_up_alone_is_the_one_in_the_lists(tmp_path, ids, blank):
    qs = load_questions(_jsonl(tmp_path / "coco_pope_popular.json",
                               _question_rows(40, ids), blank_after=blank))
    for i in [*range(len(qs)), -1, -len(qs)]:
        assert qs.question(i) == qs.questions[i] and qs.line(i) == qs.lines[i]
        for name in PER_QUESTION[:5]:
            assert qs.value(name, i) == getattr(qs, name)[i]
    for qid in qs.ids:
        assert qs.by_id.get(qid) == qs.ids.index(qid) and qid in qs.by_id


@pytest.mark.parametrize("order", ["ascending", "shuffled", "consecutive", "one"])
def test_number_ids_answer_as_a_dict_of_the_decimal_strings(order):
    rng = random.Random(1)
    numbers = sorted(rng.sample(range(-10 ** 6, 10 ** 6), 500)) + [2 ** 63 - 1, -2 ** 63]
    if order == "ascending":
        numbers = sorted(numbers)
    elif order == "shuffled":
        rng.shuffle(numbers)
    else:
        numbers = list(range(-3, 600)) if order == "consecutive" else [7]
    index, as_dict = NumberIds(np.array(numbers, dtype=np.int64)), \
        {str(n): i for i, n in enumerate(numbers)}
    asked = [str(n) for n in numbers] + [str(n + 1) for n in numbers[:50]]
    asked += ["07", "+7", " 7", "7 ", "7.0", "1_0", "\u0667", "", "-0", "0x10", "1e3",
              str(2 ** 63), str(-2 ** 63 - 1), "9" * 30, "nan"]
    asked += [f"0{n}" for n in numbers[:5]]
    for qid in asked:
        assert index.get(qid) == as_dict.get(qid), qid
        assert (qid in index) == (qid in as_dict), qid
    for other in (None, 7, 7.0, b"7"):
        assert index.get(other) is None and other not in index
    assert len(index) == len(as_dict)
    assert index == as_dict and as_dict == index and list(index) == list(as_dict)
    assert index[str(numbers[-1])] == len(numbers) - 1
    with pytest.raises(KeyError):
        index["07"]
