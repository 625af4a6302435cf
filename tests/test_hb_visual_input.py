"""Two HallusionBench rows that differ only in visual_input (the same category, subcategory,
set, figure and question, asked with no figure, the original or an edited one). VLMEvalKit
tells them apart (its index holds visual_input: two rows, both in aAcc) and groups both in
one figure and one pair (its fAcc / qAcc keys do not); utils.py names a question without it
and asserts each name once (the original variant refuses, the refined one counts a repeat).
compare pairs each with the other run's of the same visual_input, never the one with the
other's, and never leaves them out as one question answered twice. Worked by hand."""

from __future__ import annotations

import json

import pytest

from halluscope.comparison import compare
from halluscope.metrics.hallusionbench_units import question_identity
from test_hb_compare import _audit
from test_hb_compare_splits import hb_row, judged_runs
from test_hallusionbench_rows import _invoke

# One VD set, figures 0 and 1 x questions 0 and 1, and figure 0's question 0 asked twice: on
# the original (visual_input 1) and on an edited figure (2). 1 = right.
CELLS = [("0", "0", "1"), ("0", "0", "2"), ("0", "1", "1"), ("1", "0", "2"), ("1", "1", "2")]
RIGHT = {"a": [1, 0, 1, 1, 1], "b": [0, 1, 1, 1, 1]}


def _rows(side: str) -> list[dict]:
    return [hb_row("VD", "0", f, q, "Yes." if ok else "No.", side.upper(), visual=v)
            for (f, q, v), ok in zip(CELLS, RIGHT[side])]


def test_vlmevalkit_counts_both_rows_and_compare_pairs_each_with_its_own(tmp_path):
    """VLMEvalKit's rules by hand: aAcc 4/5 in both runs (two rows, not a repeat; 5 of the
    benchmark's questions answered); figure 0 holds three answers (q0 twice, q1), wrong in both
    (A misses the edited one, B the original), figure 1 right: fAcc 1/2; pair q0 (three
    answers) wrong, q1 right: qAcc 1/2. compare pairs the visual_input 1 answer with B's
    (right -> wrong: worse) and the visual_input 2 one with B's (wrong -> right: better): 5
    paired, none left out (they were both left out as 'answered more than once')."""
    (run_a, res_a), (run_b, res_b) = (_audit(tmp_path, s, _rows(s)) for s in "ab")
    for res in (res_a, res_b):
        assert (res["aacc"]["value"], res["aacc"]["n"]) == (0.8, 5)
        assert (res["facc"]["value"], res["qacc"]["value"]) == (0.5, 0.5)
        assert "repeated_answers" not in res["info"]
        assert res["info"]["coverage"]["answered"] == 5
    comp = compare([run_a, run_b], n_boot=0).comparisons[0]
    aacc = comp.metrics["hallusionbench.aacc"]
    assert (aacc["a"], aacc["b"], aacc["diff"], aacc["n_paired"]) == (0.8, 0.8, 0.0, 5)
    assert "unpaired" not in aacc
    assert {c["key"]: c["change"] for c in comp.changed} == {
        "VD_illusion_1_0_0_0": "worse", "VD_illusion_2_0_0_0": "better"}
    for stat in ("facc", "qacc"):
        entry = comp.metrics[f"hallusionbench.{stat}"]
        assert (entry["a"], entry["b"], entry["n_paired"]) == (0.5, 0.5, 2)


def test_refined_counts_a_repeat_yet_compare_pairs_by_visual_input(tmp_path):
    """The refined variant names questions as utils.py does (a repeat counted: 1), scores
    every row (aAcc 4/5 in both) and splits them by visual_input: easy pairs (visual_input 1)
    q0 {f0} and q1 {f0}: A 2/2, B 1/2; hard pairs (visual_input 2): q0 {f0, f1} A wrong, B
    right, q1 holds only f1 of the hard grid's (f0, f1), so it is incomplete and left out:
    A 0/1, B 1/1. compare pairs the two q0 answers of figure 0 each with its own, and gives
    each run's results.json values."""
    (run_a, run_b), (res_a, res_b) = judged_runs(tmp_path, {"a": _rows("a"), "b": _rows("b")})
    assert res_a["info"]["repeated_answers"] == res_b["info"]["repeated_answers"] == 1
    want = {"aacc": (0.8, 0.8), "easy_qacc": (1.0, 0.5), "hard_qacc": (0.0, 1.0)}
    comp = compare([run_a, run_b], n_boot=0).comparisons[0]
    for stat, (a, b) in want.items():
        entry = comp.metrics[f"hallusionbench.{stat}"]
        assert (entry["a"], entry["b"]) == (a, b) == (res_a[stat]["value"],
                                                      res_b[stat]["value"]), stat
    assert comp.metrics["hallusionbench.aacc"]["n_paired"] == 5
    assert {c["key"]: c["change"] for c in comp.changed} == {
        "VD_illusion_1_0_0_0": "worse", "VD_illusion_2_0_0_0": "better"}
    assert list(comp.left_out) == ["hallusionbench.unanswered"]     # a partial file's count


def test_the_original_variant_refuses_rows_differing_only_in_visual_input(tmp_path):
    """utils.py's get_eval_all asserts '<cat>_<sub>_<set>_<figure>_<question>' once, without
    visual_input: the original gives no number for such a file, so its variant stops with
    exit 2 naming the second row."""
    from fake_openai_server import FakeServer
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _rows("a")))
    with FakeServer(responder=lambda prompt, body: "correct") as server:
        res = _invoke(["audit", path, "--metric", "hallusionbench", "--option",
                       "hallusionbench_variant=original", "--judge", "hallusionbench-gpt-4",
                       "--option", f"judge_base_url={server.url}", "--cache-dir",
                       tmp_path / "jc", "--bootstrap", "0", "--quiet", "--out", tmp_path / "o"],
                      expect=2)
    assert "repeat a question" in res.output and "d.jsonl:2" in res.output


def _item(payload: dict) -> dict:
    return {"id": "x", "source": "in.jsonl:7", "hallusionbench": payload,
            "scores": {"hallusionbench": {"groups": ["VD", "model:M"]}}}


def test_question_identity_holds_visual_input_and_refuses_a_line_without_it():
    """The identity is VLMEvalKit's index layout (visual_input third), from the payload's own
    visual_input or, in a VLMEvalKit run, its index; a line written before the payload kept
    visual_input (no index either) cannot say which row it is: ValueError, audit again."""
    base = {"key": "VD_illusion_0_1_0", "category": "VD", "subcategory": "illusion"}
    assert question_identity(_item({**base, "visual_input": "2"})) == (
        "model:M", "VD_illusion_2_0_1_0")
    assert question_identity(_item({**base, "index": "VD_illusion_2_0_1_0"})) == (
        "model:M", "VD_illusion_2_0_1_0")
    with pytest.raises(ValueError, match="in.jsonl:7: .*visual_input.*audit it again"):
        question_identity(_item(base))
