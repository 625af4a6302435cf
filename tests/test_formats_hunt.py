"""Input files as the peers write them today, read as they are (the formats hunt): each test
writes a small file in the peer's documented layout and checks what halluscope reads from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import halluscope
from halluscope.readers import iter_input_records


def _lines(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# -- lmms-eval >= 0.4: the doc is no longer logged ------------------------------------------

def _hb_doc(fig: str, qid: str, truth: str) -> dict:
    return {"category": "VD", "subcategory": "illusion", "visual_input": "1", "set_id": "0",
            "figure_id": fig, "sample_note": "circle", "question_id": qid,
            "question": f"Is it so ({fig}, {qid})?", "gt_answer_details": "It is so.",
            "gt_answer": truth, "filename": f"./VD/illusion/0_{fig}.png"}


def _hb_samples(new: bool) -> list[dict]:
    """lmms-eval's hallusion_bench_image samples: hb_process_results returns the doc (less its
    image) plus model_prediction under aAcc, fAcc and qAcc. Since 0.4 the logger pops ``doc``
    and ``arguments``, writes ``input`` and ``str(target)`` (``gt_answer_details``), and since
    0.7 flattens a one-element ``filtered_resps`` to its string."""
    cells = [("0", "0", "1", "Yes."), ("0", "1", "0", "Yes."), ("1", "0", "0", "No, it is not."),
             ("1", "1", "1", "yes")]
    out = []
    for d, (fig, qid, truth, answer) in enumerate(cells):
        doc = _hb_doc(fig, qid, truth)
        per_metric = {k: {**doc, "model_prediction": answer} for k in ("aAcc", "fAcc", "qAcc")}
        if new:
            out.append({"doc_id": d, "target": doc["gt_answer_details"],
                        "filtered_resps": answer, "token_counts": [None], "doc_hash": "h",
                        **per_metric, "input": doc["question"]})
        else:
            out.append({"doc_id": d, "doc": doc, "target": doc["gt_answer_details"],
                        "arguments": [[doc["question"], {"max_new_tokens": 128}]],
                        "resps": [[answer]], "filtered_resps": [answer], **per_metric})
    return out


@pytest.mark.parametrize("new", [True, False], ids=["lmms-eval>=0.4", "lmms-eval<0.4"])
def test_lmms_eval_hallusionbench_samples_without_doc_are_scored(tmp_path, new):
    """Since lmms-eval 0.4 a samples line has no ``doc``: HallusionBench's fields (category,
    set, figure, gt_answer) are only in the per-metric dicts hb_process_results fills. They
    were not read, so no sample was a HallusionBench item: "scored nothing" (exit 2)."""
    path = _lines(tmp_path / "samples_hallusion_bench_image.jsonl", _hb_samples(new))
    result = halluscope.audit(path, metrics="hallusionbench", out=tmp_path / "out", n_boot=0,
                              write_report=False,
                              options={"hallusionbench_variant": "vlmevalkit"})
    got = {k: (r.value, r.n) for k, r in result.metrics["hallusionbench"].results.items()}
    # (0,0) right, (0,1) wrong, (1,0) right, (1,1) right: figure 0 broken, pair 1 broken
    assert got["aacc"] == (0.75, 4) and got["facc"] == (0.5, 2) and got["qacc"] == (0.5, 2)
    assert not result.errors
    records = list(iter_input_records(path))
    assert [r.label for r in records] == ["yes", "no", "no", "yes"]
    assert records[2].response == "No, it is not."       # filtered_resps, not the copy
    assert records[0].metadata["category"] == "VD" and records[0].metadata["figure_id"] == "0"
    assert "model_prediction" not in records[0].metadata


# -- Excel: a text answer that pandas' NA list names is an answer, not an empty cell ----------

NA_WORDS = ["None", "N/A", "NA", "null", "nan", "NULL", "n/a"]


@pytest.mark.parametrize("layout", ["vlmevalkit", "xlsx"])
def test_xlsx_answers_pandas_calls_missing_are_read_as_written(tmp_path, layout):
    """pd.read_excel turns the cell text "None", "N/A", "NA", "null", "nan" ... into NaN by
    default, and an empty answer cell is a missing answer: each such row was a bad record
    ("got null") although the model wrote that text, while the same file as TSV or CSV was
    read as written. An empty cell is still a missing answer."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("openpyxl")
    answers = NA_WORDS + ["", "Yes"]
    rows = [{"index": i, "question": "Is there a dog in the image?", "answer": "No",
             "category": "random", "prediction": a} for i, a in enumerate(answers)]
    if layout == "xlsx":
        rows = [{"id": r["index"], "prompt": r["question"], "label": "no",
                 "response": r["prediction"]} for r in rows]
    path = tmp_path / f"model_POPE_{layout}.xlsx"
    pd.DataFrame(rows).to_excel(path, index=False)
    got = list(iter_input_records(path))
    assert [getattr(r, "response", None) for r in got] == NA_WORDS + [None, "Yes"]
    empty = got[len(NA_WORDS)]
    assert not hasattr(empty, "response") and "got null" in str(empty)
    assert [r.id for r in got if hasattr(r, "response")] == [str(i) for i in range(7)] + ["8"]


# -- a table that is not UTF-8 ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["model_POPE.tsv", "model_POPE.csv.gz"])
def test_a_table_not_in_utf8_names_its_line_not_an_unknown_format(tmp_path, name):
    """A TSV/CSV saved as Windows-1252 or Latin-1 (Excel's "CSV") made pandas raise
    UnicodeDecodeError, reported as "cannot read this file ... expected one of the formats
    jsonl, lmms-eval, ... (pass --format to force one)": a format problem it is not, with a
    byte offset into pandas' read buffer and no line. It now names the line and the byte."""
    import gzip

    from typer.testing import CliRunner

    from halluscope.cli import EXIT_USAGE, app
    sep = "\t" if ".tsv" in name else ","
    text = (f"index{sep}question{sep}answer{sep}prediction\r\n"
            f"1{sep}Is there a dog?{sep}Yes{sep}Yes\r\n"
            f"2{sep}Is there a café?{sep}No{sep}Pas de café\r\n")
    data = text.encode("latin-1")
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "pope", "--no-report",
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == EXIT_USAGE, res.output
    out = " ".join(res.output.split())
    assert f"{path}:3: expected a table in UTF-8" in out and "byte 0xe9" in out
    assert "expected one of the formats" not in out


# -- one JSON object written over many lines -------------------------------------------------

def _lmms_results(path: Path) -> Path:
    """lmms-eval's aggregated ``<date>_results.json``, written beside the samples files with
    json.dumps(indent=2): metrics per task, no answers."""
    path.write_text(json.dumps({
        "results": {"pope_pop": {"alias": "pope_pop", "pope_accuracy,none": 0.86,
                                 "pope_accuracy_stderr,none": "N/A"}},
        "group_subtasks": {"pope_pop": []}, "configs": {"pope_pop": {"task": "pope_pop"}},
        "versions": {"pope_pop": "Yaml"}, "n-shot": {"pope_pop": 0},
        "config": {"model": "llava", "model_args": "pretrained=liuhaotian/llava-v1.5-7b"},
        "git_hash": "abc123", "date": "20260806_101010"}, indent=2))
    return path


@pytest.mark.parametrize("what", ["lmms-eval results", "other object"])
def test_a_pretty_printed_json_object_is_one_clear_error(tmp_path, what):
    """A JSON object spread over lines (lmms-eval's results_*.json beside its samples files,
    any json.dump(indent=2) of one object) was read as JSON lines: one "invalid JSON at column
    N: Extra data" bad record per line (dozens for a results file) and "pope scored nothing".
    It is now one input error (exit 2) saying what the file is and what to pass instead."""
    from typer.testing import CliRunner

    from halluscope.cli import EXIT_USAGE, app
    if what == "lmms-eval results":
        path = _lmms_results(tmp_path / "20260806_101010_results.json")
    else:
        path = tmp_path / "answers.json"
        path.write_text("\ufeff" + json.dumps({"question_id": 1, "text": "Yes"}, indent=2))
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "pope", "--no-report",
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == EXIT_USAGE, res.output
    out = " ".join(res.output.split())
    assert "invalid JSON" not in out and "Extra data" not in out
    assert f"{path}: expected one JSON object per line" in out
    if what == "lmms-eval results":
        assert "lmms-eval's aggregated results" in out and "samples_" in out
    with pytest.raises(Exception, match="one JSON object per line"):
        list(iter_input_records(path))


# -- VLMEvalKit tables with their base64 images ----------------------------------------------

def _peak_reading(path: Path) -> tuple[list, int]:
    import tracemalloc
    tracemalloc.start()
    try:
        got = list(iter_input_records(path))
        return got, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_vlmevalkit_tsvs_base64_images_are_never_held(tmp_path):
    """VLMEvalKit's dataset TSVs (and predictions written from them) carry every image as a
    base64 ``image`` cell, which the reader drops; it dropped it only after pandas had read
    every cell into the frame: a 460 MB TSV took 1.7 GB. The column is now never stored, so
    the memory peak no longer grows with the images (8 more rows of 4.4 MB images added 15 MB
    to what tracemalloc sees, none now; the pass that finds each row's line holds one row at
    a time)."""
    cell = "iVBORw0KGgo" * 400_000                         # 4.4 MB of base64 per row
    head = "index\tquestion\tanswer\tcategory\timage\tprediction"

    def table(name: str, n: int) -> Path:
        path = tmp_path / name
        path.write_text("\n".join([head] + [f"{i}\tIs there a dog in the image?\tYes\trandom"
                                            f"\t{cell}\tYes" for i in range(n)]) + "\n")
        return path
    _peak_reading(table("warm_POPE.tsv", 1))                  # imports, outside the measure
    got, peak_8 = _peak_reading(table("eight_POPE.tsv", 8))
    _, peak_16 = _peak_reading(table("sixteen_POPE.tsv", 16))
    assert [r.response for r in got] == ["Yes"] * 8 and [r.label for r in got] == ["yes"] * 8
    assert all("image" not in r.metadata for r in got)
    assert peak_16 - peak_8 < 2 * len(cell), f"{peak_8 / 1e6:.0f} MB, {peak_16 / 1e6:.0f} MB"


def test_a_cell_over_csvs_field_limit_keeps_swallowed_rows_found(tmp_path):
    """Python's csv module refuses a field over 131,072 characters by default; the pass that
    finds each row's line (and the rows a stray quote made swallow the lines after them) hit
    that on any base64 image of over ~96 KB, gave up without a word, and so scored the
    swallowing row (its answer 'Yes, it is\\n2\\t...' read whole) and named rows by number."""
    image = "iVBORw0KGgo" * 20_000                        # 220,000 characters
    path = tmp_path / "model_POPE.tsv"
    path.write_text("index\tquestion\tanswer\tcategory\timage\tprediction\n"
                    f'1\tIs there a snowboard?\tYes\trandom\t{image}\t"Yes, it is\n'
                    f"2\tIs there a car?\tNo\trandom\t{image}\tYes\n"
                    f'3\tIs there a person?\tYes\trandom\t{image}\tI think "no"\n'
                    "\n"
                    f"4\tIs there a sandwich?\tNo\trandom\t{image}\tNo\n")
    got = list(iter_input_records(path))
    bad = [r for r in got if not hasattr(r, "response")]
    good = [r for r in got if hasattr(r, "response")]
    assert [(e.location.line, e.location.field, e.record_id) for e in bad] == [
        (2, "prediction", "1")]
    assert "lines 3-4 of the file were read into this cell" in bad[0].message
    assert [(r.id, r.response, r.source.line) for r in good] == [("4", "No", 6)]


# -- a workbook of several sheets ------------------------------------------------------------

def test_an_xlsx_of_several_sheets_is_read_and_detected_from_its_first(tmp_path, caplog):
    """pandas (and VLMEvalKit's load) read a workbook's first sheet; the format was detected
    from its *active* sheet (the one shown when it was saved). A workbook saved showing its
    predictions sheet behind a notes sheet was detected as VLMEvalKit's from the one and read
    from the other: every notes row a bad record "expected ... 'prediction' ... found none",
    and nothing said which sheet was read. Both now take the first sheet, and a workbook of
    several sheets says which it read."""
    import logging
    openpyxl = pytest.importorskip("openpyxl")
    from halluscope.readers import detect_format
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "About"
    notes.append(["note"])
    notes.append(["VILA-13B on POPE, greedy"])
    preds = book.create_sheet("preds")
    preds.append(["index", "question", "answer", "category", "prediction"])
    preds.append([1, "Is there a dog in the image?", "Yes", "random", "Yes"])
    book.active = 1                                       # saved while showing "preds"
    path = tmp_path / "vila_POPE.xlsx"
    book.save(path)
    assert detect_format(path) == "xlsx"                 # the first sheet's header: no index
    with caplog.at_level(logging.WARNING, logger="halluscope.readers"):
        (got,) = list(iter_input_records(path))
    assert "vila_POPE.xlsx:2: field 'response'" in str(got)      # read as a plain table
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "first sheet 'About' of 2 (About, preds)" in said


# -- a CSV whose delimiter is not a comma ----------------------------------------------------

@pytest.mark.parametrize("name,sep", [("answers.csv", ";"), ("answers.csv", "\t"),
                                      ("answers.tsv", ",")])
def test_a_table_read_as_one_column_names_its_delimiter(tmp_path, name, sep):
    """Excel saves "CSV" with semicolons where the decimal mark is a comma, and a TSV is
    often named .csv: pandas then reads one column named 'question_id;prompt;response;label'
    and every row was a bad record "expected the model's answer in 'response' ..., found
    none", which does not say why. It is now one input error naming the delimiter found."""
    from typer.testing import CliRunner

    from halluscope.cli import EXIT_USAGE, app
    path = tmp_path / name
    path.write_bytes(("\ufeff" + "\r\n".join(sep.join(row) for row in [
        ("question_id", "prompt", "response", "label"),
        ("1", "Is there a dog in the image?", "Yes", "yes"),
        ("2", "Is there a cat in the image?", "No", "no")]) + "\r\n").encode())
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "pope", "--no-report",
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == EXIT_USAGE, res.output
    out = " ".join(res.output.split())
    assert "found none" not in out
    assert f"{path}:1: expected columns separated by {'a tab' if name.endswith('tsv') else 'commas'}" in out
    assert f"separated by {'semicolons' if sep == ';' else 'tabs' if sep == chr(9) else 'commas'}" in out


def test_lmms_eval_v02_task_json_logs_are_read(tmp_path):
    """lmms-eval v0.1 to v0.2.4 wrote --log_samples as one <task>.json, indent=4: {"args",
    "model_configs", "logs": [samples in the pre-0.4 layout], "time"}. It was read as JSON
    lines (an "invalid JSON" bad record per line); its samples are now read as lmms-eval's."""
    samples = []
    for i, (qid, text, truth, answer) in enumerate([
            ("1", "Is there a dog in the image?", "yes", "Yes"),
            ("2", "Is there a cat in the image?", "no", "Yes, there is a cat."),
            ("3", "Is there a car in the image?", "no", "No")]):
        doc = {"question_id": qid, "question": text, "answer": truth,
               "image_source": "COCO_val2014_000000000139", "category": "adversarial"}
        samples.append({"doc_id": i, "doc": doc, "target": truth,
                        "arguments": [[text, {"max_new_tokens": 128}]], "resps": [[answer]],
                        "filtered_resps": [answer],
                        "pope_accuracy": {"question_id": qid, "score": 0.0,
                                          "prediction": answer.lower(), "ground_truth": truth}})
    path = tmp_path / "pope_adv.json"
    path.write_text(json.dumps({"args": {"model": "llava", "tasks": "pope_adv"},
                                "model_configs": {"task": "pope_adv"}, "logs": samples,
                                "time": "0123_1456"}, indent=4))
    records = list(iter_input_records(path))
    starts = [n for n, line in enumerate(path.read_text().splitlines(), 1)
              if line == "        {"]
    assert [(r.id, r.response, r.label, r.image_id, r.source.index) for r in records] == [
        ("1", "Yes", "yes", 139, 1), ("2", "Yes, there is a cat.", "no", 139, 2),
        ("3", "No", "no", 139, 3)]
    assert [r.source.line for r in records] == starts and len(starts) == 3
    result = halluscope.audit(path, metrics="pope", out=tmp_path / "out", n_boot=0,
                              write_report=False)
    assert result.metrics["pope"].results["accuracy"].value == pytest.approx(2 / 3)
    assert not result.errors
