"""Fidelity of Reefknot ``original`` against Reefknot's own scorer, and the corrected variant.

``shared/data/reference/reefknot/original/expected.json`` is RLC-bench/neok_code/utils.py
@3811890 run unmodified on the answer sets in ``reference/reefknot/answers``: every printed line
(whole files and per relation type) and every row's and pair's decision. Skipped when absent.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import shared_data_dir
from halluscope.metrics.reefknot import (ReefknotMetric, pair_decisions, read_choice, read_yes_no,
                                         score_multichoice, score_pairs, score_yes_no,
                                         yes_no_decisions)
from halluscope.records import Record, Source

DATA = shared_data_dir("reference/reefknot/original/expected.json",
                       "reference/reefknot/answers/YESNO.synth_answers.jsonl")
needs_data = pytest.mark.skipif(DATA is None, reason="shared data with reference/reefknot/ not "
                                "found (set HALLUSCOPE_SHARED_DATA or place it at ../shared/data)")


def _rows(name):
    path = DATA / "reference/reefknot/answers" / f"{name}.synth_answers.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _ref():
    return json.loads((DATA / "reference/reefknot/original/expected.json").read_text("utf-8"))


def _printed(lines):
    """``{"Accuracy": "0.6867", ...}`` from the original's printed lines."""
    out = {}
    for line in lines:
        key, _, value = line.rpartition(":")
        out[re.sub(r"\s+", " ", key).strip()] = value.strip()
    return out


def _check(lines, yn=None, pairs=None, mc=None):
    got = _printed(lines)
    if yn is not None:
        assert got["Total num is"] == str(yn.total)
        assert got["Correct responses"] == str(yn.correct)
        assert got["Accuracy"] == f"{yn.accuracy:.4f}"
        assert got["Hallucination rate is"] == f"{yn.hallucination_rate:.4f}"
        assert got["Yes rate"] == f"{yn.yes_rate:.2f}"
    if pairs is not None:
        assert got["Yes right num"] == str(pairs.yes_right)
        assert got["No right num"] == str(pairs.no_right)
        assert got["Accuracy for Yes"] == f"{pairs.yes_accuracy:.2f}"
        assert got["Accuracy for No"] == f"{pairs.no_accuracy:.2f}"
        assert got["Pairwise right num"] == str(pairs.pair_right)
        assert got["Pairwise right rate"] == f"{pairs.pairwise_accuracy:.2f}"
        assert got["total num"] == str(2 * pairs.pairs)
    if mc is not None:
        total, correct, _ = mc
        assert got["Total entries"] == str(total)
        assert got["Correct responses"] == str(correct)
        assert got["Accuracy"] == f"{correct / total:.2f}"


@needs_data
def test_every_printed_number_matches_the_original():
    ref, yn, mc = _ref(), _rows("YESNO"), _rows("Multichoice")
    _check(ref["printed"]["calculate_yes_no_accuracy(YESNO)"], yn=score_yes_no(yn))
    _check(ref["printed"]["calculate_pairwise_accuracy(YESNO)"], pairs=score_pairs(yn))
    _check(ref["printed"]["calculate_multichoice_accuracy(Multichoice)"],
           mc=score_multichoice(mc))
    for rtype, printed in ref["per_relation_type"].items():
        yn_t = [r for r in yn if r["relation_type"] == rtype]
        mc_t = [r for r in mc if r["relation_type"] == rtype]
        _check(printed["calculate_yes_no_accuracy"], yn=score_yes_no(yn_t))
        _check(printed["calculate_pairwise_accuracy"], pairs=score_pairs(yn_t))
        _check(printed["calculate_multichoice_accuracy"], mc=score_multichoice(mc_t))


@needs_data
def test_every_row_and_pair_decision_matches_the_original():
    ref, yn, mc = _ref(), _rows("YESNO"), _rows("Multichoice")
    for (parsed, correct), item in zip(yes_no_decisions(yn), ref["items_yesno"], strict=True):
        assert yn[item["row"]]["response"] == item["response"]
        assert (parsed, int(correct)) == (item["parsed"], item["correct"]), item
    for (a, b, _), pair in zip(pair_decisions(yn), ref["pairs_yesno"], strict=True):
        assert (int(a), int(b), int(a and b)) == (pair["yes_right"], pair["no_right"],
                                                  pair["pair_right"]), pair
    for row, item in zip(mc, ref["items_multichoice"], strict=True):
        choice = read_choice(row["response"], "original", row["query_prompt"])
        assert int(choice == row["label"].upper()) == item["correct"], item
    # the original crashes on an empty choice answer; halluscope counts a non-answer
    assert "IndexError" in ref["empty_multichoice_response"][0]
    assert score_multichoice([{"label": "A", "response": ""}]) == (1, 0, 1)


def _records(rows, name):
    return [Record(id=str(i), task="vqa", prompt=r["query_prompt"], response=r["response"],
                   label=r["label"] if r["label"] in ("yes", "no") else None,
                   metadata={"label": r["label"], "relation_type": r["relation_type"]},
                   source=Source(name, i)) for i, r in enumerate(rows, 1)]


@needs_data
def test_streaming_metric_gives_the_same_numbers():
    yn, mc = _rows("YESNO"), _rows("Multichoice")
    metric = ReefknotMetric(variant="original", n_boot=0)
    for rec in _records(yn, "YESNO.jsonl") + _records(mc, "Multichoice.jsonl"):
        metric.update(rec)
    res = {k: r.value for k, r in metric.compute().results.items()}
    want_yn, want_pairs = score_yes_no(yn), score_pairs(yn)
    total, correct, _ = score_multichoice(mc)
    assert res["accuracy"] == pytest.approx(want_yn.accuracy)
    assert f"{res['accuracy']:.4f}" == "0.6867" and f"{res['pairwise_accuracy']:.2f}" == "0.49"
    assert res["yes_rate"] == pytest.approx(want_yn.yes_rate)
    assert res["yes_accuracy"] == pytest.approx(want_pairs.yes_accuracy)
    assert res["no_accuracy"] == pytest.approx(want_pairs.no_accuracy)
    assert res["pairwise_accuracy"] == pytest.approx(want_pairs.pairwise_accuracy)
    assert res["multichoice_accuracy"] == pytest.approx(correct / total)
    assert res["n_yes_no"] == 1146 and res["n_multichoice"] == 832


# -- hand-worked cases of both variants (no shared data needed) ---------------------------------
def test_original_yes_no_quirks_and_corrected_reading():
    assert read_yes_no("Their eyes are closed.", "original") == "yes"       # "eyes"
    assert read_yes_no("", "original", 0) == "no" and read_yes_no("", "original", 1) == "yes"
    assert read_yes_no("I don't know.", "original", 1) == "no"              # "know"
    assert read_yes_no("Their eyes are closed.", "corrected") is None
    assert read_yes_no("", "corrected") is None
    assert read_yes_no("No, it is not.", "corrected") == "no"
    assert read_yes_no("**Yes**", "corrected") == "yes"


def test_pairs_by_hand():
    rows = [{"label": "yes", "response": "Yes."}, {"label": "no", "response": ""},
            {"label": "yes", "response": "I don't know."}, {"label": "no", "response": "No."}]
    # original: pair 1 first right, second "" -> yes, wrong; pair 2 first "know" has no "yes"
    # -> no (wrong), second right. 0 pairs both right.
    orig = score_pairs(rows)
    assert (orig.yes_right, orig.no_right, orig.pair_right, orig.non_answers) == (1, 1, 0, 0)
    fixed = score_pairs(rows, "corrected")
    assert (fixed.yes_right, fixed.no_right, fixed.pair_right, fixed.non_answers) == (1, 1, 0, 2)
    with pytest.raises(Exception, match="odd number"):
        score_pairs(rows[:3])


def test_choice_readers_by_hand():
    prompt = "What is the relation? A. into B. toward C. out D. near, please choose."
    cases = {"B": ("B", "B"), " B": (" ", "B"), "(B) toward": ("(", "B"),
             "Option B": ("O", "B"), "The answer is B.": ("T", "B"), "toward": ("T", "B"),
             "near.": ("N", "D"), "b": ("B", "B"), "": (None, None), "I am not sure": ("I", None)}
    for answer, (orig, fixed) in cases.items():
        assert read_choice(answer, "original", prompt) == orig, answer
        assert read_choice(answer, "corrected", prompt) == fixed, answer
    rows = [{"label": "B", "response": r, "query_prompt": prompt} for r in cases]
    assert score_multichoice(rows) == (10, 2, 1)          # "B" and "b"
    assert score_multichoice(rows, "corrected") == (10, 7, 2)    # 7 read as B, "near." is D


@needs_data
def test_audit_end_to_end_reads_the_original_numbers(tmp_path):
    from typer.testing import CliRunner

    from halluscope.cli import app
    answers = DATA / "reference/reefknot/answers/YESNO.synth_answers.jsonl"
    res = CliRunner().invoke(app, ["audit", str(answers), "--metric", "reefknot", "--option",
                                   "reefknot_variant=original", "--out", str(tmp_path),
                                   "--quiet"])
    assert res.exit_code == 0, res.output
    got = json.loads((tmp_path / "results.json").read_text("utf-8"))["metrics"]["reefknot"]
    printed = _printed(_ref()["printed"]["calculate_pairwise_accuracy(YESNO)"])
    assert f"{got['accuracy']['value']:.4f}" == "0.6867"
    assert f"{got['pairwise_accuracy']['value']:.2f}" == printed["Pairwise right rate"]
    assert f"{got['no_accuracy']['value']:.2f}" == printed["Accuracy for No"]
    assert got["info"]["variant"] == "original"


@needs_data
def test_audit_reads_choice_labels_and_scores_multichoice(tmp_path):
    from typer.testing import CliRunner

    from halluscope.cli import app
    answers = DATA / "reference/reefknot/answers/Multichoice.synth_answers.jsonl"
    res = CliRunner().invoke(app, ["audit", str(answers), "--metric", "reefknot", "--out",
                                   str(tmp_path), "--quiet"])
    assert res.exit_code == 0, res.output
    got = json.loads((tmp_path / "results.json").read_text("utf-8"))["metrics"]["reefknot"]
    printed = _printed(_ref()["printed"]["calculate_multichoice_accuracy(Multichoice)"])
    assert got["n_multichoice"]["value"] == int(printed["Total entries"]) == 832
    assert round(got["multichoice_accuracy"]["value"] * 832) == int(printed["Correct responses"])
    assert f"{got['multichoice_accuracy']['value']:.2f}" == printed["Accuracy"]
