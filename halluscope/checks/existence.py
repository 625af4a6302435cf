"""Existence: is there an object of the claimed kind in the image?

Supported when the source has an instance of (or lists as present) a label the claim's noun
stands for (:func:`halluscope.checks.common.match`: the same kind of thing, or a narrower one:
"suit" is supported by a ``space suit``); hallucinated when the source lists the label as
absent, or when the source is closed-world (COCO annotations, AMBER) and the label is one it
covers but not among the image's objects; unverifiable when the noun is outside the source's
vocabulary, the source is open-world, or only narrower labels are known and none is present.
"""

from __future__ import annotations

from halluscope.checks.common import (absence_detail, absence_evidence, checker, evidence_of,
                                      instances, match, name_of, state, unknown, unverifiable)
from halluscope.types import Claim, ImageFacts, Verdict


def check_existence(claim: Claim, facts: ImageFacts) -> Verdict:
    m = match(claim.subject, claim.node, facts)
    if not m:
        return unknown(claim, claim.subject, facts, claim.node, "existence")
    st = state(m, facts)
    label = name_of(m)
    if st == "present":
        ev = evidence_of(facts, m)
        n = len(instances(facts, m))
        return Verdict(claim, "supported", 1.0 if ev and ev[0].score is None else
                       float(ev[0].score or 1.0), ev,
                       f"{label} is in the image ({n or 'listed as present'}"
                       f"{(' instance' if n == 1 else ' instances') if n else ''})", checker(facts, "existence"))
    if st == "absent":
        detail = absence_detail(facts, label)
        why = (f"no {label} detected{detail}" if detail else
               f"{label} is listed as absent" if label in facts.absent else
               f"no {label} among the image's annotated objects (closed world)")
        return Verdict(claim, "hallucinated", 1.0, absence_evidence(facts, label), why,
                       checker(facts, "existence"))
    if m.wider:
        return unverifiable(claim, f"{label} is not annotated, but {' and '.join(m.wider)} is, "
                            f"which may be one", facts, "existence")
    return unverifiable(claim, f"{label} is not annotated for this image and the source is not "
                        f"exhaustive", facts, "existence")
