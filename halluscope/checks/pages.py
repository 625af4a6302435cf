"""Page checks: the pages a response cites, and the quotes and numbers it puts on them, looked
for in the document.

The citations are parsed by :func:`halluscope.claims.citations.parse_page_citations`;
:func:`check_pages` gives a verdict on every cited page and every attributed quote or number.

Matching (documented normalisation)
-----------------------------------
Both the page text and the quote are normalised by :func:`normalise`:

1. Unicode NFKC (ligatures such as ``ﬁ`` become ``fi``, full-width digits ASCII);
2. case folding;
3. curly quotes to straight ones, every dash (``‐ ‑ ‒ – — −``) to ``-``, ``…`` to ``...``;
4. a word hyphenated across a line break is joined (``exam-\\nple`` -> ``example``);
5. every run of whitespace becomes one space;
6. thousands separators (commas between digit groups) are dropped (``4,210`` -> ``4210``).

A quote is *found* when its normalised form is a substring of the page's; failing that, when it
is one after removing all punctuation except inside numbers (``loose`` match). A number is found
when the page has a number of equal value (``4,210`` = ``4210.0``; ``12%`` needs a ``%`` or
``percent`` after the page's number). Anything else (paraphrase, ``4.2 million`` for
``4,200,000``) is not found: a quote must be a quote.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from halluscope.claims.citations import NUMBER_TOKEN, PageCitation, Quote, parse_page_citations
from halluscope.types import Claim, Evidence, Verdict

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_QUOTES = {ord("\u201c"): '"', ord("\u201d"): '"', ord("\u201e"): '"', ord("\u00ab"): '"',
           ord("\u00bb"): '"', ord("\u2018"): "'", ord("\u2019"): "'", ord("\u201a"): "'"}


@dataclass
class QuoteMatch:
    """Where a quote was looked for and found."""

    found: bool
    page: int | None = None
    span: tuple[int, int] | None = None      # in the page's text
    how: str | None = None                   # exact | loose | number
    snippet: str | None = None
    others: list[QuoteMatch] = field(default_factory=list)   # matches on pages not cited

    @property
    def elsewhere(self) -> list[int]:
        """The pages not cited that hold the quote."""
        return [m.page for m in self.others]


# -- normalisation -----------------------------------------------------------------------------

def _basic(text: str) -> list[tuple[str, int]]:
    """Steps 1-5 of the normalisation, keeping each output character's source offset."""
    out: list[tuple[str, int]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "-" or ord(ch) in _DASHES:
            j = i + 1
            while j < n and text[j] in " \t\r":
                j += 1
            if j < n and text[j] == "\n" and out and out[-1][0].isalpha():
                k = j + 1
                while k < n and text[k].isspace():
                    k += 1
                if k < n and text[k].isalpha():          # hyphenated line break: join
                    i = k
                    continue
        piece = unicodedata.normalize("NFKC", ch).translate(_DASHES).translate(_QUOTES)
        piece = piece.replace("\u2026", "...").casefold()
        for c in piece:
            if c.isspace():
                if out and out[-1][0] != " ":
                    out.append((" ", i))
            else:
                out.append((c, i))
        i += 1
    if out and out[-1][0] == " ":
        out.pop()
    return out


_GROUPED = re.compile(r"(?<![\d,.])\d{1,3}(?:,\d{3})+(?!\d)")


def _drop_separators(chars: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Step 6: thousands separators: ``4,210`` -> ``4210``, ``1,234,567`` -> ``1234567``
    (``2023, 2024`` keeps its comma: the space breaks the group)."""
    text = "".join(c for c, _ in chars)
    drop = {m.start() + k for m in _GROUPED.finditer(text)
            for k, c in enumerate(m.group(0)) if c == ","}
    return [ch for k, ch in enumerate(chars) if k not in drop]


def normalise_map(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the offset it came from."""
    chars = _drop_separators(_basic(text))
    return "".join(c for c, _ in chars), [i for _, i in chars]


def normalise(text: str) -> str:
    """Normalise text for quote matching (see the module docstring)."""
    return normalise_map(text)[0]


def _loose_map(norm: str, idx: list[int]) -> tuple[str, list[int]]:
    out, pos = [], []
    for k, c in enumerate(norm):
        if c.isalnum() or c == " " or (c in ".%" and 0 < k < len(norm) - 1
                                       and norm[k - 1].isdigit()):
            if c == " " and (not out or out[-1] == " "):
                continue
            out.append(c)
            pos.append(idx[k])
    while out and out[-1] == " ":
        out.pop()
        pos.pop()
    return "".join(out), pos


def loose(text: str) -> str:
    return _loose_map(*normalise_map(text))[0]


def number_value(token: str) -> tuple[Decimal, bool] | None:
    """``("4,210")`` -> ``(Decimal(4210), False)``; ``"12%"`` -> ``(12, True)``."""
    t = token.strip().lower()
    pct = t.endswith("%") or t.endswith("percent")
    t = re.sub(r"(%|percent)$", "", t).strip()
    t = re.sub(r",(?=\d{3}\b)", "", t)
    try:
        return Decimal(t), pct
    except InvalidOperation:
        return None


def page_numbers(text: str) -> list[tuple[Decimal, bool, tuple[int, int]]]:
    out = []
    for m in NUMBER_TOKEN.finditer(text):
        v = number_value(m.group(0))
        if v is not None:
            out.append((v[0], v[1], m.span()))
    return out


# -- matching ----------------------------------------------------------------------------------

def find_in_text(quote: Quote | str, page_text: str) -> QuoteMatch:
    """Look for a quote or number in one page's text (see the module docstring)."""
    if isinstance(quote, str):
        quote = Quote(quote, (0, len(quote)))
    if quote.kind == "number":
        v = number_value(quote.text)
        if v is None:
            return QuoteMatch(False)
        for value, pct, span in page_numbers(page_text):
            if value == v[0] and (not v[1] or pct or
                                  re.match(r"\s*(%|percent)", page_text[span[1]:], re.I)):
                return QuoteMatch(True, span=span, how="number", snippet=page_text[
                    span[0]:span[1]])
        return QuoteMatch(False)
    norm_page, idx = normalise_map(page_text)
    found = _find_mapped(normalise(quote.text), norm_page, idx, page_text, "exact")
    if found is None:
        lp, lidx = _loose_map(norm_page, idx)
        found = _find_mapped(loose(quote.text), lp, lidx, page_text, "loose")
    return found or QuoteMatch(False)


def _in_words(c: str) -> bool:
    """A letter or digit of a script that separates its words (CJK text does not)."""
    return c.isalnum() and not ("\u2e80" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af"
                                or "\uf900" <= c <= "\ufaff")


def _whole_words(needle: str, hay: str, k: int) -> bool:
    """Whether ``needle`` at ``hay[k:]`` starts and ends on word edges: a quote does not
    begin or end inside a word or number ("Staff grew to 18" is not in "... to 185 people")."""
    end = k + len(needle)
    inside_left = k > 0 and _in_words(needle[0]) and _in_words(hay[k - 1])
    inside_right = end < len(hay) and _in_words(needle[-1]) and _in_words(hay[end])
    return not (inside_left or inside_right)


def _find_mapped(needle: str, hay: str, idx: list[int], page_text: str,
                 how: str) -> QuoteMatch | None:
    """``needle`` found in ``hay`` (a normalised form of ``page_text`` whose character ``i``
    comes from ``page_text[idx[i]]``), as a match on the page's own text; ``None`` if absent."""
    k = -1
    while needle:
        k = hay.find(needle, k + 1)
        if k < 0 or _whole_words(needle, hay, k):
            break
    if k < 0:
        return None
    span = (idx[k], idx[k + len(needle) - 1] + 1)
    return QuoteMatch(True, span=span, how=how, snippet=page_text[span[0]:span[1]])


def find_quote(quote: Quote, cited: tuple[int, ...], page_text: Any, n_pages: int
               ) -> QuoteMatch:
    """Look for ``quote`` on the cited pages, and (when it is not there) on the others.

    ``page_text`` is a callable ``page number -> text``.
    """
    for p in cited:
        if 1 <= p <= n_pages:
            m = find_in_text(quote, page_text(p))
            if m.found:
                m.page = p
                return m
    others = []
    for p in range(1, n_pages + 1):
        if p not in cited:
            m = find_in_text(quote, page_text(p))
            if m.found:
                m.page = p
                others.append(m)
    return QuoteMatch(False, others=others)


def found_elsewhere(match: QuoteMatch) -> list[dict[str, Any]]:
    """Where a quote missing from its cited pages was found instead, as verdict evidence: one
    ``{"page", "found", "match", "char_span"}`` per page (the span in that page's text), so a
    reader can draw it without searching again."""
    return [{"page": m.page, "found": m.snippet, "match": m.how, "char_span": list(m.span)}
            for m in match.others if m.span is not None]


def _missing_payload(match: QuoteMatch) -> dict[str, Any]:
    """Evidence of a quote not on its cited pages: the pages it is on instead (``found_on``)
    and, when there are any, the match on each (``found_elsewhere``)."""
    payload: dict[str, Any] = {"found_on": match.elsewhere}
    if match.others:
        payload["found_elsewhere"] = found_elsewhere(match)
    return payload


# -- verdicts ----------------------------------------------------------------------------------

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
    number (``page-quote``: supported when found on a cited page, hallucinated when it is not;
    the reason says where else it was found, if anywhere, and the evidence's ``found_on`` lists
    those pages and ``found_elsewhere`` the match on each, see :func:`found_elsewhere`).
    """
    citations = parse_page_citations(record.response) if citations is None else citations
    out: list[Verdict] = []
    if not citations:
        return out
    prov: dict[str, Any] = {}
    if document is not None:
        prov = {"component": "document", "document": document.name,
                "pages": document.n_pages}
    for cit in citations:
        for page in cit.pages:
            claim = Claim(kind="page", subject="page", value=page, span=cit.span,
                          text=cit.sentence)
            if document is None:
                out.append(Verdict(claim, "unverifiable", 0.0, (), "the record carries no "
                                   "document", "page-exists"))
            elif document.exists(page):
                ev = Evidence(source="pdf" if document.pdf_path else "ocr", label=f"p. {page}",
                              payload={"page": page, "pages": document.n_pages},
                              provenance=prov)
                out.append(Verdict(claim, "supported", 1.0, (ev,),
                                   f"page {page} exists ({document.n_pages} pages)",
                                   "page-exists"))
            else:
                ev = Evidence(source="pdf" if document.pdf_path else "ocr",
                              payload={"pages": document.n_pages, "fabricated": True},
                              provenance=prov)
                out.append(Verdict(claim, "hallucinated", 1.0, (ev,),
                                   f"page {page} does not exist: {document.name} has "
                                   f"{document.n_pages} page{'s' * (document.n_pages != 1)}",
                                   "page-exists"))
        for q in cit.quotes:
            value = cit.pages[0] if len(cit.pages) == 1 else list(cit.pages)
            claim = Claim(kind="page", subject=q.kind, value=value, span=q.span,
                          text=cit.sentence, quote=q.text)
            if document is None:
                out.append(Verdict(claim, "unverifiable", 0.0, (), "the record carries no "
                                   "document", "page-quote"))
                continue
            valid = [p for p in cit.pages if document.exists(p)]
            texts = {p: document.page(p) for p in valid}
            if valid and not any(texts[p].text.strip() for p in valid):
                out.append(Verdict(claim, "unverifiable", 0.0, (), f"no text could be read "
                                   f"from page {', '.join(map(str, valid))}", "page-quote"))
                continue
            m = find_quote(q, cit.pages, document.text, document.n_pages)
            where = "p. " + ", ".join(map(str, cit.pages))
            if m.found:
                page = texts[m.page]
                ev = Evidence(source=page.source, label=f"p. {m.page}",
                              payload={"page": m.page, "found": m.snippet, "match": m.how,
                                       "char_span": list(m.span)}, provenance=prov)
                out.append(Verdict(claim, "supported", 1.0, (ev,),
                                   f"found on page {m.page} ({m.how} match)", "page-quote"))
            else:
                ev = Evidence(source="pdf" if document.pdf_path else "ocr", label=where,
                              payload=_missing_payload(m), provenance=prov)
                why = (f"not on {where}; found on page {', '.join(map(str, m.elsewhere))}"
                       if m.elsewhere else f"not on {where} nor anywhere in the document")
                out.append(Verdict(claim, "hallucinated", 1.0, (ev,), why, "page-quote"))
    return out
