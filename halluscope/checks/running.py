"""Running headers and footers: lines a document repeats at the start or end of most pages.

A quote that runs from page ``k`` onto page ``k + 1`` is interrupted, in the text, by page
``k``'s footer and page ``k + 1``'s header ("Annual report 2023", "Page 3 of 10",
"Confidential", a page number alone). :func:`running_lines` finds such lines so that the
page check can look for the quote once more with them left out of the join
(:mod:`halluscope.checks.pages`).

Detection (conservative; a document with no repetition, or with fewer than 3 pages, has none):

* the candidates are the first and the last ``DEPTH`` (3) non-blank lines of each page's text
  (of a page of fewer than 6 lines, the first half and the rest: no line is both), in the
  order the text gives them (a PDF's text layer may put a footer first: it is then a
  *leading* line, and is treated as one);
* each is compared by its key: NFKC, case folded, every run of digits one ``#``, a roman
  numeral alone on its line (``iv``, ``- xii -``, ``Page iv``) ``#`` too, and only letters,
  digits and ``#`` kept (``Page 3 of 10`` and ``page 12 of 10`` are both ``page#of#``); a
  line without letters or digits keeps its punctuation, each run of one mark once (``_____``
  is ``_``);
* a key is a running *leading* (or *trailing*) line when it is among the leading (trailing)
  lines of at least 3 pages that are at least half of the document's pages, or of at least 3
  odd pages that are at least half of its odd pages, or likewise of its even pages (headers
  that alternate between left and right pages).

A document's running lines are found by their exact keys (a misreading on a few pages does not
stop a header on most). When a page is stripped of them at a break, a line of at least
``FUZZY_LENGTH`` (10) key characters that is nearly one of them (``FUZZY_RATIO``, 0.9: one
wrong character in ``acmeannualreport#``) is taken for it, so an OCR misreading of the
header on that page ("ACME Annual Rep0rt 2023", "Confidentia1") does not interrupt the quote;
shorter keys ("Page 3 of 10" is ``page#of#``, 8 characters) must be the same.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import takewhile
from typing import Any

#: How many non-blank lines at each end of a page are candidates.
DEPTH = 3
#: The fewest pages a line must recur on.
MIN_PAGES = 3
#: A line is taken for a running line it resembles (OCR misreadings) only when both keys are
#: this long, and this similar (difflib's ratio).
FUZZY_LENGTH = 10
FUZZY_RATIO = 0.9

_LINE = re.compile(r"[^\n]*\S[^\n]*")
_ROMAN = re.compile(r"m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})")
_PAGE_ROMAN = re.compile(r"(page)?([ivxlcdm]+)")
_DIGITS = re.compile(r"\d+")
_NOT_KEY = re.compile(r"[^\w#]|_")


def line_key(line: str) -> str:
    """The key a line is compared by (see the module docstring); ``""`` for a blank line."""
    text = unicodedata.normalize("NFKC", line).casefold().strip()
    roman = _PAGE_ROMAN.fullmatch(re.sub(r"[\W_]+", "", text))
    if roman and _ROMAN.fullmatch(roman.group(2)):
        return (roman.group(1) or "") + "#"
    key = _NOT_KEY.sub("", _DIGITS.sub("#", text))
    if key:
        return key
    return re.sub(r"(\S)\1+", r"\1", re.sub(r"\s+", "", text))


def _line_spans(raw: str) -> list[tuple[int, int]]:
    """The spans of ``raw``'s non-blank lines, without their outer whitespace."""
    out = []
    for m in _LINE.finditer(raw):
        a, b = m.span()
        text = m.group(0)
        out.append((a + len(text) - len(text.lstrip()), b - len(text) + len(text.rstrip())))
    return out


def _ends(spans: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """A page's leading and trailing candidates among its lines' ``spans``: ``DEPTH`` at each
    end, a short page's lines shared between them (the first half leading, a middle line
    too), so that no line is both."""
    n = len(spans)
    return spans[:min(DEPTH, (n + 1) // 2)], spans[n - min(DEPTH, n // 2):]


@dataclass(frozen=True)
class RunningLines:
    """The keys of a document's running leading lines (headers) and trailing lines (footers).

    What :meth:`leading` and :meth:`trailing` find on a page is remembered (per page text)."""

    leading_keys: frozenset[str]
    trailing_keys: frozenset[str]
    _cuts: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = field(
        default_factory=dict, compare=False, repr=False)

    def leading(self, raw: str) -> list[tuple[int, int]]:
        """Spans of the running lines ``raw`` starts with (at most ``DEPTH``)."""
        return self._cut(raw)[0]

    def trailing(self, raw: str) -> list[tuple[int, int]]:
        """Spans of the running lines ``raw`` ends with (at most ``DEPTH``), in text order."""
        return self._cut(raw)[1]

    def _cut(self, raw: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        cut = self._cuts.get(raw)
        if cut is None:
            heads, tails = _ends(_line_spans(raw))
            lead = list(takewhile(lambda s: is_running(line_key(raw[s[0]:s[1]]),
                                                       self.leading_keys), heads))
            trail = list(takewhile(lambda s: is_running(line_key(raw[s[0]:s[1]]),
                                                        self.trailing_keys), tails[::-1]))
            cut = self._cuts[raw] = (lead, trail[::-1])
        return cut


def is_running(key: str, keys: frozenset[str]) -> bool:
    """Whether a line of ``key`` is one of the running lines ``keys``: the same key, or, for
    keys of at least ``FUZZY_LENGTH`` characters, one that differs from a running key as an
    OCR misreading does (a similarity ratio of at least ``FUZZY_RATIO``: ``acmeannualrep#rt#``
    for ``acmeannualreport#``). Short keys (``#``, ``page#``) must be the same."""
    if key in keys:
        return True
    if len(key) < FUZZY_LENGTH:
        return False
    for k in keys:
        if len(k) >= FUZZY_LENGTH:
            near = SequenceMatcher(None, key, k)
            if near.real_quick_ratio() >= FUZZY_RATIO and near.quick_ratio() >= FUZZY_RATIO \
                    and near.ratio() >= FUZZY_RATIO:
                return True
    return False


def _recurring(seen: Counter, odd: Counter, n: int) -> frozenset[str]:
    """The keys seen on at least ``MIN_PAGES`` pages that are at least half of all pages, of
    the odd pages or of the even pages (``seen``: pages per key; ``odd``: odd pages per key)."""
    n_odd = (n + 1) // 2

    def enough(count: int, of: int) -> bool:
        return count >= MIN_PAGES and 2 * count >= of

    return frozenset(k for k, c in seen.items() if enough(c, n) or enough(odd[k], n_odd) or
                     enough(c - odd[k], n - n_odd))


def detect(texts: Sequence[str]) -> RunningLines | None:
    """The running lines of a document whose pages have ``texts`` (page 1 first), or ``None``
    when it has none (always for fewer than ``MIN_PAGES`` pages)."""
    if len(texts) < MIN_PAGES:
        return None
    lead, trail, lead_odd, trail_odd = Counter(), Counter(), Counter(), Counter()
    for number, raw in enumerate(texts, 1):
        heads, tails = _ends(_line_spans(raw))
        for counter, odd, ends in ((lead, lead_odd, heads), (trail, trail_odd, tails)):
            keys = {line_key(raw[a:b]) for a, b in ends} - {""}
            counter.update(keys)
            if number % 2:
                odd.update(keys)
    found = RunningLines(_recurring(lead, lead_odd, len(texts)),
                         _recurring(trail, trail_odd, len(texts)))
    return found if found.leading_keys or found.trailing_keys else None


_SEEN: "weakref.WeakKeyDictionary[Any, tuple[list[str], RunningLines | None]]" = \
    weakref.WeakKeyDictionary()


def running_lines(page_text: Callable[[int], str], n_pages: int) -> RunningLines | None:
    """The running lines of the document ``page_text`` (``page number -> text``) reads, found
    once per owner of the callable and remembered while no page's text changes."""
    texts = [page_text(p) for p in range(1, n_pages + 1)]
    owner = getattr(page_text, "__self__", page_text)
    try:
        seen = _SEEN.get(owner)
    except TypeError:                       # not weakly referenceable
        return detect(texts)
    if seen is not None and len(seen[0]) == len(texts) and all(
            a is b or a == b for a, b in zip(seen[0], texts)):
        return seen[1]
    found = detect(texts)
    _SEEN[owner] = (texts, found)
    return found
