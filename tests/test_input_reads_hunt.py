"""What `halluscope audit` reads, as users hand it over (the inputhunt round).

One test per defect found: a UTF-16 file (Excel's "Unicode Text", PowerShell's `>`) was one
"invalid JSON" bad record per line (a TSV: "got byte 0xff ... Windows-1252"); an input the user
may not read was a bare "[Errno 13]"; an image the user may not read was the detector's
failure ("truncated or corrupt" in the log), not an unreadable image; an id of NaN or Infinity
(which Python's json reads) was scored under the id "nan"; an empty input among several was
passed by in silence.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

import halluscope
from halluscope.errors import ConfigError, InputError, UnreadableImage

DATA = Path(__file__).resolve().parents[1] / "data"


def _captions(n: int = 3) -> str:
    return "".join(json.dumps({"image_id": 139 + i, "caption": f"A dog number {i}."}) + "\n"
                   for i in range(n))


def _gt(folder: Path) -> Path:
    gt = folder / "gt.json"
    gt.write_text(json.dumps({str(139 + i): ["dog"] for i in range(3)}))
    return gt


def _cli(args: list[str]):
    from typer.testing import CliRunner

    from halluscope.cli import app
    return CliRunner().invoke(app, ["audit", *args, "--bootstrap", "0", "--no-report"])


@pytest.mark.parametrize("name, data", [
    ("bom.jsonl", _captions().encode("utf-16")),                 # with its byte-order mark
    ("plain.jsonl", _captions().encode("utf-16-le")),            # PowerShell 5's `>`, no mark
    ("big.jsonl", _captions().encode("utf-16-be")),
    ("wide.jsonl", _captions().encode("utf-32")),
    ("excel.tsv", "index\tquestion\tanswer\tprediction\n1\tIs there a dog?\tYes\tYes\n"
     .encode("utf-16")),                                         # Excel's "Unicode Text"
])
def test_a_utf16_input_is_one_input_error_naming_its_encoding(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    metric = ["pope"] if name.endswith("tsv") else ["chair", "--gt-objects", str(_gt(tmp_path))]
    res = _cli([str(path), "--metric", *metric, "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    encoding = "UTF-32" if name == "wide.jsonl" else "UTF-16"
    assert f"expected UTF-8 text, got {encoding}" in res.output and name in res.output
    assert not (tmp_path / "out" / "results.json").exists()      # nothing scored
    with pytest.raises(InputError, match=f"got {encoding}"):
        halluscope.audit(path, metrics="chair", gt_objects=_gt(tmp_path), n_boot=0,
                         write_report=False)


def test_utf8_inputs_are_not_taken_for_utf16(tmp_path):
    from halluscope.textfiles import wide_encoding
    for text in ('{"a": 1}', '\ufeff{"a": 1}', "[\n", "a,b\n", "é,ü\n", ""):
        assert wide_encoding(text.encode("utf-8")[:4]) is None, text
    assert wide_encoding(b"PAR1") is None and wide_encoding(b"PK\x03\x04") is None


def test_an_input_that_cannot_be_read_is_a_usage_error_naming_it(tmp_path, monkeypatch):
    """(Root reads every file, so the refusal is made by the open itself.)"""
    from halluscope import textfiles
    path = tmp_path / "answers.jsonl"
    path.write_text(_captions())
    real = open

    def refusing(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real(file, *args, **kwargs)
    monkeypatch.setattr(textfiles, "open", refusing, raising=False)
    with pytest.raises(ConfigError, match=f"input file {path} cannot be read: permission denied"):
        halluscope.audit(path, metrics="chair", gt_objects=_gt(tmp_path), n_boot=0,
                         write_report=False)


def test_an_empty_input_among_several_is_said(tmp_path, caplog):
    good, empty = tmp_path / "good.jsonl", tmp_path / "empty.jsonl"
    good.write_text(_captions())
    empty.write_bytes(b"")
    gt = _gt(tmp_path)
    with caplog.at_level(logging.WARNING):
        res = halluscope.audit([good, empty], metrics="chair", gt_objects=gt, n_boot=0,
                               write_report=False)
    assert res.metrics["chair"].n == 3
    assert any(f"input file {empty} is empty" in r.getMessage() for r in caplog.records)


@pytest.fixture
def _unreadable_file(monkeypatch):
    """``path -> None``: make ``path`` unreadable, as to a user without permission (root
    reads it all the same: ``os.access`` is told so, and so is Pillow's open)."""
    from halluscope import imageio
    refused: set[str] = set()
    access = os.access
    monkeypatch.setattr(imageio.os, "access",
                        lambda p, mode, *a, **k: str(p) not in refused and access(p, mode, *a, **k))

    def refuse(path: Path) -> None:
        path.chmod(0)
        refused.add(str(path))
    return refuse


def test_an_image_the_user_cannot_read_is_an_unreadable_image(tmp_path, _unreadable_file):
    from halluscope.imageio import open_image
    path = tmp_path / "cat.jpg"
    shutil.copy(DATA / "images" / "chelsea.jpg", path)
    _unreadable_file(path)
    with pytest.raises(UnreadableImage, match=r"not readable \(permission denied\)") as info:
        open_image(path)
    assert info.value.path == str(path)


def test_an_unreadable_image_through_the_detector_is_counted_as_unreadable(tmp_path,
                                                                           _unreadable_file):
    """It was "the evidence source detector coco-ssd failed on ...: PermissionError", out of
    ``tallies.unreadable`` (the image's hash for the cache key read it first)."""
    pytest.importorskip("cv2")
    for name in ("cat.jpg", "locked.jpg"):
        shutil.copy(DATA / "images" / "chelsea.jpg", tmp_path / name)
    _unreadable_file(tmp_path / "locked.jpg")
    path = tmp_path / "outputs.jsonl"
    path.write_text("".join(json.dumps({"id": n, "image": n, "task": "caption",
                                        "response": "A cat lies on a bed."}) + "\n"
                            for n in ("locked.jpg", "cat.jpg")))
    out = tmp_path / "out"
    res = _cli([str(path), "--metric", "claims", "--detector", "coco-ssd", "--cache-dir",
                str(tmp_path / "cache"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    [error] = results["errors"]
    assert error["line"] == 1 and error["field"] == "image"
    assert error["kind"] == "unreadable_image" and "permission denied" in error["message"]
    assert results["metrics"]["claims"]["tallies"]["unreadable"] == {"records": 1}
    assert results["metrics"]["claims"]["n"] == 1


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("key", ["id", "question_id"])
def test_an_id_of_nan_or_infinity_is_a_bad_record(tmp_path, key, value):
    """Python's json reads NaN and Infinity; such an id named no item and was scored as the
    id "nan" (two of them the same item)."""
    lines = [json.dumps({key: f"q{i}", "prompt": "Is there a dog in the image?",
                         "response": "Yes", "label": "yes"}) for i in range(3)]
    lines[1] = lines[1].replace('"q1"', value)
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(lines) + "\n")
    res = halluscope.audit(path, metrics="pope", n_boot=0, write_report=False)
    [error] = res.errors
    assert (error["line"], error["field"]) == (2, key)
    assert "expected an id (text or a whole number)" in error["message"]
    assert res.metrics["pope"].results["accuracy"].n == 2


_LONG = "1" + "0" * 5000       # past Python's 4,300 digits of integer text


@pytest.mark.parametrize("layout", ["lines", "gzip", "array"])
def test_an_integer_past_pythons_digits_is_one_bad_record_not_a_crash(tmp_path, layout):
    """json raises ValueError (not JSONDecodeError) for it: the audit stopped as an internal
    error (exit 3) at the first such line, the other lines lost."""
    import gzip
    lines = [json.dumps({"question_id": f"q{i}", "prompt": "Is there a dog in the image?",
                         "response": "Yes", "label": "yes"}) for i in range(3)]
    lines[1] = lines[1].replace('"q1"', _LONG)
    if layout == "array":
        path = tmp_path / "answers.json"
        path.write_text("[\n" + ",\n".join(lines[::-1]) + "\n]\n")   # the long one second
    elif layout == "gzip":
        path = tmp_path / "answers.jsonl.gz"
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    else:
        path = tmp_path / "answers.jsonl"
        path.write_text("\n".join(lines) + "\n")
    res = _cli([str(path), "--metric", "pope", "--out", str(tmp_path / "out")])
    # an array's element is one record as a line is: the array is read on past it (its end
    # is found with such integers read as None), so nothing else is lost and the audit passes
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    [error] = results["errors"]
    assert "reading_stopped" not in error
    assert error["line"] == (3 if layout == "array" else 2)     # (the array's "[" is line 1)
    assert "got one of 5,001 digits" in error["message"]
    assert "at most 4,300 digits" in error["message"]
    if layout == "array":       # which element, and where in it the integer is
        assert error["message"].startswith("element 2: the integer at line 3 column 17: ")
    assert results["metrics"]["pope"]["accuracy"]["n"] == 2


def test_a_table_cell_with_such_an_integer_stays_text(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("question_id,prompt,response,label,extra\n"
                    f'q1,Is there a dog?,Yes,yes,"[{_LONG}]"\nq2,Is there a cat?,No,no,\n')
    res = halluscope.audit(path, metrics="pope", n_boot=0, write_report=False)
    assert not res.errors and res.metrics["pope"].results["accuracy"].n == 2


def test_a_question_file_with_such_an_integer_is_a_usage_error_naming_its_line(tmp_path):
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"question_id": 1, "image": "COCO_val2014_000000000139.jpg",
                                     "text": "Is there a dog in the image?", "label": "yes"})
                         + "\n" + '{"question_id": ' + _LONG + ', "text": "Is there a cat?"}\n')
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"question_id": 1, "text": "Yes"}) + "\n")
    res = _cli([str(answers), "--metric", "pope", "--questions", str(questions),
                "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert f"{questions.name}:2" in res.output and "digits" in res.output


def test_a_question_file_that_is_a_folder_is_said_to_be_one(tmp_path):
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"question_id": 1, "text": "Yes"}) + "\n")
    (tmp_path / "questions").mkdir()
    res = _cli([str(answers), "--metric", "pope", "--questions", str(tmp_path / "questions"),
                "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "is a folder, not a file" in res.output and "not found" not in res.output


@pytest.mark.parametrize("questions", [False, True])     # line by line; a flat file as columns
def test_a_last_line_cut_short_says_so(tmp_path, questions):
    """A file still being written (or copied short) ends inside a line: the reason said only
    "Unterminated string"; the complete lines are scored."""
    lines = [json.dumps({"question_id": i, "prompt": "Is there a dog in the image?",
                         "text": "Yes", "label": "yes"}) for i in (1, 2)]
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(lines) + "\n" + lines[0][:30])
    args = [str(path), "--metric", "pope", "--out", str(tmp_path / "out")]
    if questions:
        qs = tmp_path / "questions.jsonl"
        qs.write_text("".join(json.dumps({"question_id": i, "image": "COCO_val2014_0000000001"
                                          "39.jpg", "text": "Is there a dog in the image?",
                                          "label": "yes"}) + "\n" for i in (1, 2, 3)))
        args += ["--questions", str(qs)]
    res = _cli(args)
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    [error] = results["errors"]
    assert error["line"] == 3 and "Unterminated string" in error["message"]
    assert "the file's last line, without a line end: cut short" in error["message"]
    assert results["metrics"]["pope"]["accuracy"]["n"] == 2


def test_a_bad_line_with_its_line_end_is_not_called_cut_short(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text('{"question_id": 1, "text": \n' + json.dumps({"question_id": 2,
                                                                  "text": "Yes"}))
    from halluscope.records import iter_records
    first = next(iter(iter_records(path)))
    assert "Expecting value" in str(first) and "cut short" not in str(first)


@pytest.mark.parametrize("suffix, forced", [(".xlsx", "tsv"), (".parquet", "csv")])
def test_a_workbook_forced_as_a_text_table_is_said_to_be_one(tmp_path, suffix, forced):
    """It was "got byte 0x87, which is not UTF-8: save the file as UTF-8 (a CSV saved by Excel
    is often Windows-1252)", sending the user to re-encode a workbook."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("openpyxl" if suffix == ".xlsx" else "pyarrow")
    frame = pd.DataFrame({"index": [1], "question": ["Is there a dog in the image?"],
                          "answer": ["Yes"], "prediction": ["Yes"]})
    path = tmp_path / f"answers{suffix}"
    frame.to_excel(path, index=False) if suffix == ".xlsx" else frame.to_parquet(path)
    res = _cli([str(path), "--format", forced, "--metric", "pope", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert f"got a {suffix} file: leave --format out" in res.output
    assert "Windows-1252" not in res.output


@pytest.mark.parametrize("suffix", [".tsv", ".xlsx"])
def test_a_vlmevalkit_image_path_list_as_pandas_writes_it_is_its_first_image(tmp_path, suffix):
    """pandas writes a list cell as Python's repr (``['a.jpg', 'b.jpg']``), which VLMEvalKit
    reads back with eval: it was read as the image path "['a.jpg', 'b.jpg']" (not found)."""
    pd = pytest.importorskip("pandas")
    if suffix == ".xlsx":
        pytest.importorskip("openpyxl")
    from halluscope.readers import iter_input_records
    frame = pd.DataFrame({"index": [1, 2, 3, 4], "question": ["Is there a cat?"] * 4,
                          "answer": ["Yes"] * 4, "prediction": ["Yes"] * 4,
                          "image_path": [["a.jpg", "b.jpg"], '["c.jpg"]', "d.jpg", "[]"]})
    path = tmp_path / f"pred{suffix}"
    frame.to_csv(path, sep="\t", index=False) if suffix == ".tsv" else frame.to_excel(
        path, index=False)
    assert [r.image for r in iter_input_records(path)] == ["a.jpg", "c.jpg", "d.jpg", None]


def test_first_image_never_runs_the_cell():
    from halluscope.tables import first_image
    assert first_image("[__import__('os').getcwd()]") == "[__import__('os').getcwd()]"
    assert first_image("[unclosed") == "[unclosed"


def test_an_lmms_eval_task_json_cut_short_says_where_it_stops(tmp_path):
    """A v0.1-v0.2 ``<task>.json`` (indent=4) cut short was called only "one JSON object
    written over several lines", which it is not."""
    logs = [{"doc_id": i, "target": "yes", "doc": {"question_id": str(i)},
             "resps": [["Yes"]], "filtered_resps": ["Yes"]} for i in range(6)]
    text = json.dumps({"args": {}, "model_configs": {}, "logs": logs, "time": "0"}, indent=4)
    path = tmp_path / "pope.json"
    path.write_text(text[: len(text) // 2])
    res = _cli([str(path), "--metric", "pope", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert "nor is it one JSON document (line" in res.output and "cut short" in res.output
    path.write_text(text)
    res = _cli([str(path), "--metric", "pope", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output


def test_vlmevalkit_rows_as_json_read_image_path_as_their_tables_do(tmp_path):
    """README: VLMEvalKit rows written as JSON are "read the same way" as its tables; their
    image_path was left in the metadata (no image, no COCO id: POPE's bootstrap resampled
    items, not images, so the same predictions got other intervals as JSON than as TSV)."""
    pd = pytest.importorskip("pandas")
    from halluscope.readers import iter_input_records
    frame = pd.DataFrame({"index": [0, 1], "question": ["Is there a dog in the image?"] * 2,
                          "answer": ["Yes", "No"], "category": ["random"] * 2,
                          "image_path": ["COCO_val2014_000000000139.jpg", "['x/a.jpg']"],
                          "prediction": ["Yes", "No"]})
    tsv, lines = tmp_path / "pred.tsv", tmp_path / "pred.jsonl"
    frame.to_csv(tsv, sep="\t", index=False)
    lines.write_text("".join(json.dumps(r) + "\n" for r in frame.to_dict(orient="records")))
    read = {p.suffix: [(r.image, r.image_id) for r in iter_input_records(p)]
            for p in (tsv, lines)}
    assert read[".tsv"] == read[".jsonl"] == [("COCO_val2014_000000000139.jpg", 139),
                                              ("x/a.jpg", None)]
