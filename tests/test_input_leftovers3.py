"""Input-handling leftovers, each used first as a user would (`halluscope audit FILE`, or
`halluscope query --benchmark`), one test (or a few) each:

- a CSV of blank lines only was pandas' bare "No columns to parse from file";
- an image URL whose query holds ``/`` was told by the text after that ``/`` (POPE's image
  check refused the whole answer file);
- an input named with ``?token=...`` put the token in every line of items.jsonl, and in the
  journal a stopped audit leaves;
- an lmms-eval answer too long to split was named ``response``, a field no lmms-eval log holds;
- ``query --benchmark --out LINK`` took ``LINK.lock`` while the query locks the file the link
  names, so a running query's prompts file was rewritten.

Hunted beside them:

- a CSV row with a cell more than its header (pandas shifted every cell in silence, or the file
  was refused as one of no known format);
- a header naming a column twice (one of two answers scored in silence);
- a JSON array's element that is no object ("got NoneType", every element "line 1");
- an input given as a URL ("input file https:/host/... does not exist").
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


# --- 2. an image URL is told by its path's file name ------------------------------------------

def _question_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "questions.jsonl", [
        {"question_id": i, "image": "COCO_val2014_000000310196.jpg",
         "text": f"Is there a {obj} in the image?", "label": label}
        for i, (obj, label) in enumerate([("dog", "yes"), ("car", "no"), ("cat", "yes")], 1)])


@pytest.mark.parametrize("query", ["?sig=a/b", "?X-Amz-Credential=k/2026/us/s3&x=1", "#a/b", ""])
def test_pope_tells_an_image_url_by_its_file_name_not_its_query(tmp_path, query):
    """``https://host/COCO_val2014_000000310196.jpg?sig=a/b`` was image ``b``: every answer
    disagreed with its question's image and the run was refused as the wrong question file."""
    questions = _question_file(tmp_path)
    answers = _write(tmp_path / "answers.jsonl", [
        {"question_id": i, "image": f"https://host.example/val/COCO_val2014_000000310196.jpg"
                                    f"{query}", "answer": a}
        for i, a in enumerate(["Yes", "No", "No"], 1)])
    res = _cli([answers, "--metric", "pope", "--questions", questions, "--out",
                tmp_path / "out", "--no-report"])
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "out" / "results.json").read_text())
    assert result["metrics"]["pope"]["n"] == 3
    assert not result.get("errors")


def test_pope_still_refuses_an_image_url_of_another_image(tmp_path):
    questions = _question_file(tmp_path)
    answers = _write(tmp_path / "answers.jsonl", [
        {"question_id": i, "image": f"https://host.example/COCO_val2014_000000000139.jpg?s=a/"
                                    f"COCO_val2014_000000310196.jpg", "answer": "Yes"}
        for i in (1, 2, 3)])
    res = _cli([answers, "--metric", "pope", "--questions", questions, "--out",
                tmp_path / "out", "--no-report"])
    assert res.exit_code == 2, res.output
    assert "disagree" in res.output


@pytest.mark.parametrize("image, name", [
    ("https://host/img.jpg?sig=a/b", "img.jpg"), ("https://host/a%20b.jpg#x/y", "a b.jpg"),
    ("s3://bucket/k/COCO_val2014_000000000139.jpg?versionId=1/2",
     "COCO_val2014_000000000139.jpg"),
    ("C:\\data\\x.jpg", "x.jpg"), ("imgs/sub/z.png", "z.png"), (" z.png ", "z.png"),
    ("local?name=a/b.jpg", "b.jpg")])      # a local name may hold "?": only URLs have queries
def test_file_name_of_paths_and_urls(image, name):
    from halluscope.record_fields import file_name
    assert file_name(image) == name


def test_coco_ids_and_annotation_keys_of_image_urls_ignore_the_query():
    from halluscope.evidence.providers import image_keys
    from halluscope.records import Record, coco_image_id
    url = "https://host/COCO_val2014_000000000139.jpg?sig=a/b"
    assert coco_image_id(url) == 139
    record = Record(id="1", task="caption", image=url, response="A dog.")
    assert image_keys(record)[0] == "COCO_val2014_000000000139.jpg"
    bare = Record(id="1", task="caption", image="https://host/", response="A dog.")
    assert "" not in image_keys(bare)


# --- 3. an input named with a query: its token in no file -------------------------------------

_TOKEN = "SuperSecret123xyz"


def _no_token_in(folder: Path) -> None:
    for written in folder.rglob("*"):
        if written.is_file():
            assert _TOKEN.encode() not in written.read_bytes(), written


def test_an_input_named_with_a_token_writes_the_token_in_no_file(tmp_path):
    """items.jsonl's ``source`` held ``answers.jsonl?token=SuperSecret123xyz:1`` (the run sheet,
    results and report redacted it): POPE's answers, scored as columns, bad lines too."""
    questions = _question_file(tmp_path)
    path = tmp_path / f"answers.jsonl?token={_TOKEN}"
    rows = [{"question_id": i, "answer": a} for i, a in enumerate(["Yes", "No", "No"], 1)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows)
                    + '{"question_id": 3, "answer": null}\n' + "not json\n")
    res = _cli([path, "--metric", "pope", "--questions", questions, "--out", tmp_path / "out"])
    assert res.exit_code == 0, res.output
    _no_token_in(tmp_path / "out")
    assert _TOKEN not in res.output
    sources = [json.loads(line)["source"]
               for line in (tmp_path / "out" / "items.jsonl").read_text().splitlines()]
    where = f"{tmp_path}/answers.jsonl?token=<redacted>"
    assert sources[:3] == [f"{where}:{n}" for n in (1, 2, 3)]
    assert sources[3:] == [f"{where}:4: field 'answer'", f"{where}:5"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_caption_file_named_with_a_token_on_the_line_path(tmp_path, workers):
    """The same, for CHAIR's captions (scored line by line, in one process or several)."""
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"139": ["dog"], "140": ["cat"]}))
    path = _write(tmp_path / f"caps.jsonl?sig={_TOKEN}", [
        {"image_id": 139, "caption": "A dog."}, {"image_id": 140, "caption": None},
        {"image_id": 140, "caption": "A cat."}])
    res = _cli([path, "--metric", "chair", "--gt-objects", gt, "--out", tmp_path / "out",
                "--workers", workers])
    assert res.exit_code == 0, res.output
    _no_token_in(tmp_path / "out")
    sources = [json.loads(line)["source"]
               for line in (tmp_path / "out" / "items.jsonl").read_text().splitlines()]
    where = f"{tmp_path}/caps.jsonl?sig=<redacted>"
    assert sources == [f"{where}:1", f"{where}:2: field 'caption'", f"{where}:3"]


def test_a_stopped_audits_journal_holds_no_token_of_its_inputs_name_and_resumes(tmp_path):
    """The journal of a stopped audit (kept in the output folder for ``--resume``) named its
    input as given: ``caps.jsonl?token=...``, twice (the header and the files' digests); and
    a file an option names (the ground truth) in its options too."""
    import os

    from halluscope.api import audit
    from tests.test_resume_doubts import _captions, _gt, _stopped_after
    path = _captions(tmp_path / "in" / f"caps.jsonl?token={_TOKEN}")
    gt, out = _gt(tmp_path / "in"), tmp_path / "out"
    gt = gt.rename(gt.with_name(f"gt.json?sig={_TOKEN}"))
    kw = dict(metrics="chair", gt_objects=gt, n_boot=20)
    _stopped_after(15, path, out=out, **kw)
    assert (out / "items.journal.part").is_file()
    _no_token_in(out)
    os.chmod(path, 0o600)       # its change time moves: the content is hashed again, as named
    resumed = audit(path, out=out, resume=True, write_report=False, **kw)
    whole = audit(path, out=tmp_path / "whole", write_report=False, **kw)
    assert (out / "items.jsonl").read_bytes() == (tmp_path / "whole" / "items.jsonl").read_bytes()
    assert resumed.metrics["chair"].to_dict() == whole.metrics["chair"].to_dict()
    _no_token_in(out)
    _stopped_after(15, path, out=out, **kw)
    path.write_text(path.read_text().replace("A ", "One ", 1))      # another input: refused
    with pytest.raises(halluscope.errors.ConfigError, match=r"caps\.jsonl\?token=<redacted> "):
        audit(path, out=out, resume=True, write_report=False, **kw)


# --- 4. an lmms-eval answer too long: named as the log names it -------------------------------

@pytest.mark.parametrize("field", ["resps", "filtered_resps"])
def test_an_lmms_eval_answer_past_the_limit_is_named_by_its_field(tmp_path, field):
    """It was "field 'response'", a field lmms-eval never writes."""
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"139": ["dog"], "140": ["dog"]}))
    answer = [[_LONG]] if field == "resps" else [_LONG]
    path = _write(tmp_path / "samples_chair.jsonl", [
        {"doc_id": 0, "doc": {"image_id": 139, "question": "Describe."}, field: answer},
        {"doc_id": 1, "doc": {"image_id": 140, "question": "Describe."}, "resps": [["A dog."]]}])
    res = _cli([path, "--metric", "chair", "--gt-objects", gt, "--out", tmp_path / "out",
                "--no-report"])
    assert res.exit_code == 0, res.output
    [error] = json.loads((tmp_path / "out" / "results.json").read_text())["errors"]
    assert (error["line"], error["field"]) == (1, field), error
    assert "at most 200,000 characters" in error["message"]


def test_an_lmms_eval_row_names_its_answer_field():
    from halluscope.lmms_eval_log import lmms_eval_row
    assert lmms_eval_row({"doc_id": 0, "resps": [["a"]]}).answer_field == "resps"
    assert lmms_eval_row({"doc_id": 0, "resps": [["a"]], "filtered_resps": ["b"]}
                         ).answer_field == "filtered_resps"
    assert lmms_eval_row({"doc_id": 0, "doc": {}}).answer_field is None


# --- 5. query --benchmark through a link takes the lock the query takes ----------------------

def test_a_benchmark_query_through_a_link_sees_the_running_querys_lock(tmp_path, monkeypatch):
    """``--benchmark ... --out LINK`` locked ``LINK.lock`` to write its prompts file while the
    query locks the file the link names (``REAL.lock``): a second run through the link (or
    the real path) with other prompts rewrote the running query's prompts file, and was only
    refused after."""
    import shutil

    from fake_openai_server import FakeServer
    from test_query_leftovers import objhal_bench, query

    from halluscope.adapters.outlock import lock_output, unlock_output
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-loopback")
    spec, data, images = objhal_bench(tmp_path)
    other = tmp_path / "other-images"
    shutil.copytree(images, other)
    run = tmp_path / "run"
    run.mkdir()
    (run / "link.jsonl").symlink_to("real.jsonl")
    bench = ["--benchmark", spec, "--data", data, "-q"]
    with FakeServer() as server:
        code, text = query(server, *bench, "--images", images, "-o", run / "link.jsonl")
        assert code == 0, text
        prompts = run / "real.jsonl.prompts.jsonl"     # named after the file the link names
        before = prompts.read_bytes()
        held = lock_output(run / "real.jsonl")         # a query running on it, as it locks
        try:
            for out in ("link.jsonl", "real.jsonl"):
                code, text = query(server, *bench, "--images", other, "-o", run / out,
                                   "--restart")
                assert code == 2, text
                assert "is being written by another halluscope query" in text, text
                assert prompts.read_bytes() == before, out
                assert not (run / "link.jsonl.prompts.jsonl").exists()
            assert not (run / "link.jsonl.lock").exists()
        finally:
            unlock_output(held, remove=run / "real.jsonl.lock")


# --- hunted: tables whose cells or columns pandas misreads in silence -------------------------

_HEADER = "id,prompt,response,label\n"


@pytest.mark.parametrize("text, line", [
    (_HEADER + "q1,Is there a dog?,Yes,yes,\nq2,Is there a cat?,No,no,\n", 2),   # a comma ends
    (_HEADER + "q1,Is there a dog?,Yes,yes,x\nq2,Is there a cat?,No,no\n", 2),   # each line
    (_HEADER + "q1,Is there a dog?,Yes,yes\nq2,Is there a cat, a bird?,No,no\n", 3),
    ("\n" + _HEADER + '\nq1,"Is there\na dog?",Yes,yes\nq2,Is there a cat?,No,no,\n', 6)],
    ids=["trailing-delimiter", "first-row", "later-row", "lines-counted"])
def test_a_row_with_more_cells_than_its_header_is_an_input_error_naming_its_line(
        tmp_path, text, line):
    """A first row with a cell more made pandas take the ids for the rows' labels and shift
    every cell one column left (``id`` "Is there a dog?", ``prompt`` "Yes", the truth read as
    the answer), in silence; a later one was "cannot read this file (as csv: ParserError:
    Error tokenizing data ...); expected one of the formats jsonl, ...", no line of the file
    named as pandas counts them."""
    path = tmp_path / "answers.csv"
    path.write_text(text)
    res = _cli([path, "--metric", "pope", "--out", tmp_path / "out", "--no-report"])
    assert res.exit_code == 2, res.output
    assert f"{path}:{line}: expected each row to hold at most the cells its header names, got " \
           f"5 cells where the header names 4" in " ".join(res.output.split()), res.output
    assert "expected one of the formats" not in res.output


def test_a_tsv_row_with_a_cell_more_is_named_too(tmp_path):
    path = tmp_path / "preds.tsv"
    path.write_text("index\tquestion\tprediction\tanswer\n1\tIs there a dog?\tYes\tYes\tx\n")
    res = _cli([path, "--metric", "pope", "--out", tmp_path / "out", "--no-report"])
    assert res.exit_code == 2, res.output
    assert f"{path}:2:" in res.output and "a tab" in res.output


def test_a_header_naming_a_column_twice_is_an_input_error(tmp_path):
    """pandas read the first ``response`` and renamed the other ``response.1`` (kept as
    metadata): one of two answers that disagree was scored, in silence."""
    path = tmp_path / "answers.csv"
    path.write_text("id,prompt,response,response,label\nq1,Is there a dog?,Yes,No,yes\n")
    res = _cli([path, "--metric", "pope", "--out", tmp_path / "out", "--no-report"])
    assert res.exit_code == 2, res.output
    said = " ".join(res.output.split())
    assert f"{path}:1: expected each column named once in the header, got 'response' twice " \
           f"(columns 3 and 4)" in said, said
    path.write_text("id,,prompt,,response,label\nq1,,Is there a dog?,,Yes,yes\n")  # no names
    res = _cli([path, "--metric", "pope", "--out", tmp_path / "out2", "--no-report"])
    assert res.exit_code == 0, res.output


# --- hunted: a JSON array's element that is no object ----------------------------------------

def test_a_json_array_element_that_is_no_object_is_named_by_its_number(tmp_path):
    """Each was "expected a JSON object, got NoneType" (or int, str, list), all at line 1 of
    an array written on one line."""
    good = {"prompt": "Is there a dog?", "response": "Yes", "label": "yes"}
    path = tmp_path / "answers.json"
    path.write_text(json.dumps([{"id": "a", **good}, 5, "x", None, [1], True,
                                {"id": "b", **good}]))
    res = _cli([path, "--metric", "pope", "--out", tmp_path / "out", "--no-report"])
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "out" / "results.json").read_text())
    assert result["metrics"]["pope"]["n"] == 2
    assert [e["message"] for e in result["errors"]] == [
        "expected a JSON object (element 2 of the array), got a number 5",
        "expected a JSON object (element 3 of the array), got a string 'x'",
        "expected a JSON object (element 4 of the array), got null",
        "expected a JSON object (element 5 of the array), got an array [1]",
        "expected a JSON object (element 6 of the array), got a boolean"]
    assert {e["line"] for e in result["errors"]} == {1}


# --- hunted: an input given as a URL --------------------------------------------------------

@pytest.mark.parametrize("url", [f"https://127.0.0.1:9/answers.jsonl?token={_TOKEN}",
                                 "s3://bucket/answers.jsonl"])
def test_an_input_given_as_a_url_is_said_to_be_one(tmp_path, url):
    """It was "input file https:/127.0.0.1:9/answers.jsonl?token=<redacted> does not exist"
    (a path made of the URL, one of its slashes lost)."""
    res = _cli([url, "--metric", "pope", "--out", tmp_path / "out"])
    assert res.exit_code == 2, res.output
    said = " ".join(res.output.split())
    assert f"input {url.split('?')[0]}" in said and "got a URL" in said, said
    assert _TOKEN not in res.output and not (tmp_path / "out").exists()
