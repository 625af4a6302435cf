"""Report fixes: arrows only where a direction exists, rates apart from other units, yes_ratio
as its distance from 0.5, claim kinds only."""

from rich.console import Console

from halluscope.metrics.stats import MetricResult
from halluscope.api import audit
from halluscope.report import plots
from halluscope.report.console import metrics_table

from test_clusters import _pope_rows


class _Summary:
    def __init__(self, results):
        self.results = results
        self.groups = {}


class _Result:
    def __init__(self, metrics):
        self.metrics = metrics


def _chair_like():
    return _Result({"chair": _Summary({
        "chair_i": MetricResult("chair_i", 0.12, 3000, False, (0.10, 0.14), 0.95),
        "len": MetricResult("len", 96.9, 500, False, (95.0, 98.8), 0.95, direction=False),
    })})


def test_rates_and_lengths_are_drawn_apart():
    rates = plots._interval_rows(_chair_like(), rates=True)
    others = plots._interval_rows(_chair_like(), rates=False)
    assert [r[0] for r in rates] == ["chair.chair_i"]
    assert [r[0] for r in others] == ["chair.len"] and others[0][3] is None   # no direction
    assert plots.scale_plot(_chair_like()).startswith(b"\x89PNG")


def test_claim_kind_plot_has_kinds_only():
    summary = _Summary({
        "existence_rate": MetricResult("existence_rate", 0.2, 40, False, (0.1, 0.3), 0.95),
        "hallucination_rate": MetricResult("hallucination_rate", 0.2, 50),
        "unverifiable_rate": MetricResult("unverifiable_rate", 0.4, 50)})
    assert [r[0] for r in plots.kind_rate_rows({"claims": summary})] == ["existence"]


def test_console_arrows_only_with_a_direction_and_yes_ratio_gap():
    result = audit(records=_pope_rows(n_images=12), metrics="pope", n_boot=50)
    console = Console(width=200, record=True)
    console.print(metrics_table(result))
    text = console.export_text()
    assert "accuracy ↑" in text
    assert "yes_ratio ↓" not in text and "yes_ratio (0.5 ideal: off by 0.000)" in text
    assert "tp ↑" not in text and "fp ↓" not in text              # counts carry no arrow
    assert result.get("pope.yes_ratio").to_dict()["direction"] is False
