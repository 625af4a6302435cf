"""The splitter on long detailed descriptions (LLaVA-1.5's COCO captions): words that name no
object where they stand, and counts that count nothing.

* "In addition to the surfboard, ..." made an object "addition" (340 claims in 500 captions,
  the most frequent subject) and relations "bottle in addition", "addition to surfboard";
* "a total of eight laptops" made an object "total" and no count of the laptops;
* "others" / "the other" were objects of their own instead of pointing back to the plural;
* "One bottle is on the left, the other on the right" after "two bottles" counted one bottle,
  which two annotated bottles then made a hallucination;
* "tug" of "tug-of-war" was a tugboat (node ``boat``), hallucinated under COCO's closed world;
* pronouns keep their subject: "A man holds a kite. It is red." is the kite's colour.

Cases as in ``tests/test_claims_split.py``: (kind, subject[, value | relation, object]).
"""

from __future__ import annotations

import pytest

from halluscope.claims.splitter import split_claims
from tests.test_claims_negation import compact

pytest.importorskip("spacy")

CASES = [
    ("In addition to the surfboard, there are two bottles visible in the scene.",
     [("existence", "surfboard"), ("existence", "bottle"), ("count", "bottle", 2)]),
    ("In addition, a cat sleeps on the bed.",
     [("existence", "cat"), ("existence", "bed"), ("relation", "cat", "on", "bed")]),
    ("There are a total of nine benches in the park.",
     [("existence", "bench"), ("count", "bench", 9), ("existence", "park"),
      ("relation", "bench", "in", "park")]),
    ("There are three giraffes in total.",
     [("existence", "giraffe"), ("count", "giraffe", 3)]),
    ("A doctor is focused on the task at hand.", [("existence", "doctor")]),
    ("On the other hand, a man holds a phone in his hand.",
     [("existence", "man"), ("existence", "phone"), ("relation", "man", "holding", "phone"),
      ("existence", "hand"), ("relation", "man", "in", "hand")]),
    ("Some suitcases are on the floor, while others are stacked on a cart.",
     [("existence", "suitcase"), ("existence", "floor"), ("relation", "suitcase", "on", "floor"),
      ("existence", "cart"), ("relation", "suitcase", "on", "cart")]),
    ("There are two bottles. One bottle is on the left side of the surfboard, while the other "
     "is on the right side of the table.",
     [("existence", "bottle"), ("count", "bottle", 2), ("existence", "surfboard"),
      ("relation", "bottle", "on the left side of", "surfboard"), ("existence", "table"),
      ("relation", "bottle", "on the right side of", "table")]),
    ("The dogs are playing a tug-of-war game.", [("existence", "dog")]),
    ("A man holds a kite. It is red.",
     [("existence", "man"), ("existence", "kite"), ("relation", "man", "holding", "kite"),
      ("attribute", "kite", "red")]),
    ("Two boys play with a ball. They are laughing.",
     [("existence", "boy"), ("count", "boy", 2), ("existence", "ball"),
      ("relation", "boy", "playing with", "ball"), ("attribute", "boy", "laughing")]),
    ("The girl has a kite. She is flying it.",
     [("existence", "girl"), ("existence", "kite"), ("relation", "girl", "with", "kite"),
      ("relation", "girl", "flying", "kite")]),
]

CONTROLS = [
    # a "one" that is the only one said is a count
    ("There is one dog and two cats.",
     [("existence", "dog"), ("count", "dog", 1), ("existence", "cat"), ("count", "cat", 2)]),
    ("One man is riding a horse.",
     [("existence", "man"), ("count", "man", 1), ("existence", "horse"),
      ("relation", "man", "riding", "horse")]),
    # hyphened words WordNet knows as things keep spaCy's reading; two-part words their rules
    ("A close-up of a cake.", [("existence", "cake")]),
]


@pytest.mark.parametrize("text,expected", CASES + CONTROLS)
def test_split(text, expected):
    assert [compact(c) for c in split_claims(text)] == expected


def test_one_of_several_counts_nothing():
    for text in ("Two dogs lie on the grass. One dog is black.",
                 "Dogs lie on the grass. One dog is black.",
                 "One bottle is on the left, and another is on the right."):
        kinds = [(c.kind, c.value) for c in split_claims(text) if c.kind == "count"]
        assert ("count", 1) not in kinds, text


def test_the_short_name_of_an_object_named_before_is_one_existence_claim():
    # "the table" after "a dining table" is that table: one existence claim, which an image
    # without a table counted twice as a hallucination
    claims = split_claims("A woman sits at a dining table. The table is surrounded by chairs.")
    assert [c.subject for c in claims if c.kind == "existence"] == \
        ["woman", "dining table", "chair"]
    racket = split_claims("There is a tennis racket on the court. The racket is red.")
    assert [compact(c) for c in racket if c.subject == "racket"] == [("attribute", "racket",
                                                                     "red")]
    # another table, or a table named first, is a claim of its own
    two = split_claims("A dining table and another table stand in the room.")
    assert [c.subject for c in two if c.kind == "existence"] == ["dining table", "table", "room"]
    one = split_claims("The pizza is on the table. The table is wooden.")
    assert [c.subject for c in one if c.kind == "existence"] == ["pizza", "table"]


@pytest.mark.parametrize("text,expected", [
    # an absence or lack of X denies X ("an absence of people" was a person, hallucinated
    # where none was)
    ("There is an absence of people in the image.", []),
    ("A man stands in the absence of a crowd, holding a dog.",
     [("existence", "man"), ("existence", "dog"), ("relation", "man", "holding", "dog")]),
    ("There is no dog in the image.", []),
    ("There are no other people visible in the scene.", []),
])
def test_absence_nouns_deny(text, expected):
    assert [compact(c) for c in split_claims(text)] == expected
