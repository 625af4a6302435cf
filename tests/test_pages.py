"""Page citations, quote attribution, normalisation and matching against a real PDF."""

from __future__ import annotations

from pathlib import Path

import pytest

from halluscope.checks.pages import check_pages, find_in_text, normalise, normalise_map
from halluscope.claims.citations import PageCitation, Quote, parse_page_citations, sentences
from halluscope.records import record_from_dict
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402

REPORT = Path(__file__).resolve().parents[1] / "data" / "docs" / "report.pdf"


@pytest.mark.parametrize("text,pages", [
    ("as shown (p. 3).", [(3,)]), ("see p.3", [(3,)]), ("on page 3", [(3,)]),
    ("[page 3]", [(3,)]), ("(p3)", [(3,)]), ("[p12]", [(12,)]), ("pp. 3-5", [(3, 4, 5)]),
    ("pages 2 and 4", [(2, 4)]), ("pages 2, 4", [(2, 4)]), ("Page #7", [(7,)]),
    ("pg. 9", [(9,)]), ("p. 1 and p. 2", [(1,), (2,)]), ("map3 shows", []),
    ("the page is blank", []), ("pp. 1-100", [(1, 100)])])
def test_citation_forms(text, pages):
    assert [c.pages for c in parse_page_citations(text)] == pages


def test_json_citations():
    text = ('{"answer": "x", "citations": [{"page": 3, "quote": "abc def"}, '
            '{"page_number": [1, "2"]}]}')
    a, b = parse_page_citations(text)
    assert a.pages == (3,) and a.quotes[0].text == "abc def" and a.source == "json"
    assert text[a.quotes[0].span[0]:a.quotes[0].span[1]] == "abc def"
    assert b.pages == (1, 2) and b.quotes == ()
    fenced = 'Answer:\n```json\n{"page": 2, "text": "hello there"}\n```'
    assert parse_page_citations(fenced)[0].quotes[0].text == "hello there"


def test_quotes_and_numbers_are_attributed_within_the_sentence():
    text = ('Revenue reached 4,210 units (p. 1). The report says "the committee approved '
            'the plan" on page 2. Page 5 lists the risks. \u201cCosts fell by 12%\u201d (p. 2).')
    a, b, c, d = parse_page_citations(text)
    assert a.quotes == (Quote("4,210", (16, 21), "number"),)
    assert b.quotes[0].text == "the committee approved the plan" and b.quotes[0].kind == "quote"
    assert c.pages == (5,) and c.quotes == ()
    assert d.quotes[0].text == "Costs fell by 12%"
    assert [x.sentence for x in (a, c)] == ["Revenue reached 4,210 units (p. 1).",
                                             "Page 5 lists the risks."]


def test_page_numbers_are_not_quoted_numbers():
    (c,) = parse_page_citations("See pp. 2-3 for the 7.5% rise.")
    assert c.pages == (2, 3) and [q.text for q in c.quotes] == ["7.5%"]


def test_sentences_keep_abbreviations_and_decimals():
    text = "See p. 3 for details. Then e.g. more. Value 4.2 here. End"
    assert [text[a:b].strip() for a, b in sentences(text)] == [
        "See p. 3 for details.", "Then e.g. more.", "Value 4.2 here.", "End"]


def test_normalisation_rules():
    assert normalise("The ﬁnal “Quote” — here") == 'the final "quote" - here'
    assert normalise("exam-\n  ple   text\n") == "example text"
    assert normalise("4,210 and 1,234,567.5 in 2023, 2024") == "4210 and 1234567.5 in 2023, 2024"
    assert normalise("ＡＢＣ１２３") == "abc123"
    text = "A  “B”\nc"
    norm, idx = normalise_map(text)
    assert norm == 'a "b" c' and idx == [0, 1, 3, 4, 5, 6, 7]


def test_find_in_text():
    page = "Total revenue: 4210 units.\nThe com-\nmittee approved  the plan; growth 12 percent."
    m = find_in_text("the committee approved the plan", page)
    assert m.found and m.how == "exact" and page[m.span[0]:m.span[1]].startswith("The com-")
    assert find_in_text("committee, approved the plan!", page).how == "loose"
    assert find_in_text(Quote("4,210", (0, 0), "number"), page).found
    assert find_in_text(Quote("4,210.0", (0, 0), "number"), page).found
    assert find_in_text(Quote("12%", (0, 0), "number"), page).found
    assert not find_in_text(Quote("42", (0, 0), "number"), page).found
    assert not find_in_text(Quote("4.2 million", (0, 0), "number"), page).found
    assert not find_in_text("the board approved the plan", page).found


def record(response, document=str(REPORT)):
    return record_from_dict({"id": "d", "task": "document", "document": document,
                             "response": response}, file="/tmp/x.jsonl", line=1)


@pytest.fixture(scope="module")
def doc():
    pytest.importorskip("pypdfium2")
    from halluscope.evidence.documents import Document
    d = Document(REPORT)
    yield d
    d.close()


def test_report_pdf_has_a_text_layer(doc):
    assert doc.n_pages == 3
    assert doc.page(1).source == "pdf" and "4,210 units" in doc.text(1)
    assert "committee approved the plan" in doc.text(2)
    with pytest.raises(IndexError):
        doc.page(4)


def test_check_pages_on_the_sample_report(doc):
    rec = record('Revenue reached 4,210 units (p. 1). The report says "the committee '
                 'approved the plan" on page 2. Page 5 lists the risks. "Costs fell by 12%" '
                 '(p. 2). Staff grew to 185 people [page 3].')
    vs = check_pages(rec, doc)
    got = [(v.checker, v.claim.value, v.claim.quote, v.label) for v in vs]
    assert got == [
        ("page-exists", 1, None, "supported"), ("page-quote", 1, "4,210", "supported"),
        ("page-exists", 2, None, "supported"),
        ("page-quote", 2, "the committee approved the plan", "supported"),
        ("page-exists", 5, None, "hallucinated"),
        ("page-exists", 2, None, "supported"),
        ("page-quote", 2, "Costs fell by 12%", "hallucinated"),
        ("page-exists", 3, None, "supported"), ("page-quote", 3, "185", "hallucinated")]
    assert "has 3 pages" in vs[4].reason and vs[4].evidence[0].payload["fabricated"]
    assert vs[8].reason == "not on p. 3; found on page 2"
    # where else the number is, as evidence a report can draw without searching again
    ((page, found, how, (a, b)),) = [
        (e["page"], e["found"], e["match"], e["char_span"])
        for e in vs[8].evidence[0].payload["found_elsewhere"]]
    assert (page, found, how) == (2, "185", "number") and doc.text(2)[a:b] == "185"
    assert vs[8].evidence[0].payload["found_on"] == [2]
    assert "found_elsewhere" not in vs[6].evidence[0].payload      # found nowhere
    assert vs[3].evidence[0].payload["found"] == "The committee approved the plan"
    assert all(v.claim.kind == "page" for v in vs)


def test_quote_on_a_range_is_found_on_any_page_of_it(doc):
    (v_a, v_b, q) = check_pages(record('"Supply costs rose by 7.5%" (pp. 2-3)'), doc)
    assert q.label == "supported" and q.evidence[0].payload["page"] == 3
    assert q.claim.value == [2, 3]


def test_no_document_makes_citations_unverifiable():
    rec = record_from_dict({"id": "d", "response": "see p. 2"}, file="/tmp/x.jsonl", line=1)
    (v,) = check_pages(rec, None)
    assert v.label == "unverifiable"
    assert check_pages(record("no citations here"), None) == []


def test_char_boxes_cover_the_quote(doc):
    t = doc.text(2)
    s = t.index("committee approved")
    (box,) = doc.char_boxes(2, s, s + len("committee approved"))
    img = doc.render(2)
    assert 0 < box[0] < box[2] < img.width and 0 < box[1] < box[3] < img.height * 0.3
    assert isinstance(PageCitation((1,), (0, 0), ""), PageCitation)


def test_page_citations_outside_a_json_block_count_as_well():
    text = ('```json\n{"page": 2, "quote": "The meeting ended at noon"}\n```\n'
            'Page 9 lists the risks. "Profits fell 50%" (p. 1).')
    cites = parse_page_citations(text)
    assert [(c.pages, c.source) for c in cites] == [((2,), "json"), ((9,), "text"),
                                                     ((1,), "text")]
    assert cites[1].sentence == "Page 9 lists the risks."


@pytest.mark.parametrize("page, said", [
    ("Revenue was 1\u202f250 units.", "1,250"), ("Units: 2\u00a0500 in total.", "2,500"),
    ("Units: 2 500 in total.", "2500"), ("Staff: 1 250 000 people.", "1,250,000"),
])
def test_a_number_grouped_by_spaces_on_the_page_is_found(page, said):
    """ISO/SI thousands spacing ("1 250") on the page: a response's "1,250" (p. 1) was "not
    on p. 1 nor anywhere in the document", hallucinated."""
    from halluscope.checks.pages import find_in_text
    from halluscope.claims.page_citations import Quote
    assert find_in_text(Quote(said, (0, len(said)), "number"), page).found


def test_numbers_beside_a_space_are_still_their_own():
    from halluscope.checks.pages import find_in_text
    from halluscope.claims.page_citations import Quote
    page = "In table 3 250 units were sold; the total was 1 250,5 tonnes."
    assert find_in_text(Quote("250", (0, 3), "number"), page).found
    assert find_in_text(Quote("3", (0, 1), "number"), page).found
    assert not find_in_text(Quote("1,250", (0, 5), "number"), page).found   # 1 250,5


def test_a_json_quote_that_is_a_number_or_a_list_is_checked():
    """{"page": 1, "quote": 42} counted as a citation that quoted nothing: the 42 was never
    looked for; a list of quotes likewise."""
    (a, b) = parse_page_citations('[{"page": 1, "quote": 1250}, '
                                  '{"page": 2, "quote": ["Costs fell", "Staff grew"]}]')
    assert [(q.text, q.kind) for q in a.quotes] == [("1250", "number")]
    assert [(q.text, q.kind) for q in b.quotes] == [("Costs fell", "quote"),
                                                    ("Staff grew", "quote")]
    (c,) = parse_page_citations('{"page": 1, "quote": true}')
    assert c.quotes == ()


def test_a_short_quote_never_pairs_its_closing_mark_with_the_next_quote():
    """'rose "7%" (p. 3) and "Supply costs ... second half" (p. 3)': the 2-character quote was
    passed by unpaired, so its closing mark opened a quote '(p. 3) and' that was scored
    hallucinated, and the real quote after it was never looked for."""
    text = 'Costs rose "7%" (p. 3) and "Supply costs ... second half" (p. 3).'
    quotes = [q.text for c in parse_page_citations(text) for q in c.quotes]
    assert quotes == ["Supply costs ... second half"]
    text = 'It says "5." and "Staff grew" (p. 2).'
    assert [q.text for c in parse_page_citations(text) for q in c.quotes] == ["Staff grew"]
