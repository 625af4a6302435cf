"""The console's metrics table keeps each metric's and statistic's name on one line where the
console is wide enough: at 80 columns HallusionBench's ``consistency_inconsistent`` was split
across two lines ("consistency_inconsis" / "tent"), the interval column keeping its width. The
interval gives way first now; narrower, the statistic folds within the width left to it (it
was cut to "hallusionb…" and "hallucination…" before), and the table is never wider than the
console."""

from __future__ import annotations

import pytest
from rich.console import Console

from halluscope.metrics.stats import MetricResult
from halluscope.report.console import metrics_table

from test_report_scales import _Result, _Summary


def _hallusionbench(unscored: bool = False):
    names = ["aacc", "facc", "qacc", "yes_no_pct_diff", "yes_no_fp_ratio",
             "consistency_inconsistent", "consistency_wrong", "figure_score"]
    result = _Result({"hallusionbench": _Summary({
        n: MetricResult(n, None if unscored else 0.6041, 0 if unscored else 1_123, True,
                        None if unscored else (0.5419, 0.6639), 0.95,
                        direction=not n.startswith(("yes_no", "consistency")))
        for n in names})})
    result.unscored = {"hallusionbench": "nothing"} if unscored else {}
    return result


def _lines(result, width: int) -> list[str]:
    console = Console(width=width, record=True, force_terminal=False)
    console.print(metrics_table(result, width=width))
    return console.export_text().splitlines()


@pytest.mark.parametrize("unscored", [False, True])
def test_names_stay_whole_at_80_columns(unscored):
    lines = _lines(_hallusionbench(unscored), 80)
    assert max(map(len, lines)) <= 80
    text = "\n".join(lines)
    for name in ("hallusionbench", "consistency_inconsistent", "yes_no_fp_ratio",
                 "figure_score ↑"):
        assert name in text, text
    if not unscored:     # the interval fits beside them on the row
        row = next(l for l in lines if "consistency_inconsistent" in l)
        assert "0.6041" in row and "[0.5419, 0.6639]" in row and "1,123" in row
    else:                # its prose wraps instead of a name
        assert "scored nothing" in text and "(below)" in text


def test_a_narrow_console_folds_the_statistic_never_cuts_it():
    lines = _lines(_hallusionbench(), 60)
    assert max(map(len, lines)) <= 60
    text = "\n".join(lines)
    assert "…" not in text
    assert "hallusionbench" in text                  # the metric whole
    joined = "".join(l[17:33].strip() for l in lines)  # the statistic column, folded
    assert "consistency_inconsistent" in joined, text


def test_without_a_width_names_are_kept_whole():
    console = Console(width=120, record=True)
    console.print(metrics_table(_hallusionbench()))
    assert "consistency_inconsistent" in console.export_text()
