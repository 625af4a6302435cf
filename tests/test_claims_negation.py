"""Denials make no claim: the splitter's negation rules (halluscope/claims/negation.py), pinned
on hand-worked sentences, and what they do to the claims metric and FaithScore.

A denied object is left out as "There is no cat in the image." always was (the house's reading
of a denial: nothing is asserted about the cat), so a model that correctly denies an object is
never scored for it. Each case lists every claim (kind, subject[, value | relation, object]) in
the splitter's order, as in test_claims_split.py.
"""

from __future__ import annotations

import json

import pytest

from halluscope.claims.splitter import split_claims, split_claims_batch

pytest.importorskip("spacy")


def compact(c):
    if c.kind == "relation":
        return (c.kind, c.subject, c.relation, c.object)
    if c.kind == "existence":
        return (c.kind, c.subject)
    return (c.kind, c.subject, c.value)


# the bug hunt's sentences: each gave an asserted existence(cat) before
DENIALS = [
    ("Neither a cat nor a dog is visible.", []),
    ("Cats are not present in this picture.", []),
    ("There is no sign of a cat.", []),
    ("I don't think there is a cat.", []),
    ("The cat is absent.", []),
    ("There is a dog, not a cat.", [("existence", "dog")]),
    ("The photo lacks any cats.", []),
    ("There are zero cats.", []),
]

MORE_DENIALS = [
    ("I see neither a cat nor a dog.", []),
    ("A cat is not visible.", []),
    ("Not a single cat is visible.", []),
    ("Cats cannot be seen in the image.", []),
    ("A cat does not appear in the image.", []),
    ("The cat is not in the picture.", []),
    ("The cat is missing.", []),
    ("The cat and the dog are absent.", []),
    ("The cats are absent from the image.", []),
    ("A cat is nowhere to be seen.", []),
    ("There don't seem to be any cats.", []),
    ("I do not believe the image contains a cat.", []),
    ("There is a dog but not a cat.", [("existence", "dog")]),
    ("There are 0 cats.", []),
    ("The room is devoid of people.", [("existence", "room")]),
    ("I see no evidence of any cats.", []),
    ("A cat is visible, but the dog is not.", [("existence", "cat")]),
    ("A dog, not a cat, is visible.", [("existence", "dog")]),
    ("There is neither a cat nor a dog.", []),
    ("The kitchen lacks a refrigerator.", [("existence", "kitchen")]),
    ("The fridge is free of magnets.", [("existence", "fridge")]),
    ("The dog is sleeping and the cat is not visible.",
     [("existence", "dog"), ("attribute", "dog", "sleeping")]),
]

# positive controls: unchanged by the denial rules
KEPT = [
    ("A cat sits next to a dog.",
     [("existence", "cat"), ("existence", "dog"), ("relation", "cat", "next to", "dog")]),
    ("There is a cat and no dog.", [("existence", "cat")]),
    ("There is no cat in the image.", []),
    ("There are no cats or birds.", []),
    ("The dog is not sleeping.", [("existence", "dog")]),          # the dog is there
    ("The dog is not on the sofa.", [("existence", "dog")]),
    ("The cat does not appear to be sleeping.", [("existence", "cat")]),
    ("The cat's face is not visible.", [("existence", "cat")]),    # the face is denied
    ("A cat is nowhere near the dog.", [("existence", "cat"), ("existence", "dog")]),
    ("Not only a cat but also a dog is there.", [("existence", "cat"), ("existence", "dog")]),
    ("A stop sign is next to a cat.",
     [("existence", "stop sign"), ("existence", "cat"),
      ("relation", "stop sign", "next to", "cat")]),
    ("There are two brown cats.",
     [("existence", "cat"), ("count", "cat", 2), ("attribute", "cat", "brown")]),
    ("The cat is visible on the sofa.",
     [("existence", "cat"), ("existence", "sofa"), ("relation", "cat", "on", "sofa")]),
    ("There is no group of people on the beach.", [("existence", "beach")]),
    # a subject's "neither ... nor" or ", not X," denies the predicate, not the people
    ("Neither the man nor the woman is smiling.", [("existence", "man"), ("existence", "woman")]),
    ("The man, not the woman, is holding the umbrella.",
     [("existence", "man"), ("existence", "woman"), ("existence", "umbrella"),
      ("relation", "man", "holding", "umbrella")]),
    # a denied raising verb over a verb of perception: she does not notice it, it is there
    ("A woman stands near a bus; she does not seem to notice the bicycle behind her.",
     [("existence", "woman"), ("existence", "bus"), ("relation", "woman", "near", "bus"),
      ("existence", "bicycle")]),
]


@pytest.mark.parametrize("text,expected", DENIALS + MORE_DENIALS + KEPT)
def test_denials_make_no_claim(text, expected):
    assert [compact(c) for c in split_claims(text)] == expected


def test_no_denied_claim_is_asserted_in_a_batch():
    texts = [t for t, _ in DENIALS]
    for text, claims in zip(texts, split_claims_batch(texts)):
        assert not [c for c in claims if c.subject == "cat"], text


def test_a_coordinated_noun_with_its_own_article_is_asserted():
    # "no cat and a dog": the "no" of the first noun does not reach a noun that has its own
    # article (before, the dog was denied too); "no cats or birds" denies both
    assert [compact(c) for c in split_claims("There is no cat but a dog.")] == [
        ("existence", "dog")]


def test_denied_relations_and_attributes_make_no_claim():
    # neg-raising: the relation is denied, the cat is still there
    assert [compact(c) for c in split_claims("I don't think the cat is on the sofa.")] == [
        ("existence", "cat")]
    # a denied raising verb denies the relation of its infinitive
    claims = [compact(c) for c in split_claims(
        "There are people, but they do not seem to be involved with the dog.")]
    assert not [c for c in claims if c[0] == "relation"]
    # an absence predicate is no attribute of the absent thing
    assert not split_claims("The cat is absent.")


def test_the_object_of_lack_is_denied_and_the_subject_kept():
    assert [compact(c) for c in split_claims("The cat lacks a tail.")][0] == ("existence", "cat")
    assert "tail" not in {c.subject for c in split_claims("The cat lacks a tail.")}


ANN = {"images": {"a.jpg": {"size": [640, 480],
                            "objects": [{"label": "dog", "box": [10, 20, 200, 220]}],
                            "absent": ["cat"]}}}


@pytest.mark.parametrize("denial", [t for t, _ in DENIALS if "dog" not in t])
def test_a_correct_denial_is_not_scored_as_a_hallucination(tmp_path, denial):
    """The bug hunt's audit: a dog annotated, a cat annotated absent; "A dog." plus a denial
    of the cat had existence rate 0.5 and FaithScore 0.5; the denial is no claim now."""
    from halluscope.config import AuditConfig
    from halluscope.metrics.claims import ClaimsMetric
    from halluscope.metrics.faithscore import FaithScoreMetric
    from halluscope.records import record_from_dict
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(ANN))
    rec = {"id": "1", "image": "a.jpg", "response": f"A dog is here. {denial}"}
    m = ClaimsMetric.from_config(AuditConfig(annotations=[ann], n_boot=0))
    item = m.update(record_from_dict(rec))
    verdicts = [(c["kind"], c["subject"], c["verdict"]) for c in item.top["claims"]]
    assert verdicts == [("existence", "dog", "supported")]
    assert m.compute().results["existence_rate"].value == 0.0
    f = FaithScoreMetric.from_config(AuditConfig(annotations=[ann], n_boot=0))
    f.update(record_from_dict(rec))
    assert f.compute().results["faithscore"].value == 1.0
