"""Paired comparison of audit runs: pairing, the paired bootstrap, diff gates, the CLI."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import EXIT_GATE, EXIT_USAGE, app
from halluscope.comparison import diff_gate_failures, diff_value
from halluscope.errors import ConfigError
from halluscope.api import audit

DEMO = Path(__file__).resolve().parents[1] / "data"


def _rows(right_images, n_images=20, per_image=3, drop=()):
    """POPE answers: every question of an image in ``right_images`` answered right, the rest
    wrong."""
    rows = []
    for img in range(1, n_images + 1):
        for q in range(per_image):
            qid = f"{img}-{q}"
            if qid in drop:
                continue
            label = "yes" if q % 2 == 0 else "no"
            answer = label if img in right_images else ("no" if label == "yes" else "yes")
            rows.append({"question_id": qid, "image_id": img, "label": label,
                         "prompt": "Is there a dog in the image?", "response": answer})
    return rows


def _run(tmp_path, name, rows):
    audit(records=rows, metrics="pope", n_boot=0, out=tmp_path / name, write_report=False)
    return tmp_path / name


def test_hand_worked_pairing_and_difference(tmp_path):
    a = _run(tmp_path, "a", _rows(right_images=set(range(1, 11))))           # 10/20 images
    # b: images 1..15 right; one question of image 20 missing, so 59 paired items
    b = _run(tmp_path, "b", _rows(right_images=set(range(1, 16)), drop={"20-2"}))
    res = halluscope.compare([a, b], out=tmp_path / "cmp", n_boot=300)
    acc = res.metrics["pope.accuracy"]
    assert acc["n_paired"] == 59 and acc["only_a"] == 1 and acc["only_b"] == 0
    assert acc["a"] == pytest.approx(30 / 59) and acc["b"] == pytest.approx(45 / 59)
    assert acc["diff"] == pytest.approx(15 / 59)
    lo, hi = acc["ci"]
    assert 0 < lo < acc["diff"] < hi
    # the 15 changed questions (images 11..15) are listed as better, none worse
    comp = res.comparisons[0]
    assert sum(c["change"] == "better" for c in comp.changed) == 15
    assert not [c for c in comp.changed if c["change"] == "worse"]
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert saved["metrics"]["pope.accuracy"]["ci"] == [lo, hi]
    assert saved["metrics"]["pope.tp"]["count"] is True
    html = (tmp_path / "cmp" / "compare.html").read_text()
    assert "better in B than in A (15)" in html and "11-0" in html


def test_run_compared_with_itself_has_zero_difference_and_no_interval(tmp_path):
    """Every replicate of the difference is 0 (no paired item differs): the [0, 0] interval it
    gave bounds nothing (the models may differ by some 3/n on other items), so none is given,
    the note says why, and a gate on a bound fails rather than passing on it."""
    from halluscope.gates.diff import NoInterval, diff_value
    rows = _rows(right_images={1, 4, 5, 9, 13, 17, 18})
    a = _run(tmp_path, "a", rows)
    b = _run(tmp_path, "b", rows)
    res = halluscope.compare([a, b], n_boot=200)
    for key, entry in res.metrics.items():
        if entry.get("count") or entry["a"] is None:
            continue
        assert entry["diff"] == 0, key
        assert entry["ci"] is None, key
        assert entry["ci_note"].startswith("no interval: zero width"), key
        assert entry["ci_reason"] == "zero_width", key
    with pytest.raises(NoInterval, match="zero width"):
        diff_value(res, "diff.pope.accuracy@upper")
    assert res.comparisons[0].changed == []


def test_paired_interval_is_narrower_than_unpaired_spread(tmp_path):
    """Both runs share most of their errors: the paired interval of the difference is much
    narrower than the two runs' own intervals would suggest."""
    a_rows = _rows(right_images=set(range(1, 11)))
    b_rows = _rows(right_images=set(range(1, 12)))
    a = tmp_path / "a"
    b = tmp_path / "b"
    ra = audit(records=a_rows, metrics="pope", n_boot=300, out=a, write_report=False)
    audit(records=b_rows, metrics="pope", n_boot=300, out=b, write_report=False)
    res = halluscope.compare([a, b], n_boot=300)
    lo, hi = res.metrics["pope.accuracy"]["ci"]
    own_lo, own_hi = ra.get("pope.accuracy").ci
    assert (hi - lo) < 0.5 * (own_hi - own_lo)


def test_diff_gates(tmp_path):
    a = _run(tmp_path, "a", _rows(right_images=set(range(1, 16))))
    b = _run(tmp_path, "b", _rows(right_images=set(range(1, 11))))          # b is worse
    res = halluscope.compare([a, b], n_boot=300)
    assert diff_value(res, "diff.pope.accuracy") == pytest.approx(-15 / 60)
    assert diff_value(res, "diff.pope.accuracy@upper") < 0
    fails = diff_gate_failures(res, below={"diff.pope.accuracy@upper": 0})
    assert fails and "diff.pope.accuracy@upper" in fails[0]
    assert not diff_gate_failures(res, above={"diff.pope.accuracy": 0})
    with pytest.raises(KeyError, match="no 'pope.nope'"):
        diff_value(res, "diff.pope.nope")
    # a compare.json dict is read the same way
    assert diff_value(res.to_dict(), "diff.pope.accuracy") == pytest.approx(-15 / 60)
    with pytest.raises(KeyError, match="did you mean 'pope.accuracy'"):
        diff_value(res, "diff.pope.acuracy")


def test_diff_gate_never_passes_on_a_missing_value():
    """An undefined difference (a statistic neither run could compute) fails its gate."""
    compared = {"metrics": {"pope.f1": {"a": None, "b": None, "diff": None, "ci": None},
                            "chair.chair_i": {"a": 0.1, "b": 0.1, "diff": float("nan")}}}
    for name in ("diff.pope.f1", "diff.chair.chair_i"):
        for side in ("above", "below"):
            fails = diff_gate_failures(compared, **{side: {name: 0.0}})
            assert len(fails) == 1 and "has no value" in fails[0]
    # a bound of a difference without an interval fails too (an audit gate's exit 1), rather
    # than being a usage error (it was exit 2, its message wrapped in a KeyError's quotes)
    compared["metrics"]["pope.f1"].update(diff=0.1, ci_note="too few units")
    fails = diff_gate_failures(compared, below={"diff.pope.f1@lower": 0.0})
    assert fails == ["diff.pope.f1 (B − A) has no interval (too few units), so a gate on its "
                     "lower bound cannot hold"]       # the runs' pope.f1 may well have one


def test_a_diff_gate_message_names_the_difference_and_a_count_whole():
    """A crossed gate on a count said 'diff.pope.fp = +503.0000 is above 10' (a count of
    answers with four decimals), and a bound without an interval 'pope.f1 has no interval',
    which read as the runs' own pope.f1 (which may well have one)."""
    compared = {"metrics": {"pope.fp": {"a": 203, "b": 706, "diff": 503, "ci": None,
                                        "count": True},
                            "pope.f1": {"a": 0.8, "b": 0.7, "diff": -0.1, "ci": [-0.2, -0.05]}}}
    assert diff_gate_failures(compared, above={"diff.pope.fp": 10}) == [
        "diff.pope.fp = +503 is above 10"]
    assert diff_gate_failures(compared, below={"diff.pope.f1@upper": 0}) == [
        "diff.pope.f1@upper = -0.0500 is below 0"]
    assert diff_gate_failures(compared, below={"diff.pope.fp@lower": 0}) == [
        "diff.pope.fp (B − A) has no interval (a count), so a gate on its lower bound cannot "
        "hold"]


def test_compare_cli(tmp_path):
    a = _run(tmp_path, "a", _rows(right_images=set(range(1, 16))))
    b = _run(tmp_path, "b", _rows(right_images=set(range(1, 11))))
    runner = CliRunner()
    out = runner.invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"),
                              "--bootstrap", "200"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "pope.accuracy" in out.output and "-0.2500" in out.output
    assert (tmp_path / "c" / "compare.json").is_file()
    out = runner.invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"),
                              "--bootstrap", "200", "-q",
                              "--fail-below", "diff.pope.accuracy@upper=0"])
    assert out.exit_code == EXIT_GATE
    out = runner.invoke(app, ["compare", str(a), str(tmp_path / "missing"), "--out",
                              str(tmp_path / "c")])
    assert out.exit_code == EXIT_USAGE and "items.jsonl" in out.output
    out = runner.invoke(app, ["compare", str(a), str(b), "--fail-above", "chair.chair_i=0"])
    assert out.exit_code == EXIT_USAGE


def test_compare_table_in_a_narrow_terminal_keeps_every_digit(tmp_path):
    """At 60 columns the table does not fit: each metric is printed as a line (wrapped at
    spaces), every number whole."""
    a = _run(tmp_path, "a", _rows(right_images=set(range(1, 16))))
    b = _run(tmp_path, "b", _rows(right_images=set(range(1, 11))))
    out = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"),
                                   "--bootstrap", "200"], env={"COLUMNS": "60"})
    assert out.exit_code == 0, out.output
    assert "…" not in out.output
    assert "pope.accuracy" in out.output
    assert "pope.accuracy: A 0.7500, B 0.5000, B − A -0.2500" in " ".join(out.output.split())
    assert "pope.tp: A 30, B 20, B − A -10" in " ".join(out.output.split())


def test_an_interrupted_or_mixed_run_folder_is_refused(tmp_path):
    """An audit killed while rewriting its folder leaves the previous run's items.jsonl and no
    results.json: compare read those stale items and showed +0.0000 everywhere."""
    from halluscope.errors import InputError
    rows = _rows(right_images={1, 2, 3})
    a = _run(tmp_path, "a", rows)
    b = _run(tmp_path, "b", rows)
    (b / "results.json").unlink()
    with pytest.raises(InputError, match="interrupted or is still running"):
        halluscope.compare([a, b], n_boot=0)
    c = _run(tmp_path, "c", rows)
    with open(c / "items.jsonl", "a") as fh:
        fh.write("\n")
    with pytest.raises(InputError, match="edited, truncated or is from another run"):
        halluscope.compare([a, c], n_boot=0)
    res = CliRunner().invoke(app, ["compare", str(a), str(b)])
    assert res.exit_code == EXIT_USAGE, res.output


def test_repeated_item_keys_are_paired_by_occurrence_not_dropped(tmp_path):
    """Two answers per question id (e.g. two captions of one image): both are compared, the
    first with the first and the second with the second; the second used to be dropped."""
    rows = _rows(right_images=set(range(1, 21)), n_images=20, per_image=1)
    worse = [dict(r, response="no" if r["label"] == "yes" else "yes") for r in rows]
    a = _run(tmp_path, "a", rows + rows)
    b = _run(tmp_path, "b", rows + worse)
    acc = halluscope.compare([a, b], n_boot=0).metrics["pope.accuracy"]
    assert acc["n_paired"] == 40 and acc["only_a"] == acc["only_b"] == 0
    assert acc["a"] == pytest.approx(1.0) and acc["b"] == pytest.approx(0.5)


def test_runs_scored_against_other_files_are_refused_and_other_settings_said(tmp_path):
    """Two POPE runs against different question files paired question 2 ('car' in one,
    'dining table' in the other) without a word; a CHAIR variant change was silent too."""
    from halluscope.errors import ConfigError
    questions = []
    for name, obj in (("q1.jsonl", "car"), ("q2.jsonl", "dining table")):
        path = tmp_path / name
        path.write_text("".join(json.dumps({"question_id": i, "image": f"{i}.jpg",
                                            "text": f"Is there a {obj} in the image?",
                                            "label": "yes"}) + "\n" for i in range(1, 21)))
        questions.append(path)
    answers = tmp_path / "a.jsonl"
    answers.write_text("".join(json.dumps({"question_id": i, "answer": "Yes",
                                           "question": "Is there a thing in the image?"})
                               + "\n" for i in range(1, 21)))
    for k, q in enumerate(questions):      # the question texts differ: not checked against them
        q.write_text(q.read_text().replace(["car", "dining table"][k], "thing"))
        q.write_text(q.read_text().replace('"label": "yes"', f'"label": "{["yes", "no"][k]}"'))
    for k, q in enumerate(questions):
        audit(answers, metrics="pope", questions=q, out=tmp_path / f"r{k}", n_boot=0,
              write_report=False)
    with pytest.raises(ConfigError, match="read different companion files"):
        halluscope.compare([tmp_path / "r0", tmp_path / "r1"], n_boot=0)
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "r0"), str(tmp_path / "r1")])
    assert res.exit_code == EXIT_USAGE, res.output

    for v in ("original", "refined"):
        audit(DEMO, metrics="chair", chair_variant=v, out=tmp_path / v, n_boot=0,
              write_report=False)
    res = halluscope.compare([tmp_path / "original", tmp_path / "refined"], n_boot=0)
    assert res.metrics["chair.chair_i"]["setup_differs"] == [
        "variant: 'original' in A, 'refined' in B"]
    same = halluscope.compare([tmp_path / "original", tmp_path / "original"], n_boot=0)
    assert "setup_differs" not in same.metrics["chair.chair_i"]


def test_every_comparison_is_gated_and_every_threshold_kept(tmp_path):
    """With three runs only the first pair was gated; a gate given twice kept its last
    threshold (a dict by name)."""
    good = _rows(right_images=set(range(1, 16)))
    a, a2 = _run(tmp_path, "a", good), _run(tmp_path, "a2", good)
    b = _run(tmp_path, "b", _rows(right_images=set(range(1, 11))))         # b is worse
    res = halluscope.compare([a, a2, b], n_boot=0)
    fails = diff_gate_failures(res, below=[("diff.pope.accuracy", -0.1)])
    assert fails == [f"{b}: diff.pope.accuracy = -0.2500 is below -0.1"]
    runner = CliRunner()
    out = runner.invoke(app, ["compare", str(a), str(a2), str(b), "--out", str(tmp_path / "c"),
                              "-q", "--bootstrap", "0", "--fail-below",
                              "diff.pope.accuracy=-0.1"])
    assert out.exit_code == EXIT_GATE, out.output
    out = runner.invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"), "-q",
                              "--bootstrap", "0", "--fail-below", "diff.pope.accuracy=-0.1",
                              "--fail-below", "diff.pope.accuracy=-0.9"])
    assert out.exit_code == EXIT_GATE and "is below -0.1" in out.output


@pytest.mark.parametrize("gate,message", [
    ("diff.pope.accuracy=nan", "--fail-above diff.pope.accuracy=nan: expected a finite number as "
                               "the threshold, got 'nan'"),
    ("diff.pope.accuracy=12", "outside the range of a difference of its values [-1, 1]; rates "
                              "are fractions: did you mean 0.12?"),
])
def test_a_threshold_no_difference_can_cross_is_a_usage_error(tmp_path, gate, message):
    """NaN passed every gate (v > nan is false), and so did 12 on a rate's difference."""
    a = _run(tmp_path, "a", _rows(right_images=set(range(1, 16))))
    out = CliRunner().invoke(app, ["compare", str(a), str(a), "--out", str(tmp_path / "c"),
                                   "-q", "--bootstrap", "0", "--fail-above", gate],
                             env={"COLUMNS": "300"})
    assert out.exit_code == EXIT_USAGE and message in " ".join(out.output.split())
    with pytest.raises(ConfigError):
        diff_gate_failures(halluscope.compare([a, a], n_boot=0),
                           above=[(gate.partition("=")[0], float(gate.partition("=")[2]))])


@pytest.mark.parametrize("args", [["--confidence", "1.5"], ["--confidence", "0"],
                                  ["--bootstrap", "-5"]])
def test_compare_options_out_of_range_are_usage_errors(tmp_path, args):
    a = _run(tmp_path, "a", _rows(right_images=set(range(1, 16))))
    out = CliRunner().invoke(app, ["compare", str(a), str(a), "--out", str(tmp_path / "c"),
                                   "-q", *args])
    assert out.exit_code == EXIT_USAGE, out.output


@pytest.mark.parametrize("content", ["{}", '{"metrics": ', "[]", "null"])
def test_a_damaged_results_json_is_an_input_error(tmp_path, content):
    """'{}' skipped the interrupted-run, mixed-runs and companion-file checks (exit 0); a cut
    or non-object file was exit 3."""
    a = _run(tmp_path, "a", _rows(right_images=set(range(1, 16))))
    b = _run(tmp_path, "b", _rows(right_images=set(range(1, 11))))
    (b / "results.json").write_text(content)
    out = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"),
                                   "-q"], env={"COLUMNS": "1000"})
    text = "".join(out.output.split())           # however the console wrapped it
    assert out.exit_code == EXIT_USAGE and "results.json:expected" in text, out.output


def test_compare_recomputes_the_statistics_the_run_computed(tmp_path):
    """A POPE run with lmms-eval's parser was recomputed with halluscope's own definitions:
    compare showed other numbers than the run's under its name."""
    rows = _rows(right_images=set(range(1, 16)))
    for i, row in enumerate(rows):
        if i % 3 == 0:
            row["response"] = "I cannot tell."
    audit(records=rows, metrics="pope", n_boot=0, out=tmp_path / "l", write_report=False,
          pope_parser="lmms-eval")
    run = json.loads((tmp_path / "l" / "results.json").read_text())["metrics"]["pope"]
    res = halluscope.compare([tmp_path / "l", tmp_path / "l"], n_boot=0)
    for stat in ("accuracy", "precision", "recall", "f1", "yes_ratio"):
        assert res.metrics[f"pope.{stat}"]["a"] == pytest.approx(run[stat]["value"]), stat
