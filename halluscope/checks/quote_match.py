"""Matching one quote or number against one page's text: the matcher the page check uses
(:mod:`halluscope.checks.pages` documents the rules; :mod:`halluscope.checks.page_search`
decides which pages and page breaks it is tried on)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from halluscope.checks.elision import elided_parts, in_order
from halluscope.checks.page_filter import may_hold, skeleton
from halluscope.checks.pagetext import (SIGN_MINUS, PageForms, TextForm, loose_form,
                                        normalise_form)
from halluscope.claims.page_citations import (CURRENCY, MINUS_SIGNS, NUMBER_TOKEN, PLUS_SIGNS,
                                              Quote, is_sign, signed_start)


@dataclass
class QuoteMatch:
    """Where a quote was looked for and found.

    A quote found across a page break has ``parts``: (page, span in that page's text) for each
    page it runs over; ``page`` and ``span`` are then its first part."""

    found: bool
    page: int | None = None
    span: tuple[int, int] | None = None      # in the page's text
    how: str | None = None                   # exact | loose | number
    snippet: str | None = None
    others: list[QuoteMatch] = field(default_factory=list)   # matches on pages not cited
    parts: list[tuple[int, tuple[int, int]]] = field(default_factory=list)
    #: running header/footer lines left out of the join to find it: (page, "start" | "end",
    #: span in that page's text), only where the quote was not found with them in
    skipped: list[tuple[int, str, tuple[int, int]]] = field(default_factory=list)
    #: a quote that elides text with an ellipsis, found in its parts: the span of each part
    #: in the page's text, in order (``span`` then runs from the first to the last)
    elided: list[tuple[int, int]] = field(default_factory=list)
    #: pages of a match across a page break that were not cited: a quote that starts on its
    #: cited page and runs on to the next (or ends on it, begun on the page before)
    uncited: list[int] = field(default_factory=list)

    @property
    def elsewhere(self) -> list[int]:
        """The pages not cited that hold the quote (the first page of one across a break)."""
        return [m.page for m in self.others]

    @property
    def pages(self) -> list[int]:
        """Every page the match is on."""
        return [p for p, _ in self.parts] if self.parts else [self.page]

    def where(self) -> str:
        """``page 3``, or ``pages 4-5`` for a match across a page break."""
        pages = self.pages
        return f"page {pages[0]}" if len(pages) == 1 else f"pages {pages[0]}-{pages[-1]}"


# -- normalisation -----------------------------------------------------------------------------

def normalise_map(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the offset it came from."""
    form = normalise_form(text)
    return form.text, list(form.starts)


def normalise(text: str) -> str:
    """Normalise text for quote matching (see the module docstring)."""
    return normalise_form(text).text


_SIGNS = str.maketrans({**dict.fromkeys(MINUS_SIGNS, "-"), **dict.fromkeys(PLUS_SIGNS, "+"),
                        **dict.fromkeys(CURRENCY, "")})


def number_value(token: str) -> tuple[Decimal, bool] | None:
    """``("4,210")`` -> ``(Decimal(4210), False)``; ``"12%"`` -> ``(12, True)``; a sign
    written before it counts, every minus alike (``"\u22125"``, ``"$-5"`` -> ``-5``)."""
    t = token.strip().lower().translate(_SIGNS)
    pct = t.endswith("%") or t.endswith("percent")
    t = re.sub(r"(%|percent)$", "", t).strip()
    t = re.sub(r",(?=\d{3}\b)", "", t)
    try:
        return Decimal(t), pct
    except InvalidOperation:
        return None


# thousands grouped by a space, as ISO/SI and many languages write them ("1 250", with a
# no-break, narrow no-break, thin or figure space): read as one number too, beside its parts
_SPACED = re.compile(r"(?<![\w.,])\d{1,3}(?:[ \u00a0\u202f\u2009\u2007]\d{3})+(?![\d,]\d)"
                     r"(?:\.\d+)?(?:\s?%|\s?percent)?(?![\w%])", re.IGNORECASE)


def page_numbers(text: str) -> list[tuple[Decimal, bool, tuple[int, int]]]:
    """The numbers of a page's text with their spans, each with its sign (``\u22125%`` is
    -5, not 5); a number grouped by spaces ("1 250") is also read whole (a response's "1,250"
    was "not on p. 1 nor anywhere")."""
    out = []
    for rx in (NUMBER_TOKEN, _SPACED):
        for m in rx.finditer(text):
            a = signed_start(text, m.start())
            v = number_value(re.sub(r"(?<=\d)[ \u00a0\u202f\u2009\u2007](?=\d)", "",
                                    text[a:m.end()]))
            if v is not None:
                out.append((v[0], v[1], (a, m.end())))
    return sorted(out, key=lambda t: t[2])


# -- matching ----------------------------------------------------------------------------------

def loose(text: str) -> str:
    """``text`` normalised, then without punctuation except inside numbers (loose match)."""
    return loose_form(normalise_form(text)).text


@dataclass(frozen=True)
class Needle:
    """A quote in the forms it is looked for in (made once per quote, not once per page)."""

    kind: str
    exact: str = ""
    loose: str = ""
    number: tuple[Decimal, bool] | None = None
    #: the parts of a quote that elides text with an ellipsis, (exact, loose) each
    parts: tuple[tuple[str, str], ...] = ()
    #: the quote's skeleton, whole (:mod:`halluscope.checks.page_filter`), and those a page
    #: must hold to hold the quote: the whole one, or each part's for a quote with an ellipsis
    skeleton: str = ""
    skeletons: tuple[str, ...] = ()


def needle_of(quote: Quote | str) -> Needle:
    if isinstance(quote, str):
        quote = Quote(quote, (0, len(quote)))
    if quote.kind == "number":
        return Needle("number", number=number_value(quote.text))
    form = normalise_form(quote.text)
    parts = elided_parts(form.text) or []
    whole = skeleton(quote.text)
    return Needle(quote.kind, form.text, loose_form(form).text,
                  parts=tuple((p, loose(p)) for p in parts), skeleton=whole,
                  skeletons=tuple(skeleton(p) for p in parts) if parts else (whole,))


def find_in_text(quote: Quote | str, page_text: str) -> QuoteMatch:
    """Look for a quote or number in one page's text (see the module docstring)."""
    return find_on(needle_of(quote), PageForms(page_text))


def find_on(needle: Needle, forms: PageForms) -> QuoteMatch:
    """``needle`` on one page (its forms made once, see :func:`page_forms`)."""
    raw = forms.raw
    if needle.kind == "number":
        if needle.number is None:
            return QuoteMatch(False)
        want, want_pct = needle.number
        for value, pct, span in forms.numbers(page_numbers):
            if value == want and (not want_pct or pct or
                                  re.match(r"\s*(%|percent)", raw[span[1]:], re.I)):
                return QuoteMatch(True, span=span, how="number", snippet=raw[span[0]:span[1]])
        return QuoteMatch(False)
    if not may_hold(needle.skeletons, forms.skeleton):      # (its forms never made)
        return QuoteMatch(False)
    for how, form, text in (("exact", forms.exact, needle.exact),
                            ("loose", forms.loose, needle.loose)):
        k = find_whole(text, form.text, 0, _apart_on(form, raw) if how == "loose" else None)
        if k is not None:
            span = form.source_span(k, len(text))
            return QuoteMatch(True, span=span, how=how, snippet=raw[span[0]:span[1]])
    return _find_parts(needle, forms) if needle.parts else QuoteMatch(False)


def _find_parts(needle: Needle, forms: PageForms) -> QuoteMatch:
    """``needle``, a quote that elides text, found in its parts, in order, on one page (all
    parts exactly, failing that all loosely); see :mod:`halluscope.checks.elision`."""
    raw = forms.raw
    for how, form, i in (("exact", forms.exact, 0), ("loose", forms.loose, 1)):
        texts = [p[i] for p in needle.parts]
        apart = _apart_on(form, raw) if how == "loose" else None
        ks = in_order(texts, form.text, lambda t, hay, pos: find_whole(t, hay, pos, apart))
        if ks is not None:
            spans = [form.source_span(k, len(t)) for k, t in zip(ks, texts)]
            return QuoteMatch(True, span=(spans[0][0], spans[-1][1]), how=how,
                              snippet=" \u2026 ".join(raw[a:b] for a, b in spans),
                              elided=spans)
    return QuoteMatch(False)


def _in_words(c: str) -> bool:
    """A letter or digit of a script that separates its words (CJK text does not)."""
    return c.isalnum() and not ("\u2e80" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af"
                                or "\uf900" <= c <= "\ufaff")


def _whole_words(needle: str, hay: str, k: int, apart: Apart | None = None) -> bool:
    """Whether ``needle`` at ``hay[k:]`` starts and ends on word edges: a quote does not
    begin or end inside a word or number ("Staff grew to 18" is not in "... to 185 people").
    ``apart(i)`` says ``hay[i - 1]`` and ``hay[i]`` were apart on the page (see
    :func:`_apart_on`)."""
    end = k + len(needle)
    inside_left = k > 0 and _in_words(needle[0]) and _in_words(hay[k - 1]) and \
        not (apart is not None and apart(k) and not _digits(hay[k - 1], needle[0]))
    inside_right = end < len(hay) and _in_words(needle[-1]) and _in_words(hay[end]) and \
        not (apart is not None and apart(end) and not _digits(needle[-1], hay[end]))
    return not (inside_left or inside_right or _cuts_a_number(needle, hay, k, end))


def _digits(a: str, b: str) -> bool:
    return a.isdecimal() and b.isdecimal()


def _cuts_a_number(needle: str, hay: str, k: int, end: int) -> bool:
    """Whether ``needle`` at ``hay[k:end]`` cuts a number at its decimal point or comma: "rose
    5" (or "rose 5.") is not in "rose 5.2%", nor "5% growth" in "4.5% growth"."""
    if end < len(hay) and hay[end].isdecimal() and len(needle) > 1 \
            and needle[-1] in ".," and needle[-2].isdecimal():
        return True
    if end + 1 < len(hay) and needle[-1].isdecimal() and hay[end] in ".," \
            and hay[end + 1].isdecimal():
        return True
    return k >= 2 and needle[0].isdecimal() and hay[k - 1] in ".," and hay[k - 2].isdecimal()


Apart = Callable[[int], bool]
_JOINING = frozenset("-\u00ad\ufffe\u200b\u2060\ufeff") | frozenset(
    map(chr, (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212)))


def _apart_on(form: TextForm, raw: str) -> Apart:
    """For a loose form of ``raw``: whether characters ``i - 1`` and ``i`` had punctuation
    between them on the page other than a line-end hyphen (the loose form drops it, so
    "committee\u2019s" reads "committees", yet "committee" ends a word there)."""
    def apart(i: int) -> bool:
        between = raw[form.ends[i - 1]:form.starts[i]]
        return any(not c.isspace() and c not in _JOINING for c in between)
    return apart


def _cuts_a_sign(needle: str, hay: str, k: int) -> bool:
    """Whether ``needle`` at ``hay[k:]`` starts on a number whose sign ``hay`` has just
    before it: "5% this year" is not in "\u22125% this year" (a normalised text writes a
    minus sign as U+2212, see :mod:`halluscope.checks.pagetext`)."""
    if k == 0 or not (needle[0].isdecimal() or needle[0] in CURRENCY):
        return False
    return hay[k - 1] == SIGN_MINUS or (hay[k - 1] == "+" and is_sign(hay, k - 1))


def find_whole(needle: str, hay: str, start: int = 0, apart: Apart | None = None
                ) -> int | None:
    """Where ``needle`` first occurs in ``hay`` (at or after ``start``) on word edges (and
    not on the digits of a signed number, past its sign), else ``None``."""
    k = start - 1
    while needle:
        k = hay.find(needle, k + 1)
        if k < 0:
            return None
        if _whole_words(needle, hay, k, apart) and not _cuts_a_sign(needle, hay, k):
            return k
    return None


