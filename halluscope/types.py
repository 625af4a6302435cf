"""Evidence: what is really in the image or on the page, with where that knowledge came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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
