"""The pages and page breaks of a document that may hold a quote, all pages at once.

:mod:`halluscope.checks.page_filter` gives the tests (a page's skeleton, the 4-character runs it
has); :class:`Sieve` applies them to every page and every break of a document in a few numpy
operations, from the forms :func:`~halluscope.checks.pagetext.page_forms` remembers per
document, so that a quote missing from its cited pages costs a pass over arrays, not a match
on each of 3,000 pages. What it rules out can hold no match (see
:mod:`~halluscope.checks.page_filter`); what it lets through is matched as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from halluscope.checks.page_filter import (gram_presence, may_cross, may_hold_reordered,
                                           piece_budget)
from halluscope.checks.pagetext import page_forms
from halluscope.checks.quote_match import Needle


def cut_counts(missing: np.ndarray) -> np.ndarray:
    """For each row of ``missing`` (pages x 4-character runs of a quote: runs a page lacks),
    the fewest pieces the quote is made of on it: one more than the fewest cuts that fall
    inside every run it lacks (cut greedily at the end of the first uncut one)."""
    n, runs = missing.shape
    cuts = np.zeros(n, dtype=np.int64)
    covered_to = np.full(n, -1, dtype=np.int64)     # a cut before character covered_to
    for i in range(runs):
        new = missing[:, i] & (covered_to <= i)
        cuts += new
        covered_to[new] = i + 3
    return cuts + 1


class Sieve:
    """Which pages and breaks of the ``page_text`` of ``n_pages`` pages may hold ``needle``.

    * :meth:`may_cross`: whether it may run over the break after page ``p`` as the pages'
      text stands (a head of it on ``p``, the rest on ``p + 1``: two pieces at most);
    * :meth:`reordered`: the pages and breaks on which it may be with the pages' lines in
      another order (their column reading): at most :func:`piece_budget` pieces.
    """

    def __init__(self, needle: Needle, page_text: Any, n_pages: int):
        self.needle, self.n_pages = needle, n_pages
        forms = [page_forms(page_text, p) for p in range(1, n_pages + 1)]
        self.skels = [f.skeleton for f in forms]
        self._bits = [f.grams for f in forms]
        self._bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _pieces(self, q: str) -> tuple[np.ndarray, np.ndarray]:
        """The fewest pieces of quote skeleton ``q`` on each page and each pair of pages."""
        if q not in self._bounds:
            if len(q) < 4 or self.n_pages == 0:
                ones = np.ones(self.n_pages, dtype=np.int64)
                self._bounds[q] = (ones, ones[:-1])
            else:
                missing = ~gram_presence(q, self._bits)
                self._bounds[q] = (cut_counts(missing), cut_counts(missing[:-1] & missing[1:]))
        return self._bounds[q]

    def may_cross(self, p: int) -> bool:
        q = self.needle.skeleton
        return bool(self._pieces(q)[1][p - 1] <= 2) and may_cross(q, self.skels[p - 1],
                                                                 self.skels[p])

    def reordered(self) -> tuple[set[int], set[int]]:
        """The pages ``p`` and the breaks (after page ``p``) on which the needle may be in a
        column reading (a number never: it is read the same in either order)."""
        if self.needle.kind == "number":
            return set(), set()
        pages = set(range(1, self.n_pages + 1))
        breaks = set(range(1, self.n_pages))
        for q in self.needle.skeletons:
            single, pair = self._pieces(q)
            budget = piece_budget(q)
            pages &= {p for p in (np.flatnonzero(single <= budget) + 1).tolist()
                      if may_hold_reordered(q, [self.skels[p - 1]])}
            breaks &= {p for p in (np.flatnonzero(pair <= budget) + 1).tolist()
                       if may_hold_reordered(q, self.skels[p - 1:p + 1])}
        return pages, breaks
