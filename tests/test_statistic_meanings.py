"""Every statistic a metric can report is said in words (its ``meanings``: report.html's summary,
the notebook view, ``halluscope metrics --statistics``), so a new metric, or a statistic added to
one, cannot go out as a bare name; and ``halluscope metrics`` lists each metric's statistics,
with what they mean when asked (meanings9, 2026-12-08)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import shared_data_dir
from typer.testing import CliRunner

import halluscope
from halluscope.cli import EXIT_USAGE, app
from halluscope.metrics.base import ItemScore, Metric, MetricOption, available_metrics, metric_class
from halluscope.metrics.stats import Statistic, rate, ratio
from halluscope.metrics.statistic_names import reportable_statistics

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _said(cls) -> dict[str, str]:
    return dict(getattr(cls, "meanings", None) or {})


@pytest.mark.parametrize("name", sorted(available_metrics()))
def test_every_registered_metric_says_every_statistic_it_can_report_in_words(name):
    cls = metric_class(name)
    names = reportable_statistics(cls)
    assert names, f"{name} declares no statistic"
    said = _said(cls)
    missing = [n for n in names if len(said.get(n, "").strip()) < 10]
    assert not missing, f"{name}: no meaning for {missing} (add them to {cls.__name__}.meanings)"
    # a meaning under a name it never reports is a misspelled key (the statistic goes unsaid)
    assert set(said) <= set(names), set(said) - set(names)


class _Choosy(Metric):
    """A metric whose option adds a statistic (as HallusionBench's variants do)."""

    name = "choosy"
    columns = ("n", "hit")
    options = (MetricOption("choosy_mode", str, "plain", "plain or extra",
                            choices=("plain", "extra")),)
    statistics: ClassVar[dict[str, Statistic]] = {
        "hit_rate": rate(lambda s: ratio(s["hit"], s["n"]), units="n")}

    @classmethod
    def declared_statistics(cls, config):
        extra = cls.option(config, "choosy_mode") == "extra"
        return {**cls.statistics, **({"n_items": Statistic(lambda s: s["n"], count=True)}
                                     if extra else {})}

    def score(self, record):
        return ItemScore({}, (1.0, 0.0))


def test_the_statistics_only_an_option_choice_reports_are_reportable_too():
    assert reportable_statistics(_Choosy) == ["hit_rate", "n_items"]
    # consistency reports its parts' statistics under its own names, and only those
    names = reportable_statistics(metric_class("consistency"))
    assert {"self_consistency", "paraphrase_stability", "flip_rate", "sample_groups"} <= \
        set(names) and "agreement" not in names and "pairwise" not in names
    # HallusionBench's keyword variants report fewer; the judged ones' are listed all the same
    hb = reportable_statistics(metric_class("hallusionbench"))
    assert {"aacc", "facc", "qacc", "easy_qacc", "yes_no_pct_diff", "unanswered"} <= set(hb)


def _all_reported(summary) -> set[str]:
    names = set(summary.results)
    for stats in summary.groups.values():
        names |= set(stats)
    return names


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _reefknot_rows() -> list[dict]:
    rows = []
    for i, (a, b) in enumerate((("Yes.", "No."), ("Yes", "Yes"), ("No", "No"))):
        for label, answer in (("yes", a), ("no", b)):
            rows.append({"image_id": str(i), "label": label, "response": answer,
                         "query_prompt": f"Is it so on {i}? Please answer yes or no.",
                         "relation_type": "perception" if i else "cognitive"})
    rows.append({"image_id": "9", "label": "B", "response": "B",
                 "query_prompt": "What is the relation? A. into B. toward C. out D. near, "
                                 "please choose.", "relation_type": "perception"})
    return rows


def _consistency_rows() -> list[dict]:
    return [{"id": "s1", "task": "yes-no", "prompt": "Is there a dog?",
             "samples": ["Yes", "No", "Yes, it is."]},
            {"id": "p1", "task": "yes-no", "prompt": "Is there a cat?", "response": "Yes",
             "paraphrase_of": "cat"},
            {"id": "p2", "task": "yes-no", "prompt": "Do you see a cat?", "response": "No",
             "paraphrase_of": "cat"}]


def _hallusionbench_rows() -> list[dict]:
    return [{"category": "VD", "subcategory": "illusion", "visual_input": vi, "set_id": "0",
             "figure_id": fig, "question_id": q, "question": f"Is it so ({fig}, {q})?",
             "gt_answer_details": "It is so.", "gt_answer": "1",
             "model_prediction": "Yes." if (fig, q) != ("1", "1") else "No."}
            for fig, vi in (("0", "1"), ("1", "2")) for q in "01"]


@pytest.mark.parametrize("metric,rows,options", [
    ("reefknot", _reefknot_rows, {}),
    ("reefknot", _reefknot_rows, {"reefknot_variant": "corrected"}),
    ("consistency", _consistency_rows, {}),
    ("hallusionbench", _hallusionbench_rows, {"hallusionbench_variant": "vlmevalkit"}),
])
def test_what_an_audit_reports_is_said_in_words_in_its_report(tmp_path, metric, rows, options):
    """What an audit really reports (its groups' statistics included) has a meaning, and
    report.html shows it beside the statistic."""
    path = _write(tmp_path / "in.jsonl", rows())
    result = halluscope.audit(path, metrics=metric, out=tmp_path / "o", n_boot=0,
                              options=options)
    summary = result.metrics[metric]
    reported = _all_reported(summary)
    assert reported and reported <= set(_said(metric_class(metric))), \
        reported - set(_said(metric_class(metric)))
    page = html.unescape((tmp_path / "o" / "report.html").read_text("utf-8"))
    for stat in summary.results:
        assert _said(metric_class(metric))[stat] in page, stat


AMBER = shared_data_dir("amber/annotations.json", "reference/amber/dev_responses.json", "nltk")


@pytest.mark.skipif(AMBER is None, reason="shared data with amber/ and nltk/ not found")
def test_amber_reports_only_statistics_it_says_in_words(tmp_path, monkeypatch):
    import nltk
    monkeypatch.setattr(nltk.data, "path", [str(AMBER / "nltk"), *nltk.data.path])
    monkeypatch.setenv("NLTK_DATA", str(AMBER / "nltk"))
    result = halluscope.audit(AMBER / "reference/amber/dev_responses.json", metrics="amber",
                              annotations=[AMBER / "amber/annotations.json"], n_boot=0,
                              out=tmp_path / "o", write_report=False)
    reported = _all_reported(result.metrics["amber"])
    assert "amber_score" in reported and "relation_f1" in reported
    assert reported <= set(_said(metric_class("amber")))


# -- halluscope metrics ---------------------------------------------------------------------------
def _run(args, columns=100):
    res = runner.invoke(app, ["metrics", *args], env={"COLUMNS": str(columns)})
    return res, res.output


def test_the_listing_names_each_metrics_statistics_and_says_how_to_read_them():
    res, out = _run([], columns=200)
    assert res.exit_code == 0, out
    assert "  statistics: chair_s, chair_i, recall, len\n" in out
    assert "  statistics: aacc, facc, qacc, unverifiable, easy_qacc" in out
    assert "share of captions naming an object" not in out          # names only by default
    assert "What each statistic means: halluscope metrics [METRIC]... --statistics" in out


def test_statistics_flag_gives_each_statistic_its_meaning_for_the_metrics_named():
    res, out = _run(["mmhal", "reefknot", "--statistics"], columns=200)
    assert res.exit_code == 0, out
    heads = [line.split(":")[0] for line in out.splitlines() if line and line[0] != " "]
    assert heads == ["mmhal", "reefknot"]                      # only the metrics named
    for name in ("mmhal", "reefknot"):
        for stat, meaning in _said(metric_class(name)).items():
            assert f"    {stat}: {meaning}\n" in out
    assert "metrics: amber" not in out and "--metric module:Class" not in out


def test_meanings_wrap_under_their_statistic_at_80_columns():
    res, out = _run(["amber", "-s"], columns=80)
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    start = lines.index("  statistics:")
    body = lines[start + 1:]
    assert body and all(line.startswith("    ") for line in body), body
    assert any(line.startswith("      ") for line in body)        # a meaning's second line
    assert sum(1 for line in body if not line.startswith("      ")) == \
        len(reportable_statistics(metric_class("amber")))


def test_a_metric_file_not_installed_can_be_listed_with_its_meanings():
    res, out = _run([f"{ROOT / 'examples' / 'custom_metric.py'}:WordCount", "-s"], columns=200)
    assert res.exit_code == 0, out
    assert "    mean_words: " in out


@pytest.mark.parametrize("name,words", [("ambr", "did you mean 'amber'"),
                                        ("nowhere.py:X", "nowhere.py")])
def test_an_unknown_metric_is_a_usage_error(name, words):
    res, out = _run([name])
    assert res.exit_code == EXIT_USAGE, out
    assert words in " ".join(out.split())
