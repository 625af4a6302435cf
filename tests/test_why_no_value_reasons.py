"""A statistic with no value says why as its formula sees it (POPE's precision with no yes
answer said "nothing it needs was scored": true, but not which part of TP/(TP+FP) was
missing). No value stays no value: only the reason changed."""

from __future__ import annotations

import json

import pytest

import halluscope
from halluscope.gates.assertions import HalluscopeAssertionError


def _pope(tmp_path, answer, label, n=20, prompt=None, n_boot=0, **kw):
    rows = [{"id": f"q{i}", "question_id": i, "image": f"{i}.jpg", "task": "yes-no",
             "prompt": prompt(i) if prompt else "Is there a cat in the image?",
             "label": label(i), "response": answer(i)} for i in range(n)]
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return halluscope.audit(path, metrics="pope", n_boot=n_boot, **kw)


def _why(result, stat, metric="pope"):
    res = result.metrics[metric].results[stat]
    assert res.value is None, f"{stat} = {res.value}: a number from nothing"
    return res.why_no_value


def test_pope_precision_with_every_answer_no_says_there_is_no_positive_prediction(tmp_path):
    result = _pope(tmp_path, lambda i: "No", lambda i: "yes" if i % 2 else "no")
    assert _why(result, "precision") == ("precision = TP/(TP+FP) has no positive predictions "
                                         "(0 of the 20 scored answers read as yes)")
    assert _why(result, "f1").startswith("f1 = 2PR/(P+R) has no value because precision = "
                                         "TP/(TP+FP) has no positive predictions")
    assert result.metrics["pope"].results["recall"].value == 0.0   # defined: TP/(TP+FN)=0/10
    with pytest.raises(HalluscopeAssertionError) as err:        # the gate says it too
        result.assert_above("pope.precision", 0.5)
    assert "precision = TP/(TP+FP) has no positive predictions" in str(err.value)
    assert "nothing it needs was scored" not in str(err.value)


def test_pope_recall_with_no_yes_label_says_there_is_no_positive_ground_truth(tmp_path):
    result = _pope(tmp_path, lambda i: "Yes" if i % 2 else "No", lambda i: "no")
    assert _why(result, "recall") == ("recall = TP/(TP+FN) has no positive ground truth (0 of "
                                      "the 20 scored questions labelled yes)")
    assert "because recall = TP/(TP+FN) has no positive ground truth" in _why(result, "f1")
    assert result.metrics["pope"].results["precision"].value == 0.0


def test_pope_f1_with_no_true_positive_is_zero_over_zero(tmp_path):
    """Precision 0 and recall 0 (each defined): the original's 2PR/(P+R) is 0/0."""
    result = _pope(tmp_path, lambda i: "Yes" if i % 2 == 0 else "No",
                   lambda i: "yes" if i % 2 else "no")
    assert _why(result, "f1") == ("f1 = 2PR/(P+R) is 0/0: precision and recall are both 0 (no "
                                  "true positive among the 10 yes answers and the 10 "
                                  "questions labelled yes)")


def test_pope_unknown_answers_are_said_beside_the_missing_yes(tmp_path):
    result = _pope(tmp_path, lambda i: "No" if i % 2 else "Maybe", lambda i: "yes",
                   pope_parser="strict")
    assert _why(result, "precision").endswith("(0 of the 20 scored answers read as yes; 10 "
                                              "as neither)")


def test_pope_shares_of_answers_with_nothing_scored_say_so(tmp_path):
    rows = [{"id": str(i), "image": f"{i}.jpg", "prompt": "Is there a cat in the image?",
             "response": "No"} for i in range(3)]           # no label: nothing scored
    result = halluscope.audit(records=rows, metrics="pope", n_boot=0)
    assert _why(result, "yes_ratio") == ("yes_ratio = yes answers/answers has nothing to "
                                         "divide by: no answer was scored")
    for stat in ("accuracy", "precision", "recall", "f1", "unknown_rate"):
        assert _why(result, stat).endswith("has nothing to divide by: no answer was scored")


@pytest.mark.parametrize("n_boot", [0, 200])
def test_a_pope_group_says_why_too(tmp_path, n_boot):
    result = _pope(tmp_path, lambda i: "No" if i < 10 else "Yes",
                   lambda i: "yes" if i % 2 else "no", n_boot=n_boot,
                   prompt=lambda i: f"Is there a {'cat' if i < 10 else 'dog'} in the image?")
    group = result.metrics["pope"].groups["object:cat"]
    assert group["precision"].value is None
    assert group["precision"].why_no_value == ("precision = TP/(TP+FP) has no positive "
                                               "predictions (0 of the 10 scored answers "
                                               "read as yes)")


def test_chair_i_with_no_mention_and_recall_with_no_ground_truth_say_which(tmp_path):
    caps = tmp_path / "c.jsonl"
    caps.write_text('{"image_id": 1, "caption": "Nothing here at all."}\n'
                    '{"image_id": 2, "caption": "A blank wall."}\n')
    gt = tmp_path / "gt.json"
    gt.write_text('{"1": [], "2": []}')
    result = halluscope.audit(caps, metrics="chair", gt_objects=gt, n_boot=0)
    assert _why(result, "chair_i", "chair") == (
        "CHAIR_i = hallucinated mentions/mentions has no mentions: the 2 scored caption(s) "
        "mention no object of CHAIR's vocabulary")
    assert _why(result, "recall", "chair") == (
        "recall = recalled objects/ground-truth objects has no ground-truth objects: the "
        "images of the 2 scored caption(s) have none")
    assert result.metrics["chair"].results["chair_s"].value == 0.0


def test_many_pope_groups_say_why_too(tmp_path):
    """From 64 groups on, their results are computed side by side (group_fold): the object
    every answer said no to has its reason there as well."""
    from halluscope.metrics.group_fold import BATCH_GROUPS
    objects = [f"thing{k}" for k in range(BATCH_GROUPS + 2)]
    result = _pope(tmp_path, lambda i: "No" if i < 2 else "Yes",
                   lambda i: "yes" if i % 2 else "no", n=2 * len(objects), n_boot=50,
                   prompt=lambda i: f"Is there a {objects[i // 2]} in the image?")
    group = result.metrics["pope"].groups["object:thing0"]
    assert group["precision"].value is None
    assert group["precision"].why_no_value == ("precision = TP/(TP+FP) has no positive "
                                               "predictions (0 of the 2 scored answers read "
                                               "as yes)")
