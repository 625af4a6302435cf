"""HallusionBench's Yes/No bias ("Pct Diff", "FP Ratio") and per-figure consistency
(inconsistent / wrong figures), as evaluation.py prints them, checked against utils.py's own
``assign_correctness`` / ``yes_ratio_stats`` / ``get_eval_fig`` (read from a snapshot of the
repository, :mod:`hallusionbench_upstream`) on hand-built answer files, edge cases included:
no wrong answer, no "No" truth, no figure, a truth utils.py cannot read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from hallusionbench_upstream import upstream_utils
from halluscope.cli import app
from halluscope.metrics.hallusionbench_bias import (NO_DECIDED, NO_FIGURE, NO_WRONG,
                                                    bias_scores, truth_of)
from halluscope.metrics.hallusionbench_units import Unit

NEW = ("yes_no_pct_diff", "yes_no_fp_ratio", "consistency_inconsistent", "consistency_wrong",
       "figure_score")
#: what the fake judge says for an answer carrying each marker
VERDICT = {"<R>": "correct", "<W>": "incorrect", "<U>": "unclear"}
CODE = {"<R>": "1", "<W>": "0", "<U>": "2"}


def _row(cat, sub, visual, set_id, fig, qid, truth, mark):
    return {"category": cat, "subcategory": sub, "visual_input": visual, "set_id": set_id,
            "figure_id": fig, "question_id": qid, "question": f"Q {cat}{sub}{set_id}{fig}{qid}?",
            "gt_answer_details": "It is so.", "gt_answer": truth,
            "model_prediction": f"Answer {mark} to {cat}-{sub}-{set_id}-{fig}-{qid}."}


def _grid(marks: dict[tuple[str, str, str, str], str], truths=None) -> list[dict]:
    """Rows of a VD set (figures 0-1, visual_input 1 then 2) and a VS set (figure 0 without
    an image, figures 1-2 with), two questions each; ``marks[(cat, set, fig, qid)]`` the
    verdict marker (default right), truths alternating 1 / 0 unless given."""
    rows = []
    layout = [("VD", "illusion", "0", ["0", "1"]), ("VS", "chart", "0", ["0", "1", "2"])]
    for cat, sub, set_id, figs in layout:
        for fig in figs:
            visual = "0" if cat == "VS" and fig == "0" else ("1" if fig in ("0", "1") else "2")
            if cat == "VD" and fig == "1":
                visual = "2"
            for qid in ("0", "1"):
                key = (cat, set_id, fig, qid)
                truth = (truths or {}).get(key, "1" if (int(fig) + int(qid)) % 2 == 0 else "0")
                rows.append(_row(cat, sub, visual, set_id, fig, qid, truth,
                                 marks.get(key, "<R>")))
    return rows


def _responder(prompt, body):
    """The verdict an answer's marker asks for (the consistency prompt gets its first
    answer's, which only the LH / VI diagnosis reads)."""
    mark = re.search(r"<[RWU]>", prompt)
    return VERDICT[mark.group(0)] if mark else "unclear"


def _audit(tmp_path: Path, rows: list[dict], variant="original") -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(rows))
    with FakeServer(responder=_responder) as server:
        res = CliRunner().invoke(app, [
            "audit", str(path), "--metric", "hallusionbench", "--option",
            f"hallusionbench_variant={variant}", "--judge", "hallusionbench-gpt-4", "--option",
            f"judge_base_url={server.url}", "--cache-dir", str(tmp_path / "cache"),
            "--bootstrap", "0", "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 0, res.output
    return json.loads((tmp_path / "out/results.json").read_text())["metrics"]["hallusionbench"]


def _original(rows: list[dict]) -> dict:
    """What evaluation.py prints for ``rows`` (each judged by its marker), or the exception
    utils.py raises instead, per statistic."""
    utils = upstream_utils("assign_correctness", "yes_ratio_stats", "get_eval_fig")
    if utils is None:
        pytest.skip("no git snapshot of tianyi-lab/HallusionBench @744007c (set "
                    "HALLUSCOPE_HALLUSIONBENCH_GIT to a bare clone)")
    data = []
    for r in rows:
        mark = re.search(r"<[RWU]>", r["model_prediction"]).group(0)
        data.append({**r, "gpt4v_output_gpt_check": CODE[mark]})
    data = utils.assign_correctness(data, "gpt4v_output_gpt_check")
    out: dict = {}
    try:
        stats = utils.yes_ratio_stats(data)
        out.update(yes_no_pct_diff=stats["diff"], yes_no_fp_ratio=stats["fp"])
    except (ZeroDivisionError, ValueError, TypeError, KeyError, OverflowError) as exc:
        out.update(yes_no_pct_diff=exc, yes_no_fp_ratio=exc)
        try:        # which of the two divides by zero: the diff is computed first
            n = len(data)
            yes = sum(int(int(i["correct"]) == int(i["gt_answer"])) for i in data)
            out["yes_no_pct_diff"] = yes / n - sum(int(i["gt_answer"]) for i in data) / n
        except (ZeroDivisionError, ValueError, TypeError, KeyError, OverflowError):
            pass
    try:
        fig = utils.get_eval_fig(data)
        out.update(
            consistency_inconsistent=round(100 * fig["inconsistent"] / fig["total"], 4),
            consistency_wrong=round(100 * fig["wrong"] / fig["total"], 4),
            consistency_correct=round(100 * fig["correct"] / fig["total"], 4),
            figure_score=fig["score"])      # the per-figure table's "Score", unrounded
    except ZeroDivisionError as exc:
        out.update(consistency_inconsistent=exc, consistency_wrong=exc,
                   consistency_correct=exc, figure_score=exc)
    return out


def _check(ours: dict, theirs: dict) -> None:
    for name in NEW:
        got, want = ours[name], theirs[name]
        if isinstance(want, Exception):
            assert got["value"] is None and got["why_no_value"], name
        elif name.startswith("yes_no") or name == "figure_score":
            assert got["value"] == want, name          # unrounded: bit for bit
        else:
            assert round(100 * got["value"], 4) == want, name
    want = theirs["consistency_correct"]
    if not isinstance(want, Exception):     # "Consistency Test (correct)" is fAcc itself
        assert round(100 * ours["facc"]["value"], 4) == want


CASES = {
    # wrong and unclear answers on both truths; unclear on an image-less VS question (right)
    "mixed": {("VD", "0", "0", "0"): "<W>", ("VD", "0", "1", "1"): "<U>",
              ("VS", "0", "0", "1"): "<U>", ("VS", "0", "1", "0"): "<W>",
              ("VS", "0", "2", "0"): "<W>", ("VS", "0", "2", "1"): "<W>"},
    "all right": {},
    "all wrong": {k: "<W>" for k in [("VD", "0", f, q) for f in "01" for q in "01"]
                  + [("VS", "0", f, q) for f in "012" for q in "01"]},
}


@pytest.mark.parametrize("case", list(CASES))
def test_bias_and_consistency_equal_utils_py(case, tmp_path):
    rows = _grid(CASES[case])
    theirs = _original(rows)            # (skips first when utils.py cannot be read)
    m = _audit(tmp_path, rows)
    _check(m, theirs)
    assert m["consistency_inconsistent"]["n"] == m["facc"]["n"] == 4      # VS figure 0 out
    assert m["yes_no_pct_diff"]["n"] == 10


def test_no_wrong_answer_has_no_fp_ratio(tmp_path):
    """utils.py divides by the wrong answers: none, ZeroDivisionError; here no value, the
    reason said, while the Pct Diff (over every question) is still a number."""
    m = _audit(tmp_path, _grid({}))
    assert m["yes_no_fp_ratio"]["value"] is None
    assert m["yes_no_fp_ratio"]["why_no_value"] == NO_WRONG
    assert m["yes_no_pct_diff"]["value"] == 0.0


def test_no_no_truth_gives_the_originals_fp_ratio_of_zero(tmp_path):
    """Every truth Yes: utils.py's FP Ratio is over the wrong answers, not the No truths, so it
    is 0.0 -- a number, as the original prints it -- and the Pct Diff is minus the share
    answered No (or unclear)."""
    truths = {(c, "0", f, q): "1" for c, figs in (("VD", "01"), ("VS", "012"))
              for f in figs for q in "01"}
    marks = {("VD", "0", "1", "0"): "<W>", ("VS", "0", "2", "1"): "<U>"}
    rows = _grid(marks, truths)
    theirs = _original(rows)
    m = _audit(tmp_path, rows)
    _check(m, theirs)
    assert m["yes_no_fp_ratio"]["value"] == 0.0 and m["yes_no_fp_ratio"]["n"] == 2
    assert m["yes_no_pct_diff"]["value"] == pytest.approx(-0.2)


def test_no_figure_has_no_consistency_shares(tmp_path):
    """Only image-less VS questions: get_eval_fig has no figure and divides by zero."""
    rows = [r for r in _grid({("VS", "0", "0", "0"): "<W>"}) if r["visual_input"] == "0"]
    theirs = _original(rows)
    m = _audit(tmp_path, rows)
    _check(m, theirs)
    assert isinstance(theirs["consistency_wrong"], ZeroDivisionError)
    for name in ("consistency_inconsistent", "consistency_wrong"):
        assert m[name]["why_no_value"] == NO_FIGURE and m[name]["n"] == 0


@pytest.mark.parametrize("bad", ["yes", "", None, float("inf")])
def test_a_truth_utils_py_cannot_read_leaves_the_bias_without_a_value(bad, tmp_path):
    """utils.py reads gt_answer with int() after printing the leaderboard: it stops there. The
    bias has no value (the row named); aAcc and the consistency shares are unchanged. An
    infinite gt_answer (1e400 in the JSON) was an internal error (OverflowError, exit 3)."""
    rows = _grid(CASES["mixed"])
    rows[3]["gt_answer"] = bad
    theirs = _original(rows)
    m = _audit(tmp_path, rows)
    for name in ("yes_no_pct_diff", "yes_no_fp_ratio"):
        assert m[name]["value"] is None
        assert "1 decided question(s) have no gt_answer 1 (Yes) or 0 (No)" in \
            m[name]["why_no_value"] and "VD_illusion_0, figure 1, question 1" in \
            m[name]["why_no_value"]
    assert isinstance(theirs["yes_no_pct_diff"], (ValueError, TypeError, OverflowError))
    _check(m, theirs)


def test_refined_reports_them_and_keyword_variants_do_not(tmp_path):
    """refined counts the same way over its decided questions; VLMEvalKit prints no such
    statistic, so its variants report none under its name."""
    rows = _grid(CASES["mixed"])
    theirs = _original(rows)
    _check(_audit(tmp_path / "r", rows, "refined"), theirs)
    path = tmp_path / "k.jsonl"
    path.write_text("".join(json.dumps({**r, "model_prediction": "Yes"}) + "\n" for r in rows))
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "hallusionbench",
                                   "--option", "hallusionbench_variant=vlmevalkit",
                                   "--bootstrap", "0", "--out", str(tmp_path / "k"), "--quiet"])
    assert res.exit_code == 0, res.output
    k = json.loads((tmp_path / "k/results.json").read_text())["metrics"]["hallusionbench"]
    assert not set(NEW) & set(k) and not set(NEW) & set(k["groups"]["VD"])


def test_figure_score_by_hand():
    """evaluation.py's per-figure table prints a "Score" beside Correct / Wrong: utils.py's
    get_eval_fig adds each figure's share of questions right (right / asked) and divides by
    the figures. By hand, one set: figure 0 with 2 of 3 right, figure 1 with 2 of 2, figure 2
    with 0 of 2: (2/3 + 1 + 0) / 3 = 5/9, where fAcc is 1/3. A figure holding an undecided
    answer (a failed judge call) is left out of it, as from the consistency shares: without
    figure 1 below, (2/3 + 0) / 2 = 1/3. Higher is better; a mean of shares, so no
    proportion's interval, and no value over no figure."""
    def unit(fig, qid, correct):
        return Unit("s", f"s_{fig}", f"s_{qid}", correct, (), cell=(fig, qid), truth=True)
    answers = {"0": (True, True, False), "1": (True, True), "2": (False, False)}
    units = [unit(f, str(q), c) for f, cs in answers.items() for q, c in enumerate(cs)]
    got = bias_scores(units, whole_only=False)["figure_score"]
    assert got.value == pytest.approx(5 / 9) and got.n == 3
    assert got.higher_is_better and got.direction and got.bounds == (0.0, 1.0)
    undecided = [unit("1", "1", None) if (u.cell == ("1", "1")) else u for u in units]
    got = bias_scores(undecided, whole_only=False)["figure_score"]
    assert got.value == pytest.approx(1 / 3) and got.n == 2
    none = bias_scores([unit("1", "0", None)], whole_only=False)["figure_score"]
    assert none.value is None and none.why_no_value == NO_FIGURE and none.n == 0


def test_pure_function_edges():
    assert [truth_of(v) for v in ("1", "0", 1, 0, " 1", "2", "yes", None, True, 1.5)] == \
        [True, False, True, False, True, None, None, None, None, True]
    empty = bias_scores([])
    assert all(empty[n].value is None and empty[n].why_no_value for n in NEW)
    undecided = bias_scores([Unit("s", "s_0", "s_0", None, (), cell=("0", "0"), truth=True)])
    assert undecided["yes_no_pct_diff"].why_no_value == NO_DECIDED
    assert undecided["yes_no_fp_ratio"].why_no_value == NO_DECIDED


def test_they_reach_to_pandas_with_the_reason(tmp_path):
    """The notebook's frame has a row per new statistic and group, with why_no_value."""
    import halluscope
    rows = _grid({})
    (tmp_path / "a.json").write_text(json.dumps(rows))
    with FakeServer(responder=_responder) as server:
        res = halluscope.audit(str(tmp_path / "a.json"), metrics="hallusionbench", n_boot=0,
                               judge="hallusionbench-gpt-4", cache_dir=str(tmp_path / "c"),
                               out=tmp_path / "o", write_report=False,
                               options={"hallusionbench_variant": "original",
                                        "judge_base_url": server.url})
    frame = res.to_pandas("metrics")
    top = frame[frame.group == ""].set_index("statistic")
    assert set(NEW) <= set(top.index)
    assert top.loc["yes_no_fp_ratio", "why_no_value"] == NO_WRONG
    assert top.loc["yes_no_pct_diff", "value"] == 0.0
    assert top.loc["consistency_wrong", "n"] == 4
    assert set(NEW) <= set(frame[frame.group == "VD_illusion"].statistic)
