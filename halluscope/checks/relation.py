"""Relation: do the two objects stand in the claimed relation?

In order: hallucinated when either object is absent; supported when the source lists the
relation (``(subject, relation, object)``, compared by canonical spatial name or by words);
for relations that imply contact (``on``, ``holding``, ``riding``, ``wearing``, ...) hallucinated
when the source says the two are not in contact (AMBER); decided from boxes by the rules in
:mod:`halluscope.checks.spatial` for spatial relations; unverifiable otherwise.
"""

from __future__ import annotations

from halluscope.checks import spatial
from halluscope.checks.common import (absence_evidence, checker, evidence_of, existence_state,
                                      resolve, unverifiable)
from halluscope.checks.model import Verdict
from halluscope.claims.model import Claim
from halluscope.evidence.model import Evidence, ImageFacts

CONTACT_WORDS = ("on", "holding", "riding", "wearing", "carrying", "touching", "sitting on",
                 "standing on", "lying on", "in contact", "eating", "hugging", "leaning on",
                 "atop", "on top of", "perched on", "pushing", "pulling", "kicking", "grabbing",
                 "feeding", "petting", "resting on")


def implies_contact(relation: str) -> bool:
    r = relation.lower()
    return any(r == w or r.startswith(w + " ") or r.endswith(" " + w) for w in CONTACT_WORDS)


def _same_relation(a: str, b: str) -> bool:
    a, b = a.lower().strip(), b.lower().strip()
    if a == b:
        return True
    ca, cb = spatial.canonical(a), spatial.canonical(b)
    return ca is not None and ca == cb


def check_relation(claim: Claim, facts: ImageFacts) -> Verdict:
    rel = claim.relation or ""
    s_label, s_state = existence_state(claim.subject, claim.node, facts)
    o_label, o_state = existence_state(claim.object or "", claim.object_node, facts)
    for label, state in ((s_label, s_state), (o_label, o_state)):
        if label is not None and state == "absent":
            return Verdict(claim, "hallucinated", 1.0, absence_evidence(facts, label),
                           f"there is no {label}", checker(facts, "relation"))
    s_name = s_label or claim.subject
    o_name = o_label or claim.object or ""
    for (a, r, b) in facts.relations:
        ra = resolve(a, None, facts) or a
        rb = resolve(b, None, facts) or b
        if {ra, rb} != {s_name, o_name} and (ra, rb) != (s_name, o_name):
            continue
        ev = (Evidence(source="annotation", label=f"{a} {r} {b}",
                       payload={"relation": [a, r, b]}),)
        if r == "no contact" and implies_contact(rel):
            return Verdict(claim, "hallucinated", 1.0, ev, f"the annotation says {a} and {b} "
                           f"are not in contact, which '{rel}' needs", checker(facts, "relation"))
        if r == "contact" and rel.lower() in ("touching", "in contact with"):
            return Verdict(claim, "supported", 1.0, ev, f"the annotation says {a} and {b} touch",
                           checker(facts, "relation"))
        if (ra, rb) == (s_name, o_name) and _same_relation(r, rel):
            return Verdict(claim, "supported", 1.0, ev, f"annotated: {a} {r} {b}",
                           checker(facts, "relation"))
    canon = spatial.canonical(rel)
    if canon is None or (rel.split()[0].endswith(("ing", "ed")) and not
                         rel.lower().startswith(("sitting", "standing", "lying", "parked",
                                                 "placed", "located", "perched", "hanging",
                                                 "resting", "positioned", "seated", "lying"))):
        return unverifiable(claim, f"boxes cannot decide '{rel}'", facts, "relation")
    if s_label is None or o_label is None:
        return unverifiable(claim, "an object of the relation is outside the vocabulary", facts,
                            "relation")
    s_boxes = [i for i in facts.of(s_label) if i.box is not None]
    o_boxes = [i for i in facts.of(o_label) if i.box is not None]
    if not s_boxes or not o_boxes:
        return unverifiable(claim, f"no boxes for {s_label if not s_boxes else o_label}", facts,
                            "relation")
    if s_label == o_label and len(s_boxes) < 2:
        return unverifiable(claim, f"only one {s_label} box", facts, "relation")
    label, why, pair = spatial.decide_any(canon, [i.box for i in s_boxes],
                                          [i.box for i in o_boxes])
    ev = evidence_of(facts, s_label) + evidence_of(facts, o_label)
    if pair is not None and label == "supported":
        ev = (s_boxes[pair[0]].evidence(), o_boxes[pair[1]].evidence())
    if label is None:
        return unverifiable(claim, f"{canon}: too close to call ({why})", facts, "relation")
    return Verdict(claim, label, 1.0, ev, f"{canon}: {why}", checker(facts, "relation"))
