"""A bad record of a one-line JSON array (``json.dump`` writes HallusionBench_result.json, AMBER's
response files so: the whole array on line 1) is listed with the element it is: every element
of such a file is "line 1", and rows with no id could not be told apart (``file:1`` twice);
now ``file:1 (element 57)``, in results.json's errors (``element``), the console and the HTML
report. A JSON Lines file or a table names its line alone, as before."""

from __future__ import annotations

import json
import pickle

from typer.testing import CliRunner

from halluscope.cli import app
from halluscope.errors import RecordError
from halluscope.records import Source


def _rows(n=6):
    return [{"question_id": f"q{i}", "image": f"{i}.jpg", "label": "yes", "response": "yes"}
            for i in range(n)]


def _audit(tmp_path, path):
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "pope", "--out", str(out),
                                   "--bootstrap", "0"], env={"COLUMNS": "400"})     # (unfolded)
    return res, json.loads((out / "results.json").read_text())


def test_a_metrics_bad_record_in_a_one_line_array_names_its_element(tmp_path):
    rows = _rows()
    rows[2]["label"] = "maybe"          # a reader's bad record
    rows[4]["label"] = "perhaps"
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(rows))   # one line
    res, results = _audit(tmp_path, path)
    assert res.exit_code == 0, res.output
    errors = sorted(results["errors"], key=lambda e: e["element"])
    assert [(e["line"], e["element"]) for e in errors] == [(1, 3), (1, 5)]
    text = " ".join(res.output.split())
    assert f"{path}:1 (element 3)" in text and f"{path}:1 (element 5)" in text, text
    assert "2 bad records" in text
    page = (tmp_path / "out" / "report.html").read_text()
    assert "answers.json:1 (element 3)" in page


def test_json_lines_name_the_line_alone(tmp_path):
    rows = _rows()
    rows[2]["label"] = "maybe"
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res, results = _audit(tmp_path, path)
    assert [e["line"] for e in results["errors"]] == [3]
    assert "element" not in results["errors"][0]
    assert "(element" not in res.output


def test_located_names_the_element_and_it_survives_pickling():
    err = RecordError("expected X, got Y", field="f").located(Source("a.json", 1, 57, True))
    assert (err.location.line, err.element) == (1, 57)
    assert err.to_dict()["element"] == 57
    again = pickle.loads(pickle.dumps(err))
    assert again.element == 57 and again.to_dict() == err.to_dict()
    # located by the metric itself at the record's line: the element is added all the same
    own = RecordError("bad", file="a.json", line=1).located(Source("a.json", 1, 9, True))
    assert own.element == 9
    # a table's row number is no element
    assert RecordError("bad").located(Source("a.csv", 4, 3)).element is None


def test_the_errors_text_names_the_element():
    err = RecordError("expected X, got Y", field="f").located(Source("a.json", 1, 1234, True))
    assert str(err) == "a.json:1 (element 1,234): field 'f': expected X, got Y"
    assert str(RecordError("bad", file="a.jsonl", line=3)) == "a.jsonl:3: bad"


def test_a_syntax_error_inside_an_element_names_it(tmp_path):
    """``"label" "yes"`` in element 58 of a one-line array: the error names the line and
    column, and now the element, after which nothing was read."""
    rows = _rows(100)
    text = json.dumps(rows)
    at = text.index('{"question_id": "q57"')
    text = text[:at] + text[at:].replace('"label": "yes"', '"label" "yes"', 1)
    path = tmp_path / "answers.json"
    path.write_text(text)
    res, results = _audit(tmp_path, path)
    (err,) = results["errors"]
    assert (err["line"], err["element"]) == (1, 58), err
    assert err["message"].startswith("invalid JSON array at line 1 column ")
    page = (tmp_path / "out" / "report.html").read_text()     # (the console folds a long path)
    assert "answers.json:1 (element 58)" in page
