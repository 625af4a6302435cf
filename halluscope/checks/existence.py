"""Existence: is there an object of the claimed kind in the image?

Supported when the source has an instance of (or lists as present) the label the claim's noun
maps to; hallucinated when the source lists it as absent, or when the source is closed-world
(COCO annotations, AMBER) and the label is one it covers but not among the image's objects;
unverifiable when the noun is outside the source's vocabulary or the source is open-world.
"""

from __future__ import annotations

from halluscope.checks.common import (absence_evidence, checker, evidence_of, existence_state,
                                      unverifiable)
from halluscope.checks.model import Verdict
from halluscope.claims.model import Claim
from halluscope.evidence.model import ImageFacts


def check_existence(claim: Claim, facts: ImageFacts) -> Verdict:
    label, state = existence_state(claim.subject, claim.node, facts)
    if label is None:
        return unverifiable(claim, f"'{claim.subject}' is outside the vocabulary of "
                            f"{facts.provenance.get('name', 'this source')}", facts, "existence")
    if state == "present":
        ev = evidence_of(facts, label)
        return Verdict(claim, "supported", 1.0 if ev and ev[0].score is None else
                       float(ev[0].score or 1.0), ev,
                       f"{label} is in the image ({len(facts.of(label)) or 'listed as present'}"
                       f"{' instances' if facts.of(label) else ''})", checker(facts, "existence"))
    if state == "absent":
        why = (f"{label} is listed as absent" if label in facts.absent else
               f"no {label} among the image's annotated objects (closed world)")
        return Verdict(claim, "hallucinated", 1.0, absence_evidence(facts, label), why,
                       checker(facts, "existence"))
    return unverifiable(claim, f"{label} is not annotated for this image and the source is not "
                        f"exhaustive", facts, "existence")
