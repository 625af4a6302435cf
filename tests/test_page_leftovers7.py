"""Page grounding leftovers (7): which document a citation names when names stand on both
sides of it, page numbers in words past ninety-nine, where a quote not on its cited page is
shown to be, ``--cluster-by document`` and the report's link to a cited document.

Every expected value is worked out by hand from the texts in the test.
"""

from __future__ import annotations

import pytest

from halluscope.checks.pages import check_pages
from halluscope.claims.citations import parse_page_citations
from halluscope.evidence.documents import DocumentSet
from tests.test_page_documents import APPENDIX, REPORT, two_documents, verdicts
from tests.test_page_grounding import FakeDocument, record

NAMES = ("report.pdf", "appendix.pdf", "report", "appendix")


def named(text, names=NAMES):
    return [(c.pages, c.document, c.ambiguous) for c in parse_page_citations(text, names=names)]


# -- 1. the name a reader binds to the citation ----------------------------------------------

@pytest.mark.parametrize("text,expected", [
    # a name joined by "of" after it binds tighter than a name framing the sentence before it
    ("In report.pdf, see p. 4 of appendix.pdf.", [((4,), "appendix.pdf", ())]),
    # a framing name alone is the citation's (it named none: unverifiable in several)
    ("In report.pdf, see p. 4.", [((4,), "report.pdf", ())]),
    ("According to report.pdf, revenue rose 5% (p. 4).", [((4,), "report.pdf", ())]),
    ("report.pdf says on p. 4 that revenue rose.", [((4,), "report.pdf", ())]),
    # a name bound to one citation carries on to the next ones of its sentence
    ("report.pdf p. 3 and p. 4 say so.", [((3,), "report.pdf", ()), ((4,), "report.pdf", ())]),
    ("p. 2 of report.pdf and p. 5 agree.",
     [((2,), "report.pdf", ()), ((5,), "report.pdf", ())]),
    ("In report.pdf, p. 3 and appendix.pdf p. 1 and p. 2.",
     [((3,), "report.pdf", ()), ((1,), "appendix.pdf", ()), ((2,), "appendix.pdf", ())]),
    # a name right before the next citation is that one's: "in appendix.pdf p. 1" was read
    # as p. 3's document
    ("report.pdf p. 3, in appendix.pdf p. 1.",
     [((3,), "report.pdf", ()), ((1,), "appendix.pdf", ())]),
    # ambiguous: a name bound as tightly on each side
    ("report.pdf, p. 4 of appendix.pdf says so.", [((4,), None, ("report.pdf", "appendix.pdf"))]),
    ("(report, p. 3 of the appendix)", [((3,), None, ("report", "appendix"))]),
    # the same name on both sides is no ambiguity
    ("report.pdf p. 4 of report.pdf says so.", [((4,), "report.pdf", ())]),
    # not framing: a name in passing, a record's name that reads as a word
    ("Unlike report.pdf, the text on p. 4 says so.", [((4,), None, ())]),
    ("Revenue in report terms rose 5% (p. 3).", [((3,), None, ())]),
    ("In the appendix, page 2 lists it.", [((2,), "appendix", ())]),
])
def test_the_document_a_reader_binds_to_a_citation(text, expected):
    assert named(text) == expected


def test_an_ambiguous_citation_is_checked_in_neither_document():
    why = ("cites p. 2 between two documents, report.pdf before it and appendix.pdf after it; "
           "the citation does not say which")
    assert verdicts('report.pdf, p. 2 of appendix.pdf says "Currency risk remains".') == [
        ("page-exists", 2, "unverifiable", why),
        ("page-quote", 2, "unverifiable", why + "; the quote is found in appendix.pdf on page 2")]


def test_two_names_of_one_document_around_a_citation_are_that_document():
    docs = DocumentSet({"annual": FakeDocument(REPORT, "files/report.pdf"),
                        "appendix": FakeDocument(APPENDIX, "appendix.pdf")})
    got = verdicts('annual, p. 3 of report.pdf says "rose by 7.5%".', docs)
    assert got == [("page-exists", 3, "supported", "annual: page 3 exists (3 pages)"),
                   ("page-quote", 3, "supported", "annual: found on page 3 (exact match)")]


def test_a_framing_name_and_a_bound_one_check_where_a_reader_looks():
    got = verdicts('In report.pdf, see p. 2 of appendix.pdf: "Currency risk remains". '
                   'In report.pdf, see p. 3: "rose by 7.5%".')
    assert [g[2:] for g in got] == [
        ("supported", "appendix.pdf: page 2 exists (2 pages)"),
        ("supported", "appendix.pdf: found on page 2 (exact match)"),
        ("supported", "report.pdf: page 3 exists (3 pages)"),
        ("supported", "report.pdf: found on page 3 (exact match)")]


def test_one_document_record_with_another_name_beside_its_own_is_unverifiable():
    doc = FakeDocument(REPORT, "report.pdf")
    (v,) = check_pages(record("report.pdf, p. 2 of appendix.pdf."), doc)
    assert (v.label, v.reason) == ("unverifiable", "cites p. 2 between two documents, "
                                   "report.pdf before it and appendix.pdf after it; the "
                                   "citation does not say which")


# -- 2. page numbers in words past ninety-nine ------------------------------------------------

def pages_of(text):
    return [c.pages for c in parse_page_citations(text)]


@pytest.mark.parametrize("text,expected", [
    ("It is on page one hundred and two.", [(102,)]),
    ("It is on page one hundred two.", [(102,)]),
    ("It is on page one hundred.", [(100,)]),
    ("It is on page one hundred and twenty-one.", [(121,)]),
    ("It is on page One Hundred-Two.", [(102,)]),
    ("It is on page twelve hundred.", [(1200,)]),
    ("It is on page two thousand and five.", [(2005,)]),
    ("It is on page two thousand one hundred.", [(2100,)]),
    ("It is on page three thousand four hundred fifty-six.", [(3456,)]),
    ("It is on page nine thousand nine hundred and ninety-nine.", [(9999,)]),
    ("See pages one hundred and two and one hundred and three.", [(102, 103)]),
    ("See pages ninety-nine to one hundred and one.", [(99, 100, 101)]),
    # "and" that goes on to no number ends the number before it
    ("See page one hundred and the appendix.", [(100,)]),
    # past the words read, never read in part: no page ten, two, nor 2,000
    ("It is on page ten thousand.", []),
    ("It is on page two million.", []),
    ("It is on page two thousand thousand.", []),
    ("It is on page twenty hundred.", []),
])
def test_page_numbers_in_words_up_to_thousands(text, expected):
    assert pages_of(text) == expected


@pytest.mark.parametrize("response", [
    'Page one hundred and two says "Supply costs rose by 7.5%".',          # a number in words
    'On the one hundred and second page: "Supply costs rose by 7.5%".',    # an ordinal
])
def test_a_quote_on_a_page_cited_in_words_past_a_hundred_is_checked_there(response):
    pages = {n: f"Filler text of page {n}." for n in range(1, 121)}
    pages[102] = "Supply costs rose by 7.5% this year."
    got = [(v.claim.value, v.label, v.reason) for v in check_pages(
        record(response), FakeDocument(pages, "report.pdf"))]
    assert got == [(102, "supported", "page 102 exists (120 pages)"),
                   (102, "supported", "found on page 102 (exact match)")]


# -- 4. --cluster-by document ------------------------------------------------------------------

def test_cluster_by_document_keys_the_documents_whatever_image_a_record_names():
    from halluscope.metrics.units import unit_of
    from halluscope.records import record_from_dict

    def unit(**fields):
        rec = record_from_dict({"id": "a", "response": "x", **fields}, file="in.jsonl", line=1)
        return unit_of(rec, "document"), unit_of(rec, "image")
    # the image id clusters by default; the document alone with --cluster-by document
    assert unit(image_id=7, document="report.pdf") == ("image:report.pdf", "image:7")
    assert unit(image="p1.png", document=["b.pdf", "a.pdf"])[0] == \
        unit(image="p2.png", document={"x": "a.pdf", "y": "b.pdf"})[0] == \
        'documents:["a.pdf", "b.pdf"]'
    # a record without a document is its own unit
    assert unit(image_id=7) == ("item:a|", "image:7")


def test_cluster_by_document_without_documents_is_a_usage_error(tmp_path):
    from halluscope.api import audit
    from halluscope.errors import ConfigError
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "image": "x.png", "caption": "a cat"}\n')
    with pytest.raises(ConfigError, match="--cluster-by document: none of the first 1 records "
                                          "carries a document"):
        audit(path, metrics="page", cluster_by="document")


def test_cluster_by_document_gives_the_same_results_in_two_workers(tmp_path):
    pytest.importorskip("pypdfium2")
    import json

    from halluscope.api import audit
    from tests.test_page_grounding import make_pdf
    for k in range(12):
        make_pdf(tmp_path / f"d{k}.pdf", [[f"Revenue reached {k + 1},210 units."],
                                           [f"Staff grew to {k + 100} people."]])
    lines = []
    for i in range(48):      # 4 questions per document, each on one of 3 page images
        k = i % 12
        quote = f"Staff grew to {k + 100} people" if i % 3 else "Staff shrank"
        lines.append({"id": f"q{i}", "task": "document", "image_id": i % 3,
                      "document": f"d{k}.pdf", "response": f'p. 2 says "{quote}".'})
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    got = {}
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        res = audit(path, metrics="page", cluster_by="document", workers=workers, out=out,
                    write_report=False)
        got[workers] = (json.loads((out / "results.json").read_text())["metrics"],
                        (out / "items.jsonl").read_text())
        r = res.metrics["page"].results["quote_support_rate"]
        assert (r.value, r.n) == (32 / 48, 48) and r.ci is not None
    assert got[1] == got[2]
    boot = got[1][0]["page"]["info"]["bootstrap"]
    assert (boot["cluster_by"], boot["clusters"]) == ("document", 12)


# -- 3. where a quote not on its cited page is ---------------------------------------------------

def test_a_quote_on_no_page_of_its_document_is_shown_where_another_document_holds_it():
    (page, quote) = check_pages(record('report.pdf p. 1 says "Currency risk remains".'),
                                two_documents())
    assert (quote.label, quote.reason) == (
        "hallucinated", "report.pdf: not on p. 1 nor anywhere in the document; found in "
                        "appendix.pdf on page 2")
    assert quote.evidence[0].payload == {
        "found_on": [], "found_in_documents": {"appendix.pdf": [2]},
        "found_elsewhere": [{"document": "appendix.pdf", "page": 2, "found":
                             "Currency risk remains", "match": "exact", "char_span": [0, 21]}]}
    # a quote in no document says so as before; in its own document, its pages there alone
    (_, nowhere) = check_pages(record('report.pdf p. 1 says "Nothing like it".'),
                               two_documents())
    assert nowhere.reason == "report.pdf: not on p. 1 nor anywhere in the document"
    (_, own) = check_pages(record('report.pdf p. 1 says "Staff grew".'), two_documents())
    assert own.reason == "report.pdf: not on p. 1; found on page 2"
    assert "found_in_documents" not in own.evidence[0].payload


def test_one_document_records_are_not_searched_further():
    (_, q) = check_pages(record('p. 1 says "Currency risk remains".'),
                         FakeDocument(REPORT, "report.pdf"))
    assert q.reason == "not on p. 1 nor anywhere in the document"


def pdf_audit(tmp_path, lines, **kw):
    pytest.importorskip("pypdfium2")
    import json

    from halluscope.api import audit
    from tests.test_page_grounding import make_pdf
    (tmp_path / "docs").mkdir()
    make_pdf(tmp_path / "docs" / "report.pdf", [[REPORT[1]], [REPORT[2]], [REPORT[3]]])
    make_pdf(tmp_path / "docs" / "appendix.pdf", [[APPENDIX[1]], [APPENDIX[2]]])
    path = tmp_path / "docs" / "in.jsonl"
    path.write_text("".join(json.dumps({"task": "document", **r}) + "\n" for r in lines))
    audit(path, metrics="page", n_boot=0, out=tmp_path / "out", **kw)
    items = {i["id"]: i for i in map(json.loads, (tmp_path / "out/items.jsonl").open())}
    return items, (tmp_path / "out/report.html").read_text()


def test_items_and_report_show_where_a_quote_not_on_its_page_is(tmp_path):
    two = ["report.pdf", "appendix.pdf"]
    items, html = pdf_audit(tmp_path, [
        {"id": "page", "document": "report.pdf",
         "response": 'p. 1 says "Supply costs rose by 7.5%" <script>x</script>.'},
        {"id": "doc", "document": two,
         "response": 'report.pdf p. 1 says "Currency risk remains".'}])
    # items.jsonl: boxes where the quote is, marked as not cited
    (h,) = items["page"]["page"]["highlights"]
    assert (h["page"], h["cited"], h["quote"]) == (3, False, "Supply costs rose by 7.5%")
    assert h["boxes"] and "document" not in h
    (h,) = items["doc"]["page"]["highlights"]
    assert (h["document"], h["page"], h["cited"]) == ("appendix.pdf", 2, False) and h["boxes"]
    # the report: the page it is on drawn, linked, named; the model's text escaped
    assert "p. 3 not cited, but the quote is here" in html
    assert "not in the cited document; in appendix.pdf on p. 2" in html
    assert "appendix.pdf p. 2: not the document cited, but the quote is here" in html
    assert '<span class="mono">appendix.pdf</span> p. 2, where it was found' in html
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


# -- 5. the report links the cited document --------------------------------------------------------

def test_report_links_each_cited_document_and_page_relative_to_it(tmp_path):
    items, html = pdf_audit(tmp_path, [
        {"id": "one", "document": "report.pdf", "response": 'p. 2 says "Staff grew". See p. 9.'},
        {"id": "two", "document": ["report.pdf", "appendix.pdf"],
         "response": 'appendix.pdf p. 2 says "Currency risk remains".'}])
    assert '<a class="mono" href="../docs/report.pdf"' in html
    assert '<a class="mono" href="../docs/appendix.pdf"' in html
    assert 'href="../docs/report.pdf#page=2"' in html          # the cited page
    assert 'href="../docs/appendix.pdf#page=2"' in html
    assert "report.pdf#page=9" not in html                       # a page that does not exist


def test_document_links_are_relative_encoded_and_absent_when_unknown(tmp_path):
    from halluscope.report.citations import document_href
    from halluscope.report.itemview import ImageStore
    store = ImageStore(link_base=tmp_path / "out")
    pdf = FakeDocument(REPORT, "r.pdf")
    pdf.pdf_path = tmp_path / "in" / "my report #1.pdf"
    assert document_href(pdf, store) == "../in/my%20report%20%231.pdf"
    assert document_href(pdf, store, 3) == "../in/my%20report%20%231.pdf#page=3"
    scans = FakeDocument(REPORT, "scans")
    scans.pdf_path, scans.images = None, [tmp_path / "s1.png", tmp_path / "s2.png"]
    assert document_href(scans, store, 2) == "../s2.png"
    assert document_href(scans, store) == "" and document_href(scans, store, 5) == ""
    assert document_href("document not found locally", store) == ""
    assert document_href(pdf, ImageStore()) == ""                # a report not in a file


# -- ordinals in words past ninety-ninth, to the cardinals' 9,999 ------------------------------

@pytest.mark.parametrize("text,expected", [
    ("It is on the one hundred and second page.", [(102,)]),
    ("It is on the one hundred second page.", [(102,)]),
    ("It is on the hundredth page.", [(100,)]),
    ("It is on the one hundredth page.", [(100,)]),
    ("It is on the two hundredth page.", [(200,)]),
    ("It is on the twelve hundredth page.", [(1200,)]),
    ("The one hundred twenty-first page says so.", [(121,)]),
    ("It is on the One Hundred-Second page.", [(102,)]),
    ("(see the two thousand and fifth page)", [(2005,)]),
    ("It is on the thousandth page.", [(1000,)]),
    ("It is on the two thousand one hundredth page.", [(2100,)]),
    ("It is on the three thousand four hundred fifty-sixth page.", [(3456,)]),
    ("It is on the nine thousand nine hundred and ninety-ninth page.", [(9999,)]),
    ("It is on the ninety-ninth page.", [(99,)]),
    ("It is on the first page of the report.", [(1,)]),
    # past the range, or no number: never read in part
    ("It is on the ten thousandth page.", []),
    ("It is on the twenty hundredth page.", []),
    ("It is on the twenty-eleventh page.", []),
    ("It is on the one hundred and second page of results.", []),
])
def test_ordinals_in_words_up_to_thousands(text, expected):
    assert pages_of(text) == expected
