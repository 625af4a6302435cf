"""A workbook (or Parquet file) naming a column twice is refused as a CSV or TSV one is: pandas
read the first ``response`` of an .xlsx and renamed the other ``response.1`` (kept as
metadata), so one of two answers that disagree was scored, in silence; a Parquet file so named
failed with pyarrow's error listing its whole schema."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import app
from halluscope.errors import InputError
from halluscope.readers import count_input_records

HEADER = ["question_id", "image", "prompt", "label", "response", "response"]
ROWS = [[f"q{i}", f"{i}.jpg", "Is there a dog in the image?", "yes", "yes", "no"]
        for i in range(12)]


def _xlsx(path, header=HEADER, rows=ROWS):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in [header, *rows]:
        book.active.append(row)
    book.save(path)
    return path


def _parquet(path, header=HEADER, rows=ROWS):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    pq.write_table(pa.table([pa.array(list(c)) for c in zip(*rows)], names=header), path)
    return path


def _audit(path, out):
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "pope", "--out", str(out),
                                   "--no-report", "-q"], env={"COLUMNS": "300"})
    return res.exit_code, " ".join(res.output.split())


def test_a_workbook_naming_a_column_twice_is_an_input_error(tmp_path):
    path = _xlsx(tmp_path / "answers.xlsx")
    code, said = _audit(path, tmp_path / "out")
    assert code == 2, said          # was: exit 0, every answer read as "yes", "no" kept aside
    assert (f"{path}:1: expected each column named once in the header, got 'response' twice "
            f"(columns 5 and 6, E and F in the sheet): pandas (and VLMEvalKit's read_excel) "
            f"would read the first and rename the other 'response.1'; rename or remove "
            f"one") in said, said
    assert not (tmp_path / "out" / "results.json").exists()
    with pytest.raises(InputError, match="twice"):       # counted as it is read: refused
        count_input_records(path)
    # columns with no name are pandas' to number; each named once is read
    _xlsx(path, ["question_id", None, "prompt", None, "label", "response"],
          [[r[0], "", r[2], "", r[3], r[4]] for r in ROWS])
    assert _audit(path, tmp_path / "out2")[0] == 0


def test_a_parquet_file_naming_a_column_twice_says_so(tmp_path):
    path = _parquet(tmp_path / "answers.parquet")
    code, said = _audit(path, tmp_path / "out")
    assert code == 2, said
    assert (f"{path}: expected each column named once in the schema, got 'response' twice "
            f"(columns 5 and 6)") in said, said
    assert "__filename" not in said             # not pyarrow's whole schema
    res = halluscope.audit(_parquet(tmp_path / "ok.parquet", HEADER[:-1],
                                    [r[:-1] for r in ROWS]),
                           metrics="pope", n_boot=0, out=tmp_path / "ok", write_report=False)
    assert res.metrics["pope"].results["accuracy"].value == 1.0
