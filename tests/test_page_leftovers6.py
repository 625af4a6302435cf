"""Page grounding leftovers, sixth round: citations that name a record's document by its name
in the record (a mapping's key) or its file's stem, page citations in ordinals, and possessives
inside single-quoted quotes.

Every expected value is worked out by hand from the texts in the test.
"""

from __future__ import annotations

import json

import pytest

from halluscope.checks.pages import check_pages
from halluscope.claims.citations import parse_page_citations
from halluscope.evidence.documents import DocumentSet
from tests.test_page_grounding import FakeDocument, make_pdf, record
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402

REPORT = {1: "Revenue reached 4,210 units in 2023.", 2: "Staff grew to 185 people.",
          3: "Supply costs rose by 7.5% this year."}
APPENDIX = {1: "Table A1 lists every site.", 2: "Currency risk remains."}


def named_set():
    return DocumentSet({"annual": FakeDocument(REPORT, "files/r-2024.pdf"),
                        "appendix": FakeDocument(APPENDIX, "files/b.pdf")})


def verdicts(response, documents=None):
    return [(v.checker, v.claim.value, v.label, v.reason)
            for v in check_pages(record(response), documents or named_set())]


# -- 1. a citation names its document by the record's name for it ------------------------------

@pytest.mark.parametrize("text,expected", [
    ('annual p. 1 says "Revenue reached 4,210 units".', [((1,), "annual")]),
    ('Annual, page 2: "Staff grew".', [((2,), "Annual")]),
    ('See p. 2 of the appendix: "Currency risk remains".', [((2,), "appendix")]),
    ('It says "Currency risk remains" (appendix, p. 2).', [((2,), "appendix")]),
    ('In the Appendix on page 1, "Table A1".', [((1,), "Appendix")]),
    ('r-2024 p. 3 says "costs rose".', [((3,), "r-2024")]),
    # a file name is read as before, a name's longer file name is not cut to the name
    ('annual.pdf p. 1 says "x".', [((1,), "annual.pdf")]),
    # a name not next to the citation names nothing
    ("The annual figures are on p. 3.", [((3,), None)]),
    ("The appendixes are on p. 3.", [((3,), None)]),
])
def test_a_citation_names_its_document_by_its_name_in_the_record(text, expected):
    names = ("annual", "appendix", "r-2024")
    assert [(c.pages, c.document) for c in parse_page_citations(text, names=names)] == expected
    if all(d is None or d.endswith(".pdf") for _, d in expected):
        return
    # without the names: no document named (as before)
    assert all(c.document is None for c in parse_page_citations(text))


def test_a_mapping_key_or_file_stem_picks_the_document():
    got = verdicts('annual p. 1 says "Revenue reached 4,210 units", and p. 2 of the appendix '
                   'says "Currency risk remains".')
    assert [g[2:] for g in got] == [
        ("supported", "annual: page 1 exists (3 pages)"),
        ("supported", "annual: found on page 1 (exact match)"),
        ("supported", "appendix: page 2 exists (2 pages)"),
        ("supported", "appendix: found on page 2 (exact match)")]
    # the PDF's stem, any case; the name in brackets with the page
    assert [g[2] for g in verdicts('R-2024 p. 3 says "costs rose by 7.5%".')] == \
        ["supported", "supported"]
    assert verdicts('It says "Currency risk remains" (Appendix, p. 1).')[1][2:] == \
        ("hallucinated", "appendix: not on p. 1; found on page 2")


def test_a_name_that_names_two_documents_is_unverifiable():
    docs = DocumentSet({"report": FakeDocument(REPORT, "r.pdf"),
                        "annex": FakeDocument(APPENDIX, "report.pdf")})
    why = ("cites report, which names two of the record's documents (report, and annex by its "
           "file report.pdf); the citation does not say which")
    assert verdicts("See report p. 1.", docs) == [("page-exists", 1, "unverifiable", why)]
    # the whole file name is one document's
    assert verdicts("See report.pdf p. 2.", docs)[0][2:] == \
        ("supported", "annex: page 2 exists (2 pages)")


def test_a_json_citation_names_its_document_by_its_name():
    got = verdicts('[{"document": "Appendix", "page": 2, "quote": "Currency risk remains"}]')
    assert [g[2:] for g in got if g[0] == "page-quote"] == [
        ("supported", "appendix: found on page 2 (exact match)")]


def test_audit_checks_citations_naming_a_mappings_keys(tmp_path):
    pytest.importorskip("pypdfium2")
    from halluscope.api import audit
    make_pdf(tmp_path / "a.pdf", [[REPORT[1]], [REPORT[2]]])
    make_pdf(tmp_path / "b.pdf", [[APPENDIX[1]], [APPENDIX[2]]])
    row = {"id": "m", "task": "document", "document": {"annual": "a.pdf", "appendix": "b.pdf"},
           "response": 'Annual p. 1 says "Revenue reached 4,210 units". See p. 3 of the '
                       'appendix. It says "Currency risk remains" (appendix, p. 2).'}
    (tmp_path / "in.jsonl").write_text(json.dumps(row) + "\n")
    res = audit(tmp_path / "in.jsonl", metrics="page", n_boot=0, out=tmp_path / "out")
    assert res.errors == []
    (item,) = map(json.loads, (tmp_path / "out/items.jsonl").open())
    assert [(c["document"], c["verdict"]) for c in item["claims"]] == [
        ("annual", "supported"), ("annual", "supported"),        # p. 1 exists, quote on it
        ("appendix", "hallucinated"),                            # appendix p. 3: none
        ("appendix", "supported"), ("appendix", "supported")]    # p. 2, quote on it


# -- 2. ordinals and number words above twenty ----------------------------------------------------

def cited(text):
    return [(c.pages, [q.text for q in c.quotes]) for c in parse_page_citations(text)]


@pytest.mark.parametrize("text,expected", [
    ('It says "Staff grew" on the second page.', [((2,), ["Staff grew"])]),
    ('On the 3rd page it says "Staff grew".', [((3,), ["Staff grew"])]),
    ('The first page says "Staff grew".', [((1,), ["Staff grew"])]),
    ('It says "Staff grew" (first page).', [((1,), ["Staff grew"])]),
    ('It says "Staff grew" (see the twenty-first page).', [((21,), ["Staff grew"])]),
    ('In the 22nd page of the report, "Staff grew".', [((22,), ["Staff grew"])]),
    ('It says "Staff grew" on page twenty-one.', [((21,), ["Staff grew"])]),
    ('It says "Staff grew" on page forty two.', [((42,), ["Staff grew"])]),
    ('It says "Staff grew" on pages twenty and thirty.', [((20, 30), ["Staff grew"])]),
    # not page citations
    ("The first page of results was empty.", []),
    ("On the first page of results it ranked third.", []),
    ("It was the first page I read.", []),
    ("Click the second page link.", []),
    ("A 2nd page was added later.", []),
    ("The book has one hundred pages.", []),
    # (page one hundred is page 100, not page one: tests/test_page_leftovers7.py)
    ("It was on page one hundred of the draft.", [((100,), [])]),
])
def test_ordinal_pages_and_number_words_above_twenty(text, expected):
    assert cited(text) == expected


def test_an_ordinal_citation_is_checked_and_names_its_document():
    pages = {1: "Intro.", 2: "Staff grew to 185 people."}
    (v,) = [v for v in check_pages(record('On the second page it says "Staff grew to 185".'),
                                   FakeDocument(pages)) if v.checker == "page-quote"]
    assert (v.label, v.claim.value) == ("supported", 2)
    got = verdicts('On the second page of the appendix, "Currency risk remains".')
    assert [g[2:] for g in got] == [("supported", "appendix: page 2 exists (2 pages)"),
                                    ("supported", "appendix: found on page 2 (exact match)")]


# -- 3. several plural possessives inside a single-quoted quote -----------------------------------

@pytest.mark.parametrize("text,expected", [
    ("It says 'the models' answers and the users' data' (p. 2).",
     [((2,), ["the models' answers and the users' data"])]),
    ("It says \u2018the models\u2019 answers and the users\u2019 data\u2019 (p. 2).",
     [((2,), ["the models\u2019 answers and the users\u2019 data"])]),
    # still two quotes, or one short one, where no later mark closes the longer reading
    ("It reads 'profits' on p. 2 and 'losses' on p. 3.",
     [((2,), ["profits"]), ((3,), ["losses"])]),
    ("It quotes 'rising costs' as the users' and the owners' main worry (p. 2).",
     [((2,), ["rising costs"])]),
    ("It quotes 'the costs' and the users' data and 'the risks' (p. 2).",
     [((2,), ["the costs", "the risks"])]),
])
def test_several_plural_possessives_inside_a_single_quoted_quote(text, expected):
    assert cited(text) == expected


def test_a_quote_with_two_plural_possessives_is_checked_whole():
    pages = {1: "Intro.", 2: "We kept the models' answers and the users' data apart."}
    (v,) = [v for v in check_pages(record("It says 'the models' answers and the users' data' "
                                          "(p. 2)."), FakeDocument(pages))
            if v.checker == "page-quote"]
    assert (v.label, v.claim.quote) == ("supported", "the models' answers and the users' data")


def test_audit_scores_a_record_whose_only_citation_names_a_key_after_an_ordinal(tmp_path):
    # 'of the annual' is a page of a document only by the record's name: the metric must
    # know the names when it asks whether the response cites a page (it was skipped)
    pytest.importorskip("pypdfium2")
    from halluscope.api import audit
    make_pdf(tmp_path / "a.pdf", [[REPORT[1]], [REPORT[2]]])
    make_pdf(tmp_path / "b.pdf", [[APPENDIX[1]], [APPENDIX[2]]])
    row = {"id": "o", "task": "document", "document": {"annual": "a.pdf", "appendix": "b.pdf"},
           "response": 'On the second page of the annual, "Staff grew to 185 people".'}
    (tmp_path / "in.jsonl").write_text(json.dumps(row) + "\n")
    res = audit(tmp_path / "in.jsonl", metrics="page", n_boot=0, out=tmp_path / "out")
    (item,) = map(json.loads, (tmp_path / "out/items.jsonl").open())
    assert [(c["document"], c["verdict"]) for c in item["claims"]] == [
        ("annual", "supported"), ("annual", "supported")]
    assert res.errors == []
