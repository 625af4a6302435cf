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
