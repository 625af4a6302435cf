"""The Claim: one atomic statement a response makes about the image or page."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

ClaimKind = Literal["existence", "count", "attribute", "relation", "region", "page"]
CLAIM_KINDS: tuple[str, ...] = ("existence", "count", "attribute", "relation", "region", "page")


@dataclass(frozen=True, slots=True)
class Claim:
    """One atomic claim.

    Attributes:
        kind: ``existence`` | ``count`` | ``attribute`` | ``relation`` | ``region`` | ``page``.
        subject: The head noun's lemma as written (``"dog"``, ``"teddy bear"``).
        value: The attribute word, the count (int), a cited box (list of 4 floats), a cited
            region id, a cited page number, ... depending on ``kind``.
        relation: The predicate of a relation claim (``"on"``, ``"next to"``, ``"holding"``).
        object: The second noun of a relation claim.
        span: ``(start, end)`` character offsets of the claim's words in the response.
        analytic: True for claims in speculative or interpretive sentences (FaithScore's
            analytic class); only descriptive claims are scored by default.
        node: The vocabulary entry ``subject`` maps to, or ``None`` when it is outside the
            vocabulary (such claims are neither supported nor hallucinated).
        object_node: The vocabulary entry ``object`` maps to, for relation claims.
        text: The sentence or phrase the claim came from.
        quote: A quoted string attributed to a page (page claims).
    """

    kind: str
    subject: str
    value: Any = None
    relation: str | None = None
    object: str | None = None
    span: tuple[int, int] = (0, 0)
    analytic: bool = False
    node: str | None = None
    object_node: str | None = None
    text: str | None = None
    quote: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["span"] = list(self.span)
        return out
