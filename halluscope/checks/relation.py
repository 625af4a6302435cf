"""Relation: do the two objects stand in the claimed relation?

Both nouns are matched to labels as for existence (:func:`halluscope.checks.common.match`).
In order: hallucinated when either object is absent; supported when the source lists the
relation (``(subject, relation, object)``, compared by canonical spatial name or by words) or
its converse (``(woman, in front of, flag)`` supports "flag behind woman"), hallucinated when it
lists the opposite spatial relation;
for relations that imply contact (``on``, ``holding``, ``riding``, ``wearing``, ...) hallucinated
when the source says the two are not in contact (AMBER); decided from boxes by the rules in
:mod:`halluscope.checks.spatial` for spatial relations; unverifiable otherwise.
"""

from __future__ import annotations

from functools import lru_cache

from halluscope.checks import spatial
from halluscope.checks.common import (absence_detail, absence_evidence, checker, evidence_of,
                                      instances, match, name_of, resolve, state, unknown,
                                      unverifiable)
from halluscope.evidence.detect import has_area
from halluscope.types import Claim, Evidence, ImageFacts, Verdict

CONTACT_WORDS = ("on", "holding", "riding", "wearing", "carrying", "touching", "sitting on",
                 "standing on", "lying on", "in contact", "eating", "hugging", "leaning on",
                 "atop", "on top of", "perched on", "pushing", "pulling", "kicking", "grabbing",
                 "feeding", "petting", "resting on")

#: Spatial relations seen from the other object: "a left of b" is "b right of a".
CONVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above",
            "in front of": "behind", "behind": "in front of", "next to": "next to"}
_POSITIONAL = ("sitting", "standing", "lying", "parked", "placed", "located", "perched",
               "hanging", "resting", "positioned", "seated")


def implies_contact(relation: str) -> bool:
    r = relation.lower()
    return any(r == w or r.startswith(w + " ") or r.endswith(" " + w) for w in CONTACT_WORDS)


def _canon(relation: str) -> str | None:
    c = spatial.canonical(relation)
    return "below" if c == "under" else c


_AUXILIARIES = frozenset({"is", "are", "was", "were", "be", "being", "been", "am"})


@lru_cache(maxsize=4096)
def verb_key(relation: str) -> str:
    """A relation with its auxiliary dropped and its verb as a lemma, the same for every form
    the claim splitter or an annotator writes: "holding", "holds", "hold", "is holding" ->
    ``hold``; "sitting on" / "sits on" -> ``sit on``. Words that are no verb stay as written."""
    words = relation.lower().split()
    while len(words) > 1 and words[0] in _AUXILIARIES:
        words = words[1:]
    if not words:
        return ""
    try:
        from lemminflect import getAllLemmas
        lemmas = getAllLemmas(words[0], upos="VERB").get("VERB", ())
    except ImportError:  # pragma: no cover - a core dependency
        lemmas = ()
    if lemmas:
        words[0] = lemmas[0]
    return " ".join(words)


def _same_relation(a: str, b: str) -> bool:
    a, b = a.lower().strip(), b.lower().strip()
    if a == b:
        return True
    ca, cb = _canon(a), _canon(b)
    if ca is not None and ca == cb:
        return True
    return verb_key(a) == verb_key(b)


def _annotated(claim: Claim, facts: ImageFacts, s_labels: set[str], o_labels: set[str],
               decisive: bool) -> Verdict | None:
    """A verdict from the source's relation triples, read in either direction."""
    rel = claim.relation or ""
    c_claim = _canon(rel)
    contra: Verdict | None = None
    for (a, r, b) in sorted(facts.relations):
        ra = resolve(a, None, facts) or a
        rb = resolve(b, None, facts) or b
        forward = ra in s_labels and rb in o_labels
        backward = ra in o_labels and rb in s_labels
        if not (forward or backward):
            continue
        ev = (Evidence(source="annotation", label=f"{a} {r} {b}",
                       payload={"relation": [a, r, b]}),)
        if r == "no contact" and implies_contact(rel) and decisive:
            return Verdict(claim, "hallucinated", 1.0, ev, f"the annotation says {a} and {b} "
                           f"are not in contact, which '{rel}' needs", checker(facts, "relation"))
        if r == "contact" and rel.lower() in ("touching", "in contact with"):
            return Verdict(claim, "supported", 1.0, ev, f"the annotation says {a} and {b} touch",
                           checker(facts, "relation"))
        c_ann = _canon(r)
        if (forward and _same_relation(r, rel)) or \
                (backward and c_ann is not None and CONVERSE.get(c_ann) == c_claim):
            return Verdict(claim, "supported", 1.0, ev, f"annotated: {a} {r} {b}",
                           checker(facts, "relation"))
        directional = c_ann in CONVERSE and CONVERSE[c_ann] != c_ann
        if contra is None and decisive and directional and (
                (forward and CONVERSE[c_ann] == c_claim) or (backward and c_ann == c_claim)):
            contra = Verdict(claim, "hallucinated", 1.0, ev, f"annotated: {a} {r} {b}, the "
                             f"opposite of the claim", checker(facts, "relation"))
    return contra


def check_relation(claim: Claim, facts: ImageFacts) -> Verdict:
    rel = claim.relation or ""
    sm = match(claim.subject, claim.node, facts)
    om = match(claim.object or "", claim.object_node, facts)
    for m in (sm, om):
        if m and state(m, facts) == "absent":
            return Verdict(claim, "hallucinated", 1.0, absence_evidence(facts, m.labels[0]),
                           f"there is no {m.labels[0]}{absence_detail(facts, m.labels[0])}",
                           checker(facts, "relation"))
    decisive = not sm.broader and not om.broader
    v = _annotated(claim, facts, set(sm.labels) or {claim.subject},
                   set(om.labels) or {claim.object or ""}, decisive)
    if v is not None:
        return v
    canon = spatial.canonical(rel)
    if canon is None or (rel.split()[0].endswith(("ing", "ed")) and not
                         rel.lower().startswith(_POSITIONAL)):
        return unverifiable(claim, f"boxes cannot decide '{rel}'", facts, "relation")
    if not sm or not om:
        outside, node = (claim.subject, claim.node) if not sm else (claim.object,
                                                                    claim.object_node)
        return unknown(claim, outside or "", facts, node, "relation")
    # (a box of no area, a COCO bbox of width 0, places the object nowhere)
    s_boxes = [i for i in instances(facts, sm) if i.box is not None and has_area(i.box)]
    o_boxes = [i for i in instances(facts, om) if i.box is not None and has_area(i.box)]
    s_name, o_name = name_of(sm), name_of(om)
    if not s_boxes or not o_boxes:
        return unverifiable(claim, f"no boxes for {s_name if not s_boxes else o_name}", facts,
                            "relation")
    if sm.labels == om.labels and len(s_boxes) < 2:
        return unverifiable(claim, f"only one {s_name} box", facts, "relation")
    label, why, pair = spatial.decide_any(canon, [i.box for i in s_boxes],
                                          [i.box for i in o_boxes])
    ev = evidence_of(facts, sm) + evidence_of(facts, om)
    if pair is not None and label == "supported":
        ev = (s_boxes[pair[0]].evidence(), o_boxes[pair[1]].evidence())
    if label is None:
        return unverifiable(claim, f"{canon}: too close to call ({why})", facts, "relation")
    if label == "hallucinated" and not decisive:
        return unverifiable(claim, f"{canon}: no annotated {s_name} / {o_name} pair fits ({why}); "
                            "other kinds of the objects may", facts, "relation")
    return Verdict(claim, label, 1.0, ev, f"{canon}: {why}", checker(facts, "relation"))
