"""The Verdict: a decision about one claim, with the evidence and the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from halluscope.claims.model import Claim
from halluscope.evidence.model import Evidence

VerdictLabel = Literal["supported", "hallucinated", "unverifiable"]
VERDICTS: tuple[str, ...] = ("supported", "hallucinated", "unverifiable")


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a claim holds.

    Attributes:
        claim: The claim decided.
        label: ``supported`` | ``hallucinated`` | ``unverifiable``.
        confidence: In [0, 1]; 1.0 for annotation-backed decisions.
        evidence: The evidence the decision rests on (possibly empty for "nothing was found").
        reason: One sentence a person can read.
        checker: Which check decided it (``annotation-existence``, ``detector-existence``, ...).
    """

    claim: Claim
    label: str
    confidence: float = 1.0
    evidence: tuple[Evidence, ...] = ()
    reason: str = ""
    checker: str = ""

    def __post_init__(self):
        if self.label not in VERDICTS:
            raise ValueError(f"expected a verdict in {VERDICTS}, got {self.label!r}")

    def to_dict(self) -> dict[str, Any]:
        c = self.claim
        return {
            "kind": c.kind, "subject": c.subject, "value": c.value, "relation": c.relation,
            "object": c.object, "span": list(c.span), "analytic": c.analytic, "node": c.node,
            "object_node": c.object_node,
            "verdict": self.label, "confidence": round(self.confidence, 4),
            "reason": self.reason, "checker": self.checker,
            "evidence": [e.to_dict() for e in self.evidence],
        }
