"""An answer file (a table or JSON lines) in which one answer lacks its question_id (hunt
report, bug 9): the file aligns by id, that answer is one bad record naming file, line and
field question_id, the others are scored by id; no abort with a count the file does not have
("has 3 answers" for six rows) and no warning that questions went unanswered."""

from __future__ import annotations

import json
import logging

import pytest

import halluscope
from halluscope.errors import AlignmentError
from halluscope.metrics.pope import PopeMetric
from halluscope.tables import table_columns

OBJECTS = ["snowboard", "car", "person", "sandwich", "skis", "couch"]
LABELS = ["yes", "no", "yes", "no", "yes", "no"]
ANSWERS = ["Yes", "No", "Yes", "No", "Yes", "No"]


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps({"question_id": i, "image": f"{i}.jpg",
                                        "text": f"Is there a {o} in the image?", "label": y})
                            + "\n" for i, (o, y) in enumerate(zip(OBJECTS, LABELS), 1)))
    return path


def _rows(without_id=3):
    rows = []
    for i, (obj, answer) in enumerate(zip(OBJECTS, ANSWERS), 1):
        row = {"question_id": i, "question": f"Is there a {obj} in the image?",
               "answer": answer}
        if i == without_id:
            row["question_id"] = None
        rows.append(row)
    return rows


def _write(tmp_path, suffix, rows):
    import pandas as pd
    path = tmp_path / f"a{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps({k: v for k, v in r.items() if v is not None})
                                + "\n" for r in rows))
        return path
    frame = pd.DataFrame(rows)
    if suffix in (".csv", ".tsv") and "question_id" in frame:
        frame["question_id"] = frame["question_id"].map(
            lambda v: "" if v is None or v != v else str(int(v)))
        frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    elif suffix == ".parquet":
        frame["question_id"] = frame["question_id"].astype("Int64")
        frame.to_parquet(path)
    elif suffix in (".csv", ".tsv"):
        frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    else:
        frame.to_excel(path, index=False)
    return path


@pytest.mark.parametrize("suffix, line", [(".csv", 4), (".tsv", 4), (".xlsx", 4),
                                          (".parquet", 3), (".jsonl", 3)])
def test_a_row_without_question_id_is_one_bad_record(tmp_path, questions, suffix, line,
                                                     caplog):
    """Rows 1, 2, 4, 5, 6 scored by id, all right: yes on q1 and q5 (tp 2), no on q2, q4, q6
    (tn 3), accuracy 1.0 over 5; row 3 the bad record (line 4 of a table with its header,
    row 3 of Parquet, line 3 of JSON lines)."""
    path = _write(tmp_path, suffix, _rows())
    with caplog.at_level(logging.WARNING):
        result = halluscope.audit(path, metrics="pope", questions=questions, n_boot=0,
                                  out=tmp_path / "o", write_report=False)
    r = result.metrics["pope"]
    assert r.n == 5
    values = {k: r.results[k].value for k in ("tp", "fp", "tn", "fn", "accuracy")}
    assert values == {"tp": 2, "fp": 0, "tn": 3, "fn": 0, "accuracy": 1.0}
    assert [(e["file"], e["line"], e["field"]) for e in result.errors] == [
        (str(path), line, "question_id")]
    assert "aligning this one by its position would be a guess" in result.errors[0]["message"]
    assert "got no scorable answer" not in caplog.text      # (no by-order guess)
    assert "1 of 6 questions of question file" in caplog.text   # (the row without its id)
    assert r.info["unanswered_questions"] == 1


def test_a_table_without_a_question_id_column_still_aligns_by_order(tmp_path, questions):
    """VLMEvalKit-style rows without ids align by row; all six right: tp 3, tn 3."""
    rows = [{k: v for k, v in r.items() if k != "question_id"} for r in _rows(0)]
    path = _write(tmp_path, ".csv", rows)
    result = halluscope.audit(path, metrics="pope", questions=questions, n_boot=0,
                              out=tmp_path / "o", write_report=False)
    r = result.metrics["pope"]
    assert (r.n, r.results["tp"].value, r.results["tn"].value) == (6, 3, 3)
    assert result.errors == []


def test_a_short_table_aligned_by_order_is_refused_with_what_is_known(tmp_path, questions):
    """Five rows by order against six questions: refused naming the last row aligned (5),
    not a count of the file's lines."""
    rows = [{k: v for k, v in r.items() if k != "question_id"} for r in _rows(0)][:5]
    path = _write(tmp_path, ".csv", rows)
    with pytest.raises(AlignmentError, match="last answer aligned by order is row 5 .* has 6"):
        halluscope.audit(path, metrics="pope", questions=questions, n_boot=0,
                         out=tmp_path / "o", write_report=False)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".xlsx"])
def test_table_columns_reads_the_header(tmp_path, suffix):
    path = _write(tmp_path, suffix, _rows(0))
    assert table_columns(path) == ["question_id", "question", "answer"]


def test_an_unreadable_table_is_left_to_the_table_reader(tmp_path, questions):
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"not a workbook")
    assert table_columns(path) is None
    metric = PopeMetric(questions, n_boot=0)
    metric.begin([path])            # nothing learnt, nothing refused
    assert metric._files == {}


@pytest.mark.parametrize("suffix, line", [(".csv", 4), (".tsv", 4)])
def test_a_gzipped_answer_table_is_read_as_its_table_without_format(tmp_path, questions,
                                                                    suffix, line):
    """``a.csv.gz`` with no ``--format``: its suffix ``.gz`` made it gzipped JSON lines (every
    row a bad line, nothing scored); its inner suffix names the table. It scores as the plain
    table does, by id (the header is read through gzip), naming the same bad row."""
    import gzip
    plain = _write(tmp_path, suffix, _rows())
    packed = tmp_path / f"a{suffix}.GZ"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert table_columns(packed) == ["question_id", "question", "answer"]
    from halluscope.readers import detect_format
    assert detect_format(packed) == suffix[1:]
    runs = [halluscope.audit(p, metrics="pope", questions=questions, n_boot=0,
                             out=tmp_path / f"o{i}", write_report=False)
            for i, p in enumerate((plain, packed))]
    for path, result in zip((plain, packed), runs):
        r = result.metrics["pope"]
        assert (r.n, r.results["tp"].value, r.results["tn"].value) == (5, 2, 3)
        assert [(e["file"], e["line"], e["field"]) for e in result.errors] == [
            (str(path), line, "question_id")]


def test_a_gzipped_table_without_ids_aligns_by_order_and_a_short_one_is_refused(tmp_path,
                                                                              questions):
    """Alignment by order reads a gzipped table's header too: six rows score, five are
    refused as the plain table is."""
    import gzip
    rows = [{k: v for k, v in r.items() if k != "question_id"} for r in _rows(0)]
    for n, name in ((6, "full"), (5, "short")):
        plain = _write(tmp_path, ".tsv", rows[:n])
        packed = tmp_path / f"{name}.tsv.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        if n == 6:
            result = halluscope.audit(packed, metrics="pope", questions=questions, n_boot=0,
                                      out=tmp_path / "o", write_report=False)
            assert (result.metrics["pope"].n, result.errors) == (6, [])
        else:
            with pytest.raises(AlignmentError, match="row 5 .* has 6"):
                halluscope.audit(packed, metrics="pope", questions=questions, n_boot=0,
                                 out=tmp_path / "o2", write_report=False)
