"""Reefknot pairs that do not join a "yes" and a "no" question on one image are bad records with
file, line and reason, not scored: after one missing line every later pair did, and was scored
without a word. Labels that are not yes/no or an offered option letter, and rows without a label
(passed by without a word), are bad records too; the corrected choice reader gives no letter for
answers that do not give one clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import halluscope
from halluscope.errors import RecordError
from halluscope.metrics.reefknot import ReefknotMetric, pair_rows, read_choice
from halluscope.records import Record, Source

PROMPT = "What is the relation? A. into B. toward C. out D. near, please choose."

def _yn(image: str, label: str, response: str) -> dict:
    return {"image_id": image, "query_prompt": f"Is it so on {image}? Please answer yes or no.",
            "label": label, "response": response, "relation_type": "perception"}


def _audit(tmp_path: Path, rows: list[dict], variant: str = "original"):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = halluscope.audit(path, metrics="reefknot", out=tmp_path / variant, n_boot=0,
                              write_report=False, options={"reefknot_variant": variant})
    values = {k: r.value for k, r in result.metrics["reefknot"].results.items()}
    return values, [(e["line"], e["field"], e["message"]) for e in result.errors]


@pytest.mark.parametrize("variant", ["original", "corrected"])
def test_a_missing_line_costs_its_own_pair_only(tmp_path, variant):
    # image 1's "no" row is missing. Pairs: lines 2-3 (image 2: yes right, no right) and 4-5
    # (image 3: yes wrong, no right). Line 1 pairs with nothing: a bad record, not scored.
    # By position the pairs were 1-2 (yes/yes, two images) and 3-4 (no/yes).
    rows = [_yn("1", "yes", "Yes."), _yn("2", "yes", "Yes."), _yn("2", "no", "No."),
            _yn("3", "yes", "No."), _yn("3", "no", "No.")]
    values, errors = _audit(tmp_path, rows, variant)
    assert [(line, field) for line, field, _ in errors] == [(1, "label")]
    assert "expected the 'no' question on the same image (image 1)" in errors[0][2]
    assert "got line 2: label 'yes' on image 2" in errors[0][2]
    assert values["n_yes_no"] == 4 and values["accuracy"] == 3 / 4
    assert values["yes_accuracy"] == 1 / 2 and values["no_accuracy"] == 1.0
    assert values["pairwise_accuracy"] == 1 / 2


def test_a_pair_of_two_images_or_labels_the_wrong_way_round_is_not_scored(tmp_path):
    rows = [_yn("1", "no", "No."), _yn("1", "yes", "Yes."),        # no before yes
            _yn("2", "yes", "Yes."), _yn("3", "no", "No.")]        # two images
    values, errors = _audit(tmp_path, rows)
    assert [line for line, _, _ in errors] == [1, 2, 3, 4]
    assert "got no row before it" in errors[0][2]
    assert "got line 4: label 'no' on image 3" in errors[2][2]
    assert values["n_yes_no"] is None         # a count over no scored pair: no value, not 0


def test_records_in_memory_are_checked_as_they_come():
    metric = ReefknotMetric(n_boot=0)

    def rec(line, image, label):
        return Record(id=str(line), task="yes-no", image_id=image, response="Yes.",
                      label=label, source=Source("mem.jsonl", line))
    assert metric.update(rec(1, "1", "yes")).payload["pair_slot"] == 1
    with pytest.raises(RecordError, match=r"on the same image \(image 2\), found image 1"):
        metric.update(rec(2, "2", "no"))
    metric.update(rec(3, "3", "yes"))
    assert metric.update(rec(4, "3", "no")).payload["pair_slot"] == 2
    metric.finish()
    assert metric.compute().results["pairwise_accuracy"].n == 1
    assert metric.describe()["unpaired_yes_rows"] == 1          # line 1


def test_a_pair_whose_yes_row_has_no_answer_is_a_bad_record(tmp_path):
    rows = [_yn("1", "yes", "Yes."), _yn("1", "no", "No.")]
    del rows[0]["response"]
    values, errors = _audit(tmp_path, rows)
    assert [(line, field) for line, field, _ in errors] == [(1, "response"), (2, "label")]
    assert values["n_yes_no"] is None         # a count over no scored pair: no value, not 0


def test_pair_rows_by_hand():
    rows = [(0, 1, "yes", "a"), (1, 2, "no", "a"), (2, 3, "yes", "b"), (4, 5, "no", "b")]
    plan = pair_rows(rows)
    assert plan[0] == 1 and plan[1] == 2
    assert "got no further row" in plan[2] and "got no row before it" in plan[4]


def test_labels_are_yes_no_or_an_offered_option(tmp_path):
    base = {"image_id": "9", "query_prompt": PROMPT, "relation_type": "perception"}
    rows = [{**base, "label": "a", "response": "A"},           # a lower-case letter: option A
            {**base, "label": "E", "response": "E"},           # not among A-D
            {**base, "response": "A"},                         # no label
            {**base, "label": "B", "response": "toward"}]
    values, errors = _audit(tmp_path, rows, "corrected")
    assert [(line, field) for line, field, _ in errors] == [(2, "label"), (3, "label")]
    assert "offers (A, B, C, D), got 'E'" in errors[0][2]
    assert "expected a label" in errors[1][2]
    assert values["n_multichoice"] == 2 and values["multichoice_accuracy"] == 1.0


def test_corrected_choice_reader_needs_a_clear_letter():
    for answer in ("a dog walks toward the building.", "A or B", "B is wrong; A",
                   "A man walks toward it.", "I think C or D"):
        assert read_choice(answer, "corrected", PROMPT) is None, answer
    for answer, letter in (("d", "D"), ("(B)", "B"), ("B. toward", "B"), ("(C) out", "C"),
                           ("A: into", "A"), ("**B**", "B"), ("The correct answer is D.", "D"),
                           ("Answer: C", "C"), ("near", "D")):
        assert read_choice(answer, "corrected", PROMPT) == letter, answer
    # the original keeps reading the first character
    assert read_choice("a dog walks toward the building.", "original", PROMPT) == "A"
