"""Benchmark rows that are not what the benchmark's scorer reads are listed with file, line and
field and the rest is scored (they stopped the run, or were passed by without a word); rows that
repeat a question are scored as the original scores them, and counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import halluscope
from halluscope.errors import RecordError
from halluscope.evidence.amber import AmberData
from halluscope.metrics.amber import AmberMetric
from halluscope.metrics.mmhal import MMHalMetric
from halluscope.records import iter_records, record_from_dict

ITEMS = {1: {"type": "discriminative-existence", "truth": "yes"},
         2: {"type": "discriminative-existence", "truth": "no"},
         3: {"type": "discriminative-existence", "truth": "no"}}


def _amber() -> AmberMetric:
    return AmberMetric(AmberData(path=Path("annotations.json"), items=ITEMS), variant="original",
                       n_boot=0)


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_an_amber_id_outside_the_annotations_is_a_bad_record():
    """AMBER's inference.py indexes its ground truth by id; an id it does not hold was counted
    as 'not scored' (no selected metric applies) and never listed."""
    m = _amber()
    rec = record_from_dict({"id": 999999, "response": "Yes"}, file="r.jsonl", line=4)
    assert m.applies_to(rec)
    with pytest.raises(RecordError) as info:
        m.score(rec)
    err = info.value
    assert (err.location.file, err.location.line, err.location.field) == ("r.jsonl", 4, "id")
    assert "one of the annotations' 3 AMBER items (1 to 3), got 999999" in err.message
    assert not m.applies_to(record_from_dict({"response": "Yes"}))        # no id at all
    assert "no AMBER id" in m.skip_reason(record_from_dict({"response": "Yes"}))


def test_repeated_amber_ids_are_scored_and_counted_across_workers(caplog):
    """inference.py scores every row it is given, a repeated id too: so does the original
    variant, and the repeats are counted (also when two workers saw the two copies)."""
    rows = [{"id": 1, "response": "Yes"}, {"id": 2, "response": "Yes"},
            {"id": 1, "response": "No"}, {"id": 3, "response": "No"}]
    whole = _amber()
    for i, r in enumerate(rows, 1):
        whole.update(record_from_dict(r, line=i))
    whole.finish()
    summary = whole.compute()
    assert summary.results["n_discriminative"].value == 4
    assert summary.info["repeated_answers"] == 1
    assert "1 answer repeats an AMBER id already answered" in caplog.text
    a, b = _amber(), _amber()
    for i, r in enumerate(rows, 1):
        (a if i % 2 else b).update(record_from_dict(r, line=i))
    b.merge(a)                                   # a holds rows 1 and 3: id 1 twice
    assert b._repeats.count == 1
    a2, b2 = _amber(), _amber()
    a2.update(record_from_dict(rows[0], line=1))
    b2.update(record_from_dict(rows[2], line=3))
    a2.merge(b2)                                 # the two copies of id 1 in two workers
    assert a2._repeats.count == 1
    assert "repeated_answers" not in _amber().compute().info


VK = [("VD_illusion_1_0_0_0", "Yes", "From the figure, the answer is yes."),
      ("VD_illusion_1_0_0_1", "No", "Yes, it is larger."),
      ("VD_illusion_1_1_0_0", "No", "No.")]


def _vk_rows(rows=VK) -> list[dict]:
    return [{"index": i, "category": "VD", "l2-category": "VD_illusion",
             "question": "Is it so?", "answer": a, "prediction": p} for i, a, p in rows]


def _hb(path: Path, out: Path):
    return halluscope.audit(path, metrics="hallusionbench", out=out, n_boot=0,
                            write_report=False, options={"hallusionbench_variant": "vlmevalkit"})


def test_a_vlmevalkit_row_without_prediction_is_listed_and_the_rest_scored(tmp_path):
    """Without 'prediction', the truth in 'answer' was read as the model's answer and the run
    stopped: "expected the row's answer Yes or No, got None"."""
    rows = _vk_rows()
    del rows[1]["prediction"]
    rows[2]["index"] = "VD_illusion_1_1_0"                  # five parts, not six
    result = _hb(_jsonl(tmp_path / "vk.jsonl", rows), tmp_path / "o")
    assert [(e["line"], e["field"]) for e in result.errors] == [(2, "prediction"), (3, "index")]
    assert "expected the model's answer in 'prediction'" in result.errors[0]["message"]
    assert result.metrics["hallusionbench"].results["aacc"].value == 1.0     # row 1 alone


def test_a_repeated_hallusionbench_question_is_scored_and_counted(tmp_path):
    rows = _vk_rows() + _vk_rows(VK[1:2])
    result = _hb(_jsonl(tmp_path / "vk.jsonl", rows), tmp_path / "o")
    assert result.metrics["hallusionbench"].results["aacc"].value == pytest.approx(2 / 4)
    assert result.runsheet["metrics"]["hallusionbench"]["repeated_answers"] == 1
    items = (tmp_path / "o" / "items.jsonl").read_text()
    assert "_seen" not in items                               # bookkeeping stays out
    two = halluscope.audit(tmp_path / "vk.jsonl", metrics="hallusionbench", out=tmp_path / "w",
                           n_boot=0, write_report=False, workers=2,
                           options={"hallusionbench_variant": "vlmevalkit"})
    assert two.runsheet["metrics"]["hallusionbench"]["repeated_answers"] == 1


def test_visual_input_tells_hallusionbench_questions_apart(tmp_path):
    """A VS question is asked with and without its figure: same set, figure and question ids,
    another visual input. That is not a repeat."""
    rows = _vk_rows([("VS_chart_0_0_0_0", "Yes", "Yes"), ("VS_chart_1_0_0_0", "Yes", "Yes")])
    result = _hb(_jsonl(tmp_path / "vs.jsonl", rows), tmp_path / "o")
    assert "repeated_answers" not in result.runsheet["metrics"]["hallusionbench"]


class _NoJudge:
    def ask_sync(self, *a, **kw):                 # never reached by the rows tested here
        raise AssertionError("the judge was asked")


def test_an_mmhal_answer_past_the_template_is_a_bad_record(tmp_path):
    """The template has one row per question; an extra answer stopped the whole run."""
    template = [{"question": "q1", "image_content": ["dog"], "gt_answer": "a dog"}]
    m = MMHalMetric(judge=_NoJudge(), template=template, variant="refined", n_boot=0)
    path = _jsonl(tmp_path / "a.jsonl", [{"response": "A dog."}, {"response": "A cat."}])
    second = list(iter_records(path))[1]
    assert m.applies_to(second)
    with pytest.raises(RecordError) as info:
        m.update(second)          # (update, as the engines, locates what score raises)
    assert (info.value.location.line, info.value.location.field) == (2, "response")
    assert "expected at most 1 answers" in info.value.message


def test_the_vlmevalkit_rule_scores_hallusionbench_rows_as_query_writes_them(tmp_path):
    """`halluscope query --benchmark hallusionbench` writes HallusionBench's own rows
    (category, ..., gt_answer 1/0), and the vlmevalkit variant, which needs no judge, scored
    none of them ("not a hallusionbench item"): the README's workflow ended there."""
    vk = _vk_rows(VK + [("VS_chart_2_0_0_1", "No", "No, it is not."),
                        ("VS_chart_1_0_0_1", "No", "Yes")])
    for r in vk:                                 # VLMEvalKit's category columns of each row
        r["category"], r["l2-category"] = r["index"].split("_")[0], "_".join(
            r["index"].split("_")[:2])
    own = []
    for r in vk:
        cat, sub, visual, set_id, fig, qid = r["index"].split("_")
        own.append({"category": cat, "subcategory": sub, "visual_input": visual,
                    "set_id": set_id, "figure_id": fig, "question_id": qid,
                    "question": r["question"], "gt_answer": "1" if r["answer"] == "Yes" else "0",
                    "id": f"{cat}_{sub}_{set_id}_{fig}_{qid}", "prompt": r["question"],
                    "response": r["prediction"]})
    a = _hb(_jsonl(tmp_path / "vk.jsonl", vk), tmp_path / "a")
    b = _hb(_jsonl(tmp_path / "own.jsonl", own), tmp_path / "b")
    values = {k: r.value for k, r in a.metrics["hallusionbench"].results.items()}
    assert values == {k: r.value for k, r in b.metrics["hallusionbench"].results.items()}
    assert values["aacc"] == pytest.approx(3 / 5) and not b.errors


def test_the_vlmevalkit_rule_leaves_out_imageless_rows_and_names_a_bad_truth(tmp_path):
    """VLMEvalKit's HallusionBench has no image-less question (visual_input 0: its 951 rows
    against the benchmark's 1,129); its variant scored them from HallusionBench's own rows and
    gave other numbers under VLMEvalKit's name. A truth that is not Yes/No was reported as a
    row without a model answer only."""
    rows = [{"category": "VS", "subcategory": "chart", "visual_input": v, "set_id": "0",
             "figure_id": f, "question_id": "0", "question": "Is it so?", "gt_answer": "1",
             "id": f"VS_chart_0_{f}_0_{v}", "response": answer}
            for v, f, answer in (("1", "1", "Yes"), ("2", "2", "No"), ("0", "0", "No"))]
    res = _hb(_jsonl(tmp_path / "own.jsonl", rows), tmp_path / "a")
    aacc = res.metrics["hallusionbench"].results["aacc"]
    assert (aacc.value, aacc.n) == (0.5, 2) and not res.errors
    assert res.n_skipped == 1
    from halluscope.metrics.hallusionbench import HallusionBenchMetric
    from halluscope.records import iter_records
    imageless = list(iter_records(tmp_path / "own.jsonl"))[2]
    assert "image-less question" in HallusionBenchMetric(variant="vlmevalkit").skip_reason(
        imageless)
    vk = [{"index": "VD_illusion_1_0_0_0", "category": "VD", "l2-category": "VD_illusion",
           "question": "q?", "answer": "Yes", "prediction": "Yes"},
          {"index": "VD_illusion_1_0_0_1", "category": "VD", "l2-category": "VD_illusion",
           "question": "q?", "answer": "maybe", "prediction": "No"}]
    res = _hb(_jsonl(tmp_path / "vk.jsonl", vk), tmp_path / "b")
    assert [e["line"] for e in res.errors] == [2]
    assert res.errors[0]["field"] == "answer"
    assert "expected VLMEvalKit's truth Yes or No in 'answer', got 'maybe'" in res.errors[0][
        "message"]


class _Unreadable:
    """A judge whose every answer holds no rating the original can read."""

    def __init__(self):
        from halluscope.judges.reliability import JudgeStats
        self.stats = JudgeStats()

    def ask_sync(self, use, **values):
        from halluscope.judges.judge import JudgeAnswer
        return JudgeAnswer(None, "I would rather not rate this.", False)

    def describe(self):
        return {"name": "stub"}

    def close(self):
        pass


def test_mmhal_original_with_no_readable_rating_decided_nothing(tmp_path):
    """The original reads an answer without a rating as 0: with every answer so, it reported
    average_score 0.0 and hallucination_rate 1.0, exit 0, without a word."""
    rows = [{"id": f"m{i}", "image": "x.jpg", "prompt": "What is it?", "response": "A dog.",
             "metadata": {"image_content": ["dog"], "gt_answer": "A dog."}} for i in range(3)]
    metric = MMHalMetric(judge=_Unreadable(), variant="original", n_boot=0)
    result = halluscope.audit(records=rows, metrics=[metric], out=tmp_path / "o",
                              write_report=False)
    assert "every one of the 3 judge answers had no rating" in result.unscored["mmhal"][0]
