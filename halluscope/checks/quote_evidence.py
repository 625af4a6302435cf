"""The evidence a page-quote verdict carries: where a quote was found (its parts across a page
break, the elided parts of a quote with an ellipsis, the running header/footer lines left out
to find it) and, for a quote not on its cited pages, where it is instead. Split from
:mod:`halluscope.checks.pages`, which finds the quotes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from halluscope.checks.quote_match import QuoteMatch


def match_parts(match: "QuoteMatch", page_text: Any = None) -> dict[str, Any]:
    """A match across a page break: its pages and the span on each (``parts``), and the
    running header/footer lines left out at its breaks (``running_lines``), if any."""
    if match.elided:
        return {"elided_parts": [{"char_span": list(span), "found": page_text(match.page)[
            span[0]:span[1]] if page_text is not None else None} for span in match.elided]}
    if not match.parts:
        return {}
    out: dict[str, Any] = {"pages": match.pages,
                           "parts": [{"page": p, "char_span": list(span)}
                                     for p, span in match.parts]}
    if match.skipped:
        out["running_lines"] = [       # the text first: what a one-line summary shows
            {**({"text": page_text(p)[span[0]:span[1]]} if page_text is not None else {}),
             "page": p, "at": at, "char_span": list(span)} for p, at, span in match.skipped]
    return out


def left_out(match: "QuoteMatch", page_text: Any) -> str:
    """``; running header/footer left out: "Page 1 of 3"`` for a match that needed it."""
    if not match.skipped:
        return ""
    lines = [page_text(p)[a:b] for p, _, (a, b) in match.skipped]
    shown = ", ".join(repr(t if len(t) <= 40 else t[:39] + "\u2026") for t in lines[:4])
    return f"; running header/footer left out: {shown}{', ...' if len(lines) > 4 else ''}"


def found_elsewhere(match: "QuoteMatch", page_text: Any = None) -> list[dict[str, Any]]:
    """Where a quote missing from its cited pages was found instead, as verdict evidence: one
    ``{"page", "found", "match", "char_span"}`` per page (the span in that page's text), so a
    reader can draw it without searching again; one found across a page break has ``pages``
    and ``parts`` too (``page`` and ``char_span`` are its first part), and ``running_lines``
    when running header/footer lines were left out to find it (``page_text``, the document's
    ``page number -> text``, gives each its ``text``)."""
    return [{"page": m.page, "found": m.snippet, "match": m.how, "char_span": list(m.span),
             **match_parts(m, page_text)} for m in match.others if m.span is not None]


def missing_payload(match: "QuoteMatch", page_text: Any) -> dict[str, Any]:
    """Evidence of a quote not on its cited pages: the pages it is on instead (``found_on``)
    and, when there are any, the match on each (``found_elsewhere``)."""
    payload: dict[str, Any] = {"found_on": match.elsewhere}
    if match.others:
        payload["found_elsewhere"] = found_elsewhere(match, page_text)
    return payload


def in_other_documents(quote: Any, documents: dict[str, Any]
                       ) -> list[tuple[str, "QuoteMatch", Any]]:
    """Where a quote that is on no page of its cited document is in the record's other
    ``documents`` (name -> document): ``(name, match, document)`` for each that holds it
    (``match.others``: its pages there). The citation named another document, so this only
    says where the quote is; it never supports it."""
    from halluscope.checks.page_search import find_quote
    out = []
    for name, doc in documents.items():
        m = find_quote(quote, (), doc.text, doc.n_pages)
        if m.others:
            out.append((name, m, doc))
    return out


def other_documents_payload(found: list[tuple[str, "QuoteMatch", Any]]) -> dict[str, Any]:
    """Evidence of a quote found only in the record's other documents
    (:func:`in_other_documents`): ``found_in_documents`` (name -> its pages there) and its
    ``found_elsewhere`` entries, each naming its ``document``."""
    return {"found_in_documents": {name: m.elsewhere for name, m, _ in found},
            "found_elsewhere": [{"document": name, **entry} for name, m, doc in found
                                for entry in found_elsewhere(m, doc.text)]}


def elsewhere_text(match: "QuoteMatch") -> str:
    """``page 2``, ``pages 2, 5``, ``pages 4-5 (across the page break)`` (``..., running
    header/footer left out)`` when that found it)."""
    several = len(match.others) > 1 or any(m.parts for m in match.others)
    return ("pages " if several else "page ") + ", ".join(
        f"{m.pages[0]}-{m.pages[-1]} (across the page break{'s' * (len(m.pages) > 2)}"
        f"{', running header/footer left out' if m.skipped else ''})" if m.parts
        else str(m.page)
        for m in match.others)


def too_little_text(pages: Any, min_chars: int) -> dict[int, str]:
    """The OCR pages among ``pages`` (:class:`~halluscope.evidence.documents.Page`) whose text
    has fewer than ``min_chars`` non-space characters, ``page number -> text``: a scan OCR
    could not read (a photo, a blank or skewed page, ``6 1 1 1``), where a quote not found
    says nothing about the page. The same bar a PDF text layer must clear to be used."""
    return {p.number: p.text for p in pages
            if p.source == "ocr" and sum(not c.isspace() for c in p.text) < min_chars}


def unread_reason(where: str, unread: dict[int, str], pdf: bool = True) -> str:
    """Why a quote not found on ``where`` is unverifiable: the cited pages in ``unread`` (see
    :func:`too_little_text`) with what OCR read of each (``pdf``: the pages have no text layer,
    else they are page images)."""
    said = "; ".join(f"page {p}: {len(''.join(t.split()))} characters"
                     f"{' (' + repr(' '.join(t.split())[:40]) + ')' if t.strip() else ''}"
                     for p, t in unread.items())
    what = "no text layer" if pdf else "a page image"
    return (f"not found on {where}, which cannot be checked: {what}, and OCR read too "
            f"little text to tell ({said})")
