"""compare's HallusionBench easy / hard qAcc and unverifiable count: the question pairs over the
questions asked with no figure or the original one (easy) and over those on edited figures
(hard), rebuilt from the runs' items.jsonl and paired pair by pair as fAcc and qAcc are, with
draws.py's weights by question set; worked by hand on small runs, and each side's value equal
to its results.json's."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from fake_openai_server import FakeServer
from halluscope.comparison import compare
from halluscope.metrics.draws import replicate_weights
from halluscope.metrics.intervals import percentile_bounds

import halluscope

#: visual_input of each figure: VD figure 0 is the original (1), the others edited (2); VS
#: figure 0 is asked with no figure (0), figure 1 on the original, figure 2 on an edited one.
VISUAL = {("VD", "0"): "1", ("VD", "1"): "2", ("VD", "2"): "2",
          ("VS", "0"): "0", ("VS", "1"): "1", ("VS", "2"): "2"}
SUB = {"VD": "illusion", "VS": "chart"}


def hb_row(cat: str, set_id: str, fig: str, qid: str, answer: str, model: str,
           visual: str | None = None) -> dict:
    """A HallusionBench row (truth: yes) in HallusionBench_result.json's layout, no id."""
    return {"category": cat, "subcategory": SUB[cat],
            "visual_input": visual or VISUAL[(cat, fig)], "set_id": set_id, "figure_id": fig,
            "question_id": qid, "question": f"Is it so ({fig}, {qid})?",
            "gt_answer_details": "It is so.", "gt_answer": "1", "model_prediction": answer,
            "model": model}


def _judge(prompt: str, body: dict) -> str:
    answer = prompt.rsplit("Prediction answer:", 1)[-1]
    return ("maybe" if "UNSURE" in answer else
            "correct" if "Yes." in answer else "incorrect")


def judged_runs(tmp_path: Path, sides: dict[str, list[dict]], variant: str = "refined",
                n_boot: int = 0) -> tuple[list[Path], list[dict]]:
    """Each side's rows audited through a fake judge (``_judge``); the run folders and their
    results.json's hallusionbench entries."""
    runs = []
    with FakeServer(responder=_judge) as server:
        for name, rows in sides.items():
            path = tmp_path / f"{name}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
            halluscope.audit(path, metrics="hallusionbench", out=tmp_path / f"out-{name}",
                             n_boot=n_boot, judge="hallusionbench-gpt-4",
                             cache_dir=tmp_path / "jc", write_report=False,
                             options={"hallusionbench_variant": variant,
                                      "judge_base_url": server.url})
            runs.append(tmp_path / f"out-{name}")
    return runs, [json.loads((r / "results.json").read_text())["metrics"]["hallusionbench"]
                  for r in runs]


def _grid(cells: dict[tuple[str, str, str], int], model: str) -> list[dict]:
    """(category, figure, question) -> right (1) or wrong (0): set 0 of VD, set 1 of VS."""
    return [hb_row(cat, {"VD": "0", "VS": "1"}[cat], f, q, "Yes." if ok else "No.", model)
            for (cat, f, q), ok in cells.items()]


# Two sets of 3 figures x 2 questions; 1 = right.
GRID_A = {("VD", "0", "0"): 1, ("VD", "0", "1"): 1, ("VD", "1", "0"): 1, ("VD", "1", "1"): 0,
          ("VD", "2", "0"): 1, ("VD", "2", "1"): 1,
          ("VS", "0", "0"): 1, ("VS", "0", "1"): 0, ("VS", "1", "0"): 1, ("VS", "1", "1"): 1,
          ("VS", "2", "0"): 0, ("VS", "2", "1"): 1}
GRID_B = {("VD", "0", "0"): 1, ("VD", "0", "1"): 1, ("VD", "1", "0"): 1, ("VD", "1", "1"): 0,
          ("VD", "2", "0"): 0, ("VD", "2", "1"): 1,
          ("VS", "0", "0"): 1, ("VS", "0", "1"): 1, ("VS", "1", "0"): 1, ("VS", "1", "1"): 1,
          ("VS", "2", "0"): 1, ("VS", "2", "1"): 0}


@pytest.mark.parametrize("variant", ["refined", "original"])
def test_hand_worked_easy_and_hard_qacc_differences(tmp_path, variant):
    """By hand. Easy pairs (visual_input 0 or 1: VD figure 0; VS figures 0 and 1), one per
    (set, question): A has VD q0 right, VD q1 right, VS q0 right (f0, f1), VS q1 wrong (f0):
    3/4; B has all four right: 4/4; B - A = +1/4. Hard pairs (visual_input 2: VD figures 1
    and 2; VS figure 2): A has VD q0 right (f1, f2), VD q1 wrong (f1), VS q0 wrong, VS q1
    right: 2/4; B has VD q0 wrong (f2), VD q1 wrong (f1), VS q0 right, VS q1 wrong: 1/4;
    B - A = -1/4. Over all figures qAcc is 1/4 in both (A: VD q0; B: VS q0), fAcc (VS figure
    0 has no figure) 3/5 -> 2/5, aAcc 9/12 in both. Both judge variants alike."""
    (run_a, run_b), (res_a, res_b) = judged_runs(
        tmp_path, {"a": _grid(GRID_A, "A"), "b": _grid(GRID_B, "B")}, variant)
    cmp = compare([run_a, run_b], n_boot=200)
    want = {"easy_qacc": (0.75, 1.0, 0.25), "hard_qacc": (0.5, 0.25, -0.25),
            "qacc": (0.25, 0.25, 0.0), "facc": (0.6, 0.4, -0.2), "aacc": (0.75, 0.75, 0.0)}
    for stat, (a, b, diff) in want.items():
        entry = cmp.metrics[f"hallusionbench.{stat}"]
        assert (entry["a"], entry["b"]) == (a, b), stat
        assert entry["diff"] == pytest.approx(diff, abs=1e-15), stat
        assert (entry["a"], entry["b"]) == (res_a[stat]["value"], res_b[stat]["value"]), stat
    for stat, what in (("easy_qacc", "easy question pairs (no figure or the original)"),
                       ("hard_qacc", "hard question pairs (edited figures)")):
        entry = cmp.metrics[f"hallusionbench.{stat}"]
        assert (entry["n_paired"], entry["only_a"], entry["only_b"]) == (4, 0, 0)
        assert entry["paired_by"] == what and entry["clusters"] == 2
        assert entry["ci"] is None          # 4 pairs in 2 sets: too few, by the audit's rule
        assert entry["ci_note"] == "no interval: 4 paired items in 2 clusters, fewer than 10"
        assert entry["diff_bounds"] == [-1.0, 1.0] and entry["higher_is_better"] is True
        assert "unpaired" not in entry
    # a partial file: only the count of unanswered questions is left out, saying why
    assert list(cmp.comparisons[0].left_out) == ["hallusionbench.unanswered"]


def test_easy_and_hard_intervals_resample_question_sets_with_draws_weights(tmp_path):
    """14 VD sets of 3 figures x 2 questions (figure 0 the original, 1 and 2 edited): the
    easy pairs are figure 0's questions, the hard ones figures 1 and 2's; each interval is the
    percentile interval of B - A over replicates weighting each pair by its set's draws.py
    weight (``question_set:<set>``)."""
    def cells(seed):
        rng = random.Random(seed)
        return {(s, f, q): int(rng.random() < 0.75) for s in range(14) for f in "012"
                for q in "01"}

    grids = {"a": cells(1), "b": cells(2)}
    sides = {name: [hb_row("VD", str(s), f, q, "Yes." if ok else "No.", name.upper())
                    for (s, f, q), ok in grid.items()] for name, grid in grids.items()}
    runs, res = judged_runs(tmp_path, sides)
    n_boot, seed = 400, 5
    cmp = compare(runs, n_boot=n_boot, seed=seed)
    pairs = [(s, q) for s in range(14) for q in "01"]
    w = replicate_weights([f"question_set:VD_illusion_{s}" for s, _ in pairs], n_boot, seed)
    for stat, figs in (("easy_qacc", "0"), ("hard_qacc", "12")):
        right = [np.array([all(g[(s, f, q)] for f in figs) for s, q in pairs], dtype=float)
                 for g in (grids["a"], grids["b"])]
        reps = (w @ right[1]) / w.sum(axis=1) - (w @ right[0]) / w.sum(axis=1)
        want, reason = percentile_bounds(reps, 0.95)
        entry = cmp.metrics[f"hallusionbench.{stat}"]
        assert reason is None and entry["ci"] == pytest.approx(list(want), abs=1e-12)
        assert entry["a"] == right[0].mean() == res[0][stat]["value"]
        assert entry["b"] == right[1].mean() == res[1][stat]["value"]
        assert (entry["n_paired"], entry["clusters"]) == (28, 14)


def test_an_unverifiable_pair_counts_on_the_other_side_and_the_count_is_paired(tmp_path):
    """B's answer to VS set 1 figure 1 q0 is one the judge leaves unverifiable: that easy pair
    (VS q0: figures 0 and 1) is present in both runs but left out of B's easy qAcc, so it counts
    on A's side alone: A 3/4 (as above), B 3/3; B - A = +1/4. The unverifiable count is paired
    too: A 0, B 1 over the 12 questions both answer, a count without an interval."""
    rows_b = _grid(GRID_B, "B")
    odd = next(r for r in rows_b if (r["category"], r["figure_id"], r["question_id"])
               == ("VS", "1", "0"))
    odd["model_prediction"] = "UNSURE"
    (run_a, run_b), (res_a, res_b) = judged_runs(
        tmp_path, {"a": _grid(GRID_A, "A"), "b": rows_b})
    cmp = compare([run_a, run_b], n_boot=0)
    easy = cmp.metrics["hallusionbench.easy_qacc"]
    assert (easy["a"], easy["b"], easy["diff"]) == (0.75, 1.0, 0.25)
    assert (res_b["easy_qacc"]["value"], res_b["easy_qacc"]["n"]) == (1.0, 3)
    assert easy["n_paired"] == 4 and easy["only_a"] == easy["only_b"] == 0
    count = cmp.metrics["hallusionbench.unverifiable"]
    assert (count["a"], count["b"], count["diff"], count["count"]) == (0, 1, 1, True)
    assert (count["a"], count["b"]) == (res_a["unverifiable"]["value"],
                                        res_b["unverifiable"]["value"])
    assert count["n_paired"] == 12 and "ci" not in count


def test_vlmevalkit_runs_have_no_easy_or_hard_and_say_nothing_of_them(tmp_path, caplog):
    """VLMEvalKit reports no easy / hard split: two of its runs compare aAcc, fAcc, qAcc and
    the unverifiable count, leave nothing out and say nothing of easy / hard."""
    from test_hb_compare import HAND_A, HAND_B, _audit, _rows
    run_a, _ = _audit(tmp_path, "a", _rows(HAND_A, "A"))
    run_b, _ = _audit(tmp_path, "b", _rows(HAND_B, "B"))
    cmp = compare([run_a, run_b], n_boot=0)
    assert sorted(cmp.metrics) == ["hallusionbench.aacc", "hallusionbench.facc",
                                   "hallusionbench.qacc", "hallusionbench.unverifiable"]
    assert list(cmp.comparisons[0].left_out) == ["hallusionbench.unanswered"]
    assert "easy" not in caplog.text


def test_a_split_one_run_alone_has_is_left_out_saying_which(tmp_path, monkeypatch):
    """Where one run's items give easy / hard pairs and the other's do not (A's rebuild made
    to lack them here), those two are left out naming the run that has them; fAcc and qAcc
    still compare."""
    from halluscope.metrics.hallusionbench import HallusionBenchMetric
    runs, _ = judged_runs(tmp_path, {"a": _grid(GRID_A, "A"), "b": _grid(GRID_B, "B")})
    real = HallusionBenchMetric.compare_groups.__func__
    calls = []

    def first_without_splits(cls, info, scored):
        out = real(cls, info, scored)
        calls.append(1)
        return {k: v for k, v in out.items() if "_" not in k} if len(calls) == 1 else out

    monkeypatch.setattr(HallusionBenchMetric, "compare_groups",
                        classmethod(first_without_splits))
    comp = compare(runs, n_boot=0).comparisons[0]
    for stat in ("easy_qacc", "hard_qacc"):
        assert comp.left_out[f"hallusionbench.{stat}"].startswith("computed by run B only")
        assert f"hallusionbench.{stat}" not in comp.metrics
    assert comp.metrics["hallusionbench.facc"]["diff"] == pytest.approx(-0.2, abs=1e-15)
