"""Attribute: does the object have the claimed attribute?

Words are compared case-insensitively after light normalisation (``grey`` = ``gray``, verbs by
lemma: ``sleeping`` = ``sleep``); the noun is matched to labels as for existence
(:func:`halluscope.checks.common.match`). Supported when an instance of the label carries the
attribute; hallucinated when the object is absent, when the annotation denies the attribute
(``absent_attributes``), or when the claim names a colour and every instance of the label has a
colour annotated, none of them this one (not when the noun is more general than the labels:
another kind of it may have that colour); unverifiable otherwise.

Colours a segmenter measured (``payload["colour"]``: :mod:`halluscope.evidence.detector_facts`)
are basic colour terms, so a claimed colour is first named as one
(:data:`~halluscope.evidence.detector_facts.COLOUR_WORDS`: ``silver`` is grey, ``golden``
yellow, ``navy`` blue); a colour word that names none (``teal``, ``dark``, ``colourful``) is
unverifiable against a measurement, never contradicted by it.
"""

from __future__ import annotations

from functools import lru_cache

from halluscope.checks.common import (absence_detail, absence_evidence, checker, evidence_of,
                                      instances, match, name_of, source_name,
                                      source_of, state, unknown, unverifiable)
from halluscope.claims.lexicon import COLORS
from halluscope.types import Claim, ImageFacts, Verdict

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


_COLOUR_FORMS = frozenset(norm(c) for c in COLORS)


def _measured(inst) -> bool:
    """Whether a segmenter measured some colour on ``inst``."""
    colour = inst.payload.get("colour")
    return isinstance(colour, dict) and bool(colour.get("colours"))


def _against_measured(claim: Claim, facts: ImageFacts, m, label: str, insts, value: str
                      ) -> Verdict:
    """A colour claim decided on the colours a segmenter measured (see the module docstring):
    "a silver car" measured grey was hallucinated ("annotated as grey, not silver"), and so was
    "a dark car", for a word the measurement has no term for."""
    from halluscope.evidence.detector_facts import COLOUR_WORDS
    basic = COLOUR_WORDS.get(value.strip().lower()) or COLOUR_WORDS.get(norm(value))
    if basic is None:
        terms = ", ".join(sorted(set(COLOUR_WORDS.values())))
        return unverifiable(claim, f"{value!r} is none of the colours the segmenter measures "
                            f"({terms})", facts, "attribute")
    said = value if basic == value.strip().lower() else f"{value} ({basic})"
    for inst in insts:
        if basic in inst.attributes:
            return Verdict(claim, "supported", 1.0 if inst.score is None else float(inst.score),
                           (inst.evidence(),), f"{inst.label} is measured as {said}",
                           checker(facts, "attribute"))
    if m.broader:       # another, unmeasured kind of the noun may have the colour
        return unverifiable(claim, f"no {label} is measured as {said}", facts, "attribute")
    if not all(_measured(i) for i in insts):    # (an empty mask measures no colour)
        return unverifiable(claim, f"no {label} measured is {said}, and not every {label} "
                            f"has a measured colour", facts, "attribute")
    measured = sorted({c for i in insts for c in i.attributes if c in COLOUR_WORDS.values()})
    return Verdict(claim, "hallucinated", 1.0, evidence_of(facts, m),
                   f"{label} is measured as {', '.join(measured) or 'no colour'}, not {said}",
                   checker(facts, "attribute"))


def check_attribute(claim: Claim, facts: ImageFacts) -> Verdict:
    m = match(claim.subject, claim.node, facts)
    if not m:
        return unknown(claim, claim.subject, facts, claim.node, "attribute")
    label = name_of(m)
    if state(m, facts) == "absent":
        return Verdict(claim, "hallucinated", 1.0, absence_evidence(facts, label),
                       f"there is no {label} to be {claim.value}{absence_detail(facts, label)}",
                       checker(facts, "attribute"))
    insts = instances(facts, m)
    value = str(claim.value)
    if norm(value) in _COLOUR_FORMS and any(_measured(i) for i in insts):
        return _against_measured(claim, facts, m, label, insts, value)
    for inst in insts:
        if _matches(value, inst.attributes):
            return Verdict(claim, "supported", 1.0 if inst.score is None else float(inst.score),
                           (inst.evidence(),), f"{inst.label} is annotated as {value}",
                           checker(facts, "attribute"))
    if m.broader:       # another, unannotated kind of the noun may have the attribute
        return unverifiable(claim, f"no {label} is annotated as {value}", facts, "attribute")
    for inst in insts:
        if _matches(value, inst.payload.get("absent_attributes", ())):
            return Verdict(claim, "hallucinated", 1.0, (inst.evidence(),),
                           f"the annotation says {label} is not {value}",
                           checker(facts, "attribute"))
    colours = {norm(c) for c in COLORS}
    if norm(value) in colours and insts and all(
            any(norm(a) in colours for a in i.attributes) for i in insts):
        annotated = sorted({a for i in insts for a in i.attributes if norm(a) in colours})
        return Verdict(claim, "hallucinated", 1.0, evidence_of(facts, m),
                       f"{label} is annotated as {', '.join(annotated)}, not {value}",
                       checker(facts, "attribute"))
    if source_of(facts) == "detector":   # ("no annotation says" named files never given)
        hint = (" (a --segmenter measures colours)" if norm(value) in _COLOUR_FORMS and
                not (facts.provenance or {}).get("segmenter") else "")
        return unverifiable(claim, f"the detector {source_name(facts)} does not say whether "
                            f"{label} is {value}{hint}", facts, "attribute")
    return unverifiable(claim, f"no annotation says whether {label} is {value}", facts,
                        "attribute")
