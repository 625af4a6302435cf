"""HallusionBench fidelity: ``halluscope audit`` equals the original evaluator (tianyi-lab
@744007c, judge replayed from the loopback server by prompt sha256) and VLMEvalKit's keyword path
(@e8e78f0), number for number and decision for decision, on ../shared/data/reference."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest
from typer.testing import CliRunner

from conftest import shared_data_dir
from halluscope.cli import app
from replay_judge_server import ReplayServer, load_replies

REF = "reference/hallusionbench"
pytestmark = pytest.mark.skipif(
    shared_data_dir(f"{REF}/original/expected.json", "hallusionbench/HallusionBench.json") is None,
    reason="shared reference data for HallusionBench not found (../shared/data)")


def audit(args, out):
    res = CliRunner().invoke(app, ["audit", *map(str, args), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    return json.loads((out / "results.json").read_text())


def items(out):
    return [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def original_run(original_out):
    out, res = original_out
    expected = json.loads((shared_data_dir() / REF / "original/expected.json").read_text())
    return res, items(out), expected


@pytest.fixture(scope="module")
def original_out(tmp_path_factory):
    """The original variant's run folder and its results.json."""
    data = shared_data_dir()
    ref = data / REF
    tmp = tmp_path_factory.mktemp("hb")
    with ReplayServer(load_replies(ref / "judge/judge_outputs.synth.jsonl"),
                      model="gpt-4") as server:
        res = audit([ref / "answers/HallusionBench_result.synth.json", "--metric",
                     "hallusionbench", "--option", "hallusionbench_variant=original",
                     "--judge", "hallusionbench-gpt-4", "--option",
                     f"judge_base_url={server.url}", "--cache-dir", tmp / "cache",
                     "--bootstrap", "200"], tmp / "out")
        assert not server.unknown, "halluscope sent a prompt the original never sends"
        assert set(server.roles) == {("user",)}
    return tmp / "out", res


def test_compare_gives_the_originals_easy_and_hard_numbers(original_out, tmp_path):
    """compare of the original run with itself: each side of easy / hard qAcc (rebuilt from the
    items' visual_input) is evaluation.py's "easy aAcc" / "hard aAcc", aAcc, fAcc and qAcc its
    leaderboard's, every question and group paired, and every difference 0."""
    from halluscope.comparison import compare
    out, res = original_out
    board = json.loads((shared_data_dir() / REF / "original/expected.json").read_text())[
        "leaderboard"]
    want = {"aacc": "aAcc (", "facc": "fAcc (", "qacc": "qAcc (", "easy_qacc": "easy aAcc",
            "hard_qacc": "hard aAcc"}
    cmp = compare([out, out], n_boot=50)
    # unanswered (0 here) is a count of the benchmark's questions, no sum over items: listed
    assert list(cmp.comparisons[0].left_out) == ["hallusionbench.unanswered"]
    for stat, label in want.items():
        entry = cmp.metrics[f"hallusionbench.{stat}"]
        printed = next(v for k, v in board.items() if k.startswith(label))
        assert round(100 * entry["a"], 4) == printed == round(100 * entry["b"], 4), stat
        assert entry["diff"] == 0 and entry["only_a"] == entry["only_b"] == 0, stat
        assert entry["n_paired"] == (res["metrics"]["hallusionbench"][stat]["n"]
                                     if stat != "aacc" else 1129), stat


def test_original_leaderboard_numbers(original_run):
    res, _, expected = original_run
    m = res["metrics"]["hallusionbench"]
    board = expected["leaderboard"]
    assert round(100 * m["aacc"]["value"], 4) == board["aAcc (Acc per question)"]
    assert round(100 * m["facc"]["value"], 4) == board["fAcc (Acc per figure)"]
    assert round(100 * m["qacc"]["value"], 4) == board["qAcc (Acc per question pair)"]
    assert (m["aacc"]["n"], m["facc"]["n"], m["qacc"]["n"]) == (1129, 346, 455)
    easy = next(v for k, v in board.items() if k.startswith("easy aAcc"))
    hard = next(v for k, v in board.items() if k.startswith("hard aAcc"))
    assert round(100 * m["easy_qacc"]["value"], 4) == easy
    assert round(100 * m["hard_qacc"]["value"], 4) == hard
    for key in ("aacc", "facc", "qacc"):
        lo, hi = m[key]["ci"]
        assert lo <= m[key]["value"] <= hi
    # the whole benchmark: nothing unanswered, no figure or pair incomplete
    assert m["info"]["coverage"] == {"expected_questions": 1129, "answered": 1129,
                                     "unanswered": 0, "incomplete_figures": 0,
                                     "incomplete_pairs": 0}
    assert (m["unanswered"]["value"], m["unanswered"]["n"]) == (0, 1129)   # a count, 0 too


def test_original_per_category_tables(original_run):
    res, _, expected = original_run
    groups = res["metrics"]["hallusionbench"]["groups"]
    table = {row[0]: row[1] for row in expected["table_per_question"][1:]}
    assert round(100 * groups["VD"]["aacc"]["value"], 4) == table["VD"]
    assert round(100 * groups["VS"]["aacc"]["value"], 4) == table["VS"]
    pairs = {row[0]: row[1:] for row in expected["table_per_question_pair"][1:]}
    for cat in ("VD", "VS"):
        got = [round(100 * groups[cat][k]["value"], 4) for k in ("easy_qacc", "hard_qacc", "qacc")]
        assert got == pairs[cat], cat
    figs = {row[0]: row[1] for row in expected["table_per_figure"][1:]}
    for cat in ("VD", "VS"):
        assert round(100 * groups[cat]["facc"]["value"], 4) == figs[cat], cat
    per_sub = next(v for k, v in expected.items() if k.startswith("per_subcategory"))
    for name, ref in per_sub.items():
        got = groups[name]
        assert round(100 * got["aacc"]["value"], 4) == ref["aAcc"], name
        assert round(100 * got["qacc"]["value"], 4) == ref["qAcc"], name
        if ref["fAcc"] is None:
            assert got["facc"]["value"] is None
        else:
            assert round(100 * got["facc"]["value"], 4) == ref["fAcc"], name
        assert (got["aacc"]["n"], got["facc"]["n"], got["qacc"]["n"]) == \
            (ref["n_questions"], ref["n_figures"], ref["n_pairs"]), name


def test_original_per_item_decisions(original_run):
    _, got, expected = original_run
    ours = {it["hallusionbench"]["key"]: it["hallusionbench"] for it in got}
    assert len(ours) == len(expected["items"]) == 1129
    for ref in expected["items"]:
        item = ours[ref["key"]]
        assert item["judge_raw"] == ref["judge_output_correctness"], ref["key"]
        assert item["gpt4v_output_gpt_check"] == ref["gpt4v_output_gpt_check"], ref["key"]
        assert int(item["correct"]) == ref["correct"], ref["key"]


def test_original_run_sheet_pins_the_judge(original_run, tmp_path):
    res, _, _ = original_run
    info = res["metrics"]["hallusionbench"]["info"]
    assert info["variant"] == "original"
    prompts = info["judge"]["prompts"]
    assert prompts["hallusionbench_correctness"]["sha256"] == \
        "7e47d994f286344b5fa0d4cf56e6eb463dd2b7731a97d7d99bb8fc35688727cf"
    assert info["judge_reliability"]["calls"] == 1129
    assert info["judge_reliability_same"]["calls"] == 1129
    assert prompts["hallusionbench_same"]["sha256"] == \
        "688188ef075d23ffdd58a1836f43a487856938ed267fa0201b547f3537fa2e5a"


def test_original_consistency_diagnosis(original_run):
    """LH / VI / Mixed as evaluation.py prints them (from the judge's "same" replies)."""
    res, items, expected = original_run
    diag = res["metrics"]["hallusionbench"]["info"]["diagnosis"]
    header, row = expected["table_bias_consistency_diagnosis"]
    printed = dict(zip(header, row))
    assert diag["percent"] == {"LH": printed["LH"], "VI": printed["VI"],
                               "Mixed": printed["Mixed"]}
    pair = expected["pair_stat_all"]
    assert diag["counts"] == {"LH": pair["LH_cg"], "VI": pair["VI_cg"], "Mixed": pair["Mix_cg"]}
    same = sum(1 for it in expected["items"] if it["same"] == "1")
    assert diag["same_replies"] == {"1": same, "0": 1129 - same, "failed": 0}
    # what the original computes and does not print: get_eval_pair_all's pair-level counts
    # and each question's `same` decision, on the question's own items.jsonl line (the run
    # sheet keeps their count and digest only)
    assert diag["pairs"] == {"total": pair["total"], "LH": pair["LH"], "VI": pair["VI"],
                             "Mixed": pair["Mix"], "none": pair["correct"], "left_out": 0}
    assert {it["hallusionbench"]["key"]: it["hallusionbench"]["same"] for it in items} == \
        {it["key"]: it["same"] for it in expected["items"]}
    assert all(isinstance(it["hallusionbench"]["same_judge_raw"], str) for it in items)
    labels = Counter(it["hallusionbench"]["diagnosis"] for it in items)
    assert [labels[n] for n in ("LH", "VI", "Mixed", "left_out")] == \
        [pair["LH_cg"], pair["VI_cg"], pair["Mix_cg"], 0]
    assert diag["questions"]["checked"] == len(items) == 1129


def _vlmevalkit_rows(layout, predictions, path):
    preds = {}
    for line in predictions.read_text().splitlines():
        row = json.loads(line)
        preds[row["index"]] = row["prediction"]
    with path.open("w") as fh:
        for line in layout.read_text().splitlines():
            row = json.loads(line)
            row["prediction"] = preds[row["index"]]
            fh.write(json.dumps(row) + "\n")
    return path


def _check_splits(res, splits, scale=100.0):
    m = res["metrics"]["hallusionbench"]
    for split, ref in splits.items():
        got = m if split == "Overall" else m["groups"][split]
        for ours, theirs in (("aacc", "aAcc"), ("facc", "fAcc"), ("qacc", "qAcc")):
            assert math.isclose(scale * got[ours]["value"], ref[theirs], rel_tol=0,
                                abs_tol=1e-9), (split, theirs)


def test_vlmevalkit_keyword_variant(tmp_path):
    data = shared_data_dir()
    ref = data / REF
    rows = _vlmevalkit_rows(data / "hallusionbench/vlmevalkit/HallusionBench_vlmevalkit_951.jsonl",
                            ref / "answers/vlmevalkit_predictions.synth.jsonl",
                            tmp_path / "rows.jsonl")
    res = audit([rows, "--metric", "hallusionbench", "--option",
                 "hallusionbench_variant=vlmevalkit", "--bootstrap", "0"], tmp_path / "out")
    expected = json.loads((ref / "vlmevalkit/expected.json").read_text())
    _check_splits(res, expected["splits"])
    by_index = {it["hallusionbench"]["index"]: it["hallusionbench"]
                for it in items(tmp_path / "out")}
    for ref_item in expected["items"]:
        item = by_index[ref_item["index"]]
        assert item["extracted"] == ref_item["extracted"], ref_item
        assert item["score"] == ref_item["score"], ref_item
    assert len(by_index) == 951
    assert res["metrics"]["hallusionbench"]["tallies"]["decisions"] == expected["extracted_counts"]


def test_vlmevalkit_variant_on_hallusionbench_own_layout(tmp_path):
    """evaluation.py's layout (the 1,129 question rows with model_prediction) under the
    vlmevalkit variant: VLMEvalKit's numbers for the same answers, its 951 rows; the 178
    image-less questions, which VLMEvalKit's dataset lacks, are left out (scored before)."""
    ref = shared_data_dir() / REF
    res = audit([str(ref / "answers/HallusionBench_result.synth.json"), "--metric",
                 "hallusionbench", "--option", "hallusionbench_variant=vlmevalkit",
                 "--bootstrap", "0"], tmp_path / "out")
    expected = json.loads((ref / "vlmevalkit/expected.json").read_text())
    _check_splits(res, {"Overall": expected["splits"]["Overall"]})
    assert res["metrics"]["hallusionbench"]["aacc"]["n"] == 951 and res["n_skipped"] == 178


@pytest.mark.parametrize("variant", ["vlmevalkit", "vlmevalkit-v0.2"])
@pytest.mark.parametrize("model", ["vila_13b", "vila_8b"])
def test_vlmevalkit_published_vila_score_rows(model, variant, tmp_path):
    """All 12 rows of each score.csv VLMEvalKit published for VILA (PR #320, July 2024: made
    with the v0.2 full-stop rule; no VILA answer is long enough for the rules to differ)."""
    import csv
    data = shared_data_dir()
    folder = data / "hallusionbench/vlmevalkit"
    rows = _vlmevalkit_rows(folder / "HallusionBench_vlmevalkit_951.jsonl",
                            folder / f"{model}_HallusionBench_auxmatch.jsonl",
                            tmp_path / "rows.jsonl")
    res = audit([rows, "--metric", "hallusionbench", "--option",
                 f"hallusionbench_variant={variant}", "--bootstrap", "0"], tmp_path / "out")
    with (folder / f"{model}_HallusionBench_score.csv").open() as fh:
        published = {r["split"]: {k: float(r[k]) for k in ("aAcc", "fAcc", "qAcc")}
                     for r in csv.DictReader(fh)}
    assert len(published) == 12
    _check_splits(res, published)


def test_original_yes_no_bias_and_consistency_table(original_run):
    """evaluation.py's last table: "Yes/No Bias (Pct Diff)" and "(FP Ratio)" (printed unrounded,
    so equal to the bit), "Consistency Test (correct / inconsistent / wrong)" (percent, 4
    places; "correct" is fAcc); per category, its figure table's "Wrong" column, which adds the
    two separately rounded percentages; per subcategory, get_eval_fig's counts."""
    res, _, expected = original_run
    m = res["metrics"]["hallusionbench"]
    header, row = expected["table_bias_consistency_diagnosis"]
    printed = dict(zip(header, row))
    assert m["yes_no_pct_diff"]["value"] == printed["Yes/No Bias (Pct Diff)"] == \
        expected["yes_ratio_stats"]["diff"]
    assert m["yes_no_fp_ratio"]["value"] == printed["Yes/No Bias (FP Ratio)"]
    assert m["yes_no_pct_diff"]["n"] == 1129
    wrong = sum(1 for it in expected["items"] if not it["correct"])
    assert m["yes_no_fp_ratio"]["n"] == wrong
    assert round(100 * m["facc"]["value"], 4) == printed["Consistency Test (correct)"]
    assert round(100 * m["consistency_inconsistent"]["value"], 4) == \
        printed["Consistency Test (inconsistent)"]
    assert round(100 * m["consistency_wrong"]["value"], 4) == printed["Consistency Test (wrong)"]
    figs = {r[0]: r[1:] for r in expected["table_per_figure"][1:]}
    for cat in ("VD", "VS", "Overall"):
        got = m if cat == "Overall" else m["groups"][cat]
        assert round(100 * got["consistency_inconsistent"]["value"], 4) + \
            round(100 * got["consistency_wrong"]["value"], 4) == figs[cat][1], cat
        # the table's "Score": the mean of each figure's share right, printed to 4 places
        assert round(got["figure_score"]["value"], 4) == figs[cat][2], cat
        assert got["figure_score"]["n"] == got["facc"]["n"], cat
    per_sub = next(v for k, v in expected.items() if k.startswith("per_subcategory"))
    for name, ref in per_sub.items():
        got, fig = m["groups"][name], ref["figure_stat"]
        if not fig["total"]:
            assert got["consistency_wrong"]["value"] is None, name
            assert got["figure_score"]["value"] is None, name
            continue
        assert got["figure_score"]["value"] == fig["score"], name     # unrounded, to the bit
        assert got["consistency_wrong"]["n"] == fig["total"], name
        assert round(got["consistency_wrong"]["value"] * fig["total"]) == fig["wrong"], name
        assert round(got["consistency_inconsistent"]["value"] * fig["total"]) == \
            fig["inconsistent"], name


def test_original_bias_per_group_equals_utils_py(original_run):
    """Per category and subcategory (evaluation.py prints the bias overall only): utils.py's
    yes_ratio_stats and get_eval_fig, read from a snapshot of the repository, on each group's
    rows of the reference run, against the audit's groups."""
    from hallusionbench_upstream import upstream_utils
    utils = upstream_utils("yes_ratio_stats", "get_eval_fig")
    if utils is None:
        pytest.skip("no git snapshot of tianyi-lab/HallusionBench @744007c (set "
                    "HALLUSCOPE_HALLUSIONBENCH_GIT to a bare clone)")
    res, _, expected = original_run
    groups = res["metrics"]["hallusionbench"]["groups"]
    rows = expected["items"]
    for name in ("VD", "VS", *sorted({f"{r['category']}_{r['subcategory']}" for r in rows})):
        part = [r for r in rows if name in (r["category"], f"{r['category']}_{r['subcategory']}")]
        stats, fig = utils.yes_ratio_stats(part), utils.get_eval_fig(part)
        got = groups[name]
        assert got["yes_no_pct_diff"]["value"] == stats["diff"], name
        assert got["yes_no_fp_ratio"]["value"] == stats["fp"], name
        if fig["total"]:
            assert round(100 * got["consistency_wrong"]["value"], 4) == \
                round(100 * fig["wrong"] / fig["total"], 4), name
            assert round(100 * got["consistency_inconsistent"]["value"], 4) == \
                round(100 * fig["inconsistent"] / fig["total"], 4), name
            assert got["figure_score"]["value"] == fig["score"], name


def test_compare_gives_each_groups_yes_no_bias_as_utils_computes_it(original_out):
    """compare's per-group Yes/No bias (Pct Diff, FP Ratio) over each category and
    subcategory is utils.py's yes_ratio_stats on that group's rows of the original's own
    per-question decisions (a prediction read as Yes where right on a Yes truth or wrong on a
    No one), to the last bit; and the audit's value for the group."""
    from halluscope.comparison import compare
    out, res = original_out
    rows = json.loads((shared_data_dir() / REF / "original/expected.json").read_text())["items"]
    groups: dict[str, list] = {}
    for r in rows:
        for g in (r["category"], f"{r['category']}_{r['subcategory']}"):
            groups.setdefault(g, []).append(r)
    cmp = compare([out, out], n_boot=0).comparisons[0].groups
    assert set(cmp) == set(groups)
    for g, members in groups.items():
        gt = [int(r["gt_answer"]) for r in members]
        pred = [t if r["correct"] else 1 - t for r, t in zip(members, gt)]
        wrong = [t for r, t in zip(members, gt) if not r["correct"]]
        want = {"yes_no_pct_diff": sum(pred) / len(pred) - sum(gt) / len(gt),
                "yes_no_fp_ratio": wrong.count(0) / len(wrong)}
        for stat, value in want.items():
            e = cmp[g][f"hallusionbench.{stat}"]
            assert e["a"] == e["b"] == pytest.approx(value, abs=1e-15), (g, stat)
            assert e["a"] == res["metrics"]["hallusionbench"]["groups"][g][stat]["value"]
