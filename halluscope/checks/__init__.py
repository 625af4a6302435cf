"""Checks: a Claim and the facts about its image in, a Verdict out.

:func:`check_claim` asks each facts source in order until one decides (supported or
hallucinated); when none does, a judge (any object with ``check_claim(claim, facts)`` returning
a :class:`Verdict`, or a callable doing the same) gets the last word; otherwise the claim is
unverifiable with the reason of the source that can name most of its nouns, the first of those
(a COCO file knows no "helmet"; the user's annotation file that does says why it could not
decide).

Sources disagree about objects (a detector misses a spoon that the annotations have): a later
source's "hallucinated" that rests on the absence of an object an earlier source has in the
image does not count (it becomes unverifiable, saying so). Among annotation files order does
not matter: one file's absence (closed world or listed) never outweighs another annotation
file that has the object in the image, whichever was given first (a COCO file without the
spoon against the user's file with it). A detector, always after the annotation files, cannot
outweigh an annotation file's absence.

Citations are checked by :mod:`halluscope.checks.regions` (cited boxes and region ids) and
:mod:`halluscope.checks.pages` (cited pages, and the quotes and numbers put on them).
"""

from __future__ import annotations

from collections.abc import Sequence

from halluscope.types import VERDICTS, Claim, ImageFacts, Verdict


def _checkers():
    from halluscope.checks.attribute import check_attribute
    from halluscope.checks.count import check_count
    from halluscope.checks.existence import check_existence
    from halluscope.checks.relation import check_relation
    return {"existence": check_existence, "count": check_count,
            "attribute": check_attribute, "relation": check_relation}


_CHECKERS: dict | None = None


def check_claim(claim: Claim, facts: Sequence[ImageFacts] | ImageFacts | None,
                judge=None) -> Verdict:
    """Decide one claim against facts sources, in order."""
    global _CHECKERS
    if _CHECKERS is None:
        _CHECKERS = _checkers()
    if isinstance(facts, ImageFacts):
        facts = (facts,)
    facts = tuple(facts or ())
    fn = _CHECKERS.get(claim.kind)
    first: Verdict | None = None
    if fn is None:
        first = Verdict(claim, "unverifiable", None, reason=f"no check for {claim.kind} claims",
                        checker="none")
    else:
        from halluscope.checks.common import known_nouns, missed
        undecided = []
        for k, f in enumerate(facts):
            v = fn(claim, f)
            if v.label == "hallucinated" and len(facts) > 1:
                v = missed(v, f, _witnesses(facts, k)) or v
            if v.label != "unverifiable":
                return v
            undecided.append((known_nouns(claim, f), -k, v))
        if undecided:
            first = max(undecided, key=lambda x: x[:2])[2]
    if judge is not None:
        decide = getattr(judge, "check_claim", None) or judge
        v = decide(claim, facts)
        if isinstance(v, Verdict):
            return v
    if first is None:
        first = Verdict(claim, "unverifiable", None,
                        reason="no evidence source knows this image", checker="none")
    return first


def _witnesses(facts: tuple[ImageFacts, ...], k: int) -> tuple[ImageFacts, ...]:
    """The sources whose having an object outweighs source ``k``'s absence of it: every
    earlier one, and for an annotation file every other annotation file too."""
    from halluscope.checks.common import source_of
    later = ()
    if source_of(facts[k]) == "annotation":
        later = tuple(g for g in facts[k + 1:] if source_of(g) == "annotation")
    return facts[:k] + later


__all__ = ["VERDICTS", "Verdict", "check_claim"]
