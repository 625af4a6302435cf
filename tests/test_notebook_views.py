"""What a notebook and report.html show a reader: each statistic said in words (the metric's
``meanings``), why an interval is missing instead of a blank cell, and a comparison as a
table and a DataFrame rather than a screen of nested dicts (docs-hunt, 2026-12-08)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import halluscope
from halluscope.errors import ConfigError
from halluscope.metrics.base import metric_class
from halluscope.report.html import statistic_meanings

ROOT = Path(__file__).resolve().parents[1]


def _pope(right: set[int], n_images: int = 12, model: str = "m"):
    rows = []
    for img in range(1, n_images + 1):
        for q, label in enumerate(("yes", "no")):
            answer = label if img in right else ("no" if label == "yes" else "yes")
            rows.append({"question_id": f"{img}-{q}", "image_id": img, "label": label,
                         "model": model, "prompt": "Is there a dog in the image?",
                         "response": answer})
    return rows


@pytest.mark.parametrize("name", ["chair", "pope", "claims", "faithscore", "region", "page"])
def test_every_statistic_of_the_sample_metrics_is_said_in_words(name):
    cls = metric_class(name)
    stats = set(cls.statistics) | set(getattr(cls, "lmms_eval_statistics", {}))
    assert set(cls.meanings) == stats
    assert all(isinstance(v, str) and len(v) > 10 for v in cls.meanings.values())
    assert statistic_meanings(name) == cls.meanings


def test_the_report_says_what_each_number_is_and_what_value_interval_and_n_are(tmp_path):
    result = halluscope.audit(records=_pope(set(range(1, 9)), n_images=4), metrics="pope",
                              n_boot=200, out=tmp_path / "o")
    page = (tmp_path / "o" / "report.html").read_text()
    summary = page[page.index('id="summary"'):page.index("</section>", page.index('id="summary"'))]
    assert '<div class="muted small meaning">share of the yes answers whose object is present' \
        in summary
    assert "questions about an absent object answered yes: hallucinations" in summary
    legend = re.search(r'<p class="muted small legend">(.*?)</p>', summary, re.S).group(1)
    for words in ("<b>value</b>", "CI</b>", "<b>n</b>: the units the statistic is over"):
        assert words in legend
    # 4 images: no interval, and the cell says why (hover: the note)
    note = result.get("pope.accuracy").ci_note
    assert re.search(rf'title="{re.escape(note)}">too few (units|clusters)<', summary)


def test_a_metric_without_meanings_or_unknown_shows_none():
    assert statistic_meanings("no-such-metric") == {}
    assert statistic_meanings("examples/custom_metric.py:WordCount") == {}   # never imported


def test_a_custom_metric_loaded_by_the_audit_shows_its_meanings(tmp_path):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from custom_metric import WordCount
    finally:
        sys.path.remove(str(ROOT / "examples"))
    rows = [{"id": str(i), "image": f"{i}.jpg", "response": "a cat " * i} for i in range(1, 4)]
    halluscope.audit(records=rows, metrics=[WordCount()], n_boot=0, out=tmp_path / "o")
    page = (tmp_path / "o" / "report.html").read_text()
    assert "mean number of words per response" in page


def test_the_notebook_view_says_why_an_interval_is_missing_and_what_each_statistic_is():
    result = halluscope.audit(records=_pope(set(range(1, 3)), n_images=4), metrics="pope",
                              n_boot=200)
    view = result._repr_html_()
    note = result.get("pope.precision").ci_note
    assert note and f"<span title='{note}'>too few" in view
    assert "<br><small>share of the answers that are right</small>" in view
    rows = re.findall(r"<tr><td>pope</td><td>(accuracy|precision|recall|f1)<.*?</tr>", view)
    assert len(rows) == 4


def test_a_comparison_in_a_notebook_is_a_table_and_a_dataframe(tmp_path):
    a, b = tmp_path / "a<b>", tmp_path / "b"
    halluscope.audit(records=_pope(set(range(1, 7)), model="llava<1>"), metrics="pope",
                     n_boot=0, out=a, write_report=False)
    halluscope.audit(records=_pope(set(range(1, 10)), model="llava<1>"), metrics="pope",
                     n_boot=0, out=b, write_report=False)
    comparison = halluscope.compare([a, b], n_boot=200)
    frame = comparison.to_pandas()
    acc = frame[frame.statistic == "accuracy"].iloc[0]
    entry = comparison.metrics["pope.accuracy"]
    assert (acc.metric, acc.a_run, acc.b_run, acc.group) == ("pope", str(a), str(b), None)
    assert (acc["a"], acc["b"], acc["diff"]) == (entry["a"], entry["b"], entry["diff"]) == (
        pytest.approx(0.5), pytest.approx(0.75), pytest.approx(0.25))
    assert acc.n_paired == 24 and [acc.ci_lower, acc.ci_upper] == entry["ci"]
    assert list(frame.metric + "." + frame.statistic) == list(comparison.metrics)
    groups = comparison.to_pandas("groups")
    assert "model:llava<1>" in set(groups.group)
    with pytest.raises(ConfigError, match="expected 'metrics' or 'groups'"):
        comparison.to_pandas("claims")
    view = comparison._repr_html_()
    assert "a&lt;b&gt;" in view and "a<b>" not in view          # run paths escaped
    assert "<td>pope.accuracy</td><td>0.5000</td><td>0.7500</td><td>+0.2500</td>" in view
    assert "items that changed verdict: 6 better, 0 worse in B" in view


def test_compare_html_links_each_runs_report_where_it_has_one(tmp_path):
    """compare.html named the two runs as text: nothing led from a changed number to the
    report that shows its items with their evidence."""
    import urllib.parse
    a, b = tmp_path / "runs" / "a b<c>", tmp_path / "runs" / "b"
    halluscope.audit(records=_pope(set(range(1, 7))), metrics="pope", n_boot=0, out=a)
    halluscope.audit(records=_pope(set(range(1, 10))), metrics="pope", n_boot=0, out=b,
                     write_report=False)
    halluscope.compare([a, b], n_boot=0, out=tmp_path / "cmp")
    page = (tmp_path / "cmp" / "compare.html").read_text()
    heading = re.search(r"<h1>(.*?)</h1>", page).group(1)
    hrefs = re.findall(r"href='([^']*)'", heading)
    assert len(hrefs) == 1 and "&lt;c&gt;" in heading and "<c>" not in heading
    target = (tmp_path / "cmp" / urllib.parse.unquote(hrefs[0].replace("&amp;", "&"))).resolve()
    assert target == (a / "report.html").resolve() and target.is_file()
    assert heading.startswith(str(b))               # no report: named, not linked
