"""Records: peer formats, COCO ids, line-numbered errors, streaming."""

import gzip
import json

import pytest

from halluscope.errors import RecordError
from halluscope.records import coco_image_id, iter_records, read_records, record_from_dict


@pytest.mark.parametrize("value, expected", [
    (139, 139), ("139", 139), ("000000000139.jpg", 139), ("COCO_val2014_000000000139.jpg", 139),
    ("COCO_train2014_000000581929.jpg", 581929), ("val2014/COCO_val2014_000000000042.png", 42),
    ("astronaut.jpg", None), (-3, None), (True, None), (None, None), (1.5, None),
])
def test_coco_image_id_forms(value, expected):
    assert coco_image_id(value) == expected


def test_opera_caption_log():
    rec = record_from_dict({"image_id": 226988, "caption": "A woman at a table."}, line=1)
    assert (rec.id, rec.image_id, rec.task, rec.response) == ("226988", 226988, "caption",
                                                              "A woman at a table.")


def test_llava_answer_file():
    rec = record_from_dict({"question_id": 7, "image_id": "000000002239.jpg", "prompt": "Describe.",
                            "text": "A dog.", "answer_id": "x", "model_id": "llava"}, line=3)
    assert rec.id == "7" and rec.question_id == "7"
    assert rec.image_id == 2239 and rec.image == "000000002239.jpg"
    assert rec.response == "A dog." and rec.prompt == "Describe." and rec.model == "llava"
    assert rec.metadata == {"answer_id": "x"}


def test_pope_question_file_line_is_a_question():
    rec = record_from_dict({"question_id": 1, "image": "COCO_val2014_000000310196.jpg",
                            "text": "Is there a snowboard in the image?", "label": "yes"},
                           require_response=False)
    assert rec.task == "yes-no" and rec.prompt.startswith("Is there") and rec.response is None
    assert rec.label == "yes" and rec.image_id == 310196


def test_pope_answer_files():
    a = record_from_dict({"question": "Is there a car in the image?", "answer": "No"})
    assert (a.task, a.prompt, a.response) == ("yes-no", "Is there a car in the image?", "No")
    b = record_from_dict({"question_id": 2, "text": "Yes, there is."})
    assert b.response == "Yes, there is." and b.id == "2"


def test_task_inference_and_explicit_task():
    assert record_from_dict({"prompt": "What colour is the bus?", "response": "Red"}).task == "vqa"
    assert record_from_dict({"prompt": "Are there two dogs?", "response": "No"}).task == "yes-no"
    assert record_from_dict({"response": "A cat."}).task == "caption"
    with pytest.raises(RecordError) as exc:
        record_from_dict({"task": "poem", "response": "x"}, file="f.jsonl", line=4)
    assert exc.value.location.field == "task" and "f.jsonl:4" in str(exc.value)


@pytest.mark.parametrize("obj, field", [
    ({"image_id": 1}, "response"),
    ({"image_id": 1, "caption": 5}, "caption"),
    ({"image_id": [1], "caption": "x"}, "image_id"),
    ({"label": "maybe", "text": "Is it?"}, "label"),
    ({"image": 3, "response": "x"}, "image"),
    ({"image_id": 1, "caption": "x", "metadata": "a note"}, "metadata"),   # was dropped unsaid
    ({"image_id": 1, "caption": "x", "metadata": ["a"]}, "metadata"),
])
def test_errors_name_the_field(obj, field):
    with pytest.raises(RecordError) as exc:
        record_from_dict(obj, file="out.jsonl", line=12)
    assert exc.value.location.field == field
    assert str(exc.value).startswith(f"out.jsonl:12: field '{field}'")


def test_stream_reports_bad_lines_and_keeps_the_rest(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"image_id": 1, "caption": "a"}\n\n{"image_id": 2, "caption": \n'
                    '[1, 2]\n{"image_id": 3}\n{"image_id": 4, "caption": "d"}\n')
    items = list(iter_records(path))
    assert [type(i).__name__ for i in items] == ["Record", "RecordError", "RecordError",
                                                   "RecordError", "Record"]
    assert [i.location.line for i in items if isinstance(i, RecordError)] == [3, 4, 5]
    assert items[-1].source.line == 6
    with pytest.raises(RecordError):
        read_records(path)
    assert [r.image_id for r in read_records(path, strict=False)] == [1, 4]


def test_gzip_and_json_array(tmp_path):
    gz = tmp_path / "out.jsonl.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(json.dumps({"image_id": 5, "caption": "x"}) + "\n")
    assert read_records(gz)[0].image_id == 5
    arr = tmp_path / "out.json"
    arr.write_text(json.dumps([{"image_id": 6, "caption": "y"}, {"image_id": 7, "caption": "z"}]))
    assert [r.image_id for r in read_records(arr)] == [6, 7]


def test_image_path_is_relative_to_the_file(tmp_path):
    path = tmp_path / "sub" / "out.jsonl"
    path.parent.mkdir()
    path.write_text(json.dumps({"id": "a", "image": "img/x.jpg", "response": "r"}) + "\n")
    rec = read_records(path)[0]
    assert rec.image_path() == tmp_path / "sub" / "img" / "x.jpg"
    assert record_from_dict({"image": "http://x/y.jpg", "response": "r"}).image_path() is None


@pytest.mark.parametrize("recursion_limit", [None, 50_000])
def test_a_line_nested_too_deep_is_one_bad_record(tmp_path, recursion_limit):
    """A line nested 2,000 brackets deep (an extra field) made json raise RecursionError and
    abort the audit (exit 3); it is one bad record naming its line, the others are read, in
    JSON lines and in a JSON array (found by a bug hunt). The same where a library raised the
    interpreter's recursion limit (the full suite's workers: json then read the line)."""
    import sys
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(recursion_limit or 1000)      # the interpreter's default, or raised
    try:
        _read_too_deep(tmp_path, array=recursion_limit is None)
    finally:
        sys.setrecursionlimit(before)


def _read_too_deep(tmp_path, array: bool):
    deep = "[" * 2000 + "]" * 2000
    lines = tmp_path / "a.jsonl"
    lines.write_text('{"id": "a", "response": "Yes"}\n'
                     f'{{"id": "b", "response": "No", "meta": {deep}}}\n'
                     '{"id": "c", "response": "No"}\n')
    out = list(iter_records(lines))
    assert [r.id for r in out if not isinstance(r, RecordError)] == ["a", "c"]
    err = out[1]
    assert isinstance(err, RecordError) and err.location.line == 2
    assert "nested at most about 1,000 brackets deep" in err.message
    if not array:       # a JSON array's elements go to json, which reads them deeper then
        return
    array = tmp_path / "a.json"
    array.write_text(f'[{{"id": "a", "response": "Yes"}},\n {{"id": "b", "meta": {deep}}}]')
    out = list(iter_records(array))
    assert out[0].id == "a" and isinstance(out[1], RecordError)
    assert "nested at most" in out[1].message and out[1].location.line == 2


def test_a_vlmevalkit_row_reads_answer_as_the_truth_and_index_as_the_id():
    """A VLMEvalKit row without 'prediction' took its 'answer' (the truth) for the model's
    answer, and its id was the line number where VLMEvalKit's tables give the index."""
    row = {"index": "VD_figure_1_0_0_0", "question": "q?", "answer": "Yes"}
    asked = record_from_dict(row, file="vk.jsonl", line=4, require_response=False)
    assert (asked.id, asked.response, asked.label, asked.prompt) == (
        "VD_figure_1_0_0_0", None, "yes", "q?")
    with pytest.raises(RecordError, match="in 'prediction' beside 'index' and 'answer'") as err:
        record_from_dict(row, file="vk.jsonl", line=4)
    assert (err.value.location.field, err.value.record_id) == ("prediction", "VD_figure_1_0_0_0")
    answered = record_from_dict({**row, "index": 7, "answer": "1?", "prediction": "No"})
    assert (answered.id, answered.response, answered.label, answered.metadata["answer"]) == (
        "7", "No", None, "1?")
    assert not answered.id_from_line
    pope = record_from_dict({"question_id": 3, "answer": "yes"})       # POPE's answer files
    assert pope.response == "yes"


# -- a null answer field is no answer; the truth beside it is never read in its place -----------
@pytest.mark.parametrize("obj, field", [
    ({"question_id": 2, "question": "Is there a car?", "answer": "no", "response": None},
     "response"),
    ({"question": "Is there a car?", "answer": "Yes", "prediction": None}, "prediction"),
    ({"index": 4, "question": "Is there a car?", "answer": "Yes", "prediction": None},
     "prediction"),
    ({"question": "q?", "answer": "No", "model_prediction": None}, "model_prediction"),
    ({"question": "q?", "answer": "No", "model_answer": None}, "model_answer"),
    ({"image_id": 139, "caption": None, "answer": "A dog."}, "caption"),
    ({"question_id": 3, "prompt": "Describe.", "response": None, "text": "A dog."}, "response"),
    ({"question_id": 3, "answer": None}, "answer"),
    ({"question_id": 3, "prompt": "Describe.", "text": None}, "text"),
])
def test_a_null_answer_field_is_a_bad_record_naming_it_not_the_truth_beside_it(obj, field):
    """``"response": null`` beside ``"answer": "no"`` scored the truth ('no') as the model's
    answer: a present but null answer field is the line's answer, and it has none."""
    with pytest.raises(RecordError, match=f"expected the model's answer in '{field}', got "
                                          "null") as err:
        record_from_dict(obj, file="a.jsonl", line=2)
    assert (err.value.location.field, err.value.location.line) == (field, 2)
    if "answer" in obj and field != "answer":
        assert "(not read in its place: 'answer' beside it)" in err.value.message
    asked = record_from_dict(obj, require_response=False)      # a prompt still, for `query`
    assert asked.response is None


def test_the_answer_field_of_pope_answer_files_is_still_the_answer():
    """POPE's ``{"question_id", "answer"}`` (and evaluate.py's ``{"question", "answer"}``) hold
    the model's answer in 'answer' when no answer field is there; an empty answer is an answer
    (each metric reads it by its rule), never replaced by the truth."""
    assert record_from_dict({"question_id": 1, "answer": "No"}).response == "No"
    assert record_from_dict({"question": "Is there a dog?", "answer": "Yes"}).response == "Yes"
    empty = record_from_dict({"question": "Is there a dog?", "answer": "yes", "prediction": ""})
    assert (empty.response, empty.label) == ("", "yes")         # 'answer' beside it: the truth


# -- a question is not an answer ----------------------------------------------------------------
LLAVA_POPE_QUESTION = {"question_id": 1, "image": "COCO_val2014_000000310196.jpg",
                       "text": "Is there a snowboard in the image?\nAnswer the question using a "
                               "single word or phrase.", "category": "random"}
LLAVA_DETAIL_QUESTION = {"question_id": 0, "image": "COCO_val2014_000000000139.jpg",
                         "text": "Describe this image in detail.", "category": "detail"}


@pytest.mark.parametrize("obj", [LLAVA_POPE_QUESTION, LLAVA_DETAIL_QUESTION,
                                 {"question_id": 5, "text": "Why?", "category": "conv"}])
def test_a_llava_question_line_is_refused_as_a_question_not_an_answer(obj):
    """LLaVA's question files (llava_pope_test.jsonl, the detail-description questions:
    question_id, image, text, category) read as answers scored each question as the model's
    answer (POPE accuracy 0.5, CHAIR_s 0.0); the question is the prompt of a line to ask."""
    with pytest.raises(RecordError, match="got a question, not an answer") as err:
        record_from_dict(obj, file="llava_pope_test.jsonl", line=1)
    assert err.value.location.field == "text" and err.value.record_id == str(obj["question_id"])
    asked = record_from_dict(obj, require_response=False)
    assert (asked.prompt, asked.response) == (obj["text"], None)
    assert asked.metadata == {"category": obj["category"]}


@pytest.mark.parametrize("obj", [
    # model_vqa_loader.py / model_vqa.py: the prompt is the question, 'text' the answer
    {"question_id": 1, "prompt": "Is there a snowboard in the image?", "text": "Yes",
     "answer_id": "a1", "model_id": "llava-v1.5-7b", "metadata": {}},
    {"question_id": 1, "text": "Yes", "answer_id": "a1", "model_id": "m", "category": "random"},
    {"question_id": 1, "image": "a.jpg", "text": "Yes", "model": "m", "category": "random"},
    {"question_id": 1, "prompt": "Describe.", "text": "Yes", "category": "detail"},
    {"question_id": 1, "image": "a.jpg", "text": "Yes"},         # no category: an answer
])
def test_llava_answer_lines_keep_text_as_the_answer(obj):
    assert record_from_dict(obj).response == "Yes"


# -- whether a prompt asks a yes/no question -----------------------------------------------------
@pytest.mark.parametrize("prompt, yes_no", [
    ("Is there a dog in the image?", True),
    ("<image>\nIs there a snowboard in the image?", True),
    ("USER: <image>\nIs there a person in the image? ASSISTANT:", True),
    ("A chat between a curious human and an AI. USER: <image>\nAre there cats? ASSISTANT:", True),
    ("Question: Is there a skis in the image?", True),
    ("[INST] <image>\nDoes the dog run? [/INST]", True),
    ("Is there a dog\nin the image?", True),
    ("Can you see a dog in the image?", True),
    ("Can you tell me whether there is a dog?", True),
    ("Can you describe this image in detail?", False),
    ("Could you describe the image?", False),
    ("Can you please describe the image?", False),
    ("Describe the image: is it day or night?", False),
    ("What is in the image?", False),
    ("Is this a cat", False),
    ("Isolated objects?", False),
    ("  \n Is it red?", True),
    ("Q: is it red?", True),
    ("Equator: is it hot?", False),
    ("Describe the image.", False),
])
def test_a_yes_no_prompt_is_read_through_chat_templates_and_requests_are_not_questions(
        prompt, yes_no):
    """LLaVA's ``<image>\\n`` and ``USER:`` templates hid the question (POPE answers were read
    as free-form and passed by); "Can you describe...?" read as yes/no (a caption CHAIR passed
    by)."""
    from halluscope.records import yes_no_prompt
    assert yes_no_prompt(prompt) is yes_no
    task = record_from_dict({"prompt": prompt, "response": "No"}).task
    assert task == ("yes-no" if yes_no else "vqa")


def test_the_yes_no_test_is_linear_in_the_prompt():
    """Prompts made of question starts, template marks or spaces (a quadratic test would take
    minutes on these)."""
    import time

    from halluscope.records import yes_no_prompt
    start = time.perf_counter()
    for hostile in ("\nit is" * 5_000 + "?", "\n" * 20_000 + "?", " :" * 20_000 + "?",
                    "user: " * 5_000 + "?", "can " + " " * 100_000 + "you describe it?",
                    "<image>" * 5_000 + "?", " " * 100_000 + "?", "user " * 20_000 + ":?"):
        assert not yes_no_prompt(hostile)
    assert yes_no_prompt("\n" * 20_000 + "Is it?")
    assert time.perf_counter() - start < 3.0


# -- text no output file can hold ---------------------------------------------------------------
@pytest.mark.parametrize("obj, field, at", [
    ({"question_id": 2, "answer": "No \ud83d"}, "answer", 4),
    ({"id": "a", "response": "Yes", "metadata": {"note": ["ok", "\udc00x"]}}, "metadata.note[1]",
     1),
    ({"id": "a", "response": "Yes", "\ud800": 1}, "\\ud800", 1),       # said escaped
    ({"id": "\udfff", "response": "Yes"}, "id", 1),
])
def test_a_lone_surrogate_is_one_bad_record_naming_the_field(obj, field, at):
    """A ``\\ud83d`` escape (valid JSON; a model output cut inside an emoji) stopped the audit
    with exit 3 when its item was written as UTF-8."""
    with pytest.raises(RecordError, match=f"got a lone surrogate \\\\u[0-9a-f]{{4}} at "
                                          f"character {at} ") as err:
        record_from_dict(obj, file="a.jsonl", line=2)
    assert (err.value.location.field, err.value.location.line) == (field, 2)
    assert str(err.value).encode("utf-8")             # the message itself can be written
    assert err.value.record_id is None or err.value.record_id.encode("utf-8")


def test_lone_surrogates_in_json_lines_and_array_elements_are_bad_records_with_lines(tmp_path):
    lines = tmp_path / "a.jsonl"
    lines.write_text('{"id": "a", "response": "Yes"}\n{"id": "b", "response": "No \\ud83d"}\n'
                     '{"id": "c", "response": "Smile \\ud83d\\ude00"}\n', encoding="utf-8")
    out = list(iter_records(lines))
    assert [r.id for r in out if not isinstance(r, RecordError)] == ["a", "c"]
    assert out[2].response == "Smile \U0001f600"                 # a pair is one character
    assert (out[1].location.file, out[1].location.line, out[1].location.field) == (
        str(lines), 2, "response")
    array = tmp_path / "a.json"
    array.write_text('[\n{"id": "a", "response": "Yes"},\n\n{"id": "b",\n "response": '
                     '"No \\udc00"}\n]\n', encoding="utf-8")
    out = list(iter_records(array))
    assert out[0].id == "a" and isinstance(out[1], RecordError)
    assert (out[1].location.line, out[1].location.field) == (4, "response")


def test_a_vlmevalkit_row_is_decided_once_and_read_alike():
    """Whether a line is a VLMEvalKit row is decided once (records._vlmevalkit_row) and read by
    the label, the id, the metadata and the missing-answer error alike; a row that answers in
    another column ('response') keeps its 'answer' out of the label but its index is the id."""
    rec = record_from_dict({"index": 7, "question": "Is there a dog?", "answer": "Yes",
                            "prediction": "No"})
    assert (rec.id, rec.label, rec.response, rec.id_from_line) == ("7", "yes", "No", False)
    rec = record_from_dict({"index": 7, "question": "Is there a dog?", "answer": "B",
                            "prediction": "A"})
    assert (rec.label, rec.metadata["answer"]) == (None, "B")
    rec = record_from_dict({"index": 7, "answer": "Yes", "prediction": "no", "response": "No"})
    assert (rec.id, rec.label, rec.response, rec.metadata["answer"]) == ("7", None, "No", "Yes")
    with pytest.raises(RecordError, match="VLMEvalKit row") as exc:
        record_from_dict({"index": 7, "question": "Is there a dog?", "answer": "Yes"}, line=4)
    assert exc.value.location.field == "prediction"


def test_a_key_given_twice_is_a_bad_record_naming_it_in_lines_and_arrays(tmp_path):
    lines = tmp_path / "o.jsonl"
    lines.write_text('{"id": "1", "image": "a.png", "response": "A cat.", "response": "A dog."}\n'
                     '{"id": "2", "image": "a.png", "response": "A \\": cat.", '
                     '"metadata": {"k": 1, "k" : 2}}\n'
                     '{"id": "3", "image": "a.png", "response": "A \\": dog."}\n')
    out = list(iter_records(lines))
    assert [(e.location.line, e.location.field) for e in out[:2]] == [(1, "response"), (2, "k")]
    assert all(isinstance(e, RecordError) and "more than once" in str(e) for e in out[:2])
    assert out[2].response == 'A ": dog.'
    array = tmp_path / "a.json"
    array.write_text('[\n{"id": "1", "image": "a.png", "response": "A cat."},\n'
                     '{"id": "2", "image": "a.png",\n "id": "3", "response": "A dog."}\n]\n')
    first, second = iter_records(array)
    assert first.response == "A cat."
    assert isinstance(second, RecordError) and second.location.line == 3
    assert second.location.field == "id" and "element 2" in str(second)
