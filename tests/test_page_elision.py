"""Page grounding: a quote that elides text with an ellipsis is found in its parts, in order,
on its cited page; trivially short parts match nothing.

Every expected value here is worked out by hand from the texts in the test.
"""

from __future__ import annotations

import pytest

from halluscope.checks.pages import check_pages, find_in_text
from halluscope.records import record_from_dict
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402

PAGE = ("Revenue rose sharply in the first quarter, helped by new contracts.\n"
        "The board met twice. Later the com-\nmittee agreed to publish the report.")


@pytest.mark.parametrize("quote,how", [
    ("Revenue rose sharply \u2026 helped by new contracts", "exact"),
    ("Revenue rose sharply ... helped by new contracts", "exact"),
    ("revenue rose sharply [...] the committee agreed", "exact"),
    ("Revenue rose sharply . . . the board met twice", "exact"),
    ("Revenue rose, sharply \u2026 the committee agreed!", "loose"),
])
def test_each_part_is_found_in_order(quote, how):
    m = find_in_text(quote, PAGE)
    assert m.found and m.how == how
    assert len(m.elided) == 2
    (a0, b0), (a1, b1) = m.elided
    assert b0 <= a1 and m.span == (a0, b1)


@pytest.mark.parametrize("quote", [
    "helped by new contracts \u2026 Revenue rose sharply",      # out of order
    "Revenue rose sharply \u2026 the board resigned",             # second part not there
    "Revenue rose \u2026 a",                                      # a part too short
    "The board met \u2026 12",                                    # a part too short
])
def test_parts_out_of_order_missing_or_too_short_do_not_match(quote):
    assert not find_in_text(quote, PAGE).found


def test_a_part_does_not_match_inside_a_word():
    assert not find_in_text("Revenue rose \u2026 contract", PAGE).found


class Doc:
    name = "doc.pdf"
    pdf_path = "doc.pdf"
    n_pages = 2

    def __init__(self, texts):
        self.texts = texts

    def exists(self, p):
        return 1 <= p <= self.n_pages

    def text(self, p):
        return self.texts[p - 1]

    def page(self, p):
        return type("P", (), {"text": self.texts[p - 1], "source": "pdf"})()


def test_the_verdict_says_it_was_matched_in_parts():
    doc = Doc(["Nothing here.", PAGE])
    rec = record_from_dict({"id": "1", "response":
                            'The filing says "Revenue rose sharply \u2026 the committee '
                            'agreed to publish the report" (p. 2).'})
    quotes = [v for v in check_pages(rec, doc) if v.checker == "page-quote"]
    assert [v.label for v in quotes] == ["supported"]
    assert "in 2 parts" in quotes[0].reason and "ellipsis" in quotes[0].reason
    parts = quotes[0].evidence[0].payload["elided_parts"]
    assert [p["found"] for p in parts] == ["Revenue rose sharply",
                                           "the com-\nmittee agreed to publish the report"]


def test_an_elided_quote_on_another_page_is_found_there_not_on_the_cited_one():
    doc = Doc([PAGE, "Nothing here."])
    rec = record_from_dict({"id": "1", "response":
                            'It says "Revenue rose sharply \u2026 the board met twice" (p. 2).'})
    quotes = [v for v in check_pages(rec, doc) if v.checker == "page-quote"]
    assert quotes[0].label == "hallucinated"
    assert quotes[0].evidence[0].payload["found_on"] == [1]


def test_the_highlights_of_an_elided_quote_leave_out_the_text_it_elides(tmp_path):
    """An elided quote's evidence spans its first part to its last: its highlight boxed the
    lines its ellipsis leaves out too, as if they were quoted. The run's stored highlights and
    the report's (from the spans, without them) box only the parts' lines."""
    from halluscope.report.citations import _Pages, _quote_row
    from halluscope.verification import PageVerifier
    from tests.test_ocr_columns import document, one_column, record
    doc = document(tmp_path, one_column())
    first, elided, third = (ln.box for ln in doc.page(1).lines[:3])
    assert doc.page(1).lines[1].text == "costs fell."
    rec = record('It says "Revenue reached 4,210 units ... Staff grew to 185 people" (p. 1).',
                 doc.images[0])
    verdicts = check_pages(rec, doc)
    marks = PageVerifier._highlights(rec, doc, verdicts)
    assert marks == [{"page": 1, "quote": "Revenue reached 4,210 units ... Staff grew to 185 "
                      "people", "boxes": [list(first), list(third)]}]
    from halluscope.metrics.grounding import _verdict_dict
    v = next(v for v in verdicts if v.checker == "page-quote")
    claim = {**_verdict_dict(v), "quote": v.claim.quote}            # as items.jsonl holds it
    for payload in ({"highlights": marks}, {}):           # stored, or from the spans
        drawn: dict = {}
        _quote_row(claim, "supported", _Pages(doc, payload, None, 4), drawn, {})
        assert drawn == {1: [list(first), list(third)]}, drawn
