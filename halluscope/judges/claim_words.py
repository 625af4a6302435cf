"""Whether a judge's claim is the response's: its words found in the response text.

A judge that splits a response into claims (:meth:`Judge.decompose
<halluscope.judges.judge.Judge.decompose>`, :class:`~halluscope.claims.llm.JudgeDecomposer`)
can name a claim the response never made (``purple`` for "a brown dog"); scored, it would be
charged to the model as its hallucination. :func:`claim_words_said` finds the words a claim
rests on in the response, and :func:`claims_from_decomposition` keeps the claims whose words are
there (with their character spans).
"""

from __future__ import annotations

import re
from typing import Any

from halluscope.numbers import NUMBER_WORDS
from halluscope.types import Claim

def _span(text: str, claim_text: str | None, subject: str) -> tuple[int, int]:
    low = text.lower()
    for needle in (claim_text, subject):
        if needle:
            i = low.find(needle.lower())
            if i >= 0:
                return (i, i + len(needle))
    return (0, 0)


_TOKEN = re.compile(r"[^\W_]+")
_SUFFIXES = ("ing", "ed", "es", "s", "ly")
#: words besides the number's own that a response may state a count with
_COUNT_SYNONYMS = {0: ("no", "none"), 1: ("a", "an", "single", "lone"),
                   2: ("pair", "couple", "both"), 12: ("dozen",)}
#: words a response may state a count with (besides its digits), zero to twelve
_NUMBER_WORDS = {n: (w, *_COUNT_SYNONYMS.get(n, ())) for w, n in NUMBER_WORDS.items() if n <= 12}
#: the number words a whole numeral is read from; "hundred" is not one ("one hundred": 1)
_WORD_VALUES = {w: n for w, n in NUMBER_WORDS.items() if n < 100}


def _numbers_in(words: list[str]) -> set[int]:
    """The numbers ``words`` spell: each number word and each tens-and-unit pair
    ("twenty-one", "twenty one": 21), as the rule-based claims read a count."""
    found = set()
    for i, w in enumerate(words):
        n = _WORD_VALUES.get(w)
        if n is None:
            continue
        found.add(n)
        unit = _WORD_VALUES.get(words[i + 1], 0) if i + 1 < len(words) else 0
        if n >= 20 and 1 <= unit <= 9:
            found.add(n + unit)
    return found


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[:-len(suffix)]
    return word


#: plurals a prefix does not find (the judge names nouns in the singular)
_IRREGULAR = {"person": "people", "man": "men", "woman": "women", "child": "children",
              "mouse": "mice", "foot": "feet", "tooth": "teeth", "goose": "geese", "ox": "oxen"}


def _said(words: list[str], phrase: Any) -> bool:
    """Whether each word of ``phrase`` (3 letters or more) is in ``words``, up to its ending
    (``sleeping`` for ``sleeps``, ``wooden`` for ``wood``, ``shelf`` for ``shelves``,
    ``person`` for ``people``)."""
    for token in _TOKEN.findall(str(phrase).lower()):
        if len(token) < 3 and token not in _IRREGULAR:
            continue
        stem = _stem(token)
        forms = {stem, _IRREGULAR.get(token, stem), stem[:-2] if stem.endswith("fe") else
                 stem[:-1] if stem.endswith("f") else stem}
        if not any(w.startswith(form) or (len(w) >= 4 and form.startswith(_stem(w)))
                   for w in words for form in forms if form):
            return False
    return True


def claim_words_said(text: str, kind: str, value: Any = None, other: Any = None) -> bool:
    """Whether the response ``text`` says the words a judge's claim rests on besides its
    subject (which its span is found by): an attribute's value, a count's number (digits or a
    number word), a relation's second object. A claim whose subject is there but whose value
    is not (``purple`` for "a brown dog") is one the judge made up: scored, it would be
    charged to the model as its hallucination."""
    words = _TOKEN.findall(text.lower())
    if kind == "attribute" and value is not None and not _said(words, value):
        return False
    if kind == "relation" and other is not None and not _said(words, other):
        return False
    if kind == "count" and value is not None:
        said = str(value).strip().lower()
        n = next((k for k, names in _NUMBER_WORDS.items() if said in names), None)
        try:
            n = int(float(said)) if n is None and float(said).is_integer() else n
        except (ValueError, OverflowError):
            n = max(_numbers_in(_TOKEN.findall(said)), default=n)     # "twenty-one"
        if n is None:
            return True             # "several": no number to look for; the checker decides
        return (str(n) in words or any(w in words for w in _NUMBER_WORDS.get(n, ()))
                or n in _numbers_in(words))
    return True


def claims_from_decomposition(items: list[dict[str, Any]], text: str) -> tuple[list[Claim], int]:
    """The claims of a parsed decomposition (``items``: the judge's dicts) that ``text`` says,
    and how many it does not (neither the words a claim quotes nor its subject are in the
    response, or a word it rests on is not: a claim the judge made up)."""
    claims, unfounded = [], 0
    for c in items:
        span = _span(text, c.get("text"), c["subject"])
        if text and (span == (0, 0) or not claim_words_said(
                text, c["kind"], c.get("value"), c.get("object"))):
            unfounded += 1
            continue
        claims.append(Claim(kind=c["kind"], subject=c["subject"], value=c.get("value"),
                            relation=c.get("relation"), object=c.get("object"),
                            span=span, text=c.get("text")))
    return claims, unfounded


__all__ = ["claim_words_said", "claims_from_decomposition"]
