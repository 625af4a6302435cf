"""Page labels: the numbers a PDF prints on its pages, beside their places in the file.

A PDF may label its pages (``/PageLabels``): front matter ``i``, ``ii``, then ``1``, ``2``
..., or ``101``-``110`` for an article from a journal. A model reading the pages cites the
printed number, or the place in the file, and which one it meant is not written down, so the
page check takes either:

- a page cited in roman numerals (``p. ii``, ``pp. iii-v``, ``{"page": "ii"}``) is the page
  the document labels so (its place in the file is checked); a document that labels no page
  so makes the citation fabricated, and one that gives no labels at all leaves it
  unverifiable (the label cannot be placed);
- a page cited by number is the page at that place in the file, as before; when the file has
  no such page but a page labelled with that number (``p. 105`` of a 10-page article
  labelled ``101``-``110``) that page exists, and a quote not found at the number's place is
  looked for on the page labelled with it (the reason then names both: "on the page labelled
  2, page 4 of the file").

Documents without labels (and page images) are checked as if this module did not exist.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from halluscope.claims.page_citations import PageCitation
from halluscope.types import Claim, Evidence, Verdict


def label_index(document: Any) -> dict[str, int]:
    """``label (case folded) -> page`` (1-based place in the file; the first of a repeated
    label) of a document with page labels, else empty."""
    out: dict[str, int] = {}
    for i, label in enumerate(getattr(document, "labels", None) or [], 1):
        if label:
            out.setdefault(label.casefold(), i)
    return out


def place_labels(cit: PageCitation, document: Any) -> tuple[PageCitation, dict[int, str]]:
    """``cit`` with the roman-numeral labels it cites that ``document`` has moved to its
    ``pages`` (the place of each in the file; the others stay in ``labels``), and ``page ->
    label`` for those moved."""
    if not cit.labels or document is None:
        return cit, {}
    index = label_index(document)
    placed = {index[lab.casefold()]: lab for lab in cit.labels if lab.casefold() in index}
    pages = cit.pages + tuple(index[lab.casefold()] for lab in cit.labels
                              if lab.casefold() in index)
    rest = tuple(lab for lab in cit.labels if lab.casefold() not in index)
    return replace(cit, pages=pages, labels=rest), placed


def labelled_instead(cit: PageCitation, document: Any, searched: tuple[int, ...]
                     ) -> dict[int, str]:
    """``page -> label`` of the pages the numbers ``cit`` cites label, where that is not the
    page at the number's place in the file (the pages a quote not found there is looked for
    on next)."""
    index = label_index(document)
    out = {index[str(p)]: str(p) for p in cit.pages if str(p) in index}
    return {p: lab for p, lab in out.items() if p not in searched}


def label_runs(labels: list[str]) -> str:
    """``i-ii, 1-3``: a document's labels, runs of one style (roman, arabic, other) by their
    ends."""
    runs: list[list[str]] = []
    for lab in labels:
        style = "arabic" if lab.isdecimal() else "roman" if lab.strip("ivxlcdmIVXLCDM") == "" \
            else lab
        if runs and runs[-1][0] == style:
            runs[-1][2] = lab
        else:
            runs.append([style, lab, lab])
    shown = [a if a == b else f"{a}-{b}" for _, a, b in runs]
    return ", ".join(shown[:6]) + (", ..." if len(shown) > 6 else "")


def page_verdict(claim: Claim, page: int | str, document: Any, prov: dict[str, Any],
                 label: str | None = None) -> Verdict:
    """Does cited page ``page`` exist in ``document``? ``page`` is a place in the file (cited
    by number, or ``label`` placed there), or a label no page has (``"ix"``)."""
    n = document.n_pages
    pages = f"{n} page{'s' * (n != 1)}"
    source = "pdf" if document.pdf_path else "ocr"
    labels = getattr(document, "labels", None)
    if isinstance(page, str):
        if not labels:
            return Verdict(claim, "unverifiable", None, (), f"page {page} is a page label, and "
                           f"{document.name} gives none (its pages are numbered 1-{n})",
                           "page-exists")
        ev = Evidence(source=source, payload={"pages": n, "fabricated": True,
                                              "page_label": page}, provenance=prov)
        return Verdict(claim, "hallucinated", 1.0, (ev,), f"no page is labelled {page}: "
                       f"{document.name} labels its {pages} {label_runs(labels)}", "page-exists")
    index = label_index(document)
    if not document.exists(page) and str(page) in index:
        label, page = str(page), index[str(page)]
    if document.exists(page):
        ev = Evidence(source=source, label=f"p. {page}", provenance=prov,
                      payload={"page": page, "pages": n,
                               **({"page_label": labels[page - 1]} if labels else {})})
        if label is not None:
            why = f"page {label} exists: the page labelled {label} (page {page} of {pages})"
        else:
            printed = f", labelled {labels[page - 1]}" if labels and \
                labels[page - 1] != str(page) else ""
            why = f"page {page} exists ({pages}{printed})"
        return Verdict(claim, "supported", 1.0, (ev,), why, "page-exists")
    ev = Evidence(source=source, payload={"pages": n, "fabricated": True}, provenance=prov)
    labelled = f"; its pages are labelled {label_runs(labels)}" if labels else ""
    return Verdict(claim, "hallucinated", 1.0, (ev,),
                   f"page {page} does not exist: {document.name} has {pages}{labelled}",
                   "page-exists")
