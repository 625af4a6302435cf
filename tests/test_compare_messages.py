"""What ``halluscope compare`` says when it cannot compare, or compares only part: each message
names the run, the metric and the reason (a bug hunt found messages pointing the wrong way)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.api import audit
from halluscope.cli import EXIT_USAGE, app
from halluscope.errors import ConfigError
from conftest import write_results

DATA = Path(__file__).resolve().parents[1] / "data"
YES_NO = {"id": "q1", "question_id": 1, "image": "a.jpg", "prompt": "Is there a dog in the image?",
          "response": "Yes", "label": "yes"}


def _pope(tmp_path, name, rows=(YES_NO,)):
    audit(records=list(rows), metrics="pope", n_boot=0, out=tmp_path / name, write_report=False)
    return tmp_path / name


def _compare_cli(*args):
    """Exit code and output with every space taken out (however the console wrapped it)."""
    out = CliRunner().invoke(app, ["compare", *map(str, args), "-q"], env={"COLUMNS": "1000"})
    return out.exit_code, "".join(out.output.split())


def _bare(text):
    return "".join(str(text).split())


def test_a_damaged_outputs_entry_is_an_input_error_naming_file_and_field(tmp_path):
    """``"outputs": {"items.jsonl": null}`` was an AttributeError (exit 3)."""
    a = _pope(tmp_path, "a")
    b = _pope(tmp_path, "b")
    results = json.loads((b / "results.json").read_text())
    for damaged in (None, "abc", {"bytes": 3}):
        results["outputs"]["items.jsonl"] = damaged
        write_results(b, results)
        code, text = _compare_cli(a, b, "--out", tmp_path / "c")
        assert code == EXIT_USAGE, text
        assert _bare(f"{b / 'results.json'}: expected outputs.items.jsonl to be an object") \
            in text
        assert "auditagain" in text and "internalerror" not in text


@pytest.mark.parametrize("runs", ["runs_a", Path("runs_a"), b"runs_a"])
def test_one_folder_given_as_a_string_says_a_list_is_expected(tmp_path, runs):
    """``compare("runs/a")`` iterated the string: "...holding items.jsonl, got r"."""
    with pytest.raises(ConfigError, match=r"expected a list of at least two audit output "
                                          r"folders, got one folder, 'runs_a'"):
        halluscope.compare(runs)


def test_other_wrong_run_lists_are_usage_errors(tmp_path):
    a = _pope(tmp_path, "a")
    with pytest.raises(ConfigError, match="at least two audit output folders, got 1"):
        halluscope.compare([a])
    with pytest.raises(ConfigError, match="got int"):
        halluscope.compare(3)
    with pytest.raises(ConfigError, match="as paths .* got int 3"):
        halluscope.compare([a, 3])
    # any iterable of folders works, not only a list
    res = halluscope.compare(iter([a, a]), n_boot=0)
    assert res.metrics["pope.accuracy"]["diff"] == 0


def test_a_run_that_scored_nothing_is_named_with_its_reason(tmp_path):
    """The message blamed a halluscope older than compare and said to re-run the audit,
    which changes nothing: the metric scored nothing in that run."""
    ok = _pope(tmp_path, "ok")
    result = audit(records=[YES_NO], metrics="chair", n_boot=0, out=tmp_path / "failed",
                   write_report=False, coco_annotations=[DATA / "annotations" / "instances.json"])
    assert "chair" in result.unscored
    with pytest.raises(ConfigError) as err:
        halluscope.compare([ok, tmp_path / "failed"])
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'failed'}: nothing to compare")
    assert "chair scored nothing (0 of 1 records scored; 1 record: not a caption" in msg
    assert "results.json 'unscored'" in msg and "older" not in msg
    code, text = _compare_cli(ok, tmp_path / "failed", "--out", tmp_path / "c")
    assert code == EXIT_USAGE and "chairscorednothing" in text


def _pope_chair(tmp_path, name, metrics):
    rows = [{"id": "c1", "image_id": 1, "response": "A woman with a laptop."},
            {"id": "q1", "question_id": 1, "image_id": 1, "response": "Yes", "label": "no",
             "prompt": "Is there a laptop in the image?"}]
    audit(records=rows, metrics=metrics, n_boot=0, out=tmp_path / name, write_report=False,
          coco_annotations=[DATA / "annotations" / "instances.json"])
    return tmp_path / name


def test_a_metric_only_one_run_computed_is_said_whichever_run_it_is(tmp_path, caplog):
    """A metric only run B computed was dropped without a word; one only A computed was
    warned about: which folder came first decided whether the user was told."""
    pope = _pope_chair(tmp_path, "pope", "pope")
    both = _pope_chair(tmp_path, "both", "pope,chair")
    for a, b in ((both, pope), (pope, both)):
        caplog.clear()
        res = halluscope.compare([a, b], n_boot=0, out=tmp_path / "c")
        said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert said == [f"compare: metric chair left out: {pope} did not compute it"], said
        assert res.comparisons[0].left_out == {"chair": f"{pope} did not compute it"}
        saved = json.loads((tmp_path / "c" / "compare.json").read_text())
        assert saved["comparisons"][0]["left_out"] == {"chair": f"{pope} did not compute it"}
        assert "pope.accuracy" in res.metrics and not any(k.startswith("chair.")
                                                          for k in res.metrics)


def test_a_metric_that_scored_nothing_in_a_run_is_said_with_its_reason(tmp_path, caplog):
    """A metric that scored nothing in one run (or both) is left out saying why."""
    rows = [YES_NO, {**YES_NO, "id": "q2", "question_id": 2}]
    for name in ("a", "b"):
        audit(records=rows, metrics="pope,chair", n_boot=0, out=tmp_path / name,
              write_report=False, coco_annotations=[DATA / "annotations" / "instances.json"])
    res = halluscope.compare([tmp_path / "a", tmp_path / "b"], n_boot=0)
    why = "chair scored nothing (0 of 2 records scored; 2 records: not a caption"
    left = res.comparisons[0].left_out["chair"]
    assert left.startswith(f"{tmp_path / 'a'} {why}") and f"; {tmp_path / 'b'} {why}" in left
    assert any("compare: metric chair left out" in r.getMessage() for r in caplog.records)


def test_an_item_that_changed_verdict_is_counted_once_not_once_per_metric(tmp_path):
    """One caption audited with chair and claims that stops hallucinating was "2 better"."""
    ann = DATA / "annotations"
    for name, response in (("a", "A cat lying next to a dog."), ("b", "A cat lying down.")):
        rec = {"id": "c1", "image_id": 2, "image": str(DATA / "images" / "chelsea.jpg"),
               "response": response}
        audit(records=[rec], metrics="chair,claims", n_boot=0, out=tmp_path / name,
              write_report=False, coco_annotations=[ann / "instances.json"],
              annotations=[ann / "objects.json"])
    res = halluscope.compare([tmp_path / "a", tmp_path / "b"], n_boot=0, out=tmp_path / "c")
    comp = res.comparisons[0]
    assert sorted(c["metric"] for c in comp.changed) == ["chair", "claims"]   # both moved
    assert comp.item_changes() == {"2|c1": "better"}
    saved = json.loads((tmp_path / "c" / "compare.json").read_text())["comparisons"][0]
    assert saved["changed"] == {"better": 1, "worse": 0, "mixed": 0,
                                "by_metric": {"chair": {"better": 1, "worse": 0},
                                              "claims": {"better": 1, "worse": 0}}}
    html = (tmp_path / "c" / "compare.html").read_text()
    assert "better in B than in A (1)" in html and html.count("<h3>2|c1</h3>") == 1
    out = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"),
                                   "--out", str(tmp_path / "c2")], env={"COLUMNS": "200"})
    assert "items that changed verdict: 1 better, 0 worse in B" in out.output, out.output


def test_an_item_better_by_one_metric_and_worse_by_another_is_mixed():
    from halluscope.comparison import Comparison
    moved = [{"metric": m, "statistic": "s", "key": k, "a": 1.0, "b": 0.0, "change": ch,
              "item_a": {}, "item_b": {}}
             for m, k, ch in (("chair", "i1", "better"), ("claims", "i1", "worse"),
                              ("chair", "i2", "worse"), ("claims", "i2", "worse"),
                              ("chair", "i3", "better"))]
    comp = Comparison("a", "b", {}, moved)
    assert comp.item_changes() == {"i1": "mixed", "i2": "worse", "i3": "better"}
    counts = comp.change_counts()
    assert (counts["better"], counts["worse"], counts["mixed"]) == (1, 1, 1)
    assert counts["by_metric"] == {"chair": {"better": 2, "worse": 1},
                                   "claims": {"better": 0, "worse": 2}}
    from halluscope.cli.compare import _table
    assert _table(comp).caption == ("items that changed verdict: 1 better, 1 worse in B, "
                                     "1 better by one metric and worse by another")


@pytest.fixture
def fresh_process(monkeypatch):
    """As in a new process (the CLI's): no metric class this one ran or loaded is known."""
    from halluscope.metrics import base, references
    monkeypatch.setattr(base, "_SEEN", {})
    monkeypatch.setattr(references, "_FILES", {})


def _wordcount_runs(tmp_path, monkeypatch, reference):
    (tmp_path / "my_wordcount.py").write_text(
        (DATA.parent / "examples" / "custom_metric.py").read_text())
    monkeypatch.chdir(tmp_path)
    rows = [{"id": str(i), "image": f"{i}.jpg", "response": "word " * i} for i in range(1, 13)]
    for name in ("a", "b"):
        audit(records=rows if name == "a" else rows[:-1] + [{**rows[-1], "response": "x"}],
              metrics=reference, n_boot=50, out=tmp_path / name, write_report=False)
    from halluscope.metrics import base, references
    base._SEEN.clear()                              # what the audits loaded is forgotten
    references._FILES.clear()
    return tmp_path / "a", tmp_path / "b"


def test_a_metric_loaded_from_a_file_compares_as_the_audit_loaded_it(tmp_path, monkeypatch,
                                                                     fresh_process):
    """Two runs of the README's WordCount (--metric file.py:WordCount) "shared no metric to
    compare": compare could only find installed metrics."""
    a, b = _wordcount_runs(tmp_path, monkeypatch, "my_wordcount.py:WordCount")
    res = halluscope.compare([a, b], n_boot=50, metric_files=["my_wordcount.py:WordCount"])
    own = json.loads((a / "results.json").read_text())["metrics"]["wordcount"]
    mean = res.metrics["wordcount.mean_words"]
    assert mean["a"] == pytest.approx(own["mean_words"]["value"]) == pytest.approx(78 / 12)
    assert mean["diff"] == pytest.approx((1 - 12) / 12) and mean["n_paired"] == 12
    assert res.comparisons[0].left_out == {}


def test_a_metric_file_a_run_sheet_names_is_not_run_unasked(tmp_path, monkeypatch,
                                                            fresh_process):
    """compare never runs a Python file because a run folder's run sheet names it (a folder
    from elsewhere could carry the file it names): it says how to load it on purpose."""
    a, b = _wordcount_runs(tmp_path, monkeypatch, "my_wordcount.py:WordCount")
    (tmp_path / "my_wordcount.py").write_text(
        "raise SystemExit('a file a run folder names ran')\n")
    with pytest.raises(ConfigError) as err:
        halluscope.compare([a, b], n_boot=0)
    msg = str(err.value)
    assert "share no metric to compare; wordcount: wordcount is not an installed metric" in msg
    assert ("the run sheets name the Python file(s) my_wordcount.py:WordCount, which compare "
            "runs only when asked: pass --metric-file my_wordcount.py:WordCount") in msg
    code, text = _compare_cli(a, b, "--out", tmp_path / "c")
    assert code == EXIT_USAGE and "wordcountisnotaninstalledmetric" in text


def test_a_metric_file_asked_for_that_cannot_be_loaded_says_so(tmp_path, monkeypatch,
                                                               fresh_process):
    a, b = _wordcount_runs(tmp_path, monkeypatch, "my_wordcount.py:WordCount")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")       # the relative path no longer finds it
    with pytest.raises(ConfigError, match="expected a Python file at my_wordcount.py"):
        halluscope.compare([a, b], n_boot=0, metric_files=["my_wordcount.py:WordCount"])
    (tmp_path / "elsewhere" / "my_wordcount.py").write_text("def broken(:\n")
    code, text = _compare_cli(a, b, "--out", tmp_path / "c", "--metric-file",
                              "my_wordcount.py:WordCount")
    assert code == EXIT_USAGE and "SyntaxError" in text


def test_a_metric_object_the_run_sheet_cannot_name_says_so(tmp_path, fresh_process):
    """A Metric object handed to audit() leaves no reference in the run sheet."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "wordcount_for_test", DATA.parent / "examples" / "custom_metric.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = [{"id": str(i), "response": "word " * i} for i in range(1, 4)]
    for name in ("a", "b"):
        audit(records=rows, metrics=[module.WordCount()], n_boot=0, out=tmp_path / name,
              write_report=False)
    from halluscope.metrics import base
    base._SEEN.clear()
    with pytest.raises(ConfigError, match="wordcount is not an installed metric, and no "
                                          "metric reference its run sheets name"):
        halluscope.compare([tmp_path / "a", tmp_path / "b"], n_boot=0)
