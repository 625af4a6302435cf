"""Count: are there as many objects as the claim says?

The claim's noun is matched to labels exactly as for existence
(:func:`halluscope.checks.common.match`). The known count is the number of instances of those
labels when they are exhaustively annotated (:func:`exhaustive`) and none of them is a crowd
region, or the count an annotation states (AMBER number questions). Supported when it equals
the claimed count; hallucinated when it differs, when the annotation denies that count, or when
the object is absent altogether; unverifiable otherwise. When the noun is more general than the
labels ("two towers" against ``metal tower`` and ``lattice tower``), their count is a lower
bound: a smaller claimed count is hallucinated, an equal one supported, a larger one
unverifiable. So are annotated instances of a label that is not exhaustively annotated
(``not_exhaustive``): fewer than them is hallucinated, as docs/annotations.md says.

A detector's count is a lower bound too (its recall is below 1; ``counts: at_least`` in the
facts' provenance, the default of ``--option detector_counts``): fewer than it detected is
hallucinated, as many is supported, more is unverifiable (one cat found does not make "two
cats" a hallucination). ``detector_counts=exact`` reads it as exact, as before.

A count claim whose ``relation`` is ``"at least"`` (:data:`AT_LEAST`: "the second dog", "three
of the cups") is a lower bound: as many listed instances or more support it, a known exact count
below it makes it hallucinated, anything else leaves it unverifiable.
"""

from __future__ import annotations

from halluscope.checks.common import (Match, absence_detail, absence_evidence, checker,
                                      evidence_of, instances, match, name_of, unknown,
                                      source_of, state, unverifiable)
from halluscope.claims.counts import AT_LEAST
from halluscope.types import Claim, ImageFacts, Verdict


def exhaustive(facts: ImageFacts, label: str) -> bool:
    """Whether every instance of ``label`` in the image is annotated: closed-world sources
    (COCO), and sources that say so for the labels they annotate (halluscope's simple format
    unless ``"exhaustive_counts": false`` or the label is in ``"not_exhaustive"``)."""
    prov = facts.provenance or {}
    if label in prov.get("not_exhaustive", ()):
        return False
    return facts.closed_world or bool(prov.get("exhaustive_counts"))


def known_count(facts: ImageFacts, label: str | Match) -> tuple[int | None, set[int]]:
    """``(count or None, counts known to be wrong)``."""
    m = label if isinstance(label, Match) else Match((label,))
    insts = instances(facts, m)
    denied: set[int] = set()
    for i in insts:
        denied.update(int(n) for n in i.payload.get("not_counts", ()))
        if "count" in i.payload and len(m.labels) == 1:
            return int(i.payload["count"]), denied
    if insts and all(exhaustive(facts, lab) for lab in m.labels) and \
            not any(i.payload.get("crowd") for i in insts) and \
            all(i.source == insts[0].source and i.box is not None for i in insts):
        return len(insts), denied
    return None, denied


def check_count(claim: Claim, facts: ImageFacts) -> Verdict:
    try:
        n = int(claim.value)
    except (TypeError, ValueError):
        return unverifiable(claim, f"expected a number, got {claim.value!r}", facts, "count")
    m = match(claim.subject, claim.node, facts)
    if not m:
        return unknown(claim, claim.subject, facts, claim.node, "count")
    label = name_of(m)
    if state(m, facts) == "absent" and n > 0:
        return Verdict(claim, "hallucinated", 1.0, absence_evidence(facts, label),
                       f"there is no {label} at all{absence_detail(facts, label)}",
                       checker(facts, "count"))
    if claim.relation == AT_LEAST:
        return _check_at_least(claim, n, m, facts)
    k, denied = known_count(facts, m)
    ev = evidence_of(facts, m, limit=50)
    # a detector's instances are detected: "8 cat annotated" named annotations the user never gave
    found = "detected" if source_of(facts) == "detector" else "annotated"
    if k is not None:
        if k == n:
            return Verdict(claim, "supported", 1.0, ev, f"{label}: {k} {found}",
                           checker(facts, "count"))
        if k > n or not (m.broader or _lower_bound(facts)):
            return Verdict(claim, "hallucinated", 1.0, ev, f"{label}: {k} {found}, not {n}",
                           checker(facts, "count"))
        if not m.broader:
            return unverifiable(claim, f"{label}: {k} {found}, the response says {n}; a "
                                f"detector misses some, so more may be there "
                                f"(detector_counts=at_least)", facts, "count")
        return unverifiable(claim, f"{label}: {k} {found}; other kinds of {claim.subject} may "
                            f"make up {n}", facts, "count")
    if n in denied and not m.broader:
        return Verdict(claim, "hallucinated", 1.0, ev, f"the annotation says there are not "
                       f"{n} {label}", checker(facts, "count"))
    at_least = _listed(facts, m)
    if n < at_least:      # not every one is annotated (detected), but these are: fewer cannot be
        return Verdict(claim, "hallucinated", 1.0, ev, f"{label}: at least {at_least} "
                       f"{found}, not {n}", checker(facts, "count"))
    return unverifiable(claim, _why_unknown(facts, m), facts, "count")


def _why_unknown(facts: ImageFacts, m: Match) -> str:
    """Why the number of the match's objects is not known ("the number of dog is not known"
    said neither what was missing nor how to give it)."""
    label, insts = name_of(m), instances(facts, m)
    if not insts:
        return f"{label}: no instances listed one by one, so the number is not known"
    if any(i.payload.get("crowd") for i in insts):
        return f"{label}: annotated as a crowd, so the number is not known"
    if not all(exhaustive(facts, lab) for lab in m.labels):
        return f"{label}: the source does not list every one, so the number is not known"
    if any(i.box is None for i in insts):
        return f"{label}: annotated without a box for each one, so the number is not known"
    return f"{label}: the number is not known"


def _listed(facts: ImageFacts, m: Match) -> int:
    """How many instances of the match's labels are annotated (or detected) one by one."""
    return sum(1 for i in instances(facts, m)
               if i.source in ("annotation", "detector") and not i.payload.get("crowd"))


def _check_at_least(claim: Claim, n: int, m: Match, facts: ImageFacts) -> Verdict:
    """A lower bound ("the second dog": at least 2 dogs): supported by as many listed
    instances or more; hallucinated only by a known exact count below it."""
    k, _denied = known_count(facts, m)
    ev = evidence_of(facts, m, limit=50)
    found = "detected" if source_of(facts) == "detector" else "annotated"
    listed = max(_listed(facts, m), k or 0)
    if listed >= n:
        return Verdict(claim, "supported", 1.0, ev, f"{name_of(m)}: {listed} {found}, at "
                       f"least {n} as the response implies", checker(facts, "count"))
    if k is not None and not (m.broader or _lower_bound(facts)):
        return Verdict(claim, "hallucinated", 1.0, ev, f"{name_of(m)}: {k} {found}, the "
                       f"response implies at least {n}", checker(facts, "count"))
    if listed:
        return unverifiable(claim, f"{name_of(m)}: {listed} {found}, the response implies at "
                            f"least {n}; more may be there unannotated or undetected", facts,
                            "count")
    return unverifiable(claim, _why_unknown(facts, m), facts, "count")


def _lower_bound(facts: ImageFacts) -> bool:
    """Whether the facts' counts bound from below only (a detector's, by default)."""
    return (facts.provenance or {}).get("counts") == "at_least"
