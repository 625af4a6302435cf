"""Page grounding leftovers (9): where the quote of a citation whose document is not known is.

A record with several documents and a citation that names none of them ("page 3"): which one
is meant is never guessed (the citation stays unverifiable), but the item says where the quote
is, in which document and on which page, as it does for a quote found in another document
than the one cited.
"""

from __future__ import annotations

import pytest

from halluscope.checks.pages import check_pages
from tests.test_page_documents import two_documents
from tests.test_page_grounding import FakeDocument, record
from tests.test_page_leftovers7 import pdf_audit

UNNAMED = "cites p. 3 but the record carries report.pdf and appendix.pdf; the citation does " \
          "not name which"


def quote_verdict(response, documents=None):
    (_, q) = check_pages(record(response), documents or two_documents())
    return q


def test_an_unnamed_citations_quote_says_which_document_and_page_hold_it():
    q = quote_verdict('Page 3 says "Staff grew to 185 people".')
    assert (q.label, q.reason) == ("unverifiable",
                                   UNNAMED + "; the quote is found in report.pdf on page 2")
    assert q.evidence[0].payload == {
        "found_in_documents": {"report.pdf": [2]},
        "found_elsewhere": [{"document": "report.pdf", "page": 2, "found":
                             "Staff grew to 185 people", "match": "exact",
                             "char_span": [0, 24]}]}


def test_a_number_in_both_documents_is_said_in_each():
    docs = two_documents()
    docs.documents["appendix.pdf"].pages[1] = "Table A1 lists 185 sites."
    q = quote_verdict("Page 3 counts 185 staff.", docs)
    assert q.claim.subject == "number"
    assert q.reason == (UNNAMED + "; the number is found in report.pdf on page 2; in "
                        "appendix.pdf on page 1")
    assert q.evidence[0].payload["found_in_documents"] == {"report.pdf": [2],
                                                           "appendix.pdf": [1]}


def test_an_unnamed_citations_quote_in_no_document_says_so():
    q = quote_verdict('Page 3 says "profits tripled overnight".')
    assert (q.label, q.evidence) == ("unverifiable", ())
    assert q.reason == UNNAMED + "; the quote is in none of the record's documents"


def test_a_citation_of_a_file_not_carried_says_where_the_quote_is_in_the_one_carried():
    doc = FakeDocument({1: "Revenue rose.", 2: "Staff grew to 185 people."}, "report.pdf")
    (_, q) = check_pages(record('appendix.pdf p. 1 says "Staff grew to 185 people".',
                                "report.pdf"), doc)
    assert q.label == "unverifiable"
    assert q.reason.endswith("(its document is report.pdf; one document per record); the "
                             "quote is found in report.pdf on page 2")
    (_, q) = check_pages(record('appendix.pdf p. 1 says "Nothing like it".', "report.pdf"), doc)
    assert q.reason.endswith("; the quote is not in report.pdf")


def test_audit_items_and_report_show_where_an_unnamed_citations_quote_is(tmp_path):
    pytest.importorskip("pypdfium2")
    items, html = pdf_audit(tmp_path, [
        {"id": "u", "document": ["report.pdf", "appendix.pdf"],
         "response": '"Currency risk remains" (p. 1).'}])
    item = items["u"]
    (_, q) = item["claims"]
    assert (q["verdict"], q["reason"]) == (
        "unverifiable", "cites p. 1 but the record carries report.pdf and appendix.pdf; the "
                        "citation does not name which; the quote is found in appendix.pdf on "
                        "page 2")
    (h,) = item["page"]["highlights"]
    assert (h["document"], h["page"], h["cited"]) == ("appendix.pdf", 2, False) and h["boxes"]
    # nothing scored: the citation is unverifiable
    assert item["page"]["quote_support_rate"] is None
    # the report names no cited document it is "not in", and draws the page it is on
    assert "cited document not known; in appendix.pdf on p. 2" in html
    assert ("appendix.pdf p. 2: the quote is here (the citation does not say which document "
            "it means)") in html
    assert "not the document cited" not in html
