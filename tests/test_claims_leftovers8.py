"""Leftovers of the claims metric found by a user's hunt (8): a detector's counts and absences
read as evidence of recall below 1, ordinals after a count, abstract nouns as objects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from halluscope.checks import check_claim
from halluscope.errors import ConfigError
from halluscope.evidence.cache import EvidenceCache
from halluscope.evidence.detect import THRESHOLDS, Detection, Thresholds
from halluscope.evidence.detector_facts import DetectorFacts
from halluscope.types import Claim
from tests.tiny_detectors import isolated_cache  # noqa: F401

DATA = Path(__file__).resolve().parents[1] / "data"


class Cats:
    """A closed-vocabulary detector that finds the detections it was built with."""

    name = "cats"
    backend = "test"
    vocabulary = ("cat", "dog", "spoon")

    def __init__(self, detections, thresholds=Thresholds(present=0.5, absent=0.1)):
        self.detections = list(detections)
        self.thresholds = thresholds

    def detect(self, image, phrases):
        return list(self.detections)

    def provenance(self):
        return {"backend": "test"}


def _facts(tmp_path, detections, claims, **kw):
    from PIL import Image
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(tmp_path / "img.png")
    det = DetectorFacts(Cats(detections), cache=EvidenceCache(None), **kw)
    return det, det.image_facts(tmp_path / "img.png", claims)


def _count(n, word="cat"):
    return Claim("count", word, value=n, node=word)


ONE_CAT = [Detection("cat", (0.0, 0.0, 20.0, 20.0), 0.9)]
TWO_CATS = ONE_CAT + [Detection("cat", (30.0, 5.0, 55.0, 30.0), 0.8)]


# -- 1. a detector's count bounds from below -----------------------------------------------------

def test_one_detected_cat_does_not_make_two_cats_hallucinated(tmp_path):
    det, facts = _facts(tmp_path, ONE_CAT, [_count(2)])
    v1, v2 = (check_claim(_count(n), facts) for n in (1, 2))
    assert v1.label == "supported"
    assert v2.label == "unverifiable" and "more may be there" in v2.reason
    assert facts.provenance["counts"] == "at_least" and det.describe()["counts"] == "at_least"


def test_more_detected_than_claimed_is_hallucinated(tmp_path):
    _, facts = _facts(tmp_path, TWO_CATS, [_count(1)])
    v = check_claim(_count(1), facts)
    assert v.label == "hallucinated" and v.reason == "cat: 2 detected, not 1"
    # an unsure third one beside them leaves the count open above, not below
    unsure = TWO_CATS + [Detection("cat", (40.0, 30.0, 59.0, 39.0), 0.3)]
    _, facts = _facts(tmp_path, unsure, [_count(1)])
    assert [check_claim(_count(n), facts).label for n in (1, 2, 3)] == \
        ["hallucinated", "unverifiable", "unverifiable"]
    assert check_claim(_count(1), facts).reason == "cat: at least 2 detected, not 1"


def test_exact_counts_are_an_option(tmp_path):
    det, facts = _facts(tmp_path, ONE_CAT, [_count(2)], counts="exact")
    assert check_claim(_count(2), facts).reason == "cat: 1 detected, not 2"
    assert det.describe()["counts"] == "exact"
    with pytest.raises(ConfigError, match="option 'detector_counts': expected one of "
                                          "at_least, exact, got 'lower'"):
        _facts(tmp_path, ONE_CAT, [], counts="lower")
    from halluscope.metrics.settings import check_audit_option
    with pytest.raises(ConfigError, match="detector_counts"):
        check_audit_option("detector_counts", "lower")


def test_from_config_reads_the_option():
    from halluscope.config import AuditConfig
    cfg = AuditConfig(detector="coco-ssd", options={"detector_counts": "exact"})
    assert DetectorFacts.from_config(cfg, cache=EvidenceCache(None)).counts == "exact"
    cfg = AuditConfig(detector="coco-ssd")
    assert DetectorFacts.from_config(cfg, cache=EvidenceCache(None)).counts == "at_least"


# -- 1. absence only when nothing of the class scores above a low floor --------------------------

def test_a_low_score_miss_is_unsure_not_absent(tmp_path):
    """COCO SSD scores the spoon of scikit-image's coffee 0.19 to 0.26: it was "no spoon
    detected (best score 0.26 < 0.3)", hallucinated. Absent is now below 0.1."""
    assert THRESHOLDS["coco-ssd"] == Thresholds(present=0.5, absent=0.1)
    spoon = Claim("existence", "spoon", node="spoon")
    dog = Claim("existence", "dog", node="dog")
    dets = [Detection("spoon", (1.0, 1.0, 9.0, 9.0), 0.19),
            Detection("dog", (1.0, 1.0, 9.0, 9.0), 0.07)]
    _, facts = _facts(tmp_path, dets, [spoon, dog])
    assert check_claim(spoon, facts).label == "unverifiable"
    v = check_claim(dog, facts)
    assert v.label == "hallucinated" and "0.07, below its absent threshold 0.1" in v.reason


# -- 2. ordinals after a count -------------------------------------------------------------------

@pytest.mark.parametrize("text, count", [
    ("Two dogs play near the fence. A third dog sleeps on the porch.", 3),
    ("Two dogs play in the park. Another dog watches them.", 3),
    ("Two dogs play near the fence. A third dog sleeps. Another dog runs.", 4),
    ("Three cars are parked on the street. The fifth car is red.", 5),
    # picking one of the two, naming the second, or one part of an enumeration: no change
    ("Two dogs are in the yard. One dog is brown, and another dog is white.", 2),
    ("Two dogs are in the yard. The second dog is white. The other dog is brown.", 2),
    ("There is one car on the left, two cars on the right side, and another car further "
     "down the street.", 2),
    ("Two dogs play. Another cat sleeps.", 2),
])
def test_an_ordinal_after_a_count_raises_it(text, count):
    from halluscope.claims import split_claims
    (c,) = [c for c in split_claims(text) if c.kind == "count" and c.value != 1]
    assert c.value == count
    if count > 2 and "Three" not in text:
        # the claim spans both mentions: what it says is what the two say together
        assert text[c.span[0]:c.span[1]].startswith("Two dogs") and \
            text[c.span[1] - 3:c.span[1]] == "dog"


# -- 3. abstract nouns name nothing a picture shows ----------------------------------------------

@pytest.mark.parametrize("text, gone", [
    ("The fence encloses the area, ensuring the zebra's safety.", "safety"),
    ("The clock above the door is a focal point of the building.", "point"),
    ("He is browsing the internet on his laptop.", "internet"),
    ("The boat carries lifejackets for use during emergencies.", "emergency"),
    ("A man rides a motorcycle and is enjoying the ride.", "ride"),
    ("The train appears to be in a state of disrepair.", "state"),
    ("Two dogs sit in close proximity to each other.", "proximity"),
])
def test_an_abstract_noun_makes_no_claim(text, gone):
    from halluscope.claims import split_claims
    subjects = {c.subject for c in split_claims(text)} | \
        {c.object for c in split_claims(text) if c.object}
    assert gone not in subjects and not any(s.endswith(" " + gone) for s in subjects)


@pytest.mark.parametrize("text, kept", [
    ("A hot dog with relish sits on a plate.", "relish"),
    ("A car waits at the intersection.", "intersection"),
    ("A basketball lies on the court.", "basketball"),
    ("An egg carton is on the counter.", "egg carton"),
    ("The fin of the surfboard is yellow.", "fin"),
    ("The cityscape stretches behind the bridge.", "cityscape"),
])
def test_a_thing_wordnet_knows_first_as_an_abstraction_is_kept(text, kept):
    from halluscope.claims import split_claims
    assert kept in {c.subject for c in split_claims(text) if c.kind == "existence"}


def test_depictable_reads_wordnet_lexnames():
    from halluscope.claims.vocab import is_depictable
    assert is_depictable("ride") is False          # act 7 uses; the fairground ride, none
    assert is_depictable("bustle") is False
    assert is_depictable("dog") is True and is_depictable("field") is True
    assert is_depictable("cityscape") is True      # no sense of it seen in use: kept
    assert is_depictable("qwzx") is None


# -- by hand, as a user: COCO SSD on scikit-image's photos ---------------------------------------

def test_coco_ssd_on_the_sample_photos(tmp_path):
    pytest.importorskip("cv2")
    from halluscope.cli import app
    lines = [{"id": "cat", "image": str(DATA / "images" / "chelsea.jpg"),
              "response": "Two cats are lying on a bed. A dog sleeps beside them."},
             {"id": "cup", "image": str(DATA / "images" / "coffee.jpg"),
              "response": "A cup of coffee sits on a saucer, with a spoon beside the cup."}]
    (tmp_path / "out.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    res = CliRunner().invoke(app, ["audit", str(tmp_path / "out.jsonl"), "--metric",
                                   "claims,faithscore", "--detector", "coco-ssd", "--out",
                                   str(tmp_path / "run"), "--bootstrap", "0", "--no-report",
                                   "-q"])
    assert res.exit_code == 0, res.output
    got = {(row["id"], c["kind"], c["subject"]): c["verdict"]
           for row in map(json.loads, (tmp_path / "run" / "items.jsonl").open())
           for c in row["claims"]}
    assert got[("cat", "count", "cat")] == "unverifiable"        # one cat found: two at least?
    assert got[("cat", "existence", "bed")] == "unverifiable"     # bed 0.28: unsure
    assert got[("cat", "existence", "dog")] == "hallucinated"     # nothing of it above 0.1
    assert got[("cup", "existence", "spoon")] == "unverifiable"   # spoon 0.26: unsure
    sheet = json.loads((tmp_path / "run" / "runsheet.json").read_text())
    text = json.dumps(sheet)
    assert '"counts": "at_least"' in text and '"absent": 0.1' in text
