"""Helpers the claim checks share: naming a claim's noun in a facts source's words.

:func:`match` finds the labels of a facts source that a claim's noun (its ``subject`` or
``object``, with the vocabulary ``node`` the splitter mapped it to) stands for. Every check
(existence, count, attribute, relation) goes through it, so a noun is decided the same way
whatever the kind of claim. In order:

1. **same**: the node or the noun is a label; else the labels' own mapping (lemma and singular
   forms, then the last words of a phrase: "metal tower" -> ``tower``, then WordNet hypernyms of
   the noun: "sedan" -> ``car``), or a label that is a WordNet synonym of the noun ("sofa" /
   ``couch``). The noun's claims are decided against that label in full: present, absent, its
   count, its attributes.
2. **broader**: the noun is more general than labels present in the image (the label's head
   noun: "suit" -> ``space suit``, "tower" -> ``metal tower`` + ``lattice tower``; a sibling
   with the same head: "metal tower" -> ``lattice tower``; or a WordNet hypernym of the label:
   "person" -> ``woman``). Their presence supports the noun; their absence says nothing about
   it (another suit may be there), so such a match never makes a claim hallucinated except
   where the labels' known count is already larger than the claimed one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from halluscope.numbers import fixed_apart
from halluscope.types import Claim, Evidence, ImageFacts, Instance, Verdict

_VOCABS: dict[int, tuple[frozenset, Any]] = {}
_HYPERNYM_DEPTH = 10


@dataclass(frozen=True, slots=True)
class Match:
    """The labels of a facts source that a claim's noun stands for.

    Attributes:
        labels: Labels of the source, best first; empty when the source cannot speak about
            the noun.
        broader: True when the noun is more general than the labels: their presence supports
            it, their absence does not contradict it.
        wider: Labels present in the image that are more general than the noun (``dog`` for
            "puppy"): the noun's label is missing, but the object may be one of these, so its
            absence is not concluded (``broader`` is then set too).
    """

    labels: tuple[str, ...] = ()
    broader: bool = False
    wider: tuple[str, ...] = ()

    @property
    def label(self) -> str | None:
        return self.labels[0] if self.labels else None

    def __bool__(self) -> bool:
        return bool(self.labels)


NO_MATCH = Match()


def known_words(facts: ImageFacts) -> frozenset[str]:
    """Labels the source can speak about."""
    if facts.vocabulary is not None:
        return facts.vocabulary
    return facts.labels() | facts.absent


@lru_cache(maxsize=16384)
def label_lemmas(label: str) -> tuple[str, ...]:
    """Other dictionary lemmas of a label written in the plural (``towers`` -> ``tower``)."""
    from halluscope.claims.vocab import IRREGULAR_PLURALS
    low = label.strip().lower()
    head, _, last = low.rpartition(" ")
    if last in IRREGULAR_PLURALS:
        lemmas: tuple[str, ...] = (IRREGULAR_PLURALS[last],)
    else:
        try:
            from lemminflect import getAllLemmas
            lemmas = getAllLemmas(last, upos="NOUN").get("NOUN", ())
        except ImportError:  # pragma: no cover - a core dependency
            lemmas = ()
    pre = head + " " if head else ""
    return tuple(pre + lem for lem in lemmas if lem != last)


def _vocab_for(words: frozenset[str]):
    """A vocabulary whose nodes are ``words`` and whose synonyms are their lemmas."""
    from halluscope.claims.vocab import Vocabulary
    hit = _VOCABS.get(id(words))
    if hit is not None and hit[0] is words:
        return hit[1]
    v = Vocabulary("facts", {w: label_lemmas(w) for w in sorted(words)})
    if len(_VOCABS) > 64:
        _VOCABS.clear()
    _VOCABS[id(words)] = (words, v)
    return v


def resolve(name: str | None, node: str | None, facts: ImageFacts) -> str | None:
    """The label ``facts`` uses for a claim's noun (``name``, mapped to ``node``) when it names
    the same kind of thing (tier 1 of :func:`match`), or ``None``."""
    if not name and not node:
        return None
    words = known_words(facts)
    for cand in (node, name):
        if cand and cand in words:
            return cand
    if not name:
        return None
    label = _vocab_for(words).map(name)
    if label is None:
        label = _synonym(name.strip().lower(), words)
    return label


def match(name: str | None, node: str | None, facts: ImageFacts) -> Match:
    """The labels of ``facts`` that a claim's noun stands for (see the module docstring)."""
    label = resolve(name, node, facts)
    if label is not None:
        if name and label not in facts.labels():
            # a vocabulary that also lists the noun ("dog") must not hide the image's own
            # word for it ("puppy", "sofa" for "couch"): absence is concluded only when no
            # present label is the same or a narrower kind of thing
            low = name.strip().lower()
            present = _present_kind(low, facts)
            if present:
                return present
            if label in facts.absent:
                return Match((label,))
            # the noun's own word is not there, but its vocabulary node is, under another
            # word: "woman" (node person) where only an ``astronaut`` is annotated; the claim
            # is decided at the node, as "man" is by a ``person`` label, never made absent
            node_kind = _present_kind(label.strip().lower(), facts) if label.lower() != low \
                else NO_MATCH
            if node_kind:
                return node_kind
            wider = tuple(
                lab for lab in sorted(facts.labels()) if lab.lower() in _hypernym_names(low))
            if wider:
                return Match((label,), broader=True, wider=wider)
        return Match((label,))
    if not name:
        return NO_MATCH
    broader = _broader(name.strip().lower(), facts)
    return Match(broader, broader=True) if broader else NO_MATCH


# -- the matching tiers -----------------------------------------------------------------------
@lru_cache(maxsize=16384)
def _head(phrase: str) -> str:
    """The head noun of a phrase as a lemma ("metal towers" -> tower, "reading glasses" ->
    glasses, "bus" -> bus)."""
    last = phrase.rsplit(" ", 1)[-1]
    lemmas = label_lemmas(last)
    return lemmas[0] if lemmas else last


@lru_cache(maxsize=16384)
def _first_sense(word: str):
    from halluscope.claims.vocab import concrete_senses
    senses = concrete_senses(word)
    return senses[0] if senses else None


@lru_cache(maxsize=16384)
def _sense_names(word: str) -> frozenset[str]:
    """Lemma names of the noun's most frequent concrete sense (its synonyms)."""
    s = _first_sense(word)
    if s is None:
        return frozenset()
    return frozenset(n.replace("_", " ").lower() for n in s.lemma_names())


@lru_cache(maxsize=16384)
def _hypernym_names(word: str) -> frozenset[str]:
    """Lemma names of every hypernym of the noun's most frequent concrete sense."""
    s = _first_sense(word)
    if s is None:
        return frozenset()
    out: set[str] = set()
    frontier, seen = [s], {s}
    for _ in range(_HYPERNYM_DEPTH):
        nxt = []
        for syn in frontier:
            for h in syn.hypernyms() + syn.instance_hypernyms():
                if h not in seen:
                    seen.add(h)
                    nxt.append(h)
                    out.update(n.replace("_", " ").lower() for n in h.lemma_names())
        frontier = nxt
        if not frontier:
            break
    return frozenset(out)


def _synonym(name: str, words: frozenset[str]) -> str | None:
    """A label that is a WordNet synonym of the noun ("sofa" -> ``couch``)."""
    for n in sorted(_sense_names(name)):
        if n in words:
            return n
    return None


def _present_kind(name: str, facts: ImageFacts) -> Match:
    """Labels present in the image that name the noun's kind: a lemma or WordNet synonym of
    the noun (the same kind), else labels that WordNet puts under the noun ("puppy" under
    "dog") or a phrase WordNet does not know whose head is the noun ("metal tower" for
    "tower"; "teddy bear" is WordNet's own word and no bear)."""
    present = facts.labels()
    if not present:
        return NO_MATCH
    for cand in (name, *label_lemmas(name)):
        if cand in present:
            return Match((cand,))
    same = _synonym(name, frozenset(present))
    if same is not None:
        return Match((same,))
    narrower = []
    for lab in sorted(present):
        low = lab.lower()
        if name in _hypernym_names(low):
            narrower.append(lab)
        elif " " in low and _first_sense(low) is None and _head(low) == name:
            narrower.append(lab)
    return Match(tuple(narrower), broader=True) if narrower else NO_MATCH


def _broader(name: str, facts: ImageFacts) -> tuple[str, ...]:
    """Labels present in the image that the noun is a more general name for, or a sibling of
    (same head noun)."""
    present = sorted(facts.labels())
    if not present:
        return ()
    head = _head(name)
    out = [lab for lab in present if " " in lab.strip() and _head(lab.lower()) == head]
    if out or " " in name:
        return tuple(out)
    for lab in present:
        low = lab.lower()
        if name in _hypernym_names(low) or name in _hypernym_names(_head(low)):
            out.append(lab)
    return tuple(out)


# -- state and evidence -----------------------------------------------------------------------
def state(m: Match, facts: ImageFacts) -> str | None:
    """``"present"`` | ``"absent"`` | ``None`` (unknown) for a matched noun."""
    if not m:
        return None
    labels = facts.labels()
    if any(lab in labels for lab in m.labels):
        return "present"
    if m.broader:
        return None
    label = m.labels[0]
    if label in facts.absent or (facts.closed_world and label in known_words(facts)):
        return "absent"
    return None


def existence_state(claim_subject: str, node: str | None, facts: ImageFacts
                    ) -> tuple[str | None, str | None]:
    """``(label in facts, "present" | "absent" | None)`` for a noun."""
    m = match(claim_subject, node, facts)
    return m.label, state(m, facts)


def instances(facts: ImageFacts, m: Match) -> tuple[Instance, ...]:
    """The instances of every label of the match."""
    if len(m.labels) == 1:
        return facts.of(m.labels[0])
    want = set(m.labels)
    return tuple(i for i in facts.instances if i.label in want)


def name_of(m: Match) -> str:
    """The labels of a match as a reader sees them ("metal tower or lattice tower")."""
    return " or ".join(m.labels)


def nouns(claim: Claim) -> list[tuple[str, str | None]]:
    """``(noun, node)`` of the claim's subject, and of its object for relations."""
    out = [(claim.subject, claim.node)]
    if claim.kind == "relation":
        out.append((claim.object or "", claim.object_node))
    return out


def known_nouns(claim: Claim, facts: ImageFacts) -> int:
    """How many of the claim's nouns ``facts`` can name."""
    return sum(bool(match(n, node, facts)) for n, node in nouns(claim))


def missed(verdict: Verdict, facts: ImageFacts, earlier) -> Verdict | None:
    """An unverifiable verdict in place of ``verdict`` (hallucinated by ``facts``) when it
    rests on the absence of an object that one of the ``earlier`` sources has in the image."""
    for n, node in nouns(verdict.claim):
        m = match(n, node, facts)
        if state(m, facts) != "absent":
            continue
        for g in earlier:
            if state(match(n, node, g), g) == "present":
                return unverifiable(verdict.claim, f"{source_name(facts)} has no {m.labels[0]} "
                                    f"but {source_name(g)} has it in the image", facts,
                                    verdict.claim.kind)
    return None


def source_name(facts: ImageFacts) -> str:
    return str((facts.provenance or {}).get("name") or source_of(facts))


def not_known(noun: str, facts: ImageFacts, node: str | None = None) -> str:
    """Why ``facts`` cannot name ``noun`` (whose vocabulary node is ``node``): a detector unsure
    of it, outside a vocabulary, or simply not annotated."""
    unsure = _detector_unsure(facts, noun, node)
    if unsure is not None:
        return unsure
    if facts.vocabulary is None:
        return f"'{noun}' is not among the objects {source_name(facts)} annotates for this image"
    return f"'{noun}' is outside the vocabulary of {source_name(facts)}"


def unknown(claim: Claim, noun: str, facts: ImageFacts, node: str | None, kind: str
            ) -> Verdict:
    """Unverifiable: ``facts`` cannot name ``noun`` (:func:`not_known` says why); a detector
    unsure of it gives its best detection as the evidence (score, box and both thresholds),
    so that the reason's score can be opened and looked at, as an absence's can."""
    verdict = unverifiable(claim, not_known(noun, facts, node), facts, kind)
    key = _unsure_key(facts, noun, node)
    if key is None:
        return verdict
    prov = facts.provenance or {}
    box = (prov.get("uncertain_boxes") or {}).get(key)
    return replace(verdict, evidence=(Evidence(
        source=source_of(facts), label=key, score=float(prov["uncertain"][key]),
        box=tuple(box) if box is not None else None,
        payload={"uncertain": True, **prov["thresholds"]},
        provenance=_prov(facts, ("name", "file"))),))


def _unsure_key(facts: ImageFacts, noun: str, node: str | None) -> str | None:
    """The label a detector left undecided for ``noun`` (its best score between the absent and
    the present thresholds), or ``None``."""
    prov = facts.provenance or {}
    unsure, th = prov.get("uncertain") or {}, prov.get("thresholds") or {}
    for key in (node, noun):
        key = str(key or "").strip().lower()
        if key in unsure and "absent" in th and "present" in th:
            return key
    return None


def _detector_unsure(facts: ImageFacts, noun: str, node: str | None) -> str | None:
    """Why a detector left ``noun`` undecided: its best score lies between the absent and the
    present thresholds (it was reported as "outside the vocabulary" of a detector whose
    vocabulary holds it). ``None`` for any other source or cause."""
    prov = facts.provenance or {}
    unsure, th = prov.get("uncertain") or {}, prov.get("thresholds") or {}
    key = _unsure_key(facts, noun, node)
    if key is None:
        return None
    name = prov.get("name") or "detector"
    score = fixed_apart(float(unsure[key]), th['absent'], th['present'], digits=2)
    return (f"detector {name}: best score {score} for '{key}', neither present "
            f"(>= {th['present']:g}) nor absent (< {th['absent']:g}), so it cannot say whether "
            f"there is one")


def source_of(facts: ImageFacts) -> str:
    src = facts.provenance.get("source") if facts.provenance else None
    if src:
        return str(src)
    return facts.instances[0].source if facts.instances else "annotation"


def checker(facts: ImageFacts, kind: str) -> str:
    return f"{source_of(facts)}-{kind}"


def _prov(facts: ImageFacts, keys=("name", "file", "component", "version")) -> dict[str, Any]:
    return {k: v for k, v in (facts.provenance or {}).items() if k in keys}


def evidence_of(facts: ImageFacts, label: str | Match, limit: int = 5) -> tuple[Evidence, ...]:
    m = label if isinstance(label, Match) else Match((label,))
    prov = _prov(facts)
    out = [i.evidence(prov) for i in instances(facts, m)[:limit]]
    if not out:
        out.extend(Evidence(source=source_of(facts), label=lab, payload={"present": True},
                            provenance=prov) for lab in m.labels if lab in facts.present)
    return tuple(out)


def _detector_miss(facts: ImageFacts, label: str) -> tuple[float | None, float] | None:
    """``(best score, absent threshold)`` when ``label`` is absent because a detector scored it
    below its threshold (the best score ``None`` when the detector reported nothing of it at or
    above its floor); ``None`` for any other source."""
    prov = facts.provenance or {}
    scores, th = prov.get("max_scores", {}), prov.get("thresholds", {}).get("absent")
    if source_of(facts) != "detector" or label not in facts.absent or label not in scores \
            or th is None:
        return None
    best = scores[label]
    return (None if best is None else float(best)), float(th)


def absence_evidence(facts: ImageFacts, label: str) -> tuple[Evidence, ...]:
    """The evidence that ``label`` is not in the image: listed absent, not among a closed
    world's objects, or a detector's best score for it below its threshold (score and
    ``below``, as the region checks give them)."""
    payload: dict[str, Any] = {"absent": True}
    if label not in facts.absent:
        payload["annotated"] = sorted(facts.labels())[:20]
    miss = _detector_miss(facts, label)
    if miss is not None:
        payload["below"] = miss[1]
        if miss[0] is None and (facts.provenance or {}).get("floor") is not None:
            payload["floor"] = facts.provenance["floor"]
    return (Evidence(source=source_of(facts), label=label, score=None if miss is None else miss[0],
                     payload=payload, provenance=_prov(facts, ("name", "file"))),)


def absence_detail(facts: ImageFacts, label: str) -> str:
    """How a detector found ``label`` absent (`` (detector coco-ssd: best score 0.04, below its
    absent threshold 0.1)``),
    for a verdict's reason; empty for other sources (it read "listed as absent", as an
    annotation's absence does, with neither score nor threshold)."""
    miss = _detector_miss(facts, label)
    if miss is None:
        return ""
    name = (facts.provenance or {}).get("name") or "detector"
    if miss[0] is None:             # "best score 0.00": a score no detection had
        floor = (facts.provenance or {}).get("floor")
        least = f" scored {float(floor):g} or more" if floor is not None else ""
        return f" (detector {name}: no detection{least}; its absent threshold is {miss[1]:g})"
    return (f" (detector {name}: best score {fixed_apart(miss[0], miss[1], digits=2)}, below its "
            f"absent threshold {miss[1]:g})")


def unverifiable(claim: Claim, reason: str, facts: ImageFacts | None = None, kind: str = ""
                 ) -> Verdict:
    return Verdict(claim=claim, label="unverifiable", confidence=None, reason=reason,
                   checker=checker(facts, kind) if facts is not None else kind)
