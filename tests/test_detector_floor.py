"""A detector object whose floor is above the absent threshold: an object it scored between the
two was reported as nothing, read as a best score of 0 and so as absent ("no cat detected",
hallucinated), where the thresholds call such a score unsure. Such a configuration is refused."""

from __future__ import annotations

import numpy as np
import pytest

from halluscope.errors import ConfigError
from halluscope.evidence.detect import Detection, Thresholds

class _Floored:
    """Scores every phrase 0.25, and reports nothing below its floor."""

    name = "floored"
    backend = "test"
    vocabulary = None

    def __init__(self, floor, thresholds=Thresholds(present=0.5, absent=0.2, floor=0.05)):
        self.floor, self.thresholds = floor, thresholds

    def detect(self, image, phrases):
        return [Detection(p, (1.0, 1.0, 9.0, 9.0), 0.25) for p in phrases if 0.25 >= self.floor]

    def provenance(self):
        return {"backend": "test", "floor": self.floor}


def test_a_floor_above_absent_is_refused(tmp_path):
    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detector_facts import DetectorFacts
    cache = EvidenceCache(tmp_path / "c")
    with pytest.raises(ConfigError, match=r"detector floored reports nothing below its floor "
                                          r"0\.3, above the absent threshold 0\.2.*floor <= absent"):
        DetectorFacts(_Floored(0.3), cache=cache)
    # thresholds of one's own below the object's floor: the same gap
    with pytest.raises(ConfigError, match="floor 0.1, above the absent threshold 0.05"):
        DetectorFacts(_Floored(0.1), cache=cache,
                      thresholds=Thresholds(present=0.5, absent=0.05, floor=0.01))
    # a floor at or below absent: an object it reports nothing of did score below absent
    DetectorFacts(_Floored(0.2), cache=cache)


def test_the_gap_was_read_as_absent_before(tmp_path):
    """What the refusal prevents: with floor 0.2 (= absent) the cat scored 0.25 is unsure."""
    from PIL import Image

    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detector_facts import DetectorFacts
    from halluscope.types import Claim
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(tmp_path / "img.png")
    facts = DetectorFacts(_Floored(0.2), cache=EvidenceCache(tmp_path / "c")).image_facts(
        tmp_path / "img.png", [Claim("existence", "cat", node="cat")])
    assert "cat" not in facts.absent and facts.provenance["uncertain"] == {"cat": 0.25}
