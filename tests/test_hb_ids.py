"""HallusionBench rows whose set, figure or question id is missing in all but name: a null id
was read as the text "None" and an empty one as "", and the row scored; every such row of a set
became one figure (or pair) named "None", and fAcc / qAcc counted it. An id holding "_" made the
names utils.py joins with "_" ambiguous (set "1_2" figure "3" is set "1" figure "2_3"), and
``compare`` split it back wrongly. VLMEvalKit's ``index`` with an empty part was read the same
way. Each is a bad record naming its field; so are a subcategory that is no text and a
visual_input other than 0, 1 or 2 (the benchmark has no other: a null one was taken for an
original figure)."""

from __future__ import annotations

import json

import pytest

from halluscope.errors import RecordError
from halluscope.metrics.hallusionbench import HallusionBenchMetric
from halluscope.records import iter_records

import halluscope


def _row(**kw) -> dict:
    row = {"category": "VD", "subcategory": "chart", "visual_input": "1", "set_id": "0",
           "figure_id": "0", "question_id": "0", "gt_answer": "1", "question": "Is it?",
           "gt_answer_details": "It is.", "model_prediction": "Yes"}
    row.update(kw)
    return row


BAD = [({"figure_id": None}, "figure_id"), ({"set_id": None}, "set_id"),
       ({"question_id": ""}, "question_id"), ({"figure_id": " "}, "figure_id"),
       ({"set_id": "1_2"}, "set_id"), ({"figure_id": 1.5}, "figure_id"),
       ({"figure_id": True}, "figure_id"), ({"figure_id": [1]}, "figure_id"),
       ({"visual_input": None}, "visual_input"), ({"visual_input": "3"}, "visual_input"),
       ({"subcategory": None}, "subcategory"), ({"subcategory": ["chart"]}, "subcategory")]


@pytest.mark.parametrize("variant", ["vlmevalkit", "refined"])
@pytest.mark.parametrize("change, field", BAD)
def test_an_id_that_names_nothing_is_a_bad_record(tmp_path, variant, change, field):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(_row(**change)) + "\n")
    record = next(iter(iter_records(path)))
    if isinstance(record, RecordError):     # an empty question_id: the reader refuses it,
        error = record                      # as it refuses any empty id
    else:
        metric = HallusionBenchMetric(variant=variant, judge=object(), n_boot=0)
        with pytest.raises(RecordError) as info:
            metric.score(record)
        error = info.value
    assert (error.location.line, error.location.field) == (1, field)


def test_whole_number_and_text_ids_are_read_as_before(tmp_path):
    path = tmp_path / "a.jsonl"
    rows = [_row(), _row(figure_id=1, set_id=0, question_id=0, visual_input=2),
            _row(figure_id="x")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = halluscope.audit(path, metrics="hallusionbench", n_boot=0, write_report=False,
                           options={"hallusionbench_variant": "vlmevalkit"})
    assert res.errors == []
    assert res.metrics["hallusionbench"].results["facc"].n == 3


def test_null_figure_ids_are_listed_not_pooled_into_one_figure(tmp_path):
    """Two rows of set 0 without a figure id (one right, one wrong) and a whole figure 1: they
    were one figure "None" (fAcc 1/2 over figures "None" and "1"); now they are bad records
    and fAcc is over figure 1 alone."""
    path = tmp_path / "a.jsonl"
    rows = [_row(figure_id=None), _row(figure_id=None, question_id="1", model_prediction="No"),
            _row(figure_id="1"), _row(figure_id="1", question_id="1", gt_answer="0",
                                      model_prediction="No")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = halluscope.audit(path, metrics="hallusionbench", n_boot=0, write_report=False,
                           options={"hallusionbench_variant": "vlmevalkit"})
    assert [(e["line"], e["field"]) for e in res.errors] == [(1, "figure_id"),
                                                             (2, "figure_id")]
    facc = res.metrics["hallusionbench"].results["facc"]
    assert (facc.value, facc.n) == (1.0, 1)


def test_an_index_with_an_empty_part_is_a_bad_record(tmp_path):
    path = tmp_path / "a.jsonl"
    rows = [{"index": "VD_chart_1_0__0", "l2-category": "VD_chart", "answer": "Yes",
             "prediction": "Yes", "question": "Is it?"},
            {"index": "VD_chart_1_0_0_0", "l2-category": "VD_chart", "answer": "Yes",
             "prediction": "Yes", "question": "Is it?"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = halluscope.audit(path, metrics="hallusionbench", n_boot=0, write_report=False,
                           options={"hallusionbench_variant": "vlmevalkit"})
    assert [(e["line"], e["field"]) for e in res.errors] == [(1, "index")]
