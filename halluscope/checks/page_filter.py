"""Cheap tests that pass by the pages a quote cannot be on, before it is matched there.

A quote missing from its cited pages is looked for on every other page and across every page
break (:mod:`halluscope.checks.page_search`): in a 3,000-page document that normalised every
page (and its loose form, and every pair of pages end to end) for a quote that was nowhere.
The *skeleton* of a text is what is left of it after Unicode NFKC, case folding, dropping
every combining mark and every character that is no letter or digit (a dotless ``ı`` or
``ȷ`` read as ``i``, ``j``): it is made by a few C-speed string operations, and every step of
the page check's normalisation (:mod:`halluscope.checks.pagetext`), exact or loose, keeps or
drops a character so that a quote found on a page has its skeleton inside the page's. So:

* :func:`may_hold`: a page whose skeleton lacks the quote's (each part's, for a quote with an
  ellipsis) cannot hold it, in either match;
* :func:`may_cross`: a quote over the break between two pages has a first part that is a
  prefix of it on the first page and the rest on the second: a pair of pages on which no split
  of its skeleton has both halves is passed by (leaving running headers out of the join only
  removes text, so this holds for that search too);
* :func:`may_hold_reordered`: a page read column by column (its lines in another order) holds
  the quote only where the quote's skeleton is made of a few pieces of the page's skeleton
  (one per line it runs over, :data:`LINE_CHARS` letters a line at least): the page's column
  reading, which costs a second pass over its text layer, is made only where it may.

A test that says "may" is followed by the full match, whose verdict stands; one that says
"cannot" is never wrong, so a verdict never depends on it. A quote with no letter or digit has
an empty skeleton and is looked for everywhere, as before.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

_NOT_WORD = re.compile(r"[\W_]+")
_DOTLESS = str.maketrans("\u0131\u0237", "ij")

#: Letters and digits a line of a column holds at least, for :func:`may_hold_reordered`: a
#: quote of ``n`` of them runs over at most ``2 + n // LINE_CHARS`` lines.
LINE_CHARS = 10


def skeleton(text: str) -> str:
    """``text`` NFKC'd, case folded, without combining marks and without any character that is
    no letter or digit (see the module docstring)."""
    t = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    return _NOT_WORD.sub("", t).translate(_DOTLESS)


def may_hold(parts: Sequence[str], page: str) -> bool:
    """Whether skeleton ``page`` may hold a quote whose skeletons are ``parts`` (one, or one
    per part of a quote with an ellipsis): each is in it."""
    return all(p in page for p in parts)


def _longest_prefix(q: str, hay: str, start: int = 0) -> int:
    """The largest ``n`` with ``q[start:start + n]`` in ``hay`` (a prefix of a substring is a
    substring: a binary search)."""
    lo, hi = 0, len(q) - start
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if q[start:start + mid] in hay:
            lo = mid
        else:
            hi = mid - 1
    return lo


def may_cross(q: str, first: str, second: str) -> bool:
    """Whether quote skeleton ``q`` may run over the break from a page of skeleton ``first``
    to one of ``second``: some split ``q[:i] + q[i:]`` has its head in ``first`` and its tail
    in ``second`` (either may be empty: a part of the quote on one page may be punctuation
    alone)."""
    head = _longest_prefix(q, first)            # q[:i] in first for every i <= head
    lo, hi = 0, len(q)                          # the smallest j with q[j:] in second
    while lo < hi:
        mid = (lo + hi) // 2
        if q[mid:] in second:
            hi = mid
        else:
            lo = mid + 1
    return lo <= head


def may_span(q: str, pages: Sequence[str]) -> bool:
    """Whether quote skeleton ``q`` may run over three or more consecutive pages of skeletons
    ``pages`` from the first to the last: the pages between, end to end, are in it, with a
    head of it before them in the first page and the rest after them in the last."""
    middle = "".join(pages[1:-1])
    i = q.find(middle)
    while i >= 0:
        if q[:i] in pages[0] and q[i + len(middle):] in pages[-1]:
            return True
        i = q.find(middle, i + 1)
    return False


_GRAM = 4
_SLOTS = 1 << 16


def _gram_slots(codes: np.ndarray) -> np.ndarray:
    """A slot in ``[0, _SLOTS)`` for each run of :data:`_GRAM` characters of ``codes``."""
    a = codes.astype(np.uint64)
    h = a[:-3] * np.uint64(0x9E3779B1) ^ a[1:-2] * np.uint64(0x85EBCA77) \
        ^ a[2:-1] * np.uint64(0xC2B2AE3D) ^ a[3:] * np.uint64(0x27D4EB2F)
    return ((h ^ (h >> np.uint64(29))) & np.uint64(_SLOTS - 1)).astype(np.int64)


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def gram_bits(page: str) -> np.ndarray:
    """The slots of the 4-character runs of skeleton ``page``, as packed bits (8 KB): every run
    of a piece of the page has its bit set (others may share a slot: a bit set says "may")."""
    bits = np.zeros(_SLOTS, dtype=bool)
    if len(page) >= _GRAM:
        bits[_gram_slots(_codes(page))] = True
    return np.packbits(bits)


def gram_presence(q: str, bits: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """For each page's :func:`gram_bits` (a row each, or those rows stacked: pages x 8 KB),
    whether it may have each 4-character run of quote skeleton ``q`` (one column per run):
    all pages at once."""
    if len(q) < _GRAM or not len(bits):
        return np.ones((len(bits), max(len(q) - _GRAM + 1, 0)), dtype=bool)
    slots = _gram_slots(_codes(q))
    table = bits if isinstance(bits, np.ndarray) else np.stack(bits)   # pages x 8 KB
    shift = (7 - (slots & 7)).astype(np.uint8)
    return (table[:, slots >> 3] >> shift) & 1 == 1


def piece_budget(q: str) -> int:
    """The most pieces (lines) a quote of skeleton ``q`` may run over in a column."""
    return 2 + len(q) // LINE_CHARS


def may_hold_reordered(q: str, pages: Sequence[str]) -> bool:
    """Whether quote skeleton ``q`` may be in the column reading of pages of skeletons
    ``pages``: it is made of at most :func:`piece_budget` pieces, each in one of them (the
    fewest pieces, taking the longest each time)."""
    if not q:
        return True
    budget, i = piece_budget(q), 0
    while i < len(q) and budget > 0:
        step = max(_longest_prefix(q, hay, i) for hay in pages)
        if step == 0:
            return False
        i, budget = i + step, budget - 1
    return i >= len(q)
