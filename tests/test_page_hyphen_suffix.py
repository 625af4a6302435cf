"""Page grounding, loose match: a word hyphenated across a line break is joined, and a suffix
written after an apostrophe ("committee\u2019s") is its own word-edge there, so a quote that
stops before the suffix is found (the loose form drops the apostrophe and read "committees").

Every expected value here is worked out by hand from the texts in the test.
"""

from __future__ import annotations

import pytest

from halluscope.checks.pages import find_in_text

PAGE = "The well-\nknown committee\u2019s report was late; the well-\nknown\u2019s list grew."


@pytest.mark.parametrize("quote", [
    "The well-known committee",
    "well-known committee\u2019s report",
    "well-known committee's",
    "was late; the well-known",       # before "known\u2019s"
    "the well-known\u2019s list",
])
def test_a_quote_over_a_hyphenated_break_stops_before_a_suffix(quote):
    m = find_in_text(quote, PAGE)
    assert m.found and m.how == "loose"


@pytest.mark.parametrize("quote", [
    "The well-known committees",      # the page writes it with an apostrophe: fine loosely
])
def test_the_suffix_written_without_apostrophe_still_matches_loosely(quote):
    assert find_in_text(quote, PAGE).found


@pytest.mark.parametrize("quote", [
    "The well-known commit",          # still no match inside a word
    "the well",                       # "well-\nknown" is one word once joined
    "known committee",                # nor inside "wellknown"
])
def test_no_match_inside_a_word(quote):
    assert not find_in_text(quote, PAGE).found
