"""Benchmarks that align the i-th answer with the i-th question count answers, not lines: one
blank line moved every later answer onto the next question (Object HalBench, Reefknot's pairs,
MMHal-Bench's template) without a word."""

from __future__ import annotations

import json

import pytest

import halluscope
from tests.conftest import shared_data_dir


def _values(result, name):
    return {k: r.value for k, r in result.metrics[name].results.items()}


@pytest.mark.parametrize("metric", ["objhal", "reefknot"])
def test_a_blank_line_does_not_move_the_answers(tmp_path, metric):
    data = shared_data_dir()
    if data is None:
        pytest.skip("../shared/data is absent")
    ref = data / "reference" / metric / "answers"
    if metric == "objhal":
        lines = (ref / "objhal_answers.synth.jsonl").read_text().splitlines()[:20]
        kw = dict(questions=data / "objhal" / "questions_standin_300.jsonl",
                  gt_objects=ref / "gt_objects.json")
    else:
        lines = (ref / "YESNO.synth_answers.jsonl").read_text().splitlines()[:20]
        kw = dict(options={"reefknot_variant": "original"})
    plain, blank = tmp_path / "plain.jsonl", tmp_path / "blank.jsonl"
    plain.write_text("\n".join(lines) + "\n")
    blank.write_text(lines[0] + "\n\n" + "\n".join(lines[1:]) + "\n")
    a = halluscope.audit(plain, metrics=metric, out=tmp_path / "a", n_boot=0,
                         write_report=False, **kw)
    b = halluscope.audit(blank, metrics=metric, out=tmp_path / "b", n_boot=0,
                         write_report=False, **kw)
    assert json.dumps(_values(a, metric)) == json.dumps(_values(b, metric))


def test_position_counts_records_not_lines(tmp_path):
    from halluscope.metrics.positions import position
    from halluscope.records import iter_records
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "a", "caption": "x"}\n\n\n{"id": "b", "caption": "y"}\n'
                    '   \n{"id": "c", "caption": "z"}\n')
    assert [position(r) for r in iter_records(path)] == [0, 1, 2]


def test_vlmevalkit_tables_score_as_their_json_lines(tmp_path):
    """A VLMEvalKit .tsv moved 'index' into the record id only, and the HallusionBench
    vlmevalkit variant, which keys rows by it, skipped every row ('scored nothing')."""
    rows = [("VD_illusion_1_0_0_0", "Is the right circle the same size as the left one?", "Yes",
             "From the figure, the answer is yes."),
            ("VD_illusion_1_0_0_1", "Is the right circle larger than the left one?", "No",
             "Yes, it is larger."),
            ("VD_illusion_1_1_0_0", "Is the top line longer than the bottom one?", "No", "No.")]
    tsv = tmp_path / "preds.tsv"
    tsv.write_text("index\tcategory\tl2-category\tquestion\tanswer\tprediction\n" + "".join(
        f"{i}\tVD\tVD_illusion\t{q}\t{a}\t{p}\n" for i, q, a, p in rows))
    jsonl = tmp_path / "preds.jsonl"
    jsonl.write_text("".join(json.dumps({"index": i, "category": "VD", "l2-category":
                                         "VD_illusion", "question": q, "answer": a,
                                         "prediction": p}) + "\n" for i, q, a, p in rows))
    opts = dict(metrics="hallusionbench", options={"hallusionbench_variant": "vlmevalkit"},
                n_boot=0, write_report=False)
    a = halluscope.audit(tsv, out=tmp_path / "t", **opts)
    b = halluscope.audit(jsonl, out=tmp_path / "j", **opts)
    assert a.metrics["hallusionbench"].results["aacc"].value == pytest.approx(2 / 3)
    assert json.dumps(_values(a, "hallusionbench")) == json.dumps(_values(b, "hallusionbench"))
