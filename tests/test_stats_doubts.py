"""Doubts the statistics hunt left: HallusionBench's own weight generator, consistency groups
that were their own clusters, and a table label that called too few clusters too few units."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from conftest import shared_data_dir
from halluscope.metrics.hallusionbench import hallusionbench_scores
from halluscope.metrics.hallusionbench_units import Unit
from halluscope.metrics.korn_graubard import korn_graubard_interval
from halluscope.metrics.stats import MIN_UNITS, ci_note_label

VILA = "hallusionbench/vlmevalkit"


def _sets(n_sets: int, seed: int = 0) -> list[Unit]:
    rng = random.Random(seed)
    return [Unit(cluster=f"VD_x_{s}", figure=f"VD_x_{s}_{f}", pair=f"VD_x_{s}_{q}",
                 correct=rng.random() < 0.6, groups=("VD",), cell=(str(f), str(q)))
            for s in range(n_sets) for f in range(2) for q in range(3)]


def test_hallusionbench_draws_the_documented_weights():
    """Each question set's weights are draws.py's, drawn from ``question_set:<set>`` and the
    seed (blake2b-keyed), as every other metric's unit; it drew them with sha256 + numpy."""
    from halluscope.metrics.draws import replicate_weights
    units = _sets(30, seed=4)
    got = hallusionbench_scores(units, n_boot=500, seed=7)["aacc"]
    sets = sorted({u.cluster for u in units})
    w = replicate_weights([f"question_set:{s}" for s in sets], 500, 7)
    ok = np.array([sum(bool(u.correct) for u in units if u.cluster == s) for s in sets], float)
    n = np.array([sum(1 for u in units if u.cluster == s) for s in sets], float)
    # aAcc is a proportion: Korn-Graubard's interval, its design effect read from these weights
    # (it was their percentile interval until the few-events change)
    want, _ = korn_graubard_interval(ok.sum() / n.sum(), int(n.sum()), (w @ ok) / (w @ n),
                                     len(sets))
    assert got.ci == pytest.approx(want, abs=1e-12), (got.ci, want)
    assert got.ci_method == "korn-graubard"


def _vila_rows(model: str, path):
    data = shared_data_dir(f"{VILA}/{model}_HallusionBench_auxmatch.jsonl")
    if data is None:
        pytest.skip("shared HallusionBench data not found (../shared/data)")
    folder = data / VILA
    preds = {}
    for line in (folder / f"{model}_HallusionBench_auxmatch.jsonl").read_text().splitlines():
        row = json.loads(line)
        preds[row["index"]] = row["prediction"]
    rows = []
    for line in (folder / "HallusionBench_vlmevalkit_951.jsonl").read_text().splitlines():
        row = json.loads(line)
        row["prediction"] = preds[row["index"]]
        rows.append(row)
    return rows


def _write(rows, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _hb(path, out, **kw):
    from halluscope.api import audit
    audit(path, out=out, metrics="hallusionbench", n_boot=300, write_report=False,
          options={"hallusionbench_variant": "vlmevalkit"}, **kw)
    return json.loads((out / "results.json").read_text())["metrics"]["hallusionbench"]


def _intervals(metric: dict) -> dict:
    out = {k: (v["value"], v.get("ci")) for k, v in metric.items()
           if isinstance(v, dict) and "value" in v}
    for g, res in metric.get("groups", {}).items():
        out.update({f"{k}@{g}": (v["value"], v.get("ci")) for k, v in res.items()})
    return out


def test_hallusionbench_intervals_the_same_for_workers_and_order(tmp_path):
    """--workers 1 and 2 and the lines shuffled give the same numbers to the last digit, and
    results.json says how it resampled (info.bootstrap, as every metric's)."""
    rows = _vila_rows("vila_13b", tmp_path)
    one = _hb(_write(rows, tmp_path / "a" / "rows.jsonl"), tmp_path / "one")
    boot = one["info"]["bootstrap"]
    assert boot == {"n_boot": 300, "cluster_by": "question_set", "clusters": boot["clusters"],
                    "min_units": MIN_UNITS}
    assert 100 < boot["clusters"] < 951          # question sets, not questions
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    shuffled_path = _write(shuffled, tmp_path / "s" / "rows.jsonl")
    two = _hb(shuffled_path, tmp_path / "two", workers=2)
    assert _intervals(one) == _intervals(two)
    assert one["aacc"]["ci"] is not None


def test_hallusionbench_intervals_the_same_on_ray(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason="ray is not installed")
    pytest.importorskip("ray.data", reason="Ray Data is not installed")
    from halluscope import ray_engine
    monkeypatch.setattr(ray_engine, "MIN_BLOCK", 50)
    path = _write(_vila_rows("vila_13b", tmp_path), tmp_path / "a" / "rows.jsonl")
    local = _hb(path, tmp_path / "local")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = _hb(path, tmp_path / "ray", engine="ray", workers=2)
    finally:
        ray.shutdown()
    assert _intervals(local) == _intervals(on_ray)


def test_compare_pairs_hallusionbench_questions_by_question_set(tmp_path):
    """compare left HallusionBench out ("its statistics cannot be recomputed"): aAcc is a sum
    over questions, paired by question and resampled by question set; each side's value is
    the audit's own."""
    from halluscope.comparison import compare
    runs, audits = [], []
    for model in ("vila_13b", "vila_8b"):
        path = _write(_vila_rows(model, tmp_path), tmp_path / model / "rows.jsonl")
        audits.append(_hb(path, tmp_path / f"out-{model}"))
        runs.append(tmp_path / f"out-{model}")
    items = [json.loads(line) for line in
             (runs[0] / "items.jsonl").read_text().splitlines()]
    assert all(it["scores"]["hallusionbench"]["unit"].startswith("question_set:")
               for it in items)
    cmp = compare(runs, n_boot=300)
    entry = cmp.metrics["hallusionbench.aacc"]
    assert entry["n_paired"] == 951
    assert entry["a"] == pytest.approx(audits[0]["aacc"]["value"], abs=1e-12)
    assert entry["b"] == pytest.approx(audits[1]["aacc"]["value"], abs=1e-12)
    assert entry["clusters"] == audits[0]["info"]["bootstrap"]["clusters"]
    assert entry["ci"] is not None and entry["ci"][0] <= entry["diff"] <= entry["ci"][1]
    same = compare([runs[0], runs[0]], n_boot=300).metrics["hallusionbench.aacc"]
    assert same["diff"] == 0.0 and same["ci"] is None, same    # zero width: bounds nothing
    assert same["ci_note"].startswith("no interval: zero width"), same


def _prompts_on_images(n_images: int, prompts: int, models=("A",)) -> list[dict]:
    """Several prompts about each image, each sampled three times; half the prompts of each
    image get answers that disagree."""
    return [{"id": f"{m}-{i}-{p}-{s}", "model": m, "task": "yes-no",
             "prompt": f"Is there a dog? {p}", "image": f"img-{i}.jpg",
             "response": "yes" if (p % 2 == 0 or s == 0 or (i % 3 == 0 and p % 4 == 1))
             else "no",
             "metadata": {"sample_of": f"i{i}p{p}", "sample_index": s}}
            for m in models for i in range(n_images) for p in range(prompts) for s in range(3)]


def test_consistency_groups_cluster_by_image():
    """Four prompts about each of 3 images: 12 groups, but 3 images. The groups were each
    their own cluster, so an interval was read from 12 'independent' units; clustered by
    image, as the README says, 3 clusters hold them: no interval."""
    from halluscope.api import audit
    res = audit(records=_prompts_on_images(3, 4), metrics="consistency", n_boot=200)
    r = res.get("consistency.self_consistent_rate")
    assert r.n == 12 and r.value == 7 / 12
    assert r.ci is None and r.ci_note == "no interval: 3 clusters resampled, fewer than 10"
    assert r.clusters == 3


def test_consistency_clusters_by_image_keep_models_apart():
    """Two models on the same 12 images: each model's groups are its own (never pooled), and
    both models' groups on one image are one cluster (as two models' POPE answers are)."""
    from halluscope.api import audit
    res = audit(records=_prompts_on_images(12, 2, models=("A", "B")), metrics="consistency",
                n_boot=200)
    r = res.get("consistency.self_consistent_rate")
    assert r.n == 48 and r.clusters == 12 and r.ci is not None, r
    assert res.get("consistency.self_consistent_rate@model:A").n == 24


def test_table_label_says_clusters_when_it_is_clusters():
    assert ci_note_label("no interval: 2 clusters hold its units, fewer than 10") \
        == "too few clusters"
    assert ci_note_label("no interval: 3 clusters resampled, fewer than 10") \
        == "too few clusters"
    assert ci_note_label("no interval: the units lie in 4 clusters resampled, fewer than 10") \
        == "too few clusters"
    assert ci_note_label("no interval: 40 paired items in 3 clusters, fewer than 10") \
        == "too few clusters"
    assert ci_note_label("no interval: 6 paired items in 3 clusters, fewer than 10") \
        == "too few units"
    assert ci_note_label("no interval: n=6 units, fewer than 10") == "too few units"
    assert ci_note_label("no interval: n=3 units in A, n=40 in B, fewer than 10") \
        == "too few units"
