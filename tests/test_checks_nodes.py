"""A claim's noun decided at its vocabulary node when the image names that node with another
word: "woman" (node person) where an annotator wrote ``astronaut``, and the other way round."""

from __future__ import annotations

from halluscope.checks import check_claim
from halluscope.types import Claim, ImageFacts, Instance

VOCAB = frozenset({"person", "dog", "kite", "flag"})


def claim(kind, subject, value=None, relation=None, obj=None, node=None, object_node=None):
    return Claim(kind=kind, subject=subject, value=value, relation=relation, object=obj,
                 node=node, object_node=object_node)


def facts(*labels, absent=()):
    return ImageFacts(key="k", closed_world=True, vocabulary=VOCAB | set(labels),
                      instances=tuple(Instance(lab, (10 + 100 * i, 10, 90 + 100 * i, 300))
                                      for i, lab in enumerate(labels)),
                      absent=frozenset(absent),
                      provenance={"source": "annotation", "name": "halluscope-json",
                                  "exhaustive_counts": True})


def test_woman_or_man_is_not_absent_where_an_astronaut_is_annotated():
    astro = facts("astronaut", "flag")
    for noun in ("woman", "man", "person", "astronaut", "cosmonaut"):
        v = check_claim(claim("existence", noun, node="person"), astro)
        assert v.label == "supported", (noun, v.reason)
        assert "astronaut" in v.reason
    # a relation or attribute of the woman is no longer made up by her absence
    v = check_claim(claim("relation", "woman", relation="next to", obj="flag", node="person",
                          object_node="flag"), astro)
    assert v.label != "hallucinated", v.reason
    # the other nodes keep their closed world
    assert check_claim(claim("existence", "dog", node="dog"), astro).label == "hallucinated"


def test_astronaut_is_not_absent_where_a_woman_or_a_person_is_annotated():
    for label in ("woman", "person"):
        v = check_claim(claim("existence", "astronaut", node="person"), facts(label, "kite"))
        assert v.label == "supported", (label, v.reason)


def test_counts_through_another_word_only_bound_from_below():
    two = facts("astronaut", "astronaut")
    assert check_claim(claim("count", "woman", 2, node="person"), two).label == "supported"
    assert check_claim(claim("count", "woman", 1, node="person"), two).label == "hallucinated"
    # more women than astronauts: another person may be there unannotated as an astronaut
    assert check_claim(claim("count", "woman", 3, node="person"), two).label == "unverifiable"


def test_an_explicit_absent_node_still_wins():
    v = check_claim(claim("existence", "woman", node="person"),
                    facts("astronaut", absent=("person",)))
    assert v.label == "hallucinated"


def test_coco_vocabulary_takes_chairs_refined_corrections():
    from halluscope.claims.vocab import coco_vocabulary
    v = coco_vocabulary()
    # CHAIR's words, then its refined variant's: "hotdog" was WordNet's daredevil (person),
    # "remote control" nothing
    expect = {"astronaut": "person", "woman": "person", "hotdog": "hot dog",
              "remote control": "remote", "remote controls": "remote", "wine bottle": "bottle",
              "tennis ball": "sports ball", "computer monitor": "tv", "bow tie": "tie",
              "passenger seat": None, "tennis court": None, "bus stop": None, "bow": None,
              "seat": "chair", "bus": "bus", "tie": "tie"}
    assert {w: v.map(w) for w in expect} == expect
    # the labels of an annotation file keep those rules
    ext = v.extended(["helmet"])
    assert ext.map("helmet") == "helmet" and ext.map("passenger seat") is None
    assert ext.map("hotdog") == "hot dog"


def test_claims_of_a_remote_control_are_checked_against_remote():
    from halluscope.claims.splitter import split_claims
    claims = split_claims("A remote control lies on the bed.")
    assert [(c.kind, c.node) for c in claims if c.subject == "remote control"] == \
        [("existence", "remote"), ("relation", "remote")]


def test_devices_named_like_people_are_not_people():
    # WordNet's most frequent sense of the head is a person; in a photo these are things.
    # A person absent from the image made each of them a hallucination.
    from halluscope.claims.vocab import coco_vocabulary
    v = coco_vocabulary()
    for thing in ("wii controller", "nintendo wii game controller", "coffee maker",
                  "ventilation hood", "comforter"):
        assert v.map(thing) != "person", thing
    for person in ("baseball player", "team member", "crew member", "train conductor",
                   "spectator", "surfer", "batter", "astronaut", "guest"):
        assert v.map(person) == "person", person
