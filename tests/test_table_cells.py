"""Tables and peer logs read as written: empty answer cells, JSON-looking text, quotes that
swallow rows, whitespace lines, ``*.GZ`` names, lmms-eval lines that hold no answer.

Every expected value is worked by hand from the few rows written in each test.
"""

import gzip
import json

import pytest

from halluscope.api import audit
from halluscope.errors import RecordError
from halluscope.readers import detect_format, iter_input_records, rows_of
from halluscope.records import Record, is_gzip_name, iter_records, open_binary, open_text

pd = pytest.importorskip("pandas")


def _split(items):
    good = [x for x in items if isinstance(x, Record)]
    bad = [x for x in items if isinstance(x, RecordError)]
    assert len(good) + len(bad) == len(items)
    return good, bad


# --- 1. an empty answer cell is a missing answer, never the truth beside it -------------------

ANSWERS_CSV = ("question_id,question,answer,prediction\n"
               "1,Is there a snowboard in the image?,yes,Yes\n"
               "2,Is there a car in the image?,no,Yes\n"
               "3,Is there a person in the image?,yes,\n"
               "4,Is there a sandwich in the image?,no,\n"
               "5,Is there a skis in the image?,yes,No\n"
               "6,Is there a couch in the image?,no,Yes\n")


def test_an_empty_prediction_cell_is_a_bad_record_not_the_truth(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(ANSWERS_CSV)
    good, bad = _split(list(iter_input_records(path)))
    assert [(e.location.line, e.location.field) for e in bad] == [(4, "prediction"),
                                                                  (5, "prediction")]
    assert all("got null" in e.message for e in bad)
    assert [(r.question_id, r.response, r.label) for r in good] == [
        ("1", "Yes", "yes"), ("2", "Yes", "no"), ("5", "No", "yes"), ("6", "Yes", "no")]
    # scored: q1 TP, q2 FP, q5 FN, q6 FP -> accuracy 1/4 (it was 0.5 with the truth of q3, q4
    # read as their answers)
    res = audit(path, metrics="pope", n_boot=0)
    assert res.get("pope.accuracy").value == pytest.approx(0.25)
    assert len(res.errors) == 2


def test_empty_or_nan_answer_cells_stay_as_null_and_other_empty_cells_are_left_out():
    frame = pd.DataFrame({"question_id": [1, 2], "response": ["Yes", float("nan")],
                          "caption": ["", "a dog"], "answer": ["yes", ""],
                          "image": ["", "x.jpg"], "category": [float("nan"), ""]})
    rows = rows_of(frame)
    assert rows[0] == {"question_id": 1, "response": "Yes", "caption": None, "answer": "yes"}
    assert rows[1] == {"question_id": 2, "response": None, "caption": "a dog", "answer": None,
                       "image": "x.jpg"}
    assert rows_of([{"prediction": float("nan"), "answer": "no", "tag": ""}]) == [
        {"prediction": None, "answer": "no"}]


def test_a_vlmevalkit_row_with_an_empty_prediction_names_prediction(tmp_path):
    path = tmp_path / "POPE.tsv"
    path.write_text("index\tquestion\tanswer\tprediction\n"
                    "1\tIs there a dog?\tYes\t\n"
                    "2\tIs there a cat?\tNo\tNo\n")
    assert detect_format(path) == "vlmevalkit"
    good, bad = _split(list(iter_input_records(path)))
    assert [(e.location.line, e.location.field, e.record_id) for e in bad] == [
        (2, "prediction", "1")]
    assert [(r.id, r.response, r.label) for r in good] == [("2", "No", "no")]


# --- 6. text columns keep JSON-looking text as written ----------------------------------------

def test_json_looking_text_cells_are_kept_as_written(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('question_id,question,answer,regions,metadata,note\n'
                    '1,[1] or [2]?,"{""answer"": ""no""}",'
                    '"[{""id"": 1, ""box"": [0, 0, 5, 5]}]","{""split"": ""dev""}",'
                    '"[""a"", ""b""]"\n')
    (rec,) = list(iter_input_records(path))
    assert rec.response == '{"answer": "no"}'
    assert rec.prompt == "[1] or [2]?"
    # structured columns are parsed, as they would be in a JSON line
    assert rec.metadata == {"regions": [{"id": 1, "box": [0, 0, 5, 5]}], "split": "dev",
                            "note": ["a", "b"]}


def test_a_vlmevalkit_prediction_is_never_rewritten_as_a_python_repr(tmp_path):
    path = tmp_path / "POPE.tsv"
    path.write_text('index\tquestion\tanswer\tcategory\timage_path\tprediction\n'
                    '1\tIs there a dog?\tNo\t["random"]\t'
                    '["COCO_val2014_000000000139.jpg", "b.jpg"]\t'
                    '{"answer": "no", "bbox": [1, 2, 3, 4]}\n')
    (rec,) = list(iter_input_records(path))
    assert rec.response == '{"answer": "no", "bbox": [1, 2, 3, 4]}'
    assert json.loads(rec.response)["bbox"] == [1, 2, 3, 4]
    assert rec.metadata["category"] == '["random"]'       # VLMEvalKit reads text: so do we
    assert rec.image == "COCO_val2014_000000000139.jpg" and rec.image_id == 139


# --- 4. a quote that swallows the rows after it -----------------------------------------------

def test_an_unclosed_quote_that_swallows_rows_is_a_bad_record_naming_the_lines(tmp_path):
    path = tmp_path / "pope.tsv"
    path.write_text("index\tquestion\tanswer\tprediction\n"
                    '1\tIs there a snowboard?\tYes\t"Yes, it is\n'
                    "2\tIs there a car?\tNo\tYes\n"
                    '3\tIs there a person?\tYes\tI think "no"\n'
                    "4\tIs there a sandwich?\tNo\tNo\n")
    pandas_rows = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    assert len(pandas_rows) == 2              # parsing is unchanged: the peer reads two rows
    good, bad = _split(list(iter_input_records(path)))
    (err,) = bad
    assert (err.location.line, err.location.field, err.record_id) == (2, "prediction", "1")
    assert "lines 3-4 of the file were read into this cell" in err.message
    assert "'\\t' expected after '\"'" in err.message
    assert [(r.id, r.response, r.source.line) for r in good] == [("4", "No", 5)]
    csv_path = tmp_path / "a.csv"
    csv_path.write_text("id,question,response\n"
                        '1,Is there a dog?,"Yes, one\n'
                        "2,Is there a cat?,No\n"
                        '3,Is there a cow?,"No" I think\n')
    good, bad = _split(list(iter_input_records(csv_path)))
    assert [(e.location.line, e.location.field) for e in bad] == [(2, "response")]
    assert "lines 3-4" in bad[0].message and good == []


def test_well_quoted_cells_over_several_lines_are_rows(tmp_path):
    frame = pd.DataFrame({"id": [1, 2, 3], "response": ['Yes, "a dog"\non a sofa', "No",
                                                        'a\n"quoted"\nthree lines']})
    path = tmp_path / "a.tsv"
    frame.to_csv(path, sep="\t", index=False)
    good, bad = _split(list(iter_input_records(path)))
    assert bad == []
    assert [(r.id, r.response, r.source.line) for r in good] == [
        ("1", 'Yes, "a dog"\non a sofa', 2), ("2", "No", 4), ("3", 'a\n"quoted"\nthree lines', 5)]


# --- 11. whitespace-only lines do not shift the lines reported --------------------------------

def test_a_whitespace_only_line_does_not_shift_line_numbers(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("question_id,question,answer\n"
                    "1,Is there a snowboard in the image?,Yes\n"
                    "   \n"
                    "2,Is there a car in the image?,No\n"
                    " \t \n"
                    "3,Is there a person in the image?,\n")
    good, bad = _split(list(iter_input_records(path)))
    assert [(r.question_id, r.source.line, r.source.index) for r in good] == [
        ("1", 2, 1), ("2", 4, 2)]
    assert [(e.location.line, e.location.field) for e in bad] == [(6, "answer")]


def test_a_tsv_line_of_tabs_is_a_blank_row_as_one_of_spaces_is_a_blank_line(tmp_path):
    # pandas skips a line of spaces in a TSV but reads "\t" as a row of empty cells (the tab
    # is the delimiter): lines are counted the same way; a row whose every cell is empty is
    # skipped, as an .xlsx's blank row is (tests/test_input_reads_left.py), the lines after it
    # named as they are
    path = tmp_path / "a.tsv"
    path.write_text("id\tresponse\n1\tYes\n  \n\t\n2\tNo\n\t\n3\t\n")
    items = list(iter_input_records(path))
    assert [(x.source.line, x.source.index) for x in items[:2]] == [(2, 1), (5, 2)]
    assert isinstance(items[2], RecordError) and items[2].location.field == "response"
    assert items[2].location.line == 7 and len(items) == 3


# --- 12. gzip in any case ---------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".gz", ".GZ", ".Gz"])
def test_gzip_inputs_are_decompressed_whatever_the_case_of_their_suffix(tmp_path, suffix):
    from halluscope.columns import read_record_columns
    lines = b'{"id": "a", "response": "Yes", "label": "yes"}\n' \
            b'{"id": "b", "response": "Yes", "label": "no"}\n'
    path = tmp_path / f"answers.jsonl{suffix}"
    path.write_bytes(gzip.compress(lines))
    assert is_gzip_name(path) and not is_gzip_name(tmp_path / "a.gzip")
    with open_binary(path) as fh:
        assert fh.read() == lines
    with open_text(path) as fh:
        assert fh.readline() == lines.decode().splitlines(True)[0]
    assert detect_format(path) == "jsonl"
    assert [(r.id, r.response) for r in iter_records(path)] == [("a", "Yes"), ("b", "Yes")]
    columns = read_record_columns(path)
    assert columns is not None and columns.column("id") == ["a", "b"]
    # a TP and an FP: accuracy 1/2, precision 1/2
    res = audit(path, metrics="pope", n_boot=0)
    assert res.get("pope.accuracy").value == pytest.approx(0.5)
    assert res.get("pope.precision").value == pytest.approx(0.5)


# --- 13. lmms-eval lines that hold no answer, or are of another format ------------------------

def _sample(doc_id, qid, resps, filtered):
    return {"doc_id": doc_id, "doc": {"question_id": qid, "question": "Is there a dog?",
                                      "answer": "yes"}, "target": "yes", "resps": resps,
            "filtered_resps": filtered}


def test_lmms_eval_reasons_name_filtered_resps_or_the_format_of_line_one(tmp_path):
    path = tmp_path / "samples_pope.jsonl"
    lines = [_sample(0, "1", [["Yes"]], ["Yes"]), _sample(1, "2", [[5]], [5]),
             _sample(2, "3", [], []), _sample(3, "4", [["Yes"]], [None]),
             {"question_id": 5, "question": "Is there a cat?", "answer": "No"},
             {"doc_id": 5, "doc": {"question_id": "6"}, "target": "no"}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    good, bad = _split(list(iter_input_records(path)))
    assert [(r.id, r.response) for r in good] == [("1", "Yes")]
    got = [(e.location.line, e.location.field, e.record_id, e.message) for e in bad]
    assert got[0] == (2, "filtered_resps", "2", "expected the model's answer as a string in "
                      "'filtered_resps', got int 5")
    assert got[1] == (3, "filtered_resps", "3", "expected the model's answer as a string in "
                      "'filtered_resps', got an empty list")
    # resps holds a string, but lmms-eval scored filtered_resps: no other answer is taken
    assert got[2] == (4, "filtered_resps", "4", "expected the model's answer as a string in "
                      "'filtered_resps', got null")
    assert got[3][:3] == (5, "filtered_resps", "5")
    assert "format was detected from line 1" in got[3][3]
    assert "keys: answer, question, question_id" in got[3][3]
    assert got[4][:3] == (6, "filtered_resps", "6") and "found neither" in got[4][3]
    forced = list(iter_input_records(path, "lmms-eval"))
    assert "--format lmms-eval says" in forced[4].message


def test_a_sample_without_filtered_resps_still_reads_resps(tmp_path):
    from halluscope.readers import lmms_eval_row
    row = lmms_eval_row({"doc_id": 0, "doc": {"question_id": "1"}, "resps": [["No."]]})
    assert row["response"] == "No."
    with pytest.raises(RecordError, match="in 'resps', got dict") as exc:
        lmms_eval_row({"doc_id": 0, "resps": [[{"text": "No."}]]})
    assert exc.value.location.field == "resps"


@pytest.mark.parametrize("suffix", [".gz", ".GZ"])
def test_a_pope_question_file_named_gz_in_any_case_is_decompressed(tmp_path, suffix):
    from halluscope.metrics.pope_questions import load_questions
    lines = b'{"question_id": 1, "image": "COCO_val2014_000000000139.jpg", ' \
            b'"text": "Is there a dog in the image?", "label": "yes"}\n' \
            b'{"question_id": 2, "image": "COCO_val2014_000000000139.jpg", ' \
            b'"text": "Is there a cat in the image?", "label": "no"}\n'
    path = tmp_path / f"questions.jsonl{suffix}"
    path.write_bytes(gzip.compress(lines))
    assert len(load_questions(path)) == 2
    answers = tmp_path / "answers.jsonl"
    answers.write_text('{"question_id": 1, "answer": "Yes"}\n{"question_id": 2, "answer": "No"}\n')
    res = audit(answers, metrics="pope", questions=path, n_boot=0)       # a TP and a TN
    assert res.get("pope.accuracy").value == pytest.approx(1.0)
    assert res.get("pope.yes_ratio").value == pytest.approx(0.5)


def test_a_quote_never_closed_is_an_input_error_naming_its_line(tmp_path):
    from halluscope.errors import InputError
    path = tmp_path / "a.tsv"
    path.write_text('id\tresponse\n1\tYes\n\n2\t"No, it\n3\tYes\n')
    with pytest.raises(InputError, match=r"a\.tsv:4: expected the quote opening a cell of this "
                                         r"row closed, got the end of the file"):
        list(iter_input_records(path))


def test_a_vlmevalkit_row_given_a_structure_as_prediction_is_not_stringified():
    from halluscope.readers import vlmevalkit_row
    from halluscope.records import record_from_dict
    row = vlmevalkit_row({"index": 3, "question": "Is there a dog?", "answer": "Yes",
                          "prediction": {"answer": "yes"}})
    with pytest.raises(RecordError, match="expected a string, got dict") as exc:
        record_from_dict(row, file="p.tsv", line=4)
    assert exc.value.location.field == "prediction"
    assert vlmevalkit_row({"index": 4, "prediction": 1})["response"] == "1"


def test_a_bad_rows_id_keeps_a_lone_surrogate_as_its_escape(tmp_path):
    """The id kept with a bad line comes from one helper (records.id_hint) in every reader;
    the table and lmms-eval readers' copies kept a lone surrogate, which items.jsonl cannot
    hold."""
    from halluscope.records import id_hint
    assert id_hint("q\ud83d") == "q\\ud83d" and id_hint(7) == "7"
    assert id_hint(True) is None and id_hint(["a"]) is None and len(id_hint("x" * 500)) == 200
