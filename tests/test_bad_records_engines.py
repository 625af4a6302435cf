"""Bad records are reported the same whatever runs the audit: one process, ``--workers 2`` and
``--engine ray`` list the same file, line, field and reason for each, in the same order, and
write the same ``items.jsonl``, for the metrics the sample audit of ``tests/test_ray_engine.py``
does not cover (its bad lines are CHAIR's, POPE's and the claims'): AMBER, HallusionBench,
Object HalBench and MMHal-Bench (the last with a loopback judge). Each input mixes a reader's
bad lines (invalid JSON, no answer, an answer that is no string) with the metric's own (an id
outside the benchmark, an image of another row, a truth that is neither 1 nor 0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from halluscope.api import audit
from replay_judge_server import ReplayServer
from test_hallusionbench_array_workers import hb_rows
from test_mmhal_objhal_user import _EveryPrompt, _mmhal_files, _objhal_files
from test_workers import amber_fixture, comparable

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'halluscope[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed")


def _lines(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _amber(tmp: Path) -> tuple[list[Path], dict]:
    answers = amber_fixture(tmp / "amber")
    good = answers.read_text().splitlines()
    _lines(answers, good + [{"id": 9999, "task": "caption", "response": "A dog."},
                            {"id": 2, "task": "yes-no", "prompt": "Is there a car?"}, "xx",
                            {"id": "abc", "task": "yes-no", "prompt": "Is it?", "response": "Yes"}]
           + good)
    return [answers], dict(metrics="amber", annotations=[tmp / "amber" / "annotations.json"])


def _hallusionbench(tmp: Path) -> tuple[list[Path], dict]:
    rows = hb_rows(4)
    rows[3].pop("model_prediction")
    rows[7]["gt_answer"] = "maybe"
    rows[11]["model_prediction"] = 42
    rows[15].pop("set_id")
    answers = _lines(tmp / "hb.jsonl", rows[:20] + ["{oops"] + rows[20:])
    return [answers], dict(metrics="hallusionbench",
                           options={"hallusionbench_variant": "vlmevalkit"})


def _objhal(tmp: Path) -> tuple[list[Path], dict]:
    answers, questions, gt = _objhal_files(tmp, 12)
    rows = [json.loads(line) for line in answers.read_text().splitlines()]
    rows[3]["image_id"] = 5555
    rows[6].pop("text")
    rows[9]["text"] = 17
    _lines(answers, rows[:8] + ["nope"] + rows[8:])
    return [answers], dict(metrics="objhal", gt_objects=gt, questions=questions)


def _mmhal(tmp: Path) -> tuple[list[Path], dict]:
    answers, template = _mmhal_files(tmp)
    rows = [json.loads(line) for line in answers.read_text().splitlines()]
    template_rows = json.loads(template.read_text())
    rows = rows + [{**rows[0], "image_id": template_rows[2]["image_id"]},   # another row's image
                   {k: v for k, v in rows[1].items() if k != "text"}, "{bad",
                   {"question_id": 99, "prompt": "What?", "text": "x"}] + rows
    _lines(answers, rows)
    return [answers], dict(metrics="mmhal", judge="mmhal-gpt-4-0314",
                           options={"mmhal_template": str(template)})


@pytest.mark.slow
@pytest.mark.parametrize("inputs, bad", [(_amber, 4), (_hallusionbench, 5), (_objhal, 4),
                                        (_mmhal, 4)],
                         ids=["amber", "hallusionbench", "objhal", "mmhal"])
def test_bad_records_are_the_same_on_every_engine(tmp_path, local_ray, monkeypatch, inputs, bad):
    from conftest import shared_data_dir
    nltk = shared_data_dir("nltk")
    if nltk is not None:
        monkeypatch.setenv("NLTK_DATA", str(nltk / "nltk"))
    files, opts = inputs(tmp_path)
    outs = {}
    with ReplayServer(_EveryPrompt("Fine.\nRating: 4"), model="gpt-4-0314") as judge:
        if opts.get("judge"):
            opts["options"] = {**opts["options"], "judge_base_url": judge.url}
        for how, engine in (("one", dict(workers=1)), ("two", dict(workers=2)),
                            ("ray", dict(engine="ray", workers=2))):
            audit(files, out=tmp_path / how, n_boot=50, write_report=False,
                  cache_dir=tmp_path / f"cache-{how}", **engine, **opts)   # each asks the judge
            outs[how] = comparable(tmp_path / how)
            for metric in outs[how][0]["metrics"].values():     # (the cache's path differs)
                metric.get("info", {}).get("judge", {}).pop("cache", None)
    errors = outs["one"][0]["errors"]
    assert len(errors) == bad, errors
    assert all(e["file"] and e["line"] and e["message"] for e in errors)
    assert [e["line"] for e in errors] == sorted(e["line"] for e in errors)
    for how in ("two", "ray"):
        assert outs[how][0]["errors"] == errors, how
        assert outs[how][1] == outs["one"][1], how      # items.jsonl, in the same order
        assert outs[how] == outs["one"], how
