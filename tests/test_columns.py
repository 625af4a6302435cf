"""The columnar reader gives, line for line, what the record reader gives, or refuses the file."""

from __future__ import annotations

import gzip
import json

import pytest

from halluscope import columns
from halluscope.columns import read_record_columns
from halluscope.records import iter_records

pytest.importorskip("pyarrow", reason="the columnar path needs pyarrow (the tables extra)")

FIELDS = ("id", "task", "image", "image_id", "prompt", "response", "label", "model",
          "question_id")


def _write(path, lines, raw: bytes | None = None):
    path.write_bytes(raw if raw is not None else
                     "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode())
    return path


def _same_as_records(path):
    cols = read_record_columns(path)
    assert cols is not None, "expected the file to be read as columns"
    records = list(iter_records(path))
    assert cols.n == len(records)
    for i, rec in enumerate(records):
        assert not isinstance(rec, Exception), rec
        assert cols.record(i) == rec
        for name in FIELDS:
            column = cols.column(name)
            assert (column[i] if column is not None else None) == getattr(rec, name), (i, name)
    return cols


@pytest.mark.parametrize("lines", [
    [{"question_id": 1, "question": "Is there a dog in the image?", "answer": "Yes"},
     {"question_id": 2, "question": "Is there a cat in the image?", "answer": "No, there is"}],
    [{"question_id": "a1", "prompt": "Is there a dog in the image?", "response": ""}],
    [{"id": 7, "question_id": 3, "text": "Yes", "model_id": "llava"}],
    [{"question_id": 3, "text": "No", "image": "COCO_val2014_000000000139.jpg", "model_id": "v"}],
    [{"question_id": 3, "answer": "No", "image": "000000000139.jpg", "label": "no"}],
    [{"id": "x", "image": "img/000000000285.jpg", "prompt": "Describe it.", "response": "A bear",
      "model": "m"}],
    [{"question": "What is it?", "answer": "A dog", "label": "yes"}],
    [{"answer": "Yes"}, {"answer": "No"}],
    [{"question_id": 7, "prompt": "Is there a dog in the image?", "text": "Yes",
      "answer_id": "a1", "model_id": "llava", "metadata": {}, "split": "random"}],
    [{"question_id": 1, "question": "Is there ünïcode \u2028 here?", "answer": "Ja \"quoted\""}],
])
def test_flat_files_read_as_columns_equal_the_records(tmp_path, lines):
    _same_as_records(_write(tmp_path / "a.jsonl", lines))


def test_bom_and_crlf_lines_read_the_same(tmp_path):
    body = b'{"question_id": 1, "answer": "Yes"}\r\n{"question_id": 2, "answer": "No"}\r\n'
    _same_as_records(_write(tmp_path / "a.jsonl", None, b"\xef\xbb\xbf" + body))
    _same_as_records(_write(tmp_path / "b.jsonl", None, body.rstrip()))   # no final newline


@pytest.mark.parametrize("raw", [
    b'{"answer": "Yes"}\n\n{"answer": "No"}\n',                 # a blank line
    b'\n{"answer": "Yes"}\n',                                    # a blank first line
    b'{"answer": "Yes"}\n   \n',                                 # a whitespace-only line
    b'{"answer": "Yes"} {"answer": "No"}\n',                     # two objects on a line
    b'{"answer":\n "Yes"}\n',                                    # one object over two lines
    b'{"answer": "Yes", "error": "timeout"}\n',                  # a failed request
    b'{"answer": "Yes", "extra": 1.5}\n',                        # a float for metadata
    b'{"answer": "Yes", "extra": [1]}\n',                        # a list for metadata
    b'{"answer": "Yes", "caption": "A dog."}\n',                 # a known key it reads itself
    b'{"answer": "Yes", "metadata": {"a": 1}}\n',                # nested
    b'{"answer": "Yes"}\n{"question": "Q?"}\n',                  # a key missing on a line
    b'{"answer": null}\n',                                       # null
    b'{"question_id": 1, "answer": "Y"}\n{"question_id": "2", "answer": "N"}\n',  # mixed types
    b'{"question_id": 1.5, "answer": "Y"}\n',                    # a float id
    b'{"question_id": true, "answer": "Y"}\n',                   # a boolean id
    b'{"answer": 3}\n',                                          # a number as the answer
    b'{"answer": "Y\xe9"}\n',                                    # not UTF-8
    b'{"answer": "\\ud800"}\n',                                  # a lone surrogate
    b'{"answer": "Y", "answer": "N"}\n',                         # a repeated key
    b'[{"answer": "Y"}]\n',                                      # a JSON array
    b'{"answer": "Y", "label": " Yes"}\n',                       # a label to normalise
    b'{"answer": "Y", "label": "B"}\n',                          # a choice letter
    b'{"question_id": 1, "text": "Is it?", "label": "yes"}\n',   # a question, no answer
    b'',
])
def test_files_the_record_reader_reads_differently_are_refused(tmp_path, raw):
    assert read_record_columns(_write(tmp_path / "a.jsonl", None, raw)) is None


def test_compressed_files_are_read_decompressed_and_a_missing_pyarrow_goes_line_by_line(
        tmp_path, monkeypatch):
    lines = b'\xef\xbb\xbf{"question_id": 1, "answer": "Yes"}\n{"question_id": 2, "answer": "No"}'
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(gzip.compress(lines))
    plain = _write(tmp_path / "a.jsonl", None, lines)
    packed, flat = read_record_columns(gz), read_record_columns(plain)
    assert packed is not None and packed.n == 2 and packed.file == str(gz)
    assert [packed.record(i).response for i in range(2)] == ["Yes", "No"]
    assert [(r.id, r.response, r.source.line) for r in iter_records(gz)] == [
        (packed.record(i).id, packed.record(i).response, i + 1) for i in range(2)]
    assert [flat.record(i).response for i in range(2)] == ["Yes", "No"]
    broken = tmp_path / "b.jsonl.gz"
    broken.write_bytes(gzip.compress(lines)[:-9])          # cut: the line reader says why
    assert read_record_columns(broken) is None
    monkeypatch.setattr(columns, "MAX_BYTES", len(lines) - 1)
    assert read_record_columns(gz) is None                 # over the limit once decompressed
    monkeypatch.setattr(columns, "MAX_BYTES", 1 << 20)
    monkeypatch.setattr(columns, "_pyarrow_json", lambda: None)
    assert read_record_columns(plain) is None and read_record_columns(gz) is None


def test_files_larger_than_the_limit_are_streamed(tmp_path, monkeypatch):
    path = _write(tmp_path / "a.jsonl", [{"question_id": 1, "answer": "Yes"}] * 10)
    assert read_record_columns(path) is not None
    monkeypatch.setattr(columns, "MAX_BYTES", path.stat().st_size - 1)
    assert read_record_columns(path) is None


@pytest.mark.parametrize("raw", [
    b'{"a": 1}\n{"a": 2}\n', b'{"a": 1}\n{"a": 2}', b'{"a": 1}\n\n', b'{"a": 1}\n \n{"a": 2}\n',
    b'{"a": 1}\n\t\r\n', b'{"a": 1}\n {"a": 2}\n', b'{"a": 1}\n \x0c\x0b', b'{"a": 1}\n  ',
    b'', b' {"a": 1}\n', b'{"a": 1}\r\n{"a": 2}\r\n',
    b'{"a": 1}\n' + b' {"a": 2}\n' * 100, b'{"a": 1}\n' + b' {"a": 2}\n' * 100 + b'\n',
    b'{"a": 1}\n' + b' {"a": 2}\n' * 10 + b'\t\n{"a": 3}'])
def test_lines_are_counted_and_blank_lines_found_as_the_pattern_finds_them(raw):
    """The newline pass gives the line count and finds a blank line wherever the pattern
    searched over the whole file finds one (a line of spaces, tabs, CR, FF, VT), looking only
    at lines that start with one, or with a newline (past 64 of them, the pattern searches)."""
    from halluscope.columns import _BLANK_LINE, _lines_if_none_blank
    refused = not raw or raw[:1] != b"{" or _BLANK_LINE.search(raw) is not None
    expected = None if refused else raw.count(b"\n") + (not raw.endswith(b"\n"))
    assert _lines_if_none_blank(raw) == expected
