"""Several documents per record: a list of PDFs (or a mapping name -> document) in
``document``, each citation checked in the document it names by file name, a citation that
names none unverifiable when the record carries several (never guessed).

Every expected value is worked out by hand from the texts in the test.
"""

from __future__ import annotations

import json

import pytest

from halluscope.checks.pages import check_pages
from halluscope.errors import ConfigError
from halluscope.evidence.documents import DocumentSet
from halluscope.records import document_source
from tests.test_page_grounding import FakeDocument, make_pdf, record
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402

REPORT = {1: "Revenue reached 4,210 units in 2023.", 2: "Staff grew to 185 people.",
          3: "Supply costs rose by 7.5% this year."}
APPENDIX = {1: "Table A1 lists every site.", 2: "Currency risk remains."}


def two_documents():
    return DocumentSet({"report.pdf": FakeDocument(REPORT, "report.pdf"),
                        "appendix.pdf": FakeDocument(APPENDIX, "appendix.pdf")})


def verdicts(response, documents=None):
    return [(v.checker, v.claim.value, v.label, v.reason)
            for v in check_pages(record(response), documents or two_documents())]


# -- what 'document' names -----------------------------------------------------------------------

def test_a_list_of_pdfs_is_several_documents_named_by_their_file_names(tmp_path):
    got = document_source(["docs/report.pdf", "appendix.pdf"], tmp_path)
    assert got == {"report.pdf": str(tmp_path / "docs/report.pdf"),
                   "appendix.pdf": str(tmp_path / "appendix.pdf")}


def test_a_mapping_of_names_is_several_documents_and_a_list_of_images_stays_one(tmp_path):
    got = document_source({"report": "r-2024.pdf", "scan": ["s1.png", "s2.png"]}, tmp_path)
    assert got == {"report": str(tmp_path / "r-2024.pdf"),
                   "scan": [str(tmp_path / "s1.png"), str(tmp_path / "s2.png")]}
    # one document's forms read as before
    assert document_source(["p1.png", "p2.png"], None) == ["p1.png", "p2.png"]
    assert document_source({"pdf": "report.pdf"}, None) == "report.pdf"
    assert document_source("report.pdf", None) == "report.pdf"


@pytest.mark.parametrize("value,says", [
    (["a/report.pdf", "b/Report.pdf"], "got Report.pdf twice"),
    (["report.pdf", "scan.png", "appendix.pdf"], "got 2 PDFs and 1 other entries"),
    ({"report": {"pdf": "r.pdf"}}, "for the document 'report'"),
    ({"report": ["a.pdf", "b.pdf"]}, "got 2 PDFs in ['a.pdf', 'b.pdf']"),
])
def test_several_documents_that_cannot_be_told_apart_or_read_are_refused(value, says):
    with pytest.raises(ConfigError) as e:
        document_source(value, None)
    assert says in str(e.value)


# -- each citation in its own document ---------------------------------------------------------

def test_each_named_citation_is_checked_in_the_document_it_names():
    got = verdicts('appendix.pdf p. 2 says "Currency risk remains", and report.pdf p. 2 says '
                   '"Staff grew to 185 people".')
    assert got == [
        ("page-exists", 2, "supported", "appendix.pdf: page 2 exists (2 pages)"),
        ("page-quote", 2, "supported", "appendix.pdf: found on page 2 (exact match)"),
        ("page-exists", 2, "supported", "report.pdf: page 2 exists (3 pages)"),
        ("page-quote", 2, "supported", "report.pdf: found on page 2 (exact match)")]


def test_page_existence_is_per_document():
    # report.pdf has a page 3; appendix.pdf (2 pages) has none
    got = verdicts("See p. 3 of report.pdf and p. 3 of appendix.pdf.")
    assert got == [("page-exists", 3, "supported", "report.pdf: page 3 exists (3 pages)"),
                   ("page-exists", 3, "hallucinated",
                    "appendix.pdf: page 3 does not exist: appendix.pdf has 2 pages")]


def test_a_quote_in_the_other_document_is_not_found_in_the_one_cited():
    got = verdicts('appendix.pdf p. 1 says "Staff grew to 185 people".')
    assert got[1] == ("page-quote", 1, "hallucinated",
                      "appendix.pdf: not on p. 1 nor anywhere in the document; found in "
                      "report.pdf on page 2")


def test_an_unnamed_citation_is_ambiguous_when_the_record_carries_several():
    why = ("cites p. 3 but the record carries report.pdf and appendix.pdf; the citation "
           "does not name which")
    assert verdicts('Costs "rose by 7.5%" (p. 3).') == [
        ("page-exists", 3, "unverifiable", why),
        ("page-quote", 3, "unverifiable", why + "; the quote is found in report.pdf on page 3")]


def test_a_citation_of_a_file_not_carried_is_unverifiable_naming_those_carried():
    (v,) = verdicts("See c.pdf p. 1.")
    assert v == ("page-exists", 1, "unverifiable",
                 "cites c.pdf, which the record does not carry (it carries report.pdf and "
                 "appendix.pdf)")


def test_a_mapping_name_or_its_files_name_picks_the_document():
    docs = DocumentSet({"annex": FakeDocument(APPENDIX, "files/appendix-v2.pdf")})
    # one document in the set: an unnamed citation is checked in it
    assert verdicts("See p. 2.", docs)[0][2:] == ("supported", "annex: page 2 exists (2 pages)")
    assert verdicts("See annex p. 2.", docs)[0][2] == "supported"    # no extension: no file
    assert verdicts("See p. 2 of appendix-v2.pdf.", docs)[0][2] == "supported"


# -- end to end, as a user runs it ---------------------------------------------------------------

def test_audit_checks_each_citation_in_its_own_pdf_and_reports_it(tmp_path):
    pytest.importorskip("pypdfium2")
    from halluscope.api import audit
    make_pdf(tmp_path / "report.pdf", [[REPORT[1]], [REPORT[2]], [REPORT[3]]])
    make_pdf(tmp_path / "appendix.pdf", [[APPENDIX[1]], [APPENDIX[2]]])
    two = ["report.pdf", "appendix.pdf"]
    lines = [
        {"id": "both", "document": two, "task": "document",
         "response": 'report.pdf p. 3 says "costs rose by 7.5%"; appendix.pdf p. 2 says '
                     '"Currency risk remains".'},
        {"id": "fab", "document": two, "task": "document",
         "response": 'appendix.pdf p. 3 says "Table A1 lists every site".'},
        {"id": "amb", "document": two, "task": "document",
         "response": '"Staff grew to 185 people" (p. 2).'},
        {"id": "one", "document": "report.pdf", "task": "document",
         "response": '"Staff grew to 185 people" (p. 2).'}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    res = audit(path, metrics="page", n_boot=0, out=tmp_path / "out")
    assert res.errors == []
    r = res.metrics["page"].results
    # quotes decided: both's two (found), fab's one (not on p. 3), one's one (found)
    assert (r["quote_support_rate"].value, r["quote_support_rate"].n) == (0.75, 4)
    items = {i["id"]: i for i in map(json.loads, (tmp_path / "out/items.jsonl").open())}
    both = items["both"]
    assert [c["document"] for c in both["claims"]] == ["report.pdf"] * 2 + ["appendix.pdf"] * 2
    assert [c["evidence"][0]["provenance"]["document"] for c in both["claims"]] == \
        ["report.pdf"] * 2 + ["appendix.pdf"] * 2
    page = both["page"]
    assert page["documents"] == {"report.pdf": 3, "appendix.pdf": 2}
    assert [c["document"] for c in page["citations"]] == ["report.pdf", "appendix.pdf"]
    assert [(h["document"], h["page"]) for h in page["highlights"]] == \
        [("report.pdf", 3), ("appendix.pdf", 2)]
    assert all(h["boxes"] for h in page["highlights"])
    # p. 3 of appendix.pdf does not exist; its quote is on its page 1
    assert [(c["verdict"], c["reason"]) for c in items["fab"]["claims"]] == [
        ("hallucinated", "appendix.pdf: page 3 does not exist: appendix.pdf has 2 pages"),
        ("hallucinated", "appendix.pdf: not on p. 3; found on page 1")]
    assert [c["verdict"] for c in items["amb"]["claims"]] == ["unverifiable"] * 2
    assert items["amb"]["claims"][0]["document"] is None
    # one document: as before, no per-claim document
    assert "document" not in items["one"]["claims"][0] and "documents" not in items["one"]["page"]
    html = (tmp_path / "out/report.html").read_text()
    assert 'pages cited in <a class="mono" href="../appendix.pdf"' in html


def test_a_json_citation_names_its_document_in_its_document_field():
    got = verdicts('[{"document": "appendix.pdf", "page": 2, "quote": "Currency risk remains"},'
                   ' {"document": "report.pdf", "page": 2, "quote": "Currency risk remains"}]')
    assert [g[2:] for g in got if g[0] == "page-quote"] == [
        ("supported", "appendix.pdf: found on page 2 (exact match)"),
        ("hallucinated", "report.pdf: not on p. 2 nor anywhere in the document; found in "
                         "appendix.pdf on page 2")]


def test_audit_lists_a_record_with_one_of_its_documents_missing_as_bad(tmp_path):
    pytest.importorskip("pypdfium2")
    from halluscope.api import audit
    make_pdf(tmp_path / "report.pdf", [[REPORT[1]]])
    lines = [{"id": "gone", "task": "document", "document": ["report.pdf", "gone.pdf"],
              "response": 'report.pdf p. 1 says "Revenue reached".'}]
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(lines[0]) + "\n")
    res = audit(path, metrics="page", n_boot=0, out=tmp_path / "out")
    (err,) = res.errors
    assert (err["line"], err["field"]) == (1, "document") and "gone.pdf" in err["message"]
