"""Page grounding leftovers (10): ``f.``/``ff.`` after a page, more ways to write a page
(``pg 3``, ``Page: 4``, ``page-3``), a document named in an earlier sentence, and the colour
of a page where the quote is when its cited page is blank."""

from __future__ import annotations

import json
import re

import pytest

from halluscope.checks.pages import check_pages
from halluscope.claims.citations import MAX_PAGE, parse_page_citations
from tests.test_page_documents import two_documents
from tests.test_page_grounding import FakeDocument, make_pdf, record

SIX = {1: "Intro.", 2: "Revenue.", 3: "Staff.", 4: "Costs.",
       5: "Supply costs rose by 7.5%.", 6: "End."}


def verdicts(text, doc=None):
    return check_pages(record(text), doc if doc is not None else FakeDocument(dict(SIX)))


# -- "f." and "ff." --------------------------------------------------------------------------

@pytest.mark.parametrize("text,pages,ranges", [
    ('See p. 4 f. "Supply costs rose".', (4, 5), ()),
    ('See p. 3f. "Supply costs rose".', (3, 4), ()),
    ('See p. 4 ff. "Supply costs rose".', (4,), ((4, MAX_PAGE),)),
    ('See pp. 4ff. "Supply costs rose".', (4,), ((4, MAX_PAGE),)),
    ('See page 4 ff "Supply costs rose".', (4,), ((4, MAX_PAGE),)),
    ('As p. 3f. puts it, "Supply costs rose".', (3, 4), ()),
])
def test_f_and_ff_cite_the_next_page_and_the_pages_after(text, pages, ranges):
    (cit,) = parse_page_citations(text)
    assert (cit.pages, cit.ranges) == (pages, ranges)
    # the quote after "ff." stays in the citing sentence
    assert [q.text for q in cit.quotes] == ["Supply costs rose"]


def test_a_quote_on_the_page_after_f_is_supported():
    (*exists, q) = verdicts('See p. 4 f. "Supply costs rose".')
    assert [(v.claim.value, v.label) for v in exists] == [(4, "supported"), (5, "supported")]
    assert (q.label, q.reason) == ("supported", "found on page 5 (exact match)")
    (*_, q) = verdicts('See p. 3f. "Supply costs rose".')       # pages 3 and 4 only
    assert (q.label, q.reason) == ("hallucinated", "not on p. 3, 4; found on page 5")


def test_ff_reads_to_the_end_of_the_document_and_says_so():
    (exists, q) = verdicts('See p. 4 ff. "Supply costs rose".')
    assert (exists.claim.value, exists.label) == (4, "supported")     # page 4 only must exist
    assert (q.label, q.reason) == ("supported", "found on page 5 (exact match); p. 4 ff. read "
                                                "as pages 4-6, to the end of the document")
    assert q.evidence[0].payload["cited_range"] == [4, 6]
    # found on the page cited itself: nothing to say about the range
    (_, q) = verdicts('See p. 4 ff. "Costs".')
    assert (q.label, q.reason) == ("supported", "found on page 4 (exact match)")
    assert "cited_range" not in q.evidence[0].payload
    # before the range: hallucinated, the reason says how far the range was read
    (_, q) = verdicts('See pp. 4ff. "Revenue".')
    assert (q.label, q.reason) == ("hallucinated", "not on p. 4 ff. (pages 4-6, to the end "
                                                   "of the document); found on page 2")


def test_ff_from_a_page_past_the_end_is_a_missing_page():
    (exists, q) = verdicts('See p. 9 ff. "Costs".')
    assert (exists.label, q.label) == ("hallucinated", "hallucinated")
    assert q.reason.startswith("not on p. 9 ff. (the document ends at page 6)")


@pytest.mark.parametrize("text", ["The staff (ff.) met.", "Staff ff. 3 met.",
                                  "I said f. 3 times."])
def test_f_and_ff_alone_cite_nothing(text):
    assert parse_page_citations(text) == []


# -- more ways to write a page ---------------------------------------------------------------

@pytest.mark.parametrize("text,page", [
    ('"Supply costs rose" (Page: 5.)', 5),
    ('It says "Supply costs rose", Page: 5.', 5),
    ('pg 5 says "Supply costs rose".', 5),
    ('pg. 5 says "Supply costs rose".', 5),
    ('pg5 says "Supply costs rose".', 5),
    ('Pg. 5 says "Supply costs rose".', 5),
    ('Pg 5 says "Supply costs rose".', 5),
    ('page-5 says "Supply costs rose".', 5),
    ('See pgs 4-5: "Supply costs rose".', 4),
])
def test_page_written_as_pg_page_colon_or_page_hyphen_is_a_citation(text, page):
    (cit,) = parse_page_citations(text)
    assert cit.pages[0] == page
    (*_, q) = verdicts(text)
    assert (q.claim.quote, q.label) == ("Supply costs rose", "supported")


@pytest.mark.parametrize("text", [
    "It was a real page-turner, 300 pages long, read in 3 days.",
    "The film is rated pg-13 and runs 95 minutes.",
    "The PG-13 rating kept 12 of them out.",
    "A PG 13 film drew 40 people.",
    "The front-page story ran 3 times.",
    "The page-3 girl era ended in 2015." .replace("page-3", "page-three"),
    "We used pg_dump 15 and pgbench 3 times.",
    "The web-page 3 links broke.",
])
def test_ordinary_prose_with_page_like_words_cites_no_page(text):
    assert parse_page_citations(text) == []


# -- a document named in an earlier sentence -------------------------------------------------

QUOTE = '"Staff grew to 185 people"'


def two(text):
    return check_pages(record(text), two_documents())


@pytest.mark.parametrize("text", [
    f"report.pdf covers staffing. On page 2 it says {QUOTE}.",
    f"report.pdf covers staffing. Page 2 says {QUOTE}.",
    f"The figures come from report.pdf. The same document says on page 2 {QUOTE}.",
    f"report.pdf covers staffing. Sites are listed elsewhere. On page 2 it says {QUOTE}.",
    f"report.pdf covers staffing. Sites are listed elsewhere. That document has {QUOTE} "
    f"on page 2.",
])
def test_a_document_named_before_is_carried_to_a_citation_that_names_none(text):
    (cit,) = parse_page_citations(text, names=("report.pdf", "appendix.pdf"))
    assert (cit.document, cit.carried) == ("report.pdf", True)
    (e, q) = two(text)
    assert (e.label, q.label) == ("supported", "supported")
    assert q.reason == "report.pdf (named in an earlier sentence): found on page 2 (exact match)"


@pytest.mark.parametrize("text", [
    # a sentence naming another document stands between
    f"report.pdf covers staffing. Its sites are in appendix.pdf too. On page 2 it says {QUOTE}.",
    # the sentence naming it names two
    f"report.pdf and appendix.pdf differ. Page 2 says {QUOTE}.",
    # the citing sentence names another document (not bound to the citation)
    f"report.pdf covers staffing. Page 2 says {QUOTE}, unlike appendix.pdf.",
    # not the next sentence, and nothing refers back
    f"report.pdf covers staffing. Sites are listed elsewhere. Page 2 says {QUOTE}.",
    # a paragraph's end
    f"report.pdf covers staffing.\n\nPage 2 says {QUOTE}.",
])
def test_a_document_is_not_carried_where_the_reference_is_not_clear(text):
    (cit,) = parse_page_citations(text, names=("report.pdf", "appendix.pdf"))
    assert cit.document != "report.pdf"
    if cit.document is None:
        (e, q) = two(text)
        assert (e.label, q.label) == ("unverifiable", "unverifiable")
        assert q.reason.startswith("cites p. 2 but the record carries report.pdf and "
                                   "appendix.pdf; the citation does not name which")


def test_the_newest_document_named_is_the_one_carried():
    text = f"report.pdf covers staffing. Appendix.pdf lists sites. On page 2 it says {QUOTE}."
    (cit,) = parse_page_citations(text, names=("report.pdf", "appendix.pdf"))
    assert (cit.document, cit.carried) == ("Appendix.pdf", True)
    (_, q) = two(text)
    assert q.label == "hallucinated" and q.reason.startswith(
        "appendix.pdf (named in an earlier sentence): not on p. 2")


def test_a_citation_naming_its_own_document_keeps_it():
    text = f"report.pdf covers staffing. Page 2 of appendix.pdf says {QUOTE}."
    (cit,) = parse_page_citations(text, names=("report.pdf", "appendix.pdf"))
    assert (cit.document, cit.carried) == ("appendix.pdf", False)


def test_a_file_the_record_does_not_carry_is_not_carried():
    # several documents: read as naming none, as before
    (_, q) = two(f"chart.png shows staffing. Page 2 says {QUOTE}.")
    assert q.label == "unverifiable" and "does not name which" in q.reason
    # one document: checked in it, as before
    doc = FakeDocument({1: "Intro.", 2: "Staff grew to 185 people."}, "report.pdf")
    (_, q) = check_pages(record(f"chart.png shows staffing. Page 2 says {QUOTE}."), doc)
    assert q.label == "supported"


# -- from the command line -------------------------------------------------------------------

def run_cli(tmp_path, lines, pages):
    pytest.importorskip("pypdfium2")
    from typer.testing import CliRunner

    from halluscope.cli import app
    make_pdf(tmp_path / "report.pdf", pages)
    make_pdf(tmp_path / "appendix.pdf", [["Table A1 lists every site."],
                                         ["Currency risk remains."]])
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"task": "document", **r}) + "\n" for r in lines))
    got = CliRunner().invoke(app, ["audit", str(src), "--metric", "page", "--out",
                                   str(tmp_path / "out"), "--bootstrap", "0"])
    assert got.exit_code in (0, 1), got.output
    items = {i["id"]: i for i in map(json.loads, (tmp_path / "out/items.jsonl").open())}
    return items, (tmp_path / "out/report.html").read_text()


def test_cli_audit_reads_ff_pg_and_a_carried_document(tmp_path):
    pages = [["Revenue reached 4,210 units in 2023."], ["Staff grew to 185 people."],
             ["Supply costs rose by 7.5% this year."]]
    two_docs = ["report.pdf", "appendix.pdf"]
    items, _ = run_cli(tmp_path, [
        {"id": "ff", "document": "report.pdf",
         "response": 'See p. 1 ff. "Supply costs rose by 7.5%".'},
        {"id": "pg", "document": "report.pdf", "response": 'pg 2 says "Staff grew to 185".'},
        {"id": "carry", "document": two_docs,
         "response": 'report.pdf covers staffing. On page 2 it says "Staff grew to 185".'},
        {"id": "nocarry", "document": two_docs,
         "response": 'report.pdf covers staffing. appendix.pdf covers sites. Page 2 says '
                     '"Staff grew to 185".'}], pages)

    def quote(i):
        return next(c for c in items[i]["claims"] if c.get("quote"))
    assert (quote("ff")["verdict"], quote("ff")["reason"]) == (
        "supported", "found on page 3 (exact match); p. 1 ff. read as pages 1-3, to the end "
                     "of the document")
    assert quote("pg")["verdict"] == "supported"
    assert quote("carry")["verdict"] == "supported"
    assert quote("carry")["reason"].startswith("report.pdf (named in an earlier sentence)")
    assert quote("nocarry")["verdict"] == "unverifiable"


# -- report.html: the page a quote is on, coloured as its verdict ----------------------------

def test_a_quote_found_off_its_blank_cited_page_is_not_drawn_as_hallucinated(tmp_path):
    pages = [["Intro."], ["Currency risk remains."], []]
    items, html = run_cli(tmp_path, [
        {"id": "blank", "document": "report.pdf",
         "response": 'Page 3 says "Currency risk remains".'},
        {"id": "wrong", "document": "report.pdf",
         "response": 'Page 1 says "Currency risk remains".'}], pages)
    (_, q) = items["blank"]["claims"]
    assert q["verdict"] == "unverifiable"
    (_, q) = items["wrong"]["claims"]
    assert q["verdict"] == "hallucinated"
    figures = re.findall(r'<figure class="page p-(\w+)".*?</figure>', html, re.S)
    captions = re.findall(r'<figure class="page p-(\w+)".*?<figcaption>(.*?)</figcaption>',
                          html, re.S)
    assert figures and captions
    shown = [(status, " ".join(re.sub(r"<[^>]+>", " ", cap).split())) for status, cap
             in captions if "not cited, but the quote is here" in cap]
    assert ("neutral", "p. 2 not cited, but the quote is here (the cited page has no text to "
                       "check)") in [(s, c[:len("p. 2 not cited, but the quote is here (the "
                                               "cited page has no text to check)")])
                                     for s, c in shown]
    assert any(s == "hallucinated" and c.startswith("p. 2 not cited, but the quote is here")
               and "no text" not in c for s, c in shown)
    assert "could not read the cited page; on p. 2" in html
