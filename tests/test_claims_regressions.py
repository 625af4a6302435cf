"""The rule-based splitter on defects found by a walk through docs/claims.md, with controls.

* irregular plurals that ``en_core_web_sm`` does not read as nouns ("two cacti stand": ``cacti``
  an adjective of a noun ``stand``; "three sheep graze": ``sheep`` a compound of a noun
  ``graze``): the plural-noun table is trusted over the tag (``halluscope.claims.parse``);
* "close-up" split at its hyphen ("close" + noun "up") is one word, a framing noun; "in a
  close-up of a bird" makes no relation (the frame is the image, no place in it);
* times of day ("5 pm", "10 am") are not objects;
* ``halluscope.split_claims_batch`` and ``halluscope.check_claim`` as docs/claims.md names them.

Cases as in ``tests/test_claims_split.py``: (kind, subject[, value | relation, object]).
"""

from __future__ import annotations

import pytest

from halluscope.claims.splitter import split_claims
from tests.test_claims_negation import compact

pytest.importorskip("spacy")



PLURALS = [
    # the walk's cases
    ("Two cacti stand on the grass.",
     [("existence", "cactus"), ("count", "cactus", 2), ("existence", "grass"),
      ("relation", "cactus", "on", "grass")]),
    ("There are two cacti on the table.",
     [("existence", "cactus"), ("count", "cactus", 2), ("existence", "table"),
      ("relation", "cactus", "on", "table")]),
    ("Three sheep graze on the grass.",
     [("existence", "sheep"), ("count", "sheep", 3), ("existence", "grass"),
      ("relation", "sheep", "on", "grass")]),
    # the same shapes with other plurals of the table
    ("Two geese swim in the pond.",
     [("existence", "goose"), ("count", "goose", 2), ("existence", "pond"),
      ("relation", "goose", "in", "pond")]),
    ("There are two geese in the pond.",
     [("existence", "goose"), ("count", "goose", 2), ("existence", "pond"),
      ("relation", "goose", "in", "pond")]),
    ("Three deer graze in the field.",
     [("existence", "deer"), ("count", "deer", 3), ("existence", "field"),
      ("relation", "deer", "in", "field")]),
    ("Two deer stand in the field.",
     [("existence", "deer"), ("count", "deer", 2), ("existence", "field"),
      ("relation", "deer", "in", "field")]),
    ("Two dice lie on the table.",
     [("existence", "die"), ("count", "die", 2), ("existence", "table"),
      ("relation", "die", "on", "table")]),
    ("The cacti stand on the grass.",
     [("existence", "cactus"), ("existence", "grass"), ("relation", "cactus", "on", "grass")]),
    ("Cacti stand on the grass.",
     [("existence", "cactus"), ("existence", "grass"), ("relation", "cactus", "on", "grass")]),
    ("A table with two cacti on it.",
     [("existence", "table"), ("existence", "cactus"), ("count", "cactus", 2),
      ("relation", "cactus", "on", "table")]),
    ("Two cacti.",
     [("existence", "cactus"), ("count", "cactus", 2)]),
    # positive controls: parsed right before, unchanged
    ("Two dogs stand on the grass.",
     [("existence", "dog"), ("count", "dog", 2), ("existence", "grass"),
      ("relation", "dog", "on", "grass")]),
    ("Two sheep stand on the grass.",
     [("existence", "sheep"), ("count", "sheep", 2), ("existence", "grass"),
      ("relation", "sheep", "on", "grass")]),
    ("Two cacti are on the table.",
     [("existence", "cactus"), ("count", "cactus", 2), ("existence", "table"),
      ("relation", "cactus", "on", "table")]),
    ("Three mice sit on the table.",
     [("existence", "mouse"), ("count", "mouse", 3), ("existence", "table"),
      ("relation", "mouse", "on", "table")]),
    ("There are five fish in the tank.",
     [("existence", "fish"), ("count", "fish", 5), ("existence", "tank"),
      ("relation", "fish", "in", "tank")]),
    ("Two women walk down the street.",
     [("existence", "woman"), ("count", "woman", 2), ("existence", "street"),
      ("relation", "woman", "walking down", "street")]),
    # a compound that is one: no number of two or more, no verb made of the noun
    ("A deer stand in the woods.",
     [("existence", "deer stand"), ("existence", "wood"),
      ("relation", "deer stand", "in", "wood")]),
    ("A sheep farm in the hills.",
     [("existence", "sheep farm"), ("existence", "hill"),
      ("relation", "sheep farm", "in", "hill")]),
    # a verb reading of a table word stays a verb
    ("People fish in the lake.",
     [("existence", "people"), ("existence", "lake"),
      ("relation", "people", "fishing in", "lake")]),
]


@pytest.mark.parametrize("text,expected", PLURALS, ids=[t for t, _ in PLURALS])
def test_irregular_plurals_are_the_nouns(text, expected):
    assert [compact(c) for c in split_claims(text)] == expected


def test_irregular_plural_claims_map_to_the_vocabulary():
    claims = split_claims("Two cacti stand on the grass.", vocabulary=["cactus", "grass"])
    assert {(c.subject, c.node) for c in claims if c.kind == "existence"} == {
        ("cactus", "cactus"), ("grass", "grass")}
    assert not any(c.subject == "stand" for c in claims)


NON_OBJECTS = [
    ("A close-up of a bird.", [("existence", "bird")]),
    ("In a close-up of a bird, the bird is red.",
     [("existence", "bird"), ("attribute", "bird", "red")]),
    ("The photo was taken at 5 pm.", []),
    ("The clock shows 10 am.", [("existence", "clock")]),
    ("The clock shows 10 p.m.", [("existence", "clock")]),
    # controls: a frame the image does not stand for, other places, other counts
    ("A man is taking a close-up of a bird.", [("existence", "man"), ("existence", "bird")]),
    ("A close-up of a cat looking at the camera.",
     [("existence", "cat"), ("existence", "camera"), ("relation", "cat", "looking at", "camera")]),
    ("In the kitchen, a cat sits on the table.",
     [("existence", "kitchen"), ("existence", "cat"), ("relation", "cat", "in", "kitchen"),
      ("existence", "table"), ("relation", "cat", "on", "table")]),
    ("There are 5 apples on the table.",
     [("existence", "apple"), ("count", "apple", 5), ("existence", "table"),
      ("relation", "apple", "on", "table")]),
]


@pytest.mark.parametrize("text,expected", NON_OBJECTS, ids=[t for t, _ in NON_OBJECTS])
def test_frames_and_times_make_no_object(text, expected):
    assert [compact(c) for c in split_claims(text)] == expected


def test_hyphened_words_join_only_when_named():
    # "close-up" (split by spaCy: "close" amod + noun "up") is one word, a framing noun
    claims = [compact(c) for c in split_claims("A man is taking a close-up of a bird.")]
    assert ("existence", "up") not in claims and ("existence", "close up") not in claims
    # other hyphened words keep spaCy's reading: "left-center" is a position, no object
    claims = [compact(c) for c in split_claims("A tree stands in the left-center of the field.")]
    assert not any("center" in c[1] for c in claims)


def test_documented_top_level_exports():
    import halluscope
    from halluscope.checks import check_claim
    from halluscope.claims.splitter import split_claims_batch
    assert halluscope.split_claims_batch is split_claims_batch
    assert halluscope.check_claim is check_claim
    assert {"split_claims_batch", "check_claim"} <= set(dir(halluscope))
    out = halluscope.split_claims_batch(["Two cacti stand on the grass.", "A dog."])
    assert [[compact(c) for c in cl if c.kind == "existence"] for cl in out] == [
        [("existence", "cactus"), ("existence", "grass")], [("existence", "dog")]]
