"""Clustered bootstrap intervals, n as the units a statistic is over, groups by record field."""

import json

import pytest

from halluscope.metrics.base import unit_of
from halluscope.metrics.stats import MIN_UNITS, replicate_weights
from halluscope.api import audit
from halluscope.records import record_from_dict


def _pope_rows(n_images=40, per_image=6):
    """A model that is right on every question of even images and wrong on every question of
    odd ones: answers within an image are perfectly correlated."""
    rows = []
    for img in range(1, n_images + 1):
        for q in range(per_image):
            label = "yes" if q % 2 == 0 else "no"
            right = img % 2 == 0
            answer = label if right else ("no" if label == "yes" else "yes")
            rows.append({"question_id": f"{img}-{q}", "image_id": img, "label": label,
                         "prompt": "Is there a dog in the image?", "response": answer,
                         "model": "m-a" if img <= n_images // 2 else "m-b"})
    return rows


def test_clustered_interval_is_wider_than_the_naive_one_on_pope():
    rows = _pope_rows()
    clustered = audit(records=rows, metrics="pope", n_boot=400)
    naive = audit(records=rows, metrics="pope", n_boot=400, cluster_by="item")
    c, n = clustered.get("pope.accuracy"), naive.get("pope.accuracy")
    assert c.value == n.value == 0.5
    width_c, width_n = c.ci[1] - c.ci[0], n.ci[1] - n.ci[0]
    # 40 independent images vs 240 "independent" questions: about sqrt(6) wider
    assert width_c > 1.8 * width_n
    assert c.clusters == 40 and n.clusters == 240
    info = clustered.metrics["pope"].info["bootstrap"]
    assert info["cluster_by"] == "image" and info["clusters"] == 40


def test_pope_answers_without_images_cluster_by_the_question_files_image(tmp_path):
    """POPE answer files (LLaVA's, the original's) carry only question_id and text: the image
    comes from the aligned question, and the bootstrap resamples images, not questions."""
    rows = _pope_rows()
    questions = tmp_path / "coco_pope_random.json"
    questions.write_text("".join(json.dumps(
        {"question_id": r["question_id"], "image": f"COCO_val2014_{r['image_id']:012d}.jpg",
         "text": r["prompt"], "label": r["label"]}) + "\n" for r in rows))
    answers = [{"question_id": r["question_id"], "prompt": r["prompt"], "text": r["response"]}
               for r in rows]
    clustered = audit(records=answers, metrics="pope", questions=questions, n_boot=400)
    naive = audit(records=answers, metrics="pope", questions=questions, n_boot=400,
                  cluster_by="item")
    c, n = clustered.get("pope.accuracy"), naive.get("pope.accuracy")
    assert c.value == n.value == 0.5
    assert c.clusters == 40 and n.clusters == 240
    assert c.ci[1] - c.ci[0] > 1.8 * (n.ci[1] - n.ci[0])


def test_groups_by_model_and_by_any_field():
    rows = _pope_rows()
    res = audit(records=rows, metrics="pope", n_boot=0)
    # m-a has images 1..20 (10 right), m-b images 21..40 (10 right)
    assert res.get("pope.accuracy@model:m-a").value == 0.5
    assert res.get("pope.accuracy@model:m-a").n == 120
    for r in rows:
        r["metadata"] = {"shard": "even" if r["image_id"] % 2 == 0 else "odd"}
    res = audit(records=rows, metrics="pope", n_boot=0, by=["shard"])
    assert res.get("pope.accuracy@shard:even").value == 1.0
    assert res.get("pope.accuracy@shard:odd").value == 0.0


def test_tiny_samples_are_flagged_not_printed_as_a_point():
    rows = _pope_rows(n_images=1, per_image=6)
    res = audit(records=rows, metrics="pope", n_boot=200)
    acc = res.get("pope.accuracy")
    assert acc.ci is None and acc.n == 6
    assert acc.ci_note == f"no interval: n=6 units, fewer than {MIN_UNITS}"
    assert "ci_note" in acc.to_dict() and "ci" not in acc.to_dict()


def test_replicate_weights_of_units_depend_on_identity_only():
    w1 = replicate_weights(["image:1", "image:2", "image:1"], 50, seed=3)
    w2 = replicate_weights(["image:2", "image:1"], 50, seed=3)
    assert (w1[:, 0] == w1[:, 2]).all() and (w1[:, 0] == w2[:, 1]).all()
    assert not (replicate_weights(["image:1"], 50, seed=4) == w1[:, :1]).all()


def test_unit_of_defaults_to_the_image():
    rec = record_from_dict({"question_id": "7", "image_id": 139, "label": "yes",
                            "prompt": "Is there a dog?", "response": "yes"})
    assert unit_of(rec) == "image:139"
    assert unit_of(rec, "item").startswith("item:7")
    rec2 = record_from_dict({"id": "x", "response": "a dog", "metadata": {"scene": "park"}})
    assert unit_of(rec2) == "item:x|"
    assert unit_of(rec2, "scene") == 'scene:"park"'


def test_items_carry_rows_units_and_groups(tmp_path):
    audit(records=_pope_rows(n_images=2), metrics="pope", n_boot=0, out=tmp_path)
    item = json.loads((tmp_path / "items.jsonl").read_text().splitlines()[0])
    score = item["scores"]["pope"]
    assert score["unit"] == "image:1" and "model:m-a" in score["groups"]
    assert len(score["row"]) == 6


def test_to_pandas_metrics_per_group_and_integer_ids(tmp_path):
    rows = _pope_rows(n_images=12)
    for i, r in enumerate(rows):
        r["id"] = str(i + 1)
    res = audit(records=rows, metrics="pope", n_boot=0, out=tmp_path)
    frame = res.to_pandas("metrics")
    acc = frame[(frame.statistic == "accuracy") & (frame.group == "model:m-a")]
    assert len(acc) == 1 and acc.value.iloc[0] == 0.5 and acc.n.iloc[0] == 36
    items = res.to_pandas()
    assert str(items["id"].dtype) == "int64" and items["id"].iloc[0] == 1
    assert str(items["image_id"].dtype) == "int64"
    assert "report.html" in res._repr_html_()


@pytest.mark.parametrize("ids", [["007", "7", "0007"], ["²", "1", "2"],
                                 ["12345678901234567890", "1", "2"]])
def test_ids_that_are_no_plain_integers_stay_text(tmp_path, ids):
    """'007', '7' and '0007' all became 7; '²' and a 20-digit id made to_pandas raise."""
    rows = _pope_rows(n_images=1)[:3]
    for r, i in zip(rows, ids):
        r["id"] = i
    res = audit(records=rows, metrics="pope", n_boot=0, out=tmp_path)
    assert list(res.to_pandas()["id"]) == ids


def test_unit_of_an_id_seen_before_is_the_items_identity():
    """Two logs of the same images (or one id repeated in a file) are other items, not one
    cluster: ``--cluster-by item`` gave n=1000 but 500 clusters. The first record of an id keeps
    its plain key (the weights of an input without repeats are unchanged)."""
    seen: dict[str, int] = {}
    a = record_from_dict({"id": "x", "response": "a dog"}, file="a/cap.jsonl", line=3)
    b = record_from_dict({"id": "x", "response": "a cat"}, file="b/other.jsonl", line=3)
    c = record_from_dict({"id": "x", "response": "a cow"}, file="c/other.jsonl", line=3)
    assert unit_of(a, "item", seen) == "item:x|" == unit_of(a, "item")
    assert unit_of(b, "item", seen) == "item@other.jsonl:3:x|"
    assert unit_of(c, "item", seen) == "item@other.jsonl:3:x|#1"    # same name, other folder
    assert unit_of(b, "image", {}) == "item:x|"          # no image: the item, first seen


@pytest.mark.parametrize("path", ["columns", "records"])
def test_cluster_by_item_counts_each_item_of_repeated_ids(tmp_path, monkeypatch, path):
    if path == "records":       # POPE over flat files is scored as columns; force the lines
        monkeypatch.setattr("halluscope.pipeline.score_columns", lambda *a, **k: None)
    rows = [{"question_id": str(i), "label": "yes" if i % 2 else "no", "response": "yes"}
            for i in range(30)]
    files = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        files.append(tmp_path / name / f"{name}.jsonl")
        files[-1].write_text("".join(json.dumps(r) + "\n" for r in rows))
    one = audit(files[0], metrics="pope", n_boot=200, cluster_by="item", out=tmp_path / "o1")
    units = [json.loads(x)["scores"]["pope"]["unit"]
             for x in (tmp_path / "o1" / "items.jsonl").read_text().splitlines()]
    assert units == [f"item:{i}|{i}" for i in range(30)]     # the keys they always had
    two = audit(files, metrics="pope", n_boot=200, cluster_by="item", out=tmp_path / "o2")
    units = [json.loads(x)["scores"]["pope"]["unit"]
             for x in (tmp_path / "o2" / "items.jsonl").read_text().splitlines()]
    assert units[30:] == [f"item@b.jsonl:{i + 1}:{i}|{i}" for i in range(30)]
    r = two.get("pope.accuracy")
    assert (r.n, r.clusters) == (60, 60) and one.get("pope.accuracy").clusters == 30
    if path == "records":       # the units are found where the outcomes are folded: any engine
        again = audit(files, metrics="pope", n_boot=200, cluster_by="item", workers=2,
                      out=tmp_path / "w2")
        assert again.get("pope.accuracy").ci == r.ci
        assert (tmp_path / "w2" / "items.jsonl").read_text() == \
            (tmp_path / "o2" / "items.jsonl").read_text()
