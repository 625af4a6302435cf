"""Fidelity of POPE against the original scorer's outputs, and the published question files.

The reference outputs (``shared/data/reference/pope``) were produced by RUCAIBox/POPE's
``evaluate.py`` on the synthetic answer sets in ``shared/data/pope/answers`` against the v3 random
question file. halluscope's ``original`` parser must reproduce every per-line prediction and every
number exactly. Skipped when the shared data folder is absent.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from halluscope.errors import AlignmentError
from halluscope.metrics.pope import (KNOWN_QUESTION_FILES, PopeMetric, load_questions,
                                     object_of, score_answers)
from halluscope.records import iter_records


def _shared_data() -> Path | None:
    env = os.environ.get("HALLUSCOPE_SHARED_DATA")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return path if (path / "pope").is_dir() and (path / "reference" / "pope").is_dir() else None


DATA = _shared_data()
pytestmark = pytest.mark.skipif(
    DATA is None, reason="shared data folder with pope/ and reference/pope/ not found (set "
                         "HALLUSCOPE_SHARED_DATA or place it at ../shared/data)")

ANSWER_SETS = ["a_clean", "b_verbose"]
PUBLISHED = {
    ("v1", "random"): ("POPE coco v1 (May 2023) random, 2,910 questions", 2910),
    ("v1", "popular"): ("POPE coco v1 (May 2023) popular, 3,000 questions", 3000),
    ("v1", "adversarial"): ("POPE coco v1 (May 2023) adversarial, 3,000 questions", 3000),
    ("v3", "random"): ("POPE coco v3 (Nov 2023) random, 3,000 questions", 3000),
    ("v3", "popular"): ("POPE coco v3 (Nov 2023) popular, 3,000 questions", 3000),
    ("v3", "adversarial"): ("POPE coco v3 (Nov 2023) adversarial, 3,000 questions", 3000),
}
REF_KEYS = {"TP": "tp", "FP": "fp", "TN": "tn", "FN": "fn", "Accuracy": "accuracy",
            "Precision": "precision", "Recall": "recall", "F1": "f1", "yes_ratio": "yes_ratio"}


def _answers(name: str) -> Path:
    return DATA / "pope" / "answers" / f"coco_pope_random__{name}.jsonl"


def _questions(version: str = "v3", split: str = "random") -> Path:
    return DATA / "pope" / "coco" / version / f"coco_pope_{split}.json"


def _reference(name: str) -> dict:
    import json
    return json.loads((DATA / "reference" / "pope" / f"coco_pope_random__{name}.json")
                      .read_text(encoding="utf-8"))


@pytest.mark.parametrize("align", ["auto", "order", "id"])
@pytest.mark.parametrize("name", ANSWER_SETS)
def test_original_parser_reproduces_the_reference_exactly(name, align):
    ref = _reference(name)
    result = score_answers(_answers(name), _questions(), parser="original", align=align)
    assert result["errors"] == []
    assert result["predictions"] == ref["predictions"]
    for ref_key, key in REF_KEYS.items():
        assert result["metrics"][key] == ref["metrics"][ref_key], key   # bit for bit
    assert result["metrics"]["n"] == ref["metrics"]["n_scored"]
    assert result["metrics"]["unknown_rate"] == 0.0
    assert result["info"]["questions"]["version"] == \
        "POPE coco v3 (Nov 2023) random, 3,000 questions"


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_streaming_metric_matches_the_reference_with_intervals(name):
    ref = _reference(name)["metrics"]
    metric = PopeMetric(_questions(), n_boot=200, seed=1)
    metric.begin([_answers(name)])
    for rec in iter_records(_answers(name)):
        metric.update(rec)
    metric.finish()
    summary = metric.compute()
    for ref_key, key in REF_KEYS.items():
        assert summary.results[key].value == ref[ref_key], key
    acc = summary.results["accuracy"]
    assert acc.ci[0] < acc.value < acc.ci[1]
    assert summary.groups["split:random"]["accuracy"].value == ref["Accuracy"]
    assert sum(r["tp"].value + r["fp"].value + r["tn"].value + r["fn"].value
               for g, r in summary.groups.items() if g.startswith("object:")) == 3000


def test_other_parsers_read_the_verbose_answers_differently():
    counts = {p: Counter(score_answers(_answers("b_verbose"), _questions(), parser=p)
                         ["predictions"])
              for p in ("original", "opera", "vlmevalkit", "lmms-eval", "strict")}
    assert counts["original"]["unknown"] == counts["opera"]["unknown"] == 0
    assert counts["vlmevalkit"]["unknown"] > 0 and counts["strict"]["unknown"] > 0
    assert counts["lmms-eval"]["unknown"] > counts["strict"]["unknown"]
    assert counts["opera"]["no"] > counts["original"]["no"]      # "NO" and n't count as no


def test_by_order_against_the_2910_question_file_is_refused():
    with pytest.raises(AlignmentError) as err:
        score_answers(_answers("a_clean"), _questions("v1"), align="order")
    msg = str(err.value)
    assert "3,000 answers (non-blank lines)" in msg and "has 2,910" in msg
    assert "POPE coco v1 (May 2023) random, 2,910 questions" in msg
    assert "mis-score" in msg
    metric = PopeMetric(_questions("v1"), align="order", n_boot=0)
    with pytest.raises(AlignmentError):
        metric.begin([_answers("b_verbose")])


def test_by_id_against_the_2910_question_file_scores_matching_ids_only():
    # the answers carry question_id, so 'auto' aligns by id: no AlignmentError
    loose = score_answers(_answers("a_clean"), _questions("v1"), align="auto",
                          check_questions=False)
    assert loose["info"]["aligned_by"] == {"id": 2910}
    assert loose["metrics"]["n"] == 2910
    missing = [e for e in loose["errors"] if e["field"] == "question_id"]
    assert len(loose["errors"]) == len(missing) == 90
    assert [e["line"] for e in missing] == list(range(2911, 3001))
    assert loose["predictions"][2910:] == [None] * 90
    # the same ids ask about different objects in v1 and v3: with the question check (the
    # default) 2,816 of the 2,910 answers with a known id ask another question; what would be
    # left to score is the chance overlap, so the run is refused (the wrong question file)
    with pytest.raises(AlignmentError) as err:
        score_answers(_answers("a_clean"), _questions("v1"), align="id")
    msg = str(err.value)
    assert "2,816 of 2,910 answers disagree with what" in msg
    assert "(question 2,816)" in msg and "POPE coco v1 (May 2023) random" in msg


def test_the_hash_table_recognises_all_six_published_files():
    assert len(KNOWN_QUESTION_FILES) == 6
    for (version, split), (label, n) in PUBLISHED.items():
        qs = load_questions(_questions(version, split))
        assert qs.version == label and qs.known
        assert len(qs) == n and qs.has_ids
        assert {q.split for q in qs.questions} == {split}
        assert all(object_of(q.text) for q in qs.questions)     # v1's "imange" typo included
    assert set(KNOWN_QUESTION_FILES.values()) == {label for label, _ in PUBLISHED.values()}


def test_v1_and_v3_random_disagree_by_id():
    v1, v3 = load_questions(_questions("v1")), load_questions(_questions("v3"))
    same = sum(1 for q in v1.questions
               if v3.questions[v3.by_id[q.question_id]].text == q.text.replace("imange", "image"))
    assert same < 200     # aligning v3 answers to v1 by id alone would mis-score most lines


def test_audit_pipeline_scores_pope_and_records_the_question_file():
    import halluscope
    result = halluscope.audit(_answers("b_verbose"), questions=_questions(), n_boot=50)
    ref = _reference("b_verbose")["metrics"]
    pope = result.metrics["pope"]
    assert {k: pope.results[key].value for k, key in REF_KEYS.items()} == \
        {k: ref[k] for k in REF_KEYS}
    assert result.runsheet["metrics"]["pope"]["questions"]["version"] == \
        "POPE coco v3 (Nov 2023) random, 3,000 questions"
    with pytest.raises(AlignmentError):
        halluscope.audit(_answers("b_verbose"), questions=_questions("v1"), pope_align="order",
                         n_boot=0)
