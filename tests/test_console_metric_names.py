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


def _words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("width", [20, 30, 36, 40, 45, 50, 54, 55, 58, 60, 70, 80, 100])
def test_no_number_is_lost_at_any_width(width):
    """Below ~55 columns the table cut values and counts to ``0.6…`` and ``1,1…`` and left the
    interval column out without a word; every number is now shown whole at every width (the
    table stacks into lines where its columns cannot fit), and nothing is wider than the
    console."""
    lines = _lines(_hallusionbench(), width)
    assert max(map(len, lines)) <= width
    text = "\n".join(lines)
    assert "…" not in text
    words = _words(text.replace("n=", " "))
    for number in ("0.6041", "1,123", "[0.5419,", "0.6639]"):
        assert words.count(number) == 8, (number, text)


def test_a_stacked_table_puts_each_interval_on_its_own_line():
    lines = _lines(_hallusionbench(), 40)
    assert "hallusionbench" in lines[1]
    at = next(i for i, l in enumerate(lines) if l.strip().startswith("aacc ↑"))
    assert lines[at].split() == ["aacc", "↑", "0.6041", "n=1,123"]
    assert lines[at + 1].strip() == "95% CI: [0.5419, 0.6639]"
    # why a value is missing is said as such, not as an interval
    text = "\n".join(_lines(_hallusionbench(unscored=True), 40))
    assert "scored nothing (below)" in text and "CI: scored" not in text
    assert text.count("—") == 8


def test_the_cli_at_40_columns_shows_every_interval(tmp_path):
    """``COLUMNS=40 halluscope audit``: each interval results.json holds is in the console."""
    import json

    from typer.testing import CliRunner

    from halluscope.cli import app
    from halluscope.report.metric_table import _ci
    rows = [{"question_id": f"q{i}", "image": f"{i}.jpg", "label": "yes" if i % 2 else "no",
             "response": "yes" if i % 3 else "no"} for i in range(60)]
    path = tmp_path / "pope.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "pope", "--out",
                                   str(tmp_path / "o"), "--no-report", "--bootstrap", "200"],
                             env={"COLUMNS": "40"})
    assert res.exit_code == 0, res.output
    stats = json.loads((tmp_path / "o" / "results.json").read_text())["metrics"]["pope"]
    shown = [s for s in stats.values() if isinstance(s, dict) and s.get("ci")]
    assert len(shown) >= 4
    flat = " ".join(res.output.split())
    for s in shown:
        assert _ci(s["ci"]) in flat, (s, res.output)
