"""Checks: verdicts from annotation facts, and the geometric rules of spatial relations."""

from __future__ import annotations

import pytest

from halluscope.checks import check_claim, spatial
from halluscope.types import Claim, ImageFacts, Instance, Verdict

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


def test_an_undecided_claim_has_no_confidence():
    """Every unverifiable verdict of the checks (a label outside the vocabulary, an open-world
    count, no facts at all, a kind no check knows) said confidence 0.0, a number nothing
    measured; it is None now (null in items.jsonl), as a judge's unverifiable verdicts are."""
    undecided = [check_claim(claim("existence", "tennis court"), [COCO_LIKE]),
                 check_claim(claim("attribute", "dog", "fluffy", node="dog"), [COCO_LIKE]),
                 check_claim(claim("count", "dog", 1), [OPEN]),
                 check_claim(claim("existence", "cat"), []),
                 check_claim(claim("page", "x"), [OPEN])]
    for v in undecided:
        assert v.label == "unverifiable" and v.confidence is None, v
        assert v.to_dict()["confidence"] is None
    assert check_claim(claim("existence", "dog"), [OPEN]).confidence == 1.0


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


# -- matching a claim's noun to a source's labels ------------------------------------------------
ASTRO = ImageFacts(
    key="astronaut.jpg",
    instances=(Instance("woman", (11, 10, 370, 510), attributes=("smiling",)),
               Instance("space suit", (11, 100, 370, 512), attributes=("orange",)),
               Instance("helmet", (195, 330, 360, 512)),
               Instance("flag", (0, 0, 95, 512), attributes=("american",))),
    relations=frozenset({("woman", "in front of", "flag")}), absent=frozenset({"laptop"}),
    provenance={"source": "annotation", "name": "halluscope-json", "exhaustive_counts": True})
ROCKET = ImageFacts(
    key="rocket.jpg",
    instances=(Instance("metal tower", (0, 0, 95, 427)),
               Instance("lattice tower", (545, 0, 640, 427))),
    provenance={"source": "annotation", "name": "user", "exhaustive_counts": True})
TOWERS = ImageFacts(
    key="rocket2.jpg",
    instances=(Instance("towers", (0, 0, 95, 427)), Instance("towers", (545, 0, 640, 427))),
    provenance={"source": "annotation", "name": "user", "exhaustive_counts": True})
COCO_ASTRO = ImageFacts(
    key="1", closed_world=True, vocabulary=frozenset({"person", "laptop", "dining table"}),
    instances=(Instance("person", (11, 10, 370, 510)),), provenance={"source": "annotation",
                                                                      "name": "coco"})


def test_head_noun_of_a_multiword_label():
    assert check_claim(claim("existence", "suit"), ASTRO).label == "supported"
    assert check_claim(claim("attribute", "suit", "orange"), ASTRO).label == "supported"
    # "suit" is more general than "space suit": another suit may be blue, or be there at all
    assert check_claim(claim("attribute", "suit", "blue"), ASTRO).label == "unverifiable"
    gone = ImageFacts(key="k", instances=(Instance("woman"),),
                      absent=frozenset({"space suit"}))
    assert check_claim(claim("existence", "suit"), gone).label == "unverifiable"
    assert check_claim(claim("existence", "space suit"), gone).label == "hallucinated"


def test_tower_matches_metal_and_lattice_towers_both_ways():
    v = check_claim(claim("existence", "tower"), ROCKET)
    assert v.label == "supported" and len(v.evidence) == 2
    assert check_claim(claim("existence", "metal tower"), ROCKET).label == "supported"
    assert check_claim(claim("existence", "steel tower"), ROCKET).label == "supported"
    # counts use the same matching; the labels' count bounds a more general noun from below
    assert check_claim(claim("count", "tower", 2), ROCKET).label == "supported"
    assert check_claim(claim("count", "tower", 1), ROCKET).label == "hallucinated"
    assert check_claim(claim("count", "tower", 3), ROCKET).label == "unverifiable"
    assert check_claim(claim("count", "metal tower", 1), ROCKET).label == "supported"


def test_count_uses_the_existence_match():
    # "two metal towers" against two boxed "towers" (a plural label: matched by lemma)
    for subject in ("metal tower", "tower"):
        assert check_claim(claim("existence", subject), TOWERS).label == "supported"
        v = check_claim(claim("count", subject, 2), TOWERS)
        assert v.label == "supported", v.reason
        assert check_claim(claim("count", subject, 3), TOWERS).label == "hallucinated"


def test_counts_of_non_exhaustive_labels_stay_unknown():
    facts = ImageFacts(key="k", instances=(Instance("tower", (0, 0, 1, 1)),),
                       provenance={"exhaustive_counts": True, "not_exhaustive": ["tower"]})
    assert check_claim(claim("count", "tower", 1), facts).label == "unverifiable"
    facts = ImageFacts(key="k", instances=(Instance("tower", (0, 0, 1, 1)),))
    assert check_claim(claim("count", "tower", 1), facts).label == "unverifiable"
    # the annotated ones are a lower bound (docs/annotations.md): fewer cannot be
    two = ImageFacts(key="k", instances=(Instance("person", (0, 0, 1, 1), source="annotation"),
                                         Instance("person", (2, 2, 3, 3), source="annotation")),
                     provenance={"exhaustive_counts": True, "not_exhaustive": ["person"]})
    v = check_claim(claim("count", "person", 1), two)
    assert v.label == "hallucinated" and "at least 2" in v.reason
    assert check_claim(claim("count", "person", 3), two).label == "unverifiable"


def test_wordnet_hypernyms_and_synonyms_of_labels():
    assert check_claim(claim("existence", "person"), ASTRO).label == "supported"   # woman
    couch = ImageFacts(key="k", instances=(Instance("couch"),))
    assert check_claim(claim("existence", "sofa"), couch).label == "supported"
    assert check_claim(claim("existence", "animal"),
                       ImageFacts(key="k", instances=(Instance("cat"),))).label == "supported"


def test_relation_object_is_mapped_and_the_knowing_source_explains():
    c = claim("relation", "helmet", relation="in front of", obj="woman", object_node="person")
    v = check_claim(c, [COCO_ASTRO, ASTRO])
    assert v.label == "unverifiable"
    assert "vocabulary" not in v.reason and "in front of" in v.reason      # boxes were read
    d = v.to_dict()
    assert d["object_node"] == "person" and d["node"] is None


def test_converse_and_opposite_annotated_relations():
    behind = claim("relation", "flag", relation="behind", obj="woman")
    assert check_claim(behind, ASTRO).label == "supported"
    front = claim("relation", "flag", relation="in front of", obj="woman")
    assert check_claim(front, ASTRO).label == "hallucinated"
    assert check_claim(claim("relation", "woman", relation="standing in front of", obj="flag"),
                       ASTRO).label == "supported"


def test_later_source_missing_an_object_does_not_overrule():
    detector = ImageFacts(key="k", closed_world=True, vocabulary=frozenset({"spoon", "cup"}),
                          instances=(Instance("cup", (0, 0, 10, 10), score=0.9,
                                              source="detector"),),
                          provenance={"source": "detector", "name": "coco-ssd"})
    annotated = ImageFacts(key="k", instances=(Instance("spoon"), Instance("cup")),
                           provenance={"source": "annotation", "name": "user"})
    c = claim("relation", "cup", relation="with", obj="spoon", node="cup", object_node="spoon")
    assert check_claim(c, [annotated, detector]).label == "unverifiable"
    alone = check_claim(c, [detector])
    assert alone.label == "hallucinated"                              # alone, it decides
    from halluscope.checks.common import missed
    assert "coco-ssd has no spoon but user has it" in missed(alone, detector, [annotated]).reason


# The image says "puppy" and "sofa"; the file's vocabulary (or another image) says "dog" and
# "couch". Worked by hand: a puppy is a dog (WordNet puts puppy under dog) and sofa is a
# synonym of couch, so "A dog on a couch." is right whether or not the world is closed; only
# a noun with no present label of its kind ("cat") is absent.
@pytest.mark.parametrize("closed", [False, True])
def test_vocabulary_does_not_hide_the_images_own_word(closed):
    facts = ImageFacts(
        key="a", closed_world=closed, vocabulary=frozenset({"dog", "couch", "puppy", "sofa",
                                                            "cat"}),
        instances=(Instance("puppy", (0, 0, 10, 10)), Instance("sofa", (0, 0, 100, 100))),
        provenance={"source": "annotation", "name": "halluscope-json"})
    assert check_claim(claim("existence", "dog", node="dog"), facts).label == "supported"
    assert check_claim(claim("existence", "couch", node="couch"), facts).label == "supported"
    rel = check_claim(claim("relation", "dog", relation="on", obj="couch", node="dog",
                            object_node="couch"), facts)
    assert rel.label == "supported"
    assert check_claim(claim("existence", "cat", node="cat"), facts).label == \
        ("hallucinated" if closed else "unverifiable")


def test_teddy_bear_is_no_bear_in_a_closed_world():
    # WordNet knows "teddy bear" as a toy: its head noun does not make it a bear
    facts = ImageFacts(key="t", closed_world=True, vocabulary=frozenset({"bear", "teddy bear"}),
                       instances=(Instance("teddy bear", (0, 0, 5, 5)),),
                       provenance={"source": "annotation", "name": "coco"})
    assert check_claim(claim("existence", "bear", node="bear"), facts).label == "hallucinated"


def test_annotation_files_disagreeing_do_not_depend_on_order():
    # COCO (closed world) has a cup and no spoon; the user's file boxes both. The spoon is in
    # the image by one annotation file, so the other's absence must not win whatever the order.
    coco = ImageFacts(key="k", closed_world=True, vocabulary=frozenset({"cup", "spoon"}),
                      instances=(Instance("cup", (0, 0, 100, 100)),),
                      provenance={"source": "annotation", "name": "coco"})
    mine = ImageFacts(key="k", instances=(Instance("cup", (0, 0, 100, 100)),
                                          Instance("spoon", (100, 0, 150, 100))),
                      provenance={"source": "annotation", "name": "halluscope-json"})
    spoon = claim("existence", "spoon", node="spoon")
    for order in ((coco, mine), (mine, coco)):
        v = check_claim(spoon, order)
        assert (v.label, v.reason) == ("supported", "spoon is in the image (1 instance)")
    # a detector (always after the annotation files) that sees a spoon does not outweigh the
    # closed-world annotation that has none
    det = ImageFacts(key="k", instances=(Instance("spoon", (5, 5, 9, 9), score=0.9,
                                                  source="detector"),),
                     provenance={"source": "detector", "name": "det"})
    assert check_claim(spoon, (coco, det)).label == "hallucinated"


@pytest.mark.parametrize("annotated", ["holding", "holds", "hold", "is holding"])
def test_annotated_relation_verb_forms_match_the_claim(annotated):
    # the splitter writes "holding"; annotators and Visual Genome write "holds", "hold",
    # "is holding": all name the same relation (both sides lemmatised: hold)
    facts = ImageFacts(key="h", instances=(Instance("man"), Instance("umbrella")),
                       relations=frozenset({("man", annotated, "umbrella")}),
                       provenance={"source": "annotation", "name": "halluscope-json"})
    v = check_claim(claim("relation", "man", relation="holding", obj="umbrella", node="man",
                          object_node="umbrella"), facts)
    assert (v.label, v.reason) == ("supported", f"annotated: man {annotated} umbrella")
    # a different verb stays different: no box to decide "riding", so unverifiable
    v = check_claim(claim("relation", "man", relation="riding", obj="umbrella", node="man",
                          object_node="umbrella"), facts)
    assert v.label == "unverifiable"


def test_a_narrower_noun_is_not_absent_where_a_wider_label_is_present():
    # closed world over {dog, puppy}; the image has a dog. "puppy" is not annotated, but the
    # dog may be a puppy (WordNet puts puppy under dog): unverifiable, not hallucinated. Listed
    # as absent by the annotator, it is hallucinated.
    facts = ImageFacts(key="p", closed_world=True, vocabulary=frozenset({"dog", "puppy"}),
                       instances=(Instance("dog", (0, 0, 10, 10)),),
                       provenance={"source": "annotation", "name": "halluscope-json"})
    v = check_claim(claim("existence", "puppy", node="puppy"), facts)
    assert (v.label, v.reason) == ("unverifiable",
                                   "puppy is not annotated, but dog is, which may be one")
    assert check_claim(claim("count", "puppy", 2, node="puppy"), facts).label == "unverifiable"
    assert check_claim(claim("attribute", "puppy", "brown", node="puppy"), facts).label == \
        "unverifiable"
    listed = ImageFacts(key="p", closed_world=True, vocabulary=facts.vocabulary,
                        instances=facts.instances, absent=frozenset({"puppy"}),
                        provenance=facts.provenance)
    assert check_claim(claim("existence", "puppy", node="puppy"), listed).label == "hallucinated"


def test_under_without_overlap_says_why_it_is_not_decided():
    """"The dog is beneath the bird" far below it but off to the side read "under: too close
    to call (vertical centre offset 340px vs margin 30px)": the offset was not what was close."""
    label, why = spatial.decide("under", (50, 300, 250, 480), (400, 20, 500, 80))
    assert label is None and "no horizontal overlap" in why
    assert spatial.decide("under", (380, 300, 480, 480), (400, 20, 500, 80))[0] == "supported"


@pytest.mark.parametrize("o,share", [
    ((0, 0.4, 100, 200), "99.6%"),         # 0.996 was written "100%"
    ((0, 30.04, 100, 200), "69.96%"),      # below the 70% "in" needs, was written "70%"
    ((0, 0, 100, 200), "100%"),
    ((0, 50, 100, 200), "50%"),
])
def test_the_share_inside_is_never_written_whole_when_it_is_not(o, share):
    _, why = spatial.decide("in", (0, 0, 100, 100), o)
    assert why.startswith(f"{share} of the subject box inside"), why
