"""Page text in the forms quotes are matched against, normalised once per page and remembered.

:func:`normalise_form` applies the documented normalisation (see :mod:`halluscope.checks.pages`)
to a whole string and keeps, for every character of the result, the span of the source text it
came from, so a match on the normalised text is a span of the page's own text (what a report
highlights). Unicode NFKC is applied to whole *canonical clusters* (a character and the
combining marks after it, Hangul jamo runs), not one character at a time: a decomposed ``é``
(``e`` + U+0301) becomes the same single character as a precomposed one, and its highlight
covers both source characters.

:class:`PageForms` holds one page's normalised form, its loose form (punctuation dropped) and its
numbers, each computed on first use. :func:`page_forms` remembers them per document (per owner of
the ``page number -> text`` callable, held weakly) and page, so a second quote looked up in the
same document, or a quote looked for on every page, does not normalise a page again.

:func:`joined` puts the forms of consecutive pages end to end, the page break read as a line
break (a word hyphenated across it is joined, whitespace collapses), for quotes that run from one
page onto the next; :meth:`PageForms.trimmed` gives the forms of part of a page (a page without
its running header or footer, see :mod:`halluscope.checks.running`) for the same join.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
import weakref
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from halluscope.checks.page_filter import gram_bits, skeleton
from halluscope.claims.page_citations import BEFORE_SIGN, CURRENCY, MINUS_SIGNS, is_sign

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
SIGN_MINUS = "\u2212"
"""How a normalised text writes a number's minus sign (any of
:data:`~halluscope.claims.page_citations.MINUS_SIGNS` where it is a sign, see
:func:`~halluscope.claims.page_citations.is_sign`): apart from a dash, so that "5%" is not
found in "-5%" by the loose match (punctuation dropped), and a hyphen or a range (``2019-2020``)
is read as before."""
_QUOTES = {ord("\u201c"): '"', ord("\u201d"): '"', ord("\u201e"): '"', ord("\u00ab"): '"',
           ord("\u00bb"): '"', ord("\u2018"): "'", ord("\u2019"): "'", ord("\u201a"): "'"}
_GROUPED = re.compile(r"(?<![\d,.])\d{1,3}(?:,\d{3})+(?!\d)")
_SOFT_HYPHEN = "\u00ad"
# characters a reader does not see: a soft hyphen inside a line, pdfium's U+FFFE (a hyphen that
# ended a line, the break removed: "com\ufffemittee"), zero-width space, word joiner, a BOM;
# each was kept, so a right quote was found only by the loose match, or not at all
_INVISIBLE = frozenset("\u00ad\ufffe\u200b\u2060\ufeff")


@dataclass(frozen=True)
class TextForm:
    """A normalised text: character ``k`` of ``text`` came from ``source[starts[k]:ends[k]]``."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]

    def source_span(self, k: int, n: int) -> tuple[int, int]:
        """The source span of ``text[k:k + n]`` (``n`` > 0)."""
        return self.starts[k], self.ends[k + n - 1]


# -- whole-string NFKC with offsets --------------------------------------------------------------

def _joins_previous(c: str) -> bool:
    """Whether ``c`` may compose with what comes before it: a combining mark, or a Hangul
    vowel or final jamo (they compose with a leading consonant, though not 'combining')."""
    return bool(unicodedata.combining(c)) or "\u1160" <= c <= "\u11ff" or \
        "\ud7b0" <= c <= "\ud7ff"


def _clusters(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` that NFKC normalises independently of each other."""
    bounds = [0] + [j for j in range(1, len(text)) if not _joins_previous(text[j])]
    spans = list(zip(bounds, bounds[1:] + [len(text)])) if text else []
    whole = unicodedata.normalize("NFKC", text)
    if "".join(unicodedata.normalize("NFKC", text[a:b]) for a, b in spans) == whole:
        return spans
    # a rare composition across what looked like a boundary (e.g. two Indic vowel signs):
    # merge neighbours until each piece normalises alone as it does in the whole
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged:
            pa, pb = merged[-1]
            joint = unicodedata.normalize("NFKC", text[pa:b])
            if joint != unicodedata.normalize("NFKC", text[pa:pb]) + \
                    unicodedata.normalize("NFKC", text[a:b]):
                merged[-1] = (pa, b)
                continue
        merged.append((a, b))
    return merged


def _hyphen_join(text: str, a: int, b: int, last: str | None) -> tuple[int, bool] | None:
    """``(where the text resumes, whether the dash stays)`` when the dash at ``text[a:b]``
    ends a line inside a word, else ``None``: between letters it is a hyphenation and goes
    (``exam-\\n  ple`` -> ``example``); beside a digit it is part of what is written and
    stays, the line break going (``2019-\\n2020`` -> ``2019-2020``, ``COVID-\\n19``: read as
    ``2019- 2020``, such a quote was found nowhere); a soft hyphen always goes."""
    if b - a != 1 or not (text[a] in ("-", _SOFT_HYPHEN) or ord(text[a]) in _DASHES):
        return None
    if last is None or not last.isalnum():
        return None
    j, n = b, len(text)
    while j < n and text[j] in " \t\r":
        j += 1
    if j >= n or text[j] != "\n":
        return None
    k = j + 1
    while k < n and text[k].isspace():
        k += 1
    if k >= n or not text[k].isalnum():
        return None
    if last.isalpha() and text[k].isalpha():
        return k, False
    return k, text[a] != _SOFT_HYPHEN


# printable ASCII but ``-``: NFKC, the quote/dash mapping and case folding are ``lower()`` there
# (single spaces inside such a run map one to one, so they ride along)
_SEGMENT = re.compile(r"(?P<plain>[!-,.-~]+(?: [!-,.-~]+)*)|(?P<space>\s+)"
                      r"|(?P<other>[^!-~\s]+|-)")


OFFSETS = "i"
"""Type code of the offset arrays of a :class:`TextForm`: 4 bytes an offset (a page's text is
far shorter than 2**31 characters), two offsets a character of every form of every page: a
3,000-page PDF's forms held 540 MB in 8-byte ones."""


class _Out:
    """Normalised text being built (in pieces), with the source span of each character."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.starts = array(OFFSETS)
        self.ends = array(OFFSETS)

    def last(self) -> str | None:
        return self.pieces[-1][-1] if self.pieces else None

    def add(self, piece: str, a: int, b: int) -> None:
        """``piece``, every character of it from ``source[a:b]``."""
        for c in piece:
            if c.isspace():
                if self.pieces and self.last() != " ":
                    self.pieces.append(" ")
                    self.starts.append(a)
                    self.ends.append(b)
            else:
                self.pieces.append(c)
                self.starts.append(a)
                self.ends.append(b)

    def plain(self, run: str, a: int) -> None:
        """A run of printable ASCII: one character from each source character."""
        self.pieces.append(run.lower())
        self.starts.extend(range(a, a + len(run)))
        self.ends.extend(range(a + 1, a + len(run) + 1))

    def pop(self) -> None:
        """Drop the last character."""
        self.pieces[-1] = self.pieces[-1][:-1]
        if not self.pieces[-1]:
            self.pieces.pop()
        self.starts.pop()
        self.ends.pop()


def _basic(text: str) -> _Out:
    """Steps 1-5 of the normalisation: characters and the source span of each."""
    out = _Out()
    resume = 0
    prev_plain = False
    for m in _SEGMENT.finditer(text):
        a, b = m.span()
        if a < resume:                 # inside a hyphenated line break already joined
            continue
        kind = m.lastgroup
        if kind == "plain":
            out.plain(m.group(0), a)
        elif kind == "space":
            out.add(" ", a, b)
        else:
            if prev_plain and _joins_previous(text[a]):   # "e" + U+0301: one cluster
                out.pop()
                a -= 1
            for ca, cb in _clusters(text[a:b]):
                ca, cb = ca + a, cb + a
                if ca < resume:
                    continue
                joined = _hyphen_join(text, ca, cb, out.last())
                if joined is not None:
                    resume, keep = joined
                    if keep:
                        out.add("-", ca, cb)
                    continue
                if text[ca:cb] in _INVISIBLE:
                    continue
                if cb - ca == 1 and text[ca] in MINUS_SIGNS and is_sign(text, ca):
                    out.add(SIGN_MINUS, ca, cb)            # "-5", "\u22125", "\u20135" alike
                    continue
                piece = unicodedata.normalize("NFKC", text[ca:cb])
                out.add(piece.translate(_DASHES).translate(_QUOTES).replace(
                    "\u2026", "...").casefold(), ca, cb)
        prev_plain = kind == "plain"
    if out.last() == " ":
        out.pop()
    return out


# -- a letter and its diacritic written in pieces -------------------------------------------------

# a PDF text layer writes an accent placed as a glyph of its own as a spacing character before
# the letter (LaTeX's \'e as "\u00b4e", \"{\i} as "\u00a8\u0131"), and under a combining mark
# a dotless i or j (the dot makes room for the mark): each is the letter with its mark
_SPACING_ACCENTS = {"\u00a8": "\u0308", "\u00b4": "\u0301", "\u02ca": "\u0301", "\u02cb": "\u0300",
                    "\u02c6": "\u0302", "\u02dc": "\u0303", "\u00b8": "\u0327", "\u02c7": "\u030c",
                    "\u02d8": "\u0306", "\u02da": "\u030a", "\u00af": "\u0304", "\u02dd": "\u030b",
                    "\u02db": "\u0328", "\u02d9": "\u0307"}
_DOTLESS = {"\u0131": "i", "\u0237": "j"}
_PIECED = re.compile("([" + "".join(_SPACING_ACCENTS) + r"])([^\W\d_])"
                     "|([\u0131\u0237])(?=[\u0300-\u036f])")


def _unpieced(text: str) -> tuple[str, array, array] | None:
    """``text`` with every letter written in pieces (see ``_PIECED``) as the letter and its
    combining mark, and the source span of each character; ``None`` when it has none."""
    if _PIECED.search(text) is None:
        return None
    out: list[str] = []
    starts, ends = array(OFFSETS), array(OFFSETS)
    pos = 0
    for m in _PIECED.finditer(text):
        a, b = m.span()
        out.append(text[pos:a])
        starts.extend(range(pos, a))
        ends.extend(range(pos + 1, a + 1))
        if m.group(1):
            letter = m.group(2)
            out += [_DOTLESS.get(letter, letter), _SPACING_ACCENTS[m.group(1)]]
            starts.extend((a, a))
            ends.extend((b, b))
        else:
            out.append(_DOTLESS[m.group(3)])
            starts.append(a)
            ends.append(b)
        pos = b
    out.append(text[pos:])
    starts.extend(range(pos, len(text)))
    ends.extend(range(pos + 1, len(text) + 1))
    return "".join(out), starts, ends


def normalise_form(text: str) -> TextForm:
    """``text`` normalised (steps 1-7 of :mod:`halluscope.checks.pages`), with offsets."""
    pieced = _unpieced(text)
    if pieced is None:
        return _normalised(text)
    inner, starts, ends = pieced
    form = _normalised(inner)
    return TextForm(form.text, array(OFFSETS, (starts[k] for k in form.starts)),
                    array(OFFSETS, (ends[k - 1] for k in form.ends)))


def _normalised(text: str) -> TextForm:
    out = _basic(text)
    joined_ = "".join(out.pieces)
    drop = {m.start() + k for m in _GROUPED.finditer(joined_)
            for k, c in enumerate(m.group(0)) if c == ","}
    if not drop:
        return TextForm(joined_, out.starts, out.ends)
    keep = [k for k in range(len(joined_)) if k not in drop]
    return TextForm("".join(joined_[k] for k in keep),
                    array(OFFSETS, (out.starts[k] for k in keep)),
                    array(OFFSETS, (out.ends[k] for k in keep)))


_LOOSE_KEEP = re.compile(rf"[^\W_]+|(?<=\d)[.%](?=.)| +|{SIGN_MINUS}"
                         rf"|(?<![^\s{re.escape(BEFORE_SIGN)}])\+(?=[{CURRENCY}]?\d)", re.S)


@functools.lru_cache(maxsize=4096)
def _folded(c: str) -> str:
    """``c`` without its diacritics (``ï`` -> ``i``); a letter that is no accented form of
    another (``ø``, a dotless ``ı``, a Hangul syllable) stays as it is, and so does one whose
    mark makes another letter (a kana's voicing marks: ``ガ`` is not ``カ``; the Cyrillic
    short i, ``й`` is not ``и``)."""
    parts = unicodedata.normalize("NFD", c)
    if c in _SHORT_LETTERS or _LETTER_MARKS.intersection(parts):
        return c
    base = "".join(x for x in parts if not unicodedata.combining(x))
    return base if base and len(base) < len(parts) else c


#: Combining marks that make another letter, never dropped: a kana's (han)dakuten.
_LETTER_MARKS = frozenset("\u3099\u309a")
#: The Cyrillic short i and short u, letters of their own (a Latin breve, ``ă``, is an accent).
_SHORT_LETTERS = frozenset("\u0439\u0419\u045e\u040e")


@functools.lru_cache(maxsize=4096)
def _folded_run(run: str) -> str:
    """``run`` with each character :func:`_folded` (a page's words and signs recur)."""
    return "".join(map(_folded, run))


def loose_form(form: TextForm) -> TextForm:
    """``form`` without punctuation, except ``.``/``%`` inside or after a number and a
    number's sign (``5%`` is not ``-5%`` or ``+5%``), and its letters without diacritics
    (``naïve`` -> ``naive``: what OCR and PDF fonts lose; the exact match keeps them).
    Punctuation dropped between two digits leaves a space (``3-4`` -> ``3 4``, never ``34``)."""
    pieces: list[str] = []
    starts, ends = array(OFFSETS), array(OFFSETS)
    text = form.text
    last = 0
    for m in _LOOSE_KEEP.finditer(text):
        a, b = m.span()
        if a > last and pieces and pieces[-1][-1].isdecimal() and text[a].isdecimal():
            # punctuation dropped between two digits parts two numbers: "3-4" read "34"
            pieces.append(" ")
            starts.append(form.starts[a - 1])
            ends.append(form.ends[a - 1])
        last = b
        if text[a] == " ":
            if not pieces or pieces[-1][-1] == " ":
                continue
            b = a + 1
        piece = text[a:b]
        if not piece.isascii():
            piece = _folded_run(piece)
        if len(piece) == b - a:          # one character from each (ASCII, most folded words)
            pieces.append(piece)
            starts.extend(form.starts[a:b])
            ends.extend(form.ends[a:b])
            continue
        for k in range(a, b):
            for c in _folded(text[k]):
                pieces.append(c)
                starts.append(form.starts[k])
                ends.append(form.ends[k])
    if pieces and pieces[-1] == " ":
        pieces.pop()
        starts.pop()
        ends.pop()
    return TextForm("".join(pieces), starts, ends)


# -- one page's forms, remembered ------------------------------------------------------------

def _shifted(form: TextForm, a: int) -> TextForm:
    """``form`` of a text that starts at offset ``a`` of a longer one, its offsets in that."""
    if not a:
        return form
    return TextForm(form.text, array(OFFSETS, (s + a for s in form.starts)),
                    array(OFFSETS, (e + a for e in form.ends)))


class PageForms:
    """One page's text, its normalised and loose forms and its numbers (each made once).

    With a ``window`` ``(a, b)`` the forms are those of ``raw[a:b]`` alone, as if the rest of
    the page were not there, their offsets still in ``raw`` (see :meth:`trimmed`)."""

    __slots__ = ("raw", "_exact", "_loose", "_numbers", "_window", "_trims", "_skeleton",
                 "_grams", "__weakref__")

    def __init__(self, raw: str, window: tuple[int, int] | None = None):
        self.raw = raw
        self._exact: TextForm | None = None
        self._loose: TextForm | None = None
        self._numbers: list[tuple[Decimal, bool, tuple[int, int]]] | None = None
        self._window = window
        self._trims: dict[tuple[int, int], PageForms] | None = None
        self._skeleton: str | None = None
        self._grams: Any = None

    @property
    def skeleton(self) -> str:
        """The page's letters and digits alone (:func:`~halluscope.checks.page_filter.skeleton`:
        a cheap test that passes by a page a quote cannot be on, before its forms are made)."""
        if self._skeleton is None:
            a, b = self._window or (0, len(self.raw))
            self._skeleton = skeleton(self.raw[a:b])
        return self._skeleton

    @property
    def grams(self) -> Any:
        """:func:`~halluscope.checks.page_filter.gram_bits` of the skeleton (8 KB, made once)."""
        if self._grams is None:
            self._grams = gram_bits(self.skeleton)
        return self._grams

    @property
    def exact(self) -> TextForm:
        if self._exact is None:
            if self._window is None:
                self._exact = normalise_form(self.raw)
            else:
                a, b = self._window
                self._exact = _shifted(normalise_form(self.raw[a:b]), a)
        return self._exact

    @property
    def loose(self) -> TextForm:
        if self._loose is None:
            self._loose = loose_form(self.exact)
        return self._loose

    def numbers(self, reader: Callable[[str], list]) -> list:
        """The page's numbers as ``reader`` finds them (value, percent, span), read once."""
        if self._numbers is None:
            self._numbers = reader(self.raw)
        return self._numbers

    def trimmed(self, a: int, b: int) -> PageForms:
        """The forms of ``raw[a:b]`` alone (a page without its running header or footer:
        a word hyphenated before a footer line is then joined to the next page's), made once."""
        if (a, b) == (0, len(self.raw)):
            return self
        if self._trims is None:
            self._trims = {}
        forms = self._trims.get((a, b))
        if forms is None:
            forms = self._trims[(a, b)] = PageForms(self.raw, (a, b))
        return forms


_FORMS: "weakref.WeakKeyDictionary[Any, dict[int, PageForms]]" = weakref.WeakKeyDictionary()


def page_forms(page_text: Callable[[int], str], page: int) -> PageForms:
    """The forms of page ``page`` of ``page_text`` (``page number -> text``), made once per
    owner of the callable (a document's ``text`` method: the document) and page. A page whose
    text changed since is made again; an owner that cannot be held weakly is not cached."""
    text = page_text(page)
    owner = getattr(page_text, "__self__", page_text)
    try:
        per_page = _FORMS.get(owner)
        if per_page is None:
            per_page = _FORMS[owner] = {}
    except TypeError:                       # not weakly referenceable
        return PageForms(text)
    forms = per_page.get(page)
    if forms is None or (forms.raw is not text and forms.raw != text):
        forms = per_page[page] = PageForms(text)
    return forms


# -- consecutive pages end to end ----------------------------------------------------------------

@dataclass(frozen=True)
class Joined:
    """Forms of consecutive pages end to end: segment ``i`` (page ``pages[i]``) starts at
    ``offsets[i]`` of ``text`` and holds ``lengths[i]`` characters of that page's form."""

    text: str
    pages: tuple[int, ...]
    offsets: tuple[int, ...]
    lengths: tuple[int, ...]
    forms: tuple[TextForm, ...]
    hyphens: tuple[bool, ...]          # segment i ends in a hyphen joined to the next page

    def parts(self, k: int, n: int) -> list[tuple[int, tuple[int, int]]]:
        """``text[k:k + n]`` as (page, span in that page's own text), page by page (a part
        that runs on through a hyphenated break keeps its hyphen)."""
        out = []
        i = bisect.bisect_right(self.offsets, k) - 1
        while i < len(self.pages) and self.offsets[i] < k + n:
            a = max(k, self.offsets[i]) - self.offsets[i]
            b = min(k + n, self.offsets[i] + self.lengths[i]) - self.offsets[i]
            if b > a:
                start, end = self.forms[i].source_span(a, b - a)
                if self.hyphens[i] and b == self.lengths[i] and \
                        k + n > self.offsets[i] + self.lengths[i]:
                    end = self.forms[i].ends[-1]
                out.append((self.pages[i], (start, end)))
            i += 1
        return out


def joined(pages: Sequence[int], forms: Sequence[PageForms], loose: bool = False) -> Joined:
    """The forms of consecutive ``pages`` end to end, each break read as a line break: a word
    hyphenated across it is joined (``exam-`` | ``ple`` -> ``example``), otherwise one space."""
    parts: list[str] = []
    offsets: list[int] = []
    lengths: list[int] = []
    hyphens: list[bool] = []
    pos = 0
    for i, f in enumerate(forms):
        text = (f.loose if loose else f.exact).text
        exact = f.exact.text
        nxt = forms[i + 1].exact.text if i + 1 < len(forms) else ""
        hyphen = len(exact) > 1 and exact[-1] == "-" and exact[-2].isalpha() and \
            nxt[:1].isalpha()
        if hyphen and not loose:
            text = text[:-1]
        offsets.append(pos)
        lengths.append(len(text))
        hyphens.append(hyphen)
        parts.append(text)
        pos += len(text)
        if i + 1 < len(forms) and not hyphen:
            parts.append(" ")
            pos += 1
    return Joined("".join(parts), tuple(pages), tuple(offsets), tuple(lengths),
                  tuple((f.loose if loose else f.exact) for f in forms), tuple(hyphens))
