"""Page citations in a response: the pages it cites and the quotes and numbers it puts on them.

Read by :func:`parse_page_citations` (re-exported by :mod:`halluscope.claims.citations`, whose
docstring lists the citation forms); checked against the document by
:mod:`halluscope.checks.pages`.

Attribution
-----------
A response is split into sentences (:func:`sentences`): a sentence does not end inside a
double-quoted passage (``"Sales fell. Costs rose."`` is one quotation), and a bracketed page
citation written after a sentence's end belongs to that sentence (``"Costs fell." (p. 3)``).
Every quotation in a sentence that cites pages is attributed to one of its citations: text in
double quotes (``"…"``, ``“…”``, ``«…»``; a mark right after a letter or digit, as in ``6"``,
opens none) or single ones (``'…'``, ``‘…’``: a mark between two letters is an apostrophe,
``don't``, and one after a letter opens none, ``the users' data``; inside one, an elision,
``'90s``, and plural possessives before the closing mark, ``'the models' answers and the
users' data'``, stay in it) of at least 3 characters; a ``.`` or ``,`` just inside the closing mark is the
writer's, not the source's, and is left out. A citing sentence without quotations attributes
its *numbers* instead (``4,210``, ``12%``, ``3.5``; not the page numbers themselves, not a
number that is part of a word, and not one that names a place in the document: ``line 3``,
``Table 4``, ``section 2.1``, ``§ 3``, ``figs. 2-3``).

Which citation a quote or number belongs to, within its sentence (:func:`_owner`):

1. the next citation, when it follows the quote directly (``"…" (p. 3)``, ``"…", p. 3``,
   ``"…" on page 3``, ``"…" is on page 3``) or is written in brackets (a reference mark for
   the text before it: ``4,210 units (p. 1)``);
2. else the citation before it (``Page 1 says "…" while page 3 says "…"``: each quote goes to
   the page named before it);
3. else the next citation (``the 7.5% rise, see page 3``).

A citation may name its document by a file name (or one of the record's names for its
documents) next to it (``report.pdf p. 3``, ``p. 3 of appendix.pdf``, ``In report.pdf, see p.
3``; :attr:`PageCitation.document`; the name a reader binds to it, by the rules of
:mod:`halluscope.claims.cited_documents`), by which the page check picks the record's document
it is checked in; one bound as tightly to two names is :attr:`PageCitation.ambiguous`.

JSON citations: an object with ``"page"`` / ``"page_number"`` / ``"pages"``: a number, a list,
or text (``"p. 9"``, ``"2-3"``, ``"pages 2 and 4"``); ``null``, ``""``, ``"n/a"``, ``"none"``
cite no page. A value that names no page (``"nine"``, ``true``, ``5.5``) is kept in
:attr:`PageCitation.unread`, and the page check lists the record as bad (it was silently
dropped, its made-up quote never counted).
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from halluscope.claims.cited_documents import (FILE_NAME, CarriedDocument, cited_documents,
                                                namers)
from halluscope.claims.cited_json import blank_json
from halluscope.claims.page_words import CARDINAL, ORDINAL, word_value
from halluscope.jsonblobs import json_blobs, walk_dicts


# -- page citations ------------------------------------------------------------------------------

MAX_RANGE = 20
MAX_PAGE = 100_000
"""Largest page number a citation may name; longer digit runs are not page citations."""
_MAX_PAGE_DIGITS = len(str(MAX_PAGE))

# between the numbers of a list or range: "3-5", "3 to 5", "3 through 5", "3, 4, and 5"
_JOINS = r"(?:,\s*(?:and|&)|-|–|\u2014|to|through|thru|and|,|&)"
_NUM = r"\d+(?:\s*" + _JOINS + r"\s*\d+)*"
# a page number in words ("on page three", "pages two and three", "page twenty-one"), one to
# 9,999, and an ordinal over the same range that cites a page (halluscope.claims.page_words)
_WORD = CARDINAL
_WORDS = _WORD + r"(?:\s*" + _JOINS + r"\s*" + _WORD + r")*"
# a page label in roman numerals, as front matter is numbered (i to lxxxix; lower case, or
# upper case of two letters or more: "page I found" is no citation), alone or a range
_ROMAN = (r"(?-i:(?=[ivxl])(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
          r"|(?=[IVXL]{2})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3}))")
_LABELS = _ROMAN + r"(?:\s*[-–]\s*" + _ROMAN + r")?(?![\w-])"
_SAYS = (r"(?:says?|states?|shows?|reads?|notes?|lists?|reports?|mentions?|gives?|contains?|"
         r"describes?|explains?|puts?|has|had|said|stated|showed|read|noted|listed|reported)")
# an ordinal citation followed by "of" cites a page of a document ("of the report", "of the
# appendix", of a file or of one of the record's names), not "the first page of results"
_OF_DOCUMENT = re.compile(r"\s+of\s+(?:the\s+|this\s+|that\s+)?(?:document|report|pdf|file|"
                          r"paper|article|appendix|annex|source|text|filing|book|manual)\b",
                          re.IGNORECASE)
_CITATION = re.compile(
    r"(?P<bracket>[\[(]\s*)?"
    r"(?:(?:\b(?P<pp>pp?|pgs?)\.\s*|\bpp\s+|(?<=[\[(])(?:pp?|pgs?)\s+)(?P<n1>" + _NUM + r")"
    r"|(?<!-)\b(?P<word>pages?)\s*(?::\s*)?(?:no\.?\s*|#\s*)?(?P<n2>" + _NUM + r")"
    r"|(?<=[\[(])\s*p(?P<n3>\d+)\s*(?=[\])])"
    r"|\b(?:pp?|pgs?)\.\s*(?P<r1>" + _LABELS + r")|\bpages?\s+(?P<r2>" + _LABELS + r")"
    r"|\bpages?\s+(?P<w>" + _WORDS + r")"
    # an ordinal: "on/in/from/at the second page", "the 3rd page says", "(first page)"
    r"|\b(?:on|in|from|at)\s+the\s+(?P<o1>" + ORDINAL + r")\s+page\b(?!-)"
    r"|\bthe\s+(?P<o2>" + ORDINAL + r")\s+page\s+(?=" + _SAYS + r"\b)"
    r"|(?<=[\[(])\s*(?:see\s+)?(?:the\s+)?(?P<o3>" + ORDINAL + r")\s+page\s*(?=[\])])"
    # "pg 3", "pg3", "Pg 3" (not "PG 13", a film rating, nor "pg-13"); "page-3"
    r"|(?<![\w-])(?-i:pg|Pg)s?\s*(?P<n4>" + _NUM + r")(?=\s?ff?\.|ff(?!\w)|(?![\w-]))"
    r"|(?<![\w-])pages?-(?P<n5>\d+)(?![\w-]))"
    # "p. 4 f." (that page and the next), "pp. 4ff." (that page and those after it)
    r"(?:\s?(?P<ff>ff\.?|f\.)(?!\w))?",
    re.IGNORECASE)
# a place in the document named by its number ("line 3", "Table 4", "§ 2", "figs. 2-3"): a
# reference, not a figure the document states; a citing sentence does not attribute it
_LOCATOR = re.compile(
    r"(?:\b(?:lines?|ll?\.|paras?\.?|paragraphs?|sections?|secs?\.|chapters?|ch\.|"
    r"footnotes?|fn\.|figs?\.?|figures?|tables?|tabs?\.|rows?|columns?|cols?\.|eqs?\.|"
    r"equations?|appendix|slides?|exhibits?|panels?|boxes|box|articles?|art\.|clauses?|"
    r"vols?\.|volumes?|items?)|[\u00a7\u00b6])\s*(?:no\.\s*|#\s*)?" + _NUM + r"\b",
    re.IGNORECASE)
_RANGE = re.compile(r"(\d+)\s*(?:-|–|\u2014|to|through|thru)\s*(\d+)")
# a quotation opens with a mark that does not follow a letter or digit (6" is six inches)
# marks paired in order; a body under 3 characters ("7%") is passed by in _quotes_in, never
# left unpaired (its closing mark opened a "quote" of the text up to the next quotation)
_DQUOTE = re.compile(r"(?<!\w)[\"\u201c\u201d\u00ab\u00bb]([^\"\u201c\u201d\u00ab\u00bb]*)"
                     r"[\"\u201c\u201d\u00ab\u00bb]")
# a quotation in curly marks that holds one in straight marks (“The "smart" devices sold
# well”), or the other way round: one quotation (the marks paired in order made it “The "
# alone); each inner pair opens after no letter or digit and closes before none, so a curly
# mark closed by a straight one (“first" and "second”) is still two quotations, as before;
# a straight mark after a digit inside curly ones is an inch mark (“a 6" pipe”)
_NESTED = re.compile(
    r'(?<!\w)\u201c((?:[^\u201c\u201d"\n]|(?<=\d)"|(?<!\w)"[^\u201c\u201d"\n]+"(?!\w)){0,2000})\u201d'
    r'|(?<!\w)"((?:[^\u201c\u201d"\n]|(?<!\w)\u201c[^\u201c\u201d"\n]+\u201d(?!\w)){0,2000})"')
NUMBER_TOKEN = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
                          r"(?:\s?%|\s?percent)?(?![\w%])", re.IGNORECASE)
"""A number as a response writes it (``4,210``, ``12%``, ``3.5``, ``40 percent``); its sign,
written before it, is found by :func:`signed_start`."""

MINUS_SIGNS = "-\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d"
"""Characters read as a minus sign right before a number: hyphen-minus, the hyphens, the figure
dash, the en dash (typeset as a minus), the minus sign and its small and full-width forms; all
alike. An em dash is punctuation (``growth\u20145%``), never a sign."""
PLUS_SIGNS = "+\uff0b"
CURRENCY = "$\u20ac\u00a3\u00a5\u20b9"
"""Currency symbols that may stand between a sign and its digits (``\u2212$5``, ``$-5``)."""
# what may come right before a sign: a sign after a letter, digit, % or closing bracket is a
# hyphen or a range (COVID-19, 2019-2020, pp. 3-5, 5%-10%)
BEFORE_SIGN = "([{<:;,=/\"'\u201c\u2018\u00ab" + CURRENCY


def is_sign(text: str, i: int) -> bool:
    """Whether ``text[i]`` is a number's sign: a minus or plus sign (:data:`MINUS_SIGNS`,
    :data:`PLUS_SIGNS`) at the start of the text or after a space, an opening bracket or quote,
    ``:`` ``;`` ``,`` ``=`` ``/`` or a currency symbol, followed by a digit (or a currency
    symbol and a digit): ``-5%``, ``(\u22125)``, ``$-5``, ``\u2212$5``, not ``2019-2020`` or
    ``COVID-19``."""
    if text[i] not in MINUS_SIGNS and text[i] not in PLUS_SIGNS:
        return False
    if i > 0 and not (text[i - 1].isspace() or text[i - 1] in BEFORE_SIGN):
        return False
    j = i + 1
    if j < len(text) and text[j] in CURRENCY:
        j += 1
    return j < len(text) and text[j].isdecimal()


def signed_start(text: str, a: int) -> int:
    """Where the number whose digits start at ``text[a]`` starts with its sign (``-5``,
    ``\u2212$5``: the sign's offset), or ``a`` when it has none."""
    j = a - 1 if a > 0 and text[a - 1] in CURRENCY else a
    return j - 1 if j > 0 and is_sign(text, j - 1) else a
# a run of end punctuation (whole, possessive: no backtracking inside "......") and closers
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]++[\"\u201d')\]]*+(?=\s+[A-Z\"\u201c(\[]|\s*$)"
                           r"|\n\s*\n")
_ABBREV = re.compile(r"\b(?:pp?|pgs?|e\.g|i\.e|etc|fig|vs|no|mr|mrs|dr)\.$", re.IGNORECASE)
_MARK = "\"\u201c\u201d\u00ab\u00bb"
# "ff." / "f." after a page number: the end of a citation, not of a sentence, before a quote
_FF_BEFORE_QUOTE = re.compile(r"\d\s?ff?\.$", re.IGNORECASE)
# a quotation: marks paired in order, not across a blank line, at most 2,000 characters
_QUOTED = re.compile(rf"(?<!\w)[{_MARK}](?:[^{_MARK}\n]|\n(?![ \t]*\n)){{0,2000}}[{_MARK}]")
# a quotation in single marks ('...', ‘...’): the opening mark follows no letter or digit
# and comes before one that is not a space (the models' answers: no opening); the closing one
# follows a non-space and comes before no letter or digit; inside it, a mark between two
# letters is an apostrophe (don't, the model's), as are the elisions 'tis, 'em, 'n' and '90s,
# and so is one after an s before a word when the quotation closes later on, before any other
# mark that may close it ('the models' answers were wrong': a plural possessive)
_INNER = r"(?<=\w)['\u2019](?=\w)"
_ELIDED = r"(?<!\w)['\u2018\u2019](?:(?=(?:tis|twas|em|cause|til)\b|\d0s\b)|n['\u2019](?!\w))"
_CLEAR_CLOSE = r"(?<=\S)(?:(?<!s)['\u2019](?!\w)|(?<=s)['\u2019](?!\w|\s+\w))"
# (further plural possessives on the way too: 'the models' answers and the users' data')
_RESUMES = (rf"\s+\w(?:[^'\u2018\u2019\n]|{_INNER}|{_ELIDED}|(?<=s)['\u2019](?=\s+\w))"
            rf"{{0,2000}}+{_CLEAR_CLOSE}")
_SQUOTED = re.compile(
    r"(?<!\w)['\u2018](?!(?:tis|twas|em|cause|til|n)\b|\d0s\b)(?=[^\s'\u2018\u2019])"
    rf"((?:[^'\u2018\u2019\n]|{_INNER}|{_ELIDED}|(?<=s)['\u2019](?={_RESUMES})"
    r"|\n(?![ \t]*\n)){1,2000}?)"
    rf"(?<=\S)(?!(?<=s)['\u2019]{_RESUMES})['\u2019](?!\w)", re.IGNORECASE)
_BRACKET_AFTER = re.compile(r"[ \t]*[\[(]([^\[\]()\n]{1,80})[\])]")


@dataclass(frozen=True)
class Quote:
    """A quotation or number a response attributes to pages."""

    text: str
    span: tuple[int, int]
    kind: str = "quote"              # quote | number


@dataclass(frozen=True)
class PageCitation:
    """Pages cited at one place in a response, with what the response puts on them."""

    pages: tuple[int, ...]
    span: tuple[int, int]
    sentence: str
    quotes: tuple[Quote, ...] = ()
    source: str = "text"             # text | json
    unread: tuple[str, ...] = ()     # JSON page values that are no page number ("nine")
    # ranges of more than MAX_RANGE pages, (first, last): ``pages`` holds their two ends only,
    # but a quote is looked for on every page of them the document has
    ranges: tuple[tuple[int, int], ...] = ()
    # page labels cited in roman numerals ("p. ii", "pp. iii-v": iii, iv, v), placed on the
    # document's pages by its labels (:mod:`halluscope.checks.page_labels`)
    labels: tuple[str, ...] = ()
    # the document the citation names by its file name ("report.pdf p. 3", "p. 3 of
    # appendix.pdf", a JSON "document"), else None: checked against the record's own
    # (:mod:`halluscope.claims.cited_documents` binds a name to it)
    document: str | None = None
    # two names bound to it as tightly ("report.pdf, p. 4 of appendix.pdf"), before and after
    # it, ``document`` then ``None``: the check takes it for neither unless both are one
    ambiguous: tuple[str, ...] = ()
    # ``document`` was named in a sentence before it (:class:`~.cited_documents.CarriedDocument`)
    carried: bool = False


def page_number(value: Any) -> int | None:
    """A page number from a cited token: an ``int`` (a whole ``float`` too: ``5.0``, as JSON
    writers give them) or a string of decimal digits, at most :data:`MAX_PAGE` either way; a
    negative number is kept (a page that cannot exist: counted as fabricated, not dropped);
    ``None`` for anything else (``"²"``, a 5,000-digit run, ``True``, ``5.5``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return value if -MAX_PAGE <= value <= MAX_PAGE else None
    if not isinstance(value, str):
        return None
    digits = value.strip()
    if not digits or len(digits) > _MAX_PAGE_DIGITS or not digits.isdecimal():
        return None
    n = int(digits)
    return n if n <= MAX_PAGE else None


def _cited_numbers(m: re.Match) -> str | None:
    """The page numbers a :data:`_CITATION` match names, as digits (``"3-4"``; ``"page
    three"``: ``"3"``), or ``None`` for one that names page labels."""
    words = m.group("w")
    if words:
        return re.sub(CARDINAL, lambda w: str(word_value(w.group(0))), words,
                      flags=re.IGNORECASE)
    ordinal = m.group("o1") or m.group("o2") or m.group("o3")
    if ordinal:
        return str(word_value(ordinal))
    return m.group("n1") or m.group("n2") or m.group("n3") or m.group("n4") or m.group("n5")


def _pages_of(numbers: str) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
    """The pages ``numbers`` cites (``"3, 5-7"``) and its ranges of more than
    :data:`MAX_RANGE` pages as ``(first, last)``: of such a range (``"1-30"``) the pages hold
    only its two ends."""
    pages: list[int] = []
    long: list[tuple[int, int]] = []
    for part in re.split(r"\s*(?:,|and|&)\s*", numbers):
        m = _RANGE.fullmatch(part.strip())
        if m:
            a, b = page_number(m.group(1)), page_number(_range_end(m.group(1), m.group(2)))
            if a is not None and b is not None and a <= b and b - a < MAX_RANGE:
                pages.extend(range(a, b + 1))
            else:
                pages.extend(p for p in (a, b) if p is not None)
                if a is not None and b is not None and a <= b:
                    long.append((a, b))
        elif (p := page_number(part)) is not None:
            pages.append(p)
    return tuple(dict.fromkeys(pages)), tuple(long)


def _following(pages: tuple[int, ...], long: tuple[tuple[int, int], ...], suffix: str
               ) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
    """The pages of a citation written with ``f.`` or ``ff.`` after its (last) page: ``p. 4
    f.`` cites pages 4 and 5; ``p. 4 ff.`` page 4 and every page after it, an open range kept
    as ``(4, MAX_PAGE)`` in ``ranges`` (how far it goes is not written, so a quote put on it
    is looked for to the end of the document; only page 4 is claimed to exist)."""
    last = pages[-1]
    if suffix.lower().startswith("ff"):
        return pages, long + ((last, MAX_PAGE),)
    return tuple(dict.fromkeys(pages + (last + 1,))), long


def _range_end(first: str, last: str) -> str:
    """A range's last page as written in full: an abbreviated one (``101-8``, ``101-08``,
    ``1234-56``: fewer digits, below the first page) takes the first page's leading digits
    (108, 1256), as style guides abbreviate; it was read as pages 101 and 8."""
    if len(last) < len(first) and int(last) < int(first):
        full = first[:len(first) - len(last)] + last
        if int(full) >= int(first):
            return full
    return last


_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}


def roman_value(numeral: str) -> int:
    """``"xiv"`` -> 14 (a numeral :data:`_ROMAN` reads)."""
    vals = [_ROMAN_VALUES[c] for c in numeral.lower()]
    return sum(-v if i + 1 < len(vals) and v < vals[i + 1] else v for i, v in enumerate(vals))


def roman(n: int, upper: bool = False) -> str:
    """14 -> ``"xiv"`` (``upper``: ``"XIV"``)."""
    out = ""
    for v, s in ((90, "xc"), (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"),
                 (1, "i")):
        while n >= v:
            out, n = out + s, n - v
    return out.upper() if upper else out


def labels_of(cited: str) -> tuple[str, ...]:
    """The page labels ``cited`` names: ``"ii"``, or a range ``"iii-v"`` written out (``iii``,
    ``iv``, ``v``; at most :data:`MAX_RANGE`, a longer or backward range its two ends)."""
    ends = [e.strip() for e in re.split(r"[-–]", cited)]
    if len(ends) == 1:
        return (ends[0],)
    a, b = roman_value(ends[0]), roman_value(ends[1])
    if not 0 < b - a < MAX_RANGE:
        return tuple(dict.fromkeys(ends))
    return tuple(roman(n, ends[0].isupper()) for n in range(a, b + 1))


def _outermost(matches: list[re.Match]) -> list[re.Match]:
    """``matches`` in text order without those inside (or overlapping) one before them: a
    single-quoted passage inside a double-quoted one is part of that quotation, not another."""
    out: list[re.Match] = []
    for m in sorted(matches, key=lambda m: (m.start(), -m.end())):
        if not out or m.start() >= out[-1].end():
            out.append(m)
    return out


def _quote_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the quoted passages of ``text`` (marks included; double marks, and single ones
    that are no apostrophes), paired in order within a paragraph."""
    return [m.span() for m in _outermost([*_NESTED.finditer(text), *_QUOTED.finditer(text),
                                          *_SQUOTED.finditer(text)])]


def _trailing_citation(text: str, pos: int) -> bool:
    """Whether a bracketed page citation (``(p. 3)``, ``[pages 2-3]``) follows ``pos``: it
    belongs to the sentence before it, written after that sentence's end."""
    m = _BRACKET_AFTER.match(text, pos)
    return m is not None and _CITATION.search(m.group(1)) is not None


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans: ends at ``.``/``!``/``?``/newline followed by space and a capital,
    quote or end, except after abbreviations (``p.``, ``pp.``, ``e.g.``) and inside numbers,
    inside a double-quoted passage (``"Sales fell. Costs rose."`` is one quotation), and before
    a bracketed page citation (``"Costs fell." (p. 3)``: the citation closes the sentence)."""
    spans, start = [], 0
    quoted = _quote_spans(text)
    q_starts = [a for a, _ in quoted]
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        # the longest abbreviation is 4 characters: a short window keeps this linear
        window = text[max(start, m.start() - 8):m.start() + 1]
        if m.group(0).startswith(".") and _ABBREV.search(window):
            continue
        if m.group(0) == "." and _FF_BEFORE_QUOTE.search(window) and \
                (text[end:end + 3].lstrip()[:1] or "x") in _MARK + "([\u2018'":
            continue                                  # 'p. 4 ff. "Costs rose"'
        i = bisect.bisect_left(q_starts, end) - 1
        if i >= 0 and quoted[i][0] < end < quoted[i][1]:
            continue                                  # inside a quotation
        if m.group(0)[0] in ".!?" and _trailing_citation(text, end):
            continue
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


# values a JSON "page" field may hold to say it cites no page
_NO_PAGE = frozenset({"", "n/a", "na", "none", "null", "unknown", "-", "?"})


def _json_pages(raw: Any) -> tuple[tuple[int, ...], tuple[str, ...],
                                   tuple[tuple[int, int], ...], tuple[str, ...]]:
    """The pages a JSON ``page`` value names, the values that name none, and its ranges of
    more than :data:`MAX_RANGE` pages: a number, a string of digits, a range or list written
    as text (``"2-3"``, ``"2, 4"``), a citation written as text (``"p. 9"``, ``"pages 2 and
    3"``), or a list of those. ``null`` and ``""``/``"n/a"``/``"none"`` cite no page and are no
    error."""
    pages: list[int] = []
    unread: list[str] = []
    ranges: list[tuple[int, int]] = []
    labels: list[str] = []
    for v in raw if isinstance(raw, list) else [raw]:
        if v is None or (isinstance(v, str) and v.strip().lower() in _NO_PAGE):
            continue
        if (p := page_number(v)) is not None:
            pages.append(p)
            continue
        if isinstance(v, str) and _LABELS_ONLY.fullmatch(v):     # "ii", "iii-v"
            labels.extend(labels_of(v.strip()))
            continue
        got: tuple[int, ...] = ()
        if isinstance(v, str) and len(v) <= 200:
            nums = [v.strip()] if _NUM_ONLY.fullmatch(v) else [
                _cited_numbers(m) for m in _CITATION.finditer(v)]
            read = [_pages_of(n) for n in nums]
            got = tuple(p for cited, _ in read for p in cited)
            ranges.extend(r for _, long in read for r in long)
        if got:
            pages.extend(got)
        else:
            unread.append(json.dumps(v, ensure_ascii=False)[:40])
    return tuple(dict.fromkeys(pages)), tuple(unread), tuple(ranges), tuple(dict.fromkeys(labels))


_NUM_ONLY = re.compile(r"\s*" + _NUM + r"\s*")
_LABELS_ONLY = re.compile(r"\s*" + _LABELS + r"\s*")


def _json_citations(text: str, blobs: list[tuple[Any, int, int]], names: tuple[str, ...] = ()
                    ) -> list[PageCitation]:
    own = {" ".join(n.split()).lower() for n in names}
    out: list[PageCitation] = []
    for data, start, end in blobs:
        for obj in walk_dicts(data):
            raw = obj.get("page", obj.get("page_number", obj.get("pages")))
            if raw is None:
                continue
            pages, unread, ranges, labels = _json_pages(raw)
            if not pages and not unread and not labels:
                continue
            quotes: list[Quote] = []
            for k in ("quote", "text", "evidence"):
                quotes = _json_quotes(text, obj.get(k))
                if quotes:
                    break
            named = next((v.strip() for v in (obj.get(k) for k in ("document", "file",
                                                                  "source"))
                          if isinstance(v, str) and (FILE_NAME.fullmatch(v.strip()) or
                                                     " ".join(v.split()).lower() in own)),
                         None)
            out.append(PageCitation(pages, (start, end), json.dumps(obj),
                                    tuple(quotes), "json", unread, ranges, labels, named))
    return out


def _json_quotes(text: str, value: Any) -> list[Quote]:
    """What a JSON ``quote`` value puts on its pages: a string, a number (``"quote": 42`` was
    never checked, the citation counted as if it quoted nothing), or a list of those."""
    out = []
    for q in value if isinstance(value, list) else [value]:
        kind = "quote"
        if isinstance(q, (int, float)) and not isinstance(q, bool) and math.isfinite(q):
            q, kind = json.dumps(q), "number"
        if isinstance(q, str) and q.strip():
            pos = text.find(q)
            out.append(Quote(q, (pos, pos + len(q)) if pos >= 0 else (0, 0), kind))
    return out


def _quotes_in(sent: str, s: int) -> list[Quote]:
    """The quoted passages of a sentence starting at ``s`` (double marks, or single ones that
    are no apostrophes); a ``.`` or ``,`` just inside
    the closing mark is the writer's punctuation, not the source's (``"Costs fell."``)."""
    out = []
    for q in _outermost([*_NESTED.finditer(sent), *_DQUOTE.finditer(sent),
                         *_SQUOTED.finditer(sent)]):
        g = 2 if q.re is _NESTED and q.group(1) is None else 1
        body = q.group(g)
        if len(body) < 3:
            continue
        inner = body.strip().rstrip(".,").rstrip()
        if len(inner) < 3:
            inner = body.strip()
        a = s + q.start(g) + (len(body) - len(body.lstrip()))
        out.append(Quote(inner, (a, a + len(inner))))
    return out


def parse_page_citations(text: str | None, *, names: Sequence[str] = ()) -> list[PageCitation]:
    """Every page citation in a response, with the quotes or numbers attributed to it.
    ``names``: the record's names for its documents (a mapping's keys, its files' stems),
    read as naming a citation's document next to it as file names are (``annual p. 1``)."""
    if not text:
        return []
    names = tuple(names)
    blobs = json_blobs(text)
    out = _json_citations(text, blobs, names)
    text = blank_json(text, blobs)
    carry, last = CarriedDocument(names), 0
    for s, e in sentences(text):
        sent, before, last = text[s:e], text[last:s], e
        cites = []
        for m in _CITATION.finditer(sent):
            if _of_another(sent, m, names):          # "the first page of results"
                continue
            nums = _cited_numbers(m)
            pages, long = _pages_of(nums) if nums else ((), ())
            if pages and m.group("ff"):
                pages, long = _following(pages, long, m.group("ff"))
            labels = () if nums else labels_of(m.group("r1") or m.group("r2"))
            if pages or labels:
                cites.append((pages, (s + m.start(), s + m.end()), _bracketed(sent, m), long,
                              labels))
        named = carry.step(sent, cited_documents(sent, [(a - s, b - s) for _, (a, b), *_ in
                                                        cites], names), before)
        if not cites:
            continue
        cite_spans = [c[1] for c in cites]
        starts = [a for a, _ in cite_spans]          # in text order, not overlapping
        quotes = _quotes_in(sent, s)
        if not quotes:
            places = [(s + p.start(), s + p.end()) for p in _LOCATOR.finditer(sent)]
            for m in NUMBER_TOKEN.finditer(sent):
                a, b = s + m.start(), s + m.end()
                i = bisect.bisect_right(starts, a) - 1
                if i >= 0 and a < cite_spans[i][1]:   # the citation's own page number
                    continue
                if any(x <= a < y for x, y in places):     # "line 3", "Table 4"
                    continue
                a = s + signed_start(sent, m.start())  # "-5%": its sign is part of it
                quotes.append(Quote(text[a:b], (a, b), "number"))
        owned: list[list[Quote]] = [[] for _ in cites]
        brackets = [c[2] for c in cites]
        for q in quotes:
            owned[_owner(q, starts, brackets, text)].append(q)
        context = sent.strip()                       # once: one sentence may cite many times
        for (pages, span, _, ranges, labels), mine, (doc, both, carried) in zip(cites, owned,
                                                                               named):
            out.append(PageCitation(pages, span, context, tuple(mine), ranges=ranges,
                                    labels=labels, document=doc, ambiguous=both,
                                    carried=carried))
    out.sort(key=lambda c: c.span)
    return out


def _of_another(sent: str, m: re.Match, names: tuple[str, ...]) -> bool:
    """Whether ordinal citation ``m`` goes on with ``of`` something that is no document (``on
    the first page of results``): not read as a citation. A page of a document (``of the
    report``, of a file or one of the record's ``names``) is one."""
    if not (m.group("o1") and re.match(r"\s+of\b", sent[m.end():m.end() + 4], re.I)):
        return False
    return not (_OF_DOCUMENT.match(sent, m.end()) or namers(names)[1].match(sent, m.end()))


def _bracketed(sent: str, m: re.Match) -> bool:
    """Whether citation ``m`` is written in brackets (``(p. 3)``, ``[page 3]``,
    ``(see p. 3)``, ``(Annual report, p. 3)``): a reference mark for the text before it."""
    if m.group("bracket") or m.group("n3"):
        return True
    lo = max(0, m.start() - 80)          # a bounded look: a sentence may cite 40,000 times
    opened = max(sent.rfind("(", lo, m.start()), sent.rfind("[", lo, m.start()))
    return opened >= 0 and not any(c in sent[opened:m.start()] for c in ")]") and \
        any(c in sent[m.end():m.end() + 80] for c in ")]")


# what may stand between a quote and a citation that is its own: closing marks, punctuation,
# "(is) on", "appears in", "see" ("'Costs fell' on page 2", "'Costs fell', p. 2")
_TO_CITATION = re.compile(
    r"[\s\"'\u201d\u2019\u00bb,;:.\-\u2013\u2014(\[]*"
    r"(?:(?:is|are|was|were|appears?|appeared|stated|written|printed|shown|given|reported|"
    r"listed|found|can\s+be\s+found)\s+)?"
    r"(?:(?:on|in|at|from|see|cf\.?)\s+(?:the\s+)?)?", re.IGNORECASE)


def _owner(q: Quote, starts: list[int], bracketed: list[bool], text: str) -> int:
    """The citation a quote or number belongs to, in its sentence (citations by ``starts``, in
    text order, and whether each is ``bracketed``): the next citation when it follows the quote
    directly (``"..." (p. 3)``, ``"..." on page 3``) or is in brackets (a reference mark for
    the text before it); else the citation before the quote (``Page 1 says "..." while page 3
    says "..."``); else the next one."""
    i = bisect.bisect_left(starts, q.span[1])         # the first citation after the quote
    if i < len(starts):
        if bracketed[i] or (starts[i] - q.span[1] <= 60 and
                            _TO_CITATION.fullmatch(text, q.span[1], starts[i])):
            return i
    return i - 1 if i > 0 else i
