"""Zero events: a proportion whose units show no event (or only events) has a bootstrap
interval of zero width, [0, 0] or [1, 1], and a gate on its bound passed on it although 0 in 200
bounds a rate only to about 3/200. Korn & Graubard's interval at a design effect of 1 replaces
it (Clopper-Pearson over the units, shrunk for the clusters' degrees of freedom, as Korn &
Graubard and the NCHS standards for proportions do at p = 0 or 1; until the zero-events
monotonicity change, Wilson's over the clusters, wider than one event's bound); other
statistics get no interval and a note saying why. (With events, a proportion's interval is
Korn-Graubard's from the replicates' variance: tests/test_few_events.py.)"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from halluscope.metrics.intervals import percentile_bounds
from halluscope.metrics.korn_graubard import clopper_pearson, t_quantile
from halluscope.metrics.stats import ZERO_WIDTH, SumState, rate, ratio
from test_few_events import _state as events_state

# Clopper-Pearson's bounds for 0 of n* and n* of n* are 1 - 0.025^(1/n*) and 0.025^(1/n*) (the
# beta quantiles Beta(1, n*) at 0.975 and Beta(n*, 1) at 0.025), worked by hand here:
# unclustered, n* = n = 200 (t_199 / t_199 = 1)
UPPER_0_OF_200 = 1 - 0.025 ** (1 / 200)          # 0.018275
LOWER_200_OF_200 = 0.025 ** (1 / 200)            # 0.981725
# 200 units in 50 clusters: t_199 = 1.971957, t_49 = 2.009575 (tables), so
# n* = 200 (1.971957 / 2.009575)^2 = 200 * 0.962911 = 192.582
SIZE_200_IN_50 = 200 * (1.971957 / 2.009575) ** 2
UPPER_0_IN_50 = 1 - 0.025 ** (1 / SIZE_200_IN_50)   # 0.018973 (Wilson over 50 was 0.071347)
LOWER_200_IN_50 = 0.025 ** (1 / SIZE_200_IN_50)     # 0.981027

SHARE = rate(lambda s: ratio(s["events"], s["units"]), units="units", proportion=True)
NOT_A_SHARE = rate(lambda s: ratio(s["events"], s["units"]), units="units")


def _state(events: int, n: int = 200, per_cluster: int = 1, order_seed: int | None = None,
           shards: int = 1) -> SumState:
    """``n`` units, the first ``events`` of them with the event, ``per_cluster`` units to a
    cluster (:func:`test_few_events._state`)."""
    return events_state(range(events), n, per_cluster, order_seed, shards)


def test_clopper_pearson_bounds_match_the_hand_computed_ones():
    assert UPPER_0_OF_200 == pytest.approx(0.018275, abs=1e-6)
    assert UPPER_0_IN_50 == pytest.approx(0.018973, abs=1e-6)
    assert clopper_pearson(0, 200) == pytest.approx((0.0, UPPER_0_OF_200), abs=1e-9)
    assert clopper_pearson(200, 200) == pytest.approx((LOWER_200_OF_200, 1.0), abs=1e-9)


@pytest.mark.parametrize("events, expected", [(0, (0.0, UPPER_0_OF_200)),
                                              (200, (LOWER_200_OF_200, 1.0))])
def test_no_event_or_all_events_gets_korn_graubards_at_design_effect_1(events, expected):
    res = SumState.result(_state(events), "r", SHARE)
    assert res.value == events / 200 and res.n == 200
    assert res.ci == pytest.approx(expected, abs=1e-6)
    assert res.ci_method == "korn-graubard" and res.to_dict()["ci_method"] == "korn-graubard"
    assert res.ci_reason.kind == "no_variation" and res.ci_note == res.ci_reason.note
    assert "effective 200.0 of 200 units (design effect taken as 1" in res.ci_note
    assert res.ci_note.endswith("; 199 degrees of freedom)")


@pytest.mark.parametrize("events, expected", [(0, (0.0, UPPER_0_IN_50)),
                                              (200, (LOWER_200_IN_50, 1.0))])
def test_clustered_units_shrink_for_the_clusters_degrees_of_freedom(events, expected):
    """200 units on 50 images, 4 each: the units count (no variation shows a design effect),
    shrunk by (t_199 / t_49)^2 for the 49 degrees of freedom, as where events vary."""
    res = _state(events, per_cluster=4).result("r", SHARE)
    assert res.ci == pytest.approx(expected, abs=1e-6)
    assert "effective 192.6 of 200 units" in res.ci_note and "49 degrees of freedom" \
        in res.ci_note


def _spread(events: int, n: int, clusters: int) -> SumState:
    """``n`` units dealt round ``clusters`` clusters, the first ``events`` (each in its own
    cluster) with the event."""
    state = SumState(("events", "units"))
    keys = [f"image:{c}" for c in range(clusters)]
    x = np.column_stack([(np.arange(n) < events).astype(float), np.ones(n)])
    cluster = np.arange(n) % clusters
    state.add_rows(x, state.draw_weights(keys), cluster, [keys[c] for c in cluster])
    return state


@pytest.mark.parametrize("n, clusters", [(200, 50), (200, 200), (500, 100), (60, 12)])
def test_bounds_are_monotone_in_the_events(n, clusters):
    """A model with no event must not fail a bound gate that one with an event passes: the
    upper bound rises with the events 0, 1, 2, 3 (and the lower bound with them), clustered or
    not. (Wilson over the clusters gave 0 of 200 on 50 images [0, 0.0713] and 1 of 200
    [0.0001, 0.0276].) Likewise from the other end, n, n - 1, n - 2, n - 3 events: the lower
    bound falls."""
    up = [_spread(k, n, clusters).result("r", SHARE) for k in range(4)]
    down = [_spread(n - k, n, clusters).result("r", SHARE) for k in range(4)]
    for results in (up, down):
        assert all(r.ci_method == "korn-graubard" for r in results), [r.ci_note for r in results]
    assert [r.ci_reason.kind for r in up] == ["no_variation"] + ["korn_graubard"] * 3
    for a, b in zip(up, up[1:]):
        assert a.ci[1] < b.ci[1] and a.ci[0] <= b.ci[0], (a.ci, b.ci)
    for a, b in zip(down, down[1:]):
        assert a.ci[0] > b.ci[0] and a.ci[1] >= b.ci[1], (a.ci, b.ci)


def test_no_event_on_clusters_passes_the_gate_one_event_passes():
    """0 of 200 on 50 images: 0.0190 (Wilson over the 50 gave 0.0713 and failed
    ``@upper < 0.05``); 1 of 200: about 0.028."""
    none, one = (_spread(k, 200, 50).result("r", SHARE) for k in (0, 1))
    assert none.ci == pytest.approx((0.0, UPPER_0_IN_50), abs=1e-6)
    assert none.ci[1] < one.ci[1] < 0.05


def test_a_zero_width_interval_of_another_statistic_is_not_reported():
    res = _state(0).result("r", NOT_A_SHARE)
    assert res.ci is None and res.ci_method is None
    assert res.ci_note.startswith(ZERO_WIDTH) and "1000 defined bootstrap replicates equal 0" \
        in res.ci_note
    assert percentile_bounds(np.full(1000, 0.25), 0.95)[0] is None


def test_interval_depends_only_on_the_counts():
    """Shards (workers) and order give the same bounds, to the last digit."""
    base = _state(0, per_cluster=4).result("r", SHARE)
    for seed, shards in ((1, 1), (2, 2), (3, 3)):
        other = _state(0, per_cluster=4, order_seed=seed, shards=shards).result("r", SHARE)
        assert (other.ci, other.ci_note) == (base.ci, base.ci_note)


def test_non_degenerate_intervals_are_korn_graubards():
    """Three events in 200: the replicates vary, so the interval is no longer the percentile
    bootstrap's (whose lower end was 0 here) but Korn-Graubard's over the effective size the
    replicates give (tests/test_few_events.py works it by hand)."""
    from halluscope.metrics.korn_graubard import korn_graubard_interval
    state = _state(3)
    res = state.result("r", SHARE)
    reps = ratio(state.boot[:, 0], state.boot[:, 1])
    assert percentile_bounds(reps, 0.95)[0][0] == 0.0
    assert (res.ci, res.ci_note) == korn_graubard_interval(0.015, 200, reps, 200)
    assert res.ci_method == "korn-graubard"
    assert 0 < res.ci[0] < 0.015 < res.ci[1]


def _pope_rows(n_images: int = 40) -> list[dict]:
    """Six questions per image, three labelled yes; every answer right (no false positive)."""
    return [{"question_id": f"{img}-{q}", "image_id": img,
             "label": "yes" if (img + q) % 2 == 0 else "no",
             "prompt": "Is there a dog in the image?",
             "response": "yes" if (img + q) % 2 == 0 else "no"}
            for img in range(n_images) for q in range(6)]


def test_pope_gate_on_the_bound_now_fails_where_it_passed():
    """No false positive among 120 yes answers on 40 images: precision's bootstrap interval
    was [1, 1] and `--fail-below pope.precision@lower=0.98` passed; the 120 answers, shrunk for
    the 39 degrees of freedom to n* = 120 (t_119 / t_39)^2 = 115.0, bound it from below only by
    0.025^(1 / 115.0) = 0.968 (Wilson over the 40 images gave 0.912)."""
    from halluscope.api import audit
    from halluscope.gates.thresholds import check_gates, parse_gates
    res = audit(records=_pope_rows(), metrics="pope", n_boot=1000)
    precision = res.get("pope.precision")
    assert precision.value == 1.0 and precision.n == 120
    assert precision.ci_method == "korn-graubard"
    size = 120 * (1.980100 / 2.022691) ** 2         # t_119, t_39 (tables)
    assert precision.ci == pytest.approx((0.025 ** (1 / size), 1.0), abs=1e-6)
    failures = check_gates(res, parse_gates(below=["pope.precision@lower=0.98"]), warn=False)
    assert len(failures) == 1 and "0.968" in failures[0], failures
    # F1 is no share of units: no interval, and its bound gate fails saying why
    f1 = res.get("pope.f1")
    assert f1.value == 1.0 and f1.ci is None and f1.ci_note.startswith(ZERO_WIDTH)
    failures = check_gates(res, parse_gates(below=["pope.f1@lower=0.8"]), warn=False)
    assert len(failures) == 1 and "zero width" in failures[0], failures
    # the point-value gate is untouched
    assert check_gates(res, parse_gates(below=["pope.precision=0.95"]), warn=False) == []


def test_pope_unclustered_counts_every_answer():
    """With every answer its own cluster, the 120 yes answers count unshrunk (119 degrees of
    freedom either way): lower 0.025^(1 / 120) = 0.96974."""
    from halluscope.api import audit
    res = audit(records=_pope_rows(), metrics="pope", n_boot=1000, cluster_by="item")
    assert res.get("pope.precision").ci == pytest.approx((0.025 ** (1 / 120), 1.0), abs=1e-6)


def test_pope_no_variation_bounds_same_for_workers_and_order(tmp_path):
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
    size = 240 * (1.969939 / 2.022691) ** 2         # 240 answers on 40 images: t_239, t_39
    assert found[0]["accuracy"][0] == pytest.approx((0.025 ** (1 / size), 1.0), abs=1e-6)


def test_hallusionbench_all_right_gets_the_bound_over_its_questions_and_sets():
    """12 question sets all answered right: aAcc's 72 questions, shrunk for the 11 degrees of
    freedom of the 12 sets, n* = 72 (t_71 / t_11)^2 = 59.09."""
    from halluscope.metrics.hallusionbench import hallusionbench_scores
    from halluscope.metrics.hallusionbench_units import Unit
    units = [Unit(cluster=f"VD_x_{s}", figure=f"VD_x_{s}_{f}", pair=f"VD_x_{s}_{q}",
                  correct=True, groups=("VD",), cell=(str(f), str(q)))
             for s in range(12) for f in range(2) for q in range(3)]
    aacc = hallusionbench_scores(units, n_boot=1000)["aacc"]
    assert aacc.value == 1.0 and aacc.n == 72 and aacc.ci_method == "korn-graubard"
    size = 72 * (1.993943 / 2.200985) ** 2
    assert aacc.ci == pytest.approx((0.025 ** (1 / size), 1.0), abs=1e-6)
    assert "effective 59.1 of 72 units" in aacc.ci_note


def test_cli_gate_on_the_upper_bound_of_no_event_exits_1(tmp_path):
    """`--fail-above pope.unknown_rate@upper=0.0155`: no unknown answer among 240 on 40 images
    passed on [0, 0]; the 240 answers shrunk for the 39 degrees of freedom (n* = 227.6) bound
    it by 0.0161 and the gate exits 1. With every answer its own cluster, 240 count unshrunk:
    0.0152, and it passes. (Wilson over the 40 images gave 0.088: a gate at 0.05 failed that
    one event's bound passed.)"""
    import json

    from typer.testing import CliRunner

    from halluscope.cli import app
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps(r) + "\n" for r in _pope_rows()))
    gate = ["--fail-above", "pope.unknown_rate@upper=0.0155"]
    res = CliRunner().invoke(app, ["audit", str(answers), "--metric", "pope", "--quiet",
                                   "--no-report", "--out", str(tmp_path / "a"), *gate])
    assert res.exit_code == 1, res.output
    saved = json.loads((tmp_path / "a" / "results.json").read_text())["metrics"]["pope"]
    size = 240 * (1.969939 / 2.022691) ** 2
    assert saved["unknown_rate"]["ci"] == pytest.approx([0.0, 1 - 0.025 ** (1 / size)],
                                                        abs=1e-6)
    assert saved["unknown_rate"]["ci_method"] == "korn-graubard"
    res = CliRunner().invoke(app, ["audit", str(answers), "--metric", "pope", "--quiet",
                                   "--no-report", "--out", str(tmp_path / "b"),
                                   "--cluster-by", "item", *gate])
    assert res.exit_code == 0, res.output


# -- the other benchmarks' shares: flagged as proportions, each worked by hand -----------------
# 12 units, or 24 on 12 images (clusters): 11 degrees of freedom, t_11 = 2.200985 and
# t_23 = 2.068658 (tables): an effective 12, or 24 (2.068658 / 2.200985)^2 = 21.20.
SIZES_ON_12 = {12: 12.0, 24: 24 * (2.068658 / 2.200985) ** 2}


def _assert_no_variation(results, none=(), every=(), units=None):
    """``none``: no event among the ``units[name]`` units (12 where not given) on 12 clusters,
    ``[0, 1 - 0.025^(1/n*)]``; ``every``: only events, ``[0.025^(1/n*), 1]``; n* from
    :data:`SIZES_ON_12`."""
    for names, value in ((none, 0.0), (every, 1.0)):
        for name in names:
            r = results[name]
            n = (units or {}).get(name, 12)
            size = SIZES_ON_12[n]
            expected = (0.0, 1 - 0.025 ** (1 / size)) if value == 0.0 else \
                (0.025 ** (1 / size), 1.0)
            assert r.value == value, (name, r.value)
            assert r.ci == pytest.approx(expected, abs=1e-6), (name, r.ci, r.ci_note)
            assert r.ci_method == "korn-graubard" and r.ci_reason.kind == "no_variation", name
            assert f"effective {size:.1f} of {n} units" in r.ci_note, (name, r.ci_note)


def _assert_no_interval(results, names):
    """Statistics that are no share of their units: a zero-width interval is none."""
    for name in names:
        r = results[name]
        assert r.ci is None and r.ci_method is None and r.ci_note.startswith(ZERO_WIDTH), name


def _assert_korn_graubard(metric, results, names):
    """With events among the units: Korn-Graubard's interval over the effective size read from
    the same replicates as the percentile interval the statistic would get with the flag off
    (until the few-events change, that percentile interval itself)."""
    import dataclasses

    from halluscope.metrics.korn_graubard import korn_graubard_interval
    from halluscope.metrics.stats import effective_clusters
    state = metric.state
    for name in names:
        stat = metric.statistics[name]
        assert stat.proportion, name
        plain = state.result(name, dataclasses.replace(stat, proportion=False),
                             metric.confidence, metric.min_units)
        got = results[name]
        assert plain.ci is not None and plain.ci_method is None, name
        reps = stat.fn({c: state.boot[:, i] for i, c in enumerate(state.columns)})
        clusters = effective_clusters(state.clusters_holding(stat), len(state.units) or None)
        assert (got.ci, got.ci_note) == korn_graubard_interval(
            got.value, got.n, reps, clusters, metric.confidence), name
        assert got.ci_method == "korn-graubard", name
        assert got.ci[0] < got.ci[1], name


def _consistency_rows(disagree: bool = False) -> list[dict]:
    """24 paraphrase sets of two phrasings on 12 images (two sets an image); 12 records each
    carrying two sampled answers, one image each. Every set and sample group agrees (but the
    first paraphrase set, with ``disagree``)."""
    rows = [{"id": f"p{g}#{k}", "image": f"img{g // 2}.jpg", "task": "yes-no",
             "prompt": "Is there a dog?", "response": "No" if disagree and g == k == 0 else
             "Yes", "paraphrase_of": f"p{g}"} for g in range(24) for k in range(2)]
    return rows + [{"id": f"s{i}", "image": f"own{i}.jpg", "task": "yes-no",
                    "prompt": "Is there a cat?", "response": "No", "samples": ["No", "no."]}
                   for i in range(12)]


def test_consistency_rates_of_all_agreeing_groups_get_the_no_variation_bound():
    """consistent_rate (paraphrase_stability, self_consistent_rate) and flip_rate count each
    group 0 or 1; 24 sets on 12 images count 12. Agreement is a mean of shares: none."""
    from halluscope.api import audit
    from halluscope.metrics.consistency import ConsistencyMetric
    res = audit(records=_consistency_rows(), metrics=[ConsistencyMetric(n_boot=1000)])
    results = res.metrics["consistency"].results
    _assert_no_variation(results, none=["flip_rate"],
                   every=["paraphrase_stability", "self_consistent_rate"],
                   units={"flip_rate": 24, "paraphrase_stability": 24})
    _assert_no_interval(results, ["paraphrase_agreement", "self_consistency"])
    metric = ConsistencyMetric(n_boot=1000)
    res = audit(records=_consistency_rows(disagree=True), metrics=[metric])
    results = {"consistent_rate": res.metrics["consistency"].results["paraphrase_stability"],
               "flip_rate": res.metrics["consistency"].results["flip_rate"]}
    _assert_korn_graubard(metric.paraphrases, results, ["consistent_rate", "flip_rate"])


def _amber_data():
    from halluscope.evidence.amber import AmberData
    from halluscope.metrics.amber import AmberMetric
    items = {i: {"type": "generative", "truth": ["dog"], "hallu": ["cat"]} for i in range(1, 13)}
    items.update({1004 + i: {"type": "discriminative-hallucination", "truth": "no"}
                  for i in range(1, 13)})
    initial = {c: 0.001 if c.endswith("_num") else 0.0 for c in AmberMetric.columns
               if not c.endswith("either_no_num")}
    return AmberData(path=Path("annotations.json"), items=items,
                     association={"dog": [], "cat": []}, initial=initial)


@pytest.mark.parametrize("variant", ["original", "refined"])
def test_amber_rates_with_no_event_get_the_no_variation_bound(tmp_path, variant):
    """12 descriptions "A dog." of images whose truth is a dog and whose likely hallucination a
    cat: no hallucinated noun among 12 (CHAIR), no description with one (Hal), no cat (Cog),
    every dog covered (Cover); 12 existence questions labelled No, all answered No. F1 and
    amber_score are no shares: none. One cat and one wrong Yes get Korn-Graubard's."""
    from halluscope.api import audit
    from halluscope.metrics.amber import AmberMetric
    rows = [{"id": i, "response": "A dog."} for i in range(1, 13)] + \
        [{"id": 1004 + i, "response": "No"} for i in range(1, 13)]
    res = audit(records=rows, metrics=[AmberMetric(_amber_data(), variant=variant)],
                out=tmp_path / "a", write_report=False)
    results = res.metrics["amber"].results
    _assert_no_variation(results, none=["chair", "hal", "cog"],
                   every=["cover", "accuracy", "precision", "recall", "existence_accuracy",
                          "existence_precision", "existence_recall"])
    _assert_no_interval(results, ["f1", "existence_f1", "amber_score"])
    rows[0]["response"], rows[12]["response"] = "A dog and a cat.", "Yes"
    metric = AmberMetric(_amber_data(), variant=variant)
    res = audit(records=rows, metrics=[metric], out=tmp_path / "b", write_report=False)
    _assert_korn_graubard(metric, res.metrics["amber"].results,
                           ["chair", "hal", "cog", "accuracy", "recall"])


def test_object_halbench_rates_with_no_event_get_the_no_variation_bound(tmp_path):
    """12 answers naming a man and a dog, each image's truth: no hallucinated answer (CHAIRs,
    CHAIRs refine) or mention (CHAIRi: 24 mentions on 12 images count 12), every object
    recalled. avg_len is a mean: none. A cat in one answer gets Korn-Graubard's."""
    from halluscope.api import audit
    from halluscope.metrics.objhal import ObjhalMetric
    gt = {i: ["dog", "person"] for i in range(12)}
    rows = [{"id": str(i), "image_id": i, "task": "caption", "prompt": "Describe the image.",
             "response": "A man walks a dog in the park near the trees."} for i in range(12)]
    res = audit(records=rows, metrics=[ObjhalMetric(gt)], out=tmp_path / "a",
                write_report=False)
    results = res.metrics["objhal"].results
    _assert_no_variation(results, none=["chairs", "chairs_refine", "chairi"], every=["obj_rec"],
                   units={"chairi": 24, "obj_rec": 24})
    _assert_no_interval(results, ["avg_len"])
    rows[0]["response"] = "A man walks a dog past a cat in the park."
    metric = ObjhalMetric(gt)
    res = audit(records=rows, metrics=[metric], out=tmp_path / "b", write_report=False)
    _assert_korn_graubard(metric, res.metrics["objhal"].results,
                           ["chairs", "chairs_refine", "chairi"])


def test_region_rates_with_no_event_get_the_no_variation_bound(tmp_path):
    """12 images, each citing its two offered regions for the objects they hold: 24 supported
    citations (precision), 24 recalled instances, no fabricated id among 24, on 12 images.
    A cited R3, never offered, gets Korn-Graubard's."""
    from halluscope.api import audit
    from halluscope.metrics.grounding import RegionMetric
    image = str(Path(__file__).resolve().parents[1] / "data" / "images" / "astronaut.jpg")
    regions = [{"id": 1, "box": [0, 0, 100, 100], "label": "dog"},
               {"id": 2, "box": [200, 200, 300, 300], "label": "cat"}]
    rows = [{"id": f"r{i}", "task": "vqa", "image": image, "image_id": i,
             "prompt": "Regions [R1] [R2] are marked. Where are the dog and the cat?",
             "response": "The dog [R1] sits beside the cat [R2].",
             "metadata": {"regions": regions}} for i in range(12)]
    res = audit(records=rows, metrics="region", n_boot=1000, out=tmp_path / "a",
                write_report=False)
    _assert_no_variation(res.metrics["region"].results, none=["fabricated_id_rate"],
                   every=["precision", "recall"],
                   units=dict.fromkeys(("fabricated_id_rate", "precision", "recall"), 24))
    rows[0]["response"] = "The dog [R1] sits beside the cat [R3]."
    metric = RegionMetric()
    res = audit(records=rows, metrics=[metric], out=tmp_path / "b", write_report=False)
    _assert_korn_graubard(metric, res.metrics["region"].results,
                           ["precision", "recall", "fabricated_id_rate"])


def test_page_rates_with_no_event_get_the_no_variation_bound(tmp_path):
    """12 answers (each its own cluster) citing page 2 of the demo report with a quote that is
    there: every citation right, every quote found, no fabricated page. A made-up quote gets
    Korn-Graubard's."""
    pytest.importorskip("pypdfium2")
    from halluscope.api import audit
    from halluscope.metrics.grounding import PageMetric
    doc = str(Path(__file__).resolve().parents[1] / "data" / "docs" / "report.pdf")
    right = 'The report says "The committee approved the plan to open two new sites" (p. 2).'
    rows = [{"id": f"d{i}", "task": "document", "document": doc, "response": right}
            for i in range(12)]
    res = audit(records=rows, metrics="page", n_boot=1000, out=tmp_path / "a",
                write_report=False, cluster_by="item")
    _assert_no_variation(res.metrics["page"].results, none=["fabricated_page_rate"],
                   every=["citation_accuracy", "quote_support_rate"])
    rows[0]["response"] = 'The report says "Costs fell by 40 percent" (p. 2).'
    metric = PageMetric()
    res = audit(records=rows, metrics=[metric], out=tmp_path / "b", write_report=False,
                cluster_by="item")
    _assert_korn_graubard(metric, res.metrics["page"].results,
                           ["citation_accuracy", "quote_support_rate"])


def test_reefknot_rates_with_no_event_get_the_no_variation_bound(tmp_path):
    """12 images, each a yes/no pair answered right (24 answers on 12 images count 12), and 12
    multiple-choice questions answered right. yes_rate is 1/2 on every image, so its
    replicates do not vary either: Clopper-Pearson's 12 of the 24 answers' effective 21.20
    (Wilson's 6 of 12 until the monotonicity change). A wrong Yes gets Korn-Graubard's from
    the replicates' variance."""
    from halluscope.api import audit
    from halluscope.metrics.reefknot import ReefknotMetric
    rows = []
    for i in range(12):
        rows += [{"id": f"{i}y", "image": f"img{i}.jpg", "label": "yes", "response": "Yes",
                  "prompt": "Is the man riding the horse?"},
                 {"id": f"{i}n", "image": f"img{i}.jpg", "label": "no", "response": "No",
                  "prompt": "Is the man feeding the horse?"}]
    rows += [{"id": f"m{i}", "image": f"mc{i}.jpg", "metadata": {"label": "A"}, "response": "A",
              "prompt": "What is the man doing? A. riding B. feeding C. x D. y"}
             for i in range(12)]
    path = tmp_path / "rows.jsonl"

    def run(metric, out):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return audit(path, metrics=[metric], out=tmp_path / out,
                     write_report=False).metrics["reefknot"].results
    results = run(ReefknotMetric(n_boot=1000), "a")
    _assert_no_variation(results, none=["hallucination_rate"],
                   every=["accuracy", "yes_accuracy", "no_accuracy", "pairwise_accuracy",
                          "multichoice_accuracy"],
                   units={"accuracy": 24, "hallucination_rate": 24})
    yes = results["yes_rate"]
    size = SIZES_ON_12[24]
    assert yes.value == 0.5 and yes.ci_method == "korn-graubard"
    assert yes.ci == pytest.approx(clopper_pearson(size / 2, size), abs=1e-6)
    assert yes.ci == pytest.approx((0.2783, 0.7217), abs=1e-4)
    rows[1]["response"] = "Yes"
    metric = ReefknotMetric(n_boot=1000)
    _assert_korn_graubard(metric, run(metric, "b"),
                           ["accuracy", "hallucination_rate", "yes_rate", "no_accuracy",
                            "pairwise_accuracy"])
