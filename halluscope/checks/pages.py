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
in the document" means nowhere. A quote cited on one page that starts there and runs on to the
next (or ends there, begun on the page before) is found on it too: the page cited holds part of
it; the verdict names the page not cited (evidence ``uncited_pages``). So is one that runs over
whole pages from or to a cited one (p. 2 cited, the quote over pages 2, 3 and 4), each page
between all quoted, over at most :data:`~halluscope.checks.page_search.MAX_SPAN` pages.

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
costs a search, not 200 normalisations. Before a page is matched (and its forms made), cheap
tests on its letters and digits alone pass it by when it cannot hold the quote
(:mod:`halluscope.checks.page_filter`, applied to all pages and breaks at once by
:mod:`halluscope.checks.page_sieve`); a page's column reading is made only where the quote may
be in it. A quote on no page of a 3,000-page PDF costs reading the text layer once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from halluscope.checks.page_labels import labelled_instead, page_verdict, place_labels
from halluscope.checks.page_search import find_quote, reordered_look
from halluscope.checks.quote_evidence import (elsewhere_text, in_other_documents, left_out,
                                            match_parts, missing_payload,
                                            other_documents_payload, too_little_text,
                                            unread_reason)
from halluscope.checks.quote_match import (QuoteMatch, find_in_text, loose,  # noqa: F401
                                           normalise, normalise_map, number_value,
                                           page_numbers)
from halluscope.claims.page_citations import MAX_PAGE, PageCitation, Quote, parse_page_citations
from halluscope.types import Claim, Evidence, Verdict


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
    if rows.found or has_columns is None:
        return rows, document.text, None
    # a page's column reading costs a second pass over its text layer: made only for the
    # cited pages and those whose text may hold the quote with its lines in another order
    look, may = reordered_look(q, document.text, document.n_pages)
    if not has_columns(sorted(may | set(searched))):
        return rows, document.text, None
    cols = find_quote(q, searched, document.column_text, document.n_pages, look)
    if cols.found or (cols.others and not rows.others):
        return cols, document.column_text, "columns"
    return rows, document.text, None


def _quote_verdict(claim: Claim, q: Quote, cit: PageCitation, document: Any,
                   prov: dict[str, Any], others: dict[str, Any] | None = None) -> Verdict:
    """Is quote or number ``q`` on the pages ``cit`` cites? ``others``: the record's other
    documents (name -> document), where a quote on no page of its own is looked for, to say
    where it is (it stays hallucinated: the citation names another document)."""
    valid = [p for p in cit.pages if document.exists(p)]
    texts = {p: document.page(p) for p in valid}
    if valid and not any(texts[p].text.strip() for p in valid):
        return _blank_pages(claim, q, valid, document, prov)
    if not cit.pages and not getattr(document, "labels", None):
        return Verdict(claim, "unverifiable", None, (), f"cites page {', '.join(cit.labels)}, "
                       f"a page label, and {document.name} gives none", "page-quote")
    # every page of a long range the document has (cit.pages holds the range's ends only)
    inside = tuple(p for lo, hi in cit.ranges for p in range(max(lo, 1),
                                                             min(hi, document.n_pages) + 1))
    searched = tuple(dict.fromkeys(cit.pages + inside))
    m, text, reading = _find_in_readings(q, searched, document)
    where = "p. " + ", ".join([str(p) for p in cit.pages if not any(
        lo <= p <= hi for lo, hi in cit.ranges)] + [_range_text(lo, hi, document.n_pages)
                                                    for lo, hi in cit.ranges]
        + list(cit.labels))
    if m.found:
        return _onward(_found(claim, m, text, reading, document, prov), cit, document)
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
    if not m.others and others:
        found = in_other_documents(q, others)
        if found:
            ev.payload.update(other_documents_payload(found))
            why += "; found in " + "; in ".join(f"{name} on {elsewhere_text(m3)}"
                                                for name, m3, _ in found)
    return Verdict(claim, "hallucinated", 1.0, (ev,), why, "page-quote")


def _range_text(lo: int, hi: int, n_pages: int) -> str:
    """A long range as a reason says it; an open one (``p. 4 ff.``) with how far it was read:
    ``4 ff. (pages 4-12, to the end of the document)``."""
    if hi < MAX_PAGE:
        return f"{lo}-{hi}"
    return f"{lo} ff. (pages {lo}-{n_pages}, to the end of the document)" if lo < n_pages \
        else f"{lo} ff. (the document ends at page {n_pages})"


def _onward(v: Verdict, cit: PageCitation, document: Any) -> Verdict:
    """A quote found on a page after the page ``p. 4 ff.`` cites: the reason and evidence say
    that ``ff.`` was read as every page to the end of the document (how far it goes is not
    written)."""
    page = v.evidence[0].payload.get("page") if v.evidence else None
    opened = [lo for lo, hi in cit.ranges if hi >= MAX_PAGE]
    if not opened or page is None or page in cit.pages:
        return v
    lo = opened[0]
    v.evidence[0].payload["cited_range"] = [lo, document.n_pages]
    return replace(v, reason=f"{v.reason}; p. {lo} ff. read as pages {lo}-{document.n_pages}, "
                             f"to the end of the document")


def _blank_pages(claim: Claim, q: Quote, pages: list[int], document: Any,
                 prov: dict[str, Any]) -> Verdict:
    """The verdict on a quote cited on pages with no text (a blank page, a photo OCR reads
    nothing on): unverifiable, and where the quote is on the document's other pages, if
    anywhere (it said only "no text could be read from page 6", the quote on page 5)."""
    why = f"no text could be read from page {', '.join(map(str, pages))}"
    m = find_quote(q, (), document.text, document.n_pages)
    if not m.others:
        return Verdict(claim, "unverifiable", None, (), why, "page-quote")
    ev = Evidence(source="pdf" if document.pdf_path else "ocr", label=f"p. {pages[0]}",
                  payload=missing_payload(m, document.text), provenance=prov)
    return Verdict(claim, "unverifiable", None, (ev,), f"{why}; the {q.kind} is found on "
                   f"{elsewhere_text(m)}", "page-quote")


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
    if m.uncited:
        ev.payload["uncited_pages"] = list(m.uncited)
        how += _spill_note(m)
    read = ", the page read column by column" if reading else ""
    if m.elided:
        how += f" in {len(m.elided)} parts, in order (the quote elides text with an ellipsis)"
    return Verdict(claim, "supported", 1.0, (ev,),
                   f"found {how} ({m.how} match{read}{left_out(m, text)})", "page-quote")


def _spill_note(m: QuoteMatch) -> str:
    """``, from the cited page 2 on to page 3`` for a quote over page breaks of which some
    pages were cited (``, begun on page 1 before the cited page 2``; ``, begun on page 1
    before the cited page 2 and running on to page 3``; ``, over page 2, not cited``)."""
    cited = [p for p in m.pages if p not in m.uncited]
    if not cited:
        return ""
    before = [p for p in m.uncited if p < cited[0]]
    after = [p for p in m.uncited if p > cited[-1]]
    if not before and not after:
        between = ", ".join(map(str, m.uncited))
        return f", over page{'s' * (len(m.uncited) > 1)} {between}, not cited"
    if not before:
        return f", from the cited page {cited[0]} on to page {after[-1]}"
    note = f", begun on page {before[0]} before the cited page {cited[0]}"
    return note + (f" and running on to page {after[-1]}" if after else "")


def check_pages(record: Any, document: Any, *, citations: list[PageCitation] | None = None
                ) -> list[Any]:
    """Verdicts on every page citation and attributed quote of ``record.response``.

    Args:
        record: The record (its ``response`` is parsed).
        document: A :class:`~halluscope.evidence.documents.Document`, a
            :class:`~halluscope.evidence.documents.DocumentSet` when the record carries
            several (each citation is checked in the one it names by file name; one that names
            none is unverifiable, never guessed), or ``None`` when the record has none (every
            citation is then unverifiable).
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
    if citations is None:
        names = document.citation_names() if hasattr(document, "documents") else ()
        citations = parse_page_citations(record.response, names=names)
    out: list[Verdict] = []
    if not citations:
        return out
    prov: dict[str, Any] = {}
    if document is not None and not hasattr(document, "documents"):
        prov = {"component": "document", "document": document.name,
                "pages": document.n_pages}
    for cit in citations:
        if cit.unread:
            raise ValueError(f"expected a page number in the JSON 'page' field, got "
                             f"{', '.join(cit.unread)}")
        if cit.carried and not _carries(cit, document):
            cit = replace(cit, document=None, carried=False)
        if hasattr(document, "documents"):      # several: the one the citation names
            doc, why, where = _named_in(cit, document)
            prov = {} if doc is None else {"component": "document", "document": where,
                                           "pages": doc.n_pages}
        else:
            # a citation of another file ("appendix.pdf p. 1") is not checked in this one
            why = "the record carries no document" if document is None else \
                _not_carried(cit, document)
            doc, where = None if why else document, None
        if hasattr(document, "documents"):
            others = {n: d for n, d in document.documents.items() if n != where}
        else:     # one document: looked in for a quote cited in another file, only
            others = {document.name: document} if doc is None and document is not None \
                else None
        out += _citation_verdicts(cit, doc, why, prov, where, others)
    return out


def _citation_verdicts(cit: PageCitation, doc: Any, why: str | None, prov: dict[str, Any],
                       where: str | None, others: dict[str, Any] | None = None
                       ) -> list[Verdict]:
    """The verdicts of one citation checked in ``doc`` (its pages, then its quotes), or all
    unverifiable for ``why`` when ``doc`` is ``None``. ``where``: the name of ``doc`` among
    the record's several documents, put before each reason (``appendix.pdf: page 2
    exists``); ``others``: the record's other documents, where a quote on no page of ``doc``
    is looked for (:func:`~halluscope.checks.quote_evidence.in_other_documents`), or, when
    ``doc`` is ``None``, all of them: the reason and evidence of a quote whose document is not
    known say where it is (:func:`_unplaced_quote`)."""
    out: list[Verdict] = []
    cit, placed = place_labels(cit, doc)          # "p. ii": the page labelled ii
    for page in cit.pages + cit.labels:
        claim = Claim(kind="page", subject="page", value=page, span=cit.span,
                      text=cit.sentence)
        out.append(Verdict(claim, "unverifiable", None, (), why, "page-exists")
                   if doc is None else
                   page_verdict(claim, page, doc, prov, placed.get(page)))
    for q in cit.quotes:
        cited = cit.pages + cit.labels
        value = cited[0] if len(cited) == 1 else list(cited)
        claim = Claim(kind="page", subject=q.kind, value=value, span=q.span,
                      text=cit.sentence, quote=q.text)
        out.append(_unplaced_quote(claim, q, why, others) if doc is None else
                   _quote_verdict(claim, q, cit, doc, prov, others))
    if where is not None:
        where += " (named in an earlier sentence)" * cit.carried
        out = [replace(v, reason=f"{where}: {v.reason}") for v in out]
    return out


def _unplaced_quote(claim: Claim, q: Quote, why: str | None,
                   documents: dict[str, Any] | None) -> Verdict:
    """The verdict on a quote whose citation cannot be checked (``why``: it names no document
    of the record's several, or one the record does not carry): unverifiable, and where the
    quote is in the record's ``documents`` (``found in report.pdf on page 2``), with the
    evidence a misplaced quote has (``found_in_documents``, ``found_elsewhere``). It says
    only "page 3" and the record carries two documents: which one was meant is not guessed,
    but a reader is shown where the quote is."""
    if not documents:
        return Verdict(claim, "unverifiable", None, (), why, "page-quote")
    found = in_other_documents(q, documents)
    if not found:
        nowhere = f"not in {next(iter(documents))}" if len(documents) == 1 else \
            "in none of the record's documents"
        return Verdict(claim, "unverifiable", None, (), f"{why}; the {q.kind} is {nowhere}",
                       "page-quote")
    ev = Evidence(source="pdf" if all(doc.pdf_path for _, _, doc in found) else "ocr",
                  label="; ".join(name for name, _, _ in found),
                  payload=other_documents_payload(found))
    where = "; in ".join(f"{name} on {elsewhere_text(m)}" for name, m, _ in found)
    return Verdict(claim, "unverifiable", None, (ev,), f"{why}; the {q.kind} is found in {where}",
                   "page-quote")


def _named_in(cit: PageCitation, documents: Any) -> tuple[Any, str | None, str | None]:
    """The document of the record's several that ``cit`` is checked in, with its name; or
    ``None`` and why it cannot be checked: it names a file the record does not carry, or
    names none while the record carries several (which one is meant is never guessed)."""
    names = list(documents.documents)
    carried = names[0] if len(names) == 1 else \
        ", ".join(names[:-1]) + f"{',' * (len(names) > 2)} and {names[-1]}"
    if cit.ambiguous:           # "report.pdf, p. 4 of appendix.pdf": one document, or neither
        found = {tuple(documents.matching(n)) for n in cit.ambiguous}
        if len(found) == 1 and len(next(iter(found))) == 1:
            name = next(iter(found))[0]
            return documents.documents[name], None, name
        return None, _two_named(cit), None
    if not cit.document:
        if len(names) == 1:
            return documents.documents[names[0]], None, names[0]
        cited = "p. " + ", ".join([str(p) for p in cit.pages] + list(cit.labels))
        return None, (f"cites {cited} but the record carries {carried}; the citation does "
                      f"not name which"), None
    found = documents.matching(cit.document)
    if not found:
        return None, f"cites {cit.document}, which the record does not carry (it carries " \
                     f"{carried})", None
    if len(found) > 1:
        named = [n + documents.how_named(n, cit.document) for n in found]
        both = "two" if len(found) == 2 else str(len(found))
        listed = ", ".join(named[:-1]) + f", and {named[-1]}"
        return None, (f"cites {cit.document}, which names {both} of the record's documents "
                      f"({listed}); the citation does not say which"), None
    return documents.documents[found[0]], None, found[0]


def _carries(cit: PageCitation, document: Any) -> bool:
    """Whether the document a citation took from a sentence before it (``report.pdf covers
    staffing. On page 3 ...``) is one of the record's: one that is not (a file the response
    mentions, ``chart.png``) is not carried, and the citation is read as naming none."""
    if document is None:
        return False
    if hasattr(document, "documents"):
        return len(document.matching(cit.document)) == 1
    return _not_carried(cit, document) is None


def _not_carried(cit: PageCitation, document: Any) -> str | None:
    """Why citation ``cit`` cannot be checked in ``document``: it names its document by a file
    name (``appendix.pdf p. 1``) that is not the record's (compared without folders and
    case); ``None`` when it names none or this one."""
    if cit.ambiguous:
        files = [document.pdf_path] if document.pdf_path else getattr(document, "images", [])
        own = {str(f).replace("\\", "/").rsplit("/", 1)[-1].lower() for f in files}
        if all(n.replace("\\", "/").rsplit("/", 1)[-1].lower() in own for n in cit.ambiguous):
            return None
        return _two_named(cit)
    if not cit.document:
        return None
    named = cit.document.replace("\\", "/").rsplit("/", 1)[-1].lower()
    files = [document.pdf_path] if document.pdf_path else getattr(document, "images", [])
    if named in {str(f).replace("\\", "/").rsplit("/", 1)[-1].lower() for f in files}:
        return None
    return (f"cites {cit.document}, which the record does not carry (its document is "
            f"{document.name}; one document per record)")


def _two_named(cit: PageCitation) -> str:
    """Why a citation bound as tightly to two documents (``report.pdf, p. 4 of appendix.pdf``)
    is checked in neither."""
    cited = "p. " + ", ".join([str(p) for p in cit.pages] + list(cit.labels))
    before, after = cit.ambiguous[0], cit.ambiguous[-1]
    return (f"cites {cited} between two documents, {before} before it and {after} after it; "
            f"the citation does not say which")
