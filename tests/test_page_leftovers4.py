"""Page grounding leftovers, fourth round: a quote cited on one page that runs over three or
more, apostrophes inside single-quoted quotes, ``--cluster-by image`` over records of several
documents, and citation styles a user writes.

Every expected value is worked out by hand from the texts in the test.
"""

from __future__ import annotations

import pytest

from halluscope.checks.pages import check_pages
from tests.test_page_grounding import FakeDocument, record
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402

QUOTE = '"The committee approved the plan to open two new sites"'
# 'The committee approved the' ends page 1, 'plan to open' is all of page 2, 'two new sites'
# starts page 3
PAGES = {1: "Intro text here.\nThe committee approved the",
         2: "plan to open",
         3: "two new sites in the north.\nStaff grew.",
         4: "Nothing else."}


def quote_verdicts(response, pages=PAGES):
    return [v for v in check_pages(record(response), FakeDocument(pages))
            if v.checker == "page-quote"]


# -- 1. a quote over three or more pages, one of them cited --------------------------------------

@pytest.mark.parametrize("cite,note,uncited", [
    ("p. 1", "from the cited page 1 on to page 3", [2, 3]),
    ("p. 2", "begun on page 1 before the cited page 2 and running on to page 3", [1, 3]),
    ("p. 3", "begun on page 1 before the cited page 3", [1, 2]),
    ("pp. 1-2", "from the cited page 1 on to page 3", [3]),
    ("pp. 1, 3", "over page 2, not cited", [2]),
])
def test_a_quote_over_three_pages_one_cited_is_supported(cite, note, uncited):
    (v,) = quote_verdicts(f"It says {QUOTE} ({cite}).")
    assert v.label == "supported"
    assert v.reason == f"found across pages 1-3, {note} (exact match)"
    p = v.evidence[0].payload
    assert p["uncited_pages"] == uncited and p["pages"] == [1, 2, 3]
    # page 1: 'The committee approved the' is 17-43; page 2 whole (0-12); page 3: 0-13
    assert p["parts"] == [{"page": 1, "char_span": [17, 43]}, {"page": 2, "char_span": [0, 12]},
                          {"page": 3, "char_span": [0, 13]}]


def test_a_quote_over_three_pages_none_cited_is_found_elsewhere():
    (v,) = quote_verdicts(f"It says {QUOTE} (p. 4).")
    assert v.label == "hallucinated"
    assert v.reason == "not on p. 4; found on pages 1-3 (across the page breaks)"
    (other,) = v.evidence[0].payload["found_elsewhere"]
    assert other["pages"] == [1, 2, 3]


def test_a_page_between_that_is_not_all_quoted_breaks_the_quote():
    pages = {**PAGES, 2: "plan to open\nA table of costs."}
    (v,) = quote_verdicts(f"It says {QUOTE} (p. 1).", pages)
    assert v.reason == "not on p. 1 nor anywhere in the document"


def test_a_quote_over_five_pages_and_running_headers():
    head = "ACME Annual Report 2023\n"
    words = ["The board met", "twice in May", "and again in June", "to approve", "the budget."]
    pages = {k + 1: f"{head}{w}\nPage {k + 1} of 7" for k, w in enumerate(words)}
    pages[1] = f"{head}Minutes.\nThe board met\nPage 1 of 7"
    pages[5] = f"{head}the budget. Then lunch.\nPage 5 of 7"
    pages.update({6: f"{head}Notes.\nPage 6 of 7", 7: f"{head}End.\nPage 7 of 7"})
    quote = '"The board met twice in May and again in June to approve the budget"'
    (v,) = quote_verdicts(f"It says {quote} (p. 3).", pages)
    assert v.label == "supported"
    assert v.reason.startswith("found across pages 1-5, begun on page 1 before the cited page "
                               "3 and running on to page 5 (exact match; running header/footer "
                               "left out: 'Page 1 of 7', 'ACME Annual Report 2023', ")
    assert v.evidence[0].payload["uncited_pages"] == [1, 2, 4, 5]
    (v,) = quote_verdicts(f"It says {quote} (p. 7).", pages)
    assert v.reason == ("not on p. 7; found on pages 1-5 (across the page breaks, running "
                        "header/footer left out)")


def test_a_quote_over_more_pages_than_the_bound_is_not_looked_for():
    from halluscope.checks.page_search import MAX_SPAN
    pages = {k: f"w{k}" for k in range(1, MAX_SPAN + 3)}
    pages[MAX_SPAN + 2] = "the end"
    within = " ".join(f"w{k}" for k in range(1, MAX_SPAN + 1))
    beyond = " ".join(f"w{k}" for k in range(1, MAX_SPAN + 2))
    (ok,) = quote_verdicts(f'"{within}" (p. 1).', pages)
    assert (ok.label, ok.evidence[0].payload["pages"]) == ("supported",
                                                           list(range(1, MAX_SPAN + 1)))
    (bad,) = quote_verdicts(f'"{beyond}" (p. 1).', pages)
    assert bad.label == "hallucinated"


# -- 2. apostrophes inside single-quoted quotes ----------------------------------------------------

def cited(text):
    from halluscope.claims.citations import parse_page_citations
    return [(c.pages, [q.text for q in c.quotes]) for c in parse_page_citations(text)]


@pytest.mark.parametrize("text,expected", [
    # a plural possessive inside: the quotation closes at the later mark
    ("It says 'the models' answers were wrong' (p. 2).",
     [((2,), ["the models' answers were wrong"])]),
    ("It says \u2018the models\u2019 answers were wrong\u2019 (p. 2).",
     [((2,), ["the models\u2019 answers were wrong"])]),
    ("It calls it 'the Joneses' house' (p. 2).", [((2,), ["the Joneses' house"])]),
    ("'The authors' conclusion holds,' says p. 5.", [((5,), ["The authors' conclusion holds"])]),
    ("It says 'the committees' report was late' and that's it (p. 2).",
     [((2,), ["the committees' report was late"])]),
    # elisions inside
    ("It says 'rock 'n' roll is back' (p. 3).", [((3,), ["rock 'n' roll is back"])]),
    ("It says 'in the '90s sales grew' (p. 3).", [((3,), ["in the '90s sales grew"])]),
    # a quotation that ends on an s, then text: it closes there
    ("It reads 'profits' on p. 2 and 'losses' on p. 3.",
     [((2,), ["profits"]), ((3,), ["losses"])]),
    ("It quotes 'rising costs' as the users' main worry (p. 2).", [((2,), ["rising costs"])]),
    ("It names 'costs', 'risks' and 'plans' (p. 2).", [((2,), ["costs", "risks", "plans"])]),
    ("It quotes 'the analysts' and the board's view (p. 2).", [((2,), ["the analysts"])]),
    ("The summary says 'sales grew' (p. 2), but the authors' note disagrees.",
     [((2,), ["sales grew"])]),
    # the cases that already held
    ("It says 'the model's answer was wrong' (p. 2).",
     [((2,), ["the model's answer was wrong"])]),
    ('He wrote "she said \'the model\'s answer\' twice" (p. 1).',
     [((1,), ["she said 'the model's answer' twice"])]),
    ("It says 'O'Brien's team won' (p. 4).", [((4,), ["O'Brien's team won"])]),
])
def test_apostrophes_inside_single_quoted_quotes(text, expected):
    assert cited(text) == expected


def test_a_single_quoted_quote_with_a_plural_possessive_is_checked_whole():
    pages = {1: "Intro.", 2: "In the trial the models' answers were wrong twice."}
    (v,) = quote_verdicts("It says 'the models' answers were wrong' (p. 2).", pages)
    assert (v.label, v.claim.quote) == ("supported", "the models' answers were wrong")
    (v,) = quote_verdicts("It says 'the models' answers were right' (p. 2).", pages)
    assert (v.label, v.claim.quote) == ("hallucinated", "the models' answers were right")


# -- 3. --cluster-by image over records of several documents ----------------------------------------

def doc_record(document, id="d", file="/tmp/x.jsonl"):
    from halluscope.records import record_from_dict
    return record_from_dict({"id": id, "task": "document", "document": document,
                             "response": "p. 1"}, file=file, line=1)


@pytest.mark.parametrize("keys", [False, True])
def test_records_of_the_same_documents_share_a_cluster_and_of_others_do_not(keys):
    from halluscope.metrics.units import ImageKeys, unit_of
    images = ImageKeys() if keys else None

    def unit(document):
        return unit_of(doc_record(document), "image", None, images)
    both = unit(["a.pdf", "b.pdf"])
    assert both == 'documents:["a.pdf", "b.pdf"]'
    # the same files in another order, or under names, are the same documents
    assert unit(["b.pdf", "a.pdf"]) == both
    assert unit({"annual": "a.pdf", "costs": "b.pdf"}) == both
    # other files: another cluster; one file however written: the file's own
    assert unit(["a.pdf", "c.pdf"]) == 'documents:["a.pdf", "c.pdf"]'
    assert unit("a.pdf") == unit({"pdf": "a.pdf"}) == unit(["a.pdf"]) == "image:a.pdf"
    # one document of page images: the images, whatever order
    assert unit(["p1.png", "p2.png"]) == unit({"pages": ["p2.png", "p1.png"]}) == \
        'documents:["p1.png", "p2.png"]'


def test_documents_of_one_name_in_two_folders_are_two_clusters():
    from halluscope.metrics.units import ImageKeys, unit_of
    images = ImageKeys()
    a = unit_of(doc_record(["a.pdf", "b.pdf"], "1", "/tmp/one/x.jsonl"), "image", None, images)
    b = unit_of(doc_record(["a.pdf", "b.pdf"], "2", "/tmp/two/x.jsonl"), "image", None, images)
    assert (a, b) == ('documents:["a.pdf", "b.pdf"]', 'documents:["a.pdf#1", "b.pdf#1"]')


def test_audit_clusters_records_of_several_documents_by_their_files(tmp_path):
    pytest.importorskip("pypdfium2")
    import json

    from halluscope.api import audit
    from tests.test_page_grounding import make_pdf
    for name, text in (("a", "Revenue reached 4,210 units."), ("b", "Costs rose by 7.5%."),
                       ("c", "The board met twice.")):
        make_pdf(tmp_path / f"{name}.pdf", [[text]])
    docs = [["a.pdf", "b.pdf"], {"annual": "a.pdf", "costs": "b.pdf"}, ["a.pdf", "c.pdf"]]
    rows = [{"id": f"r{i}", "task": "document", "document": docs[i % 3],
             "response": 'a.pdf p. 1 says "Revenue reached 4,210 units".'} for i in range(12)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = audit(tmp_path / "in.jsonl", metrics="page", n_boot=10, cluster_by="image")
    # two sets of files: [a, b] (8 records, as a list or a mapping) and [a, c] (4)
    assert res.metrics["page"].info["bootstrap"]["clusters"] == 2


# -- 4. what a user finds ------------------------------------------------------------------------

class BlindOcr:
    """OCR that finds no text on a page (RapidOCR on a page of three words did so)."""

    name = "blind-ocr"

    def read(self, image):
        return []

    def provenance(self):
        return {"component": "ocr", "engine": self.name}


def test_a_short_text_layer_that_ocr_reads_less_of_is_kept(tmp_path):
    pytest.importorskip("pypdfium2")
    from halluscope.evidence.documents import Document
    from tests.test_page_scans import write_pdf
    path = write_pdf(tmp_path / "doc.pdf", [["Intro text here.", "The committee approved the"],
                                            ["plan to open"], ["two new sites in the north."]])
    doc = Document(path, ocr=BlindOcr())
    # 10 non-space characters, under min_chars (16): OCR'd, which read nothing
    assert (doc.page(2).source, doc.page(2).text.split()) == ("pdf", ["plan", "to", "open"])
    v = [v for v in check_pages(record(f"It says {QUOTE} (p. 2)."), doc)
         if v.checker == "page-quote"]
    assert [x.label for x in v] == ["supported"]       # was: "no text could be read from page 2"


@pytest.mark.parametrize("text,expected", [
    # a place named by its number is a reference, not a figure the page states
    ("It says 185 people work there (page 2, line 3).", [((2,), ["185"])]),
    ("Table 4 on page 2 shows 185 people.", [((2,), ["185"])]),
    ("Figures 2-3 on p. 4 show a 12% rise.", [((4,), ["12%"])]),
    ("Lines 3 and 4 of p. 2 give 4,210 units.", [((2,), ["4,210"])]),
    ("Revenue was 4,210 (p. 1, para. 2).", [((1,), ["4,210"])]),
    ("In section 2.1 (p. 5), costs rose 7.5%.", [((5,), ["7.5%"])]),
    ("See \u00a7 3 on p. 2: 40 sites.", [((2,), ["40"])]),
    # a number after such a word used otherwise is still read
    ("The board notes 5% growth (p. 2).", [((2,), ["5%"])]),
    ("The table lists 5 sites (p. 2).", [((2,), ["5"])]),
    ("Staff grew to 185 in 2023 (p. 2).", [((2,), ["185", "2023"])]),
])
def test_numbers_that_name_a_line_table_or_section_are_not_attributed(text, expected):
    assert cited(text) == expected


def test_a_line_number_beside_a_page_is_not_a_hallucinated_number():
    pages = {1: "Intro.", 2: "Staff grew to 185 people."}
    verdicts = quote_verdicts("Staff grew to 185 people (page 2, line 3).", pages)
    # was: '3' hallucinated, "not on p. 2 nor anywhere in the document"
    assert [(v.claim.quote, v.label) for v in verdicts] == [("185", "supported")]


@pytest.mark.parametrize("text,expected", [
    # an em dash between page numbers is a range, as an en dash is
    ('It says "Staff grew" (pp. 2\u20143).', [((2, 3), ["Staff grew"])]),
    ('It says "Staff grew" (pages 2\u20143).', [((2, 3), ["Staff grew"])]),
    # p, pg, pp without a period: in brackets (pp also in prose)
    ('It says "Staff grew" (p 2).', [((2,), ["Staff grew"])]),
    ('It says "Staff grew" (pg 2).', [((2,), ["Staff grew"])]),
    ('It says "Staff grew" [pp 2-3].', [((2, 3), ["Staff grew"])]),
    ('As pp 2-3 say, "Staff grew".', [((2, 3), ["Staff grew"])]),
    # a page number in words
    ('It says "Staff grew" on page three.', [((3,), ["Staff grew"])]),
    ('Page Two says "Staff grew".', [((2,), ["Staff grew"])]),
    ('It says "Staff grew" on pages two and three.', [((2, 3), ["Staff grew"])]),
    # still no page citation: a bare number in brackets is a reference mark, "p" in prose
    # before a number is no abbreviation of page
    ('It says "Staff grew" [3].', []),
    ('It says "Staff grew" (3).', []),
    ("The p 2 value was small.", []),
    ("It was on the front page once.", []),
])
def test_more_citation_styles(text, expected):
    assert cited(text) == expected
