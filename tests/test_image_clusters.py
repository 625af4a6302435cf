"""Image clusters of records without an ``image_id``: an image path clusters the file it names
(resolved against its input's folder), not the string written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from halluscope.api import audit
from halluscope.metrics.stats import replicate_weights
from halluscope.metrics.units import ImageKeys, unit_of
from halluscope.records import Record, Source


def _answers(path: Path, images: list[str], prefix: str, shift: int = 0) -> Path:
    """Three yes/no questions per image; the model is right on every question of two images
    in three and wrong on the third (answers within an image are correlated)."""
    rows = []
    for k, image in enumerate(images):
        right = (k + shift) % 3 != 0
        for q in range(3):
            label = "yes" if q % 2 == 0 else "no"
            response = label if right else ("no" if label == "yes" else "yes")
            rows.append({"id": f"{prefix}-{k}-{q}", "image": image, "label": label,
                         "prompt": "Is there a dog in the image?", "response": response})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _units(result) -> dict[str, str]:
    return {item["id"]: item["scores"]["pope"]["unit"] for item in result.items}


NAMES = [f"img-{k}.jpg" for k in range(12)]      # not COCO-like: no image_id is read from them


def test_same_name_in_two_folders_is_two_clusters(tmp_path):
    """a/answers.jsonl and b/answers.jsonl both name img-0.jpg ... img-11.jpg: different files,
    24 clusters, not 12; a's keep the key they always had, b's are told apart."""
    a = _answers(tmp_path / "a" / "answers.jsonl", NAMES, "a")
    b = _answers(tmp_path / "b" / "answers.jsonl", NAMES, "b", shift=1)
    res = audit([a, b], metrics="pope", n_boot=200)
    acc = res.get("pope.accuracy")
    assert acc.n == 72 and acc.clusters == 24
    units = _units(res)
    assert units["a-0-0"] == units["a-0-2"] == "image:img-0.jpg"
    assert units["b-0-0"] == units["b-0-2"] == "image:img-0.jpg#1"
    assert len(set(units.values())) == 24
    # the two files' items draw different weights
    w = replicate_weights([units["a-0-0"], units["b-0-0"]], 200, seed=0)
    assert not (w[:, 0] == w[:, 1]).all()
    # the same folder named twice (two models' answers beside the same images) is one image
    c = _answers(tmp_path / "a" / "other.jsonl", NAMES, "c")
    res = audit([a, c], metrics="pope", n_boot=200)
    assert res.get("pope.accuracy").clusters == 12
    assert _units(res)["c-5-1"] == _units(res)["a-5-0"] == "image:img-5.jpg"


def test_one_file_spelled_two_ways_is_one_cluster(tmp_path):
    """'./imgs/0.jpg' and 'imgs/0.jpg' (and '../imgs/0.jpg' from a sub-folder) are one file."""
    root = _answers(tmp_path / "answers.jsonl",
                    [f"imgs/{n}" for n in NAMES] + [f"./imgs/{n}" for n in NAMES], "r")
    sub = _answers(tmp_path / "sub" / "answers.jsonl", [f"../imgs/{n}" for n in NAMES], "s")
    res = audit([root, sub], metrics="pope", n_boot=200)
    assert res.get("pope.accuracy").n == 108 and res.get("pope.accuracy").clusters == 12
    units = _units(res)
    assert units["r-0-0"] == units["r-12-0"] == units["s-0-0"] == "image:imgs/img-0.jpg"


def test_one_file_keeps_its_numbers(tmp_path):
    """An input whose image strings name distinct files keeps the key each always had (the
    string as written), so the weights and the interval are those of before (recorded from
    the tree before this change, n_boot=400: F1 0.6897, [0.4374, 0.8891], a percentile
    interval; accuracy 0.625 was [0.3683, 0.8574], its percentile interval, until proportions
    got Korn-Graubard's, read from the same weights: [0.3188, 0.8711])."""
    images = [f"./pics/{n}" for n in NAMES[:6]] + [f"pics/x/../{n}" for n in NAMES[6:]] + \
        ["https://example.org/a.jpg", "pics/b.jpg", "pics/c.jpg", "pics/d.jpg"]
    path = _answers(tmp_path / "answers.jsonl", images, "o")
    res = audit(path, metrics="pope", n_boot=400)
    units = _units(res)
    assert {units[f"o-{k}-0"] for k in range(len(images))} == {f"image:{i}" for i in images}
    acc = res.get("pope.accuracy")
    assert acc.clusters == 16
    assert acc.value == pytest.approx(0.625)
    assert acc.ci == pytest.approx(BEFORE_CI, abs=1e-12)
    assert acc.ci_method == "korn-graubard"
    assert res.get("pope.f1").ci == pytest.approx(BEFORE_F1_CI, abs=1e-12)


BEFORE_CI = (0.3188101045560152, 0.8711498127331034)
BEFORE_F1_CI = (0.4373733108108109, 0.8890804597701149)


def _comparable(out: Path) -> tuple[dict, list]:
    data = json.loads((out / "results.json").read_text())
    items = [{k: v for k, v in json.loads(line).items() if k != "source"}
             for line in (out / "items.jsonl").read_text().splitlines()]
    return data["metrics"], items


def test_one_and_two_workers_and_a_moved_folder_agree(tmp_path):
    """The keys are given in input order by the process that folds: one process and two
    workers agree; moving the inputs elsewhere changes no number (no folder in a key)."""
    inputs = tmp_path / "in"
    a = _answers(inputs / "a" / "answers.jsonl", NAMES, "a")
    b = _answers(inputs / "b" / "answers.jsonl", NAMES + ["./img-0.jpg"], "b", shift=1)
    outs = {}
    for n in (1, 2):
        audit([a, b], out=tmp_path / f"w{n}", workers=n, metrics="pope", n_boot=200,
              write_report=False)
        outs[n] = _comparable(tmp_path / f"w{n}")
    assert outs[1] == outs[2]
    assert outs[1][0]["pope"]["accuracy"]["ci"][0] < outs[1][0]["pope"]["accuracy"]["ci"][1]
    moved = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(inputs, moved)
    audit([moved / "a" / "answers.jsonl", moved / "b" / "answers.jsonl"], out=tmp_path / "m",
          metrics="pope", n_boot=200, write_report=False)
    assert _comparable(tmp_path / "m") == outs[1]


def _record(file: str | None, image: str, line: int = 1) -> Record:
    return Record(id=f"{file}:{line}", task="caption", image=image, source=Source(file, line))


def test_image_keys_in_input_order_and_merged():
    keys = ImageKeys()
    assert unit_of(_record("a/x.jsonl", "0.png"), images=keys) == "image:0.png"
    assert unit_of(_record("b/x.jsonl", "0.png"), images=keys) == "image:0.png#1"
    assert unit_of(_record("b/w.jsonl", "./0.png"), images=keys) == "image:0.png#1"
    assert unit_of(_record("a/y.jsonl", "sub/../0.png"), images=keys) == "image:0.png"
    assert unit_of(_record(None, "http://h/0.png"), images=keys) == "image:http://h/0.png"
    assert unit_of(_record("b/z.jsonl", "http://h/0.png"), images=keys) == "image:http://h/0.png"
    # a file literally named like another's key is not merged with it
    assert unit_of(_record("c/x.jsonl", "0.png#1"), images=keys) == "image:0.png#1#1"
    # without the state (no metric), the string as written, as always
    assert unit_of(_record("b/x.jsonl", "./0.png")) == "image:./0.png"
    other = ImageKeys()
    other.key(_record("d/x.jsonl", "1.png"), "1.png")
    keys.merge(other)
    assert keys.key(_record("d/q.jsonl", "1.png"), "1.png") == "image:1.png"
    assert keys.key(_record("e/q.jsonl", "1.png"), "1.png") == "image:1.png#1"


def test_ray_gives_the_one_process_clusters(tmp_path, monkeypatch):
    """On Ray the driver folds in input order too: the same keys, the same numbers."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'halluscope[ray]')")
    pytest.importorskip("ray.data", reason="Ray Data is not installed")
    from halluscope import ray_engine
    monkeypatch.setattr(ray_engine, "MIN_BLOCK", 2)      # several blocks, out of order
    a = _answers(tmp_path / "a" / "answers.jsonl", NAMES, "a")
    b = _answers(tmp_path / "b" / "answers.jsonl", NAMES + ["./img-0.jpg"], "b", shift=1)
    outs = {}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        for engine in ("local", "ray"):
            audit([a, b], out=tmp_path / engine, engine=engine,
                  workers=2 if engine == "ray" else 1, metrics="pope", n_boot=200,
                  write_report=False)
            outs[engine] = _comparable(tmp_path / engine)
    finally:
        ray.shutdown()
    assert outs["local"] == outs["ray"]
    assert outs["ray"][0]["pope"]["accuracy"]["clusters"] == 24
