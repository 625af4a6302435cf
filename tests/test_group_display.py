"""The by-group displays leave out a group that repeats the overall numbers (the one value of
its field, covering every item), unless the user asked for that field with --by."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console
from typer.testing import CliRunner

from halluscope.cli import app
from halluscope.config import AuditConfig
from halluscope.metrics.base import MetricSummary
from halluscope.metrics.stats import MetricResult
from halluscope.report.console import groups_table
from halluscope.report.html import group_tables
from replay_judge_server import ReplayServer
from test_mmhal_objhal_user import _EveryPrompt, _mmhal_files


def _text(table) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_mmhal_one_models_answers_show_no_model_row_among_question_types(tmp_path,
                                                                           monkeypatch):
    """MMHal-Bench answers as RLAIF-V writes them carry model_id: the console's by-group table
    put 'model:llava-v1.5-7b', the overall numbers again, among the question types."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    answers, template = _mmhal_files(tmp_path)
    outputs = {}
    with ReplayServer(_EveryPrompt("Fine.\nRating: 4"), model="gpt-4-0314") as server:
        for name, extra in (("default", []), ("asked", ["--by", "model"])):
            res = CliRunner().invoke(app, [
                "audit", str(answers), "--metric", "mmhal", "--judge", "mmhal-gpt-4-0314",
                "--option", f"mmhal_template={template}", "--option",
                f"judge_base_url={server.url}", "--cache-dir", str(tmp_path / "cache"),
                "--bootstrap", "0", "--out", str(tmp_path / name), *extra],
                env={"COLUMNS": "200"})
            assert res.exit_code == 0, res.output
            outputs[name] = res.output
    assert "attribute" in outputs["default"] and "adversarial" in outputs["default"]
    assert "model:llava-v1.5-7b" not in outputs["default"]
    assert "model:llava-v1.5-7b" in outputs["asked"]          # --by model: asked for
    groups = json.loads((tmp_path / "default/results.json").read_text())["metrics"]["mmhal"][
        "groups"]
    assert "model:llava-v1.5-7b" in groups                     # results.json keeps it


def _res(value: float, n: int) -> MetricResult:
    return MetricResult("f1", value, n, True)


def test_single_value_groups_of_any_metric_are_left_out_of_both_displays():
    """One POPE split repeats the overall numbers; two models do not; a single-value group
    over part of the items (some records without the field) says something and stays."""
    pope = MetricSummary("pope", {"f1": _res(0.8, 100)}, 100, groups={
        "split:adversarial": {"f1": _res(0.8, 100)},
        "model:a": {"f1": _res(0.7, 50)}, "model:b": {"f1": _res(0.9, 50)},
        "object:dog": {"f1": _res(0.6, 40)}})
    result = SimpleNamespace(metrics={"pope": pope}, config=AuditConfig(metrics=["pope"]))
    text = _text(groups_table(result)[0])
    assert "split:adversarial" not in text and "model:a" in text and "object:dog" in text
    dims = {t["dimension"] for t in group_tables(result)}
    assert dims == {"model", "object"}
    asked = SimpleNamespace(metrics={"pope": pope},
                            config=AuditConfig(metrics=["pope"], by=["split"]))
    assert "split:adversarial" in _text(groups_table(asked)[0])
    only = MetricSummary("chair", {"f1": _res(0.8, 100)}, 100,
                         groups={"model:a": {"f1": _res(0.8, 100)}})
    table, more = groups_table(SimpleNamespace(metrics={"chair": only},
                                               config=AuditConfig(metrics=["chair"])))
    assert table is None and more == 0
    part = MetricSummary("chair", {"f1": _res(0.8, 100)}, 100,
                         groups={"model:a": {"f1": _res(0.75, 60)}})
    table, _ = groups_table(SimpleNamespace(metrics={"chair": part},
                                            config=AuditConfig(metrics=["chair"])))
    assert "model:a" in _text(table)
