"""Checks: verdicts from annotation facts, and the geometric rules of spatial relations."""

from __future__ import annotations

import pytest

from halluscope.checks import check_claim, spatial
from halluscope.checks.model import Verdict
from halluscope.claims.model import Claim
from halluscope.evidence.model import ImageFacts, Instance

COCO_LIKE = ImageFacts(
    key="1", closed_world=True, vocabulary=frozenset({"dog", "couch", "cat", "car", "person"}),
    instances=(Instance("dog", (100, 100, 200, 200), attributes=("brown",)),
               Instance("couch", (50, 150, 400, 400), attributes=("red",)),
               Instance("cat", (210, 120, 260, 200)), Instance("cat", (270, 120, 320, 200))),
    provenance={"source": "annotation", "name": "coco"})
OPEN = ImageFacts(key="2", instances=(Instance("dog"),), absent=frozenset({"car"}),
                  provenance={"source": "annotation", "name": "user"})


def claim(kind, subject, value=None, relation=None, obj=None, node=None, object_node=None):
    return Claim(kind=kind, subject=subject, value=value, relation=relation, object=obj,
                 node=node, object_node=object_node)


@pytest.mark.parametrize("c,label", [
    (claim("existence", "dog", node="dog"), "supported"),
    (claim("existence", "sofa", node="couch"), "supported"),
    (claim("existence", "car", node="car"), "hallucinated"),          # closed world
    (claim("existence", "tennis court"), "unverifiable"),              # outside vocabulary
    (claim("count", "cat", 2, node="cat"), "supported"),
    (claim("count", "cat", 3, node="cat"), "hallucinated"),
    (claim("count", "car", 1, node="car"), "hallucinated"),
    (claim("attribute", "dog", "brown", node="dog"), "supported"),
    (claim("attribute", "sofa", "blue", node="couch"), "hallucinated"),  # colour contradicts
    (claim("attribute", "dog", "fluffy", node="dog"), "unverifiable"),
    (claim("attribute", "car", "red", node="car"), "hallucinated"),       # no car at all
    (claim("relation", "dog", relation="on", obj="sofa", node="dog", object_node="couch"),
     "supported"),
    (claim("relation", "dog", relation="next to", obj="cat", node="dog", object_node="cat"),
     "supported"),
    (claim("relation", "dog", relation="holding", obj="cat", node="dog", object_node="cat"),
     "unverifiable"),
    (claim("relation", "dog", relation="near", obj="car", node="dog", object_node="car"),
     "hallucinated"),
])
def test_coco_like(c, label):
    v = check_claim(c, [COCO_LIKE])
    assert isinstance(v, Verdict)
    assert v.label == label, v.reason
    assert v.reason


def test_open_world_and_absent_list():
    assert check_claim(claim("existence", "dog"), [OPEN]).label == "supported"
    assert check_claim(claim("existence", "car"), [OPEN]).label == "hallucinated"
    assert check_claim(claim("existence", "cat"), [OPEN]).label == "unverifiable"
    # count of an open-world label without boxes: unknown
    assert check_claim(claim("count", "dog", 1), [OPEN]).label == "unverifiable"


def test_sources_in_order_first_decides():
    c = claim("existence", "cat")
    v = check_claim(c, [OPEN, COCO_LIKE])
    assert v.label == "supported" and v.checker == "annotation-existence"


def test_no_facts_and_judge_fallback():
    c = claim("existence", "cat")
    assert check_claim(c, []).label == "unverifiable"

    class Judge:
        def check_claim(self, claim, facts):
            return Verdict(claim, "supported", 0.7, reason="judge says yes", checker="judge")
    v = check_claim(c, [OPEN], judge=Judge())
    assert v.label == "supported" and v.checker == "judge"


def test_amber_contact_relations_and_attributes():
    facts = ImageFacts(
        key="AMBER_1.jpg", closed_world=True,
        vocabulary=frozenset({"person", "grass", "tree", "sky", "man", "dog"}),
        present=frozenset({"person", "grass", "tree", "sky", "man"}),
        instances=(Instance("sky", attributes=("sunny",), payload={"absent_attributes":
                                                                   ["gloomy"]}),
                   Instance("person", payload={"count": 3, "not_counts": [4]})),
        relations=frozenset({("person", "contact", "grass"), ("person", "no contact", "tree")}))
    assert check_claim(claim("relation", "man", relation="sitting on", obj="tree",
                             node="person"), facts).label == "hallucinated"
    assert check_claim(claim("relation", "person", relation="touching", obj="grass"),
                       facts).label == "supported"
    assert check_claim(claim("relation", "person", relation="on", obj="grass"),
                       facts).label == "unverifiable"
    assert check_claim(claim("attribute", "sky", "sunny"), facts).label == "supported"
    assert check_claim(claim("attribute", "sky", "gloomy"), facts).label == "hallucinated"
    assert check_claim(claim("count", "person", 3), facts).label == "supported"
    assert check_claim(claim("count", "person", 4), facts).label == "hallucinated"
    assert check_claim(claim("existence", "dog"), facts).label == "hallucinated"


def test_action_attribute_lemmas():
    facts = ImageFacts(key="k", instances=(Instance("dog", attributes=("sleep",)),))
    assert check_claim(claim("attribute", "dog", "sleeping"), facts).label == "supported"


# -- geometry -----------------------------------------------------------------------------------
@pytest.mark.parametrize("phrase,canon", [
    ("on", "on"), ("sitting on", "on"), ("on top of", "on"), ("to the left of", "left of"),
    ("on the left side of", "left of"), ("to the right of", "right of"),
    ("in front of", "in front of"), ("behind", "behind"), ("next to", "next to"),
    ("beside", "next to"), ("near", "next to"), ("above", "above"), ("under", "under"),
    ("below", "below"), ("in", "in"), ("inside", "in"), ("holding", None), ("with", None)])
def test_canonical(phrase, canon):
    assert spatial.canonical(phrase) == canon


A = (0, 0, 100, 100)


@pytest.mark.parametrize("rel,s,o,label", [
    ("left of", A, (200, 0, 300, 100), "supported"),
    ("left of", (200, 0, 300, 100), A, "hallucinated"),
    ("left of", A, (10, 0, 110, 100), None),                  # too close to call
    ("right of", (200, 0, 300, 100), A, "supported"),
    ("above", A, (0, 200, 100, 300), "supported"),
    ("above", (0, 200, 100, 300), A, "hallucinated"),
    ("below", (0, 200, 100, 300), A, "supported"),
    ("under", (0, 200, 100, 300), (500, 0, 600, 100), None),   # below but no overlap
    ("on", (20, 0, 80, 60), (0, 50, 100, 150), "supported"),   # cup on table
    ("on", (0, 300, 100, 400), A, "hallucinated"),            # far below
    ("in", (20, 20, 40, 40), A, "supported"),
    ("in", (300, 300, 400, 400), A, "hallucinated"),
    ("next to", A, (110, 0, 210, 100), "supported"),
    ("next to", A, (1000, 1000, 1100, 1100), "hallucinated"),
    ("in front of", (20, 50, 80, 160), A, "supported"),       # base lower, overlapping
    ("in front of", A, (500, 0, 600, 100), "hallucinated"),   # no overlap at all
    ("behind", A, (20, 50, 80, 160), "supported"),
])
def test_rules(rel, s, o, label):
    got, why = spatial.decide(rel, s, o)
    assert got == label, why


def test_any_pair_supports():
    label, _, pair = spatial.decide_any("left of", [A], [(-300, 0, -200, 100),
                                                         (200, 0, 300, 100)])
    assert label == "supported" and pair == (0, 1)
    label, _, _ = spatial.decide_any("left of", [A], [(-300, 0, -200, 100)])
    assert label == "hallucinated"
