"""Zero events: a proportion whose units show no event (or only events) has a bootstrap
interval of zero width, [0, 0] or [1, 1], and a gate on its bound passed on it although 0 in 200
bounds a rate only to about 3/200. A score (Wilson) interval over the effective number of
units replaces it; other statistics get no interval and a note saying why."""

from __future__ import annotations

import random

import numpy as np
import pytest

from halluscope.metrics.stats import (ZERO_WIDTH, SumState, percentile_interval, rate, ratio,
                                      wilson_interval)

# z = 1.959964 at 95%, z^2 = 3.841459: Wilson's bounds for 0/n and n/n are z^2 / (n + z^2)
# and n / (n + z^2), worked by hand here
UPPER_0_OF_200 = 3.841459 / 203.841459          # 0.018845
LOWER_200_OF_200 = 200 / 203.841459              # 0.981155
UPPER_0_OF_50 = 3.841459 / 53.841459             # 0.071347: 200 units in 50 clusters
LOWER_50_OF_50 = 50 / 53.841459                  # 0.928653

SHARE = rate(lambda s: ratio(s["events"], s["units"]), units="units", proportion=True)
NOT_A_SHARE = rate(lambda s: ratio(s["events"], s["units"]), units="units")


def _state(events: int, n: int = 200, per_cluster: int = 1, order_seed: int | None = None,
           shards: int = 1) -> SumState:
    """``n`` units, ``events`` of them with the event, ``per_cluster`` units to a cluster."""
    rows = [([1.0 if i < events else 0.0, 1.0], f"image:{i // per_cluster}") for i in range(n)]
    if order_seed is not None:
        random.Random(order_seed).shuffle(rows)
    states = [SumState(("events", "units")) for _ in range(shards)]
    for j, (row, key) in enumerate(rows):
        states[j % shards].add_rows(np.array([row]), states[0].draw_weights([key]),
                                    np.array([0]), [key])
    for other in states[1:]:
        states[0].merge(other)
    return states[0]


def test_wilson_bounds_match_the_hand_computed_ones():
    assert wilson_interval(0, 200) == pytest.approx((0.0, UPPER_0_OF_200), abs=1e-6)
    assert wilson_interval(200, 200) == pytest.approx((LOWER_200_OF_200, 1.0), abs=1e-6)


@pytest.mark.parametrize("events, expected", [(0, (0.0, UPPER_0_OF_200)),
                                              (200, (LOWER_200_OF_200, 1.0))])
def test_no_event_or_all_events_gets_the_wilson_interval(events, expected):
    res = SumState.result(_state(events), "r", SHARE)
    assert res.value == events / 200 and res.n == 200
    assert res.ci == pytest.approx(expected, abs=1e-6)
    assert res.ci_method == "wilson" and res.to_dict()["ci_method"] == "wilson"
    assert "effective 200 of 200 units" in res.ci_note


@pytest.mark.parametrize("events, expected", [(0, (0.0, UPPER_0_OF_50)),
                                              (200, (LOWER_50_OF_50, 1.0))])
def test_clustered_units_count_once_per_cluster(events, expected):
    """200 units on 50 images, 4 each: the four may share their outcome, so 50 count."""
    res = _state(events, per_cluster=4).result("r", SHARE)
    assert res.ci == pytest.approx(expected, abs=1e-6)
    assert "effective 50 of 200 units" in res.ci_note


def test_a_zero_width_interval_of_another_statistic_is_not_reported():
    res = _state(0).result("r", NOT_A_SHARE)
    assert res.ci is None and res.ci_method is None
    assert res.ci_note.startswith(ZERO_WIDTH) and "1000 defined bootstrap replicates equal 0" \
        in res.ci_note
    assert percentile_interval(np.full(1000, 0.25), 0.95)[0] is None


def test_interval_depends_only_on_the_counts():
    """Shards (workers) and order give the same bounds, to the last digit."""
    base = _state(0, per_cluster=4).result("r", SHARE)
    for seed, shards in ((1, 1), (2, 2), (3, 3)):
        other = _state(0, per_cluster=4, order_seed=seed, shards=shards).result("r", SHARE)
        assert (other.ci, other.ci_note) == (base.ci, base.ci_note)


def test_non_degenerate_intervals_are_unchanged():
    """Three events in 200: the percentile bootstrap as before, no method named."""
    state = _state(3)
    res = state.result("r", SHARE)
    reps = ratio(state.boot[:, 0], state.boot[:, 1])
    assert res.ci == percentile_interval(reps, 0.95)[0]
    assert res.ci_method is None and res.ci_note is None
    assert res.ci[0] < res.ci[1]


def _pope_rows(n_images: int = 40) -> list[dict]:
    """Six questions per image, three labelled yes; every answer right (no false positive)."""
    return [{"question_id": f"{img}-{q}", "image_id": img,
             "label": "yes" if (img + q) % 2 == 0 else "no",
             "prompt": "Is there a dog in the image?",
             "response": "yes" if (img + q) % 2 == 0 else "no"}
            for img in range(n_images) for q in range(6)]


def test_pope_gate_on_the_bound_now_fails_where_it_passed():
    """No false positive among 120 yes answers on 40 images: precision's bootstrap interval
    was [1, 1] and `--fail-below pope.precision@lower=0.95` passed; the 40 images bound it
    from below only by 40 / (40 + z^2) = 0.912."""
    from halluscope.api import audit
    from halluscope.gates.thresholds import check_gates, parse_gates
    res = audit(records=_pope_rows(), metrics="pope", n_boot=1000)
    precision = res.get("pope.precision")
    assert precision.value == 1.0 and precision.n == 120 and precision.ci_method == "wilson"
    assert precision.ci == pytest.approx((40 / 43.841459, 1.0), abs=1e-6)
    failures = check_gates(res, parse_gates(below=["pope.precision@lower=0.95"]), warn=False)
    assert len(failures) == 1 and "0.912" in failures[0], failures
    # F1 is no share of units: no interval, and its bound gate fails saying why
    f1 = res.get("pope.f1")
    assert f1.value == 1.0 and f1.ci is None and f1.ci_note.startswith(ZERO_WIDTH)
    failures = check_gates(res, parse_gates(below=["pope.f1@lower=0.8"]), warn=False)
    assert len(failures) == 1 and "zero width" in failures[0], failures
    # the point-value gate is untouched
    assert check_gates(res, parse_gates(below=["pope.precision=0.95"]), warn=False) == []


def test_pope_unclustered_counts_every_answer():
    """With every answer its own cluster, the 120 yes answers count: lower 120 / 123.84."""
    from halluscope.api import audit
    res = audit(records=_pope_rows(), metrics="pope", n_boot=1000, cluster_by="item")
    assert res.get("pope.precision").ci == pytest.approx((120 / 123.841459, 1.0), abs=1e-6)


def test_pope_wilson_bounds_same_for_workers_and_order(tmp_path):
    import json

    from halluscope.api import audit
    rows = _pope_rows()
    answers = tmp_path / "answers.jsonl"
    shuffled = list(rows)
    random.Random(5).shuffle(shuffled)
    found = []
    for name, recs, workers in (("one", rows, 1), ("two", rows, 2), ("shuffled", shuffled, 1)):
        answers.write_text("".join(json.dumps(r) + "\n" for r in recs))
        res = audit(answers, metrics="pope", n_boot=200, out=tmp_path / name, workers=workers,
                    write_report=False)
        found.append({k: (res.get(f"pope.{k}").ci, res.get(f"pope.{k}").ci_note)
                      for k in ("precision", "recall", "accuracy", "f1")})
    assert found[0] == found[1] == found[2]
    assert found[0]["accuracy"][0] == pytest.approx((40 / 43.841459, 1.0), abs=1e-6)


def test_hallusionbench_all_right_gets_the_wilson_bound_over_its_question_sets():
    """12 question sets all answered right: qAcc's 72 questions count as 12 sets."""
    from halluscope.metrics.hallusionbench import hallusionbench_scores
    from halluscope.metrics.hallusionbench_units import Unit
    units = [Unit(cluster=f"VD_x_{s}", figure=f"VD_x_{s}_{f}", pair=f"VD_x_{s}_{q}",
                  correct=True, groups=("VD",), cell=(str(f), str(q)))
             for s in range(12) for f in range(2) for q in range(3)]
    aacc = hallusionbench_scores(units, n_boot=1000)["aacc"]
    assert aacc.value == 1.0 and aacc.n == 72 and aacc.ci_method == "wilson"
    assert aacc.ci == pytest.approx((12 / 15.841459, 1.0), abs=1e-6)


def test_cli_gate_on_the_upper_bound_of_no_event_exits_1(tmp_path):
    """`--fail-above pope.unknown_rate@upper=0.05`: no unknown answer among 240 on 40 images
    passed on [0, 0]; Wilson over the 40 images gives 0.088 and the gate exits 1. With
    every answer its own cluster, 240 count: 0.0157, and it passes."""
    import json

    from typer.testing import CliRunner

    from halluscope.cli import app
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps(r) + "\n" for r in _pope_rows()))
    gate = ["--fail-above", "pope.unknown_rate@upper=0.05"]
    res = CliRunner().invoke(app, ["audit", str(answers), "--metric", "pope", "--quiet",
                                   "--no-report", "--out", str(tmp_path / "a"), *gate])
    assert res.exit_code == 1, res.output
    saved = json.loads((tmp_path / "a" / "results.json").read_text())["metrics"]["pope"]
    assert saved["unknown_rate"]["ci"] == pytest.approx([0.0, 3.841459 / 43.841459], abs=1e-6)
    assert saved["unknown_rate"]["ci_method"] == "wilson"
    res = CliRunner().invoke(app, ["audit", str(answers), "--metric", "pope", "--quiet",
                                   "--no-report", "--out", str(tmp_path / "b"),
                                   "--cluster-by", "item", *gate])
    assert res.exit_code == 0, res.output
