"""Checks: a Claim and the facts about its image in, a Verdict out.

:func:`check_claim` asks each facts source in order until one decides (supported or
hallucinated); when none does, a judge (any object with ``check_claim(claim, facts)`` returning
a :class:`Verdict`, or a callable doing the same) gets the last word; otherwise the claim is
unverifiable with the first source's reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from halluscope.checks.model import VERDICTS, Verdict
from halluscope.claims.model import Claim
from halluscope.evidence.model import ImageFacts


def _checkers():
    from halluscope.checks.attribute import check_attribute
    from halluscope.checks.count import check_count
    from halluscope.checks.existence import check_existence
    from halluscope.checks.relation import check_relation
    return {"existence": check_existence, "count": check_count,
            "attribute": check_attribute, "relation": check_relation}


_CHECKERS: dict | None = None


def check_claim(claim: Claim, facts: Sequence[ImageFacts] | ImageFacts | None,
                judge=None) -> Verdict:
    """Decide one claim against facts sources, in order."""
    global _CHECKERS
    if _CHECKERS is None:
        _CHECKERS = _checkers()
    if isinstance(facts, ImageFacts):
        facts = (facts,)
    facts = tuple(facts or ())
    fn = _CHECKERS.get(claim.kind)
    first: Verdict | None = None
    if fn is None:
        first = Verdict(claim, "unverifiable", 0.0, reason=f"no check for {claim.kind} claims",
                        checker="none")
    else:
        for f in facts:
            v = fn(claim, f)
            if v.label != "unverifiable":
                return v
            first = first or v
    if judge is not None:
        decide = getattr(judge, "check_claim", None) or judge
        v = decide(claim, facts)
        if isinstance(v, Verdict):
            return v
    if first is None:
        first = Verdict(claim, "unverifiable", 0.0,
                        reason="no evidence source knows this image", checker="none")
    return first


__all__ = ["VERDICTS", "Verdict", "check_claim"]
