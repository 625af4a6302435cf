"""A partial AMBER answer file (a `halluscope query --benchmark amber` run cut short, failed
requests, the first lines of a file) is said: each question type answered in part is named with
its count, in a warning and in the run sheet (`info.coverage`). It gave an AMBER score over the
answers it held with not a word that most of the benchmark's questions had none. A question type
with no answer at all is a part of AMBER not asked (AMBER's own query files ask the generative
half alone, or one discriminative dimension), and is not warned about."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import halluscope

ITEMS = [{"id": 1, "type": "generative", "truth": ["dog"], "hallu": ["cat"]},
         {"id": 2, "type": "generative", "truth": ["bear"], "hallu": ["dog"]},
         {"id": 3, "type": "discriminative-attribute-state", "truth": "yes"},
         {"id": 4, "type": "discriminative-hallucination", "truth": "no"},
         {"id": 5, "type": "discriminative-hallucination", "truth": "no"}]


def _audit(tmp_path: Path, rows: list[dict]):
    tmp_path.mkdir(exist_ok=True)
    ann = tmp_path / "annotations.json"
    ann.write_text(json.dumps(ITEMS))
    # AMBER's object and association words: the only nouns a description is scored on
    (tmp_path / "relation.json").write_text(json.dumps({"dog": [], "bear": [], "sofa": []}))
    src = tmp_path / "answers.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return halluscope.audit(src, metrics="amber", annotations=[ann], out=tmp_path / "o",
                            n_boot=0, write_report=False,
                            options={"amber_variant": "refined"})


def test_a_question_type_answered_in_part_is_said_and_counted(tmp_path, caplog):
    rows = [{"id": 1, "response": "A dog."}, {"id": 2, "response": "A bear."},
            {"id": 3, "error": "ServerError: boom", "model": None},     # a failed request
            {"id": 4, "response": "No"}]                              # 5 never asked
    with caplog.at_level(logging.WARNING):
        res = _audit(tmp_path, rows)
    said = " ".join(r.getMessage() for r in caplog.records if "no scored answer" in
                    r.getMessage())
    assert "discriminative-hallucination 1 of 2" in said, caplog.text
    assert "attribute-state" not in said and "generative" not in said
    cov = res.runsheet["metrics"]["amber"]["coverage"]
    assert cov == {"generative": {"answered": 2, "questions": 2},
                   "discriminative-attribute-state": {"answered": 0, "questions": 1},
                   "discriminative-hallucination": {"answered": 1, "questions": 2}}


def test_a_whole_file_and_a_whole_half_are_not_warned_about(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        _audit(tmp_path / "gen", [{"id": 1, "response": "A dog."},
                                  {"id": 2, "response": "A bear."}])
        _audit(tmp_path / "all", [{"id": 1, "response": "A dog."},
                                  {"id": 2, "response": "A bear."}, {"id": 3, "response": "Yes"},
                                  {"id": 4, "response": "No"}, {"id": 5, "response": "No"}])
    assert "no scored answer" not in caplog.text
