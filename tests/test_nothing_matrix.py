"""Every registered metric x every input where nothing is scorable x the engines.

The rule above all: a record without a model answer is never scored; a metric that scored
nothing says why (``results.json`` ``unscored``, naming the cause) and the audit exits 2; no
statistic takes a value from nothing (a rate or a count is null, never 0 or NaN); a bad record
is listed with its file and line; and a gate on the metric never passes on a missing value. Each metric is fed through the CLI with its companion files built
tiny in ``tmp_path``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from halluscope.cli import app

from halluscope.metrics.base import available_metrics, metric_class

COCO = ("COCO_val2014_000000000139.jpg", "COCO_val2014_000000000285.jpg")


@dataclass(frozen=True)
class Feed:
    """How one metric is fed: its companion arguments, a row of its kind (with its answer in
    ``response``), a row of another kind, and one cheap statistic to gate on."""

    args: Callable[[Path], list[str]]
    row: Callable[[int], dict]
    wrong: Callable[[int], dict]
    gate: str
    env: dict | None = None


def _yes_no(i: int) -> dict:
    return {"question_id": i + 1, "image": COCO[i % 2], "label": "yes" if i % 2 else "no",
            "prompt": "Is there a dog in the image?", "response": "Yes"}


def _caption(i: int) -> dict:
    return {"id": str(i + 1), "image": COCO[i % 2], "prompt": "Describe the image in detail.",
            "response": "A dog lies on a sofa beside a cup."}


def _gt(tmp: Path) -> Path:
    path = tmp / "gt_objects.json"
    path.write_text(json.dumps({"139": ["dog", "couch"], "285": ["bear"]}))
    return path


def _coco_annotations(tmp: Path) -> Path:
    path = tmp / "instances.json"
    path.write_text(json.dumps({
        "images": [{"id": 139, "file_name": COCO[0], "width": 640, "height": 480},
                   {"id": 285, "file_name": COCO[1], "width": 640, "height": 480}],
        "categories": [{"id": 18, "name": "dog"}, {"id": 23, "name": "bear"}],
        "annotations": [{"id": 1, "image_id": 139, "category_id": 18, "bbox": [1, 2, 30, 40],
                         "area": 1200, "iscrowd": 0},
                        {"id": 2, "image_id": 285, "category_id": 23, "bbox": [5, 5, 50, 50],
                         "area": 2500, "iscrowd": 0}]}))
    return path


def _amber_annotations(tmp: Path) -> list[str]:
    path = tmp / "annotations.json"
    path.write_text(json.dumps([
        {"id": 1, "type": "generative", "truth": ["dog", "sofa"], "hallu": ["cat"]},
        {"id": 2, "type": "generative", "truth": ["bear"], "hallu": ["dog"]}]))
    return ["--annotations", str(path)]


def _objhal_args(tmp: Path) -> list[str]:
    questions = tmp / "objhal_questions.jsonl"
    questions.write_text("".join(json.dumps({"question_id": i + 1, "image_id": int(c[-8:-4]),
                                             "text": "Describe the image in detail."}) + "\n"
                                 for i, c in enumerate(COCO)))
    return ["--gt-objects", str(_gt(tmp)), "--questions", str(questions)]


def _hb_row(i: int) -> dict:
    return {"category": "VD", "subcategory": "illusion", "visual_input": "1", "set_id": "0",
            "figure_id": "0", "question_id": str(i), "question": f"Is it so ({i})?",
            "gt_answer_details": "It is so.", "gt_answer": "1", "response": "Yes."}


def _mmhal_row(i: int) -> dict:
    return {"question_id": i, "image_id": f"img{i}", "question": "What is the dog doing?",
            "gt_answer": "Sleeping.", "image_content": ["dog", "sofa"],
            "question_type": "action", "response": "It sleeps."}


def _reefknot_row(i: int) -> dict:
    return {"image_id": f"img{i}", "query_prompt": "Is the dog on the sofa? Please answer yes "
            "or no.", "label": "yes", "relation_type": "perception", "response": "Yes"}


def _sample_row(i: int) -> dict:
    return {"id": f"q1#{i}", "prompt": "Is there a cat in the image?", "response": "Yes",
            "sample_of": "q1", "sample_index": i}


def _region_row(i: int) -> dict:
    return {"id": str(i + 1), "image": COCO[i % 2], "prompt": "Where is the dog?",
            "response": "<ref>dog</ref><box>[[1, 2, 31, 42]]</box>",
            "regions": [{"id": 1, "box": [1, 2, 31, 42], "label": "dog"}]}


def _page_row(i: int) -> dict:
    return {"id": str(i + 1), "document": "report.pdf", "prompt": "What did costs do?",
            "response": 'The report says "Costs fell." (p. 1)'}


_ANNOTATED = ["--coco-annotations"]
FEEDS: dict[str, Feed] = {
    "amber": Feed(_amber_annotations, lambda i: {"id": i + 1, "response": "A dog on a sofa."},
                  _yes_no, "amber.chair"),
    "chair": Feed(lambda t: ["--gt-objects", str(_gt(t))], _caption, _yes_no, "chair.chair_i"),
    "claims": Feed(lambda t: [*_ANNOTATED, str(_coco_annotations(t))], _caption, _sample_row,
                   "claims.hallucination_rate"),
    "consistency": Feed(lambda t: [], _sample_row, _caption, "consistency.self_consistency"),
    "faithscore": Feed(lambda t: [*_ANNOTATED, str(_coco_annotations(t))], _caption,
                       _sample_row, "faithscore.faithscore"),
    "hallusionbench": Feed(lambda t: ["--option", "hallusionbench_variant=vlmevalkit"],
                           _hb_row, _caption, "hallusionbench.qacc"),
    "mmhal": Feed(lambda t: ["--judge", "mmhal-gpt-4o-2024-08-06",
                             "--option", "judge_base_url=http://127.0.0.1:9/v1"],
                  _mmhal_row, _caption, "mmhal.average_score",
                  env={"OPENAI_API_KEY": "sk-test-never-sent"}),
    "objhal": Feed(_objhal_args, lambda i: {**_caption(i), "question_id": i + 1}, _yes_no,
                   "objhal.chairi"),
    "page": Feed(lambda t: [], _page_row, _yes_no, "page.citation_accuracy"),
    "pope": Feed(lambda t: [], _yes_no, _caption, "pope.f1"),
    "reefknot": Feed(lambda t: [], _reefknot_row, _caption, "reefknot.accuracy"),
    "region": Feed(lambda t: [*_ANNOTATED, str(_coco_annotations(t))], _region_row, _caption,
                   "region.precision"),
}

ANSWER_FIELDS = ("response", "answer", "prediction", "model_prediction", "text")


def _no_answer(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ANSWER_FIELDS}


# input kind -> (rows from the metric's feed, words one of the reasons must hold)
INPUTS: dict[str, tuple[Callable[[Feed], list[dict]], tuple[str, ...]]] = {
    "missing": (lambda f: [_no_answer(f.row(i)) for i in range(2)], ("answer",)),
    "null": (lambda f: [{**f.row(i), "response": None} for i in range(2)], ("got null",)),
    "error": (lambda f: [{**_no_answer(f.row(i)), "error": "HTTP 500: upstream down"}
                         for i in range(2)], ("'error'", "the model gave no answer")),
    "wrong_kind": (lambda f: [f.wrong(i) for i in range(2)], ()),
    "empty_file": (lambda f: [], ("the input holds no records",)),
}


def test_the_matrix_covers_every_registered_metric():
    assert sorted(FEEDS) == sorted(available_metrics())


def _audit(tmp: Path, name: str, rows: list[dict], *extra: str) -> tuple[int, str, dict | None]:
    """Run ``halluscope audit`` in-process (typer's runner: the spaCy pipelines load once per
    test process, which keeps the matrix fast); return (exit code, output, results.json)."""
    feed = FEEDS[name]
    src = tmp / "answers.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp / "out"
    args = ["audit", str(src), "--metric", name, *feed.args(tmp), "--out", str(out),
            "--no-report", "--bootstrap", "0", *extra]
    res = CliRunner().invoke(app, args, env=feed.env)
    text = " ".join(res.output.split())
    results = out / "results.json"
    return res.exit_code, text, json.loads(results.read_text()) if results.exists() else None


def _no_value_anywhere(name: str, stats: dict) -> None:
    """No statistic has a value from nothing: rates and counts are null (a count of 0 over
    nothing passed ``--fail-above pope.fp=0``), a count saying why."""
    for stat, entry in stats.items():
        if not isinstance(entry, dict) or "value" not in entry:
            continue
        value = entry["value"]
        assert value is None, f"{name}.{stat} has a value from nothing: {entry}"
        declared = (metric_class(name).statistics or {}).get(stat)
        if declared is not None and declared.count:
            assert "no scored item" in entry.get("why_no_value", ""), (name, stat, entry)


def _check_nothing(name: str, kind: str, tmp: Path, code: int, text: str,
                   results: dict | None, rows: list[dict]) -> None:
    assert code == 2, f"{name}/{kind}: exit {code}: {text[-600:]}"
    assert results is not None, f"{name}/{kind}: no results.json: {text[-600:]}"
    _no_value_anywhere(name, results["metrics"].get(name, {}))
    reasons = results["unscored"].get(name)
    assert reasons, f"{name}/{kind}: no 'scored nothing' reason: {results['unscored']}"
    assert f"{name} scored nothing" in text
    joined = " ".join(reasons)
    for word in INPUTS[kind][1]:
        assert word in joined, f"{name}/{kind}: reason does not name {word!r}: {reasons}"
    if rows:
        assert len(reasons) >= 2, f"{name}/{kind}: no cause beside the count: {reasons}"
        if kind != "wrong_kind":       # a record passed by is counted, not a bad record
            listed = {(Path(e["file"]).name, e["line"]) for e in results["errors"]}
            assert listed == {("answers.jsonl", i) for i in range(1, len(rows) + 1)}, \
                f"{name}/{kind}: bad records not listed by file and line: {results['errors']}"


_KNOWN: dict[tuple[str, str], str] = {}


_CELLS = [pytest.param(name, kind, id=f"{name}-{kind}", marks=[pytest.mark.xfail(
              strict=True, reason=_KNOWN[name, kind])] if (name, kind) in _KNOWN else [])
          for name in sorted(FEEDS) for kind in INPUTS]


@pytest.mark.parametrize(("name", "kind"), _CELLS)
def test_nothing_scorable_is_said_and_fails(tmp_path, name, kind):
    rows = INPUTS[kind][0](FEEDS[name])
    gate = FEEDS[name].gate
    flag = "--fail-above" if kind in ("null", "empty_file") else "--fail-below"
    threshold = "0.5"
    code, text, results = _audit(tmp_path, name, rows, flag, f"{gate}={threshold}")
    _check_nothing(name, kind, tmp_path, code, text, results, rows)
    # the gate is checked and fails on the missing value, never passes
    assert f"gate failed: {gate} has no value" in text, text[-600:]


@pytest.mark.parametrize("name", ["pope", "chair", "reefknot", "consistency"])
@pytest.mark.parametrize("kind", ["null", "error"])
def test_nothing_scorable_under_two_workers(tmp_path, name, kind):
    rows = INPUTS[kind][0](FEEDS[name]) * 2
    code, text, results = _audit(tmp_path, name, rows, "--workers", "2")
    _check_nothing(name, kind, tmp_path, code, text, results, rows)


def test_nothing_scorable_on_ray(tmp_path):
    """One cheap cell on Ray Data (a local instance): failed requests and null answers mixed."""
    pytest.importorskip("ray.data", reason="Ray Data is not installed")
    rows = INPUTS["error"][0](FEEDS["pope"]) + INPUTS["null"][0](FEEDS["pope"])
    code, text, results = _audit(tmp_path, "pope", rows, "--engine", "ray",
                                 "--fail-below", "pope.f1=0.5")
    _check_nothing("pope", "error", tmp_path, code, text, results, rows)
    assert "gate failed: pope.f1 has no value" in text
    assert any("'response'" in r or "answer" in r for r in results["unscored"]["pope"][2:])


def test_a_count_over_nothing_is_no_value_and_its_gate_fails(tmp_path):
    """POPE's tp/fp/tn/fn were 0 (n 0) when POPE scored nothing, in results.json, on the
    console and in ``result.summary``, and ``--fail-above pope.fp=0`` was met by that 0."""
    rows = INPUTS["null"][0](FEEDS["pope"])
    code, text, results = _audit(tmp_path, "pope", rows, "--fail-above", "pope.fp=0")
    assert code == 2
    for stat in ("tp", "fp", "tn", "fn"):
        entry = results["metrics"]["pope"][stat]
        assert entry["value"] is None and entry["n"] == 0, entry
        assert "a count over no scored item" in entry["why_no_value"]
    assert "gate failed: pope.fp has no value" in text and "a count over no scored item" in text
    assert "fp — scored nothing (below) 0" in text     # the console shows no number
    import halluscope
    res = halluscope.audit(records=rows, metrics=["pope"], n_boot=0, write_report=False)
    assert res.summary["pope.fp"] is None


def test_a_count_over_scored_records_is_a_real_count_zero_included():
    """Only a count over no scored record has no value: 0 false positives over answers is 0."""
    from halluscope.metrics.stats import SumState, Statistic
    state = SumState(("tp", "fp"), n_boot=0)
    count = Statistic(lambda s: s["fp"], count=True)
    assert state.result("fp", count).value is None
    state.add((1.0, 0.0))
    res = state.result("fp", count)
    assert (res.value, res.n, res.why_no_value) == (0, 1, None)
