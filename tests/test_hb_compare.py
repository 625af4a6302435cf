"""compare's HallusionBench fAcc and qAcc: figures and question pairs rebuilt from the two
runs' items.jsonl, paired group by group, resampled by question set with draws.py's weights;
each run's values are its results.json's, a group present in one run only is left out and
said, and runs whose rows predate the 'decided' column stay left out, saying why."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest

from fake_openai_server import FakeServer
from halluscope.comparison import compare, diff_value
from halluscope.metrics.draws import replicate_weights
from halluscope.metrics.intervals import percentile_bounds

import halluscope
from conftest import write_results


def _row(cat, sub, set_id, fig, qid, right, model, visual=None, truth="1") -> dict:
    """A HallusionBench question row answered right or wrong (the truth is yes), with the id
    ``halluscope query --benchmark hallusionbench`` gives it."""
    answer = ("Yes." if right else "No.") if truth == "1" else ("No." if right else "Yes.")
    return {"id": f"{cat}_{sub}_{set_id}_{fig}_{qid}", "category": cat, "subcategory": sub,
            "visual_input": visual or ("1" if fig == "0" else "2"), "set_id": set_id,
            "figure_id": fig, "question_id": qid, "question": f"Is it so ({fig}, {qid})?",
            "gt_answer_details": "It is so.", "gt_answer": truth, "model_prediction": answer,
            "model": model}


def _audit(tmp_path: Path, name: str, rows: list[dict], variant="vlmevalkit", n_boot=0,
           **kw) -> tuple[Path, dict]:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / f"out-{name}"
    halluscope.audit(path, metrics="hallusionbench", out=out, n_boot=n_boot,
                     write_report=False, options={"hallusionbench_variant": variant, **kw})
    return out, json.loads((out / "results.json").read_text())["metrics"]["hallusionbench"]


# Two question sets, each a 2 x 2 grid (figures 0 and 1, questions 0 and 1); 1 = right.
HAND_A = {("VD", "illusion", "0"): {("0", "0"): 1, ("0", "1"): 1, ("1", "0"): 1, ("1", "1"): 0},
          ("VS", "chart", "1"): {("0", "0"): 1, ("0", "1"): 1, ("1", "0"): 0, ("1", "1"): 0}}
HAND_B = {("VD", "illusion", "0"): {("0", "0"): 1, ("0", "1"): 1, ("1", "0"): 1, ("1", "1"): 1},
          ("VS", "chart", "1"): {("0", "0"): 0, ("0", "1"): 1, ("1", "0"): 1, ("1", "1"): 1}}


def _rows(grid: dict, model: str) -> list[dict]:
    return [_row(cat, sub, s, f, q, ok, model)
            for (cat, sub, s), cells in grid.items() for (f, q), ok in cells.items()]


def test_hand_worked_facc_and_qacc_differences(tmp_path):
    """By hand. Figures (every question on it right): A has VD f0 right, VD f1 wrong (q1),
    VS f0 right, VS f1 wrong: fAcc 2/4; B has VD f0, VD f1, VS f1 right and VS f0 wrong (q0):
    3/4; B - A = +1/4. Question pairs (right on every figure): A has VD q0 right, VD q1 wrong
    (f1), VS q0 and q1 wrong (f1): 1/4; B has VD q0, VD q1, VS q1 right, VS q0 wrong (f0): 3/4;
    B - A = +1/2. The models' names differ (A, B): figures pair by set and figure id."""
    run_a, res_a = _audit(tmp_path, "a", _rows(HAND_A, "A"))
    run_b, res_b = _audit(tmp_path, "b", _rows(HAND_B, "B"))
    cmp = compare([run_a, run_b], n_boot=200)
    facc, qacc = cmp.metrics["hallusionbench.facc"], cmp.metrics["hallusionbench.qacc"]
    assert (facc["a"], facc["b"], facc["diff"]) == (0.5, 0.75, 0.25)
    assert (qacc["a"], qacc["b"], qacc["diff"]) == (0.25, 0.75, 0.5)
    for entry, what in ((facc, "figures"), (qacc, "question pairs")):
        assert (entry["n_paired"], entry["only_a"], entry["only_b"]) == (4, 0, 0)
        assert entry["clusters"] == 2 and entry["paired_by"] == what
        assert entry["ci"] is None                          # 4 groups in 2 sets: too few
        assert entry["ci_note"] == "no interval: 4 paired items in 2 clusters, fewer than 10"
        assert entry["ci_reason"] == "paired"
        assert entry["diff_bounds"] == [-1.0, 1.0] and entry["higher_is_better"] is True
        assert "unpaired" not in entry
    for stat in ("facc", "qacc"):                           # each run's own numbers
        assert cmp.metrics[f"hallusionbench.{stat}"]["a"] == res_a[stat]["value"]
        assert cmp.metrics[f"hallusionbench.{stat}"]["b"] == res_b[stat]["value"]
    assert diff_value(cmp, "diff.hallusionbench.qacc") == 0.5
    # a partial file: only the count of unanswered questions is left out, saying why
    assert list(cmp.comparisons[0].left_out) == ["hallusionbench.unanswered"]


def _many_sets(seed: int, model: str, n_sets=14) -> tuple[list[dict], dict]:
    """``n_sets`` question sets (3 figures x 2 questions) answered at random, and each cell's
    correctness."""
    rng = random.Random(seed)
    cells = {(f"s{s}", f, q): int(rng.random() < 0.75)
             for s in range(n_sets) for f in "012" for q in "01"}
    rows = [_row("VD", "figure", s[1:], f, q, ok, model) for (s, f, q), ok in cells.items()]
    return rows, cells


def test_interval_resamples_question_sets_with_draws_weights(tmp_path):
    """14 sets of 3 figures x 2 questions: the interval is the percentile interval of B - A
    over replicates that weight each figure (pair) by its question set's draws.py weight,
    ``question_set:<set>``, the same for both runs and for every run of compare."""
    rows_a, cells_a = _many_sets(1, "A")
    rows_b, cells_b = _many_sets(2, "B")
    run_a, res_a = _audit(tmp_path, "a", rows_a)
    run_b, res_b = _audit(tmp_path, "b", rows_b)
    n_boot, seed = 400, 3
    cmp = compare([run_a, run_b], n_boot=n_boot, seed=seed)
    again = compare([run_a, run_b], n_boot=n_boot, seed=seed)
    for stat, group_of in (("facc", lambda s, f, q: (s, f)), ("qacc", lambda s, f, q: (s, q))):
        groups = sorted({group_of(*c) for c in cells_a})
        right = [np.array([all(cells[c] for c in cells if group_of(*c) == g) for g in groups],
                          dtype=float) for cells in (cells_a, cells_b)]
        w = replicate_weights([f"question_set:VD_figure_{g[0][1:]}" for g in groups],
                              n_boot, seed)
        reps = (w @ right[1]) / w.sum(axis=1) - (w @ right[0]) / w.sum(axis=1)
        want, reason = percentile_bounds(reps, 0.95)
        entry = cmp.metrics[f"hallusionbench.{stat}"]
        assert reason is None and entry["ci"] == pytest.approx(list(want), abs=1e-12)
        assert entry["a"] == right[0].mean() == res_a[stat]["value"]
        assert entry["b"] == right[1].mean() == res_b[stat]["value"]
        assert (entry["n_paired"], entry["clusters"]) == (len(groups), 14)
        assert again.metrics[f"hallusionbench.{stat}"] == entry     # identical every run
    assert cmp.bootstrap == {"n_boot": n_boot, "seed": seed, "confidence": 0.95}


def test_values_match_results_json_with_imageless_unverifiable_and_partial(tmp_path):
    """The refined variant through a judge: image-less VS questions (no figure), answers the
    judge leaves unverifiable and a question no one answered leave their figures and pairs
    out of fAcc and qAcc, in the audit and in compare alike; each side's values are its
    results.json's to the last digit."""
    def rows(model: str, seed: int) -> list[dict]:
        rng = random.Random(seed)
        out = []
        for s in range(12):
            cat, sub = ("VS", "chart") if s % 2 else ("VD", "illusion")
            for f in "012":
                for q in "01":
                    if (model, s, f, q) == ("B", 3, "2", "1"):      # B leaves one out
                        continue
                    visual = "0" if (cat == "VS" and f == "0") else None
                    row = _row(cat, sub, str(s), f, q, rng.random() < 0.7, model, visual)
                    if rng.random() < 0.05:
                        row["model_prediction"] = "UNSURE"
                    out.append(row)
        return out

    def judge(prompt: str, body: dict) -> str:
        answer = prompt.rsplit("Prediction answer:", 1)[-1]
        return ("maybe" if "UNSURE" in answer else
                "correct" if "Yes." in answer else "incorrect")

    with FakeServer(responder=judge) as server:
        kw = {"judge_base_url": server.url}
        runs = []
        for name, seed in (("A", 5), ("B", 6)):
            path = tmp_path / f"{name}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in rows(name, seed)))
            out = tmp_path / f"out-{name}"
            halluscope.audit(path, metrics="hallusionbench", out=out, n_boot=200,
                             judge="hallusionbench-gpt-4", cache_dir=tmp_path / "jc",
                             write_report=False,
                             options={"hallusionbench_variant": "refined", **kw})
            runs.append(out)
    res = [json.loads((r / "results.json").read_text())["metrics"]["hallusionbench"]
           for r in runs]
    assert res[0]["unverifiable"]["value"] > 0 and res[1]["unverifiable"]["value"] > 0
    assert res[1]["info"]["coverage"]["incomplete_figures"] == 1
    cmp = compare(runs, n_boot=200)
    for stat in ("facc", "qacc"):
        entry = cmp.metrics[f"hallusionbench.{stat}"]
        assert entry["a"] == res[0][stat]["value"] and entry["b"] == res[1][stat]["value"]
        assert entry["ci"] is not None and entry["clusters"] == 12
    figures = cmp.metrics["hallusionbench.facc"]
    # 12 sets x 3 figures, less the 6 image-less VS figure 0s; B's partial figure is present
    # in both runs (B left it out of its fAcc), so it pairs and counts on A's side alone
    assert figures["n_paired"] == 30 and figures["only_a"] == figures["only_b"] == 0
    questions = cmp.metrics["hallusionbench.aacc"]      # the question B lacks is A's only
    assert (questions["only_a"], questions["b"]) == (1, res[1]["aacc"]["value"])


def test_a_figure_in_one_run_only_is_left_out_and_said(tmp_path, caplog):
    """A answers a third set (one figure, one question) that B does not: its figure and its
    pair are in A only, left out of both statistics, counted in only_a and said in the log,
    the entry and the notes beside the table; A's values are over the 4 figures and pairs both
    hold (results.json's fAcc of A counts the fifth)."""
    extra = _row("VD", "figure", "2", "0", "0", True, "A")
    run_a, res_a = _audit(tmp_path, "a", _rows(HAND_A, "A") + [extra])
    run_b, _ = _audit(tmp_path, "b", _rows(HAND_B, "B"))
    assert (res_a["facc"]["value"], res_a["facc"]["n"]) == (0.6, 5)
    with caplog.at_level(logging.WARNING):
        cmp = compare([run_a, run_b], n_boot=200)
    facc, qacc = cmp.metrics["hallusionbench.facc"], cmp.metrics["hallusionbench.qacc"]
    assert (facc["a"], facc["n_paired"], facc["only_a"], facc["only_b"]) == (0.5, 4, 1, 0)
    assert (qacc["a"], qacc["n_paired"], qacc["only_a"], qacc["only_b"]) == (0.25, 4, 1, 0)
    said = ("1 figures only in A (such as 'VD_figure_2_0') and 0 only in B are left out of "
            "hallusionbench.facc, whose A and B are over the 4 figures both runs hold")
    assert facc["unpaired"] == said
    assert "'VD_figure_2_0'" in qacc["unpaired"] and "question pairs" in qacc["unpaired"]
    assert said in caplog.text
    assert said in cmp.comparisons[0].notes()
    saved = json.loads(Path(cmp.save(tmp_path / "cmp")).read_text())
    assert saved["metrics"]["hallusionbench.facc"]["unpaired"] == said


def test_no_question_in_common_is_refused_saying_why(tmp_path, caplog):
    """Rows without an id whose question_id is the same ("0") but that ask another set each
    share no question: they used to pair by question id (set 5's answer against set 1's);
    now aAcc pairs nothing, fAcc and qAcc are left out saying why, and compare refuses the
    runs (exit 2) naming a question of each."""
    def bare(*args):
        row = _row(*args)
        del row["id"]
        return row

    run_a, _ = _audit(tmp_path, "a", [bare("VD", "figure", "5", "0", "0", True, "A")])
    run_b, _ = _audit(tmp_path, "b", [bare("VD", "figure", "1", "0", "0", True, "B"),
                                      bare("VD", "figure", "0", "0", "0", False, "B")])
    from halluscope.errors import ConfigError
    with caplog.at_level(logging.WARNING), \
            pytest.raises(ConfigError, match="share no item.*A's first is 'VD_figure_1_5_0_0'"):
        compare([run_a, run_b], n_boot=0)
    assert ("hallusionbench.facc left out: no figures of A are in B (1 in A, such as "
            "'VD_figure_5_0'; 2 in B, such as 'VD_figure_0_0')") in caplog.text
    assert "hallusionbench.qacc left out: no question pairs of A are in B" in caplog.text


def test_several_models_pair_each_with_its_own(tmp_path):
    """Each run holds two models' answers: a figure of model X in A pairs with X's in B, and
    the values are still results.json's ((model, figure) counted, never pooled)."""
    run_a, res_a = _audit(tmp_path, "a", _rows(HAND_A, "X") + _rows(HAND_B, "Y"))
    run_b, res_b = _audit(tmp_path, "b", _rows(HAND_B, "X") + _rows(HAND_B, "Y"))
    cmp = compare([run_a, run_b], n_boot=0)
    facc = cmp.metrics["hallusionbench.facc"]
    assert (facc["a"], facc["b"], facc["n_paired"]) == (res_a["facc"]["value"],
                                                       res_b["facc"]["value"], 8)
    assert facc["diff"] == 0.125    # X's figures 2/4 -> 3/4, Y's 3/4 both: 5/8 -> 6/8
    # several models audited with --by leaving model out: the items do not say whose answer
    # each is, so the figures rebuilt are not the audit's: left out, saying so
    path = tmp_path / "xy.jsonl"
    path.write_text("".join(json.dumps(r) + "\n"
                            for r in _rows(HAND_A, "X") + _rows(HAND_B, "Y")))
    halluscope.audit(path, metrics="hallusionbench", out=tmp_path / "by", n_boot=0,
                     write_report=False, by=["category"],
                     options={"hallusionbench_variant": "vlmevalkit"})
    # nor which of its two answers to a question pairs with B's: aAcc is not paired by the
    # lines' order either, so HallusionBench is left out and, nothing else being there, refused
    from halluscope.errors import ConfigError
    with pytest.raises(ConfigError, match="share no metric to compare; hallusionbench: its "
                       "items cannot be paired by question: every question of run A is "
                       "answered more than once .such as 'VD_illusion_1_0_0_0'.") as info:
        compare([tmp_path / "by", run_b], n_boot=0)
    assert "whose answer each is" in str(info.value)


def test_runs_before_the_decided_column_stay_left_out_saying_why(tmp_path, caplog):
    """A run written before today's 'decided' column (rows of 3 values): HallusionBench is
    left out of the comparison, aAcc, fAcc and qAcc alike, naming the run and the widths."""
    run_a, _ = _audit(tmp_path, "a", _rows(HAND_A, "A"))
    run_b, _ = _audit(tmp_path, "b", _rows(HAND_B, "B"))
    items = run_a / "items.jsonl"
    lines = []
    for line in items.read_text().splitlines():
        item = json.loads(line)
        item["scores"]["hallusionbench"]["row"] = item["scores"]["hallusionbench"]["row"][:3]
        lines.append(json.dumps(item))
    items.write_text("\n".join(lines) + "\n")
    results = json.loads((run_a / "results.json").read_text())
    results["outputs"]["items.jsonl"]["sha256"] = hashlib.sha256(items.read_bytes()).hexdigest()
    write_results(run_a, results)
    from halluscope.errors import ConfigError
    with caplog.at_level(logging.WARNING), pytest.raises(ConfigError) as info:
        compare([run_a, run_b], n_boot=0)       # nothing else to compare: exit 2, saying why
    text = str(info.value)
    assert "share no metric to compare; hallusionbench: its statistics cannot be recomputed" \
        in text
    assert f"({run_a}: 3)" in text and "4 columns here (questions, correct, unverifiable, " \
        "decided)" in text and "audit it again" in text


def _bare_rows(grid: dict, model: str) -> list[dict]:
    """HallusionBench_result.json's layout: no ``id``, and ``question_id`` ("0", "1") repeats
    across sets and figures."""
    rows = _rows(grid, model)
    for row in rows:
        del row["id"]
    return rows


def test_aacc_pairs_by_question_whatever_the_line_order(tmp_path):
    """A's rows reversed, B's in order, neither with an id: aAcc pairs each question with its
    own. By hand: A right on 5 of 8, B on 7 of 8, B - A = +1/4; the verdicts that moved are
    VD set 0 figure 1 q1 (wrong -> right), VS set 1 figure 0 q0 (right -> wrong), VS figure 1
    q0 and q1 (wrong -> right): 3 better, 1 worse. The same as with B's rows in A's order."""
    run_a, _ = _audit(tmp_path, "a", _bare_rows(HAND_A, "A")[::-1])
    run_b, _ = _audit(tmp_path, "b", _bare_rows(HAND_B, "B"))
    run_b2, _ = _audit(tmp_path, "b2", _bare_rows(HAND_B, "B")[::-1])
    for other in (run_b, run_b2):
        comp = compare([run_a, other], n_boot=0).comparisons[0]
        aacc = comp.metrics["hallusionbench.aacc"]
        assert (aacc["a"], aacc["b"], aacc["diff"]) == (5 / 8, 7 / 8, 0.25)
        assert (aacc["n_paired"], aacc["only_a"], aacc["only_b"]) == (8, 0, 0)
        assert "unpaired" not in aacc and "ambiguous_pairs" not in aacc
        moved = {c["key"]: c["change"] for c in comp.changed}    # named with visual_input
        assert moved == {"VD_illusion_2_0_1_1": "better", "VS_chart_1_1_0_0": "worse",
                         "VS_chart_2_1_1_0": "better", "VS_chart_2_1_1_1": "better"}


def test_a_missing_row_pairs_the_rest_and_is_said(tmp_path, caplog):
    """B lacks VS set 1 figure 1 q1 and its lines are shuffled: the 7 others pair each with
    its own. By hand over them: A right on 5 (its missing one was wrong), B on 6: 5/7, 6/7,
    B - A = +1/7; the missing question is named in the entry, the log and the notes."""
    rows_b = [r for r in _bare_rows(HAND_B, "B")
              if (r["set_id"], r["figure_id"], r["question_id"]) != ("1", "1", "1")]
    random.Random(4).shuffle(rows_b)
    run_a, _ = _audit(tmp_path, "a", _bare_rows(HAND_A, "A"))
    run_b, _ = _audit(tmp_path, "b", rows_b)
    with caplog.at_level(logging.WARNING):
        comp = compare([run_a, run_b], n_boot=0).comparisons[0]
    aacc = comp.metrics["hallusionbench.aacc"]
    assert (aacc["a"], aacc["b"]) == (5 / 7, 6 / 7)
    assert aacc["diff"] == pytest.approx(1 / 7, abs=1e-15)
    assert (aacc["n_paired"], aacc["only_a"], aacc["only_b"]) == (7, 1, 0)
    said = ("hallusionbench's items pair by the question each answers, never by their order: "
            "1 question(s) only in A (such as 'VS_chart_2_1_1_1'); 0 question(s) only in B; A and "
            "B are over the 7 questions both runs answer once")
    assert aacc["unpaired"] == said and said in caplog.text and said in comp.notes()
    assert comp.notes().count(said) == 1        # once, however many statistics it concerns
    assert comp.metrics["hallusionbench.unverifiable"]["unpaired"] == said
    assert "ambiguous_pairs" not in aacc


def test_a_repeated_question_is_left_out_and_said(tmp_path):
    """A answers VD set 0 figure 0 q1 twice (right, then wrong): which answer pairs with B's
    is not known, so that question is left out of A (in only B), never paired by order; the
    other 7 pair. By hand: A right on 4 of them (its VD f0 q1 left out), B on 6: 4/7, 6/7."""
    rows_a = _bare_rows(HAND_A, "A")
    again = dict(rows_a[1], model_prediction="No.")      # VD_illusion_0_0_1, now wrong
    assert (again["set_id"], again["figure_id"], again["question_id"]) == ("0", "0", "1")
    run_a, _ = _audit(tmp_path, "a", rows_a + [again])
    run_b, _ = _audit(tmp_path, "b", _bare_rows(HAND_B, "B"))
    comp = compare([run_a, run_b], n_boot=0).comparisons[0]
    aacc = comp.metrics["hallusionbench.aacc"]
    assert (aacc["a"], aacc["b"], aacc["n_paired"], aacc["only_b"]) == (4 / 7, 6 / 7, 7, 1)
    assert ("1 answered more than once in A (such as 'VD_illusion_1_0_0_1'), left out of A"
            in aacc["unpaired"])
    assert "0 question(s) only in A; 1 question(s) only in B (such as 'VD_illusion_1_0_0_1')" \
        in aacc["unpaired"]
