"""Helpers the claim checks share: naming a claim's object in a facts source's words."""

from __future__ import annotations

from typing import Any

from halluscope.checks.model import Verdict
from halluscope.claims.model import Claim
from halluscope.evidence.model import Evidence, ImageFacts

_VOCABS: dict[int, tuple[frozenset, Any]] = {}


def known_words(facts: ImageFacts) -> frozenset[str]:
    """Labels the source can speak about."""
    if facts.vocabulary is not None:
        return facts.vocabulary
    return facts.labels() | facts.absent


def _vocab_for(words: frozenset[str]):
    from halluscope.claims.vocab import Vocabulary
    hit = _VOCABS.get(id(words))
    if hit is not None and hit[0] is words:
        return hit[1]
    v = Vocabulary("facts", {w: () for w in sorted(words)})
    if len(_VOCABS) > 64:
        _VOCABS.clear()
    _VOCABS[id(words)] = (words, v)
    return v


def resolve(name: str | None, node: str | None, facts: ImageFacts) -> str | None:
    """The label ``facts`` uses for a claim's noun (``name``, mapped to ``node``), or ``None``
    when the source cannot speak about it."""
    if not name and not node:
        return None
    words = known_words(facts)
    for cand in (node, name):
        if cand and cand in words:
            return cand
    if name:
        return _vocab_for(words).map(name)
    return None


def source_of(facts: ImageFacts) -> str:
    src = facts.provenance.get("source") if facts.provenance else None
    if src:
        return str(src)
    return facts.instances[0].source if facts.instances else "annotation"


def checker(facts: ImageFacts, kind: str) -> str:
    return f"{source_of(facts)}-{kind}"


def evidence_of(facts: ImageFacts, label: str, limit: int = 5) -> tuple[Evidence, ...]:
    prov = {k: v for k, v in (facts.provenance or {}).items() if k in ("name", "file",
                                                                        "component", "version")}
    out = [i.evidence(prov) for i in facts.of(label)[:limit]]
    if not out and label in facts.present:
        out.append(Evidence(source=source_of(facts), label=label, payload={"present": True},
                            provenance=prov))
    return tuple(out)


def absence_evidence(facts: ImageFacts, label: str) -> tuple[Evidence, ...]:
    prov = {k: v for k, v in (facts.provenance or {}).items() if k in ("name", "file")}
    payload: dict[str, Any] = {"absent": True}
    if label not in facts.absent:
        payload["annotated"] = sorted(facts.labels())[:20]
    return (Evidence(source=source_of(facts), label=label, payload=payload, provenance=prov),)


def existence_state(claim_subject: str, node: str | None, facts: ImageFacts
                    ) -> tuple[str | None, str | None]:
    """``(label in facts, "present" | "absent" | None)`` for a noun."""
    label = resolve(claim_subject, node, facts)
    if label is None:
        return None, None
    if label in facts.labels():
        return label, "present"
    if label in facts.absent:
        return label, "absent"
    if facts.closed_world and label in known_words(facts):
        return label, "absent"
    return label, None


def unverifiable(claim: Claim, reason: str, facts: ImageFacts | None = None, kind: str = ""
                 ) -> Verdict:
    return Verdict(claim=claim, label="unverifiable", confidence=0.0, reason=reason,
                   checker=checker(facts, kind) if facts is not None else kind)
