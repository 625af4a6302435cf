"""A rate computed over no units (AMBER's original keeps 0 / its 0.001 starting counter) is no
measurement: gates refuse it, compare and the trackers give it no value. report.html and the
console showed it as 0.0000 with 'too few units', a small sample's note."""

import html
import re

from rich.console import Console

from halluscope.report.console import metrics_table
from halluscope.report.html import render_report

from test_amber_units import ANSWERS, _audit


def _row(page: str, stat: str) -> str:
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
        if text.startswith(stat + " "):
            return text
    raise AssertionError(f"no row {stat}")


def test_a_rate_over_no_units_says_so_in_the_report_and_console(tmp_path):
    result = _audit(tmp_path, ANSWERS, "original")
    res = result.metrics["amber"].results["relation_precision"]
    assert (res.value, res.n) == (0.0, 0)
    page = render_report(result)
    row = _row(page, "relation_precision")
    assert "over no units" in row and "too few units" not in row, row
    # a 0.0 over one answer is a measurement, with its own note
    assert "over no units" not in _row(page, "relation_accuracy")
    console = Console(width=160, record=True)
    console.print(metrics_table(result))
    line = next(l for l in console.export_text().splitlines() if "relation_precision" in l)
    assert "over no units" in line and "too few units" not in line, line
