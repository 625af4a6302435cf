"""AMBER reads its own records and passes another benchmark's by: a POPE line whose
``question_id`` is a whole number was read as that AMBER item (its COCO image, its label and its
POPE question never looked at) and scored; an AMBER record whose id is off is a bad record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from halluscope.cli import app
from halluscope.errors import RecordError
from halluscope.evidence.amber import AmberData
from halluscope.metrics.amber import AmberMetric
from halluscope.metrics.amber_records import (NOT_AMBER_IMAGE, OTHER_LABEL, OTHER_QUESTION,
                                              POPE_QUESTION, YES_NO_ON_DESCRIPTION, foreign)
from halluscope.records import record_from_dict

ITEMS = {1: {"id": 1, "type": "generative", "truth": ["dog", "sofa"], "hallu": ["cat"]},
         2: {"id": 2, "type": "generative", "truth": ["bear"], "hallu": ["dog"]},
         1005: {"id": 1005, "type": "discriminative-attribute-state", "truth": "yes"},
         1006: {"id": 1006, "type": "discriminative-hallucination", "truth": "no"}}
QUERIES = {1: {"id": 1, "image": "AMBER_1.jpg", "query": "Describe this image."},
           2: {"id": 2, "image": "AMBER_2.jpg", "query": "Describe this image."},
           1005: {"id": 1005, "image": "AMBER_1.jpg", "query": "Is the sky sunny in this image?"},
           1006: {"id": 1006, "image": "AMBER_2.jpg", "query": "Is there a cat in this image?"}}
COCO = "COCO_val2014_000000000139.jpg"
POPE = {"question_id": 1, "image": COCO, "label": "no", "prompt": "Is there a dog in the image?",
        "response": "Yes"}


def _metric(queries: bool = True) -> AmberMetric:
    return AmberMetric(AmberData(path=Path("annotations.json"), items=ITEMS,
                                 queries=dict(QUERIES) if queries else {},
                                 association={"dog": [], "sofa": [], "cat": [], "bear": []}),
                       variant="refined", n_boot=0)


def _rec(row: dict, line: int = 1):
    return record_from_dict(row, file="answers.jsonl", line=line)


@pytest.mark.parametrize("queries", [True, False])
@pytest.mark.parametrize(("row", "reason"), [
    (POPE, NOT_AMBER_IMAGE),                                         # the matrix's POPE line
    ({**POPE, "question_id": "q7"}, NOT_AMBER_IMAGE),                # no AMBER id either
    ({"question_id": 2, "label": "yes", "response": "No"}, YES_NO_ON_DESCRIPTION),
    ({"question_id": 1, "prompt": "Is there a dog in the image?", "text": "No"},
     YES_NO_ON_DESCRIPTION),
    ({"question_id": 1005, "label": "no", "response": "No"}, OTHER_LABEL),
    ({"id": 3, "benchmark": "pope@3", "response": "Yes"}, "its 'benchmark' is 'pope'"),
])
def test_another_benchmarks_record_is_passed_by_with_its_reason(row, reason, queries):
    m = _metric(queries)
    rec = _rec(row)
    assert not m.applies_to(rec)
    assert m.refusal(rec) is None                   # passed by, never a bad record of AMBER's
    assert reason in m.skip_reason(rec)
    assert m.skip_reason(rec).startswith("another benchmark's record")


def test_a_pope_question_on_a_yes_no_id_is_passed_by_with_or_without_amber_queries():
    """No image, no label: only the question says it is POPE's (AMBER asks 'in this image?');
    with AMBER's query file the question is compared with the id's own."""
    row = {"question_id": 1006, "prompt": "Is there a cat in the image?", "text": "No"}
    assert foreign(_rec(row), _metric(False).data) == POPE_QUESTION
    assert foreign(_rec(row), _metric(True).data) == OTHER_QUESTION
    other = {"question_id": 1006, "prompt": "Is the cat asleep?", "text": "No"}
    assert foreign(_rec(other), _metric(True).data) == OTHER_QUESTION
    assert foreign(_rec(other), _metric(False).data) is None     # nothing says it is not


@pytest.mark.parametrize("row", [
    {"id": 1, "response": "A dog on a sofa."},                       # AMBER's own format
    {"id": 1005, "response": "Yes"},
    {"question_id": 1005, "prompt": "<image>\nIs the sky sunny in this image? Answer yes or no.",
     "text": "Yes"},                                                  # LLaVA-style answer file
    {"id": 1005, "image": "/data/amber/AMBER_1.jpg", "query": "Is the sky sunny in this image?",
     "prompt": "Is the sky sunny in this image?", "benchmark": "amber@1", "response": "Yes"},
    {"id": 1006, "label": "no", "prompt": "Is there a cat in this image?", "response": "No"},
    {"image": "AMBER_2.jpg", "prompt": "Describe this image.", "response": "A bear."},
    {"id": 1, "image": COCO, "metadata": {"amber_id": 1}, "response": "A dog."},  # said so
    {"id": 1005, "image": COCO, "benchmark": "amber", "response": "Yes"},
])
@pytest.mark.parametrize("queries", [True, False])
def test_amber_records_are_still_read_and_scored(row, queries):
    m = _metric(queries)
    rec = _rec(row)
    assert m.applies_to(rec), m.skip_reason(rec)
    m.update(rec)
    assert m.compute().results["n_generative"].value + \
        m.compute().results["n_discriminative"].value == 1


@pytest.mark.parametrize(("row", "field", "words"), [
    # AMBER's wording, another id's question: the id is off (listed, not passed by)
    ({"id": 1005, "prompt": "Is there a cat in this image?", "response": "No"}, "id",
     "expected its question 'Is the sky sunny in this image?' for AMBER item 1005"),
    ({"id": 1, "prompt": "Is the sky sunny in this image?", "response": "No"}, "id",
     "expected a description for AMBER item 1"),
    ({"id": 1006, "image": "AMBER_1.jpg", "response": "No"}, "image",
     "expected AMBER item 1006's image AMBER_2.jpg, got AMBER_1.jpg"),
])
def test_an_amber_record_whose_id_is_off_is_a_bad_record(row, field, words):
    m = _metric(True)
    rec = _rec(row, line=4)
    assert m.applies_to(rec)
    with pytest.raises(RecordError) as info:
        m.score(rec)
    err = info.value
    assert words in err.message
    assert (err.location.file, err.location.line, err.location.field) == \
        ("answers.jsonl", 4, field)


def test_a_description_id_off_is_found_without_the_query_file_too():
    with pytest.raises(RecordError, match="expected a description for AMBER item 2"):
        _metric(False).score(_rec({"id": 2, "prompt": "Is there a cat in this image?",
                                   "response": "No"}))


def test_a_mixed_file_scores_the_amber_records_and_counts_the_others(tmp_path):
    """Through the CLI: AMBER's answers scored, POPE's lines passed by, each named with its
    reason in items.jsonl, their count in results.json and on the console."""
    ann = tmp_path / "annotations.json"
    ann.write_text(json.dumps([{"id": i, **{k: v for k, v in it.items() if k != "id"}}
                               for i, it in ITEMS.items()]))
    (tmp_path / "relation.json").write_text(json.dumps({w: [] for w in ("dog", "sofa", "cat")}))
    rows = [{"id": 1, "response": "A dog on a sofa."}, {"id": 1005, "response": "Yes"},
            POPE, {**POPE, "question_id": 2, "image": "COCO_val2014_000000000285.jpg"}]
    src = tmp_path / "answers.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(src), "--metric", "amber", "--annotations",
                                   str(ann), "--out", str(out), "--no-report", "--bootstrap",
                                   "0", "--option", "amber_variant=refined"])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    assert (results["n_items"], results["n_skipped"], results["n_errors"]) == (4, 2, 0)
    amber = results["metrics"]["amber"]
    assert (amber["n_generative"]["value"], amber["n_discriminative"]["value"]) == (1, 1)
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert [("skipped" in i) for i in items] == [False, False, True, True]
    assert all(NOT_AMBER_IMAGE in i["skipped"] for i in items[2:])
    assert "2 not scored" in " ".join(res.output.split())
