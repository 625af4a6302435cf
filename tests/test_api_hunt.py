"""The Python API as a notebook uses it (apihunt): what a second audit in the same process
runs, and what a result shows of itself."""

from __future__ import annotations

import html
import json
import shutil
import textwrap
from pathlib import Path

import halluscope
# loaded outside pytester's module snapshot: a module that an in-process pytest run loads
# first is dropped after it, and loaded again beside the copies other modules hold (two
# Coded classes: isinstance fails), whichever test file ran such a run before these tests
import halluscope.column_json  # noqa: F401
import halluscope.gates.assertions  # noqa: F401
import halluscope.metrics.pope_columns  # noqa: F401
import halluscope.metrics.pope_coverage  # noqa: F401
import halluscope.metrics.pope_questions  # noqa: F401

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "custom_metric.py"
CAPTIONS = [{"id": f"c{i}", "task": "caption", "image": f"img{i}.jpg",
             "response": "A cat sits on a red sofa next to a small dog."} for i in range(4)]


def test_an_edited_metric_file_is_run_again_by_the_next_audit(tmp_path):
    """A notebook audited with ``mine.py:WordCount``, edited the file and audited again: the
    second audit ran the old code (the file was run once per process), while its run sheet
    fingerprinted the edited file. The edited metric is what runs now."""
    mine = tmp_path / "mine.py"
    shutil.copyfile(EXAMPLE, mine)
    ref = f"{mine}:WordCount"
    first = halluscope.audit(records=CAPTIONS, metrics=ref, cluster_by="item", n_boot=0)
    assert first.get("wordcount.mean_words").value == 12
    mine.write_text(mine.read_text().replace("return len(_WORD.findall(text))",
                                             "return 2 * len(_WORD.findall(text))"))
    again = halluscope.audit(records=CAPTIONS, metrics=ref, cluster_by="item", n_boot=0)
    assert again.get("wordcount.mean_words").value == 24
    same = halluscope.audit(records=CAPTIONS, metrics=ref, cluster_by="item", n_boot=0)
    assert same.get("wordcount.mean_words").value == 24
    from halluscope.metrics.base import metric_class
    assert metric_class(ref) is metric_class(ref)          # unchanged: not run again


def test_a_redefined_metric_class_explains_the_next_audits_gate(tmp_path):
    """A notebook cell that redefines a metric class (same name) and audits again: gate
    messages, the console and the report read the class by name, and got the first class
    ever run under it (its ``explain_item``), not the one whose numbers they show."""
    from halluscope.metrics.base import declared, metric_class
    base = metric_class(f"{EXAMPLE}:WordCount")

    class Before(base):
        pass
    halluscope.audit(records=CAPTIONS, metrics=[Before(min_words=20)], n_boot=0,
                     cluster_by="item")

    class Counted(base):        # the cell, run again after an edit (the same metric name)
        @classmethod
        def explain_item(cls, item, statistic, group=None):
            return 1.0, ["explained by the edited class"]
    result = halluscope.audit(records=CAPTIONS, metrics=[Counted(min_words=20)], n_boot=0,
                              cluster_by="item")
    assert declared("wordcount") is Counted
    failures = result.gate_failures(above={"wordcount.short_rate": 0.5})
    assert failures
    try:
        result.assert_below("wordcount.short_rate", 0.5)
    except AssertionError as exc:
        assert "explained by the edited class" in str(exc)
    else:
        raise AssertionError("the gate passed on a short_rate of 1")


def _interrupted_pope_query(folder: Path) -> Path:
    """``out.jsonl``: a POPE query of 8 questions stopped after 3 answers or so."""
    import pytest

    from conftest import pope_prompt_file
    out = folder / "out.jsonl"

    def stop(counts):
        if counts.new >= 3:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        halluscope.query(pope_prompt_file(folder), "mock/yes-no", out=out, cache=False,
                         progress=stop)
    return out


def test_a_notebook_shows_partial_numbers_as_partial(tmp_path):
    """The console marks an audit of an unfinished query run PARTIAL in red, results.json and
    the report say so; the notebook's summary (``result`` in Jupyter) and ``repr`` showed the
    numbers as if every request had been answered."""
    result = halluscope.audit(_interrupted_pope_query(tmp_path), metrics="pope", n_boot=0)
    assert result.unfinished_inputs
    shown = result._repr_html_()
    assert "<b>PARTIAL</b>" in shown and "of 8 requests answered" in shown
    assert "no gate is decided on them" in shown
    assert "PARTIAL" in repr(result)
    allowed = halluscope.audit(tmp_path / "out.jsonl", metrics="pope", n_boot=0,
                               allow_unfinished_query=True)
    assert "gates are judged on them" in allowed._repr_html_()


def test_a_notebook_says_why_a_statistic_has_no_value(tmp_path):
    """A statistic without a value showed ``None`` in the notebook's table, its reason
    (``why_no_value``, what the console and to_pandas('metrics') give) left out."""
    result = halluscope.audit(records=[{"id": "q1", "question_id": 1, "image": "a.jpg",
                                        "prompt": "Is there a dog in the image?",
                                        "response": "No.", "label": "no"}] * 3,
                              metrics="pope", n_boot=0)
    precision = result.get("pope.precision")
    assert precision.value is None and precision.why_no_value
    shown = result._repr_html_()
    assert f"— ({html.escape(precision.why_no_value)}" in shown and ">None<" not in shown


def test_the_plugin_summary_marks_an_audit_of_an_unfinished_query_partial(tmp_path, pytester):
    """With ``--halluscope-allow-unfinished-query`` the assertions pass on the answers held,
    and the plugin's terminal section and JSON report showed those numbers as whole: the
    console's red PARTIAL line was missing from both."""
    out = _interrupted_pope_query(tmp_path)
    pytester.makeini(f"[pytest]\nhalluscope_outputs = {out}\nhalluscope_metrics = pope\n")
    pytester.makepyfile(test_gate=textwrap.dedent("""
        def test_allowed(halluscope_audit):
            halluscope_audit.assert_above("pope.accuracy", 0.1)
    """))
    report = pytester.path / "report.json"
    res = pytester.runpytest("-p", "no:cacheprovider", "--halluscope-allow-unfinished-query",
                             f"--halluscope-report={report}")
    res.assert_outcomes(passed=1)
    res.stdout.fnmatch_lines(["*PARTIAL: input*did not finish (* of 8 requests answered*"])
    (audit,) = json.loads(report.read_text())["audits"]
    assert "of 8 requests answered" in audit["partial"]


def test_the_plugin_names_where_the_bad_records_are_when_a_metric_scored_nothing(pytester):
    """An audit whose every record is bad fails the test with the reasons, counted
    ("3 records: bad record: field 'error': ..."), which named no file or line: the CI log
    now says where they are, as the console's problems table does."""
    lines = [json.dumps({"id": f"c{i}", "task": "caption", "image": "a.jpg",
                         "response": None, "error": "timeout"}) for i in range(3)]
    (pytester.path / "failed.jsonl").write_text("\n".join([*lines, "{oops"]) + "\n")
    pytester.makepyfile(test_gate=textwrap.dedent(f"""
        def test_gate(halluscope_auditor):
            result = halluscope_auditor.audit("failed.jsonl", metrics="{EXAMPLE}:WordCount")
            result.assert_below("wordcount.short_rate", 0.5)
    """))
    res = pytester.runpytest("-p", "no:cacheprovider")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines([
        "*wordcount scored nothing: 0 of 4 records scored*",
        "  bad records:",
        "    *failed.jsonl:1, *failed.jsonl:2, *failed.jsonl:3: field 'error': the model gave "
        "no answer: timeout",
        "    *failed.jsonl:4: invalid JSON*"])


def test_the_plugin_audits_again_when_the_outputs_file_changed(pytester):
    """Identical audits run once per session, keyed by the path: two tests that wrote other
    outputs to the same file (a parametrized model run) got the first one's result, and the
    second gate passed on numbers of outputs no longer there (CHAIR_i 0 for 0.75)."""
    from halluscope.metrics.chair_gt import GroundTruth  # noqa: F401  (loaded before pytester)
    (pytester.path / "gt.json").write_text(json.dumps({"2": ["cat"]}))
    pytester.makepyfile(test_gate=textwrap.dedent("""
        import json, pytest

        @pytest.mark.parametrize("said", ["A cat.", "A cat, a dog, a car and a bus."])
        def test_model(halluscope_auditor, said):
            rows = [{"id": f"c{i}", "image_id": 2, "caption": said} for i in range(3)]
            with open("outputs.jsonl", "w") as fh:
                fh.write("".join(json.dumps(r) + "\\n" for r in rows))
            result = halluscope_auditor.audit("outputs.jsonl", metrics="chair",
                                              gt_objects="gt.json", n_boot=0)
            result.assert_below("chair.chair_i", 0.1)

        def test_same_again(halluscope_auditor):
            result = halluscope_auditor.audit("outputs.jsonl", metrics="chair",
                                              gt_objects="gt.json", n_boot=0)
            assert result.get("chair.chair_i").value == 0.75
    """))
    report = pytester.path / "report.json"
    res = pytester.runpytest("-p", "no:cacheprovider", f"--halluscope-report={report}")
    res.assert_outcomes(passed=2, failed=1)
    res.stdout.fnmatch_lines(["*FAILED chair.chair_i = 0.7500, required <= 0.1000*"])
    keys = [a["key"] for a in json.loads(report.read_text())["audits"]]
    assert len(keys) == 2 and keys[1] == keys[0] + "-1"        # the third: the second's memo


def test_gates_that_are_no_gate_objects_are_a_usage_error_saying_how_to_make_them():
    """``audit(gates=["chair.chair_i=0.1"])`` failed deep inside with "'str' object has no
    attribute 'where'", one Gate alone with "'Gate' object is not iterable", and
    ``parse_gates(above="chair.chair_i=0.1")`` read each character as a gate ("got 'c'")."""
    import pytest

    from halluscope.errors import ConfigError
    from halluscope.gates import parse_gates
    for wrong in (["chair.chair_i=0.1"], "chair.chair_i=0.1", {"chair.chair_i": 0.1}):
        with pytest.raises(ConfigError, match=r"audit\(gates=\.\.\.\): expected .*Gate "
                                              r"objects.*parse_gates\(above="):
            halluscope.audit(records=CAPTIONS, metrics="chair", gates=wrong)
    with pytest.raises(ConfigError, match=r"parse_gates\(above=\.\.\.\): expected a list of "
                                          r"gates such as \['chair.chair_i=0.1'\], got the "
                                          r"string"):
        parse_gates(above="chair.chair_i=0.1")
    (gate,) = parse_gates(above=["wordcount.short_rate=0.1"])
    result = halluscope.audit(records=CAPTIONS, metrics=f"{EXAMPLE}:WordCount", gates=gate,
                              n_boot=0, cluster_by="item")          # one Gate alone is one
    assert result.get("wordcount.responses").value == 4


def test_the_notebook_summary_links_the_report_that_save_wrote(tmp_path):
    """The README's ``result.save("runs/notebook")`` then ``result``: the summary linked a
    report only beside the items, and an audit without ``out`` has none there, so the report
    just written was not linked."""
    result = halluscope.audit(records=CAPTIONS, metrics=f"{EXAMPLE}:WordCount", n_boot=0,
                              cluster_by="item")
    assert "report.html</a>" not in result._repr_html_()
    result.save(tmp_path / "notebook")
    assert (tmp_path / "notebook" / "report.html").resolve().as_uri() in result._repr_html_()


_BOOM = '''
from custom_metric import WordCount


class Boom(WordCount):
    name = "boom"

    def score(self, record):
        if record.id == "c3":
            raise RuntimeError("bug in my metric")
        return super().score(record)
'''


def test_a_metric_that_crashes_says_on_which_record(tmp_path, monkeypatch, capsys):
    """A metric of one's own that raised on one record stopped the audit with "RuntimeError:
    bug in my metric" and nothing else (notebook, workers, the command line's one line): the
    record had to be found by hand. The error now carries a note naming the metric and the
    record's file and line, and the command line's one line says it too."""
    import sys

    import pytest

    from halluscope import cli
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    (tmp_path / "boom.py").write_text(_BOOM)
    caps = tmp_path / "caps.jsonl"
    caps.write_text("".join(json.dumps(r) + "\n" for r in
                            [{**c, "id": f"c{i}"} for i, c in enumerate(CAPTIONS * 2)]))
    note = f"while metric 'boom' scored record 'c3' ({caps}:4)"
    for workers in (None, 2):                                 # in the parent, and in workers
        with pytest.raises(RuntimeError, match="bug in my metric") as exc:
            halluscope.audit(caps, metrics=f"{tmp_path / 'boom.py'}:Boom", workers=workers,
                             cluster_by="item", n_boot=0)
        assert exc.value.__notes__ == [note]
    from halluscope.metrics.base import metric_class
    boom = metric_class(f"{tmp_path / 'boom.py'}:Boom")
    with pytest.raises(RuntimeError) as exc:                  # an object: updated in the parent
        halluscope.audit(records=[{**c, "id": f"c{i}"} for i, c in enumerate(CAPTIONS)],
                         metrics=[boom()], n_boot=0)
    assert exc.value.__notes__ == ["while metric 'boom' scored record 'c3' (<records>:4)"]
    monkeypatch.setattr(sys, "argv", ["halluscope", "audit", str(caps), "--metric",
                                      f"{tmp_path / 'boom.py'}:Boom", "--cluster-by", "item",
                                      "--out", str(tmp_path / "out")])
    monkeypatch.setattr(cli, "_debug", False)
    monkeypatch.delenv(cli.ENV_DEBUG, raising=False)
    with pytest.raises(SystemExit) as cli_boom:
        cli.main()
    assert cli_boom.value.code == 3
    err = " ".join(capsys.readouterr().err.split())
    assert f"internal error: RuntimeError: bug in my metric, {note}" in err
