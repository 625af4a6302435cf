"""Page grounding leftovers: a quote cited on one page that runs on to the next, quotes in
single marks, and the search of a long document done once per page.

Every expected value is worked out by hand from the texts in the test.
"""

from __future__ import annotations

import json

import pytest

from conftest import document_answers
from halluscope.checks.pages import check_pages
from halluscope.claims.citations import Quote, parse_page_citations
from tests.test_page_grounding import FakeDocument, make_pdf, record
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402

PAGES = {1: "Revenue reached 4,210 units in 2023.\nThe committee approved the",
         2: "plan to open two new sites.\nStaff grew to 185 people.",
         3: "Supply costs rose by 7.5% this year.\nCurrency risk remains."}


def quote_verdicts(response, pages=PAGES):
    return [v for v in check_pages(record(response), FakeDocument(pages))
            if v.checker == "page-quote"]


def cited(text):
    return [(c.pages, [q.text for q in c.quotes]) for c in parse_page_citations(text)]


# -- 1. a quote cited on one page that runs on to the next ---------------------------------------

def test_a_quote_cited_on_its_first_page_that_runs_on_to_the_next_is_supported():
    (v,) = quote_verdicts('It says "The committee approved the plan to open" (p. 1).')
    assert v.label == "supported"
    assert v.reason == ("found across pages 1-2, from the cited page 1 on to page 2 "
                        "(exact match)")
    p = v.evidence[0].payload
    # page 1: 'The committee approved the' is 37-63; page 2: 'plan to open' is 0-12
    assert p["uncited_pages"] == [2] and p["pages"] == [1, 2]
    assert p["parts"] == [{"page": 1, "char_span": [37, 63]},
                          {"page": 2, "char_span": [0, 12]}]


def test_a_quote_cited_on_its_last_page_begun_on_the_page_before_is_supported():
    (v,) = quote_verdicts('It says "The committee approved the plan to open" (p. 2).')
    assert v.label == "supported"
    assert v.reason == ("found across pages 1-2, begun on page 1 before the cited page 2 "
                        "(exact match)")
    assert v.evidence[0].payload["uncited_pages"] == [1]


def test_a_quote_across_a_break_that_does_not_touch_the_cited_page_is_not_on_it():
    (v,) = quote_verdicts('It says "The committee approved the plan to open" (p. 3).')
    assert v.label == "hallucinated"
    assert v.reason == "not on p. 3; found on pages 1-2 (across the page break)"


def test_a_quote_on_the_cited_page_alone_names_no_uncited_page():
    (v,) = quote_verdicts('It says "Staff grew to 185 people" (p. 2).')
    assert v.reason == "found on page 2 (exact match)"
    assert "uncited_pages" not in v.evidence[0].payload


def test_a_quote_found_on_one_page_of_the_pair_first_is_still_found_across_the_break():
    # "approved the" is on page 1 alone before the place where it runs over the break
    pages = {1: "Earlier the board approved the\nbudget. Then the board approved the",
             2: "plan to open sites.", 3: "Nothing."}
    (v,) = quote_verdicts('"the board approved the plan" (p. 2)', pages)
    assert v.label == "supported" and v.evidence[0].payload["pages"] == [1, 2]


def test_a_quote_over_the_break_of_cited_consecutive_pages_reads_as_before():
    (v,) = quote_verdicts('"The committee approved the plan to open" (pp. 1-2).')
    assert v.reason == "found across pages 1-2 (exact match)"
    assert "uncited_pages" not in v.evidence[0].payload


# -- 2. quotes in single marks ----------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("The report says 'Costs fell by 40 percent.' (p. 3)",
     [((3,), ["Costs fell by 40 percent"])]),
    ("It says \u2018the model\u2019s answer was wrong\u2019 on page 2.",
     [((2,), ["the model\u2019s answer was wrong"])]),
    ("Page 1 says 'Sales rose. Costs fell.' while page 3 says 'Risk remains'.",
     [((1,), ["Sales rose. Costs fell"]), ((3,), ["Risk remains"])]),
    ("The authors' view is 'we don't know' (p. 4).", [((4,), ["we don't know"])]),
    # apostrophes alone: no quotation, so the numbers are what is attributed
    ("I don't think the model's 40% holds (p. 2).", [((2,), ["40%"])]),
    ("The users' data grew 40% (p. 2).", [((2,), ["40%"])]),
    ("In the '90s, sales grew 12% (p. 3).", [((3,), ["12%"])]),
    ("'Tis true that sales grew 12% (p. 3).", [((3,), ["12%"])]),
    # single marks inside double ones are part of that quotation, not another
    ('He wrote "she said \'no\' twice" (p. 1).', [((1,), ["she said 'no' twice"])]),
])
def test_single_quoted_passages_are_quotes_and_apostrophes_are_not(text, expected):
    assert cited(text) == expected


def test_a_single_quoted_quote_is_checked_on_its_page():
    ok, bad = quote_verdicts("It says 'Staff grew to 185 people.' (p. 2), and "
                             "\u2018Staff shrank to 12 people\u2019 (p. 2).")
    assert (ok.label, ok.claim.quote) == ("supported", "Staff grew to 185 people")
    assert (bad.label, bad.claim.quote) == ("hallucinated", "Staff shrank to 12 people")


def test_a_sentence_does_not_end_inside_a_single_quoted_passage():
    assert cited("'Sales fell. Costs rose.' (p. 3)") == [((3,), ["Sales fell. Costs rose"])]


# -- end to end: a hand-built PDF through audit -------------------------------------------------

def test_audit_of_a_quote_that_runs_on_to_the_next_page_and_single_quotes(tmp_path):
    pytest.importorskip("pypdfium2")
    from halluscope.api import audit
    make_pdf(tmp_path / "doc.pdf", [
        ["Revenue reached 4,210 units in 2023.", "The committee approved the"],
        ["plan to open two new sites.", "Staff grew to 185 people."],
        ["Supply costs rose by 7.5% this year.", "Currency risk remains."]])
    rows = [("runs-on", 'It says "The committee approved the plan to open two new sites" '
                        "(p. 1)."),
            ("single", "It says 'Staff grew to 185 people.' (p. 2)"),
            ("single-bad", "It says \u2018Staff shrank to 12 people\u2019 (p. 2).")]
    path = document_answers(tmp_path / "in.jsonl", "doc.pdf", rows)
    res = audit(path, metrics="page", n_boot=0, out=tmp_path / "out")
    assert res.metrics["page"].results["quote_support_rate"].value == pytest.approx(2 / 3)
    items = {d["id"]: d for d in map(json.loads, (tmp_path / "out" / "items.jsonl").open())}
    verdicts = {i: [(c["verdict"], c["reason"]) for c in items[i]["claims"]
                    if c["checker"] == "page-quote"] for i in items}
    assert verdicts["runs-on"] == [("supported", "found across pages 1-2, from the cited page "
                                                 "1 on to page 2 (exact match)")]
    assert verdicts["single"] == [("supported", "found on page 2 (exact match)")]
    assert verdicts["single-bad"][0][0] == "hallucinated"
    assert [h["page"] for h in items["runs-on"]["page"]["highlights"]] == [1, 2]


# -- 4. the search of a long document: cheap tests first, each page's forms made once --------------

TRICKY = ["r\u00b4esum\u00b4e", "na\u00a8\u0131ve", "na\u0131\u0308ve", "\ufb01nance", "4,210",
          "\u22125%", "com\u00admittee", "exam-\nple", "com\ufffemittee", "Stra\u00dfe",
          "caf\u0065\u0301", "\uff14\uff12", "2019-\n2020", "\u201cquoted\u201d", "well-known",
          "committee\u2019s", "1 250", "\u30ac\u30b9", "x\u200by", "r\u00e9sum\u00e9"]


@pytest.mark.parametrize("seed", range(6))
def test_a_quote_found_on_a_page_always_passes_the_cheap_tests(seed, monkeypatch):
    """Whatever the match finds, exactly or loosely, on a page or across a break, with the
    cheap tests turned off, those tests let through (one that says "cannot" is never
    wrong)."""
    import random

    from halluscope.checks import page_search, quote_match
    from halluscope.checks.page_filter import may_cross, may_hold, skeleton
    from halluscope.checks.page_search import find_quote
    from halluscope.checks.pages import find_in_text
    monkeypatch.setattr(quote_match, "may_hold", lambda *a: True)
    monkeypatch.setattr(page_search, "may_cross", lambda *a: True)
    rng = random.Random(seed)
    words = TRICKY + ["the", "plan", "Costs", "rose", "5.2%", "(p. 3)", "-", "\u2014", "\n"]
    for _ in range(150):
        page = " ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))
        a = rng.randrange(len(page))
        b = rng.randrange(a, len(page)) + 1
        quote = page[a:b].strip()
        if not quote or len(quote) < 3:
            continue
        if find_in_text(quote, page).found:
            assert may_hold([skeleton(quote)], skeleton(page)), (quote, page)
        cut = rng.randrange(1, len(page))
        pages = {1: page[:cut], 2: page[cut:]}
        m = find_quote(Quote(quote, (0, 0)), (1, 2), pages.__getitem__, 2)
        if m.found and m.parts:
            assert may_cross(skeleton(quote), skeleton(pages[1]), skeleton(pages[2]))


def test_skeletons_and_cuts():
    import numpy as np

    from halluscope.checks.page_filter import may_cross, may_hold_reordered, skeleton
    from halluscope.checks.page_sieve import cut_counts
    assert skeleton("R\u00b4esum\u00e9 \u2014 4,210 na\u0131\u0308ve \ufb01") == "resume4210naivefi"
    assert may_cross("abcdef", "xxabc", "defyy") and not may_cross("abcdef", "xxab", "defyy")
    assert may_cross("abc", "", "abc")             # a part of punctuation alone on page 1
    # 'the plan rose' in lines 'costs rose' / 'the plan' read in the other order: 2 pieces
    assert may_hold_reordered("theplanrose", ["costsrosetheplan"])
    assert not may_hold_reordered("theplanrose", ["costsfell"])
    # runs 0 and 1 missing share one cut; run 5 needs another: 3 pieces
    missing = np.array([[True, True, False, False, False, True]])
    assert cut_counts(missing).tolist() == [3]


def test_a_quote_on_no_page_of_a_long_document_normalises_no_page(monkeypatch):
    from halluscope.checks import pagetext
    calls = []
    real = pagetext.normalise_form
    monkeypatch.setattr(pagetext, "normalise_form", lambda t: calls.append(t) or real(t))
    pages = {p: f"Page {p}: the committee reviewed the budget.\nCosts rose." for p in
             range(1, 301)}
    (v,) = quote_verdicts('"the zebra danced at midnight" (p. 2).', pages)
    assert v.reason == "not on p. 2 nor anywhere in the document"
    assert calls == []
    # a quote across a break of pages 9-10 (not cited) is still found there
    pages[9] += "\nThe zebra danced"
    pages[10] = "at midnight.\n" + pages[10]
    (v,) = quote_verdicts('"the zebra danced at midnight" (p. 2).', pages)
    assert v.reason == "not on p. 2; found on pages 9-10 (across the page break)"


# -- 3. several documents per record: the forms that name one or several ambiguously -------------
# (several documents are read: tests/test_page_documents.py)

@pytest.mark.parametrize("value,says", [
    ({"pdf": "report.pdf", "pages": ["scan.png"]}, "got the keys 'pdf', 'pages'"),
    ({"pdf": "report.pdf", "appendix": "appendix.pdf"}, "got the keys 'pdf', 'appendix'"),
])
def test_a_mapping_mixing_one_documents_keys_with_others_is_refused_not_one_of_them_used(
        value, says):
    from halluscope.errors import ConfigError
    from halluscope.records import document_source
    with pytest.raises(ConfigError, match="several documents are a mapping of names") as e:
        document_source(value, None)
    assert says in str(e.value)


def test_audit_lists_a_record_with_a_documents_field_as_bad_with_its_line(tmp_path):
    pytest.importorskip("pypdfium2")
    from halluscope.api import audit
    make_pdf(tmp_path / "report.pdf", [["Currency risk remains."]])
    make_pdf(tmp_path / "appendix.pdf", [["Data tables."]])
    lines = [{"id": "ok", "task": "document", "document": "report.pdf",
              "response": '"Currency risk remains" (p. 1).'},
             {"id": "mixed", "task": "document", "document": {"pdf": "report.pdf",
                                                              "appendix": "appendix.pdf"},
              "response": 'report.pdf p. 1 says "Currency risk remains".'},
             {"id": "plural", "task": "document", "documents": ["report.pdf", "appendix.pdf"],
              "response": '"Currency risk remains" (p. 1).'}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    res = audit(path, metrics="page", n_boot=0, out=tmp_path / "out")
    assert res.metrics["page"].results["quote_support_rate"].value == 1.0
    bad = {(e["line"], e["field"]): e["message"] for e in res.errors}
    assert "got the keys 'pdf', 'appendix'" in bad[(2, "document")]
    assert "'documents' is not read: give several documents as a list of PDFs in " \
        "'document'" in bad[(3, "document")]


@pytest.mark.parametrize("text,expected", [
    ('report.pdf p. 3 says "Costs rose" and appendix.pdf p. 1 says "Data tables".',
     [((3,), "report.pdf"), ((1,), "appendix.pdf")]),
    ("See p. 3 of report.pdf and page 1 in the appendix.pdf.",
     [((3,), "report.pdf"), ((1,), "appendix.pdf")]),
    ('(report.pdf, p. 3) "x y z"', [((3,), "report.pdf")]),
    ('The report says "abc" (p. 3).', [((3,), None)]),              # no file name: none
    ("Costs rose 5% (p. 2); see chart.png later.", [((2,), None)]),  # not next to it
    ('{"document": "docs/appendix.pdf", "page": 1, "quote": "data"}',
     [((1,), "docs/appendix.pdf")]),
    ('{"source": "text layer", "page": 1, "quote": "data"}', [((1,), None)]),
])
def test_a_citation_names_its_document_by_a_file_name_next_to_it(text, expected):
    assert [(c.pages, c.document) for c in parse_page_citations(text)] == expected


def test_a_citation_of_a_file_the_record_does_not_carry_is_not_checked_in_its_document():
    doc = FakeDocument(PAGES, name="report.pdf")
    verdicts = check_pages(record('appendix.pdf p. 2 says "Staff grew to 185 people", and '
                                  'report.pdf p. 2 says "Staff grew to 185 people".',
                                  "report.pdf"), doc)
    got = [(v.checker, v.claim.value, v.label, v.reason) for v in verdicts]
    why = ("cites appendix.pdf, which the record does not carry (its document is report.pdf; "
           "one document per record)")
    # the quote is shown where it is in the record's own document, never checked there
    assert got == [("page-exists", 2, "unverifiable", why),
                   ("page-quote", 2, "unverifiable", why + "; the quote is found in report.pdf "
                                                          "on page 2"),
                   ("page-exists", 2, "supported", "page 2 exists (3 pages)"),
                   ("page-quote", 2, "supported", "found on page 2 (exact match)")]
