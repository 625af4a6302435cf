"""Count: are there as many objects as the claim says?

The known count is the number of instances of the label when the source is closed-world and
none of them is a crowd region, or the count an annotation states (AMBER number questions).
Supported when it equals the claimed count; hallucinated when it differs, when the annotation
denies that count, or when the object is absent altogether; unverifiable otherwise.
"""

from __future__ import annotations

from halluscope.checks.common import (absence_evidence, checker, evidence_of, existence_state,
                                      unverifiable)
from halluscope.checks.model import Verdict
from halluscope.claims.model import Claim
from halluscope.evidence.model import ImageFacts


def known_count(facts: ImageFacts, label: str) -> tuple[int | None, set[int]]:
    """``(count or None, counts known to be wrong)``."""
    insts = facts.of(label)
    denied: set[int] = set()
    for i in insts:
        denied.update(int(n) for n in i.payload.get("not_counts", ()))
        if "count" in i.payload:
            return int(i.payload["count"]), denied
    if insts and facts.closed_world and not any(i.payload.get("crowd") for i in insts) and \
            all(i.source == insts[0].source for i in insts) and insts[0].box is not None:
        return len(insts), denied
    return None, denied


def check_count(claim: Claim, facts: ImageFacts) -> Verdict:
    try:
        n = int(claim.value)
    except (TypeError, ValueError):
        return unverifiable(claim, f"expected a number, got {claim.value!r}", facts, "count")
    label, state = existence_state(claim.subject, claim.node, facts)
    if label is None:
        return unverifiable(claim, f"'{claim.subject}' is outside the vocabulary", facts, "count")
    if state == "absent" and n > 0:
        return Verdict(claim, "hallucinated", 1.0, absence_evidence(facts, label),
                       f"there is no {label} at all", checker(facts, "count"))
    k, denied = known_count(facts, label)
    ev = evidence_of(facts, label, limit=50)
    if k is not None:
        if k == n:
            return Verdict(claim, "supported", 1.0, ev, f"{k} {label} annotated",
                           checker(facts, "count"))
        return Verdict(claim, "hallucinated", 1.0, ev, f"{k} {label} annotated, not {n}",
                       checker(facts, "count"))
    if n in denied:
        return Verdict(claim, "hallucinated", 1.0, ev, f"the annotation says there are not "
                       f"{n} {label}", checker(facts, "count"))
    return unverifiable(claim, f"the number of {label} is not known", facts, "count")
