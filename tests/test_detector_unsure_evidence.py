"""A claim the detector is unsure of (its best score between the absent and the present
thresholds) is unverifiable with that score in its reason; the detection itself (score, box,
thresholds) is now its evidence, so the number in the reason can be opened in items.jsonl and
the report, as an absence's can (it had no evidence at all)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from halluscope.checks import check_claim
from halluscope.evidence.cache import EvidenceCache
from halluscope.evidence.detect import Detection, Thresholds
from halluscope.evidence.detector_facts import DetectorFacts
from halluscope.types import Claim


class _Scores:
    """Scores 'cat' 0.4 (unsure under present 0.5 / absent 0.2) twice, 'dog' 0.9, 'cup' 0.1."""

    name = "scores"
    backend = "test"
    vocabulary = None
    thresholds = Thresholds(present=0.5, absent=0.2, floor=0.05)
    floor = 0.05

    def detect(self, image, phrases):
        table = {"cat": [((2.0, 2.0, 12.0, 10.0), 0.3), ((1.0, 1.0, 9.0, 9.0), 0.4)],
                 "dog": [((3.0, 3.0, 8.0, 8.0), 0.9)], "cup": [((0.0, 0.0, 4.0, 4.0), 0.1)]}
        return [Detection(p, box, s) for p in phrases for box, s in table.get(p, [])]

    def provenance(self):
        return {"backend": "test", "floor": self.floor}


def _facts(tmp_path, claims):
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(tmp_path / "img.png")
    return DetectorFacts(_Scores(), cache=EvidenceCache(tmp_path / "c")).image_facts(
        tmp_path / "img.png", claims)


def test_an_unsure_detection_is_the_evidence_of_an_unverifiable_claim(tmp_path):
    claims = [Claim("existence", "cat", node="cat"),
              Claim("attribute", "cat", value="black", node="cat"),
              Claim("count", "cat", value="2", node="cat"),
              Claim("relation", "dog", relation="next to", object="cat", node="dog",
                    object_node="cat")]
    facts = _facts(tmp_path, claims)
    for claim in claims:
        v = check_claim(claim, [facts])
        assert v.label == "unverifiable" and "score 0.40 for 'cat', neither present" in \
            v.reason, v
        (ev,) = v.evidence
        d = ev.to_dict()
        assert (d["source"], d["label"], d["score"]) == ("detector", "cat", 0.4)
        assert d["box"] == [1.0, 1.0, 9.0, 9.0]          # the best of the two, not the first
        assert (d["uncertain"], d["present"], d["absent"]) == (True, 0.5, 0.2)
    assert v.confidence is None


def test_decided_claims_keep_their_own_evidence(tmp_path):
    claims = [Claim("existence", "dog", node="dog"), Claim("existence", "cup", node="cup")]
    facts = _facts(tmp_path, claims)
    v = check_claim(claims[0], [facts])
    assert v.label == "supported" and v.evidence[0].score == 0.9
    assert "uncertain" not in v.evidence[0].payload
    v = check_claim(claims[1], [facts])                  # below absent: hallucinated, as before
    assert v.label == "hallucinated" and v.evidence[0].payload.get("below") == 0.2
