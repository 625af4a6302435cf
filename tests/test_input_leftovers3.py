"""Input-handling leftovers, each used first as a user would (`halluscope audit FILE`, or
`halluscope query --benchmark`), one test (or a few) each:

- a CSV of blank lines only was pandas' bare "No columns to parse from file";
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import halluscope

_LONG = "A dog. " * 30_000          # 210,000 characters: past the 200,000 parsed


def _cli(args: list[str]):
    from typer.testing import CliRunner

    from halluscope.cli import app
    return CliRunner().invoke(app, ["audit", *map(str, args), "--bootstrap", "0"])


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _pope_answers(n: int = 3) -> list[dict]:
    return [{"id": f"q{i}", "prompt": "Is there a dog in the image?", "response": "Yes",
             "label": "yes"} for i in range(n)]


# --- 1. a table of blank lines is an empty input, said with its name --------------------------

@pytest.mark.parametrize("name, data", [
    ("pred.csv", b"\n\n\n"), ("pred.tsv", b"\r\n \t\r\n"), ("pred.csv", b"\xef\xbb\xbf\n\n"),
    ("pred.csv.gz", gzip.compress(b"\n \n", mtime=0)), ("pred.jsonl", b"\n  \n\n")],
    ids=["csv", "tsv", "bom", "gz", "jsonl"])
def test_a_file_of_blank_lines_is_an_empty_input_named_as_such(tmp_path, name, data, caplog):
    """A CSV/TSV was "cannot read this file (as csv: EmptyDataError: No columns to parse from
    file)"; JSON lines of blank lines said nothing at all. Alone: nothing scored, exit 2, the
    file named; beside another input: that one is scored, the blank one said."""
    path = tmp_path / name
    path.write_bytes(data)
    res = _cli([path, "--metric", "pope", "--out", tmp_path / "out", "--no-report"])
    assert res.exit_code == 2, res.output
    said = [r.getMessage() for r in caplog.records if str(path) in r.getMessage()]
    assert said and "holds only blank lines (no header, no line of data)" in said[0], said
    assert "No columns to parse" not in res.output and "holds no records" in res.output
    caplog.clear()
    good = _write(tmp_path / "good.jsonl", _pope_answers())
    res = _cli([good, path, "--metric", "pope", "--out", tmp_path / "out2", "--no-report"])
    assert res.exit_code == 0, res.output
    assert any(str(path) in r.getMessage() for r in caplog.records)


def test_a_file_holding_data_is_not_blank():
    from halluscope.textfiles import is_blank_file
    assert not is_blank_file(Path(__file__))


def test_blank_file_reads_past_its_first_block(tmp_path):
    from halluscope.textfiles import is_blank_file
    path = tmp_path / "late.csv"
    path.write_bytes(b"\n" * 200_000 + b"id,response\n")
    assert not is_blank_file(path)
    path.write_bytes(b"\n" * 200_000 + "\u00a0\n".encode())     # no-break space: blank
    assert is_blank_file(path)
