"""The data that flows through an audit, in one low module that every stage imports.

* :class:`Claim`: one atomic statement a response makes about the image or page (the claims
  stage makes them, the checks decide them);
* :class:`Evidence`, :class:`Instance`, :class:`ImageFacts`: what is really in the image or on
  the page, with where that knowledge came from (the evidence stage gathers them);
* :class:`Verdict`: a decision about one claim, with the evidence and the reason (the checks and
  judges give them);
* :class:`VerifiedRecord`: a record with every claim of its response and that claim's verdict
  (the verification stage hands it to the metrics).

It imports nothing of the package but :mod:`halluscope.records`, so no stage has to import
another (or one above it) to name these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from halluscope.records import Record

# -- claims -------------------------------------------------------------------------------------

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
        relation: The predicate of a relation claim (``"on"``, ``"next to"``, ``"holding"``);
            ``"at least"`` for a count claim whose number is a lower bound ("the second dog").
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


# -- evidence -----------------------------------------------------------------------------------

EvidenceSource = Literal["annotation", "detector", "segmenter", "ocr", "pdf", "judge"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence a verdict rests on.

    Attributes:
        source: ``annotation`` | ``detector`` | ``segmenter`` | ``ocr`` | ``pdf`` | ``judge``.
        label: The object or text the evidence is about (``"cat"``), when there is one.
        score: Detector or judge confidence, when there is one.
        box: ``[x1, y1, x2, y2]`` in pixels, when there is one.
        payload: Anything else (mask summary, OCR text, judge answer, attribute list, ...).
        provenance: Component, version or weights hash, config hash.
    """

    source: str
    label: str | None = None
    score: float | None = None
    box: tuple[float, float, float, float] | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source}
        if self.label is not None:
            out["label"] = self.label
        if self.score is not None:
            out["score"] = round(float(self.score), 4)
        if self.box is not None:
            out["box"] = [round(float(v), 2) for v in self.box]
        if self.payload:
            out.update({k: v for k, v in self.payload.items() if k not in out})
        if self.provenance:
            out["provenance"] = self.provenance
        return out


@dataclass(frozen=True, slots=True)
class Instance:
    """One object known to be in the image (an annotated instance or a detection).

    Attributes:
        label: The vocabulary node (``"cat"``, ``"dining table"``).
        box: ``[x1, y1, x2, y2]`` in pixels, when known.
        score: Detector confidence (``None`` for annotations).
        source: ``annotation`` or ``detector``.
        attributes: Attribute words known for this instance (annotation or measured colour).
        payload: Anything else (mask area, dominant colour measurement, region id, ...).
    """

    label: str
    box: tuple[float, float, float, float] | None = None
    score: float | None = None
    source: str = "annotation"
    attributes: tuple[str, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)

    def evidence(self, provenance: dict[str, Any] | None = None) -> Evidence:
        return Evidence(source=self.source, label=self.label, score=self.score, box=self.box,
                        payload=dict(self.payload, **({"attributes": list(self.attributes)}
                                                      if self.attributes else {})),
                        provenance=provenance or {})


@dataclass(frozen=True)
class ImageFacts:
    """What one evidence source knows about one image; checks decide claims against it.

    Attributes:
        key: Image key (COCO id, file name or content hash).
        instances: Objects with optional boxes, scores and attributes.
        present: Labels known to be present even without instances (e.g. AMBER "truth").
        absent: Labels known to be absent (e.g. AMBER "hallu" lists).
        vocabulary: Labels this source can speak about. A label in the vocabulary that is not
            present is hallucinated when ``closed_world`` is true (COCO annotations cover all 80
            categories; a detector covers the phrases it was asked about); anything outside the
            vocabulary is unverifiable.
        closed_world: See ``vocabulary``.
        relations: Known ``(subject, relation, object)`` triples.
        size: ``(width, height)`` of the image, when known.
        provenance: Which component produced these facts (name, version, weights/config hash).
    """

    key: str
    instances: tuple[Instance, ...] = ()
    present: frozenset[str] = frozenset()
    absent: frozenset[str] = frozenset()
    vocabulary: frozenset[str] | None = None
    closed_world: bool = False
    relations: frozenset[tuple[str, str, str]] = frozenset()
    size: tuple[int, int] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def labels(self) -> frozenset[str]:
        """Every label known to be present."""
        return self.present | {i.label for i in self.instances}

    def of(self, label: str) -> tuple[Instance, ...]:
        """The instances of ``label``."""
        return tuple(i for i in self.instances if i.label == label)


# -- verdicts -----------------------------------------------------------------------------------

VerdictLabel = Literal["supported", "hallucinated", "unverifiable"]
VERDICTS: tuple[str, ...] = ("supported", "hallucinated", "unverifiable")


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a claim holds.

    Attributes:
        claim: The claim decided.
        label: ``supported`` | ``hallucinated`` | ``unverifiable``.
        confidence: In [0, 1]; 1.0 for annotation-backed decisions; ``None`` when the checker
            gave none (a judge answer without a confidence): absent, never a default.
        evidence: The evidence the decision rests on (possibly empty for "nothing was found").
        reason: One sentence a person can read.
        checker: Which check decided it (``annotation-existence``, ``detector-existence``, ...).
    """

    claim: Claim
    label: str
    confidence: float | None = 1.0
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
            "verdict": self.label,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "reason": self.reason, "checker": self.checker,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class VerifiedRecord:
    """A record with every claim of its response and that claim's verdict."""

    record: Record
    verdicts: tuple[Verdict, ...]

    @property
    def claims(self) -> tuple[Any, ...]:
        """The claims, in response order (each verdict's claim)."""
        return tuple(v.claim for v in self.verdicts)

    def claims_list(self) -> list[dict[str, Any]]:
        """The ``"claims"`` list an item of ``items.jsonl`` holds; each claim with ``said``,
        the words of the response its span covers, so a reader sees what was checked
        without counting characters (absent where the span is not in the response)."""
        text = self.record.response if isinstance(self.record.response, str) else ""
        out = []
        for v in self.verdicts:
            d = v.to_dict()
            start, end = d["span"] if len(d["span"]) == 2 else (0, 0)
            if 0 <= start < end <= len(text):
                d = {k: d[k] for k in ("kind", "subject", "value", "relation", "object", "span")
                     } | {"said": text[start:end]} | d
            out.append(d)
        return out
