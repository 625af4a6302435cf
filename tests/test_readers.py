"""Readers for tables, peer logs and in-memory frames: one POPE set, every layout, same numbers."""

import json

import pytest
from typer.testing import CliRunner

from halluscope.cli import EXIT_USAGE, app
from halluscope.errors import ConfigError, InputError
from halluscope.api import audit
from halluscope.readers import FORMATS, detect_format, iter_input_records, rows_of
from halluscope.records import Record

pd = pytest.importorskip("pandas")

# six questions on two images; answers chosen by hand: TP=2, FP=1, TN=2, FN=1
# (accuracy 4/6, precision 2/3, recall 2/3, yes_ratio 3/6)
QUESTIONS = [
    (1, 139, "Is there a dog in the image?", "yes", "Yes, there is a dog."),
    (2, 139, "Is there a cat in the image?", "no", "No."),
    (3, 139, "Is there a car in the image?", "yes", "No, there is not."),
    (4, 285, "Is there a bear in the image?", "yes", "Yes"),
    (5, 285, "Is there a chair in the image?", "no", "Yes, a chair."),
    (6, 285, "Is there a tie in the image?", "no", "no"),
]


def _jsonl(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps({"question_id": q, "image_id": img, "prompt": text,
                                        "label": lab, "response": ans}) + "\n"
                            for q, img, text, lab, ans in QUESTIONS))
    return path


def _frame():
    return pd.DataFrame([{"question_id": q, "image_id": img, "prompt": text, "label": lab,
                          "response": ans} for q, img, text, lab, ans in QUESTIONS])


def _vlmevalkit_frame():
    return pd.DataFrame([{"index": q, "image": "iVBORw0KGgo=", "question": text,
                          "answer": lab.capitalize(), "category": "random", "image_path":
                          f"COCO_val2014_{img:012d}.jpg", "prediction": ans}
                         for q, img, text, lab, ans in QUESTIONS])


def _lmms_current(tmp_path):
    """lmms-eval >= 0.4 samples file: no doc, per-metric dicts carry the question id."""
    path = tmp_path / "samples_pope.jsonl"
    lines = []
    for i, (q, img, text, lab, ans) in enumerate(QUESTIONS):
        metric = {"question_id": str(q), "score": 0.0, "prediction": ans.lower(),
                  "ground_truth": lab}
        lines.append({"doc_id": i, "target": lab, "filtered_resps": [ans],
                      "pope_accuracy": metric, "pope_precision": metric,
                      "doc_hash": "x", "input": text})
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def _lmms_old(tmp_path):
    """lmms-eval < 0.4 samples file: the doc, arguments and nested resps are logged."""
    path = tmp_path / "samples_pope_old.json"
    lines = []
    for i, (q, img, text, lab, ans) in enumerate(QUESTIONS):
        doc = {"question_id": str(q), "question": text, "answer": lab,
               "image_source": f"COCO_val2014_{img:012d}", "category": "adversarial"}
        lines.append({"doc_id": i, "doc": doc, "target": lab,
                      "arguments": [[text + "\nAnswer the question using a single word or "
                                     "phrase.", {"max_new_tokens": 128}]],
                      "resps": [[ans]], "filtered_resps": [ans]})
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def _pope_numbers(result):
    return {k: result.get(f"pope.{k}").value for k in ("accuracy", "precision", "recall", "f1",
                                                        "yes_ratio")}


EXPECTED = {"accuracy": 4 / 6, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "yes_ratio": 0.5}


def test_hand_worked_jsonl_baseline(tmp_path):
    res = audit(_jsonl(tmp_path), metrics="pope", n_boot=0)
    assert _pope_numbers(res) == pytest.approx(EXPECTED)


@pytest.mark.parametrize("suffix", ["csv", "tsv", "parquet", "xlsx"])
def test_tables_map_columns_like_json_fields(tmp_path, suffix):
    if suffix == "parquet":
        pytest.importorskip("pyarrow")
    if suffix == "xlsx":
        pytest.importorskip("openpyxl")
    path = tmp_path / f"answers.{suffix}"
    frame = _frame()
    {"csv": lambda: frame.to_csv(path, index=False),
     "tsv": lambda: frame.to_csv(path, sep="\t", index=False),
     "parquet": lambda: frame.to_parquet(path),
     "xlsx": lambda: frame.to_excel(path, index=False)}[suffix]()
    assert detect_format(path) == suffix
    recs = list(iter_input_records(path))
    assert all(isinstance(r, Record) for r in recs)
    assert recs[0].question_id == "1" and recs[0].image_id == 139 and recs[0].label == "yes"
    res = audit(path, metrics="pope", n_boot=0)
    assert _pope_numbers(res) == pytest.approx(EXPECTED)


def test_table_row_errors_name_file_and_row(tmp_path):
    path = tmp_path / "bad.csv"
    frame = _frame()
    frame.loc[2, "label"] = "maybe"
    frame.to_csv(path, index=False)
    items = list(iter_input_records(path))
    bad = [x for x in items if not isinstance(x, Record)]
    assert len(bad) == 1
    assert bad[0].location.line == 4            # the third data row, on the file's line 4
    assert "expected 'yes' or 'no'" in str(bad[0])


@pytest.mark.parametrize("suffix", ["tsv", "xlsx"])
def test_vlmevalkit_prediction_files(tmp_path, suffix):
    if suffix == "xlsx":
        pytest.importorskip("openpyxl")
    path = tmp_path / f"llava_POPE.{suffix}"
    frame = _vlmevalkit_frame()
    if suffix == "tsv":
        frame.to_csv(path, sep="\t", index=False)
    else:
        frame.to_excel(path, index=False)
    assert detect_format(path) == "vlmevalkit"
    rec = next(iter_input_records(path))
    assert (rec.id, rec.label, rec.image_id, rec.response) == ("1", "yes", 139,
                                                               "Yes, there is a dog.")
    assert rec.metadata["category"] == "random" and "image" not in rec.metadata
    res = audit(path, metrics="pope", n_boot=0, pope_parser="vlmevalkit")
    assert _pope_numbers(res) == pytest.approx(EXPECTED)


def test_vlmevalkit_hallusionbench_numeric_answers():
    from halluscope.readers import vlmevalkit_row
    row = vlmevalkit_row({"index": 7, "question": "Is the left line longer?", "answer": 0,
                          "prediction": "No", "category": "VD", "set_id": 2})
    assert row["label"] == "no" and row["metadata"] == {"index": 7, "category": "VD", "set_id": 2}


@pytest.mark.parametrize("layout", [_lmms_current, _lmms_old])
def test_lmms_eval_samples_files(tmp_path, layout):
    path = layout(tmp_path)
    assert detect_format(path) == "lmms-eval"
    rec = next(iter_input_records(path))
    assert rec.id == "1" and rec.question_id == "1" and rec.label == "yes"
    assert rec.prompt.startswith("Is there a dog") and rec.response == "Yes, there is a dog."
    assert rec.metadata["doc_id"] == 0
    if layout is _lmms_old:
        assert rec.image_id == 139 and rec.metadata["category"] == "adversarial"
    res = audit(path, metrics="pope", n_boot=0)
    assert _pope_numbers(res) == pytest.approx(EXPECTED)
    # lmms-eval's own parser counts only an exact "yes"/"no" as an answer: of the six, only
    # "Yes" (q4, TP) and "no" (q6, TN) are right, so accuracy 2/6 and precision 1/1
    res = audit(path, metrics="pope", n_boot=0, pope_parser="lmms-eval")
    assert res.get("pope.accuracy").value == pytest.approx(1 / 3)
    assert res.get("pope.precision").value == pytest.approx(1.0)


def test_lmms_eval_samples_without_doc_id(tmp_path):
    """Early logs carry the doc and its responses but no doc_id: still lmms-eval samples (they
    were read as plain JSON lines, where every line lacked a response), with the question id
    from the doc."""
    old = _lmms_old(tmp_path)
    lines = [json.loads(x) for x in old.read_text().splitlines()]
    for x in lines:
        del x["doc_id"], x["filtered_resps"]
    path = tmp_path / "samples_no_doc_id.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert detect_format(path) == "lmms-eval"
    recs = list(iter_input_records(path))
    assert [r.id for r in recs] == [str(q[0]) for q in QUESTIONS]
    assert "doc_id" not in recs[0].metadata and recs[0].response == "Yes, there is a dog."
    assert _pope_numbers(audit(path, metrics="pope", n_boot=0)) == pytest.approx(EXPECTED)
    for x in lines:
        del x["doc"]["question_id"]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    recs = list(iter_input_records(path))
    # then the id is what any line without one gets: its image id (never "None")
    assert [r.id for r in recs] == [f"COCO_val2014_{q[1]:012d}" for q in QUESTIONS]


def test_lmms_eval_caption_sample_keeps_image_id(tmp_path):
    from halluscope.readers import lmms_eval_row
    row = lmms_eval_row({"doc_id": 3, "target": ["a dog on a sofa"],
                         "filtered_resps": [["A dog lies on a sofa."]],
                         "coco_cap_chair": {"image_id": 139, "caption": "..."}})
    assert row["image_id"] == 139 and row["response"] == "A dog lies on a sofa."
    assert "label" not in row and row["metadata"]["target"] == ["a dog on a sofa"]


def test_dataframe_and_dataset_like_records():
    res = audit(records=_frame(), metrics="pope", n_boot=0)
    assert _pope_numbers(res) == pytest.approx(EXPECTED)
    rows = rows_of(_frame())
    assert rows[0]["question_id"] == 1 and isinstance(rows[0]["image_id"], int)
    with pytest.raises(ConfigError, match="DataFrame"):
        rows_of({"question_id": 1})


def test_hf_dataset_records():
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_pandas(_frame())
    res = audit(records=ds, metrics="pope", n_boot=0)
    assert _pope_numbers(res) == pytest.approx(EXPECTED)


def test_forced_format_and_unknown_format(tmp_path):
    path = tmp_path / "answers.dat"
    _frame().to_csv(path, index=False)
    res = audit(path, metrics="pope", n_boot=0, input_format="csv")
    assert _pope_numbers(res) == pytest.approx(EXPECTED)
    with pytest.raises(ConfigError) as exc:
        list(iter_input_records(path))
    for name in FORMATS:
        assert name in str(exc.value)
    out = CliRunner().invoke(app, ["audit", str(path), "--metric", "pope", "--out",
                                   str(tmp_path / "o"), "-q"])
    assert out.exit_code == EXIT_USAGE
    assert "lmms-eval" in out.output and "vlmevalkit" in out.output
    out = CliRunner().invoke(app, ["audit", str(path), "--metric", "pope", "--format", "csv",
                                   "--out", str(tmp_path / "o"), "-q", "--bootstrap", "0"])
    assert out.exit_code == 0, out.output


def test_parquet_without_suffix_is_detected_by_magic(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "answers.bin"
    _frame().to_parquet(path)
    assert detect_format(path) == "parquet"


def test_lmms_eval_hallusion_bench_doc_with_numeric_answer():
    from halluscope.readers import lmms_eval_row
    row = lmms_eval_row({"doc_id": 0, "target": "1", "filtered_resps": ["Yes."],
                         "doc": {"question_id": "0", "question": "Is the left line longer?",
                                 "gt_answer": "1", "category": "VD", "set_id": "0"},
                         "aAcc": {"question_id": "0", "answer": "Yes."}})
    assert row["label"] == "yes" and row["metadata"]["category"] == "VD"


def test_a_bad_row_or_element_is_named_by_its_line_in_the_file(tmp_path):
    """A bad JSON-array element was reported by its element number and a table row by its
    data-row number (header not counted); both now name the file line where they start, while
    the element or row number stays their position (ids, by-order alignment)."""
    import json

    from halluscope.metrics.positions import position
    pretty = tmp_path / "a.json"
    pretty.write_text(json.dumps([{"id": 1005, "response": "Yes"}, {"response": "No"},
                                  {"id": 1008, "response": 7}], indent=4))
    items = list(iter_input_records(pretty))
    assert [x.source.line for x in items[:2]] == [2, 6]
    assert items[1].id == "2" and position(items[1]) == 1      # the element's number
    assert items[2].location.line == 9 and items[2].location.field == "response"
    table = tmp_path / "t.csv"
    table.write_text('id,response,label\n1,Yes,yes\n2,"two\nlines",no\n\n3,No,maybe\n')
    rows = list(iter_input_records(table))
    assert [r.source.line for r in rows[:2]] == [2, 3]
    assert [position(r) for r in rows[:2]] == [0, 1]
    assert rows[2].location.line == 6 and rows[2].location.field == "label"


@pytest.mark.parametrize("suffix", ["parquet", "xlsx", "csv"])
def test_a_table_is_detected_by_its_header_alone(tmp_path, suffix):
    """detect_format reads a table's header only (halluscope.tables, the one header reader
    POPE uses too): a VLMEvalKit table is told by it; a damaged table is its suffix's format
    and its reader names the file, as before."""
    pytest.importorskip({"parquet": "pyarrow", "xlsx": "openpyxl", "csv": "pandas"}[suffix])
    path = tmp_path / f"preds.{suffix}"
    frame = _vlmevalkit_frame()
    {"parquet": lambda: frame.to_parquet(path), "xlsx": lambda: frame.to_excel(path, index=False),
     "csv": lambda: frame.to_csv(path, index=False)}[suffix]()
    assert detect_format(path) == "vlmevalkit"
    damaged = tmp_path / f"damaged.{suffix}"
    damaged.write_bytes(b"PAR1\x00\x01" if suffix != "csv" else b"\n\n")
    assert detect_format(damaged) == suffix
    if suffix == "csv":     # blank lines only: an empty input (said by check_readable)
        assert list(iter_input_records(damaged)) == []
        damaged.write_bytes(b"id,response\nq1,Yes,x\n")     # a cell more than its header
        assert detect_format(damaged) == suffix
        with pytest.raises(InputError, match="damaged.csv:2: expected each row to hold"):
            list(iter_input_records(damaged))
        return
    with pytest.raises(ConfigError, match=f"damaged.{suffix}: cannot read this file"):
        list(iter_input_records(damaged))


@pytest.mark.parametrize("name", ["rows.jsonl", "rows.json", "rows"])
def test_forced_vlmevalkit_format_reads_json_lines_rows_as_json(tmp_path, name):
    """VLMEvalKit rows written as JSON lines, ``--format vlmevalkit``: read as when the format
    is detected (the rows' ``answer`` the truth, ``prediction`` the answer), not as a TSV whose
    header is the first line. By hand: TP=2, FP=1, TN=2, FN=1 as EXPECTED."""
    path = tmp_path / name
    path.write_text("".join(json.dumps({"index": q, "question": text, "answer": label.title(),
                                        "category": "random", "prediction": answer}) + "\n"
                            for q, _, text, label, answer in QUESTIONS))
    detected = audit(path, metrics="pope", n_boot=0, pope_parser="vlmevalkit") \
        if name != "rows" else None
    forced = audit(path, metrics="pope", n_boot=0, pope_parser="vlmevalkit",
                   input_format="vlmevalkit")
    assert not forced.errors and forced.metrics["pope"].n == 6
    assert _pope_numbers(forced) == pytest.approx(EXPECTED)
    if detected is not None:
        assert _pope_numbers(detected) == _pope_numbers(forced)
    out = CliRunner().invoke(app, ["audit", str(path), "--metric", "pope", "--format",
                                   "vlmevalkit", "--pope-parser", "vlmevalkit", "--out",
                                   str(tmp_path / "o"), "-q", "--bootstrap", "0"])
    assert out.exit_code == 0, out.output


@pytest.mark.parametrize("suffix", ["tsv", "csv"])
def test_forced_vlmevalkit_format_reads_a_gzipped_table_as_the_table(tmp_path, suffix):
    """``x.tsv.gz`` with ``--format vlmevalkit``: its suffix ``.gz`` made it gzipped JSON lines
    (every row a bad line), where it had been read through pandas; a gzipped name whose inner
    suffix is a table's is that table. Scores and counts as the plain table does (EXPECTED)."""
    import gzip

    from halluscope.readers import count_input_records
    plain = tmp_path / f"rows.{suffix}"
    _vlmevalkit_frame().to_csv(plain, sep="\t" if suffix == "tsv" else ",", index=False)
    packed = tmp_path / f"rows.{suffix}.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    results = [audit(path, metrics="pope", n_boot=0, pope_parser="vlmevalkit",
                     input_format="vlmevalkit") for path in (plain, packed)]
    for res in results:
        assert not res.errors and res.metrics["pope"].n == 6
        assert _pope_numbers(res) == pytest.approx(EXPECTED)
    assert [i.get("source", "").rsplit(":", 1)[-1] for i in results[1].items] == \
        [i.get("source", "").rsplit(":", 1)[-1] for i in results[0].items]   # same lines
    assert count_input_records(packed, "vlmevalkit") == count_input_records(
        plain, "vlmevalkit") == 6
