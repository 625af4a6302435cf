"""VLMEvalKit's full-stop rule, worked by hand on long answers, in both of its releases.

``process_punctuation`` (vlmeval/smp/misc.py) deletes full stops with ``periodStrip.sub('',
outText, re.UNICODE)``: ``re.UNICODE`` (32) lands in ``count``, so at most 32 stops go.

* @e8e78f0 (since commit 928a95b0, 2025-05-13, release v0.3rc1 on): ``(?<!\\d)\\.(?!\\d)``, a stop
  neither after nor before a digit. The stops of "1." or "1932." stay and use up none of the 32.
  This is the ``vlmevalkit`` parser / HallusionBench variant.
* From 2024-01-30 (commit 4b191c21) to that change (releases v0.1, v0.2):
  ``(?!<=\\d)(\\.)(?!\\d)``. ``(?!<=\\d)`` is a negative lookahead for the text "<" "=" digit,
  which a "." never starts, so it excludes nothing: every stop not before a digit goes, those
  after a digit included, and they use up the 32. This is ``vlmevalkit-v0.2``.

The two answers (the bug hunt's): a list numbered "1." to "40." then "no."; 33 sentences ending
in a year (1900. ... 1932.) then "No.".

* @e8e78f0: the 40 (33) stops after digits stay; the stop of "no." is the only one deleted,
  "no" is a word and "yes" is not: **No**.
* v0.2: the first 32 stops are deleted (those of 1. to 32., or of 1900. to 1931.); 33. to 40.
  (1932.) and "no." keep theirs, so no word is "no" or "yes": **Unknown** (scored wrong).
"""

import json

import pytest

import halluscope
from halluscope.metrics.hallusionbench import (HallusionBenchMetric, vlmevalkit_extract,
                                               vlmevalkit_punctuation)
from halluscope.metrics.pope_parsers import PARSERS, parse_vlmevalkit, parse_vlmevalkit_v02

LIST_40 = " ".join(f"{i}. item" for i in range(1, 41)) + " no."
YEARS_33 = " ".join(f"It was built in {1900 + i}." for i in range(33)) + " So the answer is No."


def test_a_numbered_list_then_no():
    assert parse_vlmevalkit(LIST_40) == "no"
    assert vlmevalkit_extract(LIST_40) == "No"
    assert parse_vlmevalkit_v02(LIST_40) == "unknown"
    assert vlmevalkit_extract(LIST_40, "vlmevalkit-v0.2") == "Unknown"
    # the words, by hand: v0.2 keeps the stops of 33. to 40. and of no.
    words = vlmevalkit_punctuation(LIST_40.lower(), "vlmevalkit-v0.2").split()
    assert words[:4] == ["1", "item", "2", "item"] and words[62:64] == ["32", "item"]
    assert words[64] == "33." and words[-2:] == ["item", "no."]
    assert vlmevalkit_punctuation(LIST_40.lower()).split()[-3:] == ["40.", "item", "no"]


def test_sentences_ending_in_years_then_no():
    assert parse_vlmevalkit(YEARS_33) == "no" and vlmevalkit_extract(YEARS_33) == "No"
    assert parse_vlmevalkit_v02(YEARS_33) == "unknown"
    assert vlmevalkit_extract(YEARS_33, "vlmevalkit-v0.2") == "Unknown"
    old = vlmevalkit_punctuation(YEARS_33.lower(), "vlmevalkit-v0.2")
    assert "1931 it" in old and "1932. so" in old and old.endswith("is no.")


@pytest.mark.parametrize("answer, both", [
    ("No.", "no"), ("Yes, there is a dog.", "yes"), ("Yes and no.", "unknown"),
    # 32 lone stops then "no.": the 33rd stop stays in both releases
    (" ".join(["a."] * 32) + " no.", "unknown"), (" ".join(["a."] * 31) + " no.", "no"),
    ("The answer is 3.5, so no.", "no"),     # a stop before a digit stays in both
])
def test_short_answers_read_the_same_in_both_releases(answer, both):
    assert parse_vlmevalkit(answer) == parse_vlmevalkit_v02(answer) == both


def test_the_v02_parser_is_registered_with_vlmevalkits_scoring():
    new, old = PARSERS["vlmevalkit"], PARSERS["vlmevalkit-v0.2"]
    assert old.unknowns == new.unknowns == "vlmevalkit"
    assert old.explodes_categories and "2025-05-13" in old.description


def test_pope_scores_the_long_answer_per_release(tmp_path):
    """One VLMEvalKit POPE row, truth No, answer LIST_40: right under @e8e78f0's rule, wrong
    (Unknown) under v0.2's, as each release scores it."""
    path = tmp_path / "pope.jsonl"
    path.write_text(json.dumps({"index": 1, "question": "Is there a dog in the image?",
                                "answer": "No", "category": "random",
                                "prediction": LIST_40}) + "\n")
    for parser, accuracy in (("vlmevalkit", 1.0), ("vlmevalkit-v0.2", 0.0)):
        r = halluscope.audit(path, metrics="pope", n_boot=0, pope_parser=parser)
        assert r.metrics["pope"].results["accuracy"].value == accuracy, parser


def test_hallusionbench_scores_the_long_answer_per_release(tmp_path):
    """A VLMEvalKit HallusionBench row, truth No (answer 0), answer YEARS_33."""
    path = tmp_path / "hb.jsonl"
    path.write_text(json.dumps({"index": "VD_figure_1_0_0_0", "question": "Is it?",
                                "answer": "No", "category": "VD", "l2-category": "VD_figure",
                                "prediction": YEARS_33}) + "\n")
    out = {}
    for variant in ("vlmevalkit", "vlmevalkit-v0.2"):
        r = halluscope.audit(path, metrics="hallusionbench", n_boot=0,
                             options={"hallusionbench_variant": variant})
        out[variant] = r.metrics["hallusionbench"].results["aacc"].value
        assert variant in r.metrics["hallusionbench"].info["variant"]
    assert out == {"vlmevalkit": 1.0, "vlmevalkit-v0.2": 0.0}
    assert "v0.2" in HallusionBenchMetric(variant="vlmevalkit-v0.2").describe()["source"]
