"""One notion of a line for the reader and every counter (halluscope/textfiles.py): a BOM-only
first line and lines of Unicode whitespace are blank to the record reader, to the POPE answer
scan (by-order counts) and to positions, so by-order alignment never shifts and a count
mismatch is refused (hunt report, bug 5)."""

from __future__ import annotations

import json
import re
import sys

import pytest

from halluscope.errors import AlignmentError
from halluscope.metrics.pope import PopeMetric, score_answers
from halluscope.metrics.pope_answers import first_answer, scan_answers
from halluscope.metrics.positions import position
from halluscope.records import iter_json_values, iter_records
from halluscope.textfiles import BLANK_LINE, WHITESPACE, is_blank, is_blank_bytes, split_lines

LABELS = ["yes", "no", "yes", "no", "yes", "no", "yes"]


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "q7.jsonl"
    path.write_text("".join(json.dumps({"question_id": i, "image": f"{i}.jpg",
                                        "text": "Is there a dog in the image?", "label": y})
                            + "\n" for i, y in enumerate(LABELS, 1)))
    return path


def _answer_lines(answers):
    return [json.dumps({"answer": a}) for a in answers]


def test_whitespace_is_every_character_str_strip_removes():
    every = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()} - {"\n"}
    assert set(WHITESPACE) == every
    assert {"\u00a0", "\u3000", "\u2028", "\r", "\x1c"} <= set(WHITESPACE)
    # the byte pattern agrees with str.strip() on every character up to U+3100
    for c in map(chr, range(0x3100)):
        if c != "\n" and not 0xD800 <= ord(c) <= 0xDFFF:
            line = b"\n" + c.encode("utf-8") * 2 + b"\n"
            assert (BLANK_LINE.search(line) is not None) is c.isspace(), repr(c)


@pytest.mark.parametrize("line, blank", [("\u00a0", True), (" \u3000\t\r", True),
                                         ("\u2028", True), ("x", False), ("\ufeff", False),
                                         ("", True)])
def test_a_blank_line_is_the_same_as_text_as_bytes_and_in_a_block(line, blank):
    assert is_blank(line) is blank
    assert is_blank_bytes(line.encode("utf-8")) is blank
    assert (BLANK_LINE.search(b"\n" + line.encode("utf-8") + b"\n") is not None) is blank


def test_a_line_that_is_not_utf8_is_not_blank():
    # the reader reports it as a bad line: it is one of the file's answers
    assert not is_blank_bytes(b"\xa0")           # U+00A0 in Latin-1, not UTF-8
    assert BLANK_LINE.search(b"\n\xa0\n") is None


def test_lines_split_at_newline_only():
    assert list(split_lines('{"a": "x\u2028y"}\r\n\n{"b": 1}')) == [
        (1, '{"a": "x\u2028y"}\r\n'), (2, "\n"), (3, '{"b": 1}')]


def _write(path, text):
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("text, count, blanks", [
    # a BOM-only first line, then 6 answers: line 1 is blank, 6 answers
    ("\ufeff\n" + "\n".join(_answer_lines("YNYNYN")) + "\n", 6, [1]),
    # 7 answers and a U+00A0 line after the second: 7 answers, line 3 blank
    ("\n".join(_answer_lines("YN")) + "\n\u00a0\n" + "\n".join(_answer_lines("YNYNY")) + "\n",
     7, [3]),
    # a BOM before the first answer (no blank line: the block scan), a U+3000 last line
    ("\ufeff" + "\n".join(_answer_lines("YNY")) + "\n", 3, []),
    ("\n".join(_answer_lines("YNY")) + "\n\u3000", 3, [4]),
    # a U+2028 inside an answer's string is no line end
    (json.dumps({"answer": "Yes\u2028"}, ensure_ascii=False) + "\n"
     + json.dumps({"answer": "No"}) + "\n", 2, []),
])
def test_the_scan_counts_the_lines_the_reader_reads(tmp_path, text, count, blanks):
    path = _write(tmp_path / "a.jsonl", text)
    scanned = scan_answers(path)
    assert scanned[:2] == (count, blanks)
    assert scanned[2] == {"answer": json.loads(text.lstrip("\ufeff\n").split("\n")[0])["answer"]}
    read = [line for line, _, _ in iter_json_values(path)]
    assert len(read) == count
    n_lines = text.count("\n") + (not text.endswith("\n"))
    assert read == [n for n in range(1, n_lines + 1) if n not in blanks]
    assert first_answer(path)[0] == scanned[2]
    # each record's position is its place among the answers read
    assert [position(r) for r in iter_records(path)] == list(range(count))


def test_a_bom_only_first_line_is_refused_by_count_not_shifted(tmp_path, questions):
    """6 answers after a BOM-only line against 7 questions: refused (it was scored shifted by
    one line: accuracy 0.0, exit 0)."""
    path = _write(tmp_path / "bom.jsonl", "\ufeff\n" + "\n".join(_answer_lines(
        ["Yes", "No", "Yes", "No", "Yes", "No"])) + "\n")
    with pytest.raises(AlignmentError, match=re.escape("has 6 answers (non-blank lines)")):
        PopeMetric(questions, align="order", n_boot=0).begin([path])


def test_a_unicode_blank_line_does_not_shift_by_order_alignment(tmp_path, questions):
    """7 right answers with a U+00A0 line after the second: 4 yes right (tp 4), 3 no right
    (tn 3), accuracy 1.0 (it was refused as '8 lines')."""
    answers = _answer_lines(["Yes", "No", "Yes", "No", "Yes", "No", "Yes"])
    path = _write(tmp_path / "nbsp.jsonl",
                  "\n".join(answers[:2]) + "\n\u00a0\n" + "\n".join(answers[2:]) + "\n")
    out = score_answers(path, questions, align="order")
    m = out["metrics"]
    assert (m["tp"], m["fp"], m["tn"], m["fn"], m["accuracy"]) == (4, 0, 3, 0, 1.0)
    assert out["errors"] == []


def test_a_file_begin_could_not_read_still_aligns_past_its_blank_lines(tmp_path, questions):
    """A first line that is not JSON: begin cannot tell what the file is, so scoring looks
    at it: its blank lines are skipped and its count (7 answers, the bad line one of them)
    is checked; answers 2..7 land on questions 2..7 (no, yes, no, yes, no, yes)."""
    answers = _answer_lines(["No", "Yes", "No", "Yes", "No", "Yes"])
    path = _write(tmp_path / "a.jsonl", "{not json\n\u00a0\n" + "\n".join(answers) + "\n")
    out = score_answers(path, questions, align="order")
    m = out["metrics"]
    assert (m["tp"], m["tn"], m["n"]) == (3, 3, 6)
    assert [e["line"] for e in out["errors"]] == [1]


@pytest.mark.parametrize("name", ["answers.json", "answers.json.gz"])
def test_a_one_line_json_array_is_read_once(tmp_path, monkeypatch, name):
    """first_answer and scan_answers read a JSON-array answer file once (it was read three
    times: its one line twice to find the '[', then whole), with the same answer."""
    import gzip

    import halluscope.metrics.pope_answers as pope_answers
    import halluscope.records as records
    rows = [{"question_id": i, "answer": "yes" if i % 2 else "no"} for i in range(50)]
    data = json.dumps(rows).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    opened = []

    def counting(real):
        return lambda p: opened.append(p) or real(p)
    monkeypatch.setattr(pope_answers, "open_binary", counting(pope_answers.open_binary))
    monkeypatch.setattr(records, "open_binary", counting(records.open_binary))
    assert first_answer(path) == (rows[0], (50, []))
    assert len(opened) == 1
    assert scan_answers(path) == (50, [], rows[0]) and len(opened) == 2
