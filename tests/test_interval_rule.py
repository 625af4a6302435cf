"""One rule decides whether a statistic gets an interval (metrics/intervals.py), for the audit's
statistics, HallusionBench's set-level scores and compare's differences alike: a structured
reason (its kind and the note's words, which name the numbers), whose words are the notes
written before."""

import json

import numpy as np
import pytest

from halluscope.gates.assertions import _compared
from halluscope.metrics.intervals import (IntervalReason, ci_note_label, decide_interval,
                                         result_ci_label, too_few)
from halluscope.metrics.stats import MetricResult, SumState, rate, ratio


@pytest.mark.parametrize("args,kw,kind,note", [
    ((6, 40, 10), {}, "units", "no interval: n=6 units, fewer than 10"),
    ((60, 3, 10), {}, "clusters", "no interval: 3 clusters resampled, fewer than 10"),
    ((60, 40, 10), {"holding": 2}, "holding",
     "no interval: 2 clusters hold its units, fewer than 10"),
    ((60, 3, 10), {"paired": 6}, "paired",
     "no interval: 6 paired items in 3 clusters, fewer than 10"),
    ((60, 3, 10), {"paired": 40}, "paired_clusters",
     "no interval: 40 paired items in 3 clusters, fewer than 10"),
    (((3, 40), 12, 10), {"paired": 40}, "units",
     "no interval: n=3 units in A, n=40 in B, fewer than 10"),
    (((30, 40), 12, 10), {"paired": 40, "holding": 4}, "holding",
     "no interval: the units lie in 4 clusters resampled, fewer than 10"),
])
def test_too_few_gives_the_kind_the_numbers_and_the_notes_words(args, kw, kind, note):
    reason = too_few(*args, **kw)
    assert (reason.kind, reason.note) == (kind, note)
    assert reason.too_small
    label = {"units": "too few units", "paired": "too few units",
             "clusters": "too few clusters", "holding": "too few clusters",
             "paired_clusters": "too few clusters"}[kind]
    # the kind gives the label; a file written before ci_reason has the words alone
    assert ci_note_label(reason.note, reason.kind) == ci_note_label(reason.note) == label


def test_enough_units_and_clusters_leave_it_to_the_replicates():
    assert too_few(60, 40, 10, holding=100) is None
    assert too_few(60, 40, 10, holding=None) is None
    asked = []
    ci, reason = decide_interval(5, 40, 10, 0.95, lambda: asked.append(1))
    assert ci is None and reason.kind == "units" and not asked     # never drawn then
    ci, reason = decide_interval(60, 40, 10, 0.95, None)
    assert (ci, reason) == (None, None)


def test_zero_width_replicates_give_an_interval_for_a_proportion_only():
    flat = np.full(200, 0.0)
    ci, reason = decide_interval(200, 40, 10, 0.95, lambda: flat)
    assert ci is None and reason.kind == "zero_width" and not reason.too_small
    ci, reason = decide_interval(200, 40, 10, 0.95, lambda: flat, score=(0.0, 40))
    assert ci[0] == 0.0 and ci[1] > 0 and reason.kind == "no_variation"
    assert reason.method == "korn-graubard" and not reason.too_small
    # n* = 200 (t_199 / t_39)^2 = 200 (1.971957 / 2.022691)^2 = 190.09: 1 - 0.025^(1/n*)
    size = 200 * (1.971957 / 2.022691) ** 2
    assert ci[1] == pytest.approx(1 - 0.025 ** (1 / size), abs=1e-6)
    assert reason.note.startswith(
        "Korn-Graubard: Clopper-Pearson over an effective 190.1 of 200 units (design effect "
        "taken as 1") and reason.note.endswith("; 39 degrees of freedom)")
    ci, reason = decide_interval(200, 40, 10, 0.95, lambda: np.full(10, np.nan), score=(0.0, 40))
    assert ci is None and reason.kind == "replicates" and reason.note == (
        "no interval: 0 defined bootstrap replicates, fewer than the 40 a 95% interval needs")


def test_a_result_carries_its_reason_beside_the_same_note():
    stat = rate(lambda s: ratio(s["bad"], s["n"]), units="n", proportion=True)
    state = SumState(("bad", "n"), n_boot=200)
    for i in range(5):
        state.add((0.0, 1.0), key=f"k{i}")
    few = state.result("r", stat)
    assert few.ci_reason.kind == "units" and few.ci_note == few.ci_reason.note
    assert few.to_dict()["ci_reason"] == "units"
    for i in range(5, 300):
        state.add((0.0, 1.0), key=f"k{i}")
    zero = state.result("r", stat)
    assert zero.ci_reason.kind == "no_variation" and zero.ci_method == "korn-graubard"
    assert zero.ci_note == zero.ci_reason.note
    assert zero.to_dict()["ci_reason"] == "no_variation"


def test_the_kind_read_back_from_results_json_gives_the_same_entry_and_label():
    from halluscope.finished import _result
    note = "no interval: zero width: all 200 defined bootstrap replicates equal 0.5 (...)"
    res = MetricResult("acc", 0.5, 40, ci_note=note, ci_reason=IntervalReason("zero_width", note))
    entry = res.to_dict()
    back = _result("acc", entry, None, "metrics.m.acc")
    assert back.ci_reason == res.ci_reason and back.to_dict() == entry
    assert result_ci_label(back) == "zero width"
    # a kind the rule does not know is not taken for one (the words still label it)
    odd = _result("acc", {**entry, "ci_reason": "made_up"}, None, "metrics.m.acc")
    assert odd.ci_reason is None and result_ci_label(odd) == "zero width"
    assert ci_note_label("no interval: the words changed", "replicates") == "too few replicates"


def test_the_gates_read_the_reason_not_the_notes_words():
    reason = IntervalReason("clusters", "no interval: 3 clusters resampled, fewer than 10")
    res = MetricResult("rate", 0.1, 50, bounds=(0.0, 1.0), ci_note="(words kept for files)",
                       ci_reason=reason)
    value, problem = _compared(None, "x.rate", res, 0.5, "upper")
    assert value is None and reason.note in problem and "words kept" not in problem
    read_back = MetricResult("rate", 0.1, 50, bounds=(0.0, 1.0), ci_note=reason.note)
    assert _compared(None, "x.rate", read_back, 0.5, "upper")[1] == problem


def test_an_audit_writes_the_kind_and_reports_label_by_it(tmp_path):
    from rich.console import Console

    from halluscope import audit
    from halluscope.report.console import metrics_table
    rows = [{"question_id": f"{img}-{q}", "image_id": img, "label": "yes" if q % 2 else "no",
             "prompt": "Is there a dog in the image?", "response": "yes"}
            for img in range(1, 4) for q in range(6)]
    res = audit(records=rows, metrics="pope", n_boot=200, out=tmp_path)
    entry = json.loads((tmp_path / "results.json").read_text())["metrics"]["pope"]
    assert entry["accuracy"]["ci_reason"] == "clusters"
    assert entry["accuracy"]["ci_note"] == "no interval: 3 clusters resampled, fewer than 10"
    frame = res.to_pandas("metrics")
    assert set(frame[frame.statistic == "accuracy"].ci_reason) == {"clusters"}
    assert result_ci_label(res.metrics["pope"].results["accuracy"]) == "too few clusters"
    console = Console(width=200, record=True)
    console.print(metrics_table(res))
    assert "too few clusters" in console.export_text()
