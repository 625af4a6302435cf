"""Running headers and footers at a page break: found, left out of the join only when a quote
is not found with them in, and named in the evidence.

Every expected number here is worked out by hand from the texts in the test.
"""

from __future__ import annotations

import json

import pytest

from conftest import document_answers
from halluscope.checks import pagetext, running
from halluscope.checks.pages import check_pages, find_quote
from halluscope.checks.running import detect, line_key
from halluscope.claims.citations import Quote
from tests.test_page_grounding import FakeDocument, record
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402

HEADER = "ACME Annual Report 2023"                     # 23 characters

# a header on every page, "Page k of 4" at the foot of every page
HEADED = {
    # header 0-23; 'Revenue reached 4,210 units.' 24-52; 'The committee approved the'
    # 53-79; 'Page 1 of 4' 80-91
    1: f"{HEADER}\nRevenue reached 4,210 units.\nThe committee approved the\nPage 1 of 4",
    # 'plan to open two new sites.' 24-51; 'The pro-' 52-60; 'Page 2 of 4' 61-72
    2: f"{HEADER}\nplan to open two new sites.\nThe pro-\nPage 2 of 4",
    # 'posal was rejected.' 24-43
    3: f"{HEADER}\nposal was rejected.\nStaff grew to 185 people.\nPage 3 of 4",
    4: f"{HEADER}\nCurrency risk remains.\nPage 4 of 4"}

SPLIT = "The committee approved the plan to open two new sites"


def q(text):
    return Quote(text, (0, 0))


def look(pages, quote, cited):
    doc = FakeDocument(pages)
    return find_quote(q(quote), cited, doc.text, doc.n_pages)


def quote_verdicts(response, pages):
    return [v for v in check_pages(record(response), FakeDocument(pages))
            if v.checker == "page-quote"]


# -- which lines are running ---------------------------------------------------------------------

@pytest.mark.parametrize("line,key", [
    ("Page 3 of 10", "page#of#"), ("PAGE 12 OF 10", "page#of#"), ("  - 7 -  ", "#"),
    ("iv", "#"), ("- xii -", "#"), ("Page xii", "page#"), ("Page 4", "page#"),
    ("Confidential", "confidential"), ("ACME Annual Report 2023", "acmeannualreport#"),
    ("______", "_"), ("* * *", "*"), ("civil", "civil"), ("   ", ""),
    ("\uff21\uff23\uff2d\uff25 \uff11", "acme#"),         # full-width letters and digit
])
def test_a_line_is_compared_by_its_key(line, key):
    assert line_key(line) == key


def test_headers_and_footers_on_most_pages_are_running():
    found = detect([HEADED[p] for p in (1, 2, 3, 4)])
    assert found.leading_keys == {"acmeannualreport#"}
    # 'page#of#' ends all 4 pages; the body lines are each on one page (page 4's three lines:
    # the first two are leading candidates, the footer alone trailing)
    assert found.trailing_keys == {"page#of#"}


def test_a_title_page_without_the_header_does_not_stop_it():
    pages = ["Annual report\nACME Ltd"] + [f"{HEADER}\nBody text {k}." for k in (2, 3, 4, 5)]
    assert detect(pages).leading_keys == {"acmeannualreport#"}       # 4 of 5 pages


@pytest.mark.parametrize("texts", [
    [HEADED[1], HEADED[2]],                      # two pages: never
    [HEADED[1]],
    ["Revenue fell.\nCosts rose.", "Staff left.\nPlans changed.", "Risks remain.\nEnd."],
    # on 2 pages only (2 < 3), and on 3 of 7 pages (6 < 7; odd pages 1, 3: 2 < 3)
    [f"{HEADER}\na", f"{HEADER}\nb", "c\nd", "e\nf", "g\nh"],
    [f"{HEADER}\na", f"{HEADER}\nb", f"{HEADER}\nc", "d\ne", "f\ng", "h\ni", "j\nk"],
])
def test_no_running_lines_in_short_or_unrepetitive_documents(texts):
    assert detect(texts) is None


def test_headers_that_alternate_between_left_and_right_pages_are_running():
    bodies = ["Revenue rose.", "Costs fell.", "Staff grew.", "Risks remain.", "Sites opened.",
              "Plans changed."]
    pages = [("Results and outlook" if p % 2 else HEADER) + f"\n{bodies[p - 1]}\n{p}"
             for p in range(1, 7)]
    found = detect(pages)
    # each title on 3 of 6 pages: 3 >= 3 and half of all pages; the page number on all 6
    assert found.leading_keys == {"resultsandoutlook", "acmeannualreport#"}
    assert found.trailing_keys == {"#"}


# -- a quote across a break with a header, a footer, a page number ------------------------------

def test_a_quote_across_a_header_and_a_footer_is_found():
    m = look(HEADED, SPLIT, (1, 2))
    assert m.found and m.how == "exact"
    assert m.parts == [(1, (53, 79)), (2, (24, 50))]          # 'plan ... sites' 24 + 26
    assert m.skipped == [(1, "end", (80, 91)), (2, "start", (0, 23))]
    assert m.snippet == "The committee approved the\nplan to open two new sites"


def test_a_word_hyphenated_before_the_footer_is_joined_to_the_next_page():
    m = look(HEADED, "the proposal was rejected", (2, 3))
    # page 2: 'The pro-' 52-60 (hyphen kept in the span); page 3: 'posal was rejected' 24-42
    assert m.found and m.parts == [(2, (52, 60)), (3, (24, 42))]
    assert m.skipped == [(2, "end", (61, 72)), (3, "start", (0, 23))]


def test_a_quote_across_a_header_alone_is_found():
    pages = {p: t.rsplit("\n", 1)[0] for p, t in HEADED.items()}        # no footers
    m = look(pages, SPLIT, (1, 2))
    assert m.found and m.parts == [(1, (53, 79)), (2, (24, 50))]
    assert m.skipped == [(2, "start", (0, 23))]


def test_a_quote_across_a_footer_alone_is_found():
    pages = {
        # 'Minutes of the board.' 0-21; 'The committee approved the' 22-48; 'Confidential' 49-61
        1: "Minutes of the board.\nThe committee approved the\nConfidential",
        2: "plan to open two new sites.\nConfidential",          # 'Confidential' 28-40
        3: "Staff grew to 185 people.\nConfidential"}
    m = look(pages, SPLIT, (1, 2))
    assert m.found and m.parts == [(1, (22, 48)), (2, (0, 26))]
    assert m.skipped == [(1, "end", (49, 61))]


def test_a_quote_across_a_page_number_is_found():
    pages = {
        # 'Revenue reached 4,210 units.' 0-28; 'The committee approved the' 29-55; '1' 56-57
        1: "Revenue reached 4,210 units.\nThe committee approved the\n1",
        2: "plan to open two new sites.\nStaff grew to 185 people.\n2",
        3: "Currency risk remains.\n3"}
    m = look(pages, SPLIT, (1, 2))
    assert m.found and m.parts == [(1, (29, 55)), (2, (0, 26))]
    assert m.skipped == [(1, "end", (56, 57))]
    # loose: the quote's punctuation differs from the page's
    m = look(pages, "the committee, approved the plan!", (1, 2))
    assert m.found and m.how == "loose" and m.skipped == [(1, "end", (56, 57))]


def test_a_page_of_nothing_but_header_and_footer_is_passed_over():
    pages = dict(HEADED)
    pages[2] = f"{HEADER}\nPage 2 of 4"                  # 'Page 2 of 4' 24-35
    pages[3] = f"{HEADER}\nplan to open two new sites.\nPage 3 of 4"
    m = look(pages, SPLIT, (1, 2, 3))
    assert m.found and m.parts == [(1, (53, 79)), (3, (24, 50))]
    assert m.skipped == [(1, "end", (80, 91)), (2, "start", (0, 23)), (2, "end", (24, 35)),
                         (3, "start", (0, 23))]


def test_an_ocr_misreading_of_the_header_on_one_page_is_taken_for_it():
    pages = dict(HEADED)
    pages[2] = pages[2].replace("Report", "Rep0rt")      # same length: spans as before
    m = look(pages, SPLIT, (1, 2))
    assert m.found and m.skipped == [(1, "end", (80, 91)), (2, "start", (0, 23))]
    # keys shorter than 10 must be the same: 'Paqe 1 of 4' ('paqe#of#') is not 'page#of#'
    pages[1] = pages[1].replace("Page", "Paqe")
    assert not look(pages, SPLIT, (1, 2)).found


@pytest.mark.parametrize("key,running_", [
    ("acmeannualrep#rt#", True), ("confidentia#", True), ("acmeannualreport", True),
    ("acmeannualreport#results", False), ("strictlyconfidential", False),
    ("paqe#of#", False), ("page#of#", True)])
def test_which_near_keys_are_taken_for_running_ones(key, running_):
    # ratios (difflib): 0.941, 0.917, 0.970 / 0.829, 0.750; 'paqe#of#' is under 10 characters
    assert running.is_running(key, frozenset({"acmeannualreport#", "confidential",
                                              "page#of#"})) is running_


# -- what does not change --------------------------------------------------------------------

def test_a_quote_that_holds_the_header_is_found_as_before():
    # on its page: the page is searched as it is, header and all
    m = look(HEADED, f"{HEADER} Revenue reached 4,210 units", (1,))
    assert m.found and (m.page, m.span, m.skipped) == (1, (0, 51), [])   # 24 + 27 ('units')
    # page 3: 'posal was rejected.' 24-43, 'Staff grew to 185 people.' 44-69, footer 70-81
    m = look(HEADED, "Page 3 of 4", (3,))
    assert m.found and m.span == (70, 81) and m.skipped == []
    # across the break: with the footer and header in, the join as it stands finds it first
    m = look(HEADED, f"approved the Page 1 of 4 {HEADER} plan", (1, 2))
    # 'approved' at 53 + 14 = 67, on to page 1's end (91); page 2: header and 'plan', 0-28
    assert m.found and m.parts == [(1, (67, 91)), (2, (0, 28))] and m.skipped == []
    (v,) = quote_verdicts(f'"approved the Page 1 of 4 {HEADER} plan" (pp. 1-2).', HEADED)
    assert v.reason == "found across pages 1-2 (exact match)"
    assert "running_lines" not in v.evidence[0].payload


def test_a_two_page_document_is_checked_as_before():
    pages = {1: HEADED[1], 2: HEADED[2]}         # the same header and footer on both
    m = look(pages, SPLIT, (1, 2))
    assert not m.found and m.others == []
    (v,) = quote_verdicts(f'"{SPLIT}" (pp. 1-2).', pages)
    assert (v.label, v.reason) == ("hallucinated",
                                   "not on p. 1, 2 nor anywhere in the document")
    assert v.evidence[0].payload == {"found_on": []}


def test_a_line_that_does_not_recur_still_interrupts_a_quote():
    pages = {1: "Revenue reached 4,210 units.\nThe committee approved the\nFigure 1",
             2: "plan to open two new sites.\nStaff grew to 185 people.",
             3: "Supply costs rose by 7.5%.\nCurrency risk remains."}
    m = look(pages, SPLIT, (1, 2))
    assert not m.found and m.others == []


# -- what the evidence says ----------------------------------------------------------------------

def test_the_verdict_names_the_lines_left_out():
    (v,) = quote_verdicts(f'The report says "{SPLIT}" (pp. 1-2).', HEADED)
    assert v.label == "supported"
    assert v.reason == ("found across pages 1-2 (exact match; running header/footer left out: "
                        "'Page 1 of 4', 'ACME Annual Report 2023')")
    payload = v.evidence[0].payload
    assert payload["parts"] == [{"page": 1, "char_span": [53, 79]},
                                {"page": 2, "char_span": [24, 50]}]
    assert payload["running_lines"] == [
        {"text": "Page 1 of 4", "page": 1, "at": "end", "char_span": [80, 91]},
        {"text": HEADER, "page": 2, "at": "start", "char_span": [0, 23]}]


def test_a_quote_on_the_wrong_pages_is_found_across_a_header_elsewhere():
    (v,) = quote_verdicts('"the proposal was rejected" (p. 1).', HEADED)
    assert v.label == "hallucinated"
    assert v.reason == ("not on p. 1; found on pages 2-3 (across the page break, running "
                        "header/footer left out)")
    (where,) = v.evidence[0].payload["found_elsewhere"]
    assert where["pages"] == [2, 3] and where["char_span"] == [52, 60]
    assert where["running_lines"] == [
        {"text": "Page 2 of 4", "page": 2, "at": "end", "char_span": [61, 72]},
        {"text": HEADER, "page": 3, "at": "start", "char_span": [0, 23]}]


def test_a_quote_on_no_page_is_still_nowhere():
    (v,) = quote_verdicts('"the committee rejected the plan" (pp. 1-2).', HEADED)
    assert (v.label, v.reason) == ("hallucinated",
                                   "not on p. 1, 2 nor anywhere in the document")


# -- made once -------------------------------------------------------------------------------

def test_running_lines_are_found_once_per_document_and_again_when_a_page_changes(monkeypatch):
    calls = []
    real = running.detect
    monkeypatch.setattr(running, "detect", lambda texts: calls.append(1) or real(texts))
    doc = FakeDocument(HEADED)
    for text in (SPLIT, "the proposal was rejected"):
        assert find_quote(q(text), (1, 2, 3), doc.text, 4).found
    assert len(calls) == 1
    doc.pages[4] = "Currency risk remains."           # the header and footer gone: 3 of 4 left
    assert find_quote(q(SPLIT), (1, 2), doc.text, 4).found
    assert len(calls) == 2


def test_a_page_without_its_running_lines_is_normalised_once(monkeypatch):
    calls = []
    real = pagetext.normalise_form
    monkeypatch.setattr(pagetext, "normalise_form", lambda t: calls.append(t) or real(t))
    doc = FakeDocument(HEADED)
    assert find_quote(q(SPLIT), (1, 2), doc.text, 4).found
    assert find_quote(q("committee approved the plan"), (1, 2), doc.text, 4).found
    # pages 1 and 2 as they are, then page 1 up to its footer (80) and page 2 after its
    # header (23): each once, for both quotes
    assert calls == [HEADED[1], HEADED[2], HEADED[1][:80], HEADED[2][23:]]


# -- end to end: a PDF with a header and a footer, through audit -------------------------------

def make_headed_pdf(path, pages):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("pdf")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages
    with PdfPages(path) as pdf:
        for k, lines in enumerate(pages, 1):
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(0.1, 0.95, HEADER, fontsize=9)
            for i, line in enumerate(lines):
                fig.text(0.1, 0.84 - 0.04 * i, line, fontsize=12)
            fig.text(0.5, 0.04, f"Page {k} of {len(pages)}", fontsize=9)
            pdf.savefig(fig)
            plt.close(fig)
    return path


def test_audit_of_a_pdf_with_a_running_header_and_footer(tmp_path):
    pytest.importorskip("pypdfium2")
    from halluscope.api import audit
    make_headed_pdf(tmp_path / "doc.pdf", [
        ["Revenue reached 4,210 units in 2023.", "The committee approved the"],
        ["plan to open two new sites.", "Staff grew to 185 people."],
        ["Supply costs rose by 7.5% this year.", "Currency risk remains."]])
    rows = [("split", f'The report says "{SPLIT}" (pp. 1-2).'),
            ("header", f'Every page is headed "{HEADER}" (p. 2).'),
            ("wrong", '"approved the plan to open" (p. 3).')]
    path = document_answers(tmp_path / "in.jsonl", "doc.pdf", rows)
    res = audit(path, metrics="page", n_boot=0, out=tmp_path / "out")
    # quotes: split (found across 1-2), header (found on 2), wrong (not on 3): 2 of 3
    assert res.metrics["page"].results["quote_support_rate"].value == pytest.approx(2 / 3)
    items = {d["id"]: d for d in map(json.loads, (tmp_path / "out" / "items.jsonl").open())}
    (split,) = [c for c in items["split"]["claims"] if c["checker"] == "page-quote"]
    # the text layer: header, 'Revenue reached 4,210 units in 2023.' (24-60), 'The committee
    # approved the' (61-87), 'Page 1 of 3' (88-99)
    assert split["verdict"] == "supported"
    assert [(r["text"], r["page"], r["at"]) for r in split["evidence"][0]["running_lines"]] == [
        ("Page 1 of 3", 1, "end"), (HEADER, 2, "start")]
    assert split["evidence"][0]["parts"][0] == {"page": 1, "char_span": [61, 87]}
    (header,) = [c for c in items["header"]["claims"] if c["checker"] == "page-quote"]
    assert header["verdict"] == "supported" and "running_lines" not in header["evidence"][0]
    (wrong,) = [c for c in items["wrong"]["claims"] if c["checker"] == "page-quote"]
    assert wrong["reason"] == ("not on p. 3; found on pages 1-2 (across the page break, "
                               "running header/footer left out)")
    assert [h["page"] for h in items["split"]["page"]["highlights"]] == [1, 2]
