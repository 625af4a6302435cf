"""A user-style bug hunt of ``halluscope compare`` (and the report's wording of missing
intervals): a damaged items.jsonl is an input error naming file, line and field, never a crash
or a silent drop; a count over no paired item is no number; a gate that cannot be crossed, or on
a metric left out, is said as such."""

import hashlib
import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.api import audit
from halluscope.cli import EXIT_GATE, EXIT_OK, EXIT_USAGE, app
from halluscope.comparison import diff_gate_failures
from halluscope.errors import ConfigError
from conftest import write_results

DATA = Path(__file__).resolve().parents[1] / "data"
INSTANCES = DATA / "annotations" / "instances.json"


def _pope_rows(n=12, qid=lambda i: i):
    return [{"id": f"q{qid(i)}", "question_id": qid(i), "image_id": i % 4 + 1,
             "prompt": "Is there a dog in the image?", "response": "Yes" if i % 3 else "No",
             "label": "yes" if i % 2 else "no"} for i in range(n)]


def _pope(tmp_path, name, rows=None, n_boot=0):
    audit(records=rows or _pope_rows(), metrics="pope", n_boot=n_boot, out=tmp_path / name,
          write_report=False)
    return tmp_path / name


def _cli(*args):
    """Exit code and output with every space taken out (however the console wrapped it)."""
    out = CliRunner().invoke(app, ["compare", *map(str, args)], env={"COLUMNS": "1000"})
    return out.exit_code, "".join(out.output.split())


def _bare(text):
    return "".join(str(text).split())


def _rewrite_items(run: Path, change) -> int:
    """Apply ``change`` to the last scored item of ``run``'s items.jsonl, and record the new
    file's sha256 in results.json, as a folder another tool (or a hand) rewrote would; the line
    number changed."""
    items = run / "items.jsonl"
    lines = items.read_text(encoding="utf-8").splitlines()
    number = max(i for i, line in enumerate(lines) if json.loads(line).get("scores"))
    lines[number] = change(json.loads(lines[number]))
    items.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = json.loads((run / "results.json").read_text())
    results["outputs"]["items.jsonl"]["sha256"] = hashlib.sha256(items.read_bytes()).hexdigest()
    write_results(run, results)
    return number + 1


def _set(path, value):
    def change(item):
        target = item
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return json.dumps(item)
    return change


@pytest.mark.parametrize("change, field", [
    (_set(["scores", "pope", "row"], ["a", "b", "c", "d", "e", "f"]), "scores.pope.row"),
    (_set(["scores", "pope", "row"], [None] * 6), "scores.pope.row"),
    (_set(["scores", "pope", "row"], [1.0]), "scores.pope.row"),
    (_set(["scores", "pope", "row"], "1,0,0"), "scores.pope.row"),
    (_set(["scores", "pope"], {"unit": "image:1"}), "scores.pope.row"),
    (_set(["scores", "pope"], [1, 2]), "scores.pope"),
    (_set(["scores"], [1, 2]), "scores"),
    (_set(["scores", "pope", "unit"], [1]), "scores.pope.unit"),
    (lambda item: json.dumps([1, 2]), None),
    (lambda item: "5", None),
    (lambda item: json.dumps({**item, "scores": {"pope": {**item["scores"]["pope"],
                                                            "row": [float("nan")] * 6}}}),
     "scores.pope.row"),
])
def test_a_damaged_items_line_is_an_input_error_naming_file_line_and_field(
        tmp_path, change, field):
    """Each of these was an internal error (KeyError 'row', ValueError, AttributeError: exit 3),
    or a metric left out of the comparison in silence (a row of another width)."""
    a = _pope(tmp_path, "a")
    b = _pope(tmp_path, "b")
    line = _rewrite_items(b, change)
    with pytest.raises(ConfigError) as caught:
        halluscope.compare([a, b], n_boot=0)
    where = f"{b / 'items.jsonl'}:{line}"
    assert str(caught.value).startswith(where), caught.value
    if field:
        assert f"field '{field}'" in str(caught.value)
    code, text = _cli(a, b, "--out", tmp_path / "c", "-q")
    assert code == EXIT_USAGE, text
    assert _bare(where) in text and "internalerror" not in text


def _two_metric_rows(qid):
    captions = [{"id": f"c{i}", "image_id": i, "caption": "A cat on a bed."} for i in (1, 2, 3)]
    return captions + _pope_rows(6, qid)


def test_a_count_over_no_paired_item_is_no_number_and_its_gate_fails(tmp_path, caplog):
    """POPE pairs no item (other question ids) while CHAIR pairs all: tp, fp, tn, fn were
    shown as 0 in A and B, difference +0, and ``--fail-above diff.pope.tp=0`` passed (exit 0)
    on nothing."""
    for name, qid in (("a", lambda i: i), ("b", lambda i: 100 + i)):
        audit(records=_two_metric_rows(qid), metrics=["pope", "chair"],
              coco_annotations=[INSTANCES], n_boot=0, out=tmp_path / name, write_report=False)
    res = halluscope.compare([tmp_path / "a", tmp_path / "b"], n_boot=0)
    for stat in ("tp", "fp", "tn", "fn", "accuracy"):
        entry = res.metrics[f"pope.{stat}"]
        assert entry["n_paired"] == 0
        assert (entry["a"], entry["b"], entry["diff"]) == (None, None, None), (stat, entry)
    assert res.metrics["chair.chair_s"]["n_paired"] == 3
    failures = diff_gate_failures(res, above={"diff.pope.tp": 0})
    assert failures and "has no value" in failures[0]
    code, text = _cli(tmp_path / "a", tmp_path / "b", "--out", tmp_path / "c", "-q",
                      "--fail-above", "diff.pope.tp=0")
    assert code == EXIT_GATE, text
    assert "diff.pope.tphasnovalue" in text


@pytest.mark.parametrize("limit", ["inf", "-inf", "1e400"])
def test_an_infinite_diff_threshold_is_a_usage_error(tmp_path, limit):
    """``--fail-above diff.pope.tp=inf`` was taken (a count's difference has no range), and
    the gate passed whatever the difference; the audit refuses an infinite threshold."""
    a, b = _pope(tmp_path, "a"), _pope(tmp_path, "b")
    code, text = _cli(a, b, "--out", tmp_path / "c", "-q", "--fail-above", f"diff.pope.tp={limit}")
    assert code == EXIT_USAGE, text
    assert "finite" in text
    res = halluscope.compare([a, b], n_boot=0)
    with pytest.raises(ConfigError, match="finite"):
        diff_gate_failures(res, below={"diff.pope.tp": float(limit)})


def test_a_gate_on_a_metric_left_out_says_why_it_was_left_out(tmp_path):
    """``no 'chair.chair_i' in the comparison (have: pope...)`` did not say that B never
    computed CHAIR."""
    a = tmp_path / "a"
    audit(records=_two_metric_rows(lambda i: i), metrics=["pope", "chair"],
          coco_annotations=[INSTANCES], n_boot=0, out=a, write_report=False)
    b = _pope(tmp_path, "b", _pope_rows(6))
    code, text = _cli(a, b, "--out", tmp_path / "c", "-q", "--fail-above",
                      "diff.chair.chair_i=0")
    assert code == EXIT_USAGE, text
    assert _bare(f"chair is left out of the comparison: {b} did not compute it") in text


def test_a_metric_whose_statistics_cannot_be_recomputed_is_listed_as_left_out(
        tmp_path, caplog, monkeypatch):
    """It was dropped from compare.json with a log line only: no ``left_out`` entry."""
    from halluscope import comparison
    a = tmp_path / "a"
    audit(records=_two_metric_rows(lambda i: i), metrics=["pope", "chair"],
          coco_annotations=[INSTANCES], n_boot=0, out=a, write_report=False)
    real = comparison.recomputable_statistics
    monkeypatch.setattr(comparison, "recomputable_statistics",
                        lambda name, *args: None if name == "pope" else real(name, *args))
    res = halluscope.compare([a, a], n_boot=0, out=tmp_path / "c")
    saved = json.loads((tmp_path / "c" / "compare.json").read_text())
    why = saved["comparisons"][0]["left_out"]["pope"]
    assert "cannot be recomputed" in why
    assert not any(k.startswith("pope.") for k in res.metrics)


def test_the_console_says_why_a_difference_has_no_interval(tmp_path):
    """Every note read "too few units": with --bootstrap 0 (no replicates asked for), and for a
    difference with no value."""
    a, b = _pope(tmp_path, "a", _pope_rows(40)), _pope(tmp_path, "b", _pope_rows(40))
    code, text = _cli(a, b, "--out", tmp_path / "c", "--bootstrap", "0")
    assert code == EXIT_OK, text
    assert "toofewunits" not in text and "nobootstrap" in text
    code, text = _cli(a, b, "--out", tmp_path / "c")     # 40 answers about 4 images
    # 40 paired answers are enough units; their 4 images are too few clusters
    assert code == EXIT_OK and "toofewclusters" in text and "nobootstrap" not in text


def test_the_report_says_why_a_statistic_has_no_interval(tmp_path):
    """The HTML summary left the interval cell empty where the console says "too few units"."""
    res = audit(records=_pope_rows(6), metrics="pope", out=tmp_path / "r")
    page = (tmp_path / "r" / "report.html").read_text()
    assert res.metrics["pope"].results["accuracy"].ci_note
    summary = page.split('id="summary"')[1].split("</section>")[0]
    assert "too few units" in summary
    assert 'title="no interval: n=6 units, fewer than 10"' in summary


def test_compare_html_shows_values_unsigned_and_counts_whole(tmp_path):
    """A and B were written as differences (``+0.7500``), counts as ``+4.0000``."""
    a, b = _pope(tmp_path, "a"), _pope(tmp_path, "b")
    halluscope.compare([a, b], n_boot=0, out=tmp_path / "c")
    page = (tmp_path / "c" / "compare.html").read_text()
    row = next(r for r in page.splitlines() if r.startswith("<tr><td>pope.tp<"))
    cells = row.replace("</td>", "").split("<td>")[1:]
    assert cells[1:4] == ["4", "4", "+0"], cells
    row = next(r for r in page.splitlines() if r.startswith("<tr><td>pope.accuracy<"))
    cells = row.replace("</td>", "").split("<td>")[1:]
    assert not cells[1].startswith("+") and cells[3] == "+0.0000", cells


def test_intervals_are_labelled_with_the_level_they_were_computed_at(tmp_path):
    """``--confidence 0.8`` gave 80% intervals headed "95% CI" in the console table, the report's
    summary, its group tooltips and its plot titles."""
    # (two models: a lone group repeating the overall numbers has no group table)
    rows = [{**row, "image_id": i, "model": f"m{i % 2}"} for i, row in enumerate(_pope_rows(40))]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = CliRunner().invoke(app, ["audit", str(tmp_path / "a.jsonl"), "--metric", "pope",
                                   "--confidence", "0.8", "--bootstrap", "200",
                                   "--out", str(tmp_path / "r")], env={"COLUMNS": "200"})
    assert out.exit_code == EXIT_OK, out.output
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["metrics"]["pope"]["accuracy"]["confidence"] == 0.8
    assert "80% CI" in out.output and "95%" not in out.output
    page = (tmp_path / "r" / "report.html").read_text()
    assert "<th>80% CI</th>" in page and 'title="80% CI [' in page
    assert "95%" not in page.split('id="items"')[0].replace("0.5 ideal", "")
    from halluscope.report.plots import interval_level
    res = audit(records=rows, metrics="pope", n_boot=0, confidence=0.9)
    assert interval_level(res) == "90%"       # no interval computed: the setting says it


@pytest.mark.parametrize("damage, field", [
    (lambda m: "x", "metrics.pope"),
    (lambda m: {**m, "info": "x"}, "metrics.pope.info"),
    (lambda m: {**m, "info": [1]}, "metrics.pope.info"),
])
def test_a_damaged_metric_entry_of_results_json_is_said_as_such(tmp_path, damage, field):
    """``"metrics": {"pope": "x"}`` was refused as "metric pope read different companion files
    (questions, ground truth or annotations: sha256 differ)", pointing the wrong way."""
    a, b = _pope(tmp_path, "a"), _pope(tmp_path, "b")
    results = json.loads((b / "results.json").read_text())
    results["metrics"]["pope"] = damage(results["metrics"]["pope"])
    write_results(b, results)
    with pytest.raises(ConfigError) as caught:
        halluscope.compare([a, b], n_boot=0)
    assert str(caught.value).startswith(f"{b / 'results.json'}: field '{field}': expected an "
                                        f"object"), caught.value
    assert "companion" not in str(caught.value)


def test_an_items_line_that_is_not_utf8_is_an_input_error_naming_the_line(tmp_path):
    """A byte that is not UTF-8 in items.jsonl was an internal error (UnicodeDecodeError,
    exit 3)."""
    a, b = _pope(tmp_path, "a"), _pope(tmp_path, "b")
    line = _rewrite_items(b, lambda item: json.dumps(item).replace("Is there", "Is th@@re"))
    items = b / "items.jsonl"
    items.write_bytes(items.read_bytes().replace(b"@@", b"\xe9"))
    results = json.loads((b / "results.json").read_text())
    results["outputs"]["items.jsonl"]["sha256"] = hashlib.sha256(items.read_bytes()).hexdigest()
    write_results(b, results)
    code, text = _cli(a, b, "--out", tmp_path / "c", "-q")
    assert code == EXIT_USAGE, text
    assert _bare(f"{items}:{line}: expected UTF-8 text, got byte 0xe9") in text


def test_a_large_count_keeps_every_digit(tmp_path, monkeypatch):
    """Counts were formatted with ``:g``: 1,234,567 claims read ``1.23457e+06`` in the
    console table and compare.html."""
    from halluscope.cli import compare as cli_compare
    from halluscope.comparison import Comparison, CompareResult, render_html
    entry = {"a": 1234567.0, "b": 1234569.0, "diff": 2.0, "count": True, "n_paired": 3,
             "only_a": 0, "only_b": 0}
    comp = Comparison("runs/a", "runs/b", {"claims.n_claims": entry})
    page = render_html(CompareResult(["runs/a", "runs/b"], [comp]))
    assert "<td>1234567</td><td>1234569</td><td>+2</td>" in page
    row = cli_compare._table(comp).columns
    assert [list(c.cells)[0] for c in row[1:4]] == ["1234567", "1234569", "+2"]
