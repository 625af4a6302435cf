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


# -- page lists and ranges as people write them ------------------------------------------------

@pytest.mark.parametrize("text,pages", [
    ('See pages 2 through 4: "Supply costs rose".', (2, 3, 4)),      # was page 2 alone
    ('See pp. 2 thru 5: "Supply costs rose".', (2, 3, 4, 5)),
    ('See pages two through four: "Supply costs rose".', (2, 3, 4)),
    ('See pages 2, 3, and 4: "Supply costs rose".', (2, 3, 4)),      # was 2, 3: 4 dropped
    ('See pp. 3, 4, & 6: "Supply costs rose".', (3, 4, 6)),
    ('See pages 2 to 4: "Supply costs rose".', (2, 3, 4)),           # as before
])
def test_ranges_with_through_and_lists_with_a_serial_comma_cite_every_page(text, pages):
    from halluscope.claims.citations import parse_page_citations
    (cit,) = parse_page_citations(text)
    assert cit.pages == pages
    doc = FakeDocument({1: "Intro.", 2: "Revenue.", 3: "Staff.", 4: "Supply costs rose by 7.5%.",
                        5: "Risk.", 6: "End."})
    (*_, q) = check_pages(record(text), doc)
    assert q.label == "supported" and q.reason == "found on page 4 (exact match)"


# -- quotations inside quotations ------------------------------------------------------------

@pytest.mark.parametrize("text,quotes", [
    ('It says \u201cThe "smart" devices sold well\u201d (p. 1).',
     ['The "smart" devices sold well']),                 # was 'The' alone
    ('It says "The \u201csmart\u201d devices sold well" (p. 1).',
     ['The \u201csmart\u201d devices sold well']),
    ('It says \u201cthe 6" pipes sold well\u201d (p. 1).', ['the 6" pipes sold well']),
    # a curly mark closed by a straight one, and pairs side by side: as before
    ('It says \u201cfirst" and "second\u201d (p. 1).', ["first", "second"]),
    ('It says "first one" and \u201csecond one\u201d (p. 1).', ["first one", "second one"]),
])
def test_a_quotation_holding_one_in_the_other_marks_is_one_quote(text, quotes):
    from halluscope.claims.citations import parse_page_citations
    (cit,) = parse_page_citations(text)
    assert [q.text for q in cit.quotes] == quotes
    assert all(text[q.span[0]:q.span[1]] == q.text for q in cit.quotes)


def test_a_quotation_with_inner_quotes_is_checked_whole():
    doc = FakeDocument({1: "The \u201csmart\u201d devices sold well."})
    (_, q) = check_pages(record('It says \u201cThe "smart" devices sold well\u201d (p. 1).'), doc)
    assert (q.claim.quote, q.label) == ('The "smart" devices sold well', "supported")
    (_, q) = check_pages(record('It says \u201cThe "clever" devices sold well\u201d (p. 1).'), doc)
    assert q.label == "hallucinated"        # the whole quote, not its first word, is looked for


# -- a long document with many citations ---------------------------------------------------------

def long_document(n=2000):
    pages = {p: f"Item {p} reached {p * 7 + 3} units in region {p % 17}. Staff met on day "
                f"{p % 31}." for p in range(1, n + 1)}
    return FakeDocument(pages, "long.pdf")


def test_many_citations_of_a_long_document_index_its_pages_once(monkeypatch):
    """500 citations of a 2,000-page document: a quote missing from its cited page visited
    every page in Python (a million page visits, and the pages' 4-character table stacked
    again for each quote); the pages that may hold it are now found over the whole document
    at once, from an index made once."""
    from halluscope.checks import page_search, page_sieve
    built, visits = [], []
    real_index, real_find = page_sieve.PageIndex.__init__, page_search.find_on
    monkeypatch.setattr(page_sieve.PageIndex, "__init__",
                        lambda self, *a: built.append(1) or real_index(self, *a))
    monkeypatch.setattr(page_search, "find_on", lambda n, f: visits.append(1) or real_find(n, f))
    doc = long_document()
    parts = []
    for i in range(500):
        p = 1 + (i * 37) % 2000
        parts.append([f'Page {p} says "Item {p} reached {p * 7 + 3} units".',
                      f'Page {p} says "Item {p + 1} reached {(p + 1) * 7 + 3} units".',
                      f'Page {p} says "nothing like sentence {i} here".',
                      f"Page {p} counts {(p + 2) * 7 + 3} units."][i % 4])
    verdicts = [v for v in check_pages(record(" ".join(parts)), doc) if v.checker == "page-quote"]
    assert len(verdicts) == 500 and len(built) == 1
    assert len(visits) < 3 * 500                   # was over 2,000 a missing quote
    for i, v in enumerate(verdicts):
        p = 1 + (i * 37) % 2000
        if i % 4 == 0:
            assert (v.label, v.reason) == ("supported", f"found on page {p} (exact match)")
        elif i % 4 == 1 and p < 2000:
            assert (v.label, v.reason) == ("hallucinated", f"not on p. {p}; found on page {p + 1}")
        elif i % 4 == 2:
            assert (v.label, v.reason) == ("hallucinated",
                                           f"not on p. {p} nor anywhere in the document")
        elif i % 4 == 3 and p <= 1998:       # the number, wherever a page has it
            n = str((p + 2) * 7 + 3)
            found = v.evidence[0].payload["found_on"]
            assert v.label == "hallucinated" and p + 2 in found
            assert found == [q for q in range(1, 2001) if q != p and n in doc.pages[q].split()]


def test_the_index_finds_what_a_page_by_page_search_finds():
    from halluscope.checks.page_search import find_quote
    from halluscope.checks.quote_match import find_in_text
    from halluscope.claims.page_citations import Quote
    doc = long_document(300)
    doc.pages[120] = "A page that ends with Item 12"          # the page end is no space
    doc.pages[121] = "reached 87 units, as page 12 says."
    doc.pages[200] = "ITEM 12 — reached 87 units!"          # a loose match
    for text in ["Item 12 reached 87 units", "reached 45 units", "region 5. Staff met",
                 "units in region 3", "Staff met on day 4.", "87"]:
        quote = Quote(text, (0, 0), "number" if text.isdigit() else "quote")
        got = [m.page for m in find_quote(quote, (1,), doc.text, doc.n_pages).others
               if not m.parts]
        brute = [p for p in range(2, doc.n_pages + 1)
                 if find_in_text(quote, doc.pages[p]).found]
        assert got == brute and brute, text


def test_a_page_whose_text_changed_is_indexed_again():
    doc = long_document(50)
    (_, q) = check_pages(record('Page 2 says "a sentence added later".'), doc)
    assert q.reason == "not on p. 2 nor anywhere in the document"
    doc.pages[30] = "Here is a sentence added later."
    (_, q) = check_pages(record('Page 2 says "a sentence added later".'), doc)
    assert q.reason == "not on p. 2; found on page 30"


# -- page texts given as the document ------------------------------------------------------------

@pytest.mark.parametrize("value", [
    ["Revenue reached 4,210 units in 2023.", "Staff grew to 185 people."],
    {"pages": ["Revenue reached 4,210 units in 2023."]},
    "Revenue reached 4,210 units\nin 2023.",
])
def test_page_texts_as_the_document_are_refused_as_text_not_a_missing_file(value, tmp_path):
    """A list of page texts was read as page-image paths under the input's folder: "expected
    page images in the list of pages (...), got /data/Revenue reached 4,210 units in 2023." """
    from halluscope.errors import ConfigError
    from halluscope.records import document_source
    with pytest.raises(ConfigError) as e:
        document_source(value, tmp_path)
    assert "got text, not a file name: 'Revenue reached 4,210 units" in str(e.value)
    assert "page texts are not read (give its PDF or page images)" in str(e.value)
    assert str(tmp_path) not in str(e.value)


def test_file_names_with_spaces_are_still_file_names(tmp_path):
    from halluscope.records import document_source
    assert document_source("annual report 2023.pdf", tmp_path) == str(
        tmp_path / "annual report 2023.pdf")
    assert document_source(["page 1.png", "page 2.png"], None) == ["page 1.png", "page 2.png"]


def test_audit_lists_a_record_with_page_texts_as_bad_at_its_line(tmp_path):
    import json

    from halluscope.api import audit
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "t", "task": "document", "response": '"Staff" (p. 1).',
                                "document": ["Staff grew.", "Costs rose."]}) + "\n")
    res = audit(path, metrics="page", n_boot=0)
    (err,) = res.errors
    assert (err["line"], err["field"]) == (1, "document")
    assert "got text, not a file name: 'Staff grew.'" in err["message"]


@pytest.mark.parametrize("text,pages", [
    ("See pp. 101-8.", tuple(range(101, 109))),      # was pages 101 and 8
    ("See pp. 101-08.", tuple(range(101, 109))),
    ("See pp. 321-28.", tuple(range(321, 329))),
    ("See pp. 98-102.", tuple(range(98, 103))),      # written in full: as before
    ("See pp. 5-3.", (5, 3)),                        # no shorter end: as written
    ("See pp. 19-2.", (19, 2)),                      # 12 is before 19: as written
])
def test_an_abbreviated_page_range_is_read_in_full(text, pages):
    from halluscope.claims.citations import parse_page_citations
    (cit,) = parse_page_citations(text)
    assert cit.pages == pages


def test_a_quote_in_an_abbreviated_range_is_found_there():
    doc = FakeDocument({p: f"Page {p} text." for p in range(1, 121)})
    doc.pages[104] = "The board met twice in spring."
    got = [(v.checker, v.claim.value, v.label) for v in
           check_pages(record('See pp. 101-8: "The board met twice".'), doc)]
    assert ("page-quote", list(range(101, 109)), "supported") in got
    assert ("page-exists", 8, "supported") not in got


def test_a_quote_cited_on_a_blank_page_says_where_it_is():
    doc = FakeDocument({1: "Intro.", 2: "Currency risk remains.", 3: "   "})
    (_, q) = check_pages(record('Page 3 says "Currency risk remains".'), doc)
    assert (q.label, q.reason) == ("unverifiable", "no text could be read from page 3; the "
                                                   "quote is found on page 2")
    assert q.evidence[0].payload["found_on"] == [2]
    (_, q) = check_pages(record('Page 3 says "Nothing like it".'), doc)
    assert (q.label, q.reason, q.evidence) == ("unverifiable",
                                               "no text could be read from page 3", ())
