"""The HTML pages of a large or hostile run stay bounded and valid (reporthunt): compare.html
lists a bounded number of changed items and says how many it leaves out; its ids are unique."""

from __future__ import annotations

import re

from halluscope.comparison import Comparison, CompareResult, render_html


def _changed(n: int, change: str) -> list[dict]:
    return [{"key": f"img|{change}{i}", "metric": "pope", "statistic": "accuracy",
             "a": 1.0 if change == "worse" else 0.0, "b": 0.0 if change == "worse" else 1.0,
             "change": change, "item_a": {"id": f"{change}{i}", "response": "x" * 200},
             "item_b": {"id": f"{change}{i}", "response": "y" * 200}} for i in range(n)]


def test_compare_html_of_many_changed_items_is_bounded_and_says_what_it_leaves_out():
    """Two 50,000-answer POPE runs with 7,638 changed answers gave a 7.4 MB compare.html
    holding every one of them twice as JSON; a larger run grew it without limit."""
    from halluscope.report.compare_html import MAX_CHANGED_SHOWN
    comp = Comparison("runs/a", "runs/b", {}, _changed(3 * MAX_CHANGED_SHOWN, "worse")
                      + _changed(5, "better"))
    page = render_html(CompareResult(["runs/a", "runs/b"], [comp]))
    assert page.count("<h3>") == MAX_CHANGED_SHOWN + 5
    assert "worse in B than in A (300)" in page
    assert (f"The first {MAX_CHANGED_SHOWN} of 300 are shown; 200 more are left out here "
            f"(every item is in each run's items.jsonl).") in page
    assert "better in B than in A (5)" in page and page.count("left out here") == 1
    assert len(page) < 200_000


def test_compare_html_of_three_runs_has_unique_ids():
    """``compare full part part``: each partial comparison's note had id='partial'."""
    partial = {"b": [{"input": "part.jsonl", "reason": "interrupted"}]}
    comps = [Comparison("full", "part", {}, partial=partial) for _ in range(2)]
    page = render_html(CompareResult(["full", "part", "part"], comps))
    ids = re.findall(r"id='([^']*)'", page)
    assert len(ids) == 2 and len(set(ids)) == 2, ids
