"""Page checks: the pages a response cites, and the quotes and numbers it puts on them, looked
for in the document.

The citations are parsed by :func:`halluscope.claims.citations.parse_page_citations`;
:func:`check_pages` gives a verdict on every cited page and every attributed quote or number.

Matching (documented normalisation)
-----------------------------------
Both the page text and the quote are normalised by :func:`normalise`:

1. Unicode NFKC of the whole text (ligatures such as ``ﬁ`` become ``fi``, full-width digits
   ASCII, a decomposed ``e`` + U+0301 the same ``é`` as a precomposed one), after a letter a
   PDF writes in pieces is put together: a spacing accent before a letter (``r´esum´e``,
   ``na¨ıve``, as pdfium reads LaTeX's accents) is that letter's combining mark, and a
   dotless ``ı`` or ``ȷ`` under a combining mark is ``i`` or ``j`` (``naı̈ve``
   is ``naïve``);
2. case folding;
3. curly quotes to straight ones, every dash (``‐ ‑ ‒ – — −``) to ``-``, ``…`` to ``...``;
4. a word hyphenated across a line break is joined (``exam-\\nple`` -> ``example``, with a
   soft hyphen U+00AD too; a dash beside a digit stays: ``2019-\\n2020`` -> ``2019-2020``), and characters a reader does not see are dropped (a soft hyphen
   inside a line, pdfium's U+FFFE for a line-end hyphen, zero-width space, word joiner, BOM);
5. every run of whitespace becomes one space;
6. thousands separators (commas between digit groups) are dropped (``4,210`` -> ``4210``);
7. a number's minus sign, whichever character writes it (``-`` ``−`` ``–`` and the
   others of :data:`~halluscope.claims.page_citations.MINUS_SIGNS`, right before a digit or a
   currency symbol and a digit, after a space, an opening bracket or quote, ``:`` ``,`` ``=``
   ``/`` ``$`` ...), becomes U+2212, apart from a dash: ``-5%``, ``−5%`` and ``–5%``
   read alike, while a hyphen or a range (``COVID-19``, ``2019-2020``, ``pp. 3-5``, ``5%-10%``)
   is read as before.

A quote is *found* when its normalised form is a substring of the page's; failing that, when it
is one after removing all punctuation except inside numbers and a number's sign, and every
diacritic (``loose`` match). Diacritics are a design choice: the exact match keeps them
(``naive`` is not ``naïve``, ``schon`` not ``schön``), the loose match, the tier for what
text extraction and OCR lose, drops them (``naive`` is found in ``naïve`` and the other way
round, and the verdict says "loose match"; the punctuation it drops still ends a word, a
hyphen at a line end aside: a quote "the well-known committee" is found loosely in
``well-\nknown committee’s``, whose loose form reads ``committees``); a letter that is no
accented form of another
(``ø``, ``ł``, ``ß``, a dotless ``ı`` alone) is never folded, nor one whose mark makes another
letter (``ガ`` is not ``カ``, ``й`` not ``и``). A quote is never found on the digits of a signed
number past its sign: ``5%`` is not
in ``−5%``, ``-5%`` or ``+5%``, nor ``$5`` in ``$-5`` (a quote that turns a loss into a gain
was supported), nor on part of a number cut at its decimal point or comma (``rose 5`` is
not in ``rose 5.2%``, ``5% growth`` not in ``4.5% growth``); the loose match never joins two
digits across the punctuation it drops (``3-4`` and ``1/2`` are not ``34`` and ``12``). A
number is found when the page has a number of equal value, signs counted on
both sides (``4,210`` = ``4210.0``; ``-5`` = ``−5``; ``+5`` = ``5`` but ``5`` is not
``−5``: a sign said in words, "fell 5%", is not read; ``12%`` needs a ``%`` or ``percent``
after the page's number). Anything else (paraphrase, ``4.2 million`` for ``4,200,000``) is not
found: a quote must be a quote.

A quote that elides text with an ellipsis (``…``, ``...``, ``[...]``) is, when not found whole,
looked for in its parts: every part on the same page, in order, each matched as a whole quote
is (all exactly, failing that all loosely). The verdict then says it was found in parts, and
its evidence lists each part's span (``elided_parts``). Every part must hold at least five
letters or digits (:data:`~halluscope.checks.elision.MIN_PART_CHARS`), or the quote is not
matched in parts: a part such as ``a`` or ``5%`` is on nearly every page. Parts are not
looked for across page breaks.

Across pages
------------
A quote cited on consecutive pages (``pp. 1-2``, ``pages 3 and 4``) that is on none of them
alone is looked for across their page breaks, each break read as a line break: a word
hyphenated across it is joined and whitespace collapses, as inside a page. Its evidence then
has ``pages`` and ``parts`` (the character span on each page). A quote missing from its cited
pages and from every single page is also looked for across every other page break, so "nowhere
in the document" means nowhere.

Running headers and footers: when a quote is not found across a break as the text stands, and
the document has lines it repeats at the start or end of most pages (a title, ``Page 3 of 10``,
``Confidential``, a page number alone: :mod:`halluscope.checks.running`), it is looked for once
more with those lines left out at each break (page ``k``'s trailing ones, page ``k + 1``'s
leading ones). Its evidence then lists them (``running_lines``: page, ``at`` start or end, the
character span and text) and the reason names them. Nothing is ever left out of a search that
could succeed without it: a quote is looked for on each page as it is first, and across breaks
with every line in before without, so a quote that contains the header (or quotes it alone) is
found on its page exactly as before. A document of one or two pages, or with no such lines,
is checked as if this step did not exist.

Two readings of a page
----------------------
A page set in columns can be read two ways: row by row across the whole page (its ``text``:
right for one column and for tables, read a row at a time) and column by column
(:mod:`halluscope.evidence.ocr_columns`: OCR lines, or a PDF text layer drawn row across row,
split at the gutters between columns; a table, whose gutters are wider than its columns, keeps
its row reading alone). Which reading a writer meant is not known, so
a quote holds when it is found in *either* reading: first as the page's text stands (every
step above), then, only when that does not find it on the cited pages and a page of the
document has columns, the same search in the column reading. A quote found there has
``"reading": "columns"`` in its evidence (its ``char_span`` is then in the column reading's
text, :meth:`~halluscope.evidence.documents.Document.column_text`) and its reason says "the
page read column by column". A quote the row reading finds gets the verdict and evidence it
always had; a page of one column has no second reading.

Each page's normalised and loose forms are made once per document and remembered
(:mod:`halluscope.checks.pagetext`): a quote looked for on every page of a 200-page document
costs a search, not 200 normalisations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from halluscope.checks.elision import elided_parts, in_order
from halluscope.checks.page_labels import labelled_instead, page_verdict, place_labels
from halluscope.checks.quote_evidence import (elsewhere_text, left_out, match_parts,
                                            missing_payload, too_little_text, unread_reason)
from halluscope.checks.pagetext import (SIGN_MINUS, PageForms, TextForm, joined, loose_form,
                                        normalise_form, page_forms)
from halluscope.checks.running import RunningLines, running_lines
from halluscope.claims.page_citations import (CURRENCY, MINUS_SIGNS, NUMBER_TOKEN, PLUS_SIGNS,
                                              PageCitation, Quote, is_sign,
                                              parse_page_citations, signed_start)
from halluscope.types import Claim, Evidence, Verdict


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
class _Needle:
    """A quote in the forms it is looked for in (made once per quote, not once per page)."""

    kind: str
    exact: str = ""
    loose: str = ""
    number: tuple[Decimal, bool] | None = None
    #: the parts of a quote that elides text with an ellipsis, (exact, loose) each
    parts: tuple[tuple[str, str], ...] = ()


def _needle(quote: Quote | str) -> _Needle:
    if isinstance(quote, str):
        quote = Quote(quote, (0, len(quote)))
    if quote.kind == "number":
        return _Needle("number", number=number_value(quote.text))
    form = normalise_form(quote.text)
    parts = elided_parts(form.text) or []
    return _Needle(quote.kind, form.text, loose_form(form).text,
                   parts=tuple((p, loose(p)) for p in parts))


def find_in_text(quote: Quote | str, page_text: str) -> QuoteMatch:
    """Look for a quote or number in one page's text (see the module docstring)."""
    return _find_on(_needle(quote), PageForms(page_text))


def _find_on(needle: _Needle, forms: PageForms) -> QuoteMatch:
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
    for how, form, text in (("exact", forms.exact, needle.exact),
                            ("loose", forms.loose, needle.loose)):
        k = _find_whole(text, form.text, 0, _apart_on(form, raw) if how == "loose" else None)
        if k is not None:
            span = form.source_span(k, len(text))
            return QuoteMatch(True, span=span, how=how, snippet=raw[span[0]:span[1]])
    return _find_parts(needle, forms) if needle.parts else QuoteMatch(False)


def _find_parts(needle: _Needle, forms: PageForms) -> QuoteMatch:
    """``needle``, a quote that elides text, found in its parts, in order, on one page (all
    parts exactly, failing that all loosely); see :mod:`halluscope.checks.elision`."""
    raw = forms.raw
    for how, form, i in (("exact", forms.exact, 0), ("loose", forms.loose, 1)):
        texts = [p[i] for p in needle.parts]
        apart = _apart_on(form, raw) if how == "loose" else None
        ks = in_order(texts, form.text, lambda t, hay, pos: _find_whole(t, hay, pos, apart))
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


def _find_whole(needle: str, hay: str, start: int = 0, apart: Apart | None = None
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


def _find_across(needle: _Needle, pages: list[int], forms: list[PageForms],
                 running: RunningLines | None = None) -> QuoteMatch | None:
    """``needle`` running over the breaks of consecutive ``pages`` (read as line breaks);
    with ``running``, the pages' running headers and footers left out at each break."""
    skipped: list[tuple[int, str, tuple[int, int]]] = []
    if running is not None:
        pages, forms, skipped = _without_running(pages, forms, running)
        if len(pages) < 2:
            return None
    for how, loose_ in (("exact", False), ("loose", True)):
        text = needle.loose if loose_ else needle.exact
        both = joined(pages, forms, loose_)
        k = _find_whole(text, both.text)
        if k is None:
            continue
        parts = both.parts(k, len(text))
        if len(parts) < 2:          # on one page alone: looked for there already
            continue
        raws = dict(zip(pages, (f.raw for f in forms)))
        snippet = "\n".join(raws[p][a:b] for p, (a, b) in parts)   # the break as a line end
        first, last = parts[0][0], parts[-1][0]
        left_out = [s for s in skipped if (s[0], s[1]) != (first, "start") and
                    (s[0], s[1]) != (last, "end") and first <= s[0] <= last]
        return QuoteMatch(True, page=parts[0][0], span=parts[0][1], how=how, snippet=snippet,
                          parts=parts, skipped=left_out)
    return None


_Skipped = list[tuple[int, str, tuple[int, int]]]     # (page, "start" | "end", span)


def _without_running(pages: list[int], forms: list[PageForms], running: RunningLines
                     ) -> tuple[list[int], list[PageForms], _Skipped]:
    """Each page of a run without the running lines at its breaks (the trailing ones of every
    page but the last, the leading ones of every page but the first); a page left blank is
    left out. Returns the pages, their forms and the lines left out."""
    kept_pages, kept, skipped = [], [], []
    for i, (p, f) in enumerate(zip(pages, forms)):
        a, b = 0, len(f.raw)
        lead = running.leading(f.raw) if i > 0 else []
        trail = running.trailing(f.raw) if i + 1 < len(pages) else []
        if lead:
            a = lead[-1][1]
        if trail and trail[0][0] >= a:
            b = trail[0][0]
        else:
            trail = []
        skipped += [(p, "start", span) for span in lead] + [(p, "end", span) for span in trail]
        if f.raw[a:b].strip():
            kept_pages.append(p)
            kept.append(f.trimmed(a, b))
    return kept_pages, kept, skipped


def _runs(pages: list[int]) -> list[list[int]]:
    """Runs of two or more consecutive page numbers among ``pages``."""
    runs: list[list[int]] = []
    for p in sorted(set(pages)):
        if runs and runs[-1][-1] == p - 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return [r for r in runs if len(r) > 1]


def find_quote(quote: Quote, cited: tuple[int, ...], page_text: Any, n_pages: int
               ) -> QuoteMatch:
    """Look for ``quote`` on the cited pages (across the break of consecutive cited pages
    too), and, when it is not there, on the others.

    ``page_text`` is a callable ``page number -> text``; the normalised form of each page is
    made once per owner of the callable (see :func:`~halluscope.checks.pagetext.page_forms`).
    """
    needle = _needle(quote)
    valid = [p for p in cited if 1 <= p <= n_pages]
    for p in valid:
        m = _find_on(needle, page_forms(page_text, p))
        if m.found:
            m.page = p
            return m
    runs = _runs(valid) if needle.kind != "number" else []
    for running in _with_running(runs, page_text, n_pages):
        for run in runs:
            m = _find_across(needle, run, [page_forms(page_text, p) for p in run], running)
            if m is not None:
                return m
    others = []
    for p in range(1, n_pages + 1):
        if p not in cited:
            m = _find_on(needle, page_forms(page_text, p))
            if m.found:
                m.page = p
                others.append(m)
    breaks = [[p, p + 1] for p in range(1, n_pages) if p not in cited or p + 1 not in cited]
    if not others and needle.kind != "number":      # "nowhere" must mean nowhere
        for running in _with_running(breaks, page_text, n_pages):
            for run in breaks:
                m = _find_across(needle, run, [page_forms(page_text, p) for p in run], running)
                if m is not None:
                    others.append(m)
            if others:
                break
    return QuoteMatch(False, others=others)


def _with_running(runs: list[list[int]], page_text: Any, n_pages: int):
    """``None`` (look across the breaks of ``runs`` as they are), then, when there are runs and
    the document has running headers or footers, those (look again without them): a quote
    found with them in is never looked for without them."""
    if not runs:
        return
    yield None
    found = running_lines(page_text, n_pages)
    if found is not None:
        yield found


# -- verdicts ----------------------------------------------------------------------------------

def _find_in_readings(q: Quote, searched: tuple[int, ...], document: Any
                      ) -> tuple[QuoteMatch, Any, str | None]:
    """``q`` looked for in the pages as read row by row (their ``text``) and, when that does
    not find it on the cited pages and a page of the document has columns
    (:mod:`halluscope.evidence.ocr_columns`), read column by column: a quote holds in either
    reading. Returns the match, the ``page number -> text`` its spans are in, and
    ``"columns"`` when the column reading was used (else ``None``). A quote not on its cited
    pages in either reading is reported where the row reading found it elsewhere, else where
    the column reading did."""
    rows = find_quote(q, searched, document.text, document.n_pages)
    has_columns = getattr(document, "has_columns", None)
    if rows.found or has_columns is None or not has_columns():
        return rows, document.text, None
    cols = find_quote(q, searched, document.column_text, document.n_pages)
    if cols.found or (cols.others and not rows.others):
        return cols, document.column_text, "columns"
    return rows, document.text, None


def _quote_verdict(claim: Claim, q: Quote, cit: PageCitation, document: Any,
                   prov: dict[str, Any]) -> Verdict:
    """Is quote or number ``q`` on the pages ``cit`` cites?"""
    valid = [p for p in cit.pages if document.exists(p)]
    texts = {p: document.page(p) for p in valid}
    if valid and not any(texts[p].text.strip() for p in valid):
        return Verdict(claim, "unverifiable", None, (), f"no text could be read from page "
                       f"{', '.join(map(str, valid))}", "page-quote")
    if not cit.pages and not getattr(document, "labels", None):
        return Verdict(claim, "unverifiable", None, (), f"cites page {', '.join(cit.labels)}, "
                       f"a page label, and {document.name} gives none", "page-quote")
    # every page of a long range the document has (cit.pages holds the range's ends only)
    inside = tuple(p for lo, hi in cit.ranges for p in range(max(lo, 1),
                                                             min(hi, document.n_pages) + 1))
    searched = tuple(dict.fromkeys(cit.pages + inside))
    m, text, reading = _find_in_readings(q, searched, document)
    where = "p. " + ", ".join([str(p) for p in cit.pages if not any(
        lo <= p <= hi for lo, hi in cit.ranges)] + [f"{lo}-{hi}" for lo, hi in cit.ranges]
        + list(cit.labels))
    if m.found:
        return _found(claim, m, text, reading, document, prov)
    instead = labelled_instead(cit, document, searched)     # "p. 2": the page labelled 2
    if instead:
        m2, text2, reading2 = _find_in_readings(q, tuple(instead), document)
        if m2.found and m2.page in instead:
            return _found(claim, m2, text2, reading2, document, prov,
                          f" of the file, the page labelled {instead[m2.page]}")
    unread = too_little_text(texts.values(), getattr(document, "min_chars", 16))
    ocr = {"ocr_text": {str(p): t for p, t in unread.items()}} if unread else {}
    by = {"reading": reading} if reading else {}
    ev = Evidence(source="pdf" if document.pdf_path else "ocr", label=where,
                  payload={**missing_payload(m, text), **by, **ocr}, provenance=prov)
    if unread:       # a scan OCR could not read: not finding the quote there proves nothing
        return Verdict(claim, "unverifiable", None, (ev,),
                       unread_reason(where, unread, bool(document.pdf_path)), "page-quote")
    why = (f"not on {where}; found on {elsewhere_text(m)}" if m.others
           else f"not on {where} nor anywhere in the document")
    return Verdict(claim, "hallucinated", 1.0, (ev,), why, "page-quote")


def _found(claim: Claim, m: QuoteMatch, text: Any, reading: str | None, document: Any,
           prov: dict[str, Any], labelled: str = "") -> Verdict:
    """The verdict on a quote found (``labelled``: how the page found is the one cited)."""
    labels = getattr(document, "labels", None)
    ev = Evidence(source=document.page(m.page).source, label=f"p. {m.page}",
                  payload={"page": m.page, "found": m.snippet, "match": m.how,
                           "char_span": list(m.span), **match_parts(m, text),
                           **({"reading": reading} if reading else {}),
                           **({"page_label": labels[m.page - 1]} if labels else {})},
                  provenance=prov)
    how = f"on page {m.page}{labelled}" if not m.parts else f"across {m.where()}"
    read = ", the page read column by column" if reading else ""
    if m.elided:
        how += f" in {len(m.elided)} parts, in order (the quote elides text with an ellipsis)"
    return Verdict(claim, "supported", 1.0, (ev,),
                   f"found {how} ({m.how} match{read}{left_out(m, text)})", "page-quote")


def check_pages(record: Any, document: Any, *, citations: list[PageCitation] | None = None
                ) -> list[Any]:
    """Verdicts on every page citation and attributed quote of ``record.response``.

    Args:
        record: The record (its ``response`` is parsed).
        document: A :class:`~halluscope.evidence.documents.Document`, or ``None`` when the
            record has none (every citation is then unverifiable).
        citations: Already parsed citations (default: parse the response).

    Returns a list of :class:`~halluscope.types.Verdict`: one ``page`` claim per cited
    page (``page-exists``: a page beyond the document's last is fabricated) and one per quote or
    number (``page-quote``: supported when found on a cited page, or across the break of two
    consecutive cited pages (the evidence then has ``pages`` and ``parts``, the span on each
    page); hallucinated when it is not: the reason says where else it was found, if anywhere,
    and the evidence's ``found_on`` lists those pages and ``found_elsewhere`` the match on each,
    see :func:`~halluscope.checks.quote_evidence.found_elsewhere`). A quote found only with the page read column by column has
    ``"reading": "columns"`` in its evidence (see "Two readings of a page" above).
    """
    citations = parse_page_citations(record.response) if citations is None else citations
    out: list[Verdict] = []
    if not citations:
        return out
    prov: dict[str, Any] = {}
    if document is not None:
        prov = {"component": "document", "document": document.name,
                "pages": document.n_pages}
    none = "the record carries no document"
    for cit in citations:
        if cit.unread:
            raise ValueError(f"expected a page number in the JSON 'page' field, got "
                             f"{', '.join(cit.unread)}")
        cit, placed = place_labels(cit, document)     # "p. ii": the page labelled ii
        for page in cit.pages + cit.labels:
            claim = Claim(kind="page", subject="page", value=page, span=cit.span,
                          text=cit.sentence)
            out.append(Verdict(claim, "unverifiable", None, (), none, "page-exists")
                       if document is None else
                       page_verdict(claim, page, document, prov, placed.get(page)))
        for q in cit.quotes:
            cited = cit.pages + cit.labels
            value = cited[0] if len(cited) == 1 else list(cited)
            claim = Claim(kind="page", subject=q.kind, value=value, span=q.span,
                          text=cit.sentence, quote=q.text)
            out.append(Verdict(claim, "unverifiable", None, (), none, "page-quote")
                       if document is None else _quote_verdict(claim, q, cit, document, prov))
    return out
