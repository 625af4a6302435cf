"""The pages and page breaks of a document that may hold a quote, all pages at once.

:mod:`halluscope.checks.page_filter` gives the tests (a page's skeleton, the 4-character runs it
has); :class:`Sieve` applies them to every page and every break of a document in a few numpy
operations, from the forms :func:`~halluscope.checks.pagetext.page_forms` remembers per
document, so that a quote missing from its cited pages costs a pass over arrays, not a match
on each of 3,000 pages. What it rules out can hold no match (see
:mod:`~halluscope.checks.page_filter`); what it lets through is matched as before.
"""

from __future__ import annotations

import bisect
import weakref
from typing import Any

import numpy as np

from halluscope.checks.page_filter import (gram_presence, may_cross, may_hold,
                                           may_hold_reordered, piece_budget)
from halluscope.checks.pagetext import page_forms
from halluscope.checks.quote_match import Needle, page_numbers


class PageIndex:
    """Every page of the ``page_text`` of ``n_pages`` pages at once: their forms
    (:func:`~halluscope.checks.pagetext.page_forms`), their skeletons end to end (one
    ``str.find`` over the document finds the pages a quote's letters and digits are on) and
    their 4-character runs as one table, made once per document (:func:`page_index`), where a
    quote missing from its cited pages made a list of the document's pages, its table and a
    match attempt on each page in Python: 500 citations of a 2,000-page PDF cost a million
    page visits."""

    def __init__(self, page_text: Any, n_pages: int):
        self.forms = [page_forms(page_text, p) for p in range(1, n_pages + 1)]
        self.raws = [f.raw for f in self.forms]
        self.skels = [f.skeleton for f in self.forms]
        self.joined = "\n".join(self.skels)          # (a skeleton has no line ends)
        self.starts = list(np.cumsum([0] + [len(k) + 1 for k in self.skels[:-1]]).tolist())
        self._table: np.ndarray | None = None
        self._values: dict[Any, list[int]] | None = None

    @property
    def table(self) -> np.ndarray:
        """The pages' :func:`~halluscope.checks.page_filter.gram_bits`, a row each."""
        if self._table is None:
            self._table = np.stack([f.grams for f in self.forms]) if self.forms else \
                np.zeros((0, 0), dtype=np.uint8)
        return self._table

    def pages_holding(self, parts: tuple[str, ...]) -> list[int]:
        """The pages whose skeleton holds every one of ``parts`` (quote skeletons), in order:
        the only pages a quote may be found on whole (:func:`~.page_filter.may_hold`)."""
        longest = max(parts, key=len, default="")
        if not longest:
            return list(range(1, len(self.skels) + 1))
        found: list[int] = []
        at = self.joined.find(longest)
        while at >= 0:
            p = bisect.bisect_right(self.starts, at)          # 1-based
            found.append(p)
            at = self.joined.find(longest, self.starts[p] if p < len(self.starts)
                                  else len(self.joined))
        return [p for p in found if may_hold(parts, self.skels[p - 1])]

    def pages_with_value(self, value: Any) -> list[int]:
        """The pages with a number of ``value`` (as :func:`page_numbers` reads them)."""
        if self._values is None:
            self._values = {}
            for p, f in enumerate(self.forms, 1):
                for v in dict.fromkeys(v for v, _, _ in f.numbers(page_numbers)):
                    self._values.setdefault(v, []).append(p)
        return self._values.get(value, [])


_INDEXES: "weakref.WeakKeyDictionary[Any, dict[Any, PageIndex]]" = weakref.WeakKeyDictionary()


def page_index(page_text: Any, n_pages: int) -> PageIndex:
    """The :class:`PageIndex` of ``page_text`` (``page number -> text``), made once per owner
    of the callable (a document) and callable (its ``text`` or ``column_text``), and made
    again when a page's text is no longer the one indexed (not checked for a document's
    ``text`` that says its pages' text is fixed: ``Document.fixed_text``)."""
    owner = getattr(page_text, "__self__", page_text)
    key = getattr(page_text, "__func__", page_text)
    try:
        per_owner = _INDEXES.setdefault(owner, {})
    except TypeError:                       # not weakly referenceable
        return PageIndex(page_text, n_pages)
    index = per_owner.get(key)
    fixed = getattr(owner, "fixed_text", False) and getattr(key, "__name__", "") == "text"
    if index is None or len(index.raws) != n_pages or not fixed and not all(
            a is b or a == b for a, b in zip(map(page_text, range(1, n_pages + 1)),
                                             index.raws)):
        index = per_owner[key] = PageIndex(page_text, n_pages)
    return index


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

    * :meth:`crossable`: the pages ``p`` after which it may run over the break as the
      pages' text stands (a head of it on ``p``, the rest on ``p + 1``: two pieces at most);
    * :meth:`reordered`: the pages and breaks on which it may be with the pages' lines in
      another order (their column reading): at most :func:`piece_budget` pieces.
    """

    def __init__(self, needle: Needle, page_text: Any, n_pages: int):
        self.needle, self.n_pages = needle, n_pages
        self.index = page_index(page_text, n_pages)
        self.skels = self.index.skels
        self._bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _pieces(self, q: str) -> tuple[np.ndarray, np.ndarray]:
        """The fewest pieces of quote skeleton ``q`` on each page and each pair of pages."""
        if q not in self._bounds:
            if len(q) < 4 or self.n_pages == 0:
                ones = np.ones(self.n_pages, dtype=np.int64)
                self._bounds[q] = (ones, ones[:-1])
            else:
                missing = ~gram_presence(q, self.index.table)
                self._bounds[q] = (cut_counts(missing), cut_counts(missing[:-1] & missing[1:]))
        return self._bounds[q]

    def crossable(self) -> list[int]:
        """The pages ``p`` after which the needle may run over the break, all at once."""
        q = self.needle.skeleton
        return [p for p in (np.flatnonzero(self._pieces(q)[1] <= 2) + 1).tolist()
                if may_cross(q, self.skels[p - 1], self.skels[p])]

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
