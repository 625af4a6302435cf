"""Page grounding: which citation a quote belongs to, quotes across page breaks, whole-string
NFKC, page text normalised once per document, multi-page image documents, messages.

Every expected number here is worked out by hand from the texts in the test.
"""

from __future__ import annotations

import json
import logging
import unicodedata

import pytest

from conftest import document_answers
from halluscope.checks import pagetext
from halluscope.checks.pages import check_pages, find_in_text, find_quote, normalise
from halluscope.claims.citations import Quote, parse_page_citations, sentences
from halluscope.records import record_from_dict
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402


def cited(text):
    return [(c.pages, [q.text for q in c.quotes]) for c in parse_page_citations(text)]


# -- a sentence end inside quotation marks (item 1) ---------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ('The report says "Costs fell by 40 percent." (p. 3)',
     [((3,), ["Costs fell by 40 percent"])]),
    ("\u201cStaff shrank to 12 people.\u201d (p. 2)", [((2,), ["Staff shrank to 12 people"])]),
    ('The report states: "Revenue fell sharply. The board resigned." (p. 1)',
     [((1,), ["Revenue fell sharply. The board resigned"])]),
    ('It says "Costs rose!" [page 2]. Next sentence.', [((2,), ["Costs rose!"])]),
    ('"Costs fell." (Annual report, p. 3)', [((3,), ["Costs fell"])]),
])
def test_a_quote_ending_in_a_period_stays_with_the_citation_after_it(text, expected):
    assert cited(text) == expected


def test_sentences_still_end_before_a_bracket_that_cites_no_page():
    text = "Sales rose. (See the appendix.) Costs fell (p. 2)."
    assert [text[a:b].strip() for a, b in sentences(text)] == [
        "Sales rose.", "(See the appendix.)", "Costs fell (p. 2)."]
    # an unpaired quotation mark does not swallow the rest of the paragraph
    text = 'He is 6" tall. Then "x y z" (p. 2).\n\nNew para "a b c" p. 3.'
    assert cited(text) == [((2,), ["x y z"]), ((3,), ["a b c"])]


# -- which citation a quote belongs to (item 2) -------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ('Page 1 says "Revenue reached 4,210 units" while page 3 says "Currency risk remains".',
     [((1,), ["Revenue reached 4,210 units"]), ((3,), ["Currency risk remains"])]),
    ("On page 2 staff grew to 185 people, and on page 3 supply costs rose by 7.5%.",
     [((2,), ["185"]), ((3,), ["7.5%"])]),
    # a citation right after the quote, or in brackets, is the quote's own
    ('"A b c" (p. 1) and "D e f" (p. 2).', [((1,), ["A b c"]), ((2,), ["D e f"])]),
    ('Page 1 says "X y z" and "U v w" is on page 4.', [((1,), ["X y z"]), ((4,), ["U v w"])]),
    ('"X y z", page 3 says, while "U v w" appears on page 4.',
     [((3,), ["X y z"]), ((4,), ["U v w"])]),
    ("Revenue reached 4,210 units (p. 1).", [((1,), ["4,210"])]),
    ('The report says "the committee approved the plan" on page 2.',
     [((2,), ["the committee approved the plan"])]),
    ("See page 2: staff grew to 185 people, while page 3 says costs rose 7.5%.",
     [((2,), ["185"]), ((3,), ["7.5%"])]),
])
def test_a_quote_belongs_to_the_citation_that_introduces_or_follows_it(text, expected):
    assert cited(text) == expected


# -- a JSON page written as text (item 10) ------------------------------------------------------

@pytest.mark.parametrize("page,pages,unread", [
    ('"p. 9"', (9,), ()), ('"2-3"', (2, 3), ()), ('"pages 2 and 4"', (2, 4), ()),
    ('" 7 "', (7,), ()), ('["p. 2", 4, "n/a"]', (2, 4), ()), ('"nine"', (), ('"nine"',)),
    ("true", (), ("true",)), ("5.5", (), ("5.5",)),
])
def test_a_json_page_written_as_text_is_read_or_kept_as_unread(page, pages, unread):
    (c,) = parse_page_citations('{"page": %s, "quote": "Costs fell sharply"}' % page)
    assert (c.pages, c.unread, [q.text for q in c.quotes]) == (pages, unread,
                                                               ["Costs fell sharply"])


@pytest.mark.parametrize("page", ["null", '""', '"n/a"', '"none"'])
def test_a_json_page_that_says_no_page_cites_none(page):
    assert parse_page_citations('{"page": %s, "quote": "abc"}' % page) == []


def test_an_unreadable_json_page_makes_the_record_a_bad_record(tmp_path):
    from halluscope.errors import RecordError
    from halluscope.metrics.grounding import PageMetric
    pytest.importorskip("pypdfium2")
    pdf = make_pdf(tmp_path / "doc.pdf", [["Revenue reached 4,210 units."]])
    rec = record_from_dict({"id": "x", "task": "document", "document": str(pdf),
                            "response": '{"page": "nine", "quote": "Costs fell"}'},
                           file=str(tmp_path / "x.jsonl"), line=4)
    m = PageMetric(n_boot=0)
    assert m.applies_to(rec)              # not "skipped: cites no page"
    with pytest.raises(RecordError, match="expected a page number .* got \"nine\"") as err:
        m.score(rec)
    assert (err.value.location.line, err.value.location.field) == (4, "response")


# -- whole-string NFKC (item 13) -----------------------------------------------------------------

def test_decomposed_accents_match_precomposed_ones():
    nfc, nfd = "The Caf\u00e9 Z\u00fcrich", "The Cafe\u0301 Zu\u0308rich"
    assert normalise(nfd) == normalise(nfc) == "the caf\u00e9 z\u00fcrich"
    assert unicodedata.is_normalized("NFKC", normalise(nfd))
    page = "Intro.\nThe Cafe\u0301 Zu\u0308rich opened in 2019."
    m = find_in_text("Caf\u00e9 Z\u00fcrich opened", page)
    # the span covers the combining marks: 'C' at 11, 'Cafe\u0301' 5 characters, a space,
    # 'Zu\u0308rich' 7, a space, 'opened' 6: 11 + 5 + 1 + 7 + 1 + 6 = 31
    assert m.found and m.how == "exact" and m.span == (11, 31)
    assert page[m.span[0]:m.span[1]] == "Cafe\u0301 Zu\u0308rich opened"
    assert find_in_text("Cafe\u0301 Zu\u0308rich", "Caf\u00e9 Z\u00fcrich").span == (0, 11)


def test_normalised_offsets_cover_whole_clusters():
    form = pagetext.normalise_form("e\u0301x \ufb01")       # é, x, space, fi (ligature)
    assert form.text == "\u00e9x fi"
    assert list(form.starts) == [0, 2, 3, 4, 4] and list(form.ends) == [2, 3, 4, 5, 5]
    # Hangul jamo compose into one syllable
    assert pagetext.normalise_form("\u1100\u1161\u11a8").text == "\uac01"


# -- quotes across a page break (item 5) --------------------------------------------------------

PAGES = {1: "Revenue reached 4,210 units.\nThe committee approved the",
         2: "plan to open two new sites.\nStaff grew to 185 people.",
         3: "Supply costs rose by 7.5%.\nThe pro-",
         4: "posal was rejected."}


def text_of(p):
    return PAGES[p]


def test_a_quote_across_the_break_of_consecutive_cited_pages_is_found():
    q = Quote("The committee approved the plan to open two new sites", (0, 0))
    m = find_quote(q, (1, 2), text_of, 4)
    # page 1: "The committee approved the" starts at 29 and runs to the end (55);
    # page 2: "plan to open two new sites" is characters 0-26
    assert m.found and m.how == "exact" and m.parts == [(1, (29, 55)), (2, (0, 26))]
    assert (m.page, m.span, m.pages) == (1, (29, 55), [1, 2])
    assert m.snippet == "The committee approved the\nplan to open two new sites"
    # a word hyphenated across the break is joined, as inside a page: page 3's "The pro-"
    # starts after 'Supply costs rose by 7.5%.' (26) and its line end: 27-35, hyphen included
    m = find_quote(Quote("the proposal was rejected", (0, 0)), (3, 4), text_of, 4)
    assert m.found and m.parts == [(3, (27, 35)), (4, (0, 18))]


def test_a_quote_across_a_break_the_citation_does_not_span_is_found_elsewhere():
    q = Quote("approved the plan to open", (0, 0))
    m = find_quote(q, (3, 4), text_of, 4)          # the break of 1-2 touches neither
    assert not m.found and m.elsewhere == [1]
    assert m.others[0].parts == [(1, (43, 55)), (2, (0, 12))]    # 'approved' at 29 + 14
    # cited on 1 and 3 (not consecutive): it starts on page 1 and runs on to page 2, which
    # is found on page 1 (tests/test_page_leftovers3.py: the page turn of a cited page)
    m = find_quote(q, (1, 3), text_of, 4)
    assert m.found and m.parts == [(1, (43, 55)), (2, (0, 12))] and m.uncited == [2]
    m = find_quote(q, (3,), text_of, 4)
    assert not m.found and m.others[0].pages == [1, 2]


def test_check_pages_reports_the_parts_of_a_quote_across_pages():
    doc = FakeDocument(PAGES)
    rec = record('"The committee approved the plan" (pp. 1-2). "approved the plan" (p. 3).')
    v = check_pages(rec, doc)
    quote_a, quote_b = [x for x in v if x.checker == "page-quote"]
    assert quote_a.label == "supported"
    assert quote_a.reason == "found across pages 1-2 (exact match)"
    payload = quote_a.evidence[0].payload
    assert payload["pages"] == [1, 2] and payload["parts"] == [
        {"page": 1, "char_span": [29, 55]}, {"page": 2, "char_span": [0, 4]}]
    assert quote_b.label == "hallucinated"
    assert quote_b.reason == "not on p. 3; found on pages 1-2 (across the page break)"
    assert quote_b.evidence[0].payload["found_elsewhere"][0]["parts"][1] == {
        "page": 2, "char_span": [0, 4]}


# -- page text normalised once per document (item 18) ---------------------------------------------

def test_each_page_is_normalised_once_per_document(monkeypatch):
    calls = []
    real = pagetext.normalise_form
    monkeypatch.setattr(pagetext, "normalise_form", lambda t: calls.append(t) or real(t))
    doc = FakeDocument({p: f"Page {p} says revenue was reviewed." for p in range(1, 51)})
    # five quotes cut out of words: each matched on all 50 pages (their letters are on every
    # page, only word edges rule them out), and each page normalised once: 50, not 250
    for q in ("ays revenue", "ays revenue was", "evenue was reviewed", "eviewed", "age"):
        assert not find_quote(Quote(q, (0, 0)), (3,), doc.text, 50).found
    assert len(calls) == 50
    # a quote whose letters are on no page normalises none (tests/test_page_leftovers3.py)
    assert not find_quote(Quote("made-up quote 1", (0, 0)), (3,), doc.text, 50).found
    assert len(calls) == 50
    # a page whose text changed is normalised again
    doc.pages[7] = "Page 7 now says made-up quote 9."
    m = find_quote(Quote("made-up quote 9", (0, 0)), (3,), doc.text, 50)
    assert m.elsewhere == [7] and len(calls) == 51


# -- multi-page images (item 4) ------------------------------------------------------------------

class FrameOcr:
    """Reads a page image's grey level as its page text (frame k is filled with 40 * k)."""

    name = "frame-ocr"

    def read(self, image):
        from halluscope.evidence.ocr import OcrLine
        level = image.convert("L").getpixel((0, 0))
        return [OcrLine(f"Frame {level // 40} has {100 + level} units", (0, 0, 10, 10), 1.0)]

    def provenance(self):
        return {"component": "ocr", "engine": self.name}


@pytest.mark.parametrize("suffix", [".tif", ".gif"])
def test_every_frame_of_a_multi_frame_image_is_a_page(tmp_path, suffix):
    from PIL import Image

    from halluscope.evidence.documents import Document
    frames = [Image.new("L", (64, 32), 40 * k) for k in (1, 2, 3)]
    path = tmp_path / f"scan{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    single = tmp_path / "one.png"
    Image.new("L", (64, 32), 160).save(single)
    doc = Document([path, single], ocr=FrameOcr())
    assert doc.n_pages == 4
    assert [doc.text(p) for p in (1, 2, 3, 4)] == [
        "Frame 1 has 140 units", "Frame 2 has 180 units", "Frame 3 has 220 units",
        "Frame 4 has 260 units"]
    (v_page, v_num) = check_pages(record("It has 180 units (p. 2).", str(path)), doc)
    assert (v_page.label, v_num.label, v_num.reason) == (
        "supported", "supported", "found on page 2 (number match)")


# -- messages (item 19) --------------------------------------------------------------------------

def test_a_one_page_document_is_one_page():
    doc = FakeDocument({1: "Revenue reached 4,210 units."})
    ok, bad = check_pages(record("See p. 1 and p. 2."), doc)
    assert ok.reason == "page 1 exists (1 page)"
    assert bad.reason == "page 2 does not exist: fake.pdf has 1 page"


def test_rapidocr_logs_through_the_application_logging():
    pytest.importorskip("rapidocr")
    import rapidocr.main  # noqa: F401 - installs RapidOCR's own console handler

    from halluscope.evidence.ocr import route_rapidocr_logging
    route_rapidocr_logging()
    route_rapidocr_logging()           # idempotent
    logger = logging.getLogger("RapidOCR")
    assert logger.handlers == [] and logger.propagate and len(logger.filters) == 1
    seen = []
    handler = logging.Handler()
    handler.emit = seen.append
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    try:
        logger.setLevel(logging.INFO)  # as RapidOCR() does
        root.setLevel(logging.WARNING)
        logger.info("Using engine_name: onnxruntime")
        logger.warning("a real problem")
        root.setLevel(logging.INFO)    # -v
        logger.info("model path")
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    assert [r.getMessage() for r in seen] == ["a real problem", "model path"]


# -- end to end, through audit (items 1, 2, 5, 10) ------------------------------------------------

def make_pdf(path, pages):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("pdf")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages
    with PdfPages(path) as pdf:
        for lines in pages:
            fig = plt.figure(figsize=(8.27, 11.69))
            for i, line in enumerate(lines):
                fig.text(0.1, 0.84 - 0.04 * i, line, fontsize=12)
            pdf.savefig(fig)
            plt.close(fig)
    return path


def test_audit_of_quotes_the_hunt_found_misread(tmp_path):
    pytest.importorskip("pypdfium2")
    from halluscope.api import audit
    make_pdf(tmp_path / "doc.pdf", [
        ["Revenue reached 4,210 units in 2023.", "The committee approved the"],
        ["plan to open two new sites.", "Staff grew to 185 people."],
        ["Supply costs rose by 7.5% this year.", "Currency risk remains."]])
    rows = [
        ("dot", 'The report says "Costs fell by 40 percent." (p. 3)'),
        ("leadq", 'Page 1 says "Revenue reached 4,210 units" while page 3 says '
                  '"Currency risk remains".'),
        ("split", 'The report says "The committee approved the plan to open two new sites" '
                  "(pp. 1-2)."),
        ("pstr", '{"page": "p. 9", "quote": "Costs fell sharply"}'),
        ("bad", '{"page": "nine", "quote": "Costs fell sharply"}')]
    path = document_answers(tmp_path / "in.jsonl", "doc.pdf", rows)
    res = audit(path, metrics="page", n_boot=0, out=tmp_path / "out")
    page = res.metrics["page"]
    # scored: dot (p.3 ok, quote made up), leadq (2 pages, 2 quotes found), split (2 pages,
    # quote across them found), pstr (p.9 fabricated, quote made up); "bad" is a bad record
    # cited pages: 1 + 2 + 2 + 1 = 6, fabricated 1 -> 1/6; quotes 1 + 2 + 1 + 1 = 5, found 3
    assert page.results["fabricated_page_rate"].value == pytest.approx(1 / 6)
    assert page.n == 4
    assert [(e["line"], e["field"]) for e in res.errors] == [(5, "response")]
    assert "nine" in res.errors[0]["message"]
    items = {d["id"]: d for d in map(json.loads, (tmp_path / "out" / "items.jsonl").open())}
    quotes = {i: [(c["quote"], c["verdict"]) for c in d.get("claims", [])
                  if c["checker"] == "page-quote"] for i, d in items.items()}
    assert quotes["dot"] == [("Costs fell by 40 percent", "hallucinated")]
    assert quotes["leadq"] == [("Revenue reached 4,210 units", "supported"),
                               ("Currency risk remains", "supported")]
    assert quotes["split"] == [("The committee approved the plan to open two new sites",
                                "supported")]
    assert quotes["pstr"] == [("Costs fell sharply", "hallucinated")]
    split = items["split"]["page"]["highlights"]
    assert [h["page"] for h in split] == [1, 2] and all(h["boxes"] for h in split)
    # the report marks the quote on both pages it runs over
    from halluscope.report.citations import page_citations
    from halluscope.report.itemview import ImageStore
    items["split"]["source"] = str(path) + ":3"
    images = ImageStore()
    try:
        (view,) = page_citations(items["split"], images)["citations"]
    finally:
        images.close()
    assert view["quotes"][0]["found"] == "p. 1-2 (exact)"
    assert [(t["page"], t["marked"]) for t in view["thumbs"]] == [(1, True), (2, True)]


# -- helpers -------------------------------------------------------------------------------------

class FakeDocument:
    """A document of given page texts (what check_pages reads of a Document)."""

    def __init__(self, pages, name="fake.pdf"):
        from halluscope.evidence.documents import Page
        self.pages, self.name, self.pdf_path = dict(pages), name, name
        self._page = Page

    @property
    def n_pages(self):
        return len(self.pages)

    def exists(self, number):
        return 1 <= number <= self.n_pages

    def page(self, number):
        return self._page(number, self.pages[number], "pdf")

    def text(self, number):
        return self.pages[number]


def record(response, document="fake.pdf"):
    return record_from_dict({"id": "d", "task": "document", "document": document,
                             "response": response}, file="/tmp/x.jsonl", line=1)
