"""Attribute: does the object have the claimed attribute?

Words are compared case-insensitively after light normalisation (``grey`` = ``gray``, verbs by
lemma: ``sleeping`` = ``sleep``). Supported when an instance of the label carries the attribute;
hallucinated when the object is absent, when the annotation denies the attribute
(``absent_attributes``), or when the claim names a colour and every instance of the label has a
colour annotated, none of them this one; unverifiable otherwise.
"""

from __future__ import annotations

from functools import lru_cache

from halluscope.checks.common import (absence_evidence, checker, evidence_of, existence_state,
                                      unverifiable)
from halluscope.checks.model import Verdict
from halluscope.claims.lexicon import COLORS
from halluscope.claims.model import Claim
from halluscope.evidence.model import ImageFacts

_SAME = {"grey": "gray", "colour": "color", "blonde": "blond", "golden": "gold"}


@lru_cache(maxsize=8192)
def norm(word: str) -> str:
    """A comparable form of an attribute word or phrase (first word's lemma for verbs)."""
    w = str(word).strip().lower()
    w = _SAME.get(w, w)
    first = w.split()[0] if w else w
    if first.endswith(("ing", "ed")) and len(first) > 4:
        try:
            from lemminflect import getLemma
            lem = getLemma(first, upos="VERB")
            if lem:
                return lem[0]
        except ImportError:  # pragma: no cover
            pass
    return first if " " in w and first.endswith(("ing", "ed")) else w


def _matches(value: str, attrs) -> bool:
    v = norm(value)
    return any(norm(a) == v or norm(a).split()[0] == v for a in attrs)


def check_attribute(claim: Claim, facts: ImageFacts) -> Verdict:
    label, state = existence_state(claim.subject, claim.node, facts)
    if label is None:
        return unverifiable(claim, f"'{claim.subject}' is outside the vocabulary", facts,
                            "attribute")
    if state == "absent":
        return Verdict(claim, "hallucinated", 1.0, absence_evidence(facts, label),
                       f"there is no {label} to be {claim.value}", checker(facts, "attribute"))
    insts = facts.of(label)
    value = str(claim.value)
    for inst in insts:
        if _matches(value, inst.attributes):
            return Verdict(claim, "supported", 1.0 if inst.score is None else float(inst.score),
                           (inst.evidence(),), f"{label} is annotated as {value}",
                           checker(facts, "attribute"))
    for inst in insts:
        if _matches(value, inst.payload.get("absent_attributes", ())):
            return Verdict(claim, "hallucinated", 1.0, (inst.evidence(),),
                           f"the annotation says {label} is not {value}",
                           checker(facts, "attribute"))
    if norm(value) in {norm(c) for c in COLORS} and insts and all(
            any(norm(a) in {norm(c) for c in COLORS} for a in i.attributes) for i in insts):
        colours = sorted({a for i in insts for a in i.attributes if norm(a) in
                          {norm(c) for c in COLORS}})
        return Verdict(claim, "hallucinated", 1.0, evidence_of(facts, label),
                       f"{label} is annotated as {', '.join(colours)}, not {value}",
                       checker(facts, "attribute"))
    return unverifiable(claim, f"no annotation says whether {label} is {value}", facts,
                        "attribute")
