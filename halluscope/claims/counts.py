"""Counts a response implies without a number right before the noun, read off its mentions
(:class:`halluscope.claims.mentions.MentionIndex` calls these once the mentions are found):

* "a pair of shoes" is 2 shoes, "two pairs of skis" 4; a noun that names one thing in the
  plural ("a pair of scissors / jeans / glasses / headphones") is one thing, and no count;
* an ordinal is a lower bound (a count claim whose ``relation`` is :data:`AT_LEAST`): "the
  second dog" says there are at least 2 dogs, "a third person" at least 3. Only where the
  response never counts the noun: a count it gives is the claim (raised by a later ordinal
  beyond it, "two dogs ... a third dog": 3), and "the second dog" after "two dogs" adds nothing.
  Not for nouns an ordinal ranks rather than counts ("the second floor", "third base", "the
  second hand of the clock"): :data:`RANK_NOUNS`;
* "three of the cups" is at least 3 cups; "two of the three cups" counts the cups (3) and adds
  nothing.

Quantities that are no number make no count: "several", "a few", "many", "a couple of", "a
dozen", "dozens of", "hundreds of" (a dozen eggs may be twelve, a dozen people rarely are).
"""

from __future__ import annotations

from typing import Any

from halluscope.claims import lexicon as L

#: The ``relation`` of a count claim whose number is a lower bound ("the second dog": at least
#: 2 dogs); an exact count has none.
AT_LEAST = "at least"

#: Ordinals that bound a count from below ("first" says nothing an existence claim does not).
BOUND_ORDINALS: dict[str, int] = {"second": 2, "2nd": 2} | L.ORDINALS

#: Nouns an ordinal ranks rather than counts: "the second floor" is no claim of two floors
#: a picture could show.
RANK_NOUNS = frozenset({
    "floor", "story", "storey", "level", "tier", "row", "base", "place", "half", "quarter",
    "hand", "round", "time", "grade", "position", "step", "stage", "line", "lane", "page",
    "chapter", "edition", "generation", "season", "inning", "period", "set", "game", "attempt",
    "try", "glance", "look", "thought", "language", "nature", "class", "rate", "string",
})

#: Plurals that name one thing: "a pair of scissors" is one pair of scissors, not two.
ONE_THING_PLURALS = frozenset({
    "scissors", "glasses", "sunglasses", "eyeglasses", "spectacles", "goggles", "binoculars",
    "pants", "trousers", "jeans", "shorts", "tights", "leggings", "pajamas", "pyjamas",
    "overalls", "slacks", "boxers", "briefs", "panties", "trunks", "knickers", "jodhpurs",
    "pliers", "tongs", "tweezers", "shears", "clippers", "headphones", "earphones", "earmuffs",
    "handcuffs", "suspenders", "braces",
})

_SINGLE_DETERMINERS = frozenset({"a", "an", "the", "this", "that", "one", "each", "every"})


def pair_count(pair: Any, inner: Any) -> None:
    """Give ``inner`` (the mention "a pair of" stands for) the count the pairs make."""
    if inner.count is not None or not inner.plural or inner.negated:
        return
    if inner.head.lower_ in ONE_THING_PLURALS or inner.subject.split()[-1] in ONE_THING_PLURALS:
        return
    if pair.count is not None:
        n, tok = pair.count, pair.count_tok
    elif pair.head.tag_ == "NN" and any(c.dep_ == "det" and c.lower_ in _SINGLE_DETERMINERS
                                        for c in pair.head.children):
        n, tok = 1, pair.head
    else:
        return                          # "pairs of shoes", "several pairs": no number
    inner.count, inner.count_tok = 2 * n, tok


def implied_bounds(index: Any) -> None:
    """Lower bounds from "three of the cups" and from ordinals (see the module docstring), for
    nouns the response never counts."""
    from halluscope.claims.mentions import parse_number
    mentions = index.mentions
    counted = {n for m in mentions.values() if m.count is not None and not m.negated
               for n in (m.node, m.subject) if n}
    parts = []
    for tok in index.doc:
        if tok.pos_ != "NUM" or tok.dep_ == "nummod" or index.in_notation(tok):
            continue
        of = next((c for c in tok.children if c.dep_ == "prep" and c.lower_ == "of"), None)
        pobj = next((c for c in of.children if c.dep_ == "pobj"), None) if of else None
        m = (mentions.get(pobj.i) or index.alias.get(pobj.i)) if pobj is not None else None
        if m is None or m.count is not None or m.negated or not m.plural or \
                _named(m) & counted or _approximate(tok):
            continue
        n = parse_number(tok)
        if n is not None and n >= 2:
            parts.append((n, tok, m))
    best: dict[str, Any] = {}
    for n, tok, m in parts:     # "two of the dogs ... three of the dogs": at least 3
        _bound(best, m, n, tok)
    for _, m in sorted(mentions.items()):
        if m.count is not None or m.negated or not m.keep or _named(m) & counted or \
                m.subject.split()[-1] in RANK_NOUNS:
            continue
        ords = [(BOUND_ORDINALS[c.lower_], c) for c in m.head.children
                if c.i < m.head.i and c.dep_ in ("amod", "nummod", "advmod")
                and c.lower_ in BOUND_ORDINALS]
        if not ords:
            continue
        k, tok = max(ords, key=lambda o: o[0])
        _bound(best, m, k, tok)


def _bound(best: dict[str, Any], m: Any, k: int, tok: Any) -> None:
    """Give ``m`` the lower bound ``k`` (said by ``tok``) unless a mention of the same noun
    (``best``: by name) has one as high already; the lower one is dropped."""
    before = next((best[n] for n in _named(m) if n in best), None)
    if before is not None:
        if before.count >= k:
            return
        before.count, before.count_tok, before.at_least = None, None, False
    m.count, m.count_tok, m.at_least = k, tok, True
    best.update((n, m) for n in _named(m))


def _named(m: Any) -> set[str]:
    return {n for n in (m.node, m.subject) if n}


def _approximate(tok: Any) -> bool:
    prev = tok.doc[tok.i - 1].lower_ if tok.i > 0 else ""
    return prev in L.APPROXIMATE or any(c.lower_ in L.APPROXIMATE for c in tok.children)
