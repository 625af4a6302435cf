"""What `halluscope audit` reads, the defects the inputhunt round left (one test each).

A response over the length limit was named ``response`` whatever the file called it; an id of
``""`` named the item ``""``; a ``model`` that was not a string was dropped in silence; a NaN
id in a list of dicts was no id while the same JSON line was a bad record; an .xlsx's blank
row was a bad record ("got null") while a CSV's blank line was skipped; a 0-byte .xlsx was
"cannot read ... format cannot be determined" instead of an empty input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import halluscope
from halluscope.errors import RecordError
from halluscope.records import iter_records

_LONG = "A dog. " * 30_000          # 210,000 characters: past the 200,000 parsed


def _cli(args: list[str]):
    from typer.testing import CliRunner

    from halluscope.cli import app
    return CliRunner().invoke(app, ["audit", *args, "--bootstrap", "0", "--no-report"])


def _questions(key: str, values: list, **extra) -> list[dict]:
    return [{key: v, "prompt": "Is there a dog in the image?", "response": "Yes",
             "label": "yes", **extra} for v in values]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# --- 1. the answer's field, named as the file has it ------------------------------------------

@pytest.mark.parametrize("field", ["caption", "text", "response"])
def test_a_caption_past_the_limit_is_named_by_its_field(tmp_path, field):
    """It was always "field 'response'", in a file that has no such field."""
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"139": ["dog"], "140": ["dog"]}))
    path = _write(tmp_path / "captions.jsonl", [{"image_id": 139, field: _LONG},
                                                {"image_id": 140, field: "A dog."}])
    res = halluscope.audit(path, metrics="chair", gt_objects=gt, n_boot=0, write_report=False)
    [error] = res.errors
    assert (error["line"], error["field"]) == (1, field)
    assert "at most 200,000 characters" in error["message"]
    assert res.metrics["chair"].n == 1


def test_the_claim_splitter_names_the_field_it_is_given():
    from halluscope.verification import Verifier
    with pytest.raises(RecordError) as info:
        Verifier().split(_LONG, "prediction")
    assert info.value.location.field == "prediction"


def test_the_columnar_reader_keeps_the_answer_field(tmp_path):
    pytest.importorskip("pyarrow")
    from halluscope.columns import read_record_columns
    path = _write(tmp_path / "answers.jsonl", [
        {"question_id": i, "prompt": "Is there a dog in the image?", "text": "Yes"}
        for i in (1, 2)])
    columns = read_record_columns(path)
    assert columns is not None
    assert columns.record(0).response_field == next(iter(iter_records(path))).response_field \
        == "text"


# --- 2. an empty id --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["", "  "])
@pytest.mark.parametrize("key", ["id", "question_id", "image_id"])
def test_an_empty_id_is_a_bad_record_naming_its_field(tmp_path, key, value):
    """``""`` was taken as the id ``""`` (every such line the same item; an ``image_id`` of
    ``""`` was the image ``""``, the file's folder)."""
    path = _write(tmp_path / "answers.jsonl", _questions(key, ["q0", value, "q2"]))
    res = halluscope.audit(path, metrics="pope", n_boot=0, write_report=False)
    [error] = res.errors
    assert (error["line"], error["field"]) == (2, key)
    assert "expected an id (text or a whole number), got" in error["message"]
    assert "id" not in error                # (it was kept as the bad line's id "")
    assert res.metrics["pope"].results["accuracy"].n == 2


def test_an_absent_id_and_an_empty_table_cell_are_still_no_id(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("id,prompt,response,label\nq1,Is there a dog?,Yes,yes\n"
                    ",Is there a cat?,No,no\n")
    lines = _write(tmp_path / "answers.jsonl", [
        {"prompt": "Is there a dog?", "response": "Yes", "label": "yes"}])
    for file in (path, lines):
        res = halluscope.audit(file, metrics="pope", n_boot=0, write_report=False)
        assert not res.errors and res.metrics["pope"].results["accuracy"].n == (
            2 if file == path else 1)


def test_an_empty_id_in_a_flat_file_is_the_same_bad_record_read_as_columns(tmp_path):
    """The columnar reader (a flat file of strings) sends such a file line by line."""
    pytest.importorskip("pyarrow")
    from halluscope.columns import read_record_columns
    path = _write(tmp_path / "answers.jsonl", _questions("question_id", ["q0", "", "q2"]))
    assert read_record_columns(path) is None
    path = _write(tmp_path / "fine.jsonl", _questions("question_id", ["q0", "q1", "q2"]))
    assert read_record_columns(path) is not None


def test_an_empty_id_in_a_list_of_dicts_is_the_json_lines_bad_record():
    res = halluscope.audit(records=_questions("id", ["q0", "", "q2"]), metrics="pope",
                           n_boot=0, write_report=False)
    [error] = res.errors
    assert (error["line"], error["field"]) == (2, "id")


# --- 3. a model that is not text -------------------------------------------------------------

@pytest.mark.parametrize("key", ["model", "model_id"])
def test_a_model_that_is_a_number_is_its_text_anything_else_a_bad_record(tmp_path, key):
    """A number was dropped in silence (the record had no model), and so was a list."""
    path = _write(tmp_path / "answers.jsonl", [
        *_questions("id", ["a"], **{key: 7}), *_questions("id", ["b"], **{key: 1.5}),
        *_questions("id", ["c"], **{key: ["llava"]}), *_questions("id", ["d"], **{key: True}),
        *_questions("id", ["e"], **{key: {"name": "x"}}), *_questions("id", ["f"], **{key: "m"})])
    read = list(iter_records(path))
    assert [r.model for r in read if not isinstance(r, RecordError)] == ["7", "1.5", "m"]
    errors = [r for r in read if isinstance(r, RecordError)]
    assert [(e.location.line, e.location.field) for e in errors] == [(3, key), (4, key), (5, key)]
    assert all("expected the model's name as text" in str(e) for e in errors)


def test_a_model_cell_reads_the_same_from_xlsx_and_csv(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("openpyxl")
    from halluscope.readers import iter_input_records
    frame = pd.DataFrame({"id": ["a"], "prompt": ["Is there a dog?"], "response": ["Yes"],
                          "model": [7]})
    frame.to_excel(tmp_path / "a.xlsx", index=False)
    frame.to_csv(tmp_path / "a.csv", index=False)
    assert [r.model for p in ("a.xlsx", "a.csv")
            for r in iter_input_records(tmp_path / p)] == ["7", "7"]


# --- 4. a NaN id in memory -------------------------------------------------------------------

def test_a_nan_id_in_a_list_of_dicts_is_the_json_lines_bad_record():
    """It was no id (the row's number stood in) while the same JSON line is a bad record."""
    res = halluscope.audit(records=_questions("id", ["q0", float("nan"), "q2"]),
                           metrics="pope", n_boot=0, write_report=False)
    [error] = res.errors
    assert (error["line"], error["field"]) == (2, "id") and "got nan" in error["message"]
    assert res.metrics["pope"].results["accuracy"].n == 2


def test_a_nan_id_in_a_dataframe_is_a_missing_cell():
    """README: a DataFrame's empty (NaN) cell is as if the column were absent -- pandas writes
    a missing cell so -- and the row's number stands in, as for an empty CSV cell."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(_questions("id", ["q0", None, "q2"]))
    assert frame["id"].isna().tolist() == [False, True, False]
    res = halluscope.audit(records=frame, metrics="pope", n_boot=0, write_report=False)
    assert not res.errors and res.metrics["pope"].results["accuracy"].n == 3


# --- 5. blank rows of a table ----------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".tsv"])
def test_a_blank_row_is_skipped_in_every_table(tmp_path, suffix):
    """An .xlsx's blank row was a bad record ("got null") while a CSV's blank line was
    skipped; a CSV line of only commas (Excel saves a blank row so) is that blank row."""
    pd = pytest.importorskip("pandas")
    from halluscope.readers import count_input_records, iter_input_records
    frame = pd.DataFrame({"index": [1, None, 3, 4],
                          "question": ["Is there a dog?", None, "Is there a cat?", "Is it?"],
                          "answer": ["Yes", None, "No", "No"],
                          "prediction": ["Yes", None, "No", None]})
    path = tmp_path / f"pred{suffix}"
    if suffix == ".xlsx":
        pytest.importorskip("openpyxl")
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    read = list(iter_input_records(path))
    assert [(r.source.line, r.source.index) for r in read[:2]] == [(2, 1), (4, 2)]
    assert isinstance(read[2], RecordError) and read[2].location.line == 5    # its own line
    assert count_input_records(path) == 3


# --- 6. a 0-byte table -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["pred.xlsx", "pred.csv", "pred.tsv", "pred.parquet"])
def test_a_zero_byte_table_is_an_empty_input(tmp_path, name, caplog):
    """It was "cannot read this file (as xlsx: ... format cannot be determined)"."""
    path = tmp_path / name
    path.write_bytes(b"")
    res = _cli([str(path), "--metric", "pope", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert any(f"input file {path} is empty" in r.getMessage() for r in caplog.records)
    assert "cannot read" not in res.output and "holds no records" in res.output
    good = _write(tmp_path / "good.jsonl", _questions("id", ["q0", "q1"]))
    res = _cli([str(good), str(path), "--metric", "pope", "--out", str(tmp_path / "out2")])
    assert res.exit_code == 0, res.output
