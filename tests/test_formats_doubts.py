"""Doubts left by the hunt of peer input formats (test_formats_hunt.py), each a defect fixed
here: VLMEvalKit answers 1/0 read as yes/no in every dataset; ids written as floats ("1.0");
POPE splits of lmms-eval >= 0.4 logs pooled; a progress total counting a v0.1-v0.2 log's lines."""

from __future__ import annotations

from pathlib import Path

from halluscope.readers import iter_input_records, vlmevalkit_row


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
