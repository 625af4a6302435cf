"""Companion files read as the answers are (hunt report, bugs 8 and 10): one that is not UTF-8
is a usage error naming the file and its line (not a UnicodeDecodeError, exit 3); a UTF-8 BOM
is accepted; question files read line by line split at "\\n" only (a U+2028 inside a question
is no line end, as in JSON lines) and a pretty-printed JSON-array question file's messages
give the file lines where its elements start."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from halluscope.cli import app
from halluscope.errors import ConfigError, RecordError
from halluscope.evidence.amber import load_amber
from halluscope.metrics.mmhal import load_template
from halluscope.metrics.objhal import load_gt_objects, load_question_file
from halluscope.metrics.pope_questions import load_questions
from halluscope.textfiles import read_json_file, read_text_file

BOM = b"\xef\xbb\xbf"


def _latin1(path, text, marker):
    """``text`` written as UTF-8 except one Latin-1 'é' right after ``marker``."""
    data = text.encode("utf-8")
    cut = data.index(marker.encode()) + len(marker)
    path.write_bytes(data[:cut] + b"\xe9" + data[cut:])
    return path, cut


def test_read_text_file_drops_a_bom_and_names_the_line_of_a_bad_byte(tmp_path):
    good = tmp_path / "good.txt"
    good.write_bytes(BOM + "a\u2028b\nc\n".encode())
    assert read_text_file(good, "a test file") == "a\u2028b\nc\n"
    bad, offset = _latin1(tmp_path / "bad.txt", "one\ntwo\nthree x\n", "three ")
    with pytest.raises(ConfigError) as err:
        read_text_file(bad, "a test file")
    assert str(err.value).startswith(f"{bad}:3: expected a test file in UTF-8, got byte 0xe9 "
                                     f"(at offset {offset})")


def test_read_json_file_names_the_line_of_invalid_json(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('[\n  {"a": 1},\n  {"a": }\n]\n')
    with pytest.raises(ConfigError, match=r"t\.json:3: expected a template as JSON, got "
                                          r"invalid JSON"):
        read_json_file(path, "a template")
    missing = tmp_path / "missing.json"
    with pytest.raises(ConfigError, match="cannot read a template .*missing.json"):
        read_json_file(missing, "a template")


def _objhal_questions():
    rows = [{"image_id": 339761, "question": "Provide a thorough description of the image."},
            {"image_id": 431256, "question": "What is this photo about?\u2028In detail."}]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def test_objhal_questions_bom_latin1_and_line_separator(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(BOM + _objhal_questions().encode("utf-8"))
    ids, rows = load_question_file(path)
    assert ids == [339761, 431256]                     # two lines, U+2028 inside the second
    assert rows.texts[1] == "What is this photo about?\u2028In detail."
    bad, _ = _latin1(tmp_path / "q1.jsonl", _objhal_questions(), '"question": "What')
    with pytest.raises(ConfigError, match=r"q1\.jsonl:2: expected an Object HalBench question "
                                          r"file in UTF-8, got byte 0xe9"):
        load_question_file(bad)


def test_objhal_ground_truth_objects_accept_a_bom(tmp_path):
    path = tmp_path / "gt.json"
    path.write_bytes(BOM + json.dumps({"339761": ["sink", "toilet"]}).encode())
    assert load_gt_objects(path) == {339761: frozenset({"sink", "toilet"})}


def _template():
    return json.dumps([{"question_type": "attribute", "image_id": "df62a56fdc1bb12b",
                        "image_content": ["Fire hydrant"], "question": "What color is the "
                        "fire hydrant cap in the picture?", "gt_answer": "Yellow."}], indent=2)


def test_mmhal_template_bom_and_latin1(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(BOM + _template().encode())
    assert load_template(path)[0]["image_content"] == ["Fire hydrant"]
    bad, _ = _latin1(tmp_path / "t1.json", _template(), '"question": "What')
    with pytest.raises(ConfigError, match=r"t1\.json:8: expected the MMHal-Bench template .* "
                                          r"in UTF-8, got byte 0xe9"):
        load_template(bad)


def _amber():
    return json.dumps([{"id": 1, "type": "generative", "truth": ["sky", "forest"],
                        "hallu": ["cloud"]}], indent=4)


def test_amber_annotations_bom_and_latin1(tmp_path):
    (tmp_path / "ok").mkdir()
    path = tmp_path / "ok" / "annotations.json"
    path.write_bytes(BOM + _amber().encode())
    assert list(load_amber(path).items) == [1]
    (tmp_path / "bad").mkdir()
    bad, _ = _latin1(tmp_path / "bad" / "annotations.json", _amber(), '"sky')
    with pytest.raises(ConfigError, match=r"annotations\.json:6: expected AMBER's "
                                          r"annotations\.json in UTF-8, got byte 0xe9"):
        load_amber(bad)


@pytest.mark.parametrize("metric, option", [
    ("mmhal", "mmhal_template"), ("amber", "amber_annotations")])
def test_a_latin1_companion_is_a_usage_error_on_the_command_line(tmp_path, metric, option):
    text, marker = (_template(), '"question": "What') if metric == "mmhal" else (_amber(),
                                                                                '"sky')
    bad, _ = _latin1(tmp_path / "companion.json", text, marker)
    answers = tmp_path / "a.jsonl"
    answers.write_text(json.dumps({"id": 1, "response": "A dog."}) + "\n")
    res = CliRunner().invoke(app, ["audit", str(answers), "--metric", metric, "--option",
                                   f"{option}={bad}", "--out", str(tmp_path / "o"),
                                   "--no-report", "-q"])
    assert res.exit_code == 2, res.output
    assert "companion.json" in res.output and "not UTF-8" in res.output


# -- POPE question files read line by line ------------------------------------------------------
def _pope_rows():
    return [{"question_id": i, "image": f"{i}.jpg", "text": f"Is there a {o} in the image?",
             "label": y, "object": o}            # (an extra key: read line by line)
            for i, (o, y) in enumerate([("dog", "yes"), ("car", "no"), ("cat", "yes")], 1)]


def test_pope_questions_with_a_line_separator_inside_a_question(tmp_path):
    rows = _pope_rows()
    rows[1]["text"] = "Is there a car in the image?\u2028"
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    qs = load_questions(path)
    assert len(qs) == 3 and qs.lines == [1, 2, 3]
    assert qs.texts[1] == "Is there a car in the image?\u2028"


def test_pope_array_question_file_gives_file_lines(tmp_path):
    """``json.dumps(indent=2)`` of 3 objects of 5 keys: element k starts on line 2 + 7(k-1)
    (the '[' on line 1, each element 7 lines: '{', 5 keys, '},')."""
    path = tmp_path / "q.json"
    path.write_text(json.dumps(_pope_rows(), indent=2))
    assert load_questions(path).lines == [2, 9, 16]
    rows = _pope_rows()
    rows[2]["question_id"] = 1
    dup = tmp_path / "dup.json"
    dup.write_text(json.dumps(rows, indent=2))
    with pytest.raises(RecordError) as err:
        load_questions(dup)
    assert (err.value.location.line, err.value.location.field) == (16, "question_id")
    assert "first on line 2" in str(err.value)


def test_a_broken_pope_array_question_file_names_the_file_line(tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps(_pope_rows(), indent=2).replace('"label": "no"', '"label" "no"'))
    with pytest.raises(RecordError) as err:
        load_questions(path)
    assert err.value.location.line == 13            # element 2's 'label' line (9 + 4)
