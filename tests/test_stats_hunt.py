"""Statistics bug hunt: intervals that the README promises are never read from too little."""

from __future__ import annotations

import random
from dataclasses import replace

from halluscope.metrics.hallusionbench import hallusionbench_scores
from halluscope.metrics.hallusionbench_units import Unit
from halluscope.metrics.stats import MIN_UNITS


def _sets(n_sets: int, seed: int = 0) -> list[Unit]:
    """``n_sets`` HallusionBench question sets, each 2 figures x 3 questions."""
    rng = random.Random(seed)
    return [Unit(cluster=f"VD_x_{s}", figure=f"VD_x_{s}_{f}", pair=f"VD_x_{s}_{q}",
                 correct=rng.random() < 0.6, groups=("VD",), cell=(str(f), str(q)))
            for s in range(n_sets) for f in range(2) for q in range(3)]


def test_hallusionbench_gives_no_interval_over_fewer_than_ten_question_sets():
    """Three question sets (18 questions, 6 figures, 9 pairs): every other metric refuses an
    interval over fewer than 10 clusters; HallusionBench printed [0.333, 0.333] for qAcc."""
    scores = hallusionbench_scores(_sets(3), n_boot=1000)
    for name in ("aacc", "facc", "qacc"):
        r = scores[name]
        assert r.ci is None, (name, r.ci)
        assert r.ci_note == f"no interval: 3 clusters resampled, fewer than {MIN_UNITS}" \
            or r.ci_note.startswith("no interval: n="), (name, r.ci_note)
        assert r.clusters == 3
    assert scores["facc"].ci_note == f"no interval: n=6 units, fewer than {MIN_UNITS}"
    assert scores["aacc"].ci_note == f"no interval: 3 clusters resampled, fewer than {MIN_UNITS}"


def test_hallusionbench_counts_only_the_sets_a_statistic_is_over():
    """fAcc over figures of 2 sets only (the other sets' figures are incomplete): 12 sets
    resampled, but the interval of fAcc rests on 2 of them."""
    units = _sets(12)
    keep = {"VD_x_0", "VD_x_1"}
    # the other sets lack (figure 0, question 0) and (figure 1, question 1): both their
    # figures are incomplete (left out of fAcc), their pair of question 2 is not
    units = [u for u in units if u.cluster in keep or u.cell not in (("0", "0"), ("1", "1"))]
    # ... and every answer they keep is right: an incomplete figure holding a wrong answer is
    # determined wrong and counted in refined (tests/test_hb_partial.py); these stay undetermined
    units = [u if u.cluster in keep else replace(u, correct=True) for u in units]
    scores = hallusionbench_scores(units, n_boot=1000)
    assert scores["aacc"].ci is not None and scores["aacc"].clusters == 12
    facc = scores["facc"]
    assert facc.n == 4 and facc.ci is None and facc.clusters == 2, (facc.ci, facc.clusters)
    assert scores["qacc"].clusters == 12


def _pope_rows(yes: set[int], n_images: int = 40) -> list[dict]:
    """Six questions per image, alternate labels; the model says yes only to questions ``yes``
    (by position), no to the rest."""
    rows = []
    for img in range(n_images):
        for q in range(6):
            i = 6 * img + q
            rows.append({"question_id": f"{img}-{q}", "image_id": img,
                         "label": "yes" if (img + q) % 2 == 0 else "no",
                         "prompt": "Is there a dog in the image?",
                         "response": "yes" if i in yes else "no"})
    return rows


def test_compare_gives_no_interval_where_a_side_is_over_fewer_than_ten_units(tmp_path):
    """Precision over 3 and 4 yes answers: each audit refuses its interval (n=3, n=4 units),
    yet compare printed B - A in [-0.75, +0.50] because it counted 240 paired *questions*."""
    from halluscope.api import audit
    from halluscope.comparison import compare
    runs = []
    for name, yes in (("a", {0, 7, 13}), ("b", {0, 7, 22, 30})):
        res = audit(records=_pope_rows(yes), metrics="pope", n_boot=1000, out=tmp_path / name,
                    write_report=False)
        assert res.get("pope.precision").ci is None          # the audit's own rule
        runs.append(tmp_path / name)
    cmp = compare(runs, n_boot=1000)
    precision = cmp.metrics["pope.precision"]
    assert precision["n_paired"] == 240
    assert precision["ci"] is None, precision["ci"]
    assert "fewer than 10" in precision["ci_note"], precision["ci_note"]
    assert cmp.metrics["pope.accuracy"]["ci"] is not None        # over 240 answers in 40 images


def test_compare_counts_only_the_clusters_a_statistic_is_over(tmp_path):
    """Twelve yes answers on two images: 12 units for precision, but all in 2 of 40 images; a
    percentile interval read from two resampled clusters is no 95% interval."""
    from halluscope.api import audit
    from halluscope.comparison import compare
    runs = []
    for name, extra in (("a", set()), ("b", {3})):
        yes = set(range(12)) - extra       # images 0 and 1 only
        audit(records=_pope_rows(yes), metrics="pope", n_boot=1000, out=tmp_path / name,
              write_report=False)
        runs.append(tmp_path / name)
    precision = compare(runs, n_boot=1000).metrics["pope.precision"]
    assert precision["ci"] is None, precision
    assert "2 clusters" in precision["ci_note"], precision["ci_note"]


def test_audit_counts_only_the_clusters_a_statistic_is_over(tmp_path):
    """Precision over twelve yes answers, all on 2 of 40 images: 12 units, 40 clusters
    resampled, yet the interval rests on 2 of them (a simulation with such sparse
    denominators covered 87% at a nominal 95%). No interval, and the note says why; accuracy,
    over every answer, keeps its interval. Both the record-by-record and the column paths."""
    import json

    from halluscope.api import audit
    rows = _pope_rows(set(range(12)))
    answers = tmp_path / "answers.jsonl"           # a flat answer file: scored as columns
    answers.write_text("".join(json.dumps({
        "question_id": r["question_id"], "image": f"COCO_val2014_{r['image_id']:012d}.jpg",
        "text": r["prompt"], "label": r["label"], "answer": r["response"]}) + "\n"
        for r in rows))
    for res in (audit(records=rows, metrics="pope", n_boot=1000),
                audit(answers, metrics="pope", n_boot=1000, out=tmp_path / "out",
                      write_report=False)):
        precision = res.get("pope.precision")
        assert precision.n == 12 and precision.ci is None, precision
        assert precision.ci_note == "no interval: 2 clusters hold its units, fewer than 10"
        assert res.get("pope.accuracy").ci is not None
    sheet = json.loads((tmp_path / "out" / "runsheet.json").read_text())
    assert sheet["execution"]["scored"] == "as columns (whole files)"


def test_sum_state_clusters_holding_units_merge_across_shards():
    """The clusters that hold a statistic's units are counted over shards (workers) as over one
    state, and a statistic over items counts every cluster."""
    import numpy as np

    from halluscope.metrics.stats import SumState, rate, ratio
    stat = rate(lambda s: ratio(s["h"], s["n"]), units="n")
    over_items = rate(lambda s: ratio(s["h"], s["items"]))
    x = np.array([[1.0, 3.0, 1.0] if i < 4 else [0.0, 0.0, 1.0] for i in range(30)])
    keys = [f"image:{i % 15}" for i in range(30)]      # units on images 0-3 only

    def state(idx):
        st = SumState(["h", "n", "items"], 200, seed=1)
        st.add_rows(x[idx], st.draw_weights([keys[i] for i in idx]), np.arange(len(idx)),
                    [keys[i] for i in idx])
        return st

    whole = state(list(range(30)))
    left, right = state(list(range(0, 30, 2))), state(list(range(1, 30, 2)))
    left.merge(right)
    for st in (whole, left):
        r = st.result("h", stat)
        assert r.n == 12 and r.ci is None and r.clusters == 15
        assert r.ci_note == "no interval: 4 clusters hold its units, fewer than 10"
        assert st.result("i", over_items).ci is not None


def _sampled(models: dict[str, str], prompts: int = 12, samples: int = 3) -> list[dict]:
    """``halluscope query --samples`` outputs of several models over the same prompts (the
    same ``sample_of`` ids): each model gives its one answer every time."""
    return [{"id": f"{m}-{p}-{s}", "model": m, "task": "yes-no", "prompt": f"Is there a dog? {p}",
             "response": answer, "image": f"{p}.jpg",
             "metadata": {"sample_of": f"p{p}", "sample_index": s}}
            for m, answer in models.items() for p in range(prompts) for s in range(samples)]


def test_self_consistency_never_pools_two_models_answers():
    """Model A always says yes, model B always no: each is perfectly self-consistent. Their
    logs share the prompts' sample_of ids, and the groups pooled both models' answers:
    self_consistent_rate 0.0, agreement 0.5 (an 'interval' [0.5, 0.5])."""
    from halluscope.api import audit
    res = audit(records=_sampled({"A": "yes", "B": "no"}), metrics="consistency", n_boot=200)
    assert res.get("consistency.self_consistent_rate").value == 1.0
    assert res.get("consistency.self_consistency").value == 1.0
    assert res.get("consistency.sample_groups").value == 24
    for model in ("A", "B"):                      # and each model's own numbers, as for others
        r = res.get(f"consistency.self_consistent_rate@model:{model}")
        assert r.value == 1.0 and r.n == 12


def test_consistency_keeps_why_an_interval_is_missing_and_its_bounds():
    """Five groups: no interval, and the result said nothing about why (ci_note, bounds and
    direction were dropped when the parts' results were renamed)."""
    from halluscope.api import audit
    res = audit(records=_sampled({"A": "yes"}, prompts=5), metrics="consistency", n_boot=200)
    r = res.get("consistency.self_consistent_rate")
    assert r.ci is None and r.ci_note == "no interval: n=5 units, fewer than 10", r
    assert r.bounds == (0.0, 1.0)
    assert res.get("consistency.sample_groups").direction is False


def test_consistency_groups_by_the_fields_asked_for():
    """``--by split`` reached the consistency wrapper, not the parts that fold the records:
    no split group was reported."""
    from halluscope.api import audit
    rows = [{"id": f"q{p}", "model": "A", "task": "yes-no", "prompt": f"Is there a dog? {p}",
             "image": f"{p}.jpg", "response": "yes",
             "metadata": {"split": "easy" if p < 6 else "hard",
                          "samples": ["yes", "yes" if p < 6 else "no"]}}
            for p in range(12)]
    res = audit(records=rows, metrics="consistency", n_boot=200, by=["split"])
    assert res.get("consistency.self_consistent_rate@split:easy").value == 1.0
    assert res.get("consistency.self_consistent_rate@split:hard").value == 0.0
