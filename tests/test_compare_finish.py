"""compare says when the two runs' answers were not all known to be whole: a run that read
answers cut at the token limit (scored as written), or one audited with --complete-only
(which left them out as bad records) against one without. Each entry counts its paired
answers not known whole (``unfinished``); runs of whole answers alike say nothing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import halluscope
from halluscope.cli import app
from halluscope.comparison import compare
from test_finish_reasons import _answers, _questions


def _run(tmp_path, name, reasons, **options):
    answers = _answers(tmp_path, reasons, name=f"{name}.jsonl")
    out = tmp_path / f"out-{name}"
    halluscope.audit(answers, metrics="pope", out=out, n_boot=50, write_report=False,
                     questions=tmp_path / "coco_pope_random.json", options=options)
    return out


def test_truncated_answers_in_one_run_are_said_and_counted(tmp_path):
    """B's answers 2 and 5 were cut at the token limit (scored as written), A's all ended: the
    comparison says so beside the table (and in compare.json and compare.html), and each
    entry counts the paired answers not known whole: A 0, B 2."""
    _questions(tmp_path)
    run_a = _run(tmp_path, "a", ["stop"] * 12)
    run_b = _run(tmp_path, "b", ["stop", "length", "stop", "stop", "max_tokens"] + ["stop"] * 7)
    cmp = compare([run_a, run_b], n_boot=50, out=tmp_path / "cmp")
    comp = cmp.comparisons[0]
    assert comp.finish["a"]["truncated"] == 0 and comp.finish["b"]["truncated"] == 2
    note = comp.finish["note"]
    assert "B read 2 answer(s) cut at the token limit" in note and "scored as written" in note
    assert note in comp.notes()
    assert cmp.metrics["pope.f1"]["unfinished"] == {"a": 0, "b": 2}
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert saved["comparisons"][0]["finish"]["note"] == note
    assert "cut at the token limit" in (tmp_path / "cmp" / "compare.html").read_text()
    res = CliRunner().invoke(app, ["compare", str(run_a), str(run_b), "--out",
                                   str(tmp_path / "cmp2")])
    assert res.exit_code == 0 and "cut at the token limit" in " ".join(res.output.split())


def test_withheld_answers_are_said_as_bad_records(tmp_path):
    """B's answer 3 was withheld by a content filter (a bad record, not scored): said as
    such, counted in only A."""
    _questions(tmp_path)
    run_a = _run(tmp_path, "a", ["stop"] * 12)
    run_b = _run(tmp_path, "b", ["stop", "stop", "content_filter"] + ["stop"] * 9)
    comp = compare([run_a, run_b], n_boot=50).comparisons[0]
    assert comp.metrics["pope.f1"]["only_a"] == 1
    assert "B read 1 answer(s) withheld by a filter: bad records, not scored" in \
        comp.finish["note"]
    assert "scored as written" not in comp.finish["note"]


def test_complete_only_in_one_run_is_said(tmp_path):
    """B audited with --complete-only leaves its 2 cut answers out (only A: 2): said, naming
    the option given for B only."""
    _questions(tmp_path)
    run_a = _run(tmp_path, "a", ["stop"] * 12)
    run_b = _run(tmp_path, "b", ["stop", "length"] * 2 + ["stop"] * 8, complete_only=True)
    comp = compare([run_a, run_b], n_boot=50).comparisons[0]
    assert comp.metrics["pope.f1"]["only_a"] == 2
    assert "--complete-only was given for B only" in comp.finish["note"]
    assert "left out as bad records" in comp.finish["note"]


def test_whole_answers_alike_say_nothing(tmp_path):
    _questions(tmp_path)
    run_a = _run(tmp_path, "a", ["stop"] * 12)
    run_b = _run(tmp_path, "b", [...] * 12)
    comp = compare([run_a, run_b], n_boot=50).comparisons[0]
    assert comp.finish == {} and "finish" not in comp.to_dict()
    assert "unfinished" not in comp.metrics["pope.f1"]


def test_a_statistic_one_run_computed_is_left_out_saying_which(tmp_path, monkeypatch):
    """A statistic that one run's settings define and the other's do not (here a parser whose
    definitions lack F1) is left out naming the run that computed it and why, not as "no sum
    over the items compare reads", and a gate on it says so."""
    import pytest

    from halluscope.comparison import diff_gate_failures
    from halluscope.metrics.pope import PopeMetric
    _questions(tmp_path)
    run_a = _run(tmp_path, "a", ["stop"] * 12)
    run_b = _run(tmp_path, "b", [...] * 12)
    original = PopeMetric.statistics_for.__func__

    def fewer(cls, info):
        stats = dict(original(cls, info))
        if info.get("_b"):
            stats.pop("f1")
        return stats
    results = json.loads((run_b / "results.json").read_text())
    results["metrics"]["pope"]["info"]["_b"] = True
    from conftest import write_results
    write_results(run_b, results)
    monkeypatch.setattr(PopeMetric, "statistics_for", classmethod(fewer))
    comp = compare([run_a, run_b], n_boot=0).comparisons[0]
    assert "pope.f1" not in comp.metrics
    assert comp.left_out["pope.f1"].startswith("computed by run A only (its settings differ")
    with pytest.raises(KeyError, match="computed by run A only"):
        diff_gate_failures({"comparisons": [comp.to_dict()]}, above={"diff.pope.f1": 0.0})


def test_pope_answers_scored_against_other_labels_are_refused(tmp_path):
    """Two POPE answer files carrying their labels inline (no question file whose sha256
    compare checks): the same answers, 10 of 30 labels flipped in B. compare reported
    accuracy 1.0 -> 0.667 as the model's change; the paired questions are not the same
    questions, so it refuses (exit 2) naming one and both labels."""
    import pytest

    from halluscope.errors import ConfigError

    def rows(flip: bool) -> list[dict]:
        out = []
        for i in range(30):
            label = "yes" if i % 2 else "no"
            if flip and i < 10:
                label = "no" if label == "yes" else "yes"
            out.append({"id": f"q{i}", "question_id": i, "task": "yes-no",
                        "image": f"img{i % 10}.jpg", "prompt": "Is there a dog in the image?",
                        "response": "Yes." if i % 2 else "No.", "label": label})
        return out
    runs = []
    for name, flip in (("a", False), ("b", True)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows(flip)))
        halluscope.audit(path, metrics="pope", out=tmp_path / name, n_boot=0,
                         write_report=False)
        runs.append(tmp_path / name)
    with pytest.raises(ConfigError) as info:
        compare(runs, n_boot=0)
    assert "10 paired question(s) were scored against another truth" in str(info.value)
    assert "'img0.jpg|q0': 'no' in A, 'yes' in B" in str(info.value)
    res = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(tmp_path / "c")])
    assert res.exit_code == 2
    assert compare([runs[0], runs[0]], n_boot=0).metrics        # the same labels pair
