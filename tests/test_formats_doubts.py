"""Doubts left by the hunt of peer input formats (test_formats_hunt.py), each a defect fixed
here: VLMEvalKit answers 1/0 read as yes/no in every dataset; ids written as floats ("1.0");
POPE splits of lmms-eval >= 0.4 logs pooled; a progress total counting a v0.1-v0.2 log's lines."""

from __future__ import annotations

import json
from pathlib import Path

from halluscope.readers import count_input_records, iter_input_records, vlmevalkit_row


def _tsv(path: Path, rows: list[tuple[str, ...]]) -> Path:
    path.write_text("".join("\t".join(r) + "\n" for r in rows))
    return path


# -- 1. VLMEvalKit answers 1/0 -----------------------------------------------------------------
def test_a_vlmevalkit_answer_of_1_or_0_is_no_yes_no_label(tmp_path):
    """VLMEvalKit scores ``answer == extracted`` (Yes/No/Unknown: image_yorn.py), so no dataset
    of its has a truth 1/0 read as yes/no; a counting dataset's answers 0 and 1 became labels,
    made the rows yes-no items, and POPE could be inferred from them."""
    path = _tsv(tmp_path / "model_CountBench.tsv", [
        ("index", "question", "answer", "prediction", "category"),
        ("0", "How many dogs are there?", "1", "1", "count"),
        ("1", "How many cats are there?", "0", "2", "count"),
        ("2", "Is there a cat?", "Yes", "No", "existence")])
    recs = list(iter_input_records(path))
    assert [r.label for r in recs] == [None, None, "yes"]
    assert [r.metadata.get("answer") for r in recs[:2]] == ["1", "0"]
    assert [r.task for r in recs[:2]] == ["vqa", "vqa"]
    assert "label" not in vlmevalkit_row({"index": 3, "answer": 1, "prediction": "1"})


def test_hallusionbench_rows_keep_their_1_or_0_truth():
    row = vlmevalkit_row({"index": "VD_illusion_1_0_0_0", "question": "Is it?", "answer": "1",
                          "prediction": "Yes", "l2-category": "VD_illusion"})
    assert row["label"] == "yes"
    row = vlmevalkit_row({"index": 4, "answer": 0, "prediction": "No", "figure_id": 1})
    assert row["label"] == "no"


# -- 4. the progress total of an lmms-eval v0.1-v0.2 <task>.json --------------------------------
def _v02_log(path: Path, n: int) -> Path:
    samples = [{"doc_id": i, "doc": {"question_id": str(i), "question": "Is there a dog?",
                                     "answer": "yes", "category": "adversarial"},
                "target": "yes", "arguments": [["Is there a dog?", {"max_new_tokens": 8}]],
                "resps": [["Yes"]], "filtered_resps": ["Yes"]} for i in range(n)]
    path.write_text(json.dumps({"args": {"tasks": "pope_adv"}, "model_configs": {},
                                "logs": samples, "time": "0123_1456"}, indent=4))
    return path


def test_a_v02_task_json_counts_its_samples_not_its_lines(tmp_path):
    """count_input_records (the progress bar's total, by-order alignment checks) counted the
    non-blank lines of a v0.1-v0.2 ``<task>.json`` written with indent=4: ~30 per sample."""
    path = _v02_log(tmp_path / "pope_adv.json", 3)
    assert len(list(iter_input_records(path))) == 3
    assert count_input_records(path) == 3
    assert count_input_records(path, "lmms-eval") == 3
