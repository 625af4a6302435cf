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
