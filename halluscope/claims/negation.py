"""Denials: whether a sentence says that an object is *not* in the image.

A denied noun makes no claim (the house's reading of "there is no cat": nothing is asserted about
a cat), so a model that correctly denies an object is never scored for it. The rules read a
dependency parse (a spaCy ``Token`` or a :class:`~halluscope.claims.tokens.Tok`; both have the
same attributes) and are shared by the claim splitter (:mod:`halluscope.claims.mentions`) and
Object HalBench's rule extractor (:mod:`halluscope.metrics.objhal`). A noun is denied when:

* its own words deny it: "no cat", "not a cat" ("not a single cat"; "not only" restricts
  instead), "zero cats" / "0 cats"; "nothing", "nobody";
* it is in a "neither ... nor" coordination that is not a subject ("I see neither a cat nor a
  dog", "there is neither ..."); a subject's "neither" denies its verb instead, which denies the
  subject only before a predicate of presence ("neither a cat nor a dog is visible"; "neither
  the man nor the woman is smiling" keeps them and drops "smiling");
* it is coordinated with a denied first noun ("no cats or birds") and has no determiner of its
  own that asserts it ("no cat and a dog": the dog is there);
* "X, not Y" / "X but not Y" ("there is a dog, not a cat"); of a subject, only before a
  predicate of presence ("the man, not the woman, is holding it" keeps the woman);
* it is the object of "without" / "except", of "none of" / "neither of", of an absence adjective
  ("devoid of people", "free of"), or of a denied evidence, partitive or framing noun ("no sign
  of a cat", "no group of people");
* it is the object of "lack" ("the photo lacks any cats"), or any non-subject argument of a
  denied verb ("I don't see a cat", "there isn't a cat");
* it is the subject of a predicate of absence ("the cat is absent / missing"), or of a denied
  predicate of presence ("cats are not present", "a cat is not visible", "cats cannot be seen",
  "a cat does not appear in the image", "the cat is not in the picture", "a cat is nowhere to
  be seen", "a cat is visible, but the dog is not"). The subject of any other denied verb is
  still there ("the dog is not sleeping", "the cat's face is not visible" keeps the cat).

A verb is denied by "not"/"n't"/"never" or "nowhere" ("nowhere near the dog" keeps the dog), by
a "neither ... nor" subject, by a denied belief verb above it ("I don't think there is a cat":
neg-raising) or by a denied raising verb ("there doesn't seem to be a cat"; not over a verb of
perception: "she does not seem to notice the bicycle" keeps the bicycle). A denied verb makes no
relation or attribute either ("I don't think the cat is on the sofa": the cat, no "on").
"""

from __future__ import annotations

from typing import Any

from halluscope.claims import lexicon as L

_VERBS = ("VERB", "AUX")
_NOUNS = ("NOUN", "PROPN")
_SUBJECTS = ("nsubj", "nsubjpass")
_COMPLEMENTS = frozenset({"xcomp", "acomp", "attr", "oprd", "ccomp", "dobj"})


def first_conjunct(tok: Any) -> Any:
    """The first noun of the coordination ``tok`` is in (``tok`` itself when it is in none)."""
    first = tok
    while first.dep_ == "conj" and first.head.i != first.i:
        first = first.head
    return first


def _has_neg(tok: Any) -> bool:
    for c in tok.children:      # loops, not any(...): these run for every noun and verb
        dep = c.dep_
        if dep == "neg" or (dep == "advmod" and c.lower_ == "nowhere"):
            return True
    return False


def verb_denied(v: Any) -> bool:
    """Whether verb (or predicate adjective) ``v`` is denied: its own "not"/"never"/"nowhere",
    a "neither ... nor" subject ("neither the man nor the woman is smiling"), or a denied belief
    verb ("I don't think ...") or raising verb ("doesn't seem to be ...") that governs it."""
    for c in v.children:
        dep = c.dep_
        if dep == "neg" or (dep == "advmod" and c.lower_ == "nowhere") or \
                (dep in _SUBJECTS and _neither(c)):
            return True
    h = v.head
    if h.i == v.i or h.pos_ not in _VERBS:
        return False
    if v.dep_ == "ccomp" and h.lemma_ in L.NEG_RAISING_VERBS:
        return _has_neg(h)
    if v.dep_ == "xcomp" and h.lemma_ in L.RAISING_VERBS and v.lemma_ not in L.META_VERBS:
        return verb_denied(h)       # not "she does not seem to notice the bicycle"
    return False


def _restrictive(neg: Any) -> bool:
    """"not only", "not just": a restriction, no denial."""
    nxt = neg.i + 1
    doc = neg.doc
    return nxt < len(doc) and doc[nxt].lower_ in L.NOT_RESTRICTORS


def _own_denial(tok: Any, notation: Any = None) -> bool:
    """Whether a noun's own words deny it: "no", "neither", "not a", "zero"; a "0" that
    ``notation(token)`` says is box or coordinate notation is none ("(0, 12) dog")."""
    for c in tok.children:
        dep = c.dep_
        if dep == "det" and c.lower_ in L.NEGATIVE_DETERMINERS:
            return True
        if dep == "neg" and c.i < tok.i and not _restrictive(c):
            return True
        if dep == "nummod" and c.lower_ in ("zero", "0") and not (notation and notation(c)):
            return True
    return tok.lower_ in ("nothing", "nobody")


def _neither(tok: Any) -> bool:
    """"neither X nor Y": every noun of the coordination is denied."""
    for c in tok.children:
        if c.dep_ == "preconj" and c.lower_ == "neither":
            return True
    return False


def _asserts_itself(tok: Any) -> bool:
    """A coordinated noun with a determiner or number of its own ("no cat and *a* dog")."""
    for c in tok.children:
        if c.i > tok.i:
            continue
        if c.dep_ == "det" and c.lower_ in L.ASSERTING_DETERMINERS:
            return True
        if c.dep_ == "nummod" and c.lower_ not in ("zero", "0"):
            return True
    return False


def _presence_predicate(v: Any) -> bool:
    """Whether verb ``v`` (with its complements) says that its subject is there."""
    kids = list(v.children)      # a generator on a spaCy token
    # "nowhere to be seen": spaCy may hang the infinitive on "nowhere"
    inner = [g for c in kids if c.lower_ == "nowhere" for g in c.children]
    for c in (*kids, *inner):
        if c.dep_ in ("acomp", "xcomp", "advmod", "attr") and (
                c.lower_ in L.PRESENCE_WORDS or c.lemma_ in L.PRESENCE_VERBS):
            return True
        if c.dep_ == "prep" and c.lower_ in ("in", "within", "inside", "in view", "in sight"):
            if any(g.dep_ == "pobj" and (g.lower_ in ("view", "sight") or
                                         g.lemma_.lower() in L.IMAGE_NOUNS) for g in c.children):
                return True
    return v.lemma_ in L.PRESENCE_VERBS and not any(c.dep_ in _COMPLEMENTS for c in kids)


def subject_denied(v: Any) -> bool:
    """Whether verb ``v`` says that its subject is not there: a predicate of absence ("is
    absent"), or a denied predicate of presence ("is not visible", "cannot be seen")."""
    denied = verb_denied(v)
    if any(c.dep_ in ("acomp", "advmod") and c.lower_ in L.ABSENCE_WORDS for c in v.children):
        return not denied
    if not denied:
        return False
    if _presence_predicate(v):
        return True
    # "a cat is visible, but the dog is not": the predicate is that of the first clause
    return v.dep_ == "conj" and v.head.pos_ in _VERBS and not any(
        c.dep_ in _COMPLEMENTS or c.dep_ == "prep" for c in v.children) and \
        _presence_predicate(v.head)


def denied(tok: Any, notation: Any = None) -> bool:
    """Whether noun ``tok`` is denied (see the module docstring); ``notation``: whether a
    token is written in box or coordinate notation, whose numbers are never counts (a box's
    "0" denied its noun: "(0, 12) dog" made no claim)."""
    first = first_conjunct(tok)
    if _own_denial(tok, notation):
        return True
    if _neither(first) and first.dep_ not in _SUBJECTS:
        return True         # a subject's "neither" denies its verb instead (verb_denied)
    if first.i != tok.i and _own_denial(first, notation) and not _asserts_itself(tok):
        return True
    if tok.dep_ in ("appos", "conj") and any(
            c.dep_ == "neg" and tok.head.i < c.i < tok.i and not _restrictive(c)
            for c in tok.head.children):
        # "a dog, not a cat" (spaCy hangs "not" on the dog); of a subject, only before a
        # predicate of presence: "the man, not the woman, is holding it" keeps the woman
        head = tok.head
        if head.dep_ in _SUBJECTS and head.head.pos_ in _VERBS:
            return _presence_predicate(head.head)
        return True
    anchor = cur = first
    while cur.head.i != cur.i:
        if cur.lower_ == "nowhere":
            return False    # "nowhere near the dog": the dog is there
        h = cur.head
        if cur.dep_ == "pobj":
            low = h.lower_
            if low in ("without", "except"):
                return True
            if low == "of":
                g = h.head
                glow = g.lower_
                if glow in ("none", "neither"):
                    return True
                own = cur.i == anchor.i     # not "no group of people on *the beach*"
                if own and g.pos_ in _NOUNS and g.lemma_.lower() in L.ABSENCE_NOUNS:
                    return True     # "an absence of people", "a lack of cars"
                if own and g.pos_ == "ADJ" and glow in L.ABSENCE_OF_ADJECTIVES:
                    return not verb_denied(g.head) if g.head.i != g.i else True
                if own and g.pos_ in _NOUNS and _passes_through(g):
                    if _own_denial(g):
                        return True
                    anchor = g      # what is said of "a sign of a cat" is said of the cat
        if h.pos_ in _VERBS:
            if cur.dep_ in _SUBJECTS:
                return cur.i == anchor.i and subject_denied(h)
            lack = cur.dep_ == "dobj" and h.lemma_ in L.ABSENCE_VERBS
            return verb_denied(h) != lack
        cur = h
    return False


def _passes_through(noun: Any) -> bool:
    """Evidence, partitive and framing nouns: a denial of them is one of their "of" object."""
    lemma = noun.lemma_.lower()
    return lemma in L.EVIDENCE_NOUNS or lemma in L.PARTITIVES or lemma in L.FRAME_NOUNS


__all__ = ("denied", "verb_denied", "subject_denied", "first_conjunct")
