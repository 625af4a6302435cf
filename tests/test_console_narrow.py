"""A console of 30-45 columns loses no number and no word of a bad record: the by-group table
cut its values to ``0.5000 (1`` at 30 columns (the group names kept their width), and the
problems table cut fields and messages to ``respo…`` and ``'mod…`` below ~60. The names fold
narrower now, and the problems are listed as lines where the message would get too little
room. (The metrics table: test_console_metric_names.)"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rich.console import Console

from halluscope.config import AuditConfig
from halluscope.metrics.base import MetricSummary
from halluscope.metrics.stats import MetricResult
from halluscope.report.console import groups_table, problems_table


def _lines(renderable, width: int) -> list[str]:
    console = Console(width=width, record=True, force_terminal=False, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text().splitlines()


def _chair_by_model(own_n: bool):
    """Two models' chair_i (one statistic: the counts in an n column); with ``own_n``, a
    second statistic over other units (each value with its own count in brackets)."""
    def stats(v, n):
        out = {"chair_i": MetricResult("chair_i", v, n, False)}
        if own_n:
            out["chair_s"] = MetricResult("chair_s", 0.25, 3, False)
        return out
    groups = {f"model:demo-vlm-{k}": stats(v, n) for k, v, n in (("a", 0.5, 16),
                                                                ("b", 0.0625, 5))}
    summary = MetricSummary("chair", stats(0.3, 21), 21, groups=groups)
    return SimpleNamespace(metrics={"chair": summary}, config=AuditConfig(metrics=["chair"]))


@pytest.mark.parametrize("own_n", [False, True])
@pytest.mark.parametrize("width", [26, 30, 36, 40, 45, 80])
def test_group_values_and_counts_stay_whole(width, own_n):
    table, _ = groups_table(_chair_by_model(own_n), width=width)
    lines = _lines(table, width)
    assert max(map(len, lines)) <= width
    text = "\n".join(lines)
    assert "…" not in text
    for value, n in (("0.5000", "16"), ("0.0625", "5")):
        row = next(line.split() for line in lines if value in line.split())
        assert (f"({n})" if own_n else n) in row, text
    # a folded name is all there, in order: the group column's pieces
    names = "".join(line.split()[0] for line in lines[4:] if line.strip()
                    and not line.strip().startswith("(") and line.startswith("  ")
                    and line[2] != " ")
    assert "model:demo-vlm-a" in names and "model:demo-vlm-b" in names, text


def _errors():
    message = ("expected the model's answer in 'response' (or 'model_prediction', "
               "'prediction', 'model_answer', 'caption', 'text', 'answer'), found none")
    return SimpleNamespace(errors=[
        {"file": "data/outputs.jsonl", "line": 24, "message": "invalid JSON: Unterminated "
         "string starting at column 85"},
        {"file": "data/outputs.jsonl", "line": 25, "field": "response", "message": message},
        {"file": "data/outputs.jsonl", "line": 26, "field": "response", "message": message},
        {"file": "data/outputs.jsonl", "line": 27, "field": "image", "metric": "chair",
         "message": "no such file: images/missing_one.jpg"}])


@pytest.mark.parametrize("width", [30, 40, 45, 60])
def test_problems_are_lines_where_the_table_would_cut_them(width):
    lines = _lines(problems_table(_errors(), width=width), width)
    assert max(map(len, lines)) <= width
    text = "\n".join(lines)
    assert "…" not in text and "━" not in text          # lines, not a table
    flat = " ".join(text.split())
    assert flat.startswith("Problems (4 bad records, left out of the metrics)")
    assert "data/outputs.jsonl:25, data/outputs.jsonl:26 n=2 · field response" in flat
    assert "data/outputs.jsonl:27 n=1 · field image · metric chair" in flat
    for message in (e["message"] for e in _errors().errors):
        assert message in flat
    # a wrapped message keeps its indent
    assert all(l.startswith("    ") for l in lines
               if "'prediction'" in l or "column 85" in l and "invalid" not in l)


def test_a_wide_console_keeps_the_problems_table():
    lines = _lines(problems_table(_errors(), width=120), 120)
    assert any("━" in l for l in lines)
    header = next(l for l in lines if "where" in l)
    assert header.split() == ["where", "n", "field", "metric", "message"]
