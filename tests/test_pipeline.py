"""The audit pipeline with a small metric of our own: streaming, problems, outputs, gates."""

import json
from collections import Counter
from pathlib import Path

import pytest

from halluscope.errors import ConfigError, RecordError
from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import Statistic, ratio
from halluscope.api import audit


class WordCount(Metric):
    """Share of captions that mention 'dog'; raises for captions that mention 'error'."""

    name = "dogs"
    columns = ("dog", "one")
    statistics = {"dog_rate": Statistic(lambda s: ratio(s["dog"], s["one"])),
                  "n_dog": Statistic(lambda s: s["dog"], count=True)}

    def applies_to(self, record):
        return record.task == "caption"

    def score(self, record):
        text = record.response.lower()
        if "error" in text:
            raise RecordError("cannot score", file=record.source.file, line=record.source.line,
                              field="response")
        dog = int("dog" in text)
        return ItemScore({"dog": bool(dog)}, (dog, 1), groups=(f"model:{record.model}",),
                         tallies={"words": Counter(text.split())},
                         top={"claims": [{"kind": "existence", "subject": "dog"}]} if dog else {})


def write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def outputs(tmp_path):
    return write(tmp_path / "out.jsonl", [
        json.dumps({"id": "a", "response": "a dog", "model": "m1"}),
        json.dumps({"id": "b", "response": "a cat", "model": "m1"}),
        '{"id": "c", "response": ',
        json.dumps({"id": "d", "response": "an error", "model": "m2"}),
        json.dumps({"id": "e", "prompt": "Is there a dog?", "response": "yes", "label": "yes"}),
        json.dumps({"id": "f", "response": "two dogs", "model": "m2"}),
    ])


def test_audit_scores_the_rest_and_reports_every_problem(tmp_path, outputs):
    res = audit(outputs, metrics=[WordCount(n_boot=50)], out=tmp_path / "run",
                write_report=False)
    assert res.get("dogs.dog_rate").value == pytest.approx(2 / 3)
    assert res.get("dogs.n_dog").value == 2
    assert res.get("dogs.dog_rate@model:m2").value == 1.0
    assert [(e["line"], e["field"]) for e in res.errors] == [(3, None), (4, "response")]
    assert res.errors[1]["metric"] == "dogs"
    items = list(res.items)
    assert [i["id"] for i in items] == ["a", "b", None, "d", "e", "f"]
    assert items[0]["dogs"] == {"dog": True} and items[0]["claims"][0]["subject"] == "dog"
    assert "error" in items[2] and items[2]["source"].endswith("out.jsonl:3")
    assert "error" in items[3] and "dogs" not in items[3]
    assert items[4]["skipped"].startswith("no selected metric")
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["metrics"]["dogs"]["dog_rate"]["value"] == pytest.approx(2 / 3)
    assert saved["metrics"]["dogs"]["n"] == 3 and saved["n_errors"] == 2
    assert saved["metrics"]["dogs"]["tallies"]["words"]["dog"] == 1
    sheet = json.loads((tmp_path / "run" / "runsheet.json").read_text())
    assert sheet["files"][0]["sha256"] and sheet["counts"] == {"items": 6, "errors": 2, "skipped": 1,
                                                         "scored": {"dogs": 3}}
    assert sheet["environment"]["python"]


def test_strict_stops_at_the_first_problem(outputs):
    with pytest.raises(RecordError) as exc:
        audit(outputs, metrics=[WordCount(n_boot=0)], strict=True)
    assert exc.value.location.line == 3


def test_gates_and_lookup_errors(outputs):
    res = audit(outputs, metrics=[WordCount(n_boot=0)])
    assert res.gate_failures(above={"dogs.dog_rate": 0.5}) == [
        "dogs.dog_rate: value 0.6667 is above the threshold 0.5 (by 0.1667)"]
    assert res.gate_failures(below={"dogs.dog_rate": 0.5}) == []
    with pytest.raises(KeyError, match="no metric 'chair'"):
        res.get("chair.chair_i")
    with pytest.raises(KeyError, match="no statistic"):
        res.get("dogs.f1")


def test_in_memory_records_and_pandas():
    res = audit(records=[{"id": "x", "response": "dog"}, {"id": "y", "response": "cat"}],
                metrics=[WordCount(n_boot=0)])
    df = res.to_pandas()
    assert list(df["id"]) == ["x", "y"] and list(df["dogs.dog"]) == [True, False]
    assert len(res.to_pandas("claims")) == 1
    assert "dog_rate" in res._repr_html_()


def test_inputs_and_records_together_are_refused(tmp_path, outputs):
    """A file and records= together: the file was dropped without a word and the audit scored
    other data than the caller named (hunt #4); now a usage error, and nothing is written."""
    with pytest.raises(ConfigError, match="input files or records, not both"):
        audit(outputs, records=[{"id": "x", "response": "dog"}],
              metrics=[WordCount(n_boot=0)], out=tmp_path / "run")
    assert not (tmp_path / "run" / "results.json").exists()


def test_a_pipe_is_refused_as_a_pipe_not_as_missing(tmp_path):
    """``audit <(cat a.jsonl)`` and ``/dev/stdin`` said "does not exist" (hunt #15): the
    input exists; it is refused for what it is, and nothing is read from it."""
    import os
    fifo = tmp_path / "answers.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"answers.fifo is a pipe, not a file: an audit reads "
                                          r"its inputs more than once.*--resume.*save it"):
        audit(fifo, metrics=[WordCount(n_boot=0)])
    # "-", as other tools name standard input, was said not to exist
    with pytest.raises(ConfigError, match=r"input - is standard input, not a file: an audit "
                                          r"reads its inputs more than once.*save it"):
        audit("-", metrics=[WordCount(n_boot=0)])


def test_unknown_metric_and_missing_input(tmp_path, outputs):
    with pytest.raises(ConfigError, match="unknown metric 'nope'"):
        audit(outputs, metrics="nope")
    with pytest.raises(ConfigError, match="does not exist"):
        audit(tmp_path / "missing.jsonl", metrics="chair")


def test_metrics_are_inferred_or_explained(tmp_path):
    path = write(tmp_path / "caps.jsonl", [json.dumps({"image_id": 1, "caption": "a dog"})])
    with pytest.raises(ConfigError, match="--gt-objects or --coco-annotations"):
        audit(path)


def test_manifest_supplies_defaults(tmp_path):
    write(tmp_path / "out.jsonl", [json.dumps({"id": "a", "response": "dog"})])
    (tmp_path / "halluscope.toml").write_text('[audit]\ninputs = ["out.jsonl"]\nn_boot = 0\n')
    res = audit(tmp_path, metrics=[WordCount(n_boot=0)])
    assert res.config.n_boot == 0 and len(res.items) == 1
    # a table the audit does not read was ignored, and the audit passed without its gates
    (tmp_path / "halluscope.toml").write_text('[audit]\ninputs = ["out.jsonl"]\n'
                                              '[gates]\nfail_above = ["chair.chair_i=0.1"]\n')
    with pytest.raises(ConfigError, match=r"expected only an \[audit\] table, got 'gates' "
                                          r"\(gates are --fail-above"):
        audit(tmp_path, metrics=[WordCount(n_boot=0)])


def test_a_typo_in_the_manifest_names_the_file_line_and_nearest_key(tmp_path):
    """A misspelled key was "pope_parsr: Extra inputs are not permitted", naming neither the
    file nor the key meant (hunt #10); a bad value now names the file and its line too."""
    from halluscope.errors import UnknownNameError
    write(tmp_path / "out.jsonl", [json.dumps({"id": "a", "response": "dog"})])
    toml = tmp_path / "halluscope.toml"
    toml.write_text('[audit]\ninputs = ["out.jsonl"]\npope_parsr = "strict"\n')
    with pytest.raises(UnknownNameError, match=rf"{toml}:3: unknown key 'pope_parsr' in the "
                                               r"\[audit\] table; did you mean 'pope_parser'"):
        audit(tmp_path, metrics=[WordCount(n_boot=0)])
    toml.write_text('[audit]\ninputs = ["out.jsonl"]\nfail_above = ["chair.chair_i=0.1"]\n')
    with pytest.raises(UnknownNameError, match=r"halluscope.toml:3: unknown key 'fail_above'.*"
                                               r"gates are --fail-above"):
        audit(tmp_path, metrics=[WordCount(n_boot=0)])
    toml.write_text('[audit]\ninputs = ["out.jsonl"]\n\n  n_boot = -3\n')
    with pytest.raises(ConfigError, match=rf"{toml}:4: invalid \[audit\] table: n_boot: "):
        audit(tmp_path, metrics=[WordCount(n_boot=0)])


@pytest.mark.parametrize("coded", [False, True])
def test_add_block_is_adding_item_by_item_to_the_bit(coded):
    """Metric.add_block (rows as they are, or distinct rows and a code per item) leaves the
    state, groups and interval bounds that adding the items one at a time leaves."""
    import random

    import numpy as np
    rng = random.Random(7)
    table = np.array([[1, 1], [0, 1], [3, 2], [0, 0]], dtype=float)
    codes = np.array([rng.randrange(4) for _ in range(300)])
    unit_of_row = np.array([rng.randrange(40) for _ in range(300)])
    units = [f"image:{u}" for u in range(40)]
    groups = {"model:a": np.flatnonzero(codes % 2 == 0), "model:b": np.arange(0, 300, 7)}
    one, block = WordCount(n_boot=200, seed=5), WordCount(n_boot=200, seed=5)
    for i, c in enumerate(codes.tolist()):
        names = tuple(g for g, rows in groups.items() if i in set(rows.tolist()))
        one.add(ItemScore({}, tuple(table[c]), groups=names), key=units[unit_of_row[i]])
    if coded:
        block.add_block(table, unit_of_row, units, groups, codes=codes)
    else:
        block.add_block(table[codes], unit_of_row, units, groups)
    a, b = one.compute().to_dict(), block.compute().to_dict()
    # items added by key alone (no record) have no cluster to count; the block's units are
    assert b["info"]["bootstrap"]["clusters"] == 40 and b["dog_rate"]["clusters"] == 40

    def values(x):
        return ({k: values(v) for k, v in x.items() if k != "clusters"} if isinstance(x, dict)
                else x)
    assert json.dumps(values(a), sort_keys=True) == json.dumps(values(b), sort_keys=True)
    assert b["groups"]["model:b"]["n_dog"]["n"] == 43 and b["dog_rate"]["ci"][0] > 0.8


@pytest.mark.parametrize("metric", ["words", "pope"])
def test_a_file_name_that_is_not_utf8_is_written_with_escapes(tmp_path, metric):
    """``cap\\xe9.jsonl`` (Latin-1 bytes) stopped the audit with exit 3 on both the line-by-line
    and the columnar path, leaving .part files (hunt #19): the name is written as
    ``cap\\\\xe9`` in items, results, run sheet and report."""
    import os
    root = os.fsencode(tmp_path)
    row = ({"id": "q1", "question_id": 1, "image": "a.jpg", "response": "Yes",
            "prompt": "Is there a dog in the image?", "label": "yes"} if metric == "pope"
           else {"id": "c1", "response": "a dog"})
    src = os.fsdecode(root + b"/cap\xe9.jsonl")
    with open(root + b"/cap\xe9.jsonl", "w") as fh:
        fh.write(json.dumps(row) + "\n" + json.dumps({**row, "id": "bad", "response": None})
                 + "\n")
    out = os.fsdecode(root + b"/out\xe9")
    result = audit(src, metrics="pope" if metric == "pope" else [WordCount(n_boot=0)],
                   out=out, n_boot=0)
    assert len(result.items) == 2
    names = sorted(os.listdir(out))
    assert names == ["items.jsonl", "report.html", "results.json", "runsheet.json"]
    for name in names:
        text = (Path(out) / name).read_bytes().decode("utf-8")     # valid UTF-8 throughout
        assert "cap\\xe9" in text.replace("\\\\", "\\"), name
    assert json.loads((Path(out) / "results.json").read_text())["errors"][0]["file"] \
        .endswith("cap\\xe9.jsonl")


def test_a_companion_path_that_is_not_utf8_can_be_journaled(tmp_path):
    """The journal's header (what --resume must match) serialised the settings with pydantic,
    which cannot encode a surrogate: an annotation folder named ann\\xe9 was exit 3."""
    import os

    from halluscope.config import AuditConfig
    from halluscope.journal import journal_header
    ann = os.fsdecode(os.fsencode(tmp_path) + b"/ann\xe9.json")
    cfg = AuditConfig(coco_annotations=[ann], metrics=["chair"])
    header = journal_header([], cfg, ["chair"])
    assert "ann\\\\xe9.json" in header["config"] and header == journal_header([], cfg, ["chair"])


@pytest.mark.parametrize("path", ["columns", "lines"])
def test_a_metric_error_naming_a_file_that_is_not_utf8_is_written_with_escapes(tmp_path, path):
    """A POPE answer whose question_id is not in the question file, in ``b\\xe9.jsonl``
    (Latin-1 bytes): the metric's message and detail name the file, and writing them raw
    stopped the audit with exit 3 on the whole-file path (TypeError) and on the line-by-line
    path (an extra ``metadata`` key; UnicodeEncodeError), leaving .part files."""
    import os

    from typer.testing import CliRunner

    from halluscope.cli import app
    root = os.fsencode(tmp_path)
    try:
        fh = open(root + b"/b\xe9.jsonl", "w", encoding="utf-8")
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses a file name that is not UTF-8")
    extra = {"metadata": {"k": 1}} if path == "lines" else {}
    with fh:
        for qid, text in [(1, "yes"), (99, "no"), (2, "no")]:
            fh.write(json.dumps({"question_id": qid, "text": text, "answer_id": str(qid),
                                 "model_id": "m", **extra}) + "\n")
    (tmp_path / "q.jsonl").write_text("".join(
        json.dumps({"question_id": i, "image": "COCO_val2014_000000000139.jpg",
                    "text": f"Is there a {obj} in the image?", "label": label}) + "\n"
        for i, (obj, label) in enumerate([("dog", "yes"), ("cat", "no")], 1)),
        encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["audit", os.fsdecode(root + b"/b\xe9.jsonl"),
                                      "--metric", "pope", "--questions",
                                      str(tmp_path / "q.jsonl"), "--out", str(out),
                                      "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(out)) == ["items.jsonl", "report.html", "results.json",
                                       "runsheet.json"]                  # no .part left
    items = [json.loads(line) for line in
             (out / "items.jsonl").read_bytes().decode("utf-8").splitlines()]
    assert [item.get("error") is not None for item in items] == [False, True, False]
    bad = items[1]
    assert "b\\xe9.jsonl:2: field 'question_id'" in bad["error"], bad["error"]
    assert bad["error_detail"]["file"].endswith("/b\\xe9.jsonl")
    assert bad["error_detail"]["field"] == "question_id"
    assert bad["source"].endswith("/b\\xe9.jsonl:2")
    assert items[0]["scores"]["pope"]["row"] and items[2]["scores"]["pope"]["row"]
    errors = json.loads((out / "results.json").read_text(encoding="utf-8"))["errors"]
    assert [(Path(e["file"]).name, e["line"]) for e in errors] == [("b\\xe9.jsonl", 2)]


@pytest.mark.parametrize("text,line", [
    ('gates = {fail_above = ["chair.chair_i=0.1"]}\n', 3),
    ('\n[audit.gates]\nfail_above = ["chair.chair_i=0.1"]\n', 4),
])
def test_gates_in_the_audit_table_are_said_to_be_flags(tmp_path, text, line):
    """A release gate written into halluscope.toml as ``gates = {...}`` or ``[audit.gates]`` was
    refused as a bare unknown key ('fail_above' got the hint, 'gates' none; the table header no
    line): it now says where gates go, and the line."""
    from halluscope.errors import UnknownNameError
    write(tmp_path / "out.jsonl", [json.dumps({"id": "a", "response": "dog"})])
    (tmp_path / "halluscope.toml").write_text('[audit]\ninputs = ["out.jsonl"]\n' + text)
    with pytest.raises(UnknownNameError, match=rf"halluscope.toml:{line}: unknown key 'gates'.*"
                                               r"gates are --fail-above"):
        audit(tmp_path, metrics=[WordCount(n_boot=0)])
