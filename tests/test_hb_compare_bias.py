"""compare pairs HallusionBench's Yes/No bias (Pct Diff, FP Ratio) question by question and
its consistency shares figure by figure, as it pairs aAcc and fAcc; a side with no value
(utils.py divides by zero) gives no difference, says why, and fails a gate on it; a run
whose items do not keep each question's truth (audited before they did) leaves the bias out
saying so, and a statistic compare does not pair (the count of unanswered questions) is
listed as left out with its reason, never dropped in silence."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import write_results
from fake_openai_server import FakeServer
from halluscope.cli import app
from halluscope.comparison import compare, diff_gate_failures
from test_hallusionbench_bias import _grid, _responder

BIAS = ("yes_no_pct_diff", "yes_no_fp_ratio")
SHARES = ("consistency_inconsistent", "consistency_wrong")


def _runs(tmp_path: Path, marks: dict[str, dict]) -> dict[str, Path]:
    """One refined audit per name of ``marks`` (the grid's verdict markers), one judge."""
    out = {}
    with FakeServer(responder=_responder) as server:
        for name, mark in marks.items():
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps(_grid(mark)))
            res = CliRunner().invoke(app, [
                "audit", str(path), "--metric", "hallusionbench", "--option",
                "hallusionbench_variant=refined", "--judge", "hallusionbench-gpt-4", "--option",
                f"judge_base_url={server.url}", "--cache-dir", str(tmp_path / "cache"),
                "--bootstrap", "0", "--out", str(tmp_path / f"out-{name}"), "--quiet",
                "--no-report"])
            assert res.exit_code == 0, res.output
            out[name] = tmp_path / f"out-{name}"
    return out


def _results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())["metrics"]["hallusionbench"]


# The grid of test_hallusionbench_bias: VD set 0 (figures 0, 1) and VS set 0 (figure 0 without
# an image, figures 1, 2), questions 0 and 1; truth Yes where figure + question is even: 5 of
# the 10 questions. A is wrong on VD f1 q0 (No) and VS f2 q1 (No); B on VD f0 q0 (Yes),
# VD f0 q1 (No) and VS f1 q0 (No).
A = {("VD", "0", "1", "0"): "<W>", ("VS", "0", "2", "1"): "<W>"}
B = {("VD", "0", "0", "0"): "<W>", ("VD", "0", "0", "1"): "<W>", ("VS", "0", "1", "0"): "<W>"}


def test_hand_worked_bias_and_consistency_differences(tmp_path):
    """By hand. Read as Yes = right on a Yes truth or wrong on a No one: A 5 + 2 = 7 of 10,
    Pct Diff 7/10 - 5/10 = 0.2; B 4 + 2 = 6, 0.1; B - A = -0.1. FP Ratio (wrong answers on a
    No truth over the wrong): A 2/2 = 1, B 2/3; B - A = -1/3. Figures (VS figure 0 has no
    image: not one): VD f0, VD f1, VS f1, VS f2. A: VD f1 and VS f2 inconsistent (2/4), none
    all wrong; B: VD f0 all wrong (1/4), VS f1 inconsistent (1/4). Each side is its
    results.json value; none has a direction."""
    runs = _runs(tmp_path, {"a": A, "b": B})
    cmp = compare([runs["a"], runs["b"]], n_boot=200)
    want = {"yes_no_pct_diff": (0.2, 0.1, 10), "yes_no_fp_ratio": (1.0, 2 / 3, 10),
            "consistency_inconsistent": (0.5, 0.25, 4), "consistency_wrong": (0.0, 0.25, 4)}
    res_a, res_b = _results(runs["a"]), _results(runs["b"])
    for stat, (a, b, paired) in want.items():
        e = cmp.metrics[f"hallusionbench.{stat}"]
        assert e["a"] == pytest.approx(a) and e["b"] == pytest.approx(b), stat
        assert e["diff"] == pytest.approx(b - a), stat
        assert (e["a"], e["b"]) == (res_a[stat]["value"], res_b[stat]["value"]), stat
        assert (e["n_paired"], e["only_a"], e["only_b"]) == (paired, 0, 0), stat
        assert e["direction"] is False and e["higher_is_better"] is False, stat
        assert e["ci"] is None and e["ci_reason"].startswith("paired"), stat   # too few
    assert cmp.metrics["hallusionbench.yes_no_pct_diff"]["diff_bounds"] == [-2.0, 2.0]
    assert cmp.metrics["hallusionbench.yes_no_fp_ratio"]["diff_bounds"] == [-1.0, 1.0]
    assert cmp.metrics["hallusionbench.consistency_wrong"]["paired_by"] == "figures"
    assert list(cmp.comparisons[0].left_out) == ["hallusionbench.unanswered"]
    assert "not a sum over items" in cmp.comparisons[0].left_out["hallusionbench.unanswered"]


def test_hand_worked_figure_score_difference(tmp_path):
    """figure_score (the per-figure table's "Score": the mean of each figure's share right)
    pairs figure by figure. By hand, figures VD f0, VD f1, VS f1, VS f2: A 1, 1/2, 1, 1/2 ->
    3/4; B 0, 1, 1/2, 1 -> 5/8; B - A = -1/8. Higher is better (it has a direction), unlike
    the consistency shares."""
    runs = _runs(tmp_path, {"a": A, "b": B})
    e = compare([runs["a"], runs["b"]], n_boot=200).metrics["hallusionbench.figure_score"]
    assert (e["a"], e["b"]) == (pytest.approx(0.75), pytest.approx(0.625))
    assert (e["a"], e["b"]) == (_results(runs["a"])["figure_score"]["value"],
                                _results(runs["b"])["figure_score"]["value"])
    assert e["diff"] == pytest.approx(-0.125) and e["paired_by"] == "figures"
    assert (e["n_paired"], e["only_a"], e["only_b"]) == (4, 0, 0)
    assert e["higher_is_better"] is True and e.get("direction", True) is not False


def test_a_side_without_a_value_says_why_and_fails_its_gates(tmp_path):
    """B answers every question right: its FP Ratio is a share of no wrong answer (utils.py
    divides by zero), so the difference has none; the entry, the notes and a gate on the
    value or a bound say why, and the gate fails (exit 1), never passes."""
    runs = _runs(tmp_path, {"a": A, "b": {}})
    assert _results(runs["b"])["yes_no_fp_ratio"]["value"] is None
    cmp = compare([runs["a"], runs["b"]], n_boot=200)
    e = cmp.metrics["hallusionbench.yes_no_fp_ratio"]
    assert (e["a"], e["b"], e["diff"], e["ci"]) == (1.0, None, None, None)
    assert set(e["why_no_value"]) == {"b"} and "no wrong answer" in e["why_no_value"]["b"]
    assert any("yes_no_fp_ratio has no difference; B has no value: no wrong answer" in n
               for n in cmp.comparisons[0].notes())
    for gate in ("diff.hallusionbench.yes_no_fp_ratio",
                 "diff.hallusionbench.yes_no_fp_ratio@upper"):
        failures = diff_gate_failures(cmp, above={gate: 0.5})
        assert len(failures) == 1 and "B has no value: no wrong answer" in failures[0], gate
    res = CliRunner().invoke(app, ["compare", str(runs["a"]), str(runs["b"]), "--out",
                                   str(tmp_path / "cmp"), "--fail-above",
                                   "diff.hallusionbench.yes_no_fp_ratio=0.5"])
    assert res.exit_code == 1, res.output
    assert "no wrong answer" in res.output
    page = (tmp_path / "cmp" / "compare.html").read_text()
    assert "B has no value: no wrong answer" in page and "Left out:" in page


def test_runs_whose_items_keep_no_truth_leave_the_bias_out_saying_why(tmp_path, caplog):
    """A run audited before items.jsonl kept each question's gt_answer: the Yes/No bias cannot
    be recomputed, so it is left out naming the line and saying to audit again; the
    consistency shares (over figures, no truth needed) are still compared, and a gate on the
    bias is a usage error saying why."""
    runs = _runs(tmp_path, {"a": A, "b": B})
    items = runs["a"] / "items.jsonl"
    lines = []
    for line in items.read_text().splitlines():
        item = json.loads(line)
        del item["hallusionbench"]["gt_answer"]
        lines.append(json.dumps(item))
    items.write_text("\n".join(lines) + "\n")
    results = json.loads((runs["a"] / "results.json").read_text())
    results["outputs"]["items.jsonl"]["sha256"] = hashlib.sha256(items.read_bytes()).hexdigest()
    write_results(runs["a"], results)
    cmp = compare([runs["a"], runs["b"]], n_boot=0)
    left = cmp.comparisons[0].left_out
    for stat in BIAS:
        assert f"hallusionbench.{stat}" not in cmp.metrics
        assert "does not keep the question's gt_answer" in left[f"hallusionbench.{stat}"]
        assert "audit it again" in left[f"hallusionbench.{stat}"]
    for stat in SHARES:
        assert f"hallusionbench.{stat}" in cmp.metrics
    with pytest.raises(KeyError, match="gt_answer"):
        diff_gate_failures(cmp, above={"diff.hallusionbench.yes_no_pct_diff": 0.0})


def test_a_keyword_run_against_a_judged_one_says_which_has_the_bias(tmp_path):
    """The statistics one run's variant does not report (VLMEvalKit's gives no Yes/No bias or
    consistency) are left out, saying which run computed them."""
    from halluscope.compare_groups import item_statistics
    from halluscope.compare_runs import load_run
    runs = _runs(tmp_path, {"a": A})
    a = load_run(runs["a"])
    keyword = type(a)(a.path, a.metrics, a.setup, {"hallusionbench": {"variant": "vlmevalkit"}},
                      summaries=a.summaries)
    got, left = item_statistics("hallusionbench", a, keyword, {}, {}, [])
    assert got == {} and set(left) == {f"hallusionbench.{s}" for s in BIAS}
    assert all(w.startswith("computed by run A only") for w in left.values())


def _sets(seed: int, n_sets: int = 12) -> tuple[list[dict], dict]:
    """``n_sets`` VD sets (figures 0-1, questions 0-1; truth Yes where figure + question is
    even), each answer right (3 in 4) or wrong at random, and each cell's (right, truth)."""
    import random

    from test_hallusionbench_bias import _row
    rng = random.Random(seed)
    rows, cells = [], {}
    for s in range(n_sets):
        for fig in ("0", "1"):
            for qid in ("0", "1"):
                truth = "1" if (int(fig) + int(qid)) % 2 == 0 else "0"
                right = rng.random() < 0.75
                cells[(str(s), fig, qid)] = (right, truth == "1")
                rows.append(_row("VD", "illusion", "1" if fig == "0" else "2", str(s), fig, qid,
                                 truth, "<R>" if right else "<W>"))
    return rows, cells


def _audit_refined(tmp_path, rows_a, rows_b) -> dict[str, Path]:
    """Run folders ``a`` and ``b``: the refined variant's audits of the two row lists, judged
    by the fake server, without a bootstrap."""
    runs = {}
    with FakeServer(responder=_responder) as server:
        for name, rows in (("a", rows_a), ("b", rows_b)):
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps(rows))
            res = CliRunner().invoke(app, [
                "audit", str(path), "--metric", "hallusionbench", "--option",
                "hallusionbench_variant=refined", "--judge", "hallusionbench-gpt-4", "--option",
                f"judge_base_url={server.url}", "--cache-dir", str(tmp_path / "cache"),
                "--bootstrap", "0", "--out", str(tmp_path / name), "--quiet", "--no-report"])
            assert res.exit_code == 0, res.output
            runs[name] = tmp_path / name
    return runs


def test_the_bias_interval_is_the_paired_bootstrap_by_question_set(tmp_path):
    """Pct Diff and FP Ratio over 12 question sets: the interval of B - A is the percentile
    interval of the replicates drawn per question set (draws.py's weights from
    ``question_set:<set>``), each replicate's statistic computed as utils.py computes it,
    and each side's value is its results.json's."""
    import numpy as np

    from halluscope.metrics.draws import replicate_weights
    from halluscope.metrics.intervals import percentile_bounds
    (rows_a, cells_a), (rows_b, cells_b) = _sets(1), _sets(2)
    runs = _audit_refined(tmp_path, rows_a, rows_b)
    cmp = compare([runs["a"], runs["b"]], n_boot=300, seed=7)
    keys = sorted(cells_a)
    w = replicate_weights([f"question_set:VD_illusion_{k[0]}" for k in keys], 300, 7)
    cols = []
    for cells in (cells_a, cells_b):
        right = np.array([cells[k][0] for k in keys], dtype=float)
        truth = np.array([cells[k][1] for k in keys], dtype=float)
        read_yes = np.where(right == 1, truth, 1 - truth)
        cols.append((read_yes, truth, 1 - right, (1 - right) * (1 - truth)))
    with np.errstate(invalid="ignore", divide="ignore"):
        n = w.sum(axis=1)
        pct = [(w @ c[0]) / n - (w @ c[1]) / n for c in cols]
        fp = [(w @ c[3]) / (w @ c[2]) for c in cols]
    for stat, reps in (("yes_no_pct_diff", pct[1] - pct[0]), ("yes_no_fp_ratio", fp[1] - fp[0])):
        want, _ = percentile_bounds(reps[~np.isnan(reps)], 0.95)
        e = cmp.metrics[f"hallusionbench.{stat}"]
        assert e["ci"] == pytest.approx(list(want), abs=1e-12), stat
        assert (e["n_paired"], e["clusters"]) == (48, 12), stat
        assert (e["a"], e["b"]) == (_results(runs["a"])[stat]["value"],
                                    _results(runs["b"])[stat]["value"]), stat


def test_questions_scored_against_another_truth_are_refused(tmp_path):
    """B's file gives VD set 0 figure 1 question 1 another gt_answer (another version of the
    benchmark): the paired questions are not the same questions, so compare refuses the two
    runs (exit 2) naming the question and both truths, as it refuses other question files;
    it paired them and reported aAcc and the bias as if they were one question."""
    from halluscope.errors import ConfigError
    rows_a, rows_b = _grid(A), _grid(A)
    moved = next(r for r in rows_b if (r["category"], r["figure_id"], r["question_id"])
                 == ("VD", "1", "1"))
    moved["gt_answer"] = "0" if moved["gt_answer"] == "1" else "1"
    runs = _audit_refined(tmp_path, rows_a, rows_b)
    with pytest.raises(ConfigError) as info:
        compare([runs["a"], runs["b"]], n_boot=0)
    text = str(info.value)
    assert "1 paired question(s) were scored against another truth" in text
    assert "'VD_illusion_2_0_1_1': '1' in A, '0' in B" in text
    res = CliRunner().invoke(app, ["compare", str(runs["a"]), str(runs["b"]), "--out",
                                   str(tmp_path / "cmp")])
    assert res.exit_code == 2 and not (tmp_path / "cmp").exists()
    assert compare([runs["a"], runs["a"]], n_boot=0).metrics     # the same truths pair


def test_the_bias_has_per_group_differences_equal_to_each_groups_own(tmp_path):
    """Pct Diff and FP Ratio per audit group (``VD``, ``VS_chart``), as fAcc and qAcc have
    them: over the group's paired questions, each side the value its audit computed for that
    group. By hand, VD (f0 q0 Yes, f0 q1 No, f1 q0 No, f1 q1 Yes): A wrong on f1 q0 reads Yes
    3 of 4, truth Yes 2 of 4: 0.25; FP 1/1. B wrong on f0 q0 and f0 q1 reads Yes 2 of 4: 0;
    FP 1/2. A gate on a group reads it; one on a group where B has no wrong answer fails."""
    runs = _runs(tmp_path, {"a": A, "b": B, "c": {}})
    cmp = compare([runs["a"], runs["b"]], n_boot=0)
    groups = cmp.comparisons[0].groups
    vd = groups["VD"]
    assert (vd["hallusionbench.yes_no_pct_diff"]["a"], vd["hallusionbench.yes_no_pct_diff"]
            ["b"]) == (pytest.approx(0.25), pytest.approx(0.0))
    assert vd["hallusionbench.yes_no_fp_ratio"]["diff"] == pytest.approx(-0.5)
    assert vd["hallusionbench.yes_no_pct_diff"]["n_paired"] == 4
    own = {side: json.loads((runs[side] / "results.json").read_text())["metrics"]
           ["hallusionbench"]["groups"] for side in "ab"}
    for group in ("VD", "VS", "VD_illusion", "VS_chart"):
        for stat in BIAS:
            e = groups[group][f"hallusionbench.{stat}"]
            assert (e["a"], e["b"]) == (own["a"][group][stat]["value"],
                                        own["b"][group][stat]["value"]), (group, stat)
            assert e["direction"] is False, (group, stat)
    assert diff_gate_failures(cmp, above={"diff.hallusionbench.yes_no_pct_diff@VD": 0.3}) == []
    assert diff_gate_failures(cmp, below={"diff.hallusionbench.yes_no_pct_diff@VD": -0.2})
    none = compare([runs["a"], runs["c"]], n_boot=0)
    failures = diff_gate_failures(none, above={"diff.hallusionbench.yes_no_fp_ratio@VS": 1.0})
    assert len(failures) == 1 and "no wrong answer" in failures[0]
