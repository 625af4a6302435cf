"""compare's "worst change first" (console group table, compare.html's per-statistic tables):
ranked by raw B − A, a one-answer group's swing of 1.0 (no interval) came before a split's
drop beyond doubt, and a 0-6 score's change before a rate's; now worse beyond doubt first,
each by its change over its interval's half width, then worse within the interval, then
worse with no interval (by relative change)."""

from __future__ import annotations

from halluscope.compare_by_group import (change_rank, groups_by_statistic, standardised,
                                         worst_group_changes)


def _e(a, b, ci=None, higher=True, **kw):
    return {"a": a, "b": b, "diff": b - a, "ci": ci, "higher_is_better": higher,
            "n_paired": 10, "only_a": 0, "only_b": 0, **kw}


SPLIT_DROP = _e(0.82, 0.56, ci=[-0.32, -0.19])           # beyond doubt
TINY_SWING = _e(1.0, 0.0)                                 # one answer, no interval
SCORE_DROP = _e(3.0, 2.5, ci=[-1.5, 0.5])                 # 0-6 score: -0.5 but holds 0
RATE_RISE = _e(0.10, 0.15, ci=[0.01, 0.09], higher=False)  # lower is better: worse beyond doubt
BETTER = _e(0.5, 0.9, ci=[0.3, 0.5])
NOTHING = {"a": None, "b": 0.5, "diff": None, "ci": None, "n_paired": 0, "only_a": 0,
           "only_b": 3}


def test_worse_beyond_doubt_comes_first_whatever_the_raw_difference():
    order = sorted([TINY_SWING, SCORE_DROP, SPLIT_DROP, BETTER, NOTHING, RATE_RISE],
                   key=change_rank)
    assert order == [SPLIT_DROP, RATE_RISE, SCORE_DROP, TINY_SWING, BETTER, NOTHING]
    # the direction counts: a lower-is-better rate that rose is worse, by 0.05 / 0.04
    assert abs(standardised(RATE_RISE) - 0.05 / 0.04) < 1e-9
    assert standardised(TINY_SWING) == 1.0                # relative change, no interval
    assert standardised(BETTER) < 0 and standardised(NOTHING) is None


def test_the_console_rows_and_html_tables_share_the_ranking():
    groups = {"object:cat": {"pope.recall": TINY_SWING, "pope.f1": TINY_SWING},
              "split:odd": {"pope.accuracy": SPLIT_DROP, "pope.f1": SPLIT_DROP},
              "type:other": {"mmhal.score": SCORE_DROP}}
    rows, rest, missing = worst_group_changes(groups, 3)
    assert [(g, k) for g, k, _ in rows] == [("split:odd", "pope.accuracy"),
                                            ("split:odd", "pope.f1"),
                                            ("type:other", "mmhal.score")]
    assert rest == 2 and missing == 0
    assert [g for g, _ in groups_by_statistic(groups)["pope.f1"]] == ["split:odd", "object:cat"]


def _pope_run(tmp_path, name, ids):
    import halluscope
    rows = [{"question_id": f"q{i}", "image_id": f"img{i // 2}", "label": "yes" if i % 2 else
             "no", "prompt": "Is there a dog in the image?", "response": "yes"} for i in ids]
    halluscope.audit(records=rows, metrics="pope", n_boot=0, out=tmp_path / name,
                     write_report=False)
    return tmp_path / name


def test_items_in_one_run_only_are_named_not_only_counted(tmp_path):
    """Items only in A or only in B were counted in only A / only B and named nowhere: which
    answers B − A left out could not be found. Now compare.json's unpaired_items lists them
    (the first 100 of a side, in the run's order) and a line beside the table names three."""
    import json

    from typer.testing import CliRunner

    from halluscope.cli import app
    a = _pope_run(tmp_path, "a", range(0, 30))
    b = _pope_run(tmp_path, "b", range(4, 30))
    res = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c")],
                             env={"COLUMNS": "300"})
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert ("warning: pope: items that pair with none in the other run, counted in only A / "
            "only B and not in B − A: 4 only in A (img0|q0, img0|q1, img1|q2 and 1 more)") in flat
    comp = json.loads((tmp_path / "c" / "compare.json").read_text())["comparisons"][0]
    assert comp["unpaired_items"] == {"pope": {"n_only_a": 4, "n_only_b": 0, "only_b": [],
                                               "only_a": ["img0|q0", "img0|q1", "img1|q2",
                                                          "img1|q3"]}}
    assert comp["metrics"]["pope.accuracy"]["only_a"] == 4
    page = (tmp_path / "c" / "compare.html").read_text(encoding="utf-8")
    assert "4 only in A (img0|q0" in page
    # runs that pair every item say nothing and write no unpaired_items
    res = CliRunner().invoke(app, ["compare", str(a), str(a), "--out", str(tmp_path / "d")])
    assert "pair with none" not in res.output
    assert "unpaired_items" not in (tmp_path / "d" / "compare.json").read_text()
